/**
 * The fault control endpoint (`/sim/v1/...`), as the CLI uses it: clear 400s for unknown faults and bad
 * targets, timed faults, stopping, and `heal`, which ends every fault and lets the cluster recover.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Simulator } from '../../src/sim/index.js';
import {
  condition,
  deploymentPods,
  findPod,
  getJson,
  getNode,
  isPodReady,
  listPods,
  request,
  startTestSim,
  waitFor,
} from '../helpers/sim.js';
import type { CoreEvent } from '../../src/sim/model.js';
import { defaultVersion } from '../../src/sim/scenario/builtin.js';

/** What the demo's /version reports today. */
const DEMO_VERSION = defaultVersion('kubeadm');

const CATALOG = [
  'scheduler-down',
  'controller-manager-down',
  'apiserver-unready',
  'addon-crash',
  'node-notready',
  'disk-fill',
  'pvc-fill',
  'log-agent-errors',
  'oom',
  'crashloop',
  'bad-image',
  'restart-spike',
  'skew',
  'capacity-exhausted',
  'autoscaler-down',
  'cronjob-fail',
  'rollout',
  'rollout-stuck',
  'version',
  'cert-expiry',
  'deprecated-api',
  'api-down',
  'api-slow',
  'api-429',
  'watch-compact',
  'watch-stall',
  'watch-garbage',
  'heal',
];

interface ActiveFault {
  id: number;
  name: string;
  target?: string;
  startedAt: number;
  endsAt?: number;
}

async function post(
  sim: Simulator,
  path: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await request<Record<string, unknown>>(sim, 'POST', path, body);
  return { status: answer.status, body: answer.body };
}

async function active(sim: Simulator): Promise<ActiveFault[]> {
  return (await getJson<{ active: ActiveFault[] }>(sim, '/sim/v1/faults')).active;
}

test('POST /sim/v1/faults answers 400 with a message naming what exists', async (t) => {
  const sim = await startTestSim(t);
  const catalog = await getJson<{ catalog: { name: string; usage: string; summary: string }[] }>(
    sim,
    '/sim/v1/faults',
  );
  assert.deepEqual(
    catalog.catalog.map((f) => f.name),
    CATALOG,
  );
  for (const f of catalog.catalog) assert.ok(f.usage.startsWith(f.name) && f.summary.length > 0, f.name);

  const cases: [unknown, string | RegExp][] = [
    [{ name: 'nope' }, `unknown fault "nope"; faults: ${CATALOG.join(', ')}`],
    [{}, '"name" must be a non-empty string'],
    [{ name: 'crashloop' }, 'fault "crashloop" needs a target: crashloop NAMESPACE/DEPLOYMENT'],
    [
      { name: 'scheduler-down', target: 'x' },
      'fault "scheduler-down" takes no target (usage: scheduler-down)',
    ],
    [
      { name: 'crashloop', target: 'cart' },
      'target "cart" must be NAMESPACE/NAME (usage: crashloop NAMESPACE/DEPLOYMENT)',
    ],
    [
      { name: 'crashloop', target: 'shop/nope' },
      /^deployment "shop\/nope" not found; deployments: cert-manager\/cert-manager, .*payments\/api, payments\/worker, shop\/cart, shop\/checkout, shop\/frontend$/,
    ],
    [
      { name: 'oom', target: 'logging/fluent-bit' },
      /^deployment "logging\/fluent-bit" not found; deployments: /,
    ],
    [
      { name: 'node-notready', target: 'sim-worker9' },
      /^node "sim-worker9" not found; nodes: sim-control-plane, sim-worker, /,
    ],
    [{ name: 'skew', target: 'shop/cart', args: ['sim-worker9'] }, /^node "sim-worker9" not found; nodes: /],
    [
      { name: 'disk-fill', target: 'sim-worker', args: ['0'] },
      'PERCENT must be a number in (0, 100], got "0"',
    ],
    [{ name: 'api-slow', target: '-5' }, 'MS must be a non-negative number, got "-5"'],
    [{ name: 'api-429', duration: 'soon' }, 'invalid duration "soon" (use e.g. 30s, 5m, 1h30m, 2d)'],
    [{ name: 'crashloop', target: 'shop/cart', args: 'x' }, '"args" must be an array of strings'],
  ];
  for (const [body, message] of cases) {
    const answer = await post(sim, '/sim/v1/faults', body);
    assert.equal(answer.status, 400, JSON.stringify(body));
    if (typeof message === 'string') assert.equal(answer.body.error, message);
    else assert.match(String(answer.body.error), message);
  }
  assert.deepEqual(await active(sim), [], 'nothing started');

  const stop = await post(sim, '/sim/v1/faults/stop', { name: 'crashloop' });
  assert.equal(stop.status, 404);
  assert.equal(stop.body.error, 'no active fault "crashloop"; active: none');
  const del = await request(sim, 'DELETE', '/sim/v1/faults/99');
  assert.equal(del.status, 404);
});

test('a fault with a duration ends by itself in simulated time; DELETE stops one fault', async (t) => {
  const sim = await startTestSim(t);
  const started = await post(sim, '/sim/v1/faults', { name: 'api-429', duration: '2m' });
  assert.equal(started.status, 201);
  const fault = started.body as unknown as ActiveFault;
  assert.equal(fault.endsAt, fault.startedAt + 120_000);
  assert.equal((await request(sim, 'GET', '/api/v1/pods')).status, 429);
  sim.advance(119_000);
  assert.equal((await request(sim, 'GET', '/api/v1/pods')).status, 429);
  sim.advance(1000);
  assert.equal((await request(sim, 'GET', '/api/v1/pods')).status, 200);
  assert.deepEqual(await active(sim), []);

  const version = (await post(sim, '/sim/v1/faults', { name: 'version', target: 'v1.28.15' }))
    .body as unknown as ActiveFault;
  assert.equal((await getJson<{ gitVersion: string }>(sim, '/version')).gitVersion, 'v1.28.15');
  const deleted = await request(sim, 'DELETE', `/sim/v1/faults/${version.id}`);
  assert.equal(deleted.status, 200);
  assert.equal((await getJson<{ gitVersion: string }>(sim, '/version')).gitVersion, DEMO_VERSION);
});

test('heal: ends every active fault and the cluster heals itself', async (t) => {
  const sim = await startTestSim(t);
  const faults: Record<string, unknown>[] = [
    { name: 'scheduler-down' },
    { name: 'crashloop', target: 'shop/cart' },
    { name: 'node-notready', target: 'sim-worker3' },
    { name: 'disk-fill', target: 'sim-worker4', args: ['95'] },
    { name: 'version', target: 'v1.29.4' },
    { name: 'apiserver-unready' },
  ];
  for (const f of faults) assert.equal((await post(sim, '/sim/v1/faults', f)).status, 201, JSON.stringify(f));
  sim.advance(120_000);
  assert.equal(condition((await getNode(sim, 'sim-worker3')).status.conditions, 'Ready')?.status, 'Unknown');
  assert.equal(
    condition((await getNode(sim, 'sim-worker4')).status.conditions, 'DiskPressure')?.status,
    'True',
  );
  assert.equal((await post(sim, '/sim/v1/faults', { name: 'api-429' })).status, 201);
  assert.equal((await active(sim)).length, faults.length + 1);
  assert.equal((await request(sim, 'GET', '/api/v1/pods')).status, 429);

  const healed = await post(sim, '/sim/v1/heal', {});
  assert.equal(healed.status, 200);
  assert.deepEqual(healed.body, { healed: true });
  assert.deepEqual(await active(sim), []);
  assert.equal((await request(sim, 'GET', '/api/v1/pods')).status, 200);
  assert.equal((await getJson<{ gitVersion: string }>(sim, '/version')).gitVersion, DEMO_VERSION);
  assert.equal((await request(sim, 'GET', '/readyz')).status, 200);
  await waitFor(
    sim,
    'the cluster healthy again',
    async () => {
      const scheduler = await findPod(sim, 'kube-system', 'kube-scheduler-sim-control-plane');
      const cart = await deploymentPods(sim, 'shop', 'cart');
      const lost = await getNode(sim, 'sim-worker3');
      const full = await getNode(sim, 'sim-worker4');
      return (
        scheduler !== undefined &&
        isPodReady(scheduler) &&
        cart.length === 2 &&
        cart.every(isPodReady) &&
        condition(lost.status.conditions, 'Ready')?.status === 'True' &&
        condition(full.status.conditions, 'DiskPressure')?.status === 'False' &&
        (lost.spec.taints ?? []).length === 0 &&
        (full.spec.taints ?? []).length === 0
      );
    },
    { maxSteps: 60 },
  );

  // `heal` is also a fault name, for the CLI's `fault heal` and scenario files.
  assert.equal((await post(sim, '/sim/v1/faults', { name: 'api-slow', target: '10' })).status, 201);
  const viaName = await post(sim, '/sim/v1/faults', { name: 'heal' });
  assert.equal(viaName.status, 201);
  assert.equal(viaName.body.name, 'heal');
  assert.deepEqual(await active(sim), []);
});

test('--since backdates a crash loop: restart counts, back-off and event counts as if it had run that long', async (t) => {
  const sim = await startTestSim(t);
  sim.faults.start({ name: 'crashloop', target: 'shop/cart', since: '30m' });
  const pods = await listPods(sim, 'shop', 'app=cart');
  assert.equal(pods.length, 2);
  for (const pod of pods) {
    const c = pod.status.containerStatuses![0]!;
    // 10 s runs with back-off 1 s, 10 s, 20 s ... 300 s: about 12 restarts fit in 30 minutes.
    assert.ok(c.restartCount >= 9 && c.restartCount <= 14, `restarts ${c.restartCount}`);
    assert.equal(c.lastState.terminated?.exitCode, 1);
    assert.ok(
      c.state.waiting?.reason === 'CrashLoopBackOff' || c.state.running || c.state.terminated,
      JSON.stringify(c.state),
    );
  }
  const events = (
    await request<{ items: CoreEvent[] }>(
      sim,
      'GET',
      `/api/v1/namespaces/shop/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${pods[0]!.metadata.name},reason=BackOff`)}`,
    )
  ).body.items;
  assert.equal(events.length, 1);
  const backOff = events[0]!;
  assert.ok(backOff.count >= 8, `BackOff count ${backOff.count}`);
  const spanMs = Date.parse(backOff.lastTimestamp!) - Date.parse(backOff.firstTimestamp!);
  assert.ok(spanMs > 20 * 60_000, `BackOff events span ${spanMs} ms`);
  // It goes on from there: the next restart comes after the remaining back-off.
  const before = pods[0]!.status.containerStatuses![0]!.restartCount;
  sim.advance(6 * 60_000);
  const after = (await listPods(sim, 'shop', 'app=cart')).find(
    (p) => p.metadata.name === pods[0]!.metadata.name,
  )!;
  assert.ok(after.status.containerStatuses![0]!.restartCount > before);
  const refused = await request<{ error: string }>(sim, 'POST', '/sim/v1/faults', {
    name: 'node-notready',
    target: 'sim-worker',
    since: '5m',
  });
  assert.equal(refused.status, 400);
  assert.match(refused.body.error, /cannot start in the past; --since works with .*crashloop/);
});
