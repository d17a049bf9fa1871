import { readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { HealwatchError } from '../domain/index.js';
import {
  NotificationsConfigError,
  resolveNotifications,
  type NotificationsConfig,
} from '../notify/config.js';
import {
  BUILTIN_RULES,
  parseSelector,
  SelectorSyntaxError,
  type AnyRule,
  type ClassificationConfig,
  type ConfiguredRule,
} from '../rules/index.js';

/** The configuration Healwatch runs with (file contents, defaults applied). */
export interface HealwatchConfig {
  /** A name for the cluster, shown in findings and notifications. */
  clusterName: string | undefined;
  classification: ClassificationConfig;
  rules: ConfiguredRule[];
  /** Receivers, routes, business hours, heartbeat (nothing is sent without receivers). */
  notifications: NotificationsConfig;
}

const DURATION = /^(\d+(\.\d+)?(ms|s|m|h|d))+$/;

/** Parses `90s`, `5m`, `1h30m`, `2d` to milliseconds. */
export function parseDuration(text: string): number {
  if (!DURATION.test(text)) throw new RangeError(`invalid duration "${text}" (use e.g. 30s, 5m, 1h30m)`);
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(m[1]) * units[m[2]!]!;
  return total;
}

const commonSchema = z
  .object({
    level: z.enum(['none', 'notice', 'alert', 'off']).optional(),
    for: z.string().regex(DURATION, 'must be a duration such as 30s, 5m or 1h').optional(),
    namespaces: z.array(z.string().min(1)).optional(),
    excludeNamespaces: z.array(z.string().min(1)).optional(),
    labelSelector: z.string().optional(),
  })
  .strict();

const rootSchema = z
  .object({
    clusterName: z.string().min(1).optional(),
    addonNamespaces: z.array(z.string().min(1)).optional(),
    addonWorkloads: z.array(z.string().min(1)).optional(),
    logAgent: z
      .string()
      .regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, 'must be NAMESPACE/NAME of a DaemonSet')
      .optional(),
    rules: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    notifications: z.unknown().optional(),
  })
  .strict();

/** The YAML source of a path in the document, as `file:line`. */
function locate(
  doc: ReturnType<typeof parseDocument>,
  lines: LineCounter,
  file: string,
  path: readonly PropertyKey[],
  isKey = false,
): string {
  let node: unknown = doc.contents;
  let found: YamlNode | undefined;
  for (const [i, key] of path.entries()) {
    if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key] as YamlNode | undefined;
      if (!item) break;
      found = item;
      node = item;
      continue;
    }
    if (!isMap(node)) break;
    const pair = node.items.find((p) => String((p.key as { value?: unknown }).value) === String(key));
    if (!pair) break;
    // An unknown name is reported where the name is written, a bad value where the value is.
    found =
      isKey && i === path.length - 1
        ? (pair.key as YamlNode)
        : ((pair.value as YamlNode | null) ?? (pair.key as YamlNode));
    node = pair.value;
  }
  const offset = (found ?? doc.contents)?.range?.[0];
  return offset === undefined ? file : `${file}:${lines.linePos(offset).line}`;
}

function invalid(where: string, field: string, message: string): HealwatchError {
  return new HealwatchError('HW_ERR_CONFIG_INVALID', `${where}: ${field}: ${message}`);
}

/**
 * Resolves the rule list from the catalog and the `rules:` section: level, `for`, scope and each rule's
 * own options (validated by the rule's schema). Unknown rule ids and unknown options are errors.
 */
function resolveRules(
  rules: Record<string, Record<string, unknown>>,
  where: (path: readonly PropertyKey[], isKey?: boolean) => string,
  catalog: readonly AnyRule[],
): ConfiguredRule[] {
  for (const id of Object.keys(rules)) {
    if (!catalog.some((r) => r.id === id)) {
      throw invalid(
        where(['rules', id], true),
        `rules.${id}`,
        `unknown rule; rules: ${catalog.map((r) => r.id).join(', ')}`,
      );
    }
  }
  return catalog.map((rule): ConfiguredRule => {
    const raw = rules[rule.id] ?? {};
    const commonKeys = ['level', 'for', 'namespaces', 'excludeNamespaces', 'labelSelector'];
    const common: Record<string, unknown> = {};
    const own: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) (commonKeys.includes(k) ? common : own)[k] = v;
    const c = commonSchema.safeParse(common);
    if (!c.success) {
      const issue = c.error.issues[0]!;
      const path = ['rules', rule.id, ...issue.path];
      throw invalid(where(path), path.join('.'), issue.message);
    }
    if (c.data.labelSelector !== undefined) {
      try {
        parseSelector(c.data.labelSelector);
      } catch (error) {
        if (error instanceof SelectorSyntaxError)
          throw invalid(
            where(['rules', rule.id, 'labelSelector']),
            `rules.${rule.id}.labelSelector`,
            error.message,
          );
        throw error;
      }
    }
    const o = (rule.options as z.ZodType<unknown>).safeParse(own);
    if (!o.success) {
      const issue = o.error.issues[0]!;
      const path = ['rules', rule.id, ...issue.path];
      const message =
        issue.code === 'unrecognized_keys'
          ? `unknown option ${issue.keys.map((k) => `"${k}"`).join(', ')}`
          : issue.message;
      throw invalid(
        where(
          issue.code === 'unrecognized_keys' ? ['rules', rule.id, issue.keys[0]!] : path,
          issue.code === 'unrecognized_keys',
        ),
        path.join('.'),
        message,
      );
    }
    return {
      rule,
      common: {
        level: c.data.level ?? rule.defaultLevel,
        forMs: c.data.for !== undefined ? parseDuration(c.data.for) : rule.defaultForMs,
        scope: {
          namespaces: c.data.namespaces ?? [],
          excludeNamespaces: c.data.excludeNamespaces ?? [],
          labelSelector: c.data.labelSelector,
        },
      },
      options: o.data,
    };
  });
}

/** Parses and validates configuration text; errors name the file, line and field. */
export function parseConfig(
  text: string,
  file: string,
  catalog: readonly AnyRule[] = BUILTIN_RULES,
): HealwatchConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new HealwatchError(
      'HW_ERR_CONFIG_INVALID',
      `${file}:${e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line}: invalid YAML: ${e.message.split('\n')[0]}`,
    );
  }
  const where = (path: readonly PropertyKey[], isKey = false): string =>
    locate(doc, lines, file, path, isKey);
  const data: unknown = doc.toJSON() ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw invalid(file, '(top level)', 'the configuration must be a mapping');
  }
  const parsed = rootSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      throw invalid(
        where([issue.keys[0]!]),
        issue.keys[0]!,
        `unknown field (fields: clusterName, addonNamespaces, addonWorkloads, logAgent, rules, notifications)`,
      );
    }
    throw invalid(where(issue.path), issue.path.join('.') || '(top level)', issue.message);
  }
  const c = parsed.data;
  return {
    clusterName: c.clusterName,
    classification: {
      addonNamespaces: c.addonNamespaces ?? [],
      addonWorkloads: c.addonWorkloads ?? [],
      logAgent: c.logAgent,
    },
    rules: resolveRules(c.rules ?? {}, where, catalog),
    notifications: resolveNotificationsAt(c.notifications, where),
  };
}

/** `notifications.receivers[0].url` for a path. */
function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

function resolveNotificationsAt(
  raw: unknown,
  where: (path: readonly PropertyKey[], isKey?: boolean) => string,
): NotificationsConfig {
  try {
    return resolveNotifications(raw);
  } catch (error) {
    if (!(error instanceof NotificationsConfigError)) throw error;
    throw invalid(where(error.path, error.isKey), pathText(error.path), error.message);
  }
}

/** Loads a configuration file, or the defaults when no file is given. */
export function loadConfig(
  file: string | undefined,
  catalog: readonly AnyRule[] = BUILTIN_RULES,
): HealwatchConfig {
  if (file === undefined) return parseConfig('{}', '(defaults)', catalog);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new HealwatchError(
      'HW_ERR_CONFIG_INVALID',
      `${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    );
  }
  return parseConfig(text, file, catalog);
}
