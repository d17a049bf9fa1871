import { createHash } from 'node:crypto';
import { z } from 'zod';
import { refText } from '../../../domain/index.js';
import { httpError, isRetryableStatus, parseRetryAfter, send, type HttpAnswer } from '../../http.js';
import { cut, headline, reasonText } from '../../render.js';
import { redact, secretField } from '../../secret.js';
import type { Delivery, DeliveryResult, NotificationAlert, Notifier, Sender } from '../../types.js';

/** PagerDuty's Events API v2 endpoint. */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** Limits of the Events API v2. */
const MAX_DEDUP_KEY = 255;
const MAX_SUMMARY = 1024;
/** Our own bounds, well inside PagerDuty's 512 KB per event. */
const MAX_TEXT = 4000;
const MAX_EVIDENCE_TEXT = 1000;

const severity = z.enum(['critical', 'error', 'warning', 'info']);
export type PagerdutySeverity = z.output<typeof severity>;

/** The receiver's configuration, as written under `notifications.receivers`. */
export const pagerdutyConfigSchema = z
  .object({
    name: z.string().min(1),
    type: z.literal('pagerduty'),
    /** The integration key of an "Events API v2" integration on a PagerDuty service. */
    routingKey: secretField,
    /** Events endpoint (default PagerDuty's; a proxy or a test server otherwise). */
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    /** PagerDuty severity per Healwatch level. */
    severity: z
      .object({ alert: severity.default('critical'), notice: severity.default('warning') })
      .strict()
      .optional(),
    timeoutSeconds: z.number().positive().max(300).optional(),
  })
  .strict();

export type PagerdutyConfig = z.output<typeof pagerdutyConfigSchema>;

/**
 * The dedup key of an alert: its fingerprint, prefixed with the cluster name when there is one (two
 * Healwatch instances sending to one PagerDuty service must not share incidents), and `hw-` + sha256 hex of
 * that when it is longer than PagerDuty's 255 characters. The same key goes with every trigger and the
 * resolve, so PagerDuty never opens a second incident for one problem.
 */
export function pagerdutyDedupKey(cluster: string, fingerprint: string): string {
  const key = cluster ? `${cluster}|${fingerprint}` : fingerprint;
  if (key.length <= MAX_DEDUP_KEY) return key;
  return `hw-${createHash('sha256').update(key).digest('hex')}`;
}

/** The Events API v2 event for one alert: a trigger while it fires, a resolve when it resolved. */
export function pagerdutyEvent(
  config: PagerdutyConfig,
  delivery: Delivery,
  a: NotificationAlert,
): Record<string, unknown> {
  const base = {
    routing_key: config.routingKey.reveal(),
    dedup_key: pagerdutyDedupKey(delivery.cluster, a.fingerprint),
  };
  if (a.status === 'resolved') return { ...base, event_action: 'resolve' };
  const sev =
    a.level === 'alert' ? (config.severity?.alert ?? 'critical') : (config.severity?.notice ?? 'warning');
  const summary = cut(`${headline(a)}${delivery.cluster ? ` on ${delivery.cluster}` : ''}`, MAX_SUMMARY);
  const dashboard = delivery.dashboardUrl;
  return {
    ...base,
    event_action: 'trigger',
    payload: {
      summary,
      source: delivery.cluster || 'healwatch',
      severity: sev,
      timestamp: new Date(a.startsAt).toISOString(),
      component: refText(a.object),
      ...(a.object.namespace ? { group: a.object.namespace } : {}),
      class: a.ruleId,
      custom_details: {
        level: a.level,
        reason: reasonText(a),
        loop: cut(a.loop, MAX_TEXT),
        message: cut(a.message, MAX_TEXT),
        evidence: a.evidence.map((e) => cut(e.text, MAX_EVIDENCE_TEXT)),
        next_steps: a.nextSteps.map((s) => cut(s, MAX_EVIDENCE_TEXT)),
        facts: a.facts,
        fingerprint: a.fingerprint,
      },
    },
    client: 'Healwatch',
    ...(dashboard
      ? { client_url: dashboard, links: [{ href: dashboard, text: 'Healwatch dashboard' }] }
      : {}),
  };
}

/**
 * Sends one request per alert, in order, and fails the delivery when any fails (retrying it re-sends every
 * event, which the receiver dedups). Stops at the first retryable failure: the receiver is down or
 * throttling, and the rest would fail the same way.
 */
async function sendEach(
  delivery: Delivery,
  signal: AbortSignal | undefined,
  one: (a: NotificationAlert) => Promise<DeliveryResult>,
): Promise<DeliveryResult> {
  const failures: { fingerprint: string; result: Extract<DeliveryResult, { ok: false }> }[] = [];
  let sent = 0;
  let last: DeliveryResult | undefined;
  for (const a of delivery.alerts) {
    if (signal?.aborted) break;
    const result = await one(a);
    sent++;
    last = result;
    if (!result.ok) {
      failures.push({ fingerprint: a.fingerprint, result });
      if (result.retryable) break;
    }
  }
  const total = delivery.alerts.length;
  if (failures.length === 0 && sent === total)
    return total === 1 && last ? last : { ok: true, detail: `${total} events accepted` };
  if (failures.length === 0) return { ok: false, retryable: true, error: 'aborted (shutting down)' };
  if (total === 1) return failures[0]!.result;
  const retryAfter = failures
    .map((f) => f.result.retryAfterMs)
    .filter((ms): ms is number => ms !== undefined);
  const notSent = total - sent;
  return {
    ok: false,
    retryable: failures.some((f) => f.result.retryable),
    ...(retryAfter.length > 0 ? { retryAfterMs: Math.max(...retryAfter) } : {}),
    error: redact(
      `${failures.length} of ${total} events failed${notSent > 0 ? ` (${notSent} not sent)` : ''}: ${failures
        .map((f) => `${f.fingerprint}: ${f.result.error}`)
        .join('; ')}`,
    ),
  };
}

/**
 * A failed answer, classified as `send()` does, but with the whole answer redacted before `httpError` cuts
 * it to length: cut first, a secret straddling the cut would leave its start in the error.
 */
function refused(answer: HttpAnswer): DeliveryResult | undefined {
  if (answer.status >= 200 && answer.status < 300) return undefined;
  const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'));
  return {
    ok: false,
    retryable: isRetryableStatus(answer.status),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    error: httpError({ ...answer, text: redact(answer.text) }),
  };
}

export const pagerdutyNotifier: Notifier<PagerdutyConfig> = {
  type: 'pagerduty',
  description: 'PagerDuty Events API v2: one incident per alert, resolved when the alert resolves',
  schema: pagerdutyConfigSchema,
  batching: 'each',
  create(config: PagerdutyConfig): Sender {
    const url = config.url ?? PAGERDUTY_EVENTS_URL;
    const timeoutMs = config.timeoutSeconds !== undefined ? config.timeoutSeconds * 1000 : undefined;
    return {
      send: (delivery, signal) =>
        sendEach(delivery, signal, (a) =>
          send(
            {
              url,
              method: 'POST',
              body: pagerdutyEvent(config, delivery, a),
              ...(timeoutMs !== undefined ? { timeoutMs } : {}),
              signal,
            },
            refused,
          ),
        ),
    };
  },
};
