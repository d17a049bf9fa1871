/**
 * Silences: which alerts a silence covers, and the silence requests of the HTTP API and the CLI.
 *
 * A silence is a set of matchers on an alert's labels (see `alertLabels`) and a time window. While it is
 * active (started, not ended, not expired early), notifications for the alerts it matches are not sent;
 * the alerts themselves are still tracked and shown.
 */
import { z } from 'zod';
import { parseDuration } from '../config/config.js';
import { HealwatchError } from '../domain/index.js';
import type { NewSilence, Silence, SilenceMatcher } from '../store/index.js';
import { matchesAll, matcherText, parseMatcher } from './labels.js';

/** Where a silence stands at a given time. */
export type SilenceState = 'active' | 'pending' | 'expired';

/** The states a silence can be in, for filters. */
export const SILENCE_STATES = ['active', 'pending', 'expired'] as const satisfies readonly SilenceState[];

/** `expired` once ended or expired early, `pending` before it starts, `active` in between. */
export function silenceState(s: Silence, now: number): SilenceState {
  if (s.endsAt <= now || (s.expiredAt !== undefined && s.expiredAt <= now)) return 'expired';
  if (s.startsAt > now) return 'pending';
  return 'active';
}

/**
 * The first silence (in the order given) that is active at `now` and whose matchers all hold on `labels`;
 * undefined when none covers them. Pending and expired silences never match.
 */
export function silencedBy(
  silences: readonly Silence[],
  labels: Readonly<Record<string, string>>,
  now: number,
): Silence | undefined {
  return silences.find((s) => silenceState(s, now) === 'active' && matchesAll(s.matchers, labels));
}

/** A silence as the API answers it: times as ISO 8601, matchers as objects and as text, its state at `now`. */
export interface SilenceJson {
  readonly id: number;
  readonly state: SilenceState;
  readonly matchers: readonly SilenceMatcher[];
  /** `label=value` text of each matcher, in order. */
  readonly matchersText: readonly string[];
  readonly startsAt: string;
  readonly endsAt: string;
  /** When it was expired early (null when it was not). */
  readonly expiredAt: string | null;
  readonly author: string;
  readonly comment: string;
  readonly createdAt: string;
}

/** A silence for API answers and `healwatch silence list -o json`. */
export function silenceJson(s: Silence, now: number): SilenceJson {
  return {
    id: s.id,
    state: silenceState(s, now),
    matchers: s.matchers.map((m) => ({ label: m.label, op: m.op, value: m.value })),
    matchersText: s.matchers.map(matcherText),
    startsAt: iso(s.startsAt),
    endsAt: iso(s.endsAt),
    expiredAt: s.expiredAt === undefined ? null : iso(s.expiredAt),
    author: s.author,
    comment: s.comment,
    createdAt: iso(s.createdAt),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Limits of a silence request (the API also limits the body to 64 KiB). */
const MAX_MATCHERS = 64;
const MAX_AUTHOR = 256;
const MAX_COMMENT = 4096;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const FIELDS = ['matchers', 'startsAt', 'endsAt', 'duration', 'author', 'comment'] as const;

const timeSchema = z.union([z.string(), z.number()], {
  error: 'must be epoch milliseconds or an ISO 8601 time (e.g. 2026-01-31T12:00:00Z)',
});

const requestSchema = z.strictObject({
  matchers: z
    .array(z.unknown(), {
      error: (issue) =>
        issue.input === undefined
          ? 'required: a list of matchers (e.g. ["namespace=shop", "rule=crashloop"])'
          : 'must be a list of matchers (e.g. ["namespace=shop", "rule=crashloop"])',
    })
    .min(1, 'at least one matcher is required (e.g. "namespace=shop")')
    .max(MAX_MATCHERS, `at most ${MAX_MATCHERS} matchers`),
  startsAt: timeSchema.optional(),
  endsAt: timeSchema.optional(),
  duration: z.string({ error: 'must be a duration such as "2h" or "30m"' }).optional(),
  author: z
    .string({
      error: (issue) =>
        issue.input === undefined ? 'required: who silences' : 'must be a string naming who silences',
    })
    .trim()
    .min(1, 'must not be empty')
    .max(MAX_AUTHOR, `must be at most ${MAX_AUTHOR} characters`),
  comment: z
    .string({ error: 'must be a string' })
    .max(MAX_COMMENT, `must be at most ${MAX_COMMENT} characters`)
    .optional(),
});

const matcherObjectSchema = z.strictObject({
  label: z
    .string({ error: 'must be a string' })
    .regex(LABEL_NAME, 'must be a label name (letters, digits, _ . -; not starting with a digit)'),
  op: z.enum(['=', '!=', '=~', '!~'], { error: 'must be one of =, !=, =~, !~' }),
  value: z.string({ error: 'must be a string' }),
});

/** A request that does not validate; the message starts with the field, e.g. `endsAt: must be after startsAt`. */
function invalid(field: string, message: string): HealwatchError {
  return new HealwatchError('HW_ERR_USAGE', `${field}: ${message}`);
}

function fieldOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out === '' ? '' : '.'}${String(p)}`;
  return out === '' ? 'body' : out;
}

function firstIssue(error: z.ZodError, prefix: readonly PropertyKey[] = []): HealwatchError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const known = prefix.length === 0 ? FIELDS.join(', ') : 'label, op, value';
    return invalid(fieldOf([...prefix, ...issue.path, issue.keys[0]!]), `unknown field (expected ${known})`);
  }
  return invalid(fieldOf([...prefix, ...issue.path]), issue.message);
}

/** Checks that a regex matcher compiles both anchored (as it is matched) and on its own (as it is stored). */
function checkRegex(m: SilenceMatcher, field: string): void {
  if (m.op !== '=~' && m.op !== '!~') return;
  try {
    new RegExp(m.value);
    new RegExp(`^(?:${m.value})$`);
  } catch (error) {
    throw invalid(field, (error as Error).message);
  }
}

function parseMatchers(items: readonly unknown[]): SilenceMatcher[] {
  return items.map((item, i) => {
    const field = `matchers[${i}]`;
    let m: SilenceMatcher;
    if (typeof item === 'string') {
      try {
        m = parseMatcher(item);
      } catch (error) {
        throw invalid(field, (error as Error).message);
      }
    } else {
      const r = matcherObjectSchema.safeParse(item);
      if (!r.success) {
        if (typeof item !== 'object' || item === null || Array.isArray(item))
          throw invalid(field, 'must be a matcher text ("label=value") or an object {label, op, value}');
        throw firstIssue(r.error, ['matchers', i]);
      }
      m = r.data;
    }
    checkRegex(m, field);
    return m;
  });
}

/**
 * A silence time: epoch milliseconds (number or digits) or an ISO 8601 date and time. Throws a
 * `HealwatchError` naming `field` otherwise.
 */
export function parseSilenceTime(value: string | number, field: string): number {
  const bad = (): HealwatchError =>
    invalid(field, 'must be epoch milliseconds or an ISO 8601 time (e.g. 2026-01-31T12:00:00Z)');
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw bad();
    return value;
  }
  const text = value.trim();
  if (/^\d+$/.test(text)) return parseSilenceTime(Number(text), field);
  const t = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(t)) throw bad();
  return t;
}

/**
 * Validates a silence request of the HTTP API (or the CLI with `--data`):
 * `{ matchers, startsAt?, endsAt? | duration?, author, comment? }`. `matchers` are texts (`label=value`,
 * `label!=value`, `label=~regex`, `label!~regex`) or `{label, op, value}` objects; times are ISO 8601 or
 * epoch ms; `startsAt` defaults to `now`; exactly one of `endsAt` and `duration` (`2h`, `30m`, `1h30m`).
 * Throws a `HealwatchError` (HW_ERR_USAGE) whose message starts with the field, e.g.
 * `matchers[1]: "foo" is not a matcher ...` or `endsAt: must be after startsAt`.
 */
export function parseSilenceRequest(body: unknown, now: number): NewSilence {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('body', 'must be a JSON object with matchers, author and endsAt or duration');
  const parsed = requestSchema.safeParse(body);
  if (!parsed.success) throw firstIssue(parsed.error);
  const r = parsed.data;
  const matchers = parseMatchers(r.matchers);
  const startsAt = r.startsAt === undefined ? now : parseSilenceTime(r.startsAt, 'startsAt');
  let endsAt: number;
  if (r.endsAt !== undefined && r.duration !== undefined)
    throw invalid('duration', 'give either endsAt or duration, not both');
  if (r.endsAt !== undefined) {
    endsAt = parseSilenceTime(r.endsAt, 'endsAt');
    if (endsAt <= startsAt) throw invalid('endsAt', 'must be after startsAt');
  } else if (r.duration !== undefined) {
    let ms: number;
    try {
      ms = parseDuration(r.duration.trim());
    } catch (error) {
      throw invalid('duration', (error as Error).message);
    }
    if (!(ms > 0)) throw invalid('duration', 'must be longer than 0');
    endsAt = startsAt + Math.round(ms);
  } else {
    throw invalid('endsAt', 'required: give endsAt (a time) or duration (e.g. "2h")');
  }
  if (endsAt <= now) throw invalid('endsAt', 'must be in the future: the silence would be over already');
  return {
    matchers,
    startsAt,
    endsAt,
    author: r.author,
    ...(r.comment !== undefined && r.comment.trim() !== '' ? { comment: r.comment.trim() } : {}),
    now,
  };
}
