import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText, type Finding } from '../../src/domain/index.js';
import { workerSpec } from '../../src/sim/scenario/builtin.js';
import { startJudged, type Judged } from '../helpers/judge.js';

const RULE = 'component-unavailable';

function ours(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.ruleId === RULE);
}

/** Every finding of the add-on rules, pending or firing, muted or not, now. */
async function seen(j: Judged): Promise<Finding[]> {
  const { findings, muted } = await j.evaluate();
  return [...findings, ...muted].filter((f) => f.ruleId === RULE || f.ruleId === 'log-agent');
}

/** Advances `ms` in 30 s steps and collects every add-on finding seen on the way (empty: quiet). */
async function watch(j: Judged, ms: number): Promise<string[]> {
  const out = new Set<string>();
  for (let done = 0; done < ms; done += 30_000) {
    j.sim.advance(30_000);
    for (const f of await seen(j)) out.add(`${f.ruleId} ${refText(f.object)}: ${f.title}`);
  }
  return [...out];
}

test('component-unavailable: addon-crash on kube-system/coredns pages once for the Deployment, explains DNS, resolves after heal', async (t) => {
  const j = await startJudged(t);
  assert.deepEqual(ours((await j.evaluate()).findings), [], 'nothing on the healthy demo');
  j.sim.faults.start({ name: 'addon-crash', target: 'kube-system/coredns' });
  await j.advance(90_000);
  assert.deepEqual(ours(j.firing()), [], 'pending, not firing, before its 2m');
  await j.advance(90_000);
  const firing = ours(j.firing());
  assert.deepEqual(
    firing.map((f) => `${refText(f.object)}:${f.level}`),
    ['Deployment/kube-system/coredns:alert'],
  );
  const f = firing[0]!;
  assert.equal(f.facts.component, 'coredns');
  assert.equal(f.facts.desired, 2);
  assert.equal(f.facts.available, 0);
  assert.match(f.title, /0 of 2 replicas available/);
  assert.match(f.message, /DNS lookups fail/);
  assert.match(f.loop, /services cannot find each other/);
  assert.ok(f.evidence.some((e) => e.type === 'restarts' && /Error, exit code 1/.test(e.text)));
  assert.ok(f.evidence.some((e) => e.type === 'event' && /BackOff/.test(e.text)));
  assert.ok(f.evidence.some((e) => e.type === 'condition' && /Available=False/.test(e.text)));
  assert.ok(
    f.nextSteps.some((s) => /^kubectl logs -n kube-system coredns-\S+ -c coredns --previous$/.test(s)),
  );
  j.sim.faults.heal();
  await j.advance(2 * 60_000);
  assert.deepEqual(ours(j.firing()), [], 'resolved after heal');
});

test('component-unavailable: addon-crash on the kube-proxy DaemonSet is judged against the eligible nodes', async (t) => {
  const j = await startJudged(t);
  const nodes = j.watcher.view.list('Node').length;
  j.sim.faults.start({ name: 'addon-crash', target: 'kube-system/kube-proxy' });
  await j.advance(4 * 60_000);
  const firing = ours(j.firing());
  assert.deepEqual(
    firing.map((f) => `${refText(f.object)}:${f.level}`),
    ['DaemonSet/kube-system/kube-proxy:alert'],
  );
  const f = firing[0]!;
  // kube-proxy tolerates every taint, so it should run on every node, the control plane included.
  assert.equal(f.facts.desired, nodes);
  assert.equal(f.facts.available, 0);
  assert.equal(f.facts.component, 'kube-proxy');
  assert.match(f.message, /traffic to Services is not routed/);
  j.sim.faults.heal();
  await j.advance(2 * 60_000);
  assert.deepEqual(ours(j.firing()), [], 'resolved after heal');
});

test('component-unavailable: the log agent crash-looping is left to log-agent', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'addon-crash', target: 'logging/fluent-bit' });
  await j.advance(4 * 60_000);
  assert.deepEqual(ours((await j.evaluate()).findings), []);
});

test('component-unavailable: healthy rollouts of kube-system and add-on Deployments stay quiet', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'rollout', target: 'kube-system/coredns' });
  j.sim.faults.start({ name: 'rollout', target: 'ingress-nginx/ingress-nginx-controller' });
  j.sim.faults.start({ name: 'rollout', target: 'kube-system/metrics-server' });
  assert.deepEqual(await watch(j, 5 * 60_000), []);
  const coredns = j.watcher.view.get('Deployment', 'kube-system', 'coredns')!;
  assert.match(coredns.images[0]!, /:v1\.11\.4$/, 'the rollout happened');
  assert.equal(coredns.updatedReplicas, 2, 'and completed');
  assert.equal(coredns.availableReplicas, 2);
});

test('component-unavailable: a node added by the autoscaler, and a node going NotReady, page nothing', async (t) => {
  const j = await startJudged(t);
  const view = j.watcher.view;
  const world = j.sim.cluster.world;
  j.sim.cluster.addNode(workerSpec('kubeadm', 7, world.now(), 'judged'));
  assert.deepEqual(await watch(j, 8 * 60_000), [], 'new node: quiet while it starts its daemon pods');
  // The new node runs only daemon pods by now: when it goes NotReady, they are the node's story.
  const victim = 'sim-worker8';
  assert.ok(view.get('Node', undefined, victim), 'the added node is in the view');
  assert.ok(
    view
      .podsOnNode(victim)
      .some((p) => p.owner?.kind === 'DaemonSet' && p.conditions.Ready?.status === 'True'),
    'the added node runs ready daemon pods',
  );
  j.sim.faults.start({ name: 'node-notready', target: victim });
  assert.deepEqual(await watch(j, 10 * 60_000), [], `node ${victim} NotReady: quiet`);
  assert.notEqual(view.get('Node', undefined, victim)?.conditions.Ready?.status, 'True', 'it is NotReady');
});

for (const scenario of ['eks', 'gke', 'aks']) {
  test(`component-unavailable: the healthy ${scenario} scenario (provider-managed parts, no kube-proxy on gke) is quiet`, async (t) => {
    const j = await startJudged(t, { sim: { scenario } });
    assert.deepEqual(await watch(j, 3 * 60_000), []);
  });
}

test('component-unavailable: replicas waiting for a node while the scheduler is down are muted by the scheduler Alert', async (t) => {
  const j = await startJudged(t);
  const dnsNode = j.watcher.view
    .list('Pod', 'kube-system')
    .find((p) => p.name.startsWith('coredns-') && p.nodeName !== undefined)?.nodeName;
  assert.ok(dnsNode, 'a coredns pod runs on a node');
  j.sim.faults.start({ name: 'scheduler-down' });
  j.sim.faults.start({ name: 'node-notready', target: dnsNode });
  // NotReady after the 50 s grace, evicted 300 s later; the replacement waits for a scheduler, and
  // counts as starting for the rule's 5-minute grace before it is reported.
  await j.advance(15 * 60_000);
  const { findings, muted } = await j.evaluate();
  const coredns = muted.find((f) => f.ruleId === RULE && f.object.name === 'coredns');
  assert.ok(
    coredns,
    `coredns is reported and muted; active: ${ours(findings)
      .map((f) => f.title)
      .join(' | ')}`,
  );
  assert.equal(coredns.facts.cause, 'unscheduled');
  assert.ok(!ours(j.firing()).some((f) => f.object.name === 'coredns'), 'no second page for coredns');
  assert.ok(j.firing().some((f) => f.ruleId === 'control-plane' && f.facts.component === 'kube-scheduler'));
});
