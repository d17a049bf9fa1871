import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { loadScenario, parseScenario, ScenarioError } from './file.js';

test('every example scenario loads', () => {
  const dir = new URL('../../../examples/scenarios/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length > 0);
  for (const f of files) {
    const s = loadScenario(new URL(f, dir).pathname);
    assert.ok(s.timeline.length > 0, f);
  }
});

test('a valid scenario gives its timeline in milliseconds', () => {
  const s = parseScenario(
    'base: eks\nnodes: 3\nspeed: 5\ntimeline:\n  - at: 90s\n    fault: crashloop\n    target: shop/cart\n    for: 2m\n  - at: 5m\n    stop: crashloop\n',
    'x.yaml',
  );
  assert.equal(s.platform, 'eks');
  assert.equal(s.nodes, 3);
  assert.equal(s.speed, 5);
  assert.deepEqual(s.timeline[0], {
    atMs: 90_000,
    fault: 'crashloop',
    target: 'shop/cart',
    args: [],
    forMs: 120_000,
    isStop: false,
  });
  assert.equal(s.timeline[1]!.isStop, true);
});

test('malformed scenarios name the file, line and field', () => {
  const cases: [string, RegExp][] = [
    ['base: openshift\n', /^bad\.yaml:1: base: must be one of demo, eks, gke, aks/],
    ['nodes: -2\n', /^bad\.yaml:1: nodes: must be an integer/],
    ['timeline:\n  - at: soon\n    fault: heal\n', /^bad\.yaml:2: timeline\[0\]\.at: must be a duration/],
    [
      'timeline:\n  - at: 1m\n    fault: crash\n',
      /^bad\.yaml:3: timeline\[0\]\.fault: unknown fault "crash"; faults: scheduler-down/,
    ],
    [
      'timeline:\n  - at: 1m\n    fault: crashloop\n',
      /^bad\.yaml:2: timeline\[0\]\.target: fault "crashloop" needs a target/,
    ],
    ['speed: 2\ncolour: red\n', /^bad\.yaml:2: colour: unknown field/],
    ['timeline: [\n', /^bad\.yaml:\d+: invalid YAML/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(
      () => parseScenario(text, 'bad.yaml'),
      (e: unknown) => e instanceof ScenarioError && pattern.test(e.message),
      text,
    );
  }
  assert.throws(() => loadScenario('no-such-scenario'), /unknown scenario "no-such-scenario"/);
});
