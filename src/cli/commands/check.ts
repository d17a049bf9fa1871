import { Command, InvalidArgumentError, Option } from 'commander';
import { exitCodeOf, runCheck, type CheckReport } from '../../app/check.js';
import { loadConfig } from '../../config/index.js';
import { refText, type Finding, type Level } from '../../domain/index.js';

interface CheckFlags {
  kubeconfig?: string;
  context?: string;
  config?: string;
  output: 'table' | 'json';
  level: Level;
  timeout: number;
}

function minutes(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : `${Math.round(s / 60)}m`;
}

function renderFinding(f: Finding): string {
  const lines = [
    `[${f.level.toUpperCase()}] ${f.title}`,
    `  rule ${f.ruleId} · ${refText(f.object)}`,
    `  loop: ${f.loop}`,
    `  ${f.message}`,
  ];
  if (f.evidence.length > 0) {
    lines.push('  evidence:');
    for (const e of f.evidence) lines.push(`    - ${e.text}`);
  }
  if (f.nextSteps.length > 0) {
    lines.push('  next:');
    for (const s of f.nextSteps) lines.push(`    - ${s}`);
  }
  return lines.join('\n');
}

/** The human-readable check report. */
export function renderCheck(report: CheckReport, level: Level): string {
  const out: string[] = [];
  out.push(
    `${report.cluster.server} (${report.cluster.platform}, ${report.cluster.version}) at ${new Date(report.at).toISOString()}`,
  );
  const shown = report.firing.filter((f) => level === 'none' || f.level !== 'none');
  const byLevel = (l: Level): Finding[] => shown.filter((f) => f.level === l);
  for (const [l, title] of [
    ['alert', 'ALERTS'],
    ['notice', 'NOTICES'],
    ['none', 'COLLECTED (level None: shown, never notified)'],
  ] as const) {
    const list = byLevel(l);
    if (list.length === 0) continue;
    out.push('', `${title} (${list.length})`, '');
    out.push(list.map(renderFinding).join('\n\n'));
  }
  if (byLevel('alert').length + byLevel('notice').length === 0)
    out.push('', `Nothing at Notice or above: self-healing is working.`);
  if (report.pending.length > 0) {
    out.push(
      '',
      `PENDING (${report.pending.length}): younger than their rule's "for"; a running monitor would fire them later`,
    );
    for (const p of report.pending)
      out.push(`  - [${p.finding.level}] ${p.finding.title} (in ${minutes(p.firesInMs)})`);
  }
  if (report.muted.length > 0) {
    out.push('', `MUTED (${report.muted.length}): explained by a deeper cause`);
    for (const m of report.muted) out.push(`  - ${m.finding.title} (${m.reason})`);
  }
  if (report.judgedFromState.length > 0) {
    out.push(
      '',
      `A one-shot check cannot watch how long a problem lasts, so these rules' "for" was judged from the objects' own times (first events, condition transitions), or from their current state where the objects tell no time: ${report.judgedFromState.join(', ')}.`,
    );
  }
  if (report.needsHistory.length > 0) {
    out.push(
      '',
      `Needs history a one-shot check does not have (a running monitor judges these): ${report.needsHistory.map((h) => `${h.ruleId} (${h.needs})`).join('; ')}.`,
    );
  }
  for (const b of report.blind) out.push(`not observed: ${b}`);
  for (const e of report.errors) out.push(`rule ${e.ruleId} failed: ${e.message}`);
  return `${out.join('\n')}\n`;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return n;
}

/** `healwatch check`: sync, evaluate once, print findings, exit 0/1/2. */
export function checkCommand(): Command {
  return new Command('check')
    .description(
      'sync with a cluster, evaluate every rule once, print findings by level; exit 0 (nothing), 1 (Notices) or 2 (Alerts)',
    )
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--context <name>', 'kubeconfig context (default: the current one)')
    .option('--config <file>', 'healwatch.yaml (levels, thresholds, scopes, add-on namespaces)')
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .addOption(
      new Option('--level <level>', 'the lowest level shown and counted in the exit code')
        .choices(['none', 'notice', 'alert'])
        .default('notice'),
    )
    .option('--timeout <seconds>', 'give up if the initial sync takes longer', seconds, 300)
    .addHelpText(
      'after',
      '\nExit codes: 0 nothing at or above --level, 1 Notices, 2 Alerts; 3 when the check itself failed\n(unreachable cluster, bad kubeconfig or config), with the reason on stderr.',
    )
    .action(async (flags: CheckFlags) => {
      const config = loadConfig(flags.config);
      const isTty = process.stderr.isTTY;
      const report = await runCheck({
        kubeconfig: flags.kubeconfig,
        context: flags.context,
        config,
        timeoutMs: flags.timeout * 1000,
        onProgress: (p) => {
          const line = `syncing: ${p.synced}/${p.total} kinds, ${p.objects} objects`;
          if (isTty) process.stderr.write(`\r\x1b[K${line}${p.synced === p.total ? '\n' : ''}`);
          else if (p.synced === p.total) process.stderr.write(`${line}\n`);
        },
      });
      process.stdout.write(
        flags.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderCheck(report, flags.level),
      );
      process.exitCode = exitCodeOf(report, flags.level);
    });
}
