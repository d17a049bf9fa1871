import { refText, type Finding, type Level } from '../domain/index.js';
import type { SilenceMatcher } from '../store/index.js';

/**
 * The labels of an alert, which routes and silences match on: `rule`, `level`, `namespace` (empty for
 * cluster-scoped objects), `kind`, `name`, `object` (`Kind/namespace/name`), `key`, `cluster`, and every
 * scalar fact of the finding under its own name (`node`, `component`, `verdict`, ...) unless that name is
 * taken.
 */
export function alertLabels(
  finding: Finding,
  level: Level,
  cluster: string | undefined,
): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(finding.facts)) labels[k] = String(v);
  Object.assign(labels, {
    rule: finding.ruleId,
    level,
    namespace: finding.object.namespace ?? '',
    kind: finding.object.kind,
    name: finding.object.name,
    object: refText(finding.object),
    key: finding.key ?? '',
    cluster: cluster ?? '',
  });
  return labels;
}

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

/** Parses `label=value`, `label!=value`, `label=~regex` or `label!~regex` (quotes around the value optional). */
export function parseMatcher(text: string): SilenceMatcher {
  const m = MATCHER.exec(text);
  if (!m)
    throw new SyntaxError(
      `"${text}" is not a matcher (use label=value, label!=value, label=~regex or label!~regex)`,
    );
  let value = m[3]!;
  if (
    value.length >= 2 &&
    ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))
  )
    value = value.slice(1, -1);
  const op = m[2] as SilenceMatcher['op'];
  if (op === '=~' || op === '!~') {
    try {
      // The pattern alone must compile too: `a)(b` is valid only once wrapped.
      new RegExp(value);
      new RegExp(`^(?:${value})$`);
    } catch (error) {
      throw new SyntaxError(`"${text}": ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return { label: m[1]!, op, value };
}

/** `label=value` text of a matcher. */
export function matcherText(m: SilenceMatcher): string {
  return `${m.label}${m.op}${m.value}`;
}

const regexCache = new Map<string, RegExp>();

function anchored(source: string): RegExp {
  let re = regexCache.get(source);
  if (!re) {
    re = new RegExp(`^(?:${source})$`);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(source, re);
  }
  return re;
}

/** Whether every matcher holds on `labels` (an absent label is the empty string; regexes are anchored). */
export function matchesAll(
  matchers: readonly SilenceMatcher[],
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const m of matchers) {
    const value = labels[m.label] ?? '';
    let ok: boolean;
    switch (m.op) {
      case '=':
        ok = value === m.value;
        break;
      case '!=':
        ok = value !== m.value;
        break;
      case '=~':
        ok = anchored(m.value).test(value);
        break;
      case '!~':
        ok = !anchored(m.value).test(value);
        break;
    }
    if (!ok) return false;
  }
  return true;
}
