/**
 * Event → notification latency: the time from a change in the cluster (a node turning NotReady, written
 * by the simulator) to the receiver holding the HTTP request, through the real path: watch, the 1-second
 * debounce, rule evaluation, the alert tracker, the outbox write in the evaluation's transaction, the
 * delivery loop and a webhook POST to a local receiver. The rule's own `for` is set to 0 (the issue asks
 * for the latency without it); resolved messages are measured the same way with the resolve damping at 0.
 * Prints p50/p90/p99/max; asserts nothing.
 *
 * Usage: node --import tsx bench/notify.ts [--rounds 30]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Service } from '../src/app/service.js';
import { Connection } from '../src/cluster/index.js';
import { parseConfig } from '../src/config/index.js';
import { Notifications } from '../src/notify/index.js';
import { startSimulator } from '../src/sim/index.js';
import { Store } from '../src/store/index.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '30' } } });
const ROUNDS = Number(values.rounds);

interface Arrival {
  at: number;
  body: { alerts: { ruleId: string; status: string; object: { name: string } }[] };
}
const arrivals: Arrival[] = [];
const waiters: (() => void)[] = [];
const receiver = createServer((req, res) => {
  let text = '';
  req.on('data', (d: Buffer) => (text += d.toString()));
  req.on('end', () => {
    arrivals.push({ at: performance.now(), body: JSON.parse(text) as Arrival['body'] });
    res.end('ok');
    for (const w of waiters.splice(0)) w();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

const sim = await startSimulator({
  seed: 'bench-notify',
  clock: 'manual',
  port: 0,
  bookmarkIntervalMs: 1000,
});
const dir = mkdtempSync(join(tmpdir(), 'hw-bench-notify-'));
const store = Store.open(join(dir, 'healwatch.db'));
const config = parseConfig(
  [
    'rules:',
    '  node-not-ready: { level: alert, for: 0s }',
    'notifications:',
    '  receivers:',
    `    - { name: hook, type: webhook, url: "${url}" }`,
    '  routes:',
    '    - { receivers: [hook], levels: [alert] }',
    '',
  ].join('\n'),
  'bench',
);
const notifications = new Notifications({
  store,
  config: config.notifications,
  clusterName: 'bench',
  now: () => sim.cluster.world.now(),
  isReady: () => true,
});
const service = new Service({
  connection: Connection.fromString(sim.kubeconfig()),
  config,
  store,
  notifications,
  now: () => sim.cluster.world.now(),
  resolveAfterMs: 0,
  // Probes every second keep the measured server-clock offset current while the manual clock jumps.
  probeIntervalMs: 1000,
});
notifications.start();
await service.start();

/** Waits for an arrival matching `match` after index `from`; returns its time. */
async function arrival(from: number, match: (a: Arrival) => boolean, timeoutMs = 30_000): Promise<number> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const hit = arrivals.slice(from).find(match);
    if (hit) return hit.at;
    if (performance.now() > end) throw new Error('no notification within 30 s');
    await new Promise<void>((r) => {
      waiters.push(r);
      setTimeout(r, 200);
    });
  }
}

const workers = ['sim-worker', 'sim-worker2', 'sim-worker3', 'sim-worker4'];
const fired: number[] = [];
const resolvedMs: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const node = workers[i % workers.length]!;
  const is = (status: string) => (a: Arrival) =>
    a.body.alerts.some((x) => x.ruleId === 'node-not-ready' && x.status === status && x.object.name === node);
  let from = arrivals.length;
  sim.faults.start({ name: 'node-notready', target: node });
  sim.advance(60_000); // the node controller marks it NotReady after its 40 s grace
  let t0 = performance.now();
  fired.push((await arrival(from, is('firing'))) - t0);
  from = arrivals.length;
  sim.faults.heal();
  sim.advance(15_000); // the kubelet posts Ready again
  t0 = performance.now();
  resolvedMs.push((await arrival(from, is('resolved'))) - t0);
  await new Promise((r) => setTimeout(r, 300));
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const row = (name: string, xs: number[]): string =>
  `${name.padEnd(10)} ${String(xs.length).padStart(6)} ${[50, 90, 99, 100].map((p) => `${(pct(xs, p) / 1000).toFixed(2)} s`.padStart(9)).join(' ')}`;
console.log('\nEvent → notification latency (node NotReady → webhook POST; rule for: 0, debounce 1 s)');
console.log(
  `${'message'.padEnd(10)} ${'rounds'.padStart(6)} ${['p50', 'p90', 'p99', 'max'].map((h) => h.padStart(9)).join(' ')}`,
);
console.log(row('firing', fired));
console.log(row('resolved', resolvedMs));

await notifications.stop();
await service.stop();
store.close();
await sim.close();
receiver.close();
rmSync(dir, { recursive: true, force: true });
