import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertTracker } from '../src/alerts/tracker.js';
import { inhibit } from '../src/alerts/inhibit.js';
import type { Finding, Level } from '../src/domain/index.js';

const finding = (
  ruleId: string,
  name: string,
  level: Level = 'notice',
  extra: Partial<Finding> = {},
): Finding => ({
  ruleId,
  level,
  object: { kind: 'Deployment', namespace: 'shop', name },
  title: `${name} broken`,
  loop: 'loop',
  message: 'message',
  evidence: [],
  nextSteps: [],
  facts: {},
  ...extra,
});

test("pending for the rule's for, then firing; counted from the object's own since", () => {
  const tracker = new AlertTracker({ forMs: () => 120_000, resolveAfterMs: 0 });
  assert.deepEqual(tracker.update([finding('crashloop', 'cart')], 0), []);
  assert.equal(tracker.active()[0]!.state, 'pending');
  assert.deepEqual(tracker.update([finding('crashloop', 'cart')], 119_000), []);
  const fired = tracker.update([finding('crashloop', 'cart')], 120_000);
  assert.deepEqual(
    fired.map((t) => t.type),
    ['firing'],
  );
  // A problem the objects say began long ago fires at its first sighting.
  const old = tracker.update(
    [finding('crashloop', 'cart'), finding('crashloop', 'api', 'notice', { since: -600_000 })],
    130_000,
  );
  assert.deepEqual(
    old.map((t) => `${t.type}:${t.alert.finding.object.name}`),
    ['firing:api'],
  );
});

test('a level change is the same alert escalating, not a second alert', () => {
  const tracker = new AlertTracker({ forMs: () => 0, resolveAfterMs: 0 });
  tracker.update([finding('certificate-expiry', 'x', 'notice')], 0);
  const t = tracker.update([finding('certificate-expiry', 'x', 'alert')], 60_000);
  assert.deepEqual(
    t.map((x) => `${x.type}:${x.previousLevel}->${x.alert.level}`),
    ['escalated:notice->alert'],
  );
  assert.equal(tracker.active().length, 1);
  assert.deepEqual(
    tracker.active()[0]!.levelHistory.map((h) => h.level),
    ['notice', 'alert'],
  );
});

test('resolution waits for a quiet period, longer for a flapping alert; a pending alert that vanishes just goes', () => {
  const tracker = new AlertTracker({ forMs: () => 0, resolveAfterMs: 60_000, maxFlapFactor: 8 });
  tracker.update([finding('r', 'a')], 0);
  assert.deepEqual(tracker.update([], 30_000), [], 'not resolved within the quiet period');
  assert.deepEqual(
    tracker.update([finding('r', 'a')], 45_000),
    [],
    'back within the quiet period: still the same firing alert',
  );
  assert.deepEqual(tracker.update([], 60_000), []);
  assert.deepEqual(
    tracker.update([], 120_000).map((t) => t.type),
    ['resolved'],
  );
  // It comes back within an hour: a flap; now it needs twice the quiet period.
  assert.deepEqual(
    tracker.update([finding('r', 'a')], 130_000).map((t) => t.type),
    ['firing'],
  );
  assert.equal(tracker.active()[0]!.flaps, 1);
  assert.deepEqual(tracker.update([], 140_000), []);
  assert.deepEqual(tracker.update([], 200_000), [], 'one quiet period is not enough after a flap');
  assert.deepEqual(
    tracker.update([], 260_000).map((t) => t.type),
    ['resolved'],
  );
  const slow = new AlertTracker({ forMs: () => 600_000, resolveAfterMs: 0 });
  slow.update([finding('r', 'b')], 0);
  assert.deepEqual(slow.update([], 1000), [], 'a pending alert resolves silently');
  assert.equal(slow.active().length, 0);
});

test('inhibition: a NotReady node mutes the pod findings on it; a stopped scheduler mutes Pending pods; blindness mutes what it cannot judge', () => {
  const nodeDown = {
    ...finding('node-not-ready', 'sim-worker2'),
    object: { kind: 'Node', name: 'sim-worker2' },
  };
  const onNode = finding('crashloop', 'cart', 'notice', { facts: { node: 'sim-worker2' } });
  const elsewhere = finding('crashloop', 'api', 'notice', { facts: { node: 'sim-worker3' } });
  let r = inhibit([nodeDown, onNode, elsewhere], { inputsOf: () => [] });
  assert.deepEqual(
    r.active.map((f) => f.object.name),
    ['sim-worker2', 'api'],
  );
  assert.equal(r.muted[0]!.reason, 'node sim-worker2 is not ready');
  const scheduler = {
    ...finding('control-plane', 'kube-scheduler', 'alert'),
    facts: { component: 'kube-scheduler' },
  };
  const pending = finding('pods-unschedulable', 'web');
  const blocked = finding('deployment-replicas', 'web', 'alert', {
    facts: { verdict: 'blocked-by-scheduling' },
  });
  const image = finding('deployment-replicas', 'img', 'alert', { facts: { verdict: 'blocked-by-image' } });
  const dnsWaiting = finding('component-unavailable', 'coredns', 'alert', {
    facts: { cause: 'unscheduled' },
  });
  const dnsCrashing = finding('component-unavailable', 'metrics-server', 'alert', { facts: {} });
  r = inhibit([scheduler, pending, blocked, image, dnsWaiting, dnsCrashing], { inputsOf: () => [] });
  assert.deepEqual(
    r.active.map((f) => f.object.name),
    ['kube-scheduler', 'img', 'metrics-server'],
  );
  const blind = { ...finding('monitor-blind', 'healwatch', 'alert'), facts: { kinds: 'Pod,Event' } };
  r = inhibit([blind, onNode, finding('node-filesystem', 'n')], {
    inputsOf: (id) => (id === 'crashloop' ? ['Pod'] : ['Node']),
  });
  assert.deepEqual(
    r.active.map((f) => f.ruleId),
    ['monitor-blind', 'node-filesystem'],
  );
});

test("inhibition: a workload's availability verdict mutes the pod symptoms of that workload only", () => {
  const verdict = finding('deployment-replicas', 'cart', 'alert', { facts: { verdict: 'replicas-lost' } });
  const symptoms = ['crashloop', 'oom-killed', 'image-pull', 'restart-spike'].map((id) =>
    finding(id, 'cart'),
  );
  const other = finding('crashloop', 'api');
  const skew = finding('placement-skew', 'cart');
  const r = inhibit([...symptoms, verdict, other, skew], { inputsOf: () => [] });
  assert.deepEqual(
    r.active.map((f) => `${f.ruleId}:${f.object.name}`),
    ['deployment-replicas:cart', 'crashloop:api', 'placement-skew:cart'],
  );
  assert.equal(r.muted.length, 4);
  assert.ok(r.muted.every((m) => m.by === 'deployment-replicas|Deployment/shop/cart'));
  assert.match(r.muted[0]!.reason, /deployment-replicas reports Deployment\/shop\/cart as a whole/);
});

test('inhibition: stuck capacity mutes the workloads it blocks; a stopped controller manager the lost replicas', () => {
  const capacity = finding('capacity-stuck', 'capacity', 'alert');
  const blocked = finding('deployment-replicas', 'train', 'alert', {
    facts: { verdict: 'blocked-by-scheduling' },
  });
  const pending = finding('pods-unschedulable', 'train');
  const crashing = finding('deployment-replicas', 'cart', 'alert', {
    facts: { verdict: 'new-revision-crash-looping' },
  });
  let r = inhibit([capacity, blocked, pending, crashing], { inputsOf: () => [] });
  assert.deepEqual(
    r.active.map((f) => `${f.ruleId}:${f.object.name}`),
    ['capacity-stuck:capacity', 'deployment-replicas:cart'],
  );
  const kcm = {
    ...finding('control-plane', 'kcm', 'alert'),
    facts: { component: 'kube-controller-manager' },
  };
  const lost = finding('statefulset-replicas', 'db', 'alert', { facts: { verdict: 'replicas-lost' } });
  r = inhibit([kcm, lost, crashing], { inputsOf: () => [] });
  assert.deepEqual(
    r.active.map((f) => `${f.ruleId}:${f.object.name}`),
    ['control-plane:kcm', 'deployment-replicas:cart'],
  );
});

test('inhibition: a control-plane component found down mutes the symptoms of its static pods', () => {
  const scheduler = {
    ...finding('control-plane', 'kube-scheduler', 'alert'),
    facts: { component: 'kube-scheduler' },
  };
  const pod = (ruleId: string, name: string): Finding => ({
    ...finding(ruleId, name),
    object: { kind: 'Pod', namespace: 'kube-system', name },
  });
  const r = inhibit(
    [scheduler, pod('crashloop', 'kube-scheduler-cp-1'), pod('crashloop', 'kube-controller-manager-cp-1')],
    { inputsOf: () => [] },
  );
  assert.deepEqual(
    r.active.map((f) => f.object.name),
    ['kube-scheduler', 'kube-controller-manager-cp-1'],
  );
  assert.equal(r.muted[0]!.reason, 'kube-scheduler is reported as down');
});

test('inhibition: a restart spike within 15 minutes after its workload verdict resolved is that failure’s echo', () => {
  const spike = finding('restart-spike', 'cart');
  const elsewhere = finding('restart-spike', 'api');
  const crash = finding('crashloop', 'cart');
  const r = inhibit([spike, elsewhere, crash], {
    inputsOf: () => [],
    recentVerdicts: new Map([['Deployment/shop/cart', 'deployment-replicas|Deployment/shop/cart']]),
  });
  // Only the spike is muted: a crash loop that comes back is a current symptom and shows.
  assert.deepEqual(
    r.active.map((f) => `${f.ruleId}:${f.object.name}`),
    ['restart-spike:api', 'crashloop:cart'],
  );
  assert.equal(r.muted[0]!.by, 'deployment-replicas|Deployment/shop/cart');
  assert.match(r.muted[0]!.reason, /reported and resolved in the last 15 minutes/);
});
