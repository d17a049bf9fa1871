import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startSimulator } from '../../src/sim/index.js';
import { spawnCli } from '../helpers/cli.js';
import { startCaptureServer } from '../helpers/receiver.js';

const CANARY_PATH = 'CANARY-SECRET-123';
const CANARY_HMAC = 'CANARY-HMAC-456';
const CANARY_TOKEN = 'CANARY-TOKEN-789';
const CANARY_PD = 'CANARY-PDKEY-0123456789abcdef0123';

interface Body {
  alerts: { fingerprint: string; status: string; ruleId: string }[];
}

/**
 * `healwatch run` with --data and a webhook receiver whose URL path, HMAC key and an Authorization header
 * are canary secrets: killed with SIGKILL while the receiver holds the page unanswered, restarted (the
 * page is sent again once, with the same idempotency key), restarted cleanly (nothing sent again), and
 * the canaries appear in no log line, API answer or stored byte.
 */
test('restart: kill -9 between send and acknowledge gives at most one duplicate, a clean restart none, and secrets leak nowhere', async (t) => {
  const sim = await startSimulator({ seed: 'notify-restart', clock: 'manual', port: 0 });
  const receiver = await startCaptureServer();
  const pagerduty = await startCaptureServer({ status: 202, body: '{"status":"success"}' });
  const dir = mkdtempSync(join(tmpdir(), 'hw-notify-'));
  t.after(async () => {
    await receiver.close();
    await pagerduty.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // The scheduler has been down for 3 minutes when Healwatch starts: control-plane fires on the first
  // evaluation (for: 0s), so the page goes out at once.
  sim.faults.start({ name: 'scheduler-down' });
  sim.advance(180_000);
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, sim.kubeconfig());
  const config = join(dir, 'healwatch.yaml');
  writeFileSync(
    config,
    [
      'clusterName: restart-test',
      'rules:',
      '  control-plane:',
      '    for: 0s',
      'notifications:',
      '  receivers:',
      '    - name: oncall',
      '      type: webhook',
      `      url: ${receiver.url}/hook/${CANARY_PATH}`,
      '      hmacSecret: { env: HW_TEST_HMAC }',
      '      headers:',
      '        Authorization: { file: ' + join(dir, 'token') + ' }',
      '    - name: pd',
      '      type: pagerduty',
      `      url: ${pagerduty.url}/v2/enqueue`,
      '      routingKey: { env: HW_TEST_PD_KEY }',
      '  routes:',
      '    - receivers: [oncall, pd]',
      '      levels: [alert]',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'token'), `Bearer ${CANARY_TOKEN}\n`);
  const data = join(dir, 'data');
  const env = { HW_TEST_HMAC: CANARY_HMAC, HW_TEST_PD_KEY: CANARY_PD };
  const args = [
    'run',
    '--kubeconfig',
    kubeconfig,
    '--config',
    config,
    '--data',
    data,
    '--listen',
    '127.0.0.1:0',
  ];
  const logs: string[] = [];

  // 1. The receiver takes the page and never answers; Healwatch is killed meanwhile.
  receiver.script({ status: 0, hang: true });
  const first = spawnCli(t, args, env);
  const [page] = await receiver.waitFor(1, 60_000);
  first.kill('SIGKILL');
  await first.exited;
  logs.push(first.stderr());
  const body = page!.json as Body;
  const pages = body.alerts.filter((a) => a.ruleId === 'control-plane');
  assert.equal(pages.length, 1, `the page: ${JSON.stringify(body.alerts.map((a) => a.ruleId))}`);
  assert.equal(pages[0]!.status, 'firing');
  assert.equal(page!.path, `/hook/${CANARY_PATH}`);
  assert.equal(page!.headers.authorization, `Bearer ${CANARY_TOKEN}`);

  // 2. Restarted: the unacknowledged page is sent again, once, as the same message.
  const second = spawnCli(t, args, env);
  const requests = await receiver.waitFor(2, 60_000);
  assert.equal(requests[1]!.headers['idempotency-key'], page!.headers['idempotency-key']);
  assert.deepEqual((requests[1]!.json as Body).alerts, body.alerts);
  await second.waitFor(/notify oncall \(webhook\): sent/);
  await second.waitFor(/running: /);
  const [, url] = await second.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
  const receivers = (await (await fetch(`${url}/api/v1/receivers`)).json()) as {
    receivers: { name: string; sent: number; queued: number; state: string }[];
  };
  assert.deepEqual(
    receivers.receivers.map((r) => [r.name, r.state, r.sent, r.queued]),
    [
      ['oncall', 'ok', 1, 0],
      ['pd', 'ok', 1, 0],
    ],
  );
  second.kill('SIGTERM');
  assert.equal(await second.exited, 0);
  logs.push(second.stderr());

  // 3. A clean restart: the alert is still firing and nobody is paged again.
  const third = spawnCli(t, args, env);
  const [, url3] = await third.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
  await third.waitFor(/running: /);
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(receiver.requests.length, 2, 'no page after a clean restart');
  // PagerDuty: one trigger per run that had not seen its acknowledgement, all with one dedup key, so
  // PagerDuty keeps a single incident whatever the restarts.
  const events = pagerduty.requests.map(
    (r) => r.json as { event_action: string; dedup_key: string; routing_key: string },
  );
  assert.ok(events.length >= 1 && events.length <= 2, `${events.length} PagerDuty events`);
  assert.deepEqual(new Set(events.map((e) => e.event_action)), new Set(['trigger']));
  assert.equal(new Set(events.map((e) => e.dedup_key)).size, 1);
  assert.match(events[0]!.dedup_key, /control-plane\|Component\/kube-scheduler/);
  assert.equal(events[0]!.routing_key, CANARY_PD);
  const answers: string[] = [];
  for (const path of [
    '/api/v1/receivers',
    '/api/v1/alerts',
    '/api/v1/findings',
    '/api/v1/health',
    '/api/v1/history',
    '/api/v1/silences',
    '/metrics',
  ]) {
    const res = await fetch(`${url3}${path}`);
    assert.equal(res.status, 200, path);
    answers.push(await res.text());
  }
  assert.match(answers.join('\n'), /oncall/);
  third.kill('SIGTERM');
  assert.equal(await third.exited, 0);
  logs.push(third.stderr());

  // Secrets: not in any log line, API answer, stored row or byte of the data directory.
  const db = new Database(join(data, 'healwatch.db'), { readonly: true });
  const tables = (
    db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as { name: string }[]
  ).map((r) => r.name);
  const rows = tables.map((name) => JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all()));
  db.close();
  assert.ok(rows.join('').includes('control-plane'), 'the store holds the alert');
  const files = readdirSync(data).map((f) => readFileSync(join(data, f)).toString('latin1'));
  for (const canary of [CANARY_PATH, CANARY_HMAC, CANARY_TOKEN, CANARY_PD]) {
    for (const [what, text] of [
      ['logs', logs.join('\n')],
      ['API answers', answers.join('\n')],
      ['stored rows', rows.join('\n')],
      ['data files', files.join('\n')],
    ] as const)
      assert.ok(!text.includes(canary), `${canary} appears in ${what}`);
  }
  assert.match(logs.join('\n'), /notifications: oncall \(webhook\), pd \(pagerduty\)/);
});
