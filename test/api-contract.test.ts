/**
 * The API contract real clients rely on, checked over HTTP without kubectl: the request shapes kubectl
 * sends (wire note, section 4) with their Accept headers, discovery negotiation, Tables, lists, paging
 * and 410s, watch semantics, selectors, auth, Status errors, health, the kubelet summary and
 * metrics.k8s.io. Runs everywhere; test/kubectl.test.ts proves the same with the real binary.
 */
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, test } from 'node:test';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { readField } from '../src/sim/api/resources.js';
import type { CoreEvent, Pod } from '../src/sim/model.js';

/** What kubectl 1.30+ sends on `GET /api` and `GET /apis`. */
const AGG =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
/** What kubectl 1.27–1.29 send. */
const AGG_BETA = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
/** What kubectl sends for every `get`. */
const TABLE =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const JSON_ANY = 'application/json, */*';
const PROTO_ANY = 'application/vnd.kubernetes.protobuf, */*';
const PROTO_JSON = 'application/vnd.kubernetes.protobuf,application/json';
const TIMEOUT = { timeout: 60_000 };

interface Answer {
  status: number;
  contentType: string;
  headers: Headers;
  text: string;
  body: unknown;
}

interface StatusBody {
  kind: string;
  apiVersion: string;
  metadata: { continue?: string };
  status: string;
  message: string;
  reason: string;
  code: number;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason: string }[] };
}

interface ListBody<T> {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

interface Column {
  name: string;
  type: string;
  priority: number;
}

interface TableBody {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: Column[] | null;
  rows: { cells: unknown[]; object?: { kind: string; metadata: { name: string; namespace?: string } } }[];
}

interface WatchEvent {
  type: string;
  object: {
    kind?: string;
    apiVersion?: string;
    metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> };
    code?: number;
    reason?: string;
    message?: string;
    columnDefinitions?: unknown;
    rows?: unknown[];
  };
}

let sim: Simulator;
let cart: Pod;

before(async () => {
  // Pinned to the minor whose kubectl request shapes these tests replay (the default follows the date).
  sim = await startSimulator({
    clock: 'manual',
    maxWatchSeconds: 5,
    bookmarkIntervalMs: 100,
    version: 'v1.32.2',
  });
  sim.faults.start({ name: 'crashloop', target: 'shop/cart' });
  sim.advance(5 * 60_000);
  cart = (await list<Pod>('/api/v1/namespaces/shop/pods?labelSelector=app%3Dcart')).items[0]!;
});

after(async () => {
  await sim?.close();
});

async function call(
  path: string,
  options: { accept?: string; method?: string; body?: string; contentType?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.accept !== undefined) headers.Accept = options.accept;
  if (options.contentType !== undefined) headers['Content-Type'] = options.contentType;
  const res = await fetch(`${sim.url}${path}`, {
    method: options.method ?? 'GET',
    headers,
    ...(options.body !== undefined ? { body: options.body } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  let body: unknown = text;
  if (contentType.startsWith('application/json') && text !== '') body = JSON.parse(text) as unknown;
  return { status: res.status, contentType, headers: res.headers, text, body };
}

async function list<T>(path: string, accept = 'application/json'): Promise<ListBody<T>> {
  const answer = await call(path, { accept });
  assert.equal(answer.status, 200, `${path}: ${answer.text.slice(0, 300)}`);
  return answer.body as ListBody<T>;
}

async function tableOf(path: string): Promise<TableBody> {
  const answer = await call(path, { accept: TABLE });
  assert.equal(answer.status, 200, `${path}: ${answer.text.slice(0, 300)}`);
  assert.equal(answer.contentType, 'application/json');
  return answer.body as TableBody;
}

function statusOf(answer: Answer): StatusBody {
  assert.equal(answer.contentType, 'application/json');
  const s = answer.body as StatusBody;
  assert.equal(s.kind, 'Status');
  assert.equal(s.apiVersion, 'v1');
  assert.equal(s.status, 'Failure');
  assert.equal(s.code, answer.status);
  return s;
}

/**
 * Reads a watch stream line by line until it ends, `until` holds, or `timeoutMs` passes (then it aborts).
 */
async function readWatch(
  path: string,
  options: { accept?: string; until?: (events: WatchEvent[]) => boolean; timeoutMs?: number } = {},
): Promise<{ status: number; contentType: string; events: WatchEvent[]; ended: boolean }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.timeoutMs ?? 8_000);
  const events: WatchEvent[] = [];
  let ended = false;
  try {
    const res = await fetch(`${sim.url}${path}`, {
      headers: { Accept: options.accept ?? 'application/json' },
      signal: abort.signal,
    });
    const contentType = res.headers.get('content-type') ?? '';
    if (res.status !== 200 || !res.body) return { status: res.status, contentType, events, ended: true };
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          ended = true;
          break;
        }
        buffer += decoder.decode(value as Uint8Array, { stream: true });
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line !== '') events.push(JSON.parse(line) as WatchEvent);
        }
        if (options.until?.(events)) break;
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    } finally {
      abort.abort();
    }
    return { status: 200, contentType, events, ended };
  } finally {
    clearTimeout(timer);
  }
}

function columnNames(t: TableBody): string[] {
  return (t.columnDefinitions ?? []).map((c) => c.name);
}

test('replays the request shapes kubectl 1.32 sends (wire note, section 4)', TIMEOUT, async () => {
  const uid = cart.metadata.uid;
  const name = cart.metadata.name;
  const describeSelector = encodeURIComponent(
    `involvedObject.name=${name},involvedObject.namespace=shop,involvedObject.uid=${uid}`,
  );
  const eventsForSelector = encodeURIComponent(
    `involvedObject.kind=Pod,involvedObject.apiVersion=v1,involvedObject.name=${name}`,
  );
  const agg = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
  const cases: [path: string, accept: string, contentType: string, kind: string | undefined][] = [
    ['/version?timeout=5s', JSON_ANY, 'application/json', undefined],
    ['/version?timeout=32s', JSON_ANY, 'application/json', undefined],
    ['/api?timeout=32s', AGG, agg, 'APIGroupDiscoveryList'],
    ['/apis?timeout=32s', AGG, agg, 'APIGroupDiscoveryList'],
    ['/api/v1/nodes?limit=500', TABLE, 'application/json', 'Table'],
    ['/api/v1/pods?limit=500', TABLE, 'application/json', 'Table'],
    ['/apis/apps/v1/namespaces/kube-system/deployments?limit=500', TABLE, 'application/json', 'Table'],
    ['/api/v1/namespaces/default/events?limit=500', TABLE, 'application/json', 'Table'],
    ['/api/v1/events?limit=500', TABLE, 'application/json', 'Table'],
    ['/api/v1/namespaces/default/pods?limit=500', TABLE, 'application/json', 'Table'],
    ['/api', AGG, agg, 'APIGroupDiscoveryList'],
    ['/apis', AGG, agg, 'APIGroupDiscoveryList'],
    ['/apis/metrics.k8s.io/v1beta1/nodes', PROTO_ANY, 'application/json', 'NodeMetricsList'],
    ['/api/v1/nodes', PROTO_JSON, 'application/json', 'NodeList'],
    ['/apis/metrics.k8s.io/v1beta1/pods', PROTO_ANY, 'application/json', 'PodMetricsList'],
    ['/readyz?verbose=', JSON_ANY, 'text/plain; charset=utf-8', undefined],
    ['/api/v1/nodes/sim-worker/proxy/stats/summary', JSON_ANY, 'application/json', undefined],
    ['/api/v1/pods?limit=4', TABLE, 'application/json', 'Table'],
    ['/api/v1/namespaces/default/pods?limit=500', 'application/json', 'application/json', 'PodList'],
    ['/api/v1/namespaces/kube-system/pods?limit=500', TABLE, 'application/json', 'Table'],
    ['/apis/apps/v1/namespaces/kube-system/deployments?limit=500', TABLE, 'application/json', 'Table'],
    ['/apis/apps/v1/namespaces/kube-system/replicasets?limit=500', TABLE, 'application/json', 'Table'],
    [`/api/v1/namespaces/shop/pods/${name}`, 'application/json', 'application/json', 'Pod'],
    [`/api/v1/namespaces/shop/pods/${name}`, PROTO_JSON, 'application/json', 'Pod'],
    [
      `/api/v1/namespaces/shop/events?fieldSelector=${describeSelector}&limit=500`,
      PROTO_JSON,
      'application/json',
      'EventList',
    ],
    [
      `/api/v1/namespaces/shop/events?fieldSelector=${eventsForSelector}&limit=500`,
      'application/json',
      'application/json',
      'EventList',
    ],
    [
      '/apis/apps/v1/namespaces/shop/deployments/frontend',
      'application/json',
      'application/json',
      'Deployment',
    ],
    [
      '/apis/apps/v1/namespaces/shop/deployments?fieldSelector=metadata.name%3Dfrontend&limit=500&resourceVersion=0',
      'application/json',
      'application/json',
      'DeploymentList',
    ],
    [`/api/v1/namespaces/shop/pods/${name}/log?container=cart`, JSON_ANY, 'text/plain', undefined],
    [
      `/api/v1/namespaces/shop/pods/${name}/log?container=cart&previous=true`,
      JSON_ANY,
      'text/plain',
      undefined,
    ],
    ['/api?timeout=32s', JSON_ANY, 'application/json', 'APIVersions'],
    ['/apis?timeout=32s', JSON_ANY, 'application/json', 'APIGroupList'],
    ['/api/v1?timeout=32s', JSON_ANY, 'application/json', 'APIResourceList'],
    ['/apis/apps/v1?timeout=32s', JSON_ANY, 'application/json', 'APIResourceList'],
    ['/apis/events.k8s.io/v1?timeout=32s', JSON_ANY, 'application/json', 'APIResourceList'],
    ['/apis/metrics.k8s.io/v1beta1?timeout=32s', JSON_ANY, 'application/json', 'APIResourceList'],
  ];
  for (const [path, accept, contentType, kind] of cases) {
    const answer = await call(path, { accept });
    const what = `GET ${path} [${accept}]`;
    assert.equal(answer.status, 200, `${what}: ${answer.text.slice(0, 200)}`);
    assert.equal(answer.contentType, contentType, what);
    if (kind !== undefined) assert.equal((answer.body as { kind?: string }).kind, kind, what);
    else if (contentType === 'application/json')
      assert.equal((answer.body as { kind?: string }).kind, undefined);
  }
  const version = (await call('/version', { accept: JSON_ANY })).body as Record<string, string>;
  assert.match(version.gitVersion ?? '', /^v1\.32\.\d+$/);
  assert.equal(version.minor, '32');
  const describeEvents = await list<CoreEvent>(
    `/api/v1/namespaces/shop/events?fieldSelector=${describeSelector}`,
  );
  assert.ok(describeEvents.items.some((e) => e.reason === 'BackOff'));
});

test('discovery negotiates v2, v2beta1 and legacy in Accept order', TIMEOUT, async () => {
  for (const path of ['/api', '/apis']) {
    const v2 = await call(path, { accept: AGG });
    const beta = await call(path, { accept: AGG_BETA });
    const legacy = await call(path, { accept: JSON_ANY });
    const jsonFirst = await call(path, {
      accept: 'application/json,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    });
    assert.equal(v2.contentType, 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    assert.equal((v2.body as { apiVersion: string }).apiVersion, 'apidiscovery.k8s.io/v2');
    assert.equal(
      beta.contentType,
      'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList',
    );
    assert.equal((beta.body as { apiVersion: string }).apiVersion, 'apidiscovery.k8s.io/v2beta1');
    // Same body shape for both versions.
    assert.deepEqual((v2.body as { items: unknown[] }).items, (beta.body as { items: unknown[] }).items);
    assert.equal(legacy.contentType, 'application/json');
    assert.equal((legacy.body as { kind: string }).kind, path === '/api' ? 'APIVersions' : 'APIGroupList');
    assert.equal((jsonFirst.body as { kind: string }).kind, path === '/api' ? 'APIVersions' : 'APIGroupList');
    for (const answer of [v2, beta, legacy]) {
      assert.equal(answer.headers.get('vary'), 'Accept');
      assert.match(answer.headers.get('etag') ?? '', /^"[0-9A-F]+"$/);
    }
    assert.notEqual(v2.headers.get('etag'), legacy.headers.get('etag'));
    assert.equal((await call(path, { accept: AGG })).headers.get('etag'), v2.headers.get('etag'));
    const refused = await call(path, { accept: 'application/vnd.kubernetes.protobuf' });
    assert.equal(refused.status, 406);
    assert.equal(statusOf(refused).reason, 'NotAcceptable');
  }

  interface Resource {
    resource: string;
    verbs: string[];
    shortNames?: string[];
    categories?: string[];
    subresources?: { subresource: string; responseKind: { group: string; version: string; kind: string } }[];
  }
  interface Group {
    metadata: { name?: string };
    versions: { version: string; freshness: string; resources: Resource[] }[];
  }
  const core = ((await call('/api', { accept: AGG })).body as { items: Group[] }).items;
  assert.equal(core.length, 1);
  const pods = core[0]!.versions[0]!.resources.find((r) => r.resource === 'pods');
  assert.ok(pods);
  assert.deepEqual(pods.shortNames, ['po']);
  assert.deepEqual(pods.categories, ['all']);
  assert.deepEqual(pods.subresources?.map((s) => s.subresource).sort(), ['log', 'status']);
  const named = ((await call('/apis', { accept: AGG })).body as { items: Group[] }).items;
  const byName = new Map(named.map((g) => [g.metadata.name ?? '', g]));
  assert.ok(!byName.has(''), '/apis lists named groups only');
  const deployments = byName.get('apps')?.versions[0]?.resources.find((r) => r.resource === 'deployments');
  assert.deepEqual(deployments?.subresources?.find((s) => s.subresource === 'scale')?.responseKind, {
    group: 'autoscaling',
    version: 'v1',
    kind: 'Scale',
  });
  const metrics = byName.get('metrics.k8s.io')?.versions[0];
  assert.equal(metrics?.version, 'v1beta1');
  for (const r of metrics?.resources ?? []) assert.deepEqual(r.verbs, ['get', 'list']);
  assert.deepEqual(metrics?.resources.map((r) => r.resource).sort(), ['nodes', 'pods']);
  // Short names live on core events only, so `kubectl get ev` resolves there.
  const newEvents = byName.get('events.k8s.io')?.versions[0]?.resources.find((r) => r.resource === 'events');
  assert.equal(newEvents?.shortNames, undefined);
});

test('Tables: upstream columns, every cell, row objects per includeObject', TIMEOUT, async () => {
  const expected: [string, string[]][] = [
    [
      '/api/v1/pods',
      ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates'],
    ],
    [
      '/api/v1/nodes',
      [
        'Name',
        'Status',
        'Roles',
        'Age',
        'Version',
        'Internal-IP',
        'External-IP',
        'OS-Image',
        'Kernel-Version',
        'Container-Runtime',
      ],
    ],
    [
      '/apis/apps/v1/deployments',
      ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector'],
    ],
    [
      '/apis/apps/v1/replicasets',
      ['Name', 'Desired', 'Current', 'Ready', 'Age', 'Containers', 'Images', 'Selector'],
    ],
    [
      '/api/v1/events',
      [
        'Last Seen',
        'Type',
        'Reason',
        'Object',
        'Subobject',
        'Source',
        'Message',
        'First Seen',
        'Count',
        'Name',
      ],
    ],
    ['/api/v1/namespaces', ['Name', 'Status', 'Age']],
  ];
  for (const [path, columns] of expected) {
    const t = await tableOf(path);
    assert.equal(t.kind, 'Table');
    assert.equal(t.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(columnNames(t), columns, path);
    assert.ok(t.rows.length > 0, path);
    for (const row of t.rows) {
      // The server prints every cell, wide ones included; kubectl hides priority > 0.
      assert.equal(row.cells.length, columns.length, path);
      assert.equal(row.object?.kind, 'PartialObjectMetadata');
    }
  }
  const pods = await tableOf('/api/v1/pods');
  assert.deepEqual(
    pods.columnDefinitions?.map((c) => c.priority),
    [0, 0, 0, 0, 0, 1, 1, 1, 1],
  );
  assert.equal(pods.columnDefinitions?.find((c) => c.name === 'Restarts')?.type, 'string');
  const cartRow = pods.rows.find((r) => r.cells[0] === cart.metadata.name);
  assert.ok(cartRow);
  assert.equal(cartRow.cells[1], '0/1');
  assert.equal(cartRow.cells[2], 'CrashLoopBackOff');
  assert.match(String(cartRow.cells[3]), /^\d+ \(\S+ ago\)$/);
  assert.equal(cartRow.object?.metadata.namespace, 'shop');

  const leases = await tableOf('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases');
  assert.deepEqual(columnNames(leases), ['Name', 'Holder', 'Age']);
  assert.ok(leases.rows.some((r) => r.cells[0] === 'sim-worker' && r.cells[1] === 'sim-worker'));

  const withObject = await tableOf('/api/v1/namespaces/shop/pods?includeObject=Object');
  assert.equal(withObject.rows[0]?.object?.kind, 'Pod');
  const without = await tableOf('/api/v1/namespaces/shop/pods?includeObject=None');
  assert.ok(without.rows.every((r) => r.object === undefined));
  const bad = await call('/api/v1/pods?includeObject=All', { accept: TABLE });
  assert.equal(bad.status, 400);

  const single = await tableOf(`/api/v1/namespaces/shop/pods/${cart.metadata.name}`);
  assert.equal(single.rows.length, 1);
  assert.equal(single.rows[0]?.cells[0], cart.metadata.name);
  assert.ok(single.columnDefinitions && single.columnDefinitions.length === 9);
});

test('list items carry no kind/apiVersion; get and watch objects do', TIMEOUT, async () => {
  for (const path of ['/api/v1/pods', '/api/v1/nodes', '/apis/apps/v1/deployments', '/api/v1/events']) {
    const l = await list<{ kind?: string; apiVersion?: string }>(path);
    assert.ok(l.items.length > 0);
    assert.ok(
      l.items.every((i) => i.kind === undefined && i.apiVersion === undefined),
      `${path} items must not carry kind/apiVersion`,
    );
  }
  const one = (await call(`/api/v1/namespaces/shop/pods/${cart.metadata.name}`)).body as {
    kind: string;
    apiVersion: string;
  };
  assert.equal(one.kind, 'Pod');
  assert.equal(one.apiVersion, 'v1');
  const deployment = (await call('/apis/apps/v1/namespaces/shop/deployments/cart')).body as {
    kind: string;
    apiVersion: string;
  };
  assert.deepEqual([deployment.kind, deployment.apiVersion], ['Deployment', 'apps/v1']);
  const watch = await readWatch('/api/v1/namespaces/shop/pods?watch=true', { until: (e) => e.length > 0 });
  assert.equal(watch.events[0]?.type, 'ADDED');
  assert.equal(watch.events[0]?.object.kind, 'Pod');
  assert.equal(watch.events[0]?.object.apiVersion, 'v1');
});

test(
  'continue tokens: one snapshot across pages, 410 once compacted, with a token that continues',
  TIMEOUT,
  async () => {
    const all = await list<Pod>('/api/v1/pods');
    const seen: string[] = [];
    let token: string | undefined;
    let first: ListBody<Pod> | undefined;
    do {
      const page: ListBody<Pod> = await list<Pod>(
        `/api/v1/pods?limit=5${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
      );
      first ??= page;
      assert.ok(page.items.length <= 5);
      assert.equal(page.metadata.resourceVersion, all.metadata.resourceVersion);
      seen.push(...page.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
      token = page.metadata.continue;
      if (token) assert.equal(page.metadata.remainingItemCount, all.items.length - seen.length);
      else assert.equal(page.metadata.remainingItemCount, undefined);
    } while (token);
    assert.deepEqual(
      seen,
      all.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
    );

    // Paging inside one namespace stops at its end.
    const shop = await list<Pod>('/api/v1/namespaces/shop/pods');
    const shopFirst = await list<Pod>('/api/v1/namespaces/shop/pods?limit=2');
    assert.equal(shopFirst.metadata.remainingItemCount, shop.items.length - 2);

    // A continue token cannot be combined with a resourceVersion; a garbled one is a 400.
    const pinned = await call(`/api/v1/pods?limit=5&resourceVersion=5&continue=${first.metadata.continue!}`);
    assert.equal(pinned.status, 400);
    assert.equal(statusOf(pinned).message, 'specifying resource version is not allowed when using continue');
    assert.equal((await call('/api/v1/pods?limit=5&continue=garbage')).status, 400);

    // Compaction expires the token: HTTP 410 Expired, plus a token to go on inconsistently.
    sim.faults.start({ name: 'watch-compact' });
    const expired = await call(`/api/v1/pods?limit=5&continue=${first.metadata.continue!}`);
    assert.equal(expired.status, 410);
    const status = statusOf(expired);
    assert.equal(status.reason, 'Expired');
    assert.match(
      status.message,
      /^The provided continue parameter is too old to display a consistent list result\./,
    );
    const next = status.metadata.continue;
    assert.ok(next, 'the 410 carries an inconsistent-continue token');
    const rest = await list<Pod>(`/api/v1/pods?limit=100&continue=${encodeURIComponent(next)}`);
    const firstPage = first.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
    const restNames = rest.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
    assert.deepEqual(restNames, seen.slice(firstPage.length), 'the remainder, from the latest state');
    assert.equal(rest.metadata.continue, undefined);
  },
);

test(
  'watch from a compacted resourceVersion: one ERROR 410 event, then the stream closes',
  TIMEOUT,
  async () => {
    const rv = (await list<Pod>('/api/v1/namespaces/shop/pods')).metadata.resourceVersion!;
    sim.advance(30_000); // some writes after the list
    const compactedAt = sim.cluster.world.store.resourceVersion;
    assert.ok(compactedAt > Number(rv));
    sim.faults.start({ name: 'watch-compact' });
    for (const accept of ['application/json', TABLE]) {
      const w = await readWatch(`/api/v1/namespaces/shop/pods?watch=true&resourceVersion=${rv}`, { accept });
      assert.equal(w.status, 200);
      assert.equal(w.contentType, 'application/json');
      assert.equal(w.ended, true, 'the server closes the stream after the ERROR');
      assert.equal(w.events.length, 1);
      const [event] = w.events;
      assert.equal(event?.type, 'ERROR');
      assert.equal(event?.object.kind, 'Status');
      assert.equal(event?.object.code, 410);
      assert.equal(event?.object.reason, 'Expired');
      // Upstream: `too old resource version: <requested> (<last compacted>)`.
      assert.equal(event?.object.message, `too old resource version: ${rv} (${compactedAt})`);
    }
    // A resourceVersion from the future is a 504 carrying the cause client-go looks for.
    const future = await call('/api/v1/pods?watch=true&resourceVersion=999999999');
    assert.equal(future.status, 504);
    assert.equal(statusOf(future).details?.causes?.[0]?.reason, 'ResourceVersionTooLarge');
  },
);

test('Table watch: columnDefinitions on the first event only', TIMEOUT, async () => {
  const w = await readWatch('/api/v1/namespaces/shop/pods?watch=true', {
    accept: TABLE,
    until: (events) => events.length >= 3,
  });
  assert.ok(w.events.length >= 3);
  const [head, ...rest] = w.events;
  assert.equal(head?.object.kind, 'Table');
  assert.ok(Array.isArray(head?.object.columnDefinitions) && head.object.columnDefinitions.length === 9);
  for (const event of rest) {
    assert.equal(event.object.kind, 'Table');
    assert.equal(event.object.columnDefinitions ?? null, null);
    assert.equal(event.object.rows?.length, 1);
  }
});

test('bookmarks only when allowWatchBookmarks=true', TIMEOUT, async () => {
  const rv = (await list<Pod>('/api/v1/namespaces/payments/pods')).metadata.resourceVersion!;
  const [plain, asked] = await Promise.all([
    readWatch(`/api/v1/namespaces/payments/pods?watch=true&resourceVersion=${rv}&timeoutSeconds=1`),
    readWatch(
      `/api/v1/namespaces/payments/pods?watch=true&resourceVersion=${rv}&timeoutSeconds=1&allowWatchBookmarks=true`,
    ),
  ]);
  assert.equal(plain.ended, true);
  assert.deepEqual(
    plain.events.filter((e) => e.type === 'BOOKMARK'),
    [],
  );
  const bookmarks = asked.events.filter((e) => e.type === 'BOOKMARK');
  assert.ok(bookmarks.length > 0, 'bookmarks every bookmarkIntervalMs');
  for (const b of bookmarks) {
    assert.equal(b.object.kind, 'Pod');
    assert.equal(b.object.apiVersion, 'v1');
    assert.match(b.object.metadata?.resourceVersion ?? '', /^\d+$/);
    assert.equal(b.object.metadata?.name, undefined);
  }
});

test('sendInitialEvents: the state as ADDED, then the initial-events-end bookmark', TIMEOUT, async () => {
  const state = await list<Pod>('/api/v1/namespaces/payments/pods');
  const w = await readWatch(
    '/api/v1/namespaces/payments/pods?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1',
    { until: (events) => events.some((e) => e.type === 'BOOKMARK') },
  );
  const added = w.events.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata?.name);
  assert.deepEqual(added.sort(), state.items.map((p) => p.metadata.name).sort());
  const end = w.events.at(-1);
  assert.equal(end?.type, 'BOOKMARK');
  assert.equal(end?.object.metadata?.annotations?.['k8s.io/initial-events-end'], 'true');
  assert.equal(end?.object.metadata?.resourceVersion, state.metadata.resourceVersion);

  const noMatch = await call('/api/v1/pods?watch=true&sendInitialEvents=true&allowWatchBookmarks=true');
  assert.equal(noMatch.status, 400);
  assert.equal(
    statusOf(noMatch).message,
    'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
  );
  const onList = await call(
    '/api/v1/pods?sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=1',
  );
  assert.equal(onList.status, 400);
});

test('label and field selectors, including involvedObject.* on events', TIMEOUT, async () => {
  const names = async (path: string): Promise<string[]> =>
    (await list<Pod>(path)).items.map((p) => p.metadata.name).sort();
  const all = (await list<Pod>('/api/v1/pods')).items;
  const dns = await names('/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dkube-dns');
  assert.equal(dns.length, 2);
  assert.ok(dns.every((n) => n.startsWith('coredns-')));
  const shop = (await list<Pod>('/api/v1/namespaces/shop/pods')).items;
  const appOf = (p: Pod): string | undefined => p.metadata.labels?.app;
  assert.deepEqual(
    await names(`/api/v1/namespaces/shop/pods?labelSelector=${encodeURIComponent('app in (cart,checkout)')}`),
    shop
      .filter((p) => ['cart', 'checkout'].includes(appOf(p) ?? ''))
      .map((p) => p.metadata.name)
      .sort(),
  );
  assert.deepEqual(
    await names(`/api/v1/pods?labelSelector=${encodeURIComponent('!app')}`),
    all
      .filter((p) => appOf(p) === undefined)
      .map((p) => p.metadata.name)
      .sort(),
  );
  assert.deepEqual(
    await names('/api/v1/pods?fieldSelector=spec.nodeName%3Dsim-worker'),
    all
      .filter((p) => p.spec.nodeName === 'sim-worker')
      .map((p) => p.metadata.name)
      .sort(),
  );
  assert.deepEqual(
    await names(`/api/v1/pods?fieldSelector=${encodeURIComponent('status.phase!=Running')}`),
    all
      .filter((p) => p.status.phase !== 'Running')
      .map((p) => p.metadata.name)
      .sort(),
  );
  // Regression: an unset boolean selects as "false", as upstream's strconv.FormatBool does.
  const hostNetwork = (p: Pod): boolean => (p.spec as { hostNetwork?: boolean }).hostNetwork === true;
  assert.deepEqual(
    await names('/api/v1/pods?fieldSelector=spec.hostNetwork%3Dfalse'),
    all
      .filter((p) => !hostNetwork(p))
      .map((p) => p.metadata.name)
      .sort(),
  );
  assert.deepEqual(
    await names('/api/v1/pods?fieldSelector=spec.hostNetwork%3Dtrue'),
    all
      .filter(hostNetwork)
      .map((p) => p.metadata.name)
      .sort(),
  );
  assert.equal(readField({ status: {} }, 'status.replicas'), '0');
  assert.equal(readField({ status: { succeeded: 2 } }, 'status.successful'), '2');
  assert.equal(readField({}, 'status.successful'), '0');

  const about = encodeURIComponent(
    `involvedObject.name=${cart.metadata.name},involvedObject.namespace=shop,involvedObject.uid=${cart.metadata.uid}`,
  );
  const events = (await list<CoreEvent>(`/api/v1/namespaces/shop/events?fieldSelector=${about}`)).items;
  assert.ok(events.length > 0);
  assert.ok(events.every((e) => e.involvedObject.uid === cart.metadata.uid));
  assert.ok(events.some((e) => e.reason === 'BackOff'));
  const warnings = (
    await list<CoreEvent>(
      `/api/v1/events?fieldSelector=${encodeURIComponent('involvedObject.kind=Pod,type=Warning,reason=BackOff')}`,
    )
  ).items;
  assert.ok(warnings.length >= 2);
  assert.ok(
    warnings.every((e) => e.type === 'Warning' && e.reason === 'BackOff' && e.involvedObject.kind === 'Pod'),
  );

  const unsupported = await call('/api/v1/pods?fieldSelector=spec.foo%3Dbar');
  assert.equal(unsupported.status, 400);
  assert.equal(statusOf(unsupported).message, 'field label not supported: spec.foo');
  const badLabels = await call(`/api/v1/pods?labelSelector=${encodeURIComponent('app inn (x)')}`);
  assert.equal(badLabels.status, 400);
  assert.equal(statusOf(badLabels).reason, 'BadRequest');

  // A watch with a field selector only sees its object.
  const target = shop.find((p) => appOf(p) === 'frontend')!.metadata.name;
  const other = shop.find((p) => appOf(p) === 'checkout')!.metadata.name;
  const rv = (await list<Pod>('/api/v1/namespaces/shop/pods')).metadata.resourceVersion!;
  for (const victim of [other, target])
    assert.equal((await call(`/api/v1/namespaces/shop/pods/${victim}`, { method: 'DELETE' })).status, 200);
  const w = await readWatch(
    `/api/v1/namespaces/shop/pods?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3D${target}&timeoutSeconds=1`,
  );
  assert.ok(w.events.length > 0);
  assert.ok(w.events.every((e) => e.object.metadata?.name === target));
});

test(
  'over TLS: 401 without the token (even for health once a bad token is sent), 200 with it',
  TIMEOUT,
  async () => {
    const token = 'contract-token';
    const secure = await startSimulator({ clock: 'manual', tls: true, token });
    try {
      const caData = /certificate-authority-data: (\S+)/.exec(secure.kubeconfig())?.[1];
      assert.ok(caData);
      const ca = Buffer.from(caData, 'base64').toString('utf8');
      const get = (path: string, bearer?: string): Promise<{ status: number; type: string; text: string }> =>
        new Promise((resolve, reject) => {
          const url = new URL(`${secure.url}${path}`);
          const req = httpsRequest(
            {
              host: url.hostname,
              port: url.port,
              path: `${url.pathname}${url.search}`,
              ca,
              headers: bearer ? { Authorization: `Bearer ${bearer}` } : {},
              timeout: 10_000,
            },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (text += chunk));
              res.on('end', () =>
                resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', text }),
              );
            },
          );
          req.on('error', reject);
          req.end();
        });
      for (const path of [
        '/api/v1/pods',
        '/api',
        '/apis/apps/v1/deployments',
        '/api/v1/nodes/sim-worker/proxy/stats/summary',
      ]) {
        const denied = await get(path);
        assert.equal(denied.status, 401, path);
        assert.equal(denied.type, 'application/json');
        assert.deepEqual(JSON.parse(denied.text), {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'Unauthorized',
          reason: 'Unauthorized',
          code: 401,
        });
        assert.equal((await get(path, 'wrong')).status, 401, path);
        assert.equal((await get(path, token)).status, 200, path);
      }
      for (const path of ['/version', '/readyz', '/livez', '/healthz']) {
        assert.equal((await get(path)).status, 200, `${path} is public to anonymous callers`);
        assert.equal((await get(path, 'wrong')).status, 401, `${path} with a bad token`);
      }
    } finally {
      await secure.close();
    }
  },
);

test('errors are Status objects with the upstream reason and message', TIMEOUT, async () => {
  const cases: [
    method: string,
    path: string,
    code: number,
    reason: string,
    message: RegExp,
    body?: string,
    type?: string,
  ][] = [
    ['GET', '/api/v1/namespaces/shop/pods/nope', 404, 'NotFound', /^pods "nope" not found$/],
    [
      'GET',
      '/apis/apps/v1/namespaces/shop/deployments/nope',
      404,
      'NotFound',
      /^deployments\.apps "nope" not found$/,
    ],
    ['GET', '/api/v1/foos', 404, 'NotFound', /^the server could not find the requested resource$/],
    [
      'GET',
      '/apis/metrics.k8s.io/v1beta1/nodes/nope',
      404,
      'NotFound',
      /^nodes\.metrics\.k8s\.io "nope" not found$/,
    ],
    ['POST', '/api/v1/nodes/sim-worker', 405, 'MethodNotAllowed', /does not allow this method/],
    [
      'GET',
      '/apis/metrics.k8s.io/v1beta1/nodes?watch=true',
      405,
      'MethodNotAllowed',
      /does not allow this method/,
    ],
    ['GET', '/api/v1/pods?limit=abc', 400, 'BadRequest', /limit/],
    [
      'GET',
      '/api/v1/pods?resourceVersion=999999999',
      504,
      'Timeout',
      /^Timeout: Too large resource version: 999999999, current: \d+$/,
    ],
    [
      'POST',
      '/api/v1/namespaces/shop/pods',
      400,
      'BadRequest',
      /unknown format/,
      'not json',
      'application/json',
    ],
    // Regression: protobuf bodies (typed clientsets) used to fail as a JSON parse error.
    [
      'POST',
      '/api/v1/namespaces/shop/pods',
      415,
      'UnsupportedMediaType',
      /^the body of the request was in an unknown format - accepted media types include: application\/json$/,
      'k8s\u0000binary',
      'application/vnd.kubernetes.protobuf',
    ],
    [
      'POST',
      '/api/v1/namespaces/shop/pods',
      409,
      'AlreadyExists',
      new RegExp(`^pods "${cart.metadata.name}" already exists$`),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: cart.metadata.name },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      }),
      'application/json',
    ],
    [
      'PUT',
      `/api/v1/namespaces/shop/pods/${cart.metadata.name}`,
      409,
      'Conflict',
      /the object has been modified; please apply your changes to the latest version and try again$/,
      JSON.stringify({ ...cart, metadata: { ...cart.metadata, resourceVersion: '1' } }),
      'application/json',
    ],
  ];
  for (const [method, path, code, reason, message, body, contentType] of cases) {
    const answer = await call(path, {
      method,
      ...(body !== undefined ? { body } : {}),
      ...(contentType !== undefined ? { contentType } : {}),
    });
    const what = `${method} ${path}`;
    assert.equal(answer.status, code, `${what}: ${answer.text.slice(0, 300)}`);
    const status = statusOf(answer);
    assert.equal(status.reason, reason, what);
    assert.match(status.message, message, what);
    assert.deepEqual(status.metadata, {}, what);
  }
  const notFound = statusOf(await call('/apis/apps/v1/namespaces/shop/deployments/nope'));
  assert.deepEqual(notFound.details, { name: 'nope', group: 'apps', kind: 'deployments' });
  const tooLarge = statusOf(await call('/api/v1/pods?resourceVersion=999999999'));
  assert.equal(tooLarge.details?.causes?.[0]?.reason, 'ResourceVersionTooLarge');
  const protobufOnly = await call('/api/v1/pods', { accept: 'application/vnd.kubernetes.protobuf' });
  assert.equal(protobufOnly.status, 406);
  assert.equal(statusOf(protobufOnly).reason, 'NotAcceptable');
});

test('DELETE accepts the protobuf DeleteOptions that typed clientsets send', TIMEOUT, async () => {
  const varint = (n: number): Buffer => {
    const out: number[] = [];
    for (let v = n; ; v = Math.floor(v / 128)) {
      if (v < 128) {
        out.push(v);
        break;
      }
      out.push((v % 128) | 0x80);
    }
    return Buffer.from(out);
  };
  const bytes = (field: number, payload: Buffer): Buffer =>
    Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload]);
  const typeMeta = Buffer.concat([bytes(1, Buffer.from('v1')), bytes(2, Buffer.from('DeleteOptions'))]);
  // DeleteOptions{gracePeriodSeconds: 0, propagationPolicy: "Background"}
  const options = Buffer.concat([varint(1 << 3), varint(0), bytes(4, Buffer.from('Background'))]);
  const body = Buffer.concat([Buffer.from('k8s\u0000', 'latin1'), bytes(1, typeMeta), bytes(2, options)]);

  const [victim, bystander] = (await list<Pod>('/api/v1/namespaces/payments/pods?labelSelector=app%3Dworker'))
    .items as [Pod, Pod];
  const path = `/api/v1/namespaces/payments/pods/${victim.metadata.name}`;
  const res = await fetch(`${sim.url}${path}`, {
    method: 'DELETE',
    headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf', Accept: PROTO_JSON },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(res.status, 200, await res.text());
  // gracePeriodSeconds 0 was honoured: the pod is gone at once, without a grace period.
  assert.equal((await call(path)).status, 404);

  const garbled = await call(`/api/v1/namespaces/payments/pods/${bystander.metadata.name}`, {
    method: 'DELETE',
    body: 'k8s\u0000\u00ff',
    contentType: 'application/vnd.kubernetes.protobuf',
  });
  assert.equal(garbled.status, 400);
  assert.equal(statusOf(garbled).reason, 'BadRequest');
  assert.equal((await call(`/api/v1/namespaces/payments/pods/${bystander.metadata.name}`)).status, 200);
});

test('/readyz?verbose and the other health endpoints', TIMEOUT, async () => {
  const plain = await call('/readyz');
  assert.equal(plain.status, 200);
  assert.equal(plain.text, 'ok');
  assert.equal(plain.contentType, 'text/plain; charset=utf-8');
  assert.equal(plain.headers.get('x-content-type-options'), 'nosniff');
  const verbose = await call('/readyz?verbose');
  const lines = verbose.text.trimEnd().split('\n');
  assert.ok(
    lines.slice(0, -1).every((l) => /^\[\+\]\S+ ok$/.test(l)),
    verbose.text,
  );
  assert.ok(lines.includes('[+]ping ok') && lines.includes('[+]etcd ok') && lines.includes('[+]shutdown ok'));
  assert.equal(lines.at(-1), 'readyz check passed');
  assert.equal((await call('/livez?verbose')).text.trimEnd().split('\n').at(-1), 'livez check passed');
  assert.match((await call('/readyz?verbose&exclude=etcd')).text, /^\[\+\]etcd excluded: ok$/m);
  assert.equal((await call('/readyz/ping')).text, 'ok');
  assert.equal((await call('/readyz/nope')).status, 404);

  const fault = sim.faults.start({ name: 'apiserver-unready' });
  try {
    const failing = await call('/readyz');
    assert.equal(failing.status, 500);
    assert.equal(failing.contentType, 'text/plain; charset=utf-8');
    // A failing check always answers verbosely, with the reason withheld.
    assert.match(failing.text, /^\[-\]etcd-readiness failed: reason withheld$/m);
    assert.match(failing.text, /^\[\+\]ping ok$/m);
    assert.match(failing.text, /readyz check failed\n$/);
    assert.equal((await call('/readyz?exclude=etcd-readiness')).status, 200);
    const check = await call('/readyz/etcd-readiness');
    assert.equal(check.status, 500);
    assert.match(check.text, /^internal server error: /);
    assert.equal((await call('/livez')).status, 200);
  } finally {
    sim.faults.stop(fault.id);
  }
  assert.equal((await call('/readyz')).status, 200);
});

test('the kubelet summary through /api/v1/nodes/NAME/proxy/stats/summary', TIMEOUT, async () => {
  interface Summary {
    node: {
      nodeName: string;
      cpu: { usageNanoCores: number; time: string };
      memory: { workingSetBytes: number; availableBytes: number };
      fs: { capacityBytes: number; usedBytes: number };
      systemContainers: { name: string }[];
    };
    pods: { podRef: { name: string; namespace: string; uid: string }; containers: { name: string }[] }[];
  }
  const answer = await call('/api/v1/nodes/sim-worker/proxy/stats/summary', { accept: JSON_ANY });
  assert.equal(answer.status, 200);
  assert.equal(answer.contentType, 'application/json');
  const summary = answer.body as Summary;
  assert.equal(summary.node.nodeName, 'sim-worker');
  assert.equal(typeof summary.node.cpu.usageNanoCores, 'number');
  assert.equal(typeof summary.node.memory.workingSetBytes, 'number');
  assert.ok(summary.node.fs.capacityBytes > summary.node.fs.usedBytes);
  assert.ok(!Number.isNaN(Date.parse(summary.node.cpu.time)));
  const system = summary.node.systemContainers.map((c) => c.name);
  assert.ok(system.includes('kubelet') && system.includes('runtime'), system.join(', '));
  // The summary covers exactly the running pods the API places on the node.
  const running = (await list<Pod>('/api/v1/pods?fieldSelector=spec.nodeName%3Dsim-worker')).items.filter(
    (p) => p.status.phase === 'Running',
  );
  assert.ok(summary.pods.length > 0);
  assert.deepEqual(
    summary.pods.map((p) => `${p.podRef.namespace}/${p.podRef.name}/${p.podRef.uid}`).sort(),
    running.map((p) => `${p.metadata.namespace}/${p.metadata.name}/${p.metadata.uid}`).sort(),
  );
  const withPort = await call('/api/v1/nodes/sim-worker:10250/proxy/stats/summary');
  assert.equal(withPort.status, 200);
  const missing = await call('/api/v1/nodes/nope/proxy/stats/summary');
  assert.equal(missing.status, 404);
  assert.equal(statusOf(missing).message, 'nodes "nope" not found');
});

test('metrics.k8s.io lists, gets and selectors', TIMEOUT, async () => {
  interface NodeMetrics {
    kind?: string;
    metadata: { name: string; labels?: Record<string, string> };
    timestamp: string;
    window: string;
    usage: { cpu: string; memory: string };
  }
  interface PodMetrics {
    metadata: { name: string; namespace: string };
    containers: { name: string; usage: { cpu: string; memory: string } }[];
  }
  const nodes = await list<NodeMetrics>('/apis/metrics.k8s.io/v1beta1/nodes', PROTO_ANY);
  assert.equal(nodes.kind, 'NodeMetricsList');
  assert.equal(nodes.apiVersion, 'metrics.k8s.io/v1beta1');
  assert.deepEqual(nodes.items.map((n) => n.metadata.name).sort(), [
    'sim-control-plane',
    'sim-worker',
    'sim-worker2',
    'sim-worker3',
    'sim-worker4',
  ]);
  for (const n of nodes.items) {
    assert.equal(n.kind, undefined);
    assert.match(n.usage.cpu, /^\d+n$/);
    assert.match(n.usage.memory, /^\d+Ki$/);
    assert.match(n.window, /^\d+(\.\d+)?s$/);
    assert.ok(!Number.isNaN(Date.parse(n.timestamp)));
  }
  const one = (await call('/apis/metrics.k8s.io/v1beta1/nodes/sim-worker')).body as NodeMetrics & {
    apiVersion: string;
  };
  assert.deepEqual(
    [one.kind, one.apiVersion, one.metadata.name],
    ['NodeMetrics', 'metrics.k8s.io/v1beta1', 'sim-worker'],
  );

  const pods = await list<PodMetrics>('/apis/metrics.k8s.io/v1beta1/pods', PROTO_ANY);
  assert.equal(pods.kind, 'PodMetricsList');
  assert.ok(pods.items.length > 10);
  const system = await list<PodMetrics>('/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods');
  assert.ok(system.items.length > 0 && system.items.every((p) => p.metadata.namespace === 'kube-system'));
  assert.ok(system.items.every((p) => p.containers.every((c) => /^\d+n$/.test(c.usage.cpu))));

  // Regression: label and field selectors used to be ignored (`kubectl top pod -l` printed everything).
  const dns = await list<PodMetrics>(
    '/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dkube-dns',
  );
  assert.equal(dns.items.length, 2);
  assert.ok(dns.items.every((p) => p.metadata.name.startsWith('coredns-')));
  const cp = await list<NodeMetrics>(
    '/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=node-role.kubernetes.io%2Fcontrol-plane',
  );
  assert.deepEqual(
    cp.items.map((n) => n.metadata.name),
    ['sim-control-plane'],
  );
  const byName = await list<NodeMetrics>(
    '/apis/metrics.k8s.io/v1beta1/nodes?fieldSelector=metadata.name%3Dsim-worker2',
  );
  assert.deepEqual(
    byName.items.map((n) => n.metadata.name),
    ['sim-worker2'],
  );
});
