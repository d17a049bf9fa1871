import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { R } from '../../src/sim/api/resources.js';
import type { Deployment, Job, Pod } from '../../src/sim/model.js';

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ port: 0, clock: 'manual', seed: 'admission' });
});
after(() => sim.close());

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const template = (labels: Record<string, string>, extra: Record<string, unknown> = {}): unknown => ({
  metadata: { labels },
  spec: { containers: [{ name: 'app', image: 'ghcr.io/example/app:1.0' }], ...extra },
});

test('a minimal Deployment gets the API server defaults and its pods run', async () => {
  const res = await post('/apis/apps/v1/namespaces/default/deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'minimal' },
    spec: { selector: { matchLabels: { app: 'minimal' } }, template: template({ app: 'minimal' }) },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const d = res.body as unknown as Deployment;
  assert.equal(d.spec.replicas, 1);
  assert.deepEqual(d.spec.strategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
  });
  assert.equal(d.spec.progressDeadlineSeconds, 600);
  assert.equal(d.spec.template.spec.containers[0]!.imagePullPolicy, 'IfNotPresent');
  assert.equal(d.metadata.generation, 1);
  sim.advance(60_000);
  const pods = sim.cluster.world.store
    .list<Pod>(R.pods, 'default')
    .filter((p) => p.metadata.name.startsWith('minimal-'));
  assert.equal(pods.length, 1);
  assert.equal(pods[0]!.status.phase, 'Running');
  const stored = sim.cluster.world.store.get<Deployment>(R.deployments, 'default', 'minimal')!;
  assert.equal(stored.status.availableReplicas, 1);
});

test('invalid workloads are refused with 422 naming the field', async () => {
  const mismatch = await post('/apis/apps/v1/namespaces/default/deployments', {
    metadata: { name: 'mismatch' },
    spec: { selector: { matchLabels: { app: 'a' } }, template: template({ app: 'b' }) },
  });
  assert.equal(mismatch.status, 422);
  assert.equal(mismatch.body.reason, 'Invalid');
  assert.match(
    String(mismatch.body.message),
    /spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels`/,
  );
  const noContainers = await post('/api/v1/namespaces/default/pods', {
    metadata: { name: 'empty' },
    spec: { containers: [] },
  });
  assert.equal(noContainers.status, 422);
  assert.match(String(noContainers.body.message), /spec\.containers: Required value/);
  const job = await post('/apis/batch/v1/namespaces/default/jobs', {
    metadata: { name: 'always' },
    spec: { template: template({}) },
  });
  assert.equal(job.status, 422);
  assert.match(String(job.body.message), /spec\.template\.spec\.restartPolicy: Unsupported value: "Always"/);
  const badName = await post('/api/v1/namespaces/default/pods', {
    metadata: { name: 'Bad_Name' },
    spec: { containers: [{ name: 'a', image: 'x:1' }] },
  });
  assert.equal(badName.status, 422);
  assert.match(String(badName.body.message), /metadata\.name: Invalid value: "Bad_Name"/);
  const wrongNamespace = await post('/api/v1/namespaces/nope/pods', {
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'a', image: 'x:1' }] },
  });
  assert.equal(wrongNamespace.status, 404);
  assert.match(String(wrongNamespace.body.message), /namespaces "nope" not found/);
});

test('a Job gets its generated selector and labels, and runs to completion', async () => {
  const res = await post('/apis/batch/v1/namespaces/default/jobs', {
    metadata: { name: 'once' },
    spec: {
      template: {
        metadata: { annotations: { 'sim.healwatch.io/behavior': 'complete:5s' } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'a', image: 'busybox:1.36' }] },
      },
    },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const job = res.body as unknown as Job;
  assert.deepEqual(job.spec.selector, {
    matchLabels: { 'batch.kubernetes.io/controller-uid': job.metadata.uid },
  });
  assert.equal(job.spec.backoffLimit, 6);
  sim.advance(60_000);
  const done = sim.cluster.world.store.get<Job>(R.jobs, 'default', 'once')!;
  assert.equal(done.status.succeeded, 1);
  assert.ok(done.status.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'));
});
