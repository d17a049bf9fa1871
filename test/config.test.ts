import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { loadConfig, parseConfig } from '../src/config/index.js';
import { HealwatchError } from '../src/domain/index.js';
import { BUILTIN_RULES } from '../src/rules/index.js';

const EXAMPLES = new URL('../examples/', import.meta.url).pathname;

test('every example configuration loads', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 2);
  for (const f of files) {
    const c = loadConfig(`${EXAMPLES}${f}`);
    assert.equal(c.rules.length, BUILTIN_RULES.length, f);
  }
});

test('defaults come from the catalog; a rule section changes level, for, scope and options', () => {
  const defaults = loadConfig(undefined);
  const crash = defaults.rules.find((r) => r.rule.id === 'crashloop')!;
  assert.equal(crash.common.level, 'notice');
  assert.equal(crash.common.forMs, 120_000);
  assert.deepEqual(crash.options, { minRestarts: 2 });
  const c = parseConfig(
    'rules:\n  crashloop:\n    level: alert\n    for: 1m30s\n    namespaces: [payments]\n    labelSelector: tier in (api, worker)\n    minRestarts: 5\n',
    'x.yaml',
  );
  const r = c.rules.find((x) => x.rule.id === 'crashloop')!;
  assert.equal(r.common.level, 'alert');
  assert.equal(r.common.forMs, 90_000);
  assert.deepEqual(r.common.scope.namespaces, ['payments']);
  assert.deepEqual(r.options, { minRestarts: 5 });
});

test('bad configurations are refused with the file, line and field', () => {
  const cases: [string, RegExp][] = [
    [
      'rules:\n  crashlop:\n    level: alert\n',
      /^bad\.yaml:2: rules\.crashlop: unknown rule; rules: .*crashloop/,
    ],
    ['rules:\n  crashloop:\n    level: urgent\n', /^bad\.yaml:3: rules\.crashloop\.level: /],
    ['rules:\n  crashloop:\n    for: soon\n', /^bad\.yaml:3: rules\.crashloop\.for: must be a duration/],
    [
      'rules:\n  crashloop:\n    minRestart: 3\n',
      /^bad\.yaml:3: rules\.crashloop(\.minRestart)?: unknown option "minRestart"/,
    ],
    ['rules:\n  crashloop:\n    minRestarts: -1\n', /^bad\.yaml:3: rules\.crashloop\.minRestarts: /],
    [
      'rules:\n  crashloop:\n    labelSelector: "tier in api"\n',
      /^bad\.yaml:3: rules\.crashloop\.labelSelector: cannot parse/,
    ],
    ['logAgent: fluent-bit\n', /^bad\.yaml:1: logAgent: must be NAMESPACE\/NAME/],
    ['clustername: x\n', /^bad\.yaml:1: clustername: unknown field/],
    ['rules: [\n', /^bad\.yaml:\d+: invalid YAML/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(
      () => parseConfig(text, 'bad.yaml'),
      (e: unknown) =>
        e instanceof HealwatchError && e.code === 'HW_ERR_CONFIG_INVALID' && pattern.test(e.message),
      `${JSON.stringify(text)} should fail with ${pattern}`,
    );
  }
  assert.throws(() => loadConfig('/no/such/healwatch.yaml'), /no such file/);
});
