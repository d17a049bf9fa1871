import { inhibit, type Muted } from '../alerts/inhibit.js';
import {
  ClusterWatcher,
  Connection,
  detectPlatform,
  preflight,
  Prober,
  type SyncProgress,
} from '../cluster/index.js';
import type { HealwatchConfig } from '../config/index.js';
import { HealwatchError, isAtLeast, type Finding, type Level } from '../domain/index.js';
import { BUILTIN_RULES, RuleEngine } from '../rules/index.js';
import { withLogLines } from './enrich.js';

/** What one `healwatch check` found. */
export interface CheckReport {
  cluster: { server: string; context: string; version: string; platform: string };
  /** When it was judged (API server clock). */
  at: number;
  /** Findings whose `for` is satisfied (or that have no duration to wait for). */
  firing: Finding[];
  /** Findings whose problem is younger than the rule's `for`: a running monitor would fire them later. */
  pending: { finding: Finding; firesInMs: number }[];
  /** Findings held back by a deeper cause. */
  muted: Muted[];
  /**
   * Rules whose `for` a one-shot check cannot watch: it judged them from the objects' own times
   * (`since`), or, where the objects tell no time, from their current state alone.
   */
  judgedFromState: string[];
  /** What a one-shot check could not judge for lack of history (rule id and what it needs). */
  needsHistory: { ruleId: string; needs: string }[];
  errors: { ruleId: string; message: string }[];
  /** Watches and probes that were not healthy (what the check could not see). */
  blind: string[];
}

/** Options of one check. */
export interface CheckOptions {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  config: HealwatchConfig;
  timeoutMs: number;
  onProgress?: (p: SyncProgress) => void;
}

/**
 * One-shot judgement: connect, sync every watch, run every probe once, evaluate the catalog, apply
 * inhibition, and decide per finding whether its `for` is already satisfied by the objects' own
 * history (a crash loop whose first BackOff was ten minutes ago fires; one that started a minute ago
 * is pending).
 */
export async function runCheck(options: CheckOptions): Promise<CheckReport> {
  const connection = Connection.load({
    ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
    ...(options.context ? { context: options.context } : {}),
  });
  const pre = await preflight(connection);
  const watcher = new ClusterWatcher(connection);
  try {
    await watcher.start();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
    });
    const result = await Promise.race([
      watcher.synced(options.onProgress).then(() => 'synced' as const),
      timeout,
    ]);
    clearTimeout(timer);
    if (result === 'timeout') {
      const stuck = watcher.view.watches().filter((w) => !w.isSynced);
      throw new HealwatchError(
        'HW_ERR_CLUSTER_UNREACHABLE',
        `initial sync not done after ${options.timeoutMs / 1000} s: ${stuck.map((w) => `${w.resource}${w.lastError ? ` (${w.lastError})` : ''}`).join(', ')}`,
      );
    }
    const view = watcher.view;
    const prober = new Prober(connection, view, { timeoutMs: 10_000 });
    await prober.runOnce();
    const now = Date.now() + connection.serverClockOffsetMs;
    const engine = new RuleEngine(options.config.rules, options.config.classification);
    const evaluation = engine.evaluate(view, now);
    const { active, muted } = inhibit(evaluation.findings, {
      inputsOf: (id) => BUILTIN_RULES.find((r) => r.id === id)?.inputs ?? [],
    });
    const forOf = new Map(options.config.rules.map((r) => [r.rule.id, r.common.forMs]));
    const firing: Finding[] = [];
    const pending: CheckReport['pending'] = [];
    const judged = new Set<string>();
    for (const f of active) {
      const forMs = forOf.get(f.ruleId) ?? 0;
      if (forMs > 0) judged.add(f.ruleId);
      const age = f.since === undefined ? Number.POSITIVE_INFINITY : now - f.since;
      if (age >= forMs) firing.push(f);
      else pending.push({ finding: f, firesInMs: forMs - age });
    }
    const platform = detectPlatform(view, pre.gitVersion);
    const blind = [
      ...view
        .watches()
        .filter((w) => w.state === 'retrying' || !w.isSynced)
        .map((w) => `watch ${w.resource}: ${w.lastError ?? w.state}`),
      ...[...view.probes.health.values()]
        .filter((h) => h.state === 'failing' || h.state === 'not-permitted')
        .map((h) => `probe ${h.name}: ${h.state}${h.lastError ? ` (${h.lastError})` : ''}`),
    ];
    return {
      cluster: {
        server: connection.server.origin,
        context: connection.contextName,
        version: pre.gitVersion,
        platform: platform.label,
      },
      at: now,
      firing: await withLogLines(connection, firing),
      pending,
      muted,
      judgedFromState: [...judged].sort(),
      needsHistory: options.config.rules
        .filter((r) => r.common.level !== 'off' && r.rule.needsHistory !== undefined)
        .map((r) => ({ ruleId: r.rule.id, needs: r.rule.needsHistory! })),
      errors: evaluation.errors,
      blind,
    };
  } finally {
    await watcher.stop();
  }
}

/** The exit code of a check: 2 with firing Alerts, 1 with firing Notices (when `level` is notice or lower), 0 otherwise. */
export function exitCodeOf(report: CheckReport, level: Level): number {
  const levels = report.firing.map((f) => f.level).filter((l) => isAtLeast(l, level));
  if (levels.includes('alert')) return 2;
  if (levels.includes('notice')) return 1;
  return 0;
}
