/**
 * Watch-layer benchmark: a ClusterWatcher in its own process against the simulator in another, on
 * loopback. Measures (1) initial sync time, RSS and heap of the watching process at 1,000 nodes /
 * 30,000 pods and 5,000 nodes / 150,000 pods, and (2) sustained watch events per second with the lag
 * from the simulator's write to the view update (p50, p99), under pod churn. Prints a table against
 * the targets (research §10.1 P1/P3); never fails for being slow.
 *
 * The watcher runs compiled (tsc, into node_modules/.cache/healwatch-bench-watch), not through tsx,
 * whose loader thread would add about 85 MiB of RSS a deployed monitor does not have.
 *
 * Usage: npm run bench    (bench/run.ts, then this)
 *        node --import tsx bench/watch.ts [--sizes 1000,5000] [--churn 300,600,1000] [--churn-nodes 1000]
 *                                          [--seconds 15] [--semi-space MiB] [--profile DIR]
 *
 * --profile DIR writes a CPU profile of the watcher for each churn window (open it in Chrome DevTools).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { Session } from 'node:inspector';
import { fileURLToPath } from 'node:url';
import { ClusterWatcher, Connection, type RecordKind, type Reflector } from '../src/cluster/index.js';
import { startSim, stopSim } from './sim-process.js';

const MIB = 2 ** 20;

/** The value after `--name` (`--sizes ''` gives ''), or the fallback when the flag is absent. */
function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run the watcher with --expose-gc');
  collect();
  collect();
}

/** What the watcher process reports after its initial sync. */
interface SyncResult {
  pods: number;
  nodes: number;
  objects: number;
  syncMs: number;
  /** RSS and heap after imports and a GC, before the first request. */
  baseRss: number;
  baseHeap: number;
  peakRss: number;
  rss: number;
  heapUsed: number;
  external: number;
}

/** What the watcher process reports after a churn window. */
interface ChurnResult {
  pods: number;
  seconds: number;
  /** View changes applied from watch events (relists not counted). */
  events: number;
  /** Writes the simulator made in the window (every resource, watched or not). */
  apiWrites: number;
  cpuPercent: number;
  /** Event-loop utilisation of the watcher in the window (1 = never idle). */
  elu: number;
  /** CPU of the simulator process in the window (Linux /proc; NaN elsewhere). */
  simCpuPercent: number;
  lagSamples: number;
  lagP50: number;
  lagP99: number;
  lagMax: number;
  relists: number;
  errors: number;
  /** The last error of each reflector that had one in the window. */
  errorMessages: string[];
  /** The state of the pod watch at the end of the window. */
  podState: string;
  /** Highest RSS sampled (every 250 ms) in the window, without forced GCs. */
  peakRss: number;
}

// ---------------------------------------------------------------------------------------------------
// The watcher process (`--role sync|churn`), run compiled.

async function syncRole(kubeconfig: string): Promise<SyncResult> {
  const connection = Connection.load({ kubeconfig });
  const watcher = new ClusterWatcher(connection);
  gc();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
  const started = performance.now();
  await watcher.start();
  await watcher.synced();
  const syncMs = performance.now() - started;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  gc();
  await sleep(200);
  gc();
  const m = process.memoryUsage();
  const result: SyncResult = {
    pods: watcher.view.count('Pod'),
    nodes: watcher.view.count('Node'),
    objects: watcher.reflectors.reduce((n, r) => n + r.health.objects, 0),
    syncMs,
    baseRss: base.rss,
    baseHeap: base.heapUsed,
    peakRss,
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
  };
  await watcher.stop();
  return result;
}

/** CPU time of another process in ms (utime + stime from /proc), or NaN where there is no /proc. */
function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
  } catch {
    return Number.NaN;
  }
}

/** Profiles the CPU of this process until the returned function is called, which writes `file`. */
async function startProfile(file: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  const post = (method: string): Promise<unknown> =>
    new Promise((resolve, reject) =>
      session.post(method, (error, result) => (error ? reject(error) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

async function churnRole(
  kubeconfig: string,
  url: string,
  seconds: number,
  simPid: number,
  profileFile: string,
): Promise<ChurnResult> {
  const connection = Connection.load({ kubeconfig });
  const watcher = new ClusterWatcher(connection);
  await watcher.start();
  await watcher.synced();
  const byKind = new Map<RecordKind, Reflector>(watcher.reflectors.map((r) => [r.collector.kind, r]));
  const capacity = 4_000_000;
  const rvs = new Float64Array(capacity);
  const appliedAt = new Float64Array(capacity);
  let samples = 0;
  let events = 0;
  let isCounting = false;
  watcher.view.subscribe((kind, change) => {
    if (!isCounting || change.isResync) return;
    events++;
    if (samples < capacity) {
      // The reflector sets its resourceVersion from the event before it updates the view.
      rvs[samples] = Number(byKind.get(kind)?.health.resourceVersion);
      appliedAt[samples++] = performance.timeOrigin + performance.now();
    }
  });
  // Steady state only: every watch open (a list under heavy churn may need more than one attempt),
  // then a warm-up in which the replacements of the pods deleted during the sync settle into a stream.
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline && !watcher.reflectors.every((r) => r.health.state === 'watching'))
    await sleep(100);
  await sleep(3_000);
  const relists = watcher.reflectors.reduce((n, r) => n + r.health.relists, 0);
  const errors = watcher.reflectors.reduce((n, r) => n + r.health.errors, 0);
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const simCpu0 = processCpuMs(simPid);
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 250);
  const stopProfile = profileFile ? await startProfile(profileFile) : undefined;
  const t0 = performance.timeOrigin + performance.now();
  isCounting = true;
  await sleep(seconds * 1000);
  isCounting = false;
  clearInterval(sampler);
  await stopProfile?.();
  const t1 = performance.timeOrigin + performance.now();
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0).utilization;
  const simCpuPercent = ((processCpuMs(simPid) - simCpu0) / (t1 - t0)) * 100;
  const stats = {
    podState: byKind.get('Pod')?.health.state ?? 'none',
    peakRss,
    relists: watcher.reflectors.reduce((n, r) => n + r.health.relists, 0) - relists,
    errors: watcher.reflectors.reduce((n, r) => n + r.health.errors, 0) - errors,
    errorMessages: watcher.reflectors
      .filter((r) => r.health.lastErrorAt !== undefined && r.health.lastErrorAt >= t0)
      .map((r) => `${r.health.kind}: ${r.health.lastError ?? ''}`),
  };
  await watcher.stop();

  // The simulator's write times, by resourceVersion, from the first one the window saw.
  let minRv = Number.POSITIVE_INFINITY;
  let maxRv = 0;
  for (let i = 0; i < samples; i++) {
    minRv = Math.min(minRv, rvs[i]!);
    maxRv = Math.max(maxRv, rvs[i]!);
  }
  const writtenAt = new Float64Array(Math.max(0, maxRv - minRv + 1)).fill(Number.NaN);
  let apiWrites = 0;
  for (let since = minRv - 1; ;) {
    const res = await fetch(`${url}/sim/v1/writes/${since}`);
    if (res.status !== 200) throw new Error(`GET /sim/v1/writes: ${res.status} ${await res.text()}`);
    const page = (await res.json()) as [number, number][];
    if (page.length === 0) break;
    for (const [rv, at] of page) {
      if (rv <= maxRv) writtenAt[rv - minRv] = at;
      if (at >= t0 && at <= t1) apiWrites++;
    }
    since = page[page.length - 1]![0];
  }
  const lags = new Float64Array(samples);
  let n = 0;
  for (let i = 0; i < samples; i++) {
    const at = writtenAt[rvs[i]! - minRv];
    if (at !== undefined && !Number.isNaN(at)) lags[n++] = appliedAt[i]! - at;
  }
  const sorted = lags.subarray(0, n).sort();
  const elapsed = (t1 - t0) / 1000;
  return {
    pods: watcher.view.count('Pod'),
    seconds: elapsed,
    events,
    apiWrites,
    cpuPercent: ((cpu.user + cpu.system) / 1000 / (t1 - t0)) * 100,
    elu,
    simCpuPercent,
    lagSamples: n,
    lagP50: percentile(sorted, 50),
    lagP99: percentile(sorted, 99),
    lagMax: n > 0 ? sorted[n - 1]! : Number.NaN,
    ...stats,
  };
}

// ---------------------------------------------------------------------------------------------------
// The orchestrator.

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Compiles this file and the watch layer with tsc, so the watcher process runs without tsx. */
function compileWatcher(): string {
  const cache = join(root, 'node_modules', '.cache', 'healwatch-bench-watch');
  rmSync(cache, { recursive: true, force: true });
  mkdirSync(cache, { recursive: true });
  const out = join(cache, 'out');
  writeFileSync(
    join(cache, 'tsconfig.json'),
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: { rootDir: root, outDir: out, noEmit: false, declaration: false, sourceMap: false },
      files: [join(root, 'bench', 'watch.ts')],
      include: [],
    }),
  );
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', cache], {
    stdio: 'inherit',
  });
  // Inside node_modules, Node looks no further up for "type": "module".
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  return join(out, 'bench', 'watch.js');
}

/** Runs a child to completion within `timeoutMs` and returns its stdout. */
function run(command: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command.join(' ')}: exit ${code ?? signal}`));
    });
  });
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]): string => `| ${cells.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(fmt)].join('\n');
}

async function orchestrate(): Promise<void> {
  const sizes = arg('sizes', '1000,5000').split(',').filter(Boolean).map(Number);
  const churnRates = arg('churn', '300,600,1000').split(',').filter(Boolean).map(Number);
  const churnNodes = Number(arg('churn-nodes', '1000'));
  const seconds = Number(arg('seconds', '15'));
  const semiSpace = arg('semi-space', '');
  const profileDir = arg('profile', '');
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const home = mkdtempSync(join(tmpdir(), 'healwatch-bench-'));
  process.stderr.write('bench:watch: compiling the watcher ...\n');
  const script = compileWatcher();
  const watcherNode = [
    process.execPath,
    '--expose-gc',
    ...(semiSpace ? [`--max-semi-space-size=${semiSpace}`] : []),
  ];
  const commands = new Set<string>();
  const syncRows: string[][] = [];
  const churnRows: string[][] = [];
  const notes: string[] = [];
  try {
    for (const nodes of sizes) {
      process.stderr.write(`bench:watch: sync at ${nodes} nodes x 30 pods ...\n`);
      const sim = await startSim(['--nodes', String(nodes), '--pods-per-node', '30'], home);
      commands.add(sim.command);
      try {
        const command = [...watcherNode, script, '--role', 'sync', '--kubeconfig', sim.kubeconfig];
        commands.add(
          `node ${command
            .slice(1)
            .map((c) => (c.startsWith(root) ? relative(root, c) : c))
            .join(' ')}`,
        );
        const r = JSON.parse(await run(command, 300_000)) as SyncResult;
        const target = r.pods > 100_000 ? 1024 : 300;
        syncRows.push([
          `${r.nodes} nodes`,
          String(r.pods),
          String(r.objects),
          (r.syncMs / 1000).toFixed(1),
          (r.rss / MIB).toFixed(0),
          (r.peakRss / MIB).toFixed(0),
          (r.heapUsed / MIB).toFixed(0),
          ((r.heapUsed - r.baseHeap) / r.pods).toFixed(0),
          ((r.rss - r.baseRss) / r.pods).toFixed(0),
          `≤ ${target} ${r.rss / MIB <= target ? 'met' : 'MISSED'}`,
        ]);
        notes.push(
          `${r.nodes} nodes: before the first request the watcher process had ${(r.baseRss / MIB).toFixed(0)} MiB RSS, ` +
            `${(r.baseHeap / MIB).toFixed(0)} MiB heap (node + client-node); external ${(r.external / MIB).toFixed(0)} MiB after sync`,
        );
      } finally {
        await stopSim(sim);
      }
    }
    for (const rate of churnRates) {
      process.stderr.write(`bench:watch: churn ${rate} pod deletions/s at ${churnNodes} nodes ...\n`);
      const sim = await startSim(
        ['--nodes', String(churnNodes), '--pods-per-node', '30', '--churn', String(rate), '--record-writes'],
        home,
      );
      commands.add(sim.command);
      try {
        const command = [
          ...watcherNode,
          script,
          '--role',
          'churn',
          '--kubeconfig',
          sim.kubeconfig,
          '--url',
          sim.url,
          '--seconds',
          String(seconds),
          '--sim-pid',
          String(sim.child.pid),
          ...(profileDir ? ['--cpu-profile', join(profileDir, `watch-churn-${rate}.cpuprofile`)] : []),
        ];
        commands.add(
          `node ${command
            .slice(1)
            .map((c) => (c.startsWith(root) ? relative(root, c) : c))
            .join(' ')}`,
        );
        const r = JSON.parse(await run(command, 300_000)) as ChurnResult;
        const eventsPerS = r.events / r.seconds;
        const apiWritesPerS = r.apiWrites / r.seconds;
        const misses = [
          ...(eventsPerS < 5000 && apiWritesPerS >= 5000 ? ['rate'] : []),
          ...(r.lagP99 >= 1000 ? ['lag'] : []),
          ...(r.podState !== 'watching' ? ['pods not watched'] : []),
        ];
        const bound = r.simCpuPercent >= 95 && r.elu < 0.9 ? '; simulator at 100% CPU' : '';
        churnRows.push([
          String(rate),
          apiWritesPerS.toFixed(0),
          eventsPerS.toFixed(0),
          r.cpuPercent.toFixed(0),
          r.elu.toFixed(2),
          (eventsPerS / r.elu).toFixed(0),
          r.simCpuPercent.toFixed(0),
          r.lagP50.toFixed(1),
          r.lagP99.toFixed(1),
          r.lagMax.toFixed(0),
          (r.peakRss / MIB).toFixed(0),
          r.podState,
          `${r.relists}/${r.errors}`,
          misses.length > 0
            ? `MISSED (${misses.join(', ')}${bound})`
            : apiWritesPerS < 5000
              ? 'met below 5,000/s offered'
              : 'met',
        ]);
        for (const e of r.errorMessages) notes.push(`churn ${rate}/s: ${e}`);
      } finally {
        await stopSim(sim);
      }
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  const cpu = cpus();
  console.log('\nWatch layer: initial sync and memory of the watching process (after a forced GC)\n');
  console.log(
    table(
      [
        'cluster',
        'pods',
        'objects',
        'sync s',
        'RSS MiB',
        'peak RSS MiB',
        'heap MiB',
        'heap B/pod',
        'RSS B/pod',
        'RSS target MiB',
      ],
      syncRows,
    ),
  );
  console.log(
    '\nWatch layer: sustained events under churn, lag from the simulator write to the view update\n',
  );
  console.log(
    table(
      [
        'churn del/s',
        'API writes/s',
        'events/s',
        'CPU %',
        'ELU',
        'events/s ÷ ELU',
        'sim CPU %',
        'lag p50 ms',
        'lag p99 ms',
        'lag max ms',
        'peak RSS MiB',
        'pod watch',
        'relists/errors',
        '≥ 5,000/s, p99 < 1 s',
      ],
      churnRows,
    ),
  );
  console.log(`\n${notes.join('\n')}`);
  console.log(
    `heap B/pod and RSS B/pod: growth over the pre-sync baseline divided by the pods (every kind included). ` +
      `events/s: view changes from watch events in ${seconds} s, on the watcher's one JS thread ` +
      `(ELU: its event-loop utilisation; events/s ÷ ELU estimates what that core could take); ` +
      `API writes/s: every write of the simulator, watched resources or not; ` +
      `lag: simulator write (wall clock) to the view update in the watcher.`,
  );
  console.log(
    `\nmachine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ` +
      `node ${process.version}; simulator and watcher in separate processes on loopback (plain HTTP).`,
  );
  console.log(`command: node --import tsx bench/watch.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
  for (const c of commands) console.log(`  ${c}`);
}

const role = arg('role', '');
if (role === 'sync') {
  process.stdout.write(`${JSON.stringify(await syncRole(arg('kubeconfig', '')))}\n`);
  process.exit(0);
} else if (role === 'churn') {
  const result = await churnRole(
    arg('kubeconfig', ''),
    arg('url', ''),
    Number(arg('seconds', '15')),
    Number(arg('sim-pid', '0')),
    arg('cpu-profile', ''),
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} else {
  await orchestrate();
}
