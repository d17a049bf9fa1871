/**
 * Human-readable durations, ported from apimachinery `pkg/util/duration` (`HumanDuration`) and the
 * `translateTimestampSince` helper of `pkg/printers/internalversion/printers.go`. Durations are in
 * milliseconds and timestamps are RFC 3339 strings, as the simulator stores them.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Formats a duration in milliseconds like apimachinery's `HumanDuration` (`45s`, `3m20s`, `5h`, `2d3h`, `3y10d`). */
export function humanDuration(ms: number): string {
  // Go durations are always finite integers; treat anything else as the out-of-range case.
  if (!Number.isFinite(ms)) return '<invalid>';
  // Go's int(d.Seconds()) truncates toward zero; up to a second of clock skew still reads as "0s".
  const seconds = Math.trunc(ms / SECOND);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(ms / MINUTE);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(ms / HOUR);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const dy = days % 365;
    return dy === 0 ? `${years}y` : `${years}y${dy}d`;
  }
  return `${years}y`;
}

/** Parses an RFC 3339 timestamp to epoch milliseconds, or `undefined` when it is missing or unparseable (Go's zero time). */
export function parseTimestamp(ts: string | null | undefined): number | undefined {
  if (ts === null || ts === undefined || ts === '') return undefined;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The age of a timestamp at simulated time `now` (epoch ms) as `HumanDuration` prints it, or `<unknown>` when it is missing. */
export function translateTimestampSince(ts: string | null | undefined, now: number): string {
  const at = parseTimestamp(ts);
  return at === undefined ? '<unknown>' : humanDuration(now - at);
}
