let lastSecond = Number.NaN;
let lastText = '';

/** An RFC 3339 timestamp with second precision, as `metav1.Time` serializes. */
export function isoSeconds(ms: number): string {
  // Most calls in a burst fall in the same second: reuse the last formatting.
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastText = new Date(second * 1000).toISOString().replace('.000Z', 'Z');
  }
  return lastText;
}

/** An RFC 3339 timestamp with microsecond precision, as `metav1.MicroTime` serializes. */
export function isoMicro(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.round((ms - whole) * 1000);
  return new Date(whole)
    .toISOString()
    .replace(/\.(\d{3})Z$/, (_m, millis: string) => `.${millis}${String(micros).padStart(3, '0')}Z`);
}

/** Parses an RFC 3339 timestamp to epoch milliseconds (NaN when absent or invalid). */
export function parseTime(text: string | null | undefined): number {
  return text ? Date.parse(text) : Number.NaN;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration such as `90s`, `5m`, `1h30m`, `2d` or a bare number of seconds into milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(trimmed); m; m = re.exec(trimmed)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== trimmed.length)
    throw new RangeError(`invalid duration "${text}" (use e.g. 30s, 5m, 1h30m, 2d)`);
  return total;
}
