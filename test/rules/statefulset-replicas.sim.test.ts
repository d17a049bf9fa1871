import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText, type Finding } from '../../src/domain/index.js';
import { R } from '../../src/sim/api/resources.js';
import type { StatefulSet } from '../../src/sim/model.js';
import { startJudged, type Judged } from '../helpers/judge.js';

const RULE = 'statefulset-replicas';

function ours(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.ruleId === RULE);
}

async function untilFiring(j: Judged, limitMs: number, stepMs = 10_000): Promise<number | undefined> {
  for (let t = stepMs; t <= limitMs; t += stepMs) {
    await j.advance(stepMs, stepMs);
    if (ours(j.firing()).length > 0) return t;
  }
  return undefined;
}

async function seenWhile(j: Judged, ms: number, stepMs = 15_000): Promise<Finding[]> {
  const seen: Finding[] = [];
  for (let t = 0; t < ms; t += stepMs) {
    await j.advance(stepMs, stepMs);
    seen.push(...ours((await j.evaluate()).findings));
  }
  return seen;
}

/** Changes the postgres StatefulSet's image, as `kubectl set image` does. */
function setImage(j: Judged, image: string): void {
  j.sim.cluster.world.store.modify<StatefulSet>(R.statefulsets, 'shop', 'postgres', (x) => ({
    ...x,
    metadata: { ...x.metadata, generation: (x.metadata.generation ?? 1) + 1 },
    spec: {
      ...x.spec,
      template: {
        ...x.spec.template,
        spec: {
          ...x.spec.template.spec,
          containers: x.spec.template.spec.containers.map((c, i) => (i === 0 ? { ...c, image } : c)),
        },
      },
    },
  }));
}

test('statefulset-replicas: a crashing StatefulSet pages within 5 minutes, once, and resolves after heal', async (t) => {
  const j = await startJudged(t);
  assert.deepEqual(ours((await j.evaluate()).findings), [], 'nothing on the healthy demo');
  j.sim.faults.start({ name: 'addon-crash', target: 'shop/postgres' });
  const detectMs = await untilFiring(j, 8 * 60_000);
  assert.ok(detectMs !== undefined && detectMs <= 5 * 60_000, `fired after ${detectMs} ms`);
  const firing = ours(j.firing());
  assert.deepEqual(
    firing.map((f) => `${refText(f.object)}:${f.level}`),
    ['StatefulSet/shop/postgres:alert'],
  );
  const f = firing[0]!;
  assert.equal(f.facts.verdict, 'replicas-lost');
  assert.equal(f.facts.cause, 'crash');
  assert.match(f.title, /^StatefulSet shop\/postgres: 0 of 1 replica ready, replicas lost, crash-looping/);
  assert.ok(f.nextSteps.includes('kubectl logs -n shop postgres-0 --previous'));
  j.sim.faults.heal();
  await j.advance(3 * 60_000);
  assert.deepEqual(ours(j.firing()), [], 'resolved after heal');
});

test('statefulset-replicas: a rolling update is silent when healthy and blocked-by-image when the tag is wrong', async (t) => {
  const j = await startJudged(t);
  setImage(j, 'docker.io/library/postgres:16.7');
  assert.deepEqual(await seenWhile(j, 4 * 60_000), [], 'healthy rolling update');
  const s = j.watcher.view.get('StatefulSet', 'shop', 'postgres')!;
  assert.equal(s.currentRevision, s.updateRevision, 'the update completed');
  setImage(j, 'docker.io/library/postgres:does-not-exist');
  const detectMs = await untilFiring(j, 8 * 60_000);
  assert.ok(detectMs !== undefined && detectMs <= 4 * 60_000, `fired after ${detectMs} ms`);
  const f = ours(j.firing())[0]!;
  assert.equal(f.facts.verdict, 'blocked-by-image');
  assert.match(f.title, /rolling update blocked, image cannot be pulled/);
  assert.ok(f.evidence.some((e) => /ImagePullBackOff|ErrImagePull/.test(e.text)));
  assert.ok(f.nextSteps.includes('kubectl rollout undo statefulset/postgres -n shop'));
});

test('statefulset-replicas: a replica on a lost node waits out the eviction, then needs a person', async (t) => {
  const j = await startJudged(t);
  const node = j.watcher.view.get('Pod', 'shop', 'postgres-0')?.nodeName;
  assert.ok(node, 'postgres-0 runs on a node');
  j.sim.faults.start({ name: 'node-notready', target: node });
  assert.deepEqual(await seenWhile(j, 5 * 60_000), [], 'quiet while Kubernetes waits to evict it');
  const detectMs = await untilFiring(j, 5 * 60_000);
  assert.ok(detectMs !== undefined, 'fires once the eviction did not bring it back');
  const f = ours(j.firing())[0]!;
  assert.equal(f.facts.verdict, 'capacity-not-healing');
  assert.equal(f.facts.cause, 'node-lost');
  assert.ok(f.evidence.some((e) => e.text.includes(`is on node ${node}, which has not been ready`)));
  assert.ok(
    f.nextSteps.some((s) => s.startsWith('kubectl delete pod -n shop postgres-0 --grace-period=0 --force')),
  );
  j.sim.faults.heal();
  await j.advance(3 * 60_000);
  assert.deepEqual(ours(j.firing()), [], 'resolved when the node is back');
});
