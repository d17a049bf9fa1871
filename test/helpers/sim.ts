/**
 * Shared helpers for tests that drive the simulator through its HTTP API: a manual-clock simulator
 * that closes itself when the test ends, small JSON request helpers, and `waitFor`, which moves
 * simulated time forward in steps until a condition holds (with a bounded number of steps).
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/sim/index.js';
import type {
  Condition,
  ContainerStatus,
  CoreEvent,
  Deployment,
  KObject,
  Lease,
  Node,
  Pod,
  ReplicaSet,
} from '../../src/sim/model.js';

export type { Condition, ContainerStatus, CoreEvent, Deployment, KObject, Lease, Node, Pod, ReplicaSet };

/** A list answer of the API server. */
export interface List<T> {
  kind: string;
  metadata: { resourceVersion?: string };
  items: T[];
}

/** A `Status` object, as the API server answers errors. */
export interface Status {
  kind: 'Status';
  apiVersion: string;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  code: number;
  details?: { retryAfterSeconds?: number; causes?: unknown[] };
}

/** One answer: HTTP status, headers and the body (parsed as JSON when it is JSON). */
export interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/**
 * Starts a simulator on a manual clock and port 0 (the demo cluster unless `options.scenario` says
 * otherwise) and closes it when the test ends.
 */
export async function startTestSim(t: TestContext, options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator({ seed: 'healwatch-faults', ...options, clock: 'manual', port: 0 });
  t.after(() => sim.close());
  return sim;
}

/** Sends one request to the simulator's API server. */
export async function request<T = unknown>(
  sim: Simulator,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<Answer<T>> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(10_000) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'Content-Type': contentType };
  }
  const res = await fetch(`${sim.url}${path}`, init);
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** GETs a JSON document and asserts a 200 answer. */
export async function getJson<T>(sim: Simulator, path: string): Promise<T> {
  const answer = await request<T>(sim, 'GET', path);
  assert.equal(answer.status, 200, `GET ${path} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return answer.body;
}

/** GETs a text document (logs, metrics) and asserts a 200 answer. */
export async function getText(sim: Simulator, path: string): Promise<string> {
  const answer = await request(sim, 'GET', path);
  assert.equal(answer.status, 200, `GET ${path} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return answer.text;
}

/** PATCHes with a JSON merge patch and asserts a 200 answer. */
export async function mergePatch<T>(sim: Simulator, path: string, patch: unknown): Promise<T> {
  const answer = await request<T>(sim, 'PATCH', path, patch, 'application/merge-patch+json');
  assert.equal(answer.status, 200, `PATCH ${path} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return answer.body;
}

/** POSTs a JSON object and asserts a 201 answer. */
export async function postJson<T>(sim: Simulator, path: string, object: unknown): Promise<T> {
  const answer = await request<T>(sim, 'POST', path, object);
  assert.equal(answer.status, 201, `POST ${path} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return answer.body;
}

/** Scales a Deployment through its `scale` subresource, as `kubectl scale` does. */
export async function scaleDeployment(
  sim: Simulator,
  namespace: string,
  name: string,
  replicas: number,
): Promise<void> {
  await mergePatch(sim, `/apis/apps/v1/namespaces/${namespace}/deployments/${name}/scale`, {
    spec: { replicas },
  });
}

/** The pods of a namespace, optionally filtered by a label selector. */
export async function listPods(sim: Simulator, namespace: string, labelSelector?: string): Promise<Pod[]> {
  const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
  return (await getJson<List<Pod>>(sim, `/api/v1/namespaces/${namespace}/pods${query}`)).items;
}

/** One pod, or undefined when it does not exist (404). */
export async function findPod(sim: Simulator, namespace: string, name: string): Promise<Pod | undefined> {
  const answer = await request<Pod>(sim, 'GET', `/api/v1/namespaces/${namespace}/pods/${name}`);
  if (answer.status === 404) return undefined;
  assert.equal(answer.status, 200, answer.text);
  return answer.body;
}

/** A Deployment. */
export async function getDeployment(sim: Simulator, namespace: string, name: string): Promise<Deployment> {
  return getJson<Deployment>(sim, `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`);
}

/** A node. */
export async function getNode(sim: Simulator, name: string): Promise<Node> {
  return getJson<Node>(sim, `/api/v1/nodes/${name}`);
}

/** A Lease. */
export async function getLease(sim: Simulator, namespace: string, name: string): Promise<Lease> {
  return getJson<Lease>(sim, `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`);
}

/** The events about objects with this name (`involvedObject.name`), in one namespace or all. */
export async function eventsAbout(sim: Simulator, name: string, namespace?: string): Promise<CoreEvent[]> {
  const base = namespace ? `/api/v1/namespaces/${namespace}/events` : '/api/v1/events';
  const selector = encodeURIComponent(`involvedObject.name=${name}`);
  return (await getJson<List<CoreEvent>>(sim, `${base}?fieldSelector=${selector}`)).items;
}

/** How often an event happened: `count` for core recorders, `series.count` for events.k8s.io ones. */
export function eventCount(event: CoreEvent): number {
  return event.series?.count ?? event.count ?? 1;
}

/** A condition by type. */
export function condition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Whether a pod is Ready (its Ready condition is True). */
export function isPodReady(pod: Pod): boolean {
  return condition(pod.status.conditions, 'Ready')?.status === 'True';
}

/** The first container status of a pod (the simulator's demo pods have one container). */
export function firstContainer(pod: Pod): ContainerStatus {
  const status = pod.status.containerStatuses?.[0];
  assert.ok(status, `pod ${pod.metadata.name} has no container status`);
  return status;
}

/** Options of `waitFor`. */
export interface WaitOptions {
  /** Simulated milliseconds per step (default 1000). */
  stepMs?: number;
  /** Most steps before giving up (default 600). */
  maxSteps?: number;
}

/**
 * Checks `check` and, while it answers undefined or false, advances simulated time by one step and
 * checks again, up to `maxSteps` steps. Returns the first other answer; fails the test (naming
 * `what` and the simulated time waited) when the condition never holds.
 */
export async function waitFor<T>(
  sim: Simulator,
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitOptions = {},
): Promise<T> {
  const stepMs = options.stepMs ?? 1000;
  const maxSteps = options.maxSteps ?? 600;
  for (let step = 0; ; step++) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (step >= maxSteps) {
      assert.fail(`${what}: not seen after ${(step * stepMs) / 1000} simulated seconds`);
    }
    sim.advance(stepMs);
  }
}

/** Simulated now of the simulator, epoch milliseconds. */
export function simNow(sim: Simulator): number {
  return sim.cluster.world.now();
}

/** Seconds between two RFC 3339 timestamps. */
export function secondsBetween(from: string | undefined, to: string | undefined): number {
  assert.ok(from && to, `missing timestamp (${from} → ${to})`);
  return (Date.parse(to) - Date.parse(from)) / 1000;
}

/** The controlling owner's name of an object. */
export function ownerName(object: KObject): string | undefined {
  return object.metadata.ownerReferences?.find((r) => r.controller)?.name;
}

/** The pods of a Deployment (through its ReplicaSets), not counting finished ones. */
export async function deploymentPods(sim: Simulator, namespace: string, name: string): Promise<Pod[]> {
  const sets = (
    await getJson<List<ReplicaSet>>(sim, `/apis/apps/v1/namespaces/${namespace}/replicasets`)
  ).items.filter((rs) => ownerName(rs) === name);
  const names = new Set(sets.map((rs) => rs.metadata.name));
  return (await listPods(sim, namespace)).filter((p) => {
    const owner = ownerName(p);
    return owner !== undefined && names.has(owner);
  });
}

/** The ReplicaSets of a Deployment, oldest revision first. */
export async function replicaSetsOf(sim: Simulator, namespace: string, name: string): Promise<ReplicaSet[]> {
  const sets = (
    await getJson<List<ReplicaSet>>(sim, `/apis/apps/v1/namespaces/${namespace}/replicasets`)
  ).items.filter((rs) => ownerName(rs) === name);
  const revision = (rs: ReplicaSet): number =>
    Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
  return sets.sort((a, b) => revision(a) - revision(b));
}

/** The shape of a Deployment `createDeployment` makes. */
export interface DeploymentShape {
  cpu: string;
  memory: string;
  image?: string;
}

/** Creates a one-container Deployment through the API (`app=<name>` labels), as `kubectl create` would. */
export async function createDeployment(
  sim: Simulator,
  namespace: string,
  name: string,
  replicas: number,
  shape: DeploymentShape,
): Promise<Deployment> {
  return postJson<Deployment>(sim, `/apis/apps/v1/namespaces/${namespace}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      // A real API server defaults the strategy; the simulator's admission does not yet, so give it.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'main',
              image: shape.image ?? 'ghcr.io/healwatch-sim/batch:1.0.0',
              resources: { requests: { cpu: shape.cpu, memory: shape.memory } },
            },
          ],
        },
      },
    },
  });
}
