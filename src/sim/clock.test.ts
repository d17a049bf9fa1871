import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimClock } from './clock.js';

test('advance runs due timers in time order and leaves later ones', () => {
  const clock = new SimClock(1000, 1);
  const seen: string[] = [];
  clock.after(300, () => seen.push(`c@${clock.now()}`));
  clock.after(100, () => seen.push(`a@${clock.now()}`));
  clock.after(100, () => seen.push(`b@${clock.now()}`));
  clock.after(5000, () => seen.push('late'));
  clock.advance(1000);
  assert.deepEqual(seen, ['a@1100', 'b@1100', 'c@1300']);
  assert.equal(clock.now(), 2000);
  assert.equal(clock.pending, 1);
});

test('every repeats until cancelled, and settle runs between instants', () => {
  const clock = new SimClock(0, 1);
  let settles = 0;
  clock.onSettle = () => settles++;
  const ticks: number[] = [];
  const handle = clock.every(10, () => ticks.push(clock.now()));
  clock.advance(35);
  handle.cancel();
  clock.advance(100);
  assert.deepEqual(ticks, [10, 20, 30]);
  assert.ok(settles >= 3);
});

test('jumpTo moves time without running timers and refuses to go back', () => {
  const clock = new SimClock(0, 1);
  let ran = false;
  clock.after(10, () => (ran = true));
  clock.jumpTo(100);
  assert.equal(ran, false);
  clock.advance(0);
  assert.equal(ran, true);
  assert.throws(() => clock.jumpTo(50), /backwards/);
});
