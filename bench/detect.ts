/**
 * Time to detect: for each simulator fault, the simulated time from injection to the first firing
 * finding of the rule that should catch it, beside what kubernetes-mixin's default alert would need
 * (its `for` plus a scrape and an evaluation interval). Also counts the findings at Notice or above on
 * the healthy demo and during a healthy rollout (they should be zero). Prints a table; asserts nothing.
 *
 * Usage: node --import tsx bench/detect.ts
 */
import { AlertTracker } from '../src/alerts/tracker.js';
import { inhibit } from '../src/alerts/inhibit.js';
import { ClusterWatcher, Connection, Prober } from '../src/cluster/index.js';
import { parseConfig } from '../src/config/index.js';
import { isAtLeast, refText, type Finding } from '../src/domain/index.js';
import { BUILTIN_RULES, RuleEngine } from '../src/rules/index.js';
import { startSimulator, type FaultRequest } from '../src/sim/index.js';

interface Scenario {
  name: string;
  fault: FaultRequest | undefined;
  /** The rule expected to fire (undefined: nothing at Notice or above should). */
  rule: string | undefined;
  /** kubernetes-mixin's nearest alert and what it needs (for + 30 s scrape + 30 s evaluation + 30 s group_wait). */
  mixin: string;
  mixinMs: number | undefined;
}

const MIXIN = 15 * 60_000 + 90_000;
const SCENARIOS: Scenario[] = [
  // A fault that takes every replica down is one deployment-replicas Alert carrying the symptom.
  {
    name: 'crash loop (all replicas)',
    fault: { name: 'crashloop', target: 'shop/cart' },
    rule: 'deployment-replicas',
    mixin: 'KubePodCrashLooping (for 15m)',
    mixinMs: MIXIN,
  },
  {
    name: 'restart spike',
    fault: { name: 'restart-spike', target: 'shop/cart' },
    rule: 'restart-spike',
    mixin: 'KubePodCrashLooping (for 15m)',
    mixinMs: MIXIN,
  },
  {
    name: 'OOM kills',
    fault: { name: 'oom', target: 'shop/cart' },
    rule: 'deployment-replicas',
    mixin: 'none (KubePodCrashLooping, 15m)',
    mixinMs: MIXIN,
  },
  {
    name: 'bad image rollout',
    fault: { name: 'bad-image', target: 'shop/frontend' },
    rule: 'deployment-replicas',
    mixin: 'KubePodNotReady (for 15m)',
    mixinMs: MIXIN,
  },
  {
    name: 'stuck rollout',
    fault: { name: 'rollout-stuck', target: 'payments/api' },
    rule: 'deployment-replicas',
    mixin: 'KubeDeploymentRolloutStuck (for 15m after the 10m deadline)',
    mixinMs: 10 * 60_000 + MIXIN,
  },
  {
    name: 'node NotReady',
    fault: { name: 'node-notready', target: 'sim-worker2' },
    rule: 'node-not-ready',
    mixin: 'KubeNodeNotReady (for 15m)',
    mixinMs: MIXIN,
  },
  {
    name: 'scheduler down',
    fault: { name: 'scheduler-down' },
    rule: 'control-plane',
    mixin: 'KubeSchedulerDown (for 15m), where scraped',
    mixinMs: MIXIN,
  },
  {
    name: 'controller-manager down',
    fault: { name: 'controller-manager-down' },
    rule: 'control-plane',
    mixin: 'KubeControllerManagerDown (for 15m)',
    mixinMs: MIXIN,
  },
  {
    name: 'API server unready',
    fault: { name: 'apiserver-unready' },
    rule: 'control-plane',
    mixin: 'KubeAPIErrorBudgetBurn (for 2m-3h)',
    mixinMs: undefined,
  },
  {
    name: 'CoreDNS crash',
    fault: { name: 'addon-crash', target: 'kube-system/coredns' },
    rule: 'component-unavailable',
    mixin: 'KubeDeploymentReplicasMismatch (for 15m)',
    mixinMs: MIXIN,
  },
  {
    name: 'capacity exhausted',
    fault: { name: 'capacity-exhausted' },
    rule: 'capacity-stuck',
    mixin: 'none',
    mixinMs: undefined,
  },
  {
    name: 'skewed placement',
    fault: { name: 'skew', target: 'shop/frontend' },
    rule: 'placement-skew',
    mixin: 'none',
    mixinMs: undefined,
  },
  {
    name: 'CronJob failing',
    fault: { name: 'cronjob-fail', target: 'payments/settlement-report' },
    rule: 'cronjob-failing',
    mixin: 'KubeJobFailed (for 15m)',
    mixinMs: MIXIN,
  },
  {
    name: 'disk filling',
    fault: { name: 'disk-fill', target: 'sim-worker3', args: ['95'] },
    rule: 'node-filesystem',
    mixin: 'NodeFilesystemAlmostOutOfSpace (node-exporter, for 30m)',
    mixinMs: 30 * 60_000 + 90_000,
  },
  {
    name: 'PVC filling',
    fault: { name: 'pvc-fill', target: 'shop/data-postgres-0' },
    rule: 'pvc-filling',
    mixin: 'KubePersistentVolumeFillingUp (for 1m, at 97%)',
    mixinMs: 60_000 + 90_000,
  },
  {
    name: 'log agent failing',
    fault: { name: 'log-agent-errors' },
    rule: 'log-agent',
    mixin: 'none',
    mixinMs: undefined,
  },
  { name: 'healthy demo', fault: undefined, rule: undefined, mixin: '-', mixinMs: undefined },
  {
    name: 'healthy rollout',
    fault: { name: 'rollout', target: 'shop/frontend' },
    rule: undefined,
    mixin: '-',
    mixinMs: undefined,
  },
];

const STEP_MS = 10_000;
const LIMIT_MS = 30 * 60_000;

async function measure(
  s: Scenario,
): Promise<{ detectMs: number | undefined; noise: string[]; skipped?: string }> {
  if (s.rule && !BUILTIN_RULES.some((r) => r.id === s.rule))
    return { detectMs: undefined, noise: [], skipped: `rule ${s.rule} not in the catalog` };
  const sim = await startSimulator({ port: 0, clock: 'manual', seed: 'detect', bookmarkIntervalMs: 30 });
  const watcher = new ClusterWatcher(Connection.fromString(sim.kubeconfig()), {
    reflector: { backoffInitialMs: 20, backoffMaxMs: 200 },
  });
  try {
    await watcher.start();
    await watcher.synced();
    const prober = new Prober(watcher.connection, watcher.view, { timeoutMs: 5000 });
    const config = parseConfig('{}', 'defaults');
    const engine = new RuleEngine(config.rules, config.classification);
    const forMs = new Map(config.rules.map((r) => [r.rule.id, r.common.forMs]));
    const tracker = new AlertTracker({ forMs: (id) => forMs.get(id) ?? 0, resolveAfterMs: 60_000 });
    const catchUp = async (): Promise<void> => {
      const target = sim.cluster.world.store.resourceVersion;
      for (
        let i = 0;
        i < 500 && !watcher.reflectors.every((r) => Number(r.health.resourceVersion) >= target);
        i++
      ) {
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const step = async (): Promise<Finding[]> => {
      await catchUp();
      await prober.runOnce();
      const now = sim.cluster.world.now();
      const { active } = inhibit(engine.evaluate(watcher.view, now).findings, {
        inputsOf: (id) => BUILTIN_RULES.find((r) => r.id === id)?.inputs ?? [],
      });
      tracker.update(active, now);
      return tracker.firing().map((a) => a.finding);
    };
    await step();
    const start = sim.cluster.world.now();
    if (s.fault) sim.faults.start(s.fault);
    const noise = new Set<string>();
    for (let t = 0; t <= (s.rule ? LIMIT_MS : 15 * 60_000); t += STEP_MS) {
      if (t > 0) sim.advance(STEP_MS);
      const firing = await step();
      if (s.rule && firing.some((f) => f.ruleId === s.rule))
        return { detectMs: sim.cluster.world.now() - start, noise: [] };
      if (!s.rule)
        for (const f of firing)
          if (isAtLeast(f.level, 'notice')) noise.add(`${f.ruleId} ${refText(f.object)}`);
    }
    return { detectMs: undefined, noise: [...noise] };
  } finally {
    await watcher.stop();
    await sim.close();
  }
}

const fmt = (ms: number | undefined): string =>
  ms === undefined ? '-' : ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 60_000).toFixed(1)} min`;
const rows: string[][] = [];
for (const s of SCENARIOS) {
  process.stderr.write(`detect: ${s.name} ...\n`);
  const r = await measure(s);
  rows.push([
    s.name,
    s.fault ? `${s.fault.name}${s.fault.target ? ` ${s.fault.target}` : ''}` : '-',
    s.rule ?? '(nothing)',
    r.skipped ??
      (s.rule
        ? fmt(r.detectMs)
        : `${r.noise.length} finding(s)${r.noise.length ? `: ${r.noise.join(', ')}` : ''}`),
    s.mixin,
    fmt(s.mixinMs),
  ]);
}
const header = [
  'scenario',
  'fault',
  'rule',
  'Healwatch fires after',
  'kubernetes-mixin',
  'mixin pages after',
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log(
  `\nSimulated time from fault to the first firing finding, judged every ${STEP_MS / 1000} s with the default configuration; the healthy rows count findings at Notice or above over 15 simulated minutes.`,
);
