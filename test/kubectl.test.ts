/**
 * Fidelity with the real kubectl: every command runs the actual binary (1.32 by default, plus the other
 * minors and the gcloud dispatcher where installed) against the simulator, and asserts both what kubectl
 * prints and what it asked the API server for. Skips only where no kubectl is installed.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { startSimulator, type RequestRecord, type Simulator } from '../src/sim/index.js';
import type { Pod } from '../src/sim/model.js';
import { isDispatcher, KubectlSession, kubectlVersion, DISPATCHER, skip } from './helpers/kubectl.js';

const TABLE_ACCEPT = 'as=Table';
const TIMEOUT = { timeout: 60_000 };

let sim: Simulator;
let kubectl: KubectlSession;
/** The crash-looping pods of shop/cart. */
let cartPods: string[] = [];

before(async () => {
  if (skip) return;
  // A manual clock makes the crash loop deterministic; a short watch cap bounds `kubectl get -w`.
  // Pinned: these tests run kubectl 1.32 against a server of the same minor (the default follows the date).
  sim = await startSimulator({ clock: 'manual', maxWatchSeconds: 3, version: 'v1.32.2' });
  sim.faults.start({ name: 'crashloop', target: 'shop/cart' });
  sim.advance(5 * 60_000);
  kubectl = new KubectlSession(sim.kubeconfig());
  cartPods = (await apiPods('shop', 'app=cart')).map((p) => p.metadata.name);
});

after(async () => {
  kubectl?.close();
  await sim?.close();
});

async function apiPods(namespace: string | undefined, labelSelector?: string): Promise<Pod[]> {
  const base = namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods';
  const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
  const res = await fetch(`${sim.url}${base}${query}`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  return ((await res.json()) as { items: Pod[] }).items;
}

/** Runs `fn` and returns the requests the simulator served meanwhile. */
async function requestsDuring<T>(
  target: Simulator,
  fn: () => Promise<T>,
): Promise<{ result: T; requests: RequestRecord[] }> {
  const before = new Set(target.requestLog());
  const result = await fn();
  return { result, requests: target.requestLog().filter((r) => !before.has(r)) };
}

function fieldSelectorOf(r: RequestRecord): string | null {
  return new URLSearchParams(r.query).get('fieldSelector');
}

function dataRows(output: string): string[] {
  return output.trimEnd().split('\n').slice(1);
}

test('kubectl version reports the simulator /version', { skip, ...TIMEOUT }, async () => {
  const { result, requests } = await requestsDuring(sim, () => kubectl.ok(['version', '-o', 'json']));
  const info = JSON.parse(result) as { serverVersion: { gitVersion: string; major: string; minor: string } };
  assert.match(info.serverVersion.gitVersion, /^v1\.32\.\d+$/);
  assert.equal(info.serverVersion.major, '1');
  assert.equal(info.serverVersion.minor, '32');
  assert.ok(requests.some((r) => r.path === '/version' && r.query === 'timeout=32s' && r.status === 200));
});

test(
  'the gcloud dispatcher runs kubectl.1.<minor> matching /version',
  { skip: skip || (isDispatcher() ? false : `${DISPATCHER} is not the gcloud dispatcher`), ...TIMEOUT },
  async () => {
    const { result, requests } = await requestsDuring(sim, () =>
      kubectl.ok(['version'], { binary: DISPATCHER }),
    );
    assert.match(result, /^Server Version: v1\.32\.\d+$/m);
    const probe = requests.find(
      (r) => r.path === '/version' && r.userAgent.startsWith('kubectl-dispatcher/'),
    );
    assert.ok(probe, 'the dispatcher asks /version first');
    assert.equal(probe.query, 'timeout=5s');
    assert.ok(requests.some((r) => r.userAgent.startsWith('kubectl/v1.32.')));

    // The reported minor picks the binary: the same dispatcher runs 1.27 or 1.33 for those servers.
    for (const [gitVersion, minor] of [
      ['v1.27.16', '1.27'],
      ['v1.33.1', '1.33'],
    ] as const) {
      if (!kubectlVersion(minor)) continue;
      const other = await startSimulator({ clock: 'manual', version: gitVersion });
      const session = new KubectlSession(other.kubeconfig());
      try {
        const out = await session.ok(['get', 'nodes'], { binary: DISPATCHER });
        assert.match(
          out,
          new RegExp(`^sim-worker\\s+Ready\\s+<none>\\s+\\S+\\s+${gitVersion.replace(/\./g, '\\.')}$`, 'm'),
        );
        const agents = new Set(other.requestLog().map((r) => r.userAgent.split(' ')[0]));
        assert.ok(agents.has(`kubectl/${gitVersion}`), `agents: ${[...agents].join(', ')}`);
      } finally {
        session.close();
        await other.close();
      }
    }
  },
);

test('get nodes prints the server-side Table: Ready, roles, v1.32.x', { skip, ...TIMEOUT }, async () => {
  const { result, requests } = await requestsDuring(sim, () => kubectl.ok(['get', 'nodes']));
  const lines = result.trimEnd().split('\n');
  assert.match(lines[0]!, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
  assert.match(result, /^sim-control-plane\s+Ready\s+control-plane\s+\d+d\s+v1\.32\.\d+$/m);
  for (const worker of ['sim-worker', 'sim-worker2', 'sim-worker3', 'sim-worker4'])
    assert.match(result, new RegExp(`^${worker}\\s+Ready\\s+<none>\\s+\\d+d\\s+v1\\.32\\.\\d+$`, 'm'));
  // Aggregated discovery (two GETs) and exactly one Table list: no fallback to per-group discovery.
  assert.deepEqual(
    requests.filter((r) => r.path === '/api' || r.path === '/apis').map((r) => [r.path, r.status]),
    [
      ['/api', 200],
      ['/apis', 200],
    ],
  );
  assert.ok(!requests.some((r) => r.path === '/api/v1' || /^\/apis\/[^/]+\/[^/]+$/.test(r.path)));
  const lists = requests.filter((r) => r.path === '/api/v1/nodes');
  assert.equal(lists.length, 1);
  assert.equal(lists[0]!.query, 'limit=500');
  assert.ok(lists[0]!.accept.includes(TABLE_ACCEPT));

  const wide = await kubectl.ok(['get', 'nodes', '-o', 'wide']);
  assert.match(
    wide.split('\n')[0]!,
    /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME$/,
  );
  assert.match(
    wide,
    /^sim-worker\s+Ready\s+<none>\s+\S+\s+v1\.32\.\d+\s+\d+\.\d+\.\d+\.\d+\s+<none>\s+.+\s+containerd:\/\/\S+$/m,
  );
});

test('get pods -A shows CrashLoopBackOff under the crashloop fault', { skip, ...TIMEOUT }, async () => {
  const out = await kubectl.ok(['get', 'pods', '-A']);
  assert.match(out.split('\n')[0]!, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
  assert.equal(cartPods.length, 2);
  for (const name of cartPods) {
    const row = new RegExp(
      `^shop\\s+${name}\\s+0/1\\s+CrashLoopBackOff\\s+(\\d+) \\(\\S+ ago\\)\\s+\\S+$`,
      'm',
    ).exec(out);
    assert.ok(row, `no CrashLoopBackOff row for ${name}:\n${out}`);
    assert.ok(Number(row[1]) >= 3, `restarts ${row[1]}`);
  }
  assert.match(out, /^kube-system\s+coredns-\S+\s+1\/1\s+Running\s+0\s+\d+d$/m);
  // Every pod of the API appears once.
  assert.equal(dataRows(out).length, (await apiPods(undefined)).length);
});

test('get deploy -n kube-system shows READY 2/2 for coredns', { skip, ...TIMEOUT }, async () => {
  const { result, requests } = await requestsDuring(sim, () =>
    kubectl.ok(['get', 'deploy', '-n', 'kube-system']),
  );
  assert.match(result.split('\n')[0]!, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
  assert.match(result, /^coredns\s+2\/2\s+2\s+2\s+\d+d$/m);
  for (const row of dataRows(result)) {
    const m = /^\S+\s+(\d+)\/(\d+)\s/.exec(row);
    assert.ok(m && m[1] === m[2], `kube-system deployment not ready: ${row}`);
  }
  assert.ok(
    requests.some(
      (r) =>
        r.path === '/apis/apps/v1/namespaces/kube-system/deployments' &&
        r.query === 'limit=500' &&
        r.accept.includes(TABLE_ACCEPT),
    ),
  );
  // The faulty workload is visibly not ready.
  assert.match(await kubectl.ok(['get', 'deploy', '-n', 'shop']), /^cart\s+0\/2\s+2\s+0\s+\d+d$/m);
});

test('get events -A shows BackOff warnings for the crash-looping pods', { skip, ...TIMEOUT }, async () => {
  const out = await kubectl.ok(['get', 'events', '-A']);
  assert.match(out.split('\n')[0]!, /^NAMESPACE\s+LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
  for (const name of cartPods) {
    assert.match(
      out,
      new RegExp(
        `^shop\\s+\\S+\\s+Warning\\s+BackOff\\s+pod/${name}\\s+Back-off restarting failed container cart in pod ${name}_shop\\(`,
        'm',
      ),
    );
  }
});

test(
  'top nodes and top pods -A read metrics.k8s.io, honouring label selectors',
  { skip, ...TIMEOUT },
  async () => {
    const { result: nodes, requests } = await requestsDuring(sim, () => kubectl.ok(['top', 'nodes']));
    assert.match(
      nodes.split('\n')[0]!,
      /^NAME\s+CPU\(cores\)\s+CPU\(%\)\s+MEMORY\(bytes\)\s+MEMORY\(%\)\s*$/,
    );
    for (const node of ['sim-control-plane', 'sim-worker', 'sim-worker4'])
      assert.match(nodes, new RegExp(`^${node}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%\\s*$`, 'm'));
    assert.ok(requests.some((r) => r.path === '/apis/metrics.k8s.io/v1beta1/nodes' && r.status === 200));

    const pods = await kubectl.ok(['top', 'pods', '-A']);
    assert.match(pods.split('\n')[0]!, /^NAMESPACE\s+NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s*$/);
    assert.match(pods, /^kube-system\s+coredns-\S+\s+\d+m\s+\d+Mi\s*$/m);

    // Regression: metrics lists used to ignore labelSelector, so `top -l` printed every pod and node.
    const dns = await kubectl.ok(['top', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-dns']);
    const dnsRows = dataRows(dns);
    assert.equal(dnsRows.length, 2, dns);
    assert.ok(dnsRows.every((row) => row.startsWith('coredns-')));
    const cp = await kubectl.ok(['top', 'nodes', '-l', 'node-role.kubernetes.io/control-plane']);
    assert.equal(dataRows(cp).length, 1, cp);
    assert.match(cp, /^sim-control-plane\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%/m);
  },
);

test(
  'get --raw /readyz?verbose passes, and fails with exit 1 under apiserver-unready',
  { skip, ...TIMEOUT },
  async () => {
    const { result, requests } = await requestsDuring(sim, () =>
      kubectl.ok(['get', '--raw', '/readyz?verbose']),
    );
    assert.match(result, /^\[\+\]ping ok$/m);
    assert.match(result, /^\[\+\]etcd-readiness ok$/m);
    assert.match(result, /readyz check passed\s*$/);
    assert.deepEqual(
      requests.map((r) => [r.path, r.query]),
      [['/readyz', 'verbose=']],
    );

    const fault = sim.faults.start({ name: 'apiserver-unready' });
    try {
      const failed = await kubectl.run(['get', '--raw', '/readyz?verbose']);
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, /Error from server \(InternalError\): an error on the server/);
      assert.match(failed.stderr, /\[-\]etcd-readiness failed: reason withheld/);
      assert.match(failed.stderr, /readyz check failed/);
    } finally {
      sim.faults.stop(fault.id);
    }
    assert.match(await kubectl.ok(['get', '--raw', '/readyz']), /^ok$/);
  },
);

test('get --raw reaches the kubelet summary through the node proxy', { skip, ...TIMEOUT }, async () => {
  const out = await kubectl.ok(['get', '--raw', '/api/v1/nodes/sim-worker/proxy/stats/summary']);
  const summary = JSON.parse(out) as { node: { nodeName: string }; pods: { podRef: { name: string } }[] };
  assert.equal(summary.node.nodeName, 'sim-worker');
  assert.ok(summary.pods.length > 0);
});

test('describe pod shows the crash loop and the pod events', { skip, ...TIMEOUT }, async () => {
  const name = cartPods[0]!;
  const { result, requests } = await requestsDuring(sim, () =>
    kubectl.ok(['describe', 'pod', '-n', 'shop', name]),
  );
  assert.match(result, new RegExp(`^Name:\\s+${name}$`, 'm'));
  assert.match(result, /^Controlled By:\s+ReplicaSet\/cart-\S+$/m);
  assert.match(result, /State:\s+Waiting\n\s+Reason:\s+CrashLoopBackOff/);
  assert.match(result, /Last State:\s+Terminated\n\s+Reason:\s+Error\n\s+Exit Code:\s+1/);
  assert.match(result, /Restart Count:\s+[1-9]\d*/);
  assert.match(result, /Warning\s+BackOff\s+.+\s+kubelet\s+Back-off restarting failed container cart/);
  const eventQuery = requests.find((r) => r.path === '/api/v1/namespaces/shop/events');
  assert.ok(eventQuery, 'describe lists the pod events');
  assert.equal(eventQuery.status, 200);
  const selector = fieldSelectorOf(eventQuery) ?? '';
  assert.match(selector, new RegExp(`involvedObject.name=${name}`));
  assert.match(selector, /involvedObject.namespace=shop/);
  assert.match(selector, /involvedObject.uid=[0-9a-f-]{36}/);
});

test('logs and logs --previous of a crash-looping pod', { skip, ...TIMEOUT }, async () => {
  const name = cartPods[0]!;
  const { result: current, requests } = await requestsDuring(sim, () =>
    kubectl.ok(['logs', '-n', 'shop', name]),
  );
  const lastLine = current.trimEnd().split('\n').at(-1) ?? '';
  assert.match(lastLine, /"level":"fatal"/, 'the last run ended in the crash');
  const logRequest = requests.find((r) => r.path === `/api/v1/namespaces/shop/pods/${name}/log`);
  assert.ok(logRequest);
  assert.equal(new URLSearchParams(logRequest.query).get('container'), 'cart');

  const previous = await kubectl.ok(['logs', '-n', 'shop', name, '--previous']);
  assert.ok(previous.trim().split('\n').length > 1);
  assert.match(previous.trimEnd().split('\n').at(-1) ?? '', /"level":"fatal"/);

  // A container that never restarted has no previous instance: the API server's 400, exit 1.
  const dns = (await apiPods('kube-system', 'k8s-app=kube-dns'))[0]!.metadata.name;
  const none = await kubectl.run(['logs', '-n', 'kube-system', dns, '--previous']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, new RegExp(`previous terminated container "coredns" in pod "${dns}" not found`));
});

test('get pods --chunk-size=3 pages with continue tokens', { skip, ...TIMEOUT }, async () => {
  const total = (await apiPods(undefined)).length;
  const { result, requests } = await requestsDuring(sim, () =>
    kubectl.ok(['get', 'pods', '-A', '--chunk-size=3']),
  );
  assert.equal(result.split('\n').filter((l) => l.startsWith('NAMESPACE')).length, 1, 'one header');
  assert.equal(dataRows(result).length, total);
  const pages = requests.filter((r) => r.path === '/api/v1/pods');
  assert.equal(pages.length, Math.ceil(total / 3));
  assert.equal(new URLSearchParams(pages[0]!.query).get('continue'), null);
  for (const page of pages) assert.equal(new URLSearchParams(page.query).get('limit'), '3');
  for (const page of pages.slice(1)) assert.ok(new URLSearchParams(page.query).get('continue'));
});

// The other minors read the same crash-looping state, so they run before the tests that move the clock.
for (const minor of ['1.27', '1.29', '1.30', '1.33']) {
  const binary = kubectlVersion(minor);
  const reason = skip || (binary ? false : `kubectl ${minor} is not installed`);
  test(
    `kubectl ${minor}: discovery negotiation and the core commands`,
    { skip: reason, ...TIMEOUT },
    async () => {
      const run = (args: string[]): Promise<string> => kubectl.ok(args, { binary: binary! });
      const { result: nodes, requests } = await requestsDuring(sim, () => run(['get', 'nodes']));
      assert.match(nodes, /^sim-worker\s+Ready\s+<none>\s+\d+d\s+v1\.32\.\d+$/m);
      const discovery = requests.filter((r) => r.path === '/api' || r.path === '/apis');
      assert.equal(discovery.length, 2);
      for (const r of discovery) {
        assert.ok(r.userAgent.includes(`/v${minor}.`), r.userAgent);
        assert.ok(r.accept.includes('v=v2beta1'), r.accept);
        // 1.27–1.29 only know v2beta1; the simulator must not answer them with v2.
        assert.equal(r.accept.includes('v=v2;'), Number(minor.split('.')[1]) >= 30, r.accept);
      }
      assert.match(await run(['get', 'pods', '-A']), /^shop\s+cart-\S+\s+0\/1\s+CrashLoopBackOff\s/m);
      assert.match(await run(['get', 'deploy', '-n', 'kube-system']), /^coredns\s+2\/2\s+2\s+2\s/m);
      assert.match(await run(['get', 'events', '-A']), /^shop\s+\S+\s+Warning\s+BackOff\s+pod\/cart-/m);
      assert.match(await run(['top', 'nodes']), /^sim-worker\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%/m);
    },
  );
}

test('get pods -w streams the changes until the server ends the watch', { skip, ...TIMEOUT }, async () => {
  const victim = (await apiPods('shop', 'app=checkout'))[0]!.metadata.name;
  const running = requestsDuring(sim, () =>
    kubectl.run(['get', 'pods', '-n', 'shop', '-w', '--output-watch-events'], { timeoutMs: 20_000 }),
  );
  await sim.whenWatching('pods');
  const res = await fetch(`${sim.url}/api/v1/namespaces/shop/pods/${victim}`, {
    method: 'DELETE',
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(res.status, 200);
  sim.advance(2_000); // the ReplicaSet creates a replacement
  sim.advance(40_000); // the grace period ends and the pod is gone
  const { result, requests } = await running;
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.timedOut, false);
  const out = result.stdout;
  assert.match(out.split('\n')[0]!, /^EVENT\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
  assert.match(out, new RegExp(`^ADDED\\s+${victim}\\s+1/1\\s+Running\\s+0\\s+\\d+d$`, 'm'));
  assert.match(out, new RegExp(`^MODIFIED\\s+${victim}\\s+\\d/1\\s+Terminating\\s`, 'm'));
  assert.match(out, /^ADDED\s+checkout-\S+\s+0\/1\s+Pending\s+0\s+0s$/m);
  assert.match(out, new RegExp(`^DELETED\\s+${victim}\\s`, 'm'));
  // No bookmarks were asked for, so none may show up as garbage rows.
  assert.doesNotMatch(out, /<unknown>/);
  const watch = requests.find(
    (r) => r.path === '/api/v1/namespaces/shop/pods' && r.query.includes('watch=true'),
  );
  assert.ok(watch, 'kubectl watched');
  const params = new URLSearchParams(watch.query);
  assert.match(params.get('resourceVersion') ?? '', /^\d+$/);
  assert.equal(params.get('allowWatchBookmarks'), null);
  assert.ok(watch.accept.includes(TABLE_ACCEPT));
});

test(
  'delete pod waits for the deletion, and the ReplicaSet replaces the pod',
  { skip, ...TIMEOUT },
  async () => {
    const before = (await apiPods('shop', 'app=frontend')).map((p) => p.metadata.name);
    const victim = before[0]!;
    const deleting = kubectl.run(['delete', 'pod', '-n', 'shop', victim], { timeoutMs: 30_000 });
    // kubectl waits with a watch on the pod; the manual clock has to run out its grace period.
    const patience = new AbortController();
    await Promise.race([
      sim.whenWatching('pods'),
      delay(10_000, undefined, { signal: patience.signal }).catch(() => undefined),
    ]);
    patience.abort();
    sim.advance(40_000);
    const result = await deleting;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^pod "${victim}" deleted`, 'm'));
    const after = (await apiPods('shop', 'app=frontend')).map((p) => p.metadata.name);
    assert.equal(after.length, before.length);
    assert.ok(!after.includes(victim));
    const out = await kubectl.ok(['get', 'pods', '-n', 'shop', '-l', 'app=frontend']);
    assert.equal(dataRows(out).length, before.length);
    assert.ok(
      dataRows(out).every((row) => /\s1\/1\s+Running\s/.test(row)),
      out,
    );
  },
);

test(
  'create: JSON bodies work, protobuf bodies get 415 rather than a parse error',
  { skip, ...TIMEOUT },
  async () => {
    const file = join(kubectl.home, 'web.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: web, namespace: default}',
        'spec:',
        '  replicas: 1',
        '  selector: {matchLabels: {app: web}}',
        '  template:',
        '    metadata: {labels: {app: web}}',
        '    spec: {containers: [{name: web, image: "nginx:1.27"}]}',
        '',
      ].join('\n'),
    );
    // `create -f` sends JSON (it needs /openapi for validation, which the simulator does not serve).
    const created = await kubectl.ok(['create', '-f', file, '--validate=false']);
    assert.match(created, /^deployment\.apps\/web created$/m);
    assert.match(await kubectl.ok(['get', 'deploy', 'web']), /^web\s+\d\/1\s/m);
    // Typed clientsets send protobuf: the answer is the 415 of a server without that serializer.
    const typed = await kubectl.run(['create', 'namespace', 'typed']);
    assert.equal(typed.code, 1);
    assert.match(
      typed.stderr,
      /Error from server \(UnsupportedMediaType\): the body of the request was in an unknown format/,
    );
  },
);

test(
  'drain cordons the node and deletes its pods (typed-client protobuf DeleteOptions)',
  { skip, ...TIMEOUT },
  async () => {
    const other = await startSimulator({ clock: 'manual', version: 'v1.32.2' });
    const session = new KubectlSession(other.kubeconfig());
    // drain polls until the pods are gone, so simulated time has to move while it runs.
    const clock = setInterval(() => other.advance(5_000), 100);
    try {
      const { result, requests } = await requestsDuring(other, () =>
        session.run(
          ['drain', 'sim-worker', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=20s'],
          {
            timeoutMs: 40_000,
          },
        ),
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^node\/sim-worker cordoned$/m);
      assert.match(result.stdout, /^node\/sim-worker drained$/m);
      const deletes = requests.filter((r) => r.method === 'DELETE');
      assert.ok(deletes.length > 0 && deletes.every((r) => r.status === 200));
      const node = (await (await fetch(`${other.url}/api/v1/nodes/sim-worker`)).json()) as {
        spec: { unschedulable?: boolean };
      };
      assert.equal(node.spec.unschedulable, true);
      const left = (
        (await (await fetch(`${other.url}/api/v1/pods?fieldSelector=spec.nodeName%3Dsim-worker`)).json()) as {
          items: Pod[];
        }
      ).items.filter((p) => p.metadata.ownerReferences?.[0]?.kind !== 'DaemonSet');
      assert.deepEqual(
        left.map((p) => p.metadata.name),
        [],
      );
    } finally {
      clearInterval(clock);
      session.close();
      await other.close();
    }
  },
);

test(
  'TLS with a bearer token: the kubeconfig trusts the simulator CA, a wrong token gets 401',
  { skip, ...TIMEOUT },
  async () => {
    const token = 'fidelity-token';
    const secure = await startSimulator({ clock: 'manual', tls: true, token, version: 'v1.32.2' });
    const good = new KubectlSession(secure.kubeconfig());
    const bad = new KubectlSession(secure.kubeconfig({ token: 'wrong-token' }));
    try {
      assert.ok(secure.url.startsWith('https://127.0.0.1:'));
      assert.doesNotMatch(secure.kubeconfig(), /insecure-skip-tls-verify/);
      assert.match(secure.kubeconfig(), /certificate-authority-data: /);
      const { result, requests } = await requestsDuring(secure, () => good.ok(['get', 'nodes']));
      assert.match(result, /^sim-worker\s+Ready\s+<none>/m);
      assert.ok(requests.length >= 3 && requests.every((r) => r.status === 200));

      const denied = await requestsDuring(secure, () => bad.run(['get', 'nodes']));
      assert.equal(denied.result.code, 1);
      assert.match(denied.result.stderr, /You must be logged in to the server/);
      assert.ok(denied.requests.length > 0 && denied.requests.every((r) => r.status === 401));

      // Health is public, but only to anonymous callers: a bad token is rejected even there.
      assert.equal((await good.ok(['get', '--raw', '/readyz'])).trim(), 'ok');
      const badHealth = await bad.run(['get', '--raw', '/readyz']);
      assert.equal(badHealth.code, 1);
      assert.match(badHealth.stderr, /Unauthorized|logged in/);
    } finally {
      good.close();
      bad.close();
      await secure.close();
    }
  },
);
