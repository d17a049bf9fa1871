/**
 * Simulator benchmarks: start time and memory at scale, a full paginated pod list over HTTP, and the
 * watch events it serves under churn to a client in the same process (so this measures the simulator,
 * not the watch layer: bench/watch.ts measures that, in separate processes). Prints a table; never
 * fails for being slow.
 *
 * Usage: node --expose-gc --import tsx bench/run.ts [--sizes 1000x30,5000x30 --churn-seconds 10 --churn-rate 500]
 */
import { request } from 'node:http';
import { startSimulator } from '../src/sim/index.js';
import { R } from '../src/sim/api/resources.js';

interface Row {
  size: string;
  nodes: number;
  pods: number;
  startS: number;
  rssMiB: number;
  heapMiB: number;
  bytesPerPod: number;
  listS: number;
  listPages: number;
  listMiB: number;
  events: number;
  eventsPerS: number;
  lagP50Ms: number;
  lagP99Ms: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { Accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    })
      .on('error', reject)
      .end();
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(
  nodes: number,
  podsPerNode: number,
  churnSeconds: number,
  churnRate: number,
): Promise<Row> {
  global.gc?.();
  const t0 = performance.now();
  const sim = await startSimulator({ port: 0, nodes, podsPerNode, clock: 'manual', historySize: 100_000 });
  const startS = (performance.now() - t0) / 1000;
  global.gc?.();
  const mem = process.memoryUsage();
  const store = sim.cluster.world.store;
  const pods = store.count(R.pods);

  // A full pod list in pages of 500, as a reflector does it.
  const l0 = performance.now();
  let next = '';
  let pages = 0;
  let bytes = 0;
  do {
    const res = await get(
      `${sim.url}/api/v1/pods?limit=500${next ? `&continue=${encodeURIComponent(next)}` : ''}`,
    );
    if (res.status !== 200) throw new Error(`list failed: ${res.status} ${res.body.slice(0, 200)}`);
    bytes += res.body.length;
    pages++;
    next = (JSON.parse(res.body) as { metadata: { continue?: string } }).metadata.continue ?? '';
  } while (next);
  const listS = (performance.now() - l0) / 1000;

  // Watch pods from now while pods are deleted at `churnRate`/s (each deletion also brings the
  // replacement's ADDED and MODIFIED events once the controllers run).
  const writtenAt = new Map<string, number>();
  const unsubscribe = store.subscribe(R.pods, (c) => writtenAt.set(String(c.rv), performance.now()));
  const lags: number[] = [];
  let events = 0;
  const rv = store.resourceVersion;
  const watch = request(`${sim.url}/api/v1/pods?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`, {
    headers: { Accept: 'application/json' },
  });
  await new Promise<void>((resolve, reject) => {
    watch.on('error', reject);
    watch.on('response', (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          const m = /"resourceVersion":"(\d+)"/.exec(line);
          const at = m ? writtenAt.get(m[1]!) : undefined;
          if (at !== undefined) lags.push(performance.now() - at);
          events++;
        }
      });
      resolve();
    });
    watch.end();
  });
  await sim.whenWatching('pods');
  const keys = store
    .list(R.pods)
    .filter((p) => p.metadata.namespace?.startsWith('load-'))
    .map((p) => [p.metadata.namespace!, p.metadata.name] as const);
  const c0 = performance.now();
  let deleted = 0;
  while (performance.now() - c0 < churnSeconds * 1000) {
    const due = Math.floor(((performance.now() - c0) / 1000) * churnRate);
    while (deleted < due && deleted < keys.length) {
      const [ns, name] = keys[deleted++]!;
      store.delete(R.pods, ns, name);
    }
    sim.cluster.world.settle();
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 500));
  const elapsed = (performance.now() - c0) / 1000;
  watch.destroy();
  unsubscribe();
  lags.sort((a, b) => a - b);
  await sim.close();
  return {
    size: `${nodes}x${podsPerNode}`,
    nodes,
    pods,
    startS,
    rssMiB: mem.rss / 2 ** 20,
    heapMiB: mem.heapUsed / 2 ** 20,
    bytesPerPod: mem.heapUsed / pods,
    listS,
    listPages: pages,
    listMiB: bytes / 2 ** 20,
    events,
    eventsPerS: events / elapsed,
    lagP50Ms: percentile(lags, 50),
    lagP99Ms: percentile(lags, 99),
  };
}

const sizes = arg('sizes', '1000x30')
  .split(',')
  .map((s) => s.split('x').map(Number) as [number, number]);
const churnSeconds = Number(arg('churn-seconds', '10'));
const churnRate = Number(arg('churn-rate', '500'));
const rows: Row[] = [];
for (const [nodes, perNode] of sizes) {
  process.stderr.write(`bench: ${nodes} nodes x ${perNode} pods/node ...\n`);
  rows.push(await measure(nodes, perNode, churnSeconds, churnRate));
}
const header = [
  'size',
  'pods',
  'start s',
  'RSS MiB',
  'heap MiB',
  'heap B/pod',
  'list s',
  'pages',
  'list MiB',
  'served ev/s',
  'lag p50 ms',
  'lag p99 ms',
];
const lines = rows.map((r) => [
  r.size,
  String(r.pods),
  r.startS.toFixed(1),
  r.rssMiB.toFixed(0),
  r.heapMiB.toFixed(0),
  r.bytesPerPod.toFixed(0),
  r.listS.toFixed(2),
  String(r.listPages),
  r.listMiB.toFixed(0),
  r.eventsPerS.toFixed(0),
  r.lagP50Ms.toFixed(1),
  r.lagP99Ms.toFixed(1),
]);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
const fmt = (cells: string[]): string => `| ${cells.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
console.log(fmt(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const l of lines) console.log(fmt(l));
console.log(
  `\nsimulator alone: node ${process.version}; churn ${churnRate} pod deletions/s for ${churnSeconds} s; the watching client shares its thread (the watch layer's figures come from bench/watch.ts).`,
);
