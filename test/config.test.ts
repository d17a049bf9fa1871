import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { loadConfig, parseConfig } from '../src/config/index.js';
import { HealwatchError } from '../src/domain/index.js';
import { BUILTIN_RULES } from '../src/rules/index.js';

const EXAMPLES = new URL('../examples/', import.meta.url).pathname;

test('every example configuration loads', () => {
  // The examples take their secrets from the environment.
  process.env.HEALWATCH_PAGERDUTY_ROUTING_KEY ??= 'example-routing-key-0123456789ab';
  process.env.HEALWATCH_SLACK_WEBHOOK_URL ??= 'https://hooks.slack.com/services/T000/B000/XXXX';
  process.env.HEALWATCH_HEARTBEAT_URL ??= 'https://hc-ping.com/00000000-0000-0000-0000-000000000000';
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

test('bad notification configurations name the field (and line), and secrets never appear in the error', () => {
  const receivers = (body: string): string => `notifications:\n  receivers:\n${body}`;
  delete process.env.HW_NO_SUCH_VARIABLE;
  const cases: [string, RegExp][] = [
    [
      receivers('    - name: chat\n      type: teams\n      url: https://example.com/x\n'),
      /^bad\.yaml:4: notifications\.receivers\[0\]\.type: unknown receiver type "teams"; types: pagerduty, opsgenie, alertmanager, slack, webhook, email, inbox/,
    ],
    [
      receivers('    - name: chat\n      type: slack\n'),
      /^bad\.yaml:3: notifications\.receivers\[0\]\.url: /,
    ],
    [
      receivers('    - name: chat\n      type: slack\n      url: not-a-url\n'),
      /^bad\.yaml:5: notifications\.receivers\[0\]\.url: must be an http\(s\) URL \(from inline; value not shown\)/,
    ],
    [
      receivers('    - name: pd\n      type: pagerduty\n      routingKey: { env: HW_NO_SUCH_VARIABLE }\n'),
      /^bad\.yaml:5: notifications\.receivers\[0\]\.routingKey: environment variable HW_NO_SUCH_VARIABLE is not set or empty/,
    ],
    [
      receivers('    - name: pd\n      type: pagerduty\n      routingKey: { file: /no/such/key }\n'),
      /^bad\.yaml:5: notifications\.receivers\[0\]\.routingKey: cannot read secret file \/no\/such\/key: no such file/,
    ],
    [
      receivers(
        '    - name: chat\n      type: slack\n      url: https://hooks.slack.com/services/T/B/SECRETVALUE\n      colour: red\n',
      ),
      /^bad\.yaml:6: notifications\.receivers\[0\]\.colour: unknown field "colour"/,
    ],
    [
      receivers(
        '    - name: a\n      type: inbox\n      path: /tmp/a\n    - name: a\n      type: inbox\n      path: /tmp/b\n',
      ),
      /^bad\.yaml:6: notifications\.receivers\[1\]\.name: two receivers are named "a"/,
    ],
    [
      `${receivers('    - name: chat\n      type: inbox\n      path: /tmp/x\n')}  routes:\n    - receivers: [chats]\n`,
      /^bad\.yaml:\d+: notifications\.routes\[0\]\.receivers\[0\]: no receiver is named "chats"; receivers: chat/,
    ],
    [
      `${receivers('    - name: chat\n      type: inbox\n      path: /tmp/x\n')}  businessHours:\n    timeZone: Europe/Berlen\n`,
      /^bad\.yaml:7: notifications\.businessHours\.timeZone: unknown time zone "Europe\/Berlen"/,
    ],
    [
      'notifications:\n  businessHours:\n    timeZone: UTC\n    start: "9am"\n',
      /^bad\.yaml:4: notifications\.businessHours\.start: must be a time HH:MM/,
    ],
    [
      'notifications:\n  businessHours:\n    timeZone: UTC\n    days: [mon-fry]\n',
      /^bad\.yaml:4: notifications\.businessHours\.days\[0\]: "mon-fry" is not a day or range/,
    ],
    [
      `${receivers('    - name: chat\n      type: inbox\n      path: /tmp/x\n')}  routes:\n    - receivers: [chat]\n      matchers: ["namespace=~(shop"]\n`,
      /^bad\.yaml:\d+: notifications\.routes\[0\]\.matchers\[0\]: "namespace=~\(shop": Invalid regular expression/,
    ],
    ['notifications:\n  retryFor: 10m\n', /^bad\.yaml:2: notifications\.retryFor: must be at least 1h/],
    ['notifications:\n  heartbeat:\n    interval: 1m\n', /^bad\.yaml:\d+: notifications\.heartbeat\.url: /],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(
      () => parseConfig(text, 'bad.yaml'),
      (e: unknown) => {
        if (!(e instanceof HealwatchError) || e.code !== 'HW_ERR_CONFIG_INVALID' || !pattern.test(e.message))
          return false;
        assert.ok(!e.message.includes('SECRETVALUE'), `the error shows the secret: ${e.message}`);
        return true;
      },
      `${JSON.stringify(text)} should fail with ${pattern}`,
    );
  }
});

test('a notification configuration resolves receivers, routes with their defaults, and business hours', () => {
  process.env.HW_TEST_ROUTING_KEY = 'R0UTINGKEY-0123456789abcdef';
  const c = parseConfig(
    [
      'notifications:',
      '  receivers:',
      '    - name: oncall',
      '      type: pagerduty',
      '      routingKey: { env: HW_TEST_ROUTING_KEY }',
      '    - name: chat',
      '      type: slack',
      '      url: https://hooks.slack.com/services/T0/B0/XYZ',
      '  routes:',
      '    - receivers: [oncall]',
      '      levels: [alert]',
      '    - receivers: [chat]',
      '      levels: [notice]',
      '      matchers: ["namespace=~shop|web"]',
      '      digest: true',
      '  businessHours: { timeZone: Europe/Berlin, days: [mon-thu, sat], start: "08:30", end: "18:00" }',
      '  heartbeat: { url: "https://hc-ping.com/abc", interval: 5m }',
      '',
    ].join('\n'),
    'good.yaml',
  );
  const n = c.notifications;
  assert.deepEqual(
    n.receivers.map((r) => [r.name, r.type]),
    [
      ['oncall', 'pagerduty'],
      ['chat', 'slack'],
    ],
  );
  assert.equal(
    JSON.stringify(n.receivers[0]!.config).includes('R0UTINGKEY'),
    false,
    'secrets print as <secret>',
  );
  assert.deepEqual(n.routes[1]!.matchers, [{ label: 'namespace', op: '=~', value: 'shop|web' }]);
  assert.deepEqual(
    [n.routes[0]!.groupBy, n.routes[0]!.sendResolved, n.routes[1]!.digest],
    [['namespace'], true, true],
  );
  assert.deepEqual(n.businessHours, {
    timeZone: 'Europe/Berlin',
    days: ['mon', 'tue', 'wed', 'thu', 'sat'],
    startMinute: 510,
    endMinute: 1080,
  });
  assert.equal(n.heartbeat?.intervalMs, 300_000);
  assert.equal(n.retryForMs, 86_400_000);
  // Without routes, every receiver takes both levels.
  const d = parseConfig(
    'notifications:\n  receivers:\n    - { name: box, type: inbox, path: /tmp/box }\n',
    'd.yaml',
  );
  assert.deepEqual(
    d.notifications.routes.map((r) => [r.receivers, r.levels]),
    [[['box'], ['alert', 'notice']]],
  );
});
