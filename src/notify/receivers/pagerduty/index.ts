import { createHash } from 'node:crypto';
import { z } from 'zod';
import { timeoutField } from '../../fields.js';
import { refText } from '../../../domain/index.js';
import { sendEach } from '../../each.js';
import { send } from '../../http.js';
import { cut, headline, reasonText } from '../../render.js';
import { secretField } from '../../secret.js';
import type { Delivery, NotificationAlert, Notifier, Sender } from '../../types.js';

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
    timeout: timeoutField.optional(),
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

export const pagerdutyNotifier: Notifier<PagerdutyConfig> = {
  type: 'pagerduty',
  description: 'PagerDuty Events API v2: one incident per alert, resolved when the alert resolves',
  schema: pagerdutyConfigSchema,
  batching: 'each',
  create(config: PagerdutyConfig): Sender {
    const url = config.url ?? PAGERDUTY_EVENTS_URL;
    const timeoutMs = config.timeout;
    return {
      send: (delivery, signal) =>
        sendEach(
          delivery,
          signal,
          (a) =>
            send({
              url,
              method: 'POST',
              body: pagerdutyEvent(config, delivery, a),
              ...(timeoutMs !== undefined ? { timeoutMs } : {}),
              signal,
            }),
          'events',
        ),
    };
  },
};
