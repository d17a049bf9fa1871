import type { RuleScope } from './rule.js';

type Requirement = { key: string; op: '=' | '!=' | 'exists' | '!exists' | 'in' | 'notin'; values: string[] };

/** Thrown for a label selector that does not parse; the message says where. */
export class SelectorSyntaxError extends Error {}

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h` into requirements. */
export function parseSelector(text: string): Requirement[] {
  const out: Requirement[] = [];
  // Split on commas outside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of text) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  if (current.trim() !== '') parts.push(current);
  for (const raw of parts) {
    const p = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(p)))
      out.push({ key: m[1]!, op: m[2] === '!=' ? '!=' : '=', values: [m[3]!] });
    else if ((m = /^([\w./-]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(p)))
      out.push({ key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()) });
    else if ((m = /^!([\w./-]+)$/.exec(p))) out.push({ key: m[1]!, op: '!exists', values: [] });
    else if ((m = /^([\w./-]+)$/.exec(p))) out.push({ key: m[1]!, op: 'exists', values: [] });
    else
      throw new SelectorSyntaxError(
        `cannot parse "${p}" (use key=value, key!=value, key in (a,b), key notin (a), key, !key)`,
      );
  }
  return out;
}

/** Whether labels satisfy parsed requirements. */
export function matchesRequirements(
  reqs: readonly Requirement[],
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  return reqs.every((r) => {
    const has = labels !== undefined && Object.hasOwn(labels, r.key);
    const v = labels?.[r.key];
    switch (r.op) {
      case '=':
        return has && v === r.values[0];
      case '!=':
        return !has || v !== r.values[0];
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case 'in':
        return has && r.values.includes(v!);
      case 'notin':
        return !has || !r.values.includes(v!);
    }
  });
}

/** A predicate for a rule's scope. */
export function scopePredicate(
  scope: RuleScope,
): (o: { namespace?: string | undefined; labels?: Readonly<Record<string, string>> | undefined }) => boolean {
  const reqs = scope.labelSelector ? parseSelector(scope.labelSelector) : [];
  return (o) => {
    if (scope.namespaces.length > 0 && (o.namespace === undefined || !scope.namespaces.includes(o.namespace)))
      return false;
    if (o.namespace !== undefined && scope.excludeNamespaces.includes(o.namespace)) return false;
    return reqs.length === 0 || matchesRequirements(reqs, o.labels);
  };
}
