/**
 * Helpers of the scheduling rules: a small cron schedule reader (the CronJob controller's robfig/cron
 * dialect) so `cronjob-failing` can tell when the next runs were due, and a reader for the scheduler's
 * `FailedScheduling` message so `pods-unschedulable` can name the cause.
 */

/** A parsed cron schedule: the next run after an instant. */
export interface CronSchedule {
  /** The first scheduled instant strictly after `after` (epoch ms), or undefined within five years. */
  next(after: number): number | undefined;
}

interface Field {
  values: Set<number>;
  /** The field was `*` or `?` (without a step): robfig's star bit, which changes day matching. */
  isStar: boolean;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

function parseValue(text: string, names: readonly string[] | undefined, offset: number): number {
  const lower = text.toLowerCase();
  const named = names?.indexOf(lower) ?? -1;
  if (named >= 0) return named + offset;
  if (!/^\d+$/.test(text)) throw new RangeError(`bad value "${text}"`);
  return Number(text);
}

function parseField(
  text: string,
  min: number,
  max: number,
  names?: readonly string[],
  nameOffset = 0,
): Field {
  const values = new Set<number>();
  let isStar = false;
  for (const part of text.split(',')) {
    const [range = '', stepText, ...rest] = part.split('/');
    if (rest.length > 0) throw new RangeError(`bad field "${part}"`);
    const bounds = range.split('-');
    let start: number;
    let end: number;
    let partStar = false;
    if (range === '*' || range === '?') {
      start = min;
      end = max;
      partStar = true;
    } else if (bounds.length === 1 || bounds.length === 2) {
      start = parseValue(bounds[0]!, names, nameOffset);
      end = bounds.length === 2 ? parseValue(bounds[1]!, names, nameOffset) : start;
    } else {
      throw new RangeError(`bad range "${range}"`);
    }
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw new RangeError(`bad step "${stepText}"`);
      step = Number(stepText);
      // robfig: `N/step` means `N-max/step`, and a step drops the star bit.
      if (bounds.length === 1 && !partStar) end = max;
      if (step > 1) partStar = false;
    }
    // Day of week 7 is Sunday in most crons; accept it as 0.
    if (max === 6 && end === 7) end = 6;
    if (max === 6 && start === 7) start = 0;
    if (start < min || end > max || start > end) throw new RangeError(`out of range "${part}"`);
    for (let v = start; v <= end; v += step) values.add(v);
    isStar ||= partStar;
  }
  return { values, isStar };
}

/** A Go duration (`1h30m`, `90s`, `500ms`) in ms, for `@every`. */
function goDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (const m of text.matchAll(re)) {
    const n = Number(m[1]);
    total += n * ({ h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const)[m[2] as 'h' | 'm' | 's' | 'ms'];
    matched += m[0].length;
  }
  if (matched !== text.length || total <= 0) throw new RangeError(`bad duration "${text}"`);
  return total;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at an instant (ms); 0 for UTC or an unknown zone. */
function zoneOffset(zone: string | undefined, at: number): number {
  if (!zone || zone === 'UTC' || zone === 'Etc/UTC') return 0;
  let format = zoneFormats.get(zone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      return 0;
    }
    zoneFormats.set(zone, format);
  }
  const parts: Record<string, number> = {};
  for (const p of format.formatToParts(new Date(at)))
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  return wall - Math.floor(at / 1000) * 1000;
}

/**
 * Parses a CronJob schedule as the controller does (robfig/cron `ParseStandard`): five fields
 * (minute hour day-of-month month day-of-week) with lists, ranges, steps and names, the descriptors
 * `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`, `@every DURATION`, and a `CRON_TZ=`/`TZ=`
 * prefix. `timeZone` (spec.timeZone) wins over UTC. Returns undefined for a schedule it cannot read.
 *
 * Times are computed on the zone's wall clock and converted back with the offset at the result; in the
 * hour a daylight-saving change skips or repeats a run may be placed an hour off, and the rules that
 * use it allow whole periods of slack, so that does not change a verdict.
 */
export function parseCronSchedule(expression: string, timeZone?: string): CronSchedule | undefined {
  try {
    let text = expression.trim();
    let zone = timeZone;
    const tz = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(text);
    if (tz) {
      zone ??= tz[1];
      text = tz[2]!.trim();
    }
    if (text.startsWith('@every ')) {
      const every = goDuration(text.slice(7).trim());
      return { next: (after) => after + every };
    }
    text = DESCRIPTORS[text.toLowerCase()] ?? text;
    const fields = text.split(/\s+/);
    if (fields.length !== 5) return undefined;
    const minute = parseField(fields[0]!, 0, 59);
    const hour = parseField(fields[1]!, 0, 23);
    const dom = parseField(fields[2]!, 1, 31);
    const month = parseField(fields[3]!, 1, 12, MONTHS, 1);
    const dow = parseField(fields[4]!, 0, 6, DAYS, 0);
    const dayMatches = (d: Date): boolean => {
      const domMatch = dom.values.has(d.getUTCDate());
      const dowMatch = dow.values.has(d.getUTCDay());
      return dom.isStar || dow.isStar ? domMatch && dowMatch : domMatch || dowMatch;
    };
    /** robfig's `SpecSchedule.Next`, on a UTC wall clock, at minute resolution. */
    const nextWall = (after: number): number | undefined => {
      if (!Number.isFinite(after)) return undefined;
      const d = new Date(Math.floor(after / 60_000) * 60_000 + 60_000);
      const yearLimit = d.getUTCFullYear() + 5;
      wrap: for (;;) {
        if (d.getUTCFullYear() > yearLimit) return undefined;
        let added = false;
        while (!month.values.has(d.getUTCMonth() + 1)) {
          if (!added) {
            added = true;
            d.setUTCDate(1);
            d.setUTCHours(0, 0, 0, 0);
          }
          d.setUTCMonth(d.getUTCMonth() + 1);
          if (d.getUTCMonth() === 0) continue wrap;
        }
        while (!dayMatches(d)) {
          if (!added) {
            added = true;
            d.setUTCHours(0, 0, 0, 0);
          }
          d.setUTCDate(d.getUTCDate() + 1);
          if (d.getUTCDate() === 1) continue wrap;
        }
        while (!hour.values.has(d.getUTCHours())) {
          if (!added) {
            added = true;
            d.setUTCMinutes(0, 0, 0);
          }
          d.setUTCHours(d.getUTCHours() + 1);
          if (d.getUTCHours() === 0) continue wrap;
        }
        while (!minute.values.has(d.getUTCMinutes())) {
          d.setUTCMinutes(d.getUTCMinutes() + 1);
          if (d.getUTCMinutes() === 0) continue wrap;
        }
        return d.getTime();
      }
    };
    return {
      next(after) {
        const offset = zoneOffset(zone, after);
        const wall = nextWall(after + offset);
        if (wall === undefined) return undefined;
        // The offset may differ at the result (a daylight-saving change in between): take its own.
        const at = wall - zoneOffset(zone, wall - offset);
        return at > after ? at : wall - offset;
      },
    };
  } catch {
    return undefined;
  }
}

/** One rejection group of a `FailedScheduling` message: `3 Insufficient cpu`. */
export interface Rejection {
  readonly count: number;
  readonly text: string;
}

/** What keeps pods from being placed, by the scheduler plugin that rejected the nodes. */
export type UnschedulableCause =
  'resources' | 'taints' | 'affinity' | 'cordoned' | 'volumes' | 'ports' | 'no-nodes' | 'other';

/**
 * Reads `0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint {k: v}.
 * preemption: ...` into the node count and the rejection groups (the preemption part is dropped).
 */
export function parseSchedulerMessage(message: string): {
  total: number | undefined;
  rejections: Rejection[];
} {
  const m = /^0\/(\d+) nodes are available(?::\s*(.*?))?\.?(?:\s+preemption:.*)?$/s.exec(message.trim());
  if (!m) return { total: undefined, rejections: [] };
  const rejections: Rejection[] = [];
  // The groups are `<count> <reason>` joined by `, `; a taint text `{k: v}` holds no `, `.
  for (const part of (m[2] ?? '').replace(/\.$/, '').split(/,\s+(?=\d+\s)/)) {
    const g = /^(\d+)\s+(.*)$/.exec(part.trim());
    if (g) rejections.push({ count: Number(g[1]), text: g[2]!.trim() });
  }
  return { total: Number(m[1]), rejections };
}

/** The cause a rejection names. */
export function causeOf(rejection: string): UnschedulableCause {
  if (/^Insufficient |Too many pods/.test(rejection)) return 'resources';
  if (/untolerated taint|taint/.test(rejection)) return 'taints';
  if (/affinity|selector|topology spread/.test(rejection)) return 'affinity';
  if (/were unschedulable/.test(rejection)) return 'cordoned';
  if (/volume|PersistentVolumeClaim/.test(rejection)) return 'volumes';
  if (/free ports/.test(rejection)) return 'ports';
  return 'other';
}

/** Millicores as `1500m`/`2` and bytes as `512Mi`/`4Gi`, for messages. */
export function cpuText(millicores: number): string {
  return millicores % 1000 === 0 ? `${millicores / 1000}` : `${Math.round(millicores)}m`;
}

/** Bytes in binary units, for messages. */
export function memoryText(bytes: number): string {
  if (bytes >= 2 ** 30) return `${Math.round((bytes / 2 ** 30) * 10) / 10}Gi`;
  return `${Math.round(bytes / 2 ** 20)}Mi`;
}
