/**
 * Cron schedules as the CronJob controller reads them: the five-field standard syntax of
 * `robfig/cron/v3`'s `ParseStandard` (`*`, `?`, lists, ranges, steps, month and weekday names) and the
 * `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight` and `@hourly` macros, with the
 * library's rule that day-of-month and day-of-week are OR-ed unless one of them is a bare `*`. Times are
 * epoch milliseconds; schedules run in UTC unless an IANA time zone is given.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** `Next` gives up after this many years without a match (e.g. `0 0 30 2 *`), as robfig/cron does. */
const YEAR_LIMIT = 5;

interface Bounds {
  readonly min: number;
  readonly max: number;
  readonly names?: Readonly<Record<string, number>>;
}

const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DAYS_OF_MONTH: Bounds = { min: 1, max: 31 };
const MONTHS: Bounds = {
  min: 1,
  max: 12,
  names: {
    jan: 1,
    feb: 2,
    mar: 3,
    apr: 4,
    may: 5,
    jun: 6,
    jul: 7,
    aug: 8,
    sep: 9,
    oct: 10,
    nov: 11,
    dec: 12,
  },
};
const DAYS_OF_WEEK: Bounds = {
  min: 0,
  max: 6,
  names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 },
};

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** Thrown for a schedule the standard parser rejects; the message follows robfig/cron's wording. */
export class CronSyntaxError extends Error {}

/** A parsed schedule. */
export interface CronSchedule {
  /** The schedule text as given. */
  readonly spec: string;
  /** The IANA time zone the schedule runs in (`UTC` when none was given). */
  readonly timeZone: string;
  /** The first scheduled time strictly after `after`, or undefined when none comes within five years. */
  next(after: number): number | undefined;
  /** The last scheduled time at or before `atOrBefore`, or undefined when none came in the five years before. */
  previous(atOrBefore: number): number | undefined;
}

interface Field {
  readonly values: ReadonlySet<number>;
  /** The field was a bare `*` or `?` (robfig's star bit), which changes how the two day fields combine. */
  readonly isStar: boolean;
}

/** Wall-clock fields of an instant in a zone; `month` is 1–12 and `weekday` 0 (Sunday) – 6. */
interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

/**
 * Parses a schedule. `timeZone` is an IANA name (`spec.timeZone`); wall-clock fields are matched in it.
 * Throws CronSyntaxError for a bad schedule and RangeError for an unknown time zone.
 */
export function parseCron(spec: string, timeZone?: string): CronSchedule {
  const zone = zoneFor(timeZone ?? 'UTC');
  const text = spec.trim();
  if (text === '') throw new CronSyntaxError('empty spec string');
  let expanded = text;
  if (text.startsWith('@')) {
    const macro = MACROS[text.toLowerCase()];
    if (macro === undefined) throw new CronSyntaxError(`unrecognized descriptor: ${text}`);
    expanded = macro;
  }
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5) {
    throw new CronSyntaxError(`expected exactly 5 fields, found ${parts.length}: [${parts.join(' ')}]`);
  }
  const [minute, hour, dom, month, dow] = [
    parseField(parts[0]!, MINUTES),
    parseField(parts[1]!, HOURS),
    parseField(parts[2]!, DAYS_OF_MONTH),
    parseField(parts[3]!, MONTHS),
    parseField(parts[4]!, DAYS_OF_WEEK),
  ];
  const dayMatches = (w: Wall): boolean => {
    const isDom = dom.values.has(w.day);
    const isDow = dow.values.has(w.weekday);
    return dom.isStar || dow.isStar ? isDom && isDow : isDom || isDow;
  };

  // robfig/cron's Schedule.Next: advance the coarsest non-matching field, truncating the finer ones
  // the first time, and start over whenever a field wraps.
  const next = (after: number): number | undefined => {
    let t = Math.floor(after / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
    let isTruncated = false;
    const yearLimit = zone.toWall(t).year + YEAR_LIMIT;
    wrap: for (;;) {
      let w = zone.toWall(t);
      if (w.year > yearLimit) return undefined;
      while (!month.values.has(w.month)) {
        if (!isTruncated) {
          isTruncated = true;
          t = zone.fromWall(w.year, w.month, 1, 0, 0);
          w = zone.toWall(t);
        }
        t = zone.fromWall(w.year, w.month + 1, w.day, w.hour, w.minute);
        w = zone.toWall(t);
        if (w.month === 1) continue wrap;
      }
      while (!dayMatches(w)) {
        if (!isTruncated) {
          isTruncated = true;
          t = zone.fromWall(w.year, w.month, w.day, 0, 0);
          w = zone.toWall(t);
        }
        t = zone.fromWall(w.year, w.month, w.day + 1, w.hour, w.minute);
        w = zone.toWall(t);
        // A DST change can move midnight; put it back.
        if (w.hour !== 0) {
          t += w.hour > 12 ? (24 - w.hour) * HOUR_MS : -w.hour * HOUR_MS;
          w = zone.toWall(t);
        }
        if (w.day === 1) continue wrap;
      }
      while (!hour.values.has(w.hour)) {
        if (!isTruncated) {
          isTruncated = true;
          t = zone.fromWall(w.year, w.month, w.day, w.hour, 0);
        }
        t += HOUR_MS;
        w = zone.toWall(t);
        if (w.hour === 0) continue wrap;
      }
      while (!minute.values.has(w.minute)) {
        isTruncated = true;
        t += MINUTE_MS;
        w = zone.toWall(t);
        if (w.minute === 0) continue wrap;
      }
      return t;
    }
  };

  const previous = (atOrBefore: number): number | undefined => {
    // Walk forward from ever earlier points: cheap for frequent schedules, a few steps for yearly ones.
    const limit = YEAR_LIMIT * 366 * DAY_MS;
    for (let window = HOUR_MS; ; window = Math.min(window * 4, limit)) {
      let last: number | undefined;
      for (let t = next(atOrBefore - window); t !== undefined && t <= atOrBefore; t = next(t)) last = t;
      if (last !== undefined) return last;
      if (window === limit) return undefined;
    }
  };

  return { spec, timeZone: zone.name, next, previous };
}

function parseField(text: string, bounds: Bounds): Field {
  const values = new Set<number>();
  let isStar = false;
  for (const part of text.split(',')) {
    const range = parseRange(part, bounds);
    for (let v = range.start; v <= range.end; v += range.step) values.add(v);
    if (range.isStar) isStar = true;
  }
  return { values, isStar };
}

function parseRange(
  expr: string,
  bounds: Bounds,
): { start: number; end: number; step: number; isStar: boolean } {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0]!.split('-');
  const isSingle = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let isStar = false;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    start = bounds.min;
    end = bounds.max;
    isStar = true;
  } else {
    start = parseIntOrName(lowAndHigh[0]!, bounds.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1]!, bounds.names);
    else throw new CronSyntaxError(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = parseNonNegative(rangeAndStep[1]!);
    // `N/step` means `N-max/step`.
    if (isSingle) end = bounds.max;
    if (step > 1) isStar = false;
  } else if (rangeAndStep.length > 2) {
    throw new CronSyntaxError(`too many slashes: ${expr}`);
  }
  if (start < bounds.min) {
    throw new CronSyntaxError(`beginning of range (${start}) below minimum (${bounds.min}): ${expr}`);
  }
  if (end > bounds.max) {
    throw new CronSyntaxError(`end of range (${end}) above maximum (${bounds.max}): ${expr}`);
  }
  if (start > end) {
    throw new CronSyntaxError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  }
  if (step === 0) throw new CronSyntaxError(`step of range should be a positive number: ${expr}`);
  return { start, end, step, isStar };
}

function parseIntOrName(text: string, names: Readonly<Record<string, number>> | undefined): number {
  const named = names?.[text.toLowerCase()];
  return named ?? parseNonNegative(text);
}

function parseNonNegative(text: string): number {
  if (!/^[+-]?\d+$/.test(text)) {
    throw new CronSyntaxError(
      `failed to parse int from ${text}: strconv.Atoi: parsing "${text}": invalid syntax`,
    );
  }
  const n = Number(text);
  if (n < 0) throw new CronSyntaxError(`negative number (${n}) not allowed: ${text}`);
  return n;
}

interface Zone {
  readonly name: string;
  toWall(ms: number): Wall;
  /** The instant of a wall-clock time; out-of-range fields roll over as Go's `time.Date` does. */
  fromWall(year: number, month: number, day: number, hour: number, minute: number): number;
}

const UTC_ZONE: Zone = {
  name: 'UTC',
  toWall: utcWall,
  fromWall: (year, month, day, hour, minute) => Date.UTC(year, month - 1, day, hour, minute),
};

const zones = new Map<string, Zone>();

function zoneFor(name: string): Zone {
  if (name === 'UTC' || name === 'Etc/UTC' || name === '') return UTC_ZONE;
  const cached = zones.get(name);
  if (cached) return cached;
  // Throws RangeError for a name the ICU database does not know.
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: name,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  });
  const offset = (ms: number): number => {
    const parts: Record<string, number> = {};
    for (const p of format.formatToParts(new Date(ms))) {
      if (p.type !== 'literal') parts[p.type] = Number(p.value);
    }
    const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day, parts.hour, parts.minute);
    return wall - Math.floor(ms / MINUTE_MS) * MINUTE_MS;
  };
  const zone: Zone = {
    name,
    toWall: (ms) => utcWall(ms + offset(ms)),
    fromWall: (year, month, day, hour, minute) => {
      // Two rounds find the offset in force at that wall time; in a DST gap the result lands on one
      // side of it, as Go's time.Date does without promising which.
      const wall = Date.UTC(year, month - 1, day, hour, minute);
      const guess = wall - offset(wall);
      return wall - offset(guess);
    },
  };
  zones.set(name, zone);
  return zone;
}

function utcWall(ms: number): Wall {
  const d = new Date(ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    weekday: d.getUTCDay(),
  };
}

/** Whether an IANA time zone name is known (what `time.LoadLocation` accepts). */
export function isKnownTimeZone(name: string): boolean {
  try {
    zoneFor(name);
    return true;
  } catch {
    return false;
  }
}

/** An instant as RFC 3339 in a zone (`2025-03-01T10:15:00Z`, `2025-03-01T15:45:00+05:30`), like Go's format. */
export function formatRfc3339InZone(ms: number, timeZone?: string): string {
  const zone = zoneFor(timeZone ?? 'UTC');
  const w = zone.toWall(ms);
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  const base = `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(Math.floor(ms / 1000) % 60)}`;
  const offsetMinutes = Math.round(
    (Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) - Math.floor(ms / MINUTE_MS) * MINUTE_MS) /
      MINUTE_MS,
  );
  if (offsetMinutes === 0) return `${base}Z`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${base}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** An instant in Go's RFC 1123Z layout in UTC (`Mon, 02 Jan 2006 15:04:05 +0000`), as events print times. */
export function formatRfc1123z(ms: number): string {
  const d = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]!}, ${pad(d.getUTCDate())} ${months[d.getUTCMonth()]!} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}
