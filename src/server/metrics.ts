import type { ServiceCounters, ServiceHealth } from '../app/service.js';
import type { Alert } from '../alerts/tracker.js';
import { LEVELS, type Finding } from '../domain/index.js';
import type { ReceiverHealth } from '../notify/types.js';

/** Escapes a label value for the Prometheus text format. */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string>): string {
  const entries = Object.entries(pairs);
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${label(v)}"`).join(',')}}`;
}

/** What `/metrics` reports. */
export interface MetricsInput {
  counters: ServiceCounters;
  health: ServiceHealth;
  alerts: readonly Alert[];
  findings: readonly Finding[];
  /** The configured receivers' delivery figures; without them the notification families are left out. */
  receivers?: readonly ReceiverHealth[] | undefined;
  /** Silences in effect now; without it (no store) `healwatch_silences_active` is left out. */
  activeSilences?: number | undefined;
}

/** Healwatch's own metrics in the Prometheus text exposition format (version 0.0.4). */
export function renderMetrics(input: MetricsInput): string {
  const out: string[] = [];
  const family = (
    name: string,
    type: 'counter' | 'gauge' | 'summary',
    help: string,
    samples: [string, Record<string, string>, number][],
  ): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [suffix, l, v] of samples) out.push(`${name}${suffix}${labels(l)} ${formatNumber(v)}`);
  };
  const { counters, health } = input;
  family('healwatch_events_processed_total', 'counter', 'Changes of watched objects applied to the view.', [
    ['', {}, counters.eventsProcessed],
  ]);
  family('healwatch_rule_evaluations_total', 'counter', 'Evaluations of the rule catalog.', [
    ['', {}, counters.evaluations],
  ]);
  family('healwatch_rule_evaluation_seconds', 'summary', 'Time spent evaluating the rule catalog.', [
    ['_sum', {}, counters.evaluationSecondsTotal],
    ['_count', {}, counters.evaluations],
  ]);
  family(
    'healwatch_rule_evaluation_last_seconds',
    'gauge',
    'Duration of the last evaluation of the rule catalog.',
    [['', {}, (health.lastEvaluation?.durationMs ?? 0) / 1000]],
  );
  family('healwatch_rule_errors', 'gauge', 'Rules that threw in the last evaluation.', [
    ['', {}, health.ruleErrors.length],
  ]);
  family(
    'healwatch_alert_transitions_total',
    'counter',
    'Alert transitions emitted, by type.',
    Object.entries(counters.transitions).map(([type, n]) => ['', { type }, n]),
  );
  const alertSamples: [string, Record<string, string>, number][] = [];
  for (const state of ['pending', 'firing'] as const)
    for (const level of LEVELS)
      alertSamples.push([
        '',
        { state, level },
        input.alerts.filter((a) => a.state === state && a.level === level).length,
      ]);
  family('healwatch_alerts', 'gauge', 'Alerts being tracked, by state and level.', alertSamples);
  family(
    'healwatch_findings',
    'gauge',
    'Findings of the last evaluation (after inhibition), by level.',
    LEVELS.map((level) => ['', { level }, input.findings.filter((f) => f.level === level).length]),
  );
  family(
    'healwatch_watch_up',
    'gauge',
    'Whether the watch of a resource is synced and current (1) or not (0).',
    health.watches.map((w) => [
      '',
      { resource: w.resource },
      w.isSynced && (w.state === 'watching' || w.state === 'unavailable') ? 1 : 0,
    ]),
  );
  family(
    'healwatch_watch_objects',
    'gauge',
    'Objects held per watched resource.',
    health.watches.map((w) => ['', { resource: w.resource }, w.objects]),
  );
  family(
    'healwatch_probe_up',
    'gauge',
    'Whether a probe last succeeded (1) or not (0).',
    health.probes.map((p) => [
      '',
      { probe: p.name },
      p.state === 'ok' || p.state === 'partial' || p.state === 'unavailable' ? 1 : 0,
    ]),
  );
  family('healwatch_ready', 'gauge', 'Whether Healwatch is synced and not blind.', [
    ['', {}, health.ready ? 1 : 0],
  ]);
  if (input.receivers) {
    const receivers = input.receivers;
    const per = (value: (r: ReceiverHealth) => number): [string, Record<string, string>, number][] =>
      receivers.map((r) => ['', { receiver: r.name, type: r.type }, value(r)]);
    family(
      'healwatch_notifications_sent_total',
      'counter',
      'Notifications a receiver acknowledged.',
      per((r) => r.sent),
    );
    family(
      'healwatch_notifications_failed_total',
      'counter',
      'Failed delivery attempts (each retry counts).',
      per((r) => r.failedAttempts),
    );
    family(
      'healwatch_notifications_queued',
      'gauge',
      'Notifications waiting to be delivered.',
      per((r) => r.queued),
    );
    family(
      'healwatch_notifications_dead_total',
      'counter',
      'Notifications given up on: not retryable, or retried past the retry window.',
      per((r) => r.dead),
    );
    family(
      'healwatch_notifications_suppressed_total',
      'counter',
      'Notifications not sent because a silence covered them when they were due.',
      per((r) => r.suppressed),
    );
    family(
      'healwatch_receiver_up',
      'gauge',
      'Whether a receiver last delivered (or has not been tried) (1) or is failing (0).',
      per((r) => (r.state === 'ok' ? 1 : 0)),
    );
  }
  if (input.activeSilences !== undefined)
    family('healwatch_silences_active', 'gauge', 'Silences in effect now.', [['', {}, input.activeSilences]]);
  return `${out.join('\n')}\n`;
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}
