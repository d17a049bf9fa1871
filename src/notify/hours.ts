/**
 * Business hours in a time zone: when Notices may be delivered. Computed with `Intl.DateTimeFormat`, so
 * daylight-saving changes follow the zone's rules (a 09:00 start stays 09:00 local across the change).
 */

/** Days of the week, as written in the configuration. */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** When Notices may go out. */
export interface BusinessHours {
  /** An IANA time zone, e.g. `Europe/Berlin`. */
  readonly timeZone: string;
  readonly days: readonly Weekday[];
  /** Minutes after local midnight: start inclusive, end exclusive (`end` may be 1440). */
  readonly startMinute: number;
  readonly endMinute: number;
}

/** Monday to Friday, 09:00–17:00 UTC. */
export const DEFAULT_BUSINESS_HOURS: BusinessHours = {
  timeZone: 'UTC',
  days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  startMinute: 9 * 60,
  endMinute: 17 * 60,
};

/** Whether `zone` is a time zone this Node.js knows (`Intl` throws RangeError for unknown ones). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** `HH:MM` (00:00–24:00) to minutes after midnight; undefined when not such a time. */
export function parseClock(text: string): number | undefined {
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(text);
  if (!m) return undefined;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  return minutes <= 24 * 60 ? minutes : undefined;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The local weekday and minute of the day of `at` in `zone`. */
export function localTime(at: number, zone: string): { day: Weekday; minute: number } {
  let day: Weekday = 'sun';
  let hour = 0;
  let minute = 0;
  for (const p of formatter(zone).formatToParts(at)) {
    if (p.type === 'weekday') day = p.value.slice(0, 3).toLowerCase() as Weekday;
    else if (p.type === 'hour') hour = Number(p.value);
    else if (p.type === 'minute') minute = Number(p.value);
  }
  return { day, minute: hour * 60 + minute };
}

/** Whether `at` falls within the business hours. */
export function isBusinessTime(at: number, hours: BusinessHours): boolean {
  if (hours.days.length === 0 || hours.endMinute <= hours.startMinute) return false;
  const { day, minute } = localTime(at, hours.timeZone);
  return hours.days.includes(day) && minute >= hours.startMinute && minute < hours.endMinute;
}

const STEP_MS = 15 * 60_000;

/**
 * The first instant at or after `at` within business hours (whole minutes): `at` itself when it is
 * within them. Searches up to 8 days ahead; undefined when the hours are empty.
 */
export function nextBusinessTime(at: number, hours: BusinessHours): number | undefined {
  if (isBusinessTime(at, hours)) return at;
  if (hours.days.length === 0 || hours.endMinute <= hours.startMinute) return undefined;
  // Walk forward in 15-minute steps from the next whole minute, then back minute by minute to the start.
  let t = Math.ceil(at / 60_000) * 60_000;
  const limit = at + 8 * 86_400_000;
  while (t <= limit && !isBusinessTime(t, hours)) t += STEP_MS;
  if (t > limit) return undefined;
  while (t - 60_000 > at && isBusinessTime(t - 60_000, hours)) t -= 60_000;
  return t;
}
