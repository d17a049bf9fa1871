import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CronSyntaxError, formatRfc1123z, formatRfc3339InZone, isKnownTimeZone, parseCron } from './cron.js';

const t = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString().replace('.000Z', 'Z');

test('next() finds the first scheduled minute strictly after a time', () => {
  const cases: [spec: string, after: string, expected: string | undefined, zone?: string][] = [
    ['*/15 * * * *', '2025-01-01T10:07:30Z', '2025-01-01T10:15:00Z'],
    ['*/15 * * * *', '2025-01-01T10:15:00Z', '2025-01-01T10:30:00Z'],
    ['*/15 * * * *', '2025-01-01T23:59:00Z', '2025-01-02T00:00:00Z'],
    ['* * * * *', '2025-01-01T10:07:00.500Z', '2025-01-01T10:08:00Z'],
    ['0 * * * *', '2025-01-01T10:00:00Z', '2025-01-01T11:00:00Z'],
    ['@hourly', '2025-01-01T10:00:00Z', '2025-01-01T11:00:00Z'],
    ['@daily', '2025-01-01T10:00:00Z', '2025-01-02T00:00:00Z'],
    ['@midnight', '2025-12-31T10:00:00Z', '2026-01-01T00:00:00Z'],
    // 2025-01-01 is a Wednesday.
    ['@weekly', '2025-01-01T00:00:00Z', '2025-01-05T00:00:00Z'],
    ['@monthly', '2025-01-15T08:00:00Z', '2025-02-01T00:00:00Z'],
    ['@yearly', '2025-01-15T08:00:00Z', '2026-01-01T00:00:00Z'],
    ['@ANNUALLY', '2025-01-15T08:00:00Z', '2026-01-01T00:00:00Z'],
    ['30 9 * * mon-fri', '2025-01-03T10:00:00Z', '2025-01-06T09:30:00Z'],
    ['30 9 * * MON-FRI', '2025-01-06T09:29:00Z', '2025-01-06T09:30:00Z'],
    ['0 0 1,15 * *', '2025-01-02T00:00:00Z', '2025-01-15T00:00:00Z'],
    ['0 12 * jan,jul *', '2025-02-01T00:00:00Z', '2025-07-01T12:00:00Z'],
    ['0 0 1 JAN *', '2025-02-01T00:00:00Z', '2026-01-01T00:00:00Z'],
    ['5/20 * * * *', '2025-01-01T10:00:00Z', '2025-01-01T10:05:00Z'],
    ['5/20 * * * *', '2025-01-01T10:05:00Z', '2025-01-01T10:25:00Z'],
    ['5/20 * * * *', '2025-01-01T10:45:00Z', '2025-01-01T11:05:00Z'],
    ['10-20/5 8-9 * * *', '2025-01-01T08:20:00Z', '2025-01-01T09:10:00Z'],
    ['0 22 * * 0', '2025-01-01T00:00:00Z', '2025-01-05T22:00:00Z'],
    // Both day fields restricted: either one matching is enough (the 13th, or any Friday).
    ['0 0 13 * fri', '2025-01-01T00:00:00Z', '2025-01-03T00:00:00Z'],
    ['0 0 13 * fri', '2025-01-10T00:00:00Z', '2025-01-13T00:00:00Z'],
    // A bare `*` (or `*/1`) day-of-week keeps day-of-month alone in charge; `*/2` does not.
    ['0 0 1 * */1', '2025-01-02T00:00:00Z', '2025-02-01T00:00:00Z'],
    ['0 0 1 * */2', '2025-01-02T00:00:00Z', '2025-01-04T00:00:00Z'],
    ['0 0 ? * 3', '2025-01-02T00:00:00Z', '2025-01-08T00:00:00Z'],
    ['0 0 29 2 *', '2025-03-01T00:00:00Z', '2028-02-29T00:00:00Z'],
    ['0 0 30 2 *', '2025-03-01T00:00:00Z', undefined],
    ['0 9 * * *', '2025-01-01T00:00:00Z', '2025-01-01T03:30:00Z', 'Asia/Kolkata'],
    ['0 9 * * *', '2025-01-01T12:00:00Z', '2025-01-01T14:00:00Z', 'America/New_York'],
    ['0 9 * * *', '2025-01-01T14:00:00Z', '2025-01-02T14:00:00Z', 'America/New_York'],
    ['0 9 * * *', '2025-07-01T12:00:00Z', '2025-07-01T13:00:00Z', 'America/New_York'],
    ['*/15 * * * *', '2025-07-01T12:07:00Z', '2025-07-01T12:15:00Z', 'Asia/Kolkata'],
    ['0 9 * * *', '2025-01-01T00:00:00Z', '2025-01-01T09:00:00Z', 'Etc/UTC'],
  ];
  for (const [spec, after, expected, zone] of cases) {
    const schedule = parseCron(spec, zone);
    assert.equal(iso(schedule.next(t(after))), expected, `${spec} after ${after} in ${zone ?? 'UTC'}`);
  }
});

test('previous() finds the last scheduled minute at or before a time', () => {
  const cases: [spec: string, atOrBefore: string, expected: string | undefined][] = [
    ['*/15 * * * *', '2025-01-01T10:15:00Z', '2025-01-01T10:15:00Z'],
    ['*/15 * * * *', '2025-01-01T10:14:59Z', '2025-01-01T10:00:00Z'],
    ['*/15 * * * *', '2025-01-01T00:05:00Z', '2025-01-01T00:00:00Z'],
    ['0 3 * * *', '2025-01-01T02:00:00Z', '2024-12-31T03:00:00Z'],
    ['@yearly', '2025-06-01T00:00:00Z', '2025-01-01T00:00:00Z'],
    ['0 0 29 2 *', '2025-06-01T00:00:00Z', '2024-02-29T00:00:00Z'],
    ['0 0 29 2 *', '2027-12-31T00:00:00Z', '2024-02-29T00:00:00Z'],
    ['30 9 * * mon-fri', '2025-01-06T09:29:00Z', '2025-01-03T09:30:00Z'],
    ['0 0 30 2 *', '2025-06-01T00:00:00Z', undefined],
  ];
  for (const [spec, at, expected] of cases) {
    assert.equal(iso(parseCron(spec).previous(t(at))), expected, `${spec} at or before ${at}`);
  }
});

test('parseCron rejects what robfig/cron ParseStandard rejects, with its messages', () => {
  const cases: [spec: string, message: string][] = [
    ['', 'empty spec string'],
    ['* * * *', 'expected exactly 5 fields, found 4: [* * * *]'],
    ['* * * * * *', 'expected exactly 5 fields, found 6: [* * * * * *]'],
    ['60 * * * *', 'end of range (60) above maximum (59): 60'],
    ['* 24 * * *', 'end of range (24) above maximum (23): 24'],
    ['* * 0 * *', 'beginning of range (0) below minimum (1): 0'],
    ['* * * 13 *', 'end of range (13) above maximum (12): 13'],
    ['* * * * 7', 'end of range (7) above maximum (6): 7'],
    ['5-3 * * * *', 'beginning of range (5) beyond end of range (3): 5-3'],
    ['*/0 * * * *', 'step of range should be a positive number: */0'],
    ['x * * * *', 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'],
    ['* * * foo *', 'failed to parse int from foo: strconv.Atoi: parsing "foo": invalid syntax'],
    ['1-2-3 * * * *', 'too many hyphens: 1-2-3'],
    ['*/2/3 * * * *', 'too many slashes: */2/3'],
    ['@every 5m', 'unrecognized descriptor: @every 5m'],
    ['@fortnightly', 'unrecognized descriptor: @fortnightly'],
  ];
  for (const [spec, message] of cases) {
    assert.throws(
      () => parseCron(spec),
      (e: unknown) => e instanceof CronSyntaxError && e.message === message,
      `"${spec}" should fail with: ${message}`,
    );
  }
  assert.throws(() => parseCron('* * * * *', 'Mars/Olympus_Mons'), RangeError);
});

test('time zones and timestamp layouts', () => {
  const cases: [zone: string, isKnown: boolean][] = [
    ['UTC', true],
    ['Etc/UTC', true],
    ['Europe/Berlin', true],
    ['Asia/Kolkata', true],
    ['Mars/Olympus_Mons', false],
  ];
  for (const [zone, isKnown] of cases) assert.equal(isKnownTimeZone(zone), isKnown, zone);
  const layouts: [ms: number, zone: string | undefined, expected: string][] = [
    [t('2025-03-01T10:15:00Z'), undefined, '2025-03-01T10:15:00Z'],
    [t('2025-03-01T10:15:00Z'), 'Asia/Kolkata', '2025-03-01T15:45:00+05:30'],
    [t('2025-07-01T10:15:07Z'), 'America/New_York', '2025-07-01T06:15:07-04:00'],
    [t('2025-01-01T10:15:00Z'), 'Europe/London', '2025-01-01T10:15:00Z'],
  ];
  for (const [ms, zone, expected] of layouts) assert.equal(formatRfc3339InZone(ms, zone), expected);
  assert.equal(formatRfc1123z(t('2025-01-06T09:30:05Z')), 'Mon, 06 Jan 2025 09:30:05 +0000');
});
