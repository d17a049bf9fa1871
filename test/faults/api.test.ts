/**
 * API server faults, seen by a client: the reported version, the served TLS certificate and the kubelet
 * certificate TTL, dropped connections, slow answers, 429 throttling, and watch-history compaction.
 */
import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import type { Simulator } from '../../src/sim/index.js';
import {
  getJson,
  request,
  scaleDeployment,
  simNow,
  startTestSim,
  type List,
  type Pod,
  type Status,
} from '../helpers/sim.js';
import { defaultVersion } from '../../src/sim/scenario/builtin.js';

/** What the demo's /version reports today. */
const DEMO_VERSION = defaultVersion('kubeadm');

interface WatchEvent {
  type: string;
  object: { kind?: string; code?: number; reason?: string; message?: string; metadata?: { name?: string } };
}

/** An open watch stream: the events received so far, and how it ended. */
interface OpenWatch {
  events: WatchEvent[];
  /** Resolves when the stream ends: `end` for a clean close, `error` for a dropped connection. */
  ended: Promise<'end' | 'error'>;
}

async function openWatch(t: TestContext, sim: Simulator, path: string): Promise<OpenWatch> {
  const abort = new AbortController();
  t.after(() => abort.abort());
  const res = await fetch(`${sim.url}${path}`, { signal: abort.signal });
  assert.equal(res.status, 200);
  assert.ok(res.body);
  const reader = res.body.getReader();
  const events: WatchEvent[] = [];
  const decoder = new TextDecoder();
  const ended = (async (): Promise<'end' | 'error'> => {
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return 'end';
        buffer += decoder.decode(value as Uint8Array, { stream: true });
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          events.push(JSON.parse(buffer.slice(0, nl)) as WatchEvent);
          buffer = buffer.slice(nl + 1);
          nl = buffer.indexOf('\n');
        }
      }
    } catch {
      return 'error';
    }
  })();
  return { events, ended };
}

/** GETs a path with node:http and resolves to the status code, or to the error code when the request fails. */
async function rawGet(sim: Simulator, path: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = httpGet(`${sim.url}${path}`, { agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** Resolves to the value, or to `timeout` after `ms` real milliseconds. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

test('version VERSION: /version reports it (gitVersion, major, minor) until the fault stops', async (t) => {
  const sim = await startTestSim(t);
  const before = await getJson<Record<string, string>>(sim, '/version');
  assert.equal(before.gitVersion, DEMO_VERSION);
  assert.equal(`v1.${before.minor}.2`, DEMO_VERSION);
  const fault = sim.faults.start({ name: 'version', target: 'v1.29.4' });
  const old = await getJson<Record<string, string>>(sim, '/version');
  assert.equal(old.gitVersion, 'v1.29.4');
  assert.equal(old.major, '1');
  assert.equal(old.minor, '29');
  sim.faults.stop(fault.id);
  assert.equal((await getJson<Record<string, string>>(sim, '/version')).gitVersion, DEMO_VERSION);
  assert.throws(() => sim.faults.start({ name: 'version', target: '1.29' }), {
    message: 'VERSION must look like v1.29.4, got "1.29"',
  });
});

/** The cluster CA from the simulator's kubeconfig, as a client gets it. */
function clusterCa(sim: Simulator): string {
  const data = /certificate-authority-data: (\S+)/.exec(sim.kubeconfig())?.[1];
  assert.ok(data, 'the kubeconfig carries the CA');
  return Buffer.from(data, 'base64').toString('utf8');
}

/** Connects with TLS and returns the served certificate (verifying it against `ca` when given). */
async function servedCertificate(sim: Simulator, ca?: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connect({
      host: '127.0.0.1',
      port: sim.port,
      ...(ca ? { ca, rejectUnauthorized: true } : { rejectUnauthorized: false }),
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (cert) resolve(cert);
      else reject(new Error('no peer certificate'));
    });
    socket.once('error', reject);
  });
}

async function httpsText(sim: Simulator, path: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(`${sim.url}${path}`, { ca, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`${res.statusCode}: ${body}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

function clientTtl(metrics: string): number {
  const m = /^kubelet_certificate_manager_client_ttl_seconds (-?\d+)$/m.exec(metrics);
  assert.ok(m, 'kubelet_certificate_manager_client_ttl_seconds is exposed');
  return Number(m[1]);
}

test('cert-expiry DAYS: the served certificate and the kubelet client certificate expire in DAYS; negative is expired', async (t) => {
  const sim = await startTestSim(t, { tls: true });
  assert.ok(sim.url.startsWith('https://'));
  const ca = clusterCa(sim);
  const DAY = 86_400_000;
  const original = await servedCertificate(sim, ca);
  const originalDays = (Date.parse(original.validTo) - simNow(sim)) / DAY;
  assert.ok(
    originalDays > 364 && originalDays <= 365,
    `a fresh certificate lasts a year (${originalDays} d)`,
  );
  const metricsPath = '/api/v1/nodes/sim-worker/proxy/metrics';
  assert.ok(clientTtl(await httpsText(sim, metricsPath, ca)) > 200 * 86_400);

  sim.faults.start({ name: 'cert-expiry', target: '7' });
  const soon = await servedCertificate(sim, ca);
  const soonMs = Date.parse(soon.validTo) - simNow(sim);
  assert.ok(Math.abs(soonMs - 7 * DAY) <= 2000, `served certificate expires in 7 days (${soonMs / DAY} d)`);
  assert.notEqual(soon.fingerprint256, original.fingerprint256);
  assert.ok(soon.checkIssued(new X509Certificate(ca)), 'signed by the cluster CA');
  const ttl = clientTtl(await httpsText(sim, metricsPath, ca));
  assert.ok(Math.abs(ttl - 7 * 86_400) <= 2, `kubelet client certificate TTL ≈ 7 days (${ttl} s)`);
  sim.advance(DAY);
  const later = clientTtl(await httpsText(sim, metricsPath, ca));
  assert.ok(Math.abs(later - 6 * 86_400) <= 2, `the TTL counts down with the cluster clock (${later} s)`);
  sim.faults.heal();

  sim.faults.start({ name: 'cert-expiry', target: '-1' });
  await assert.rejects(
    servedCertificate(sim, ca),
    { code: 'CERT_HAS_EXPIRED' },
    'a verifying client refuses the expired certificate',
  );
  const expired = await servedCertificate(sim);
  assert.ok(Date.parse(expired.validTo) < simNow(sim));
  sim.faults.heal();
  const restored = await servedCertificate(sim, ca);
  assert.equal(restored.fingerprint256, original.fingerprint256, 'heal restores the original certificate');
  assert.ok(clientTtl(await httpsText(sim, metricsPath, ca)) > 200 * 86_400);
  assert.throws(() => sim.faults.start({ name: 'cert-expiry', target: 'soon' }), {
    message: 'DAYS must be a number, got "soon"',
  });
});

test('api-down SECONDS: connections are reset and open watches cut until the simulated time has passed', async (t) => {
  const sim = await startTestSim(t);
  const watch = await openWatch(t, sim, '/api/v1/namespaces/shop/pods?watch=true');
  await sim.whenWatching('pods');
  const fault = sim.faults.start({ name: 'api-down', target: '30' });
  assert.equal(fault.endsAt, fault.startedAt + 30_000);
  assert.equal(
    await within(watch.ended, 5000),
    'error',
    'the watch connection is dropped, not closed cleanly',
  );
  assert.equal(await rawGet(sim, '/version'), 'ECONNRESET');
  assert.equal(await rawGet(sim, '/api/v1/namespaces/shop/pods'), 'ECONNRESET');
  await assert.rejects(fetch(`${sim.url}/readyz`, { signal: AbortSignal.timeout(5000) }), TypeError);
  const status = await getJson<{ faults: { name: string }[] }>(sim, '/sim/v1/status');
  assert.deepEqual(
    status.faults.map((f) => f.name),
    ['api-down'],
    'the control endpoint still answers',
  );

  sim.advance(29_000);
  assert.equal(await rawGet(sim, '/version'), 'ECONNRESET', 'still down after 29 s');
  sim.advance(2000);
  assert.equal((await request(sim, 'GET', '/version')).status, 200, 'back after 30 simulated seconds');
  assert.equal((await request(sim, 'GET', '/api/v1/namespaces/shop/pods')).status, 200);
  assert.deepEqual(sim.faults.active(), []);
  assert.throws(() => sim.faults.start({ name: 'api-down', target: '0' }), {
    message: 'SECONDS must be a positive number, got "0"',
  });
});

test('api-slow MS: every answer takes at least MS (real) milliseconds until stopped', async (t) => {
  const sim = await startTestSim(t);
  sim.faults.start({ name: 'api-slow', target: '300' });
  for (const path of ['/api/v1/namespaces/shop/pods', '/version', '/readyz']) {
    const started = performance.now();
    const answer = await request(sim, 'GET', path);
    const ms = performance.now() - started;
    assert.equal(answer.status, 200);
    assert.ok(ms >= 295, `${path} took ${ms.toFixed(0)} ms`);
  }
  sim.faults.stopMatching('api-slow');
  const started = performance.now();
  await request(sim, 'GET', '/api/v1/namespaces/shop/pods');
  assert.ok(performance.now() - started < 250, 'fast again after stop');
});

test('api-429: requests get 429 with Retry-After and a Status body; health and version stay 200', async (t) => {
  const sim = await startTestSim(t);
  sim.faults.start({ name: 'api-429' });
  for (const path of [
    '/api/v1/namespaces/shop/pods',
    '/apis/apps/v1/deployments',
    '/api/v1/pods?watch=true',
  ]) {
    const answer = await request<Status>(sim, 'GET', path);
    assert.equal(answer.status, 429, path);
    assert.equal(answer.headers.get('retry-after'), '1');
    assert.equal(answer.body.kind, 'Status');
    assert.equal(answer.body.status, 'Failure');
    assert.equal(answer.body.reason, 'TooManyRequests');
    assert.equal(answer.body.code, 429);
    assert.equal(answer.body.message, 'Too many requests, please try again later.');
    assert.equal(answer.body.details?.retryAfterSeconds, 1);
  }
  for (const path of ['/readyz', '/livez', '/healthz', '/version']) {
    assert.equal((await request(sim, 'GET', path)).status, 200, path);
  }
  sim.faults.heal();
  assert.equal((await request(sim, 'GET', '/api/v1/namespaces/shop/pods')).status, 200);
});

test('watch-compact: an open watch gets an ERROR 410 and ends; old resourceVersions and continue tokens expire', async (t) => {
  const sim = await startTestSim(t);
  const list = await getJson<List<Pod>>(sim, '/api/v1/namespaces/shop/pods');
  const rv = list.metadata.resourceVersion;
  assert.ok(rv);
  const page = await getJson<List<Pod> & { metadata: { continue?: string } }>(sim, '/api/v1/pods?limit=5');
  const token = page.metadata.continue;
  assert.ok(token, 'a continue token');
  const watch = await openWatch(t, sim, `/api/v1/namespaces/shop/pods?watch=true&resourceVersion=${rv}`);
  await sim.whenWatching('pods');
  await scaleDeployment(sim, 'shop', 'cart', 3);
  sim.advance(10_000);
  const [event] = await (async () => {
    for (let i = 0; i < 50 && watch.events.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    return watch.events;
  })();
  assert.ok(event && event.type !== 'ERROR', 'the watch delivers changes before the compaction');

  sim.faults.start({ name: 'watch-compact' });
  assert.equal(await within(watch.ended, 5000), 'end', 'the stream ends cleanly after the ERROR');
  const last = watch.events.at(-1);
  assert.equal(last?.type, 'ERROR');
  assert.equal(last?.object.kind, 'Status');
  assert.equal(last?.object.code, 410);
  assert.equal(last?.object.reason, 'Expired');
  assert.match(last?.object.message ?? '', /^too old resource version: \d+ \(\d+\)$/);

  const again = await openWatch(t, sim, `/api/v1/namespaces/shop/pods?watch=true&resourceVersion=${rv}`);
  assert.equal(await within(again.ended, 5000), 'end');
  assert.equal(again.events.length, 1);
  assert.equal(again.events[0]?.type, 'ERROR');
  assert.equal(again.events[0]?.object.code, 410);
  const continued = await request<Status>(
    sim,
    'GET',
    `/api/v1/pods?limit=5&continue=${encodeURIComponent(token)}`,
  );
  assert.equal(continued.status, 410);
  assert.equal(continued.body.reason, 'Expired');

  // A client that relists gets a fresh resourceVersion it can watch from.
  const fresh = await getJson<List<Pod>>(sim, '/api/v1/namespaces/shop/pods');
  const rewatch = await openWatch(
    t,
    sim,
    `/api/v1/namespaces/shop/pods?watch=true&resourceVersion=${fresh.metadata.resourceVersion}`,
  );
  await scaleDeployment(sim, 'shop', 'cart', 4);
  sim.advance(5000);
  for (let i = 0; i < 50 && rewatch.events.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(
    rewatch.events.some((e) => e.type === 'ADDED'),
    'the new watch sees the new pod',
  );
  assert.ok(rewatch.events.every((e) => e.type !== 'ERROR'));
});

test('watch-stall: an open watch goes silent without closing; a new watch still streams', async (t) => {
  const sim = await startTestSim(t);
  const rv = sim.cluster.world.store.resourceVersion;
  const controller = new AbortController();
  const res = await fetch(
    `${sim.url}/api/v1/namespaces/shop/pods?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`,
    { signal: controller.signal },
  );
  const reader = res.body!.getReader();
  await sim.whenWatching('pods');
  sim.faults.start({ name: 'watch-stall' });
  const patch = await request(
    sim,
    'PATCH',
    '/apis/apps/v1/namespaces/shop/deployments/cart/scale',
    { spec: { replicas: 3 } },
    'application/merge-patch+json',
  );
  assert.equal(patch.status, 200);
  sim.advance(30_000);
  const stalled = await Promise.race([
    reader.read().then(() => 'data'),
    new Promise((r) => setTimeout(() => r('silent'), 500)),
  ]);
  assert.equal(stalled, 'silent', 'a stalled watch must send nothing');
  const fresh = await fetch(`${sim.url}/api/v1/namespaces/shop/pods?watch=true&resourceVersion=${rv}`, {
    signal: controller.signal,
  });
  const first = await fresh.body!.getReader().read();
  assert.match(new TextDecoder().decode(first.value as Uint8Array), /"type":"(ADDED|MODIFIED)"/);
  controller.abort();
});

test('watch-garbage: open watches receive a malformed line, then valid events again', async (t) => {
  const sim = await startTestSim(t);
  const rv = sim.cluster.world.store.resourceVersion;
  const controller = new AbortController();
  const res = await fetch(`${sim.url}/api/v1/namespaces/shop/pods?watch=true&resourceVersion=${rv}`, {
    signal: controller.signal,
  });
  const reader = res.body!.getReader();
  await sim.whenWatching('pods');
  sim.faults.start({ name: 'watch-garbage' });
  await request(
    sim,
    'PATCH',
    '/apis/apps/v1/namespaces/shop/deployments/cart/scale',
    { spec: { replicas: 3 } },
    'application/merge-patch+json',
  );
  sim.advance(30_000);
  let text = '';
  while (text.split('\n').length < 4) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += new TextDecoder().decode(chunk.value as Uint8Array);
  }
  controller.abort();
  const lines = text.split('\n').filter((l) => l !== '');
  assert.throws(() => JSON.parse(lines[0]!), SyntaxError, 'the first line is malformed');
  assert.equal((JSON.parse(lines[1]!) as { type: string }).type, 'ADDED');
});
