import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterView, COLLECTORS, type AnyRecord } from '../../src/cluster/index.js';
import { refText, type Finding } from '../../src/domain/index.js';
import { parseConfig } from '../../src/config/config.js';
import { classify } from '../../src/rules/classification.js';
import { SampleStore, type RuleContext } from '../../src/rules/index.js';
import { nodeCount } from '../../src/rules/builtin/node-count/index.js';
import { nodeUsage } from '../../src/rules/builtin/node-usage/index.js';
import { resourceRequests } from '../../src/rules/builtin/resource-requests/index.js';
import { R } from '../../src/sim/api/resources.js';
import { podRequests } from '../../src/sim/cluster/scheduler.js';
import type { Node, Pod } from '../../src/sim/model.js';
import type { Simulator } from '../../src/sim/index.js';
import { startJudged } from '../helpers/judge.js';

const USAGE = ['node-count', 'pod-phases', 'node-usage', 'resource-requests'];

/** The one finding of a usage rule (each reports exactly one, about the cluster). */
function only(findings: readonly Finding[], ruleId: string): Finding {
  const mine = findings.filter((f) => f.ruleId === ruleId);
  assert.equal(mine.length, 1, `${ruleId}: exactly one finding, got ${mine.map((f) => f.title).join(' | ')}`);
  const f = mine[0]!;
  assert.equal(refText(f.object), 'Cluster/cluster');
  assert.equal(f.level, 'none', `${ruleId} is None by default`);
  return f;
}

/** The simulator's own truth, counted from its store (not through the watch layer). */
function simTruth(sim: Simulator): {
  nodes: number;
  ready: number;
  phases: Record<string, number>;
  cpuRequested: number;
  memoryRequested: number;
  cpuAllocatable: number;
} {
  const store = sim.cluster.world.store;
  let nodes = 0;
  let ready = 0;
  let cpuAllocatable = 0;
  for (const n of store.iterate<Node>(R.nodes)) {
    nodes++;
    if (n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ready++;
    const cpu = String(n.status?.allocatable?.cpu ?? '0');
    cpuAllocatable += cpu.endsWith('m') ? Number(cpu.slice(0, -1)) : Number(cpu) * 1000;
  }
  const phases: Record<string, number> = {};
  let cpuRequested = 0;
  let memoryRequested = 0;
  for (const p of store.iterate<Pod>(R.pods)) {
    const phase = p.status.phase ?? 'Unknown';
    phases[phase] = (phases[phase] ?? 0) + 1;
    if (p.spec.nodeName && phase !== 'Succeeded' && phase !== 'Failed') {
      const r = podRequests(p);
      cpuRequested += r.cpu;
      memoryRequested += r.memory;
    }
  }
  return { nodes, ready, phases, cpuRequested, memoryRequested, cpuAllocatable };
}

test('usage rules: on the healthy demo each reports one None finding whose facts match the simulator', async (t) => {
  const j = await startJudged(t);
  await j.advance(60_000);
  const { findings } = await j.evaluate();
  const truth = simTruth(j.sim);

  const nodes = only(findings, 'node-count');
  assert.equal(nodes.facts.nodes, truth.nodes);
  assert.equal(nodes.facts.ready, truth.ready);
  assert.equal(nodes.facts.notReady, 0);
  assert.equal(nodes.facts.unschedulable, 0);
  assert.equal(nodes.facts.zones, 2);
  assert.match(nodes.title, new RegExp(`^${truth.nodes} nodes: ${truth.nodes} ready$`));
  assert.ok(nodes.evidence.some((e) => /^by role: control-plane 1, worker 4$/.test(e.text)));

  const pods = only(findings, 'pod-phases');
  assert.equal(pods.facts.running, truth.phases.Running ?? 0);
  assert.equal(pods.facts.pending, truth.phases.Pending ?? 0);
  assert.equal(pods.facts.succeeded, truth.phases.Succeeded ?? 0);
  assert.equal(pods.facts.failed, truth.phases.Failed ?? 0);
  assert.equal(
    pods.facts.pods,
    Object.values(truth.phases).reduce((a, b) => a + b, 0),
  );
  assert.ok(Number(pods.facts.running) > 30, 'the demo runs dozens of pods');

  const usage = only(findings, 'node-usage');
  assert.equal(usage.facts.source, 'metrics');
  assert.equal(usage.facts.nodesMeasured, truth.nodes);
  const metrics = j.watcher.view.probes.metrics!;
  const cpuUsed = [...metrics.nodes.values()].reduce((n, u) => n + u.cpuMilli, 0);
  assert.equal(usage.facts.cpuUsedMilli, Math.round(cpuUsed));
  assert.equal(usage.facts.cpuAllocatableMilli, truth.cpuAllocatable);
  assert.equal(usage.facts.cpuPercent, Math.round((cpuUsed / truth.cpuAllocatable) * 100));
  assert.ok(Number(usage.facts.memoryPercent) > 0 && Number(usage.facts.memoryPercent) < 100);
  // The busiest nodes are in the evidence, at most topNodes (5) of them.
  assert.equal(usage.evidence.filter((e) => /^\S+: CPU .* memory .*%\)$/.test(e.text)).length, 5);

  const requests = only(findings, 'resource-requests');
  assert.equal(requests.facts.cpuRequestedMilli, truth.cpuRequested);
  assert.equal(requests.facts.memoryRequestedBytes, truth.memoryRequested);
  assert.equal(requests.facts.cpuAllocatableMilli, truth.cpuAllocatable);
  assert.equal(requests.facts.waitingPods, 0);
  assert.equal(requests.facts.overcommittedNodes, 0);

  // Never notified: nothing of these rules is above None, and the None findings fire (are shown).
  assert.deepEqual(
    j
      .firing()
      .filter((f) => USAGE.includes(f.ruleId))
      .map((f) => `${f.ruleId}:${f.level}`)
      .sort(),
    ['node-count:none', 'node-usage:none', 'pod-phases:none', 'resource-requests:none'],
  );
});

test('usage rules: a node going NotReady is counted, dropped from the usage totals, and stays None', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'node-notready', target: 'sim-worker2' });
  await j.advance(3 * 60_000);
  const { findings } = await j.evaluate();
  const nodes = only(findings, 'node-count');
  assert.equal(nodes.facts.notReady, 1);
  assert.equal(nodes.facts.ready, 4);
  assert.match(nodes.title, /^5 nodes: 4 ready, 1 not ready$/);
  assert.ok(nodes.evidence.some((e) => e.type === 'condition' && /^sim-worker2: Ready Unknown/.test(e.text)));
  assert.ok(nodes.nextSteps.includes('kubectl describe node sim-worker2'));
  const usage = only(findings, 'node-usage');
  assert.equal(usage.facts.nodesMeasured, 4, 'metrics-server cannot scrape the stopped kubelet');
  assert.ok(usage.evidence.some((e) => /1 node without a measurement .*: sim-worker2$/.test(e.text)));
  j.sim.faults.heal();
  await j.advance(2 * 60_000);
  assert.equal(only((await j.evaluate()).findings, 'node-count').facts.notReady, 0, 'ready again after heal');
});

test('node-usage: with metrics-server crash-looping it falls back to the kubelet summaries and says why', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'addon-crash', target: 'kube-system/metrics-server' });
  await j.advance(2 * 60_000);
  const usage = only((await j.evaluate()).findings, 'node-usage');
  assert.equal(j.watcher.view.probes.metrics?.isAvailable, false, 'metrics.k8s.io answers 503');
  assert.equal(usage.facts.source, 'summary');
  assert.equal(usage.facts.nodesMeasured, 5);
  assert.ok(usage.evidence.some((e) => /^metrics\.k8s\.io: .*503/.test(e.text)));
  assert.ok(usage.evidence.some((e) => /measured by the kubelets' Summary API/.test(e.text)));
});

test('node-usage: with neither metrics-server nor summaries it says usage is not available, and why', () => {
  const view = new ClusterView();
  upsertNodes(view, 2);
  view.probes.metrics = {
    isAvailable: false,
    reason: 'metrics.k8s.io is not served (no metrics-server installed)',
    nodes: new Map(),
    pods: new Map(),
    malformedItems: 0,
    at: 0,
    serverAt: 0,
  };
  const [f] = nodeUsage.evaluate(ctxFor(view, { topNodes: 5 }));
  assert.equal(
    f?.title,
    'Node usage not available: metrics.k8s.io is not served (no metrics-server installed)',
  );
  assert.equal(f?.facts.available, false);
  assert.equal(f?.facts.source, 'none');
  assert.deepEqual(nodeUsage.sample!(view, 0), { available: 0 });
});

test('resource-requests and pod-phases: pods the cluster cannot place yet are counted as waiting demand, at None', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'capacity-exhausted' });
  await j.advance(2 * 60_000);
  const { findings } = await j.evaluate();
  const requests = only(findings, 'resource-requests');
  const waiting = [...j.sim.cluster.world.store.iterate<Pod>(R.pods)].filter(
    (p) => !p.spec.nodeName && p.status.phase === 'Pending' && !p.metadata.deletionTimestamp,
  );
  assert.ok(waiting.length > 0, 'the fault leaves pods without a node');
  assert.equal(requests.facts.waitingPods, waiting.length);
  assert.equal(requests.facts.waitingCpuRequestMilli, waiting.length * 2000);
  assert.ok(requests.evidence.some((e) => /pods? waiting for a node request CPU/.test(e.text)));
  assert.ok(Number(only(findings, 'pod-phases').facts.pending) >= waiting.length);
});

test('node-usage and resource-requests: per-node series only up to 100 nodes, so 5,000 nodes stay small', () => {
  const small = new ClusterView();
  upsertNodes(small, 3);
  const big = new ClusterView();
  upsertNodes(big, 150);
  for (const view of [small, big]) {
    for (const n of view.list('Node'))
      view.probes.summaries.set(n.name, {
        node: n.name,
        fs: { usedBytes: undefined, capacityBytes: undefined, availableBytes: undefined },
        imageFs: { usedBytes: undefined, capacityBytes: undefined, availableBytes: undefined },
        cpuNanoCores: 1e9,
        memoryWorkingSetBytes: 2 ** 32,
        volumes: [],
        at: 0,
        serverAt: 0,
      });
  }
  const perNode = (keys: string[]): number => keys.filter((k) => k.includes('/')).length;
  assert.equal(perNode(Object.keys(nodeUsage.sample!(small, 0))), 6);
  assert.equal(perNode(Object.keys(resourceRequests.sample!(small, 0))), 6);
  const bigUsage = nodeUsage.sample!(big, 0);
  assert.equal(perNode(Object.keys(bigUsage)), 0);
  assert.equal(bigUsage.nodesMeasured, 150);
  assert.equal(bigUsage.maxNodeCpuPercent, 25);
  assert.equal(perNode(Object.keys(resourceRequests.sample!(big, 0))), 0);
  // The finding of a big cluster names only the top nodes.
  const [f] = nodeUsage.evaluate(ctxFor(big, { topNodes: 5 }));
  assert.equal(f?.evidence.filter((e) => /^node-\d+: CPU/.test(e.text)).length, 5);
  assert.equal(f?.facts.nodesMeasured, 150);
  assert.deepEqual(nodeCount.sample!(big, 0), { nodes: 150, ready: 150, notReady: 0, unschedulable: 0 });
});

/** Adds `n` ready 4-CPU, 16 GiB nodes to a view. */
function upsertNodes(view: ClusterView, n: number): void {
  const collector = COLLECTORS.find((c) => c.kind === 'Node')!;
  for (let i = 0; i < n; i++) {
    const record = collector.project({
      kind: 'Node',
      metadata: { name: `node-${i}`, uid: `n-${i}`, creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: {},
      status: {
        allocatable: { cpu: '4', memory: '16Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    });
    (view.store('Node') as unknown as { upsert(r: AnyRecord): void }).upsert(record as AnyRecord);
  }
}

/** A minimal rule context over a view: everything in scope, level none, default classification. */
function ctxFor(view: ClusterView, options: { topNodes: number }): RuleContext<{ topNodes: number }> {
  return {
    view,
    now: Date.UTC(2026, 0, 1, 1),
    options,
    level: 'none',
    classification: classify(view, parseConfig('{}', 'test').classification),
    inScope: () => true,
    samples: new SampleStore(),
  };
}
