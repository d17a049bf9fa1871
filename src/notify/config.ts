import { z } from 'zod';
import type { Level } from '../domain/index.js';
import type { SilenceMatcher } from '../store/index.js';
import {
  DEFAULT_BUSINESS_HOURS,
  isTimeZone,
  parseClock,
  WEEKDAYS,
  type BusinessHours,
  type Weekday,
} from './hours.js';
import { parseMatcher } from './labels.js';
import { NOTIFIERS } from './receivers/index.js';
import { secretUrlField, type Secret } from './secret.js';
import type { Notifier, Sender } from './types.js';

/** One configured receiver. */
export interface ReceiverConfig {
  readonly name: string;
  readonly type: string;
  readonly notifier: Notifier<{ name: string; type: string }>;
  /** The parsed config (secrets resolved to Secret objects). */
  readonly config: { name: string; type: string };
}

/** Which alerts go to which receivers, and how. */
export interface Route {
  readonly receivers: readonly string[];
  readonly levels: readonly Exclude<Level, 'none'>[];
  readonly matchers: readonly SilenceMatcher[];
  readonly groupBy: readonly string[];
  /** Wait before the first message of a group; undefined: 0 for Alerts, 30 s for Notices. */
  readonly groupWaitMs: number | undefined;
  /** After a group's message, its further Notices wait this long (Alerts never wait for it). */
  readonly groupIntervalMs: number;
  /** Re-send a still-firing alert this often; undefined: 4 h for Alerts, 24 h for Notices. */
  readonly repeatIntervalMs: number | undefined;
  readonly sendResolved: boolean;
  /** Notices held outside business hours go out as one message per receiver when the hours begin. */
  readonly digest: boolean;
}

/** The `notifications:` section, resolved. */
export interface NotificationsConfig {
  readonly receivers: readonly ReceiverConfig[];
  readonly routes: readonly Route[];
  readonly businessHours: BusinessHours;
  readonly heartbeat: { readonly url: Secret; readonly intervalMs: number } | undefined;
  /** Keep retrying a failing delivery this long after its first attempt (default 24 h, at least 1 h). */
  readonly retryForMs: number;
  /** Public URL of Healwatch's dashboard, linked from messages. */
  readonly dashboardUrl: string | undefined;
}

/** No receivers: nothing is sent. */
export const NO_NOTIFICATIONS: NotificationsConfig = {
  receivers: [],
  routes: [],
  businessHours: DEFAULT_BUSINESS_HOURS,
  heartbeat: undefined,
  retryForMs: 24 * 3_600_000,
  dashboardUrl: undefined,
};

/** Default group wait by level. */
export const DEFAULT_GROUP_WAIT_MS: Record<Exclude<Level, 'none'>, number> = { alert: 0, notice: 30_000 };
/** Default repeat interval by level. */
export const DEFAULT_REPEAT_MS: Record<Exclude<Level, 'none'>, number> = {
  alert: 4 * 3_600_000,
  notice: 24 * 3_600_000,
};

/** A problem at a path of the `notifications:` section (the caller adds file and line). */
export class NotificationsConfigError extends Error {
  constructor(
    readonly path: readonly PropertyKey[],
    message: string,
    /** The problem is the name at `path` (an unknown field), not its value. */
    readonly isKey = false,
  ) {
    super(message);
  }
}

const DURATION = /^(\d+(\.\d+)?(ms|s|m|h|d))+$/;
function durationMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(m[1]) * units[m[2]!]!;
  return total;
}
const duration = z.string().regex(DURATION, 'must be a duration such as 30s, 5m or 4h').transform(durationMs);

const levelList = z
  .array(z.enum(['alert', 'notice']))
  .min(1)
  .refine((l) => new Set(l).size === l.length, 'lists a level twice');

const routeSchema = z
  .object({
    receivers: z.array(z.string().min(1)).min(1, 'must name at least one receiver'),
    levels: levelList.optional(),
    matchers: z.array(z.string()).optional(),
    groupBy: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'must be a label name')).optional(),
    groupWait: duration.optional(),
    groupInterval: duration.optional(),
    repeatInterval: duration.optional(),
    sendResolved: z.boolean().optional(),
    digest: z.boolean().optional(),
  })
  .strict();

const hoursSchema = z
  .object({
    timeZone: z.string().min(1),
    days: z.array(z.string()).optional(),
    start: z.string().optional(),
    end: z.string().optional(),
  })
  .strict();

const sectionSchema = z
  .object({
    receivers: z.array(z.unknown()).optional(),
    routes: z.array(z.unknown()).optional(),
    businessHours: z.unknown().optional(),
    heartbeat: z.object({ url: secretUrlField, interval: duration.optional() }).strict().optional(),
    retryFor: duration.refine((ms) => ms >= 3_600_000, 'must be at least 1h').optional(),
    dashboardUrl: z.url({ protocol: /^https?$/ }).optional(),
  })
  .strict();

function firstIssue(error: z.ZodError, base: readonly PropertyKey[]): NotificationsConfigError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys')
    return new NotificationsConfigError(
      [...base, ...issue.path, issue.keys[0]!],
      `unknown field "${issue.keys[0]}"`,
      true,
    );
  return new NotificationsConfigError([...base, ...issue.path], issue.message);
}

/** Expands `mon-fri` style ranges and checks day names. */
function parseDays(days: readonly string[], path: readonly PropertyKey[]): Weekday[] {
  const out = new Set<Weekday>();
  for (const [i, text] of days.entries()) {
    const parts = text.toLowerCase().split('-');
    const idx = parts.map((p) => WEEKDAYS.indexOf(p.slice(0, 3) as Weekday));
    if (parts.length > 2 || idx.some((n) => n < 0))
      throw new NotificationsConfigError(
        [...path, i],
        `"${text}" is not a day or range (use mon, tue, ... or mon-fri)`,
      );
    const [a, b = a] = idx as [number, number?];
    for (let d = a; ; d = (d + 1) % 7) {
      out.add(WEEKDAYS[d]!);
      if (d === b) break;
    }
  }
  return WEEKDAYS.filter((d) => out.has(d));
}

/**
 * Validates and resolves the `notifications:` section: each receiver by its type's own schema (secrets
 * read from files and variables now), routes naming existing receivers, business hours in a known time
 * zone. Throws NotificationsConfigError with the path of the first problem.
 */
export function resolveNotifications(
  raw: unknown,
  notifiers: readonly Notifier<{ name: string; type: string }>[] = NOTIFIERS,
): NotificationsConfig {
  if (raw === undefined || raw === null) return NO_NOTIFICATIONS;
  const base = ['notifications'];
  const parsed = sectionSchema.safeParse(raw);
  if (!parsed.success) throw firstIssue(parsed.error, base);
  const section = parsed.data;

  const receivers: ReceiverConfig[] = [];
  for (const [i, item] of (section.receivers ?? []).entries()) {
    const path = [...base, 'receivers', i];
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new NotificationsConfigError(path, 'must be a mapping with name and type');
    const { type, name } = item as { type?: unknown; name?: unknown };
    if (typeof name !== 'string' || name === '')
      throw new NotificationsConfigError([...path, 'name'], 'every receiver needs a name');
    if (receivers.some((r) => r.name === name))
      throw new NotificationsConfigError([...path, 'name'], `two receivers are named "${name}"`);
    const notifier = notifiers.find((n) => n.type === type);
    if (!notifier)
      throw new NotificationsConfigError(
        [...path, 'type'],
        `unknown receiver type ${typeof type === 'string' ? `"${type}"` : '(none)'}; types: ${notifiers.map((n) => n.type).join(', ')}`,
      );
    const result = notifier.schema.safeParse(item);
    if (!result.success) throw firstIssue(result.error, path);
    receivers.push({ name, type: notifier.type, notifier, config: result.data });
  }

  const routes: Route[] = [];
  const rawRoutes =
    section.routes ?? (receivers.length > 0 ? [{ receivers: receivers.map((r) => r.name) }] : []);
  for (const [i, item] of rawRoutes.entries()) {
    const path = [...base, 'routes', i];
    const r = routeSchema.safeParse(item);
    if (!r.success) throw firstIssue(r.error, path);
    for (const [j, name] of r.data.receivers.entries()) {
      if (!receivers.some((x) => x.name === name))
        throw new NotificationsConfigError(
          [...path, 'receivers', j],
          `no receiver is named "${name}"${receivers.length > 0 ? `; receivers: ${receivers.map((x) => x.name).join(', ')}` : ''}`,
        );
    }
    const matchers: SilenceMatcher[] = [];
    for (const [j, text] of (r.data.matchers ?? []).entries()) {
      try {
        matchers.push(parseMatcher(text));
      } catch (error) {
        throw new NotificationsConfigError([...path, 'matchers', j], (error as Error).message);
      }
    }
    routes.push({
      receivers: r.data.receivers,
      levels: r.data.levels ?? ['alert', 'notice'],
      matchers,
      groupBy: r.data.groupBy ?? ['namespace'],
      groupWaitMs: r.data.groupWait,
      groupIntervalMs: r.data.groupInterval ?? 5 * 60_000,
      repeatIntervalMs: r.data.repeatInterval,
      sendResolved: r.data.sendResolved ?? true,
      digest: r.data.digest ?? false,
    });
  }

  let businessHours = DEFAULT_BUSINESS_HOURS;
  if (section.businessHours !== undefined) {
    const path = [...base, 'businessHours'];
    const h = hoursSchema.safeParse(section.businessHours);
    if (!h.success) throw firstIssue(h.error, path);
    if (!isTimeZone(h.data.timeZone))
      throw new NotificationsConfigError(
        [...path, 'timeZone'],
        `unknown time zone "${h.data.timeZone}" (use an IANA name such as Europe/Berlin, America/New_York or UTC)`,
      );
    const start = parseClock(h.data.start ?? '09:00');
    if (start === undefined)
      throw new NotificationsConfigError([...path, 'start'], 'must be a time HH:MM such as 09:00');
    const end = parseClock(h.data.end ?? '17:00');
    if (end === undefined)
      throw new NotificationsConfigError([...path, 'end'], 'must be a time HH:MM such as 17:00');
    if (end <= start) throw new NotificationsConfigError([...path, 'end'], 'must be after start');
    businessHours = {
      timeZone: h.data.timeZone,
      days: h.data.days ? parseDays(h.data.days, [...path, 'days']) : DEFAULT_BUSINESS_HOURS.days,
      startMinute: start,
      endMinute: end,
    };
  }

  return {
    receivers,
    routes,
    businessHours,
    heartbeat: section.heartbeat
      ? { url: section.heartbeat.url, intervalMs: section.heartbeat.interval ?? 60_000 }
      : undefined,
    retryForMs: section.retryFor ?? NO_NOTIFICATIONS.retryForMs,
    dashboardUrl: section.dashboardUrl,
  };
}

/** Creates a Sender for each receiver. */
export function createSenders(
  config: NotificationsConfig,
): Map<string, { receiver: ReceiverConfig; sender: Sender }> {
  return new Map(config.receivers.map((r) => [r.name, { receiver: r, sender: r.notifier.create(r.config) }]));
}
