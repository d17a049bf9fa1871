import assert from 'node:assert/strict';
import { test } from 'node:test';

import { humanDuration, parseTimestamp, translateTimestampSince } from './duration.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const Y = 365 * D;

test('humanDuration matches apimachinery HumanDuration at every boundary', () => {
  const cases: [number, string][] = [
    [-2 * S, '<invalid>'],
    [-1999, '0s'],
    [-1 * S, '0s'],
    [-999, '0s'],
    [0, '0s'],
    [999, '0s'],
    [S, '1s'],
    [59 * S, '59s'],
    [2 * M - 1, '119s'],
    [2 * M, '2m'],
    [2 * M + S, '2m1s'],
    [9 * M + 59 * S, '9m59s'],
    [10 * M - 1, '9m59s'],
    [10 * M, '10m'],
    [10 * M + 30 * S, '10m'],
    [59 * M, '59m'],
    [3 * H - 1, '179m'],
    [3 * H, '3h'],
    [3 * H + 30 * M, '3h30m'],
    [8 * H - 1, '7h59m'],
    [8 * H, '8h'],
    [48 * H - 1, '47h'],
    [48 * H, '2d'],
    [49 * H, '2d1h'],
    [8 * D - 1, '7d23h'],
    [8 * D, '8d'],
    [2 * Y - 1, '729d'],
    [2 * Y, '2y'],
    [2 * Y + 3 * D, '2y3d'],
    [8 * Y - 1, '7y364d'],
    [8 * Y, '8y'],
    [12 * Y + 100 * D, '12y'],
  ];
  for (const [ms, expected] of cases) {
    assert.equal(humanDuration(ms), expected, `humanDuration(${ms})`);
  }
});

test('humanDuration treats non-finite input as invalid', () => {
  assert.equal(humanDuration(Number.NaN), '<invalid>');
  assert.equal(humanDuration(Number.POSITIVE_INFINITY), '<invalid>');
});

test('translateTimestampSince prints the age at the simulated now, or <unknown>', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  const cases: [string | null | undefined, string][] = [
    ['2024-05-01T11:59:40Z', '20s'],
    ['2024-05-01T11:55:00Z', '5m'],
    ['2024-05-01T11:00:00.000000Z', '60m'],
    ['2024-04-28T12:00:00Z', '3d'],
    ['2024-05-01T12:00:05Z', '<invalid>'],
    [null, '<unknown>'],
    [undefined, '<unknown>'],
    ['', '<unknown>'],
    ['not a time', '<unknown>'],
  ];
  for (const [ts, expected] of cases) {
    assert.equal(translateTimestampSince(ts, now), expected, `since ${String(ts)}`);
  }
});

test('parseTimestamp reads RFC 3339 and micro-time strings', () => {
  assert.equal(parseTimestamp('2024-05-01T12:00:00Z'), Date.UTC(2024, 4, 1, 12));
  assert.equal(parseTimestamp('2024-05-01T12:00:00.250000Z'), Date.UTC(2024, 4, 1, 12, 0, 0, 250));
  assert.equal(parseTimestamp(null), undefined);
});
