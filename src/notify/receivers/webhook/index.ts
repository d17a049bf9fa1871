import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { timeoutField } from '../../fields.js';
import type { Evidence } from '../../../domain/index.js';
import { DEFAULT_TIMEOUT_MS, send } from '../../http.js';
import { cut, deliveryText, deliveryTitle } from '../../render.js';
import { registerSecret, registerUrlParts, secretField, secretUrlField, type Secret } from '../../secret.js';
import type { Delivery, NotificationAlert, Notifier, Sender } from '../../types.js';

/** Headers Healwatch sets itself (or fetch does), which the configuration may not replace. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'host',
  'connection',
  'transfer-encoding',
  'idempotency-key',
]);

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name')
  .refine(
    (name) => !RESERVED_HEADERS.has(name.toLowerCase()) && !name.toLowerCase().startsWith('x-healwatch-'),
    'is set by Healwatch and cannot be configured',
  );

const headerValue = secretField.superRefine((secret, ctx) => {
  if (/[\r\n\0]/.test(secret.reveal()))
    ctx.addIssue({
      code: 'custom',
      message: `must not contain line breaks (from ${secret.source}; value not shown)`,
    });
});

const schema = z
  .object({
    name: z.string().min(1),
    type: z.literal('webhook'),
    /** Where to POST (a secret: URLs often carry a token). */
    url: secretUrlField,
    /** Signs each request: `X-Healwatch-Signature: sha256=HMAC(key, "<timestamp>.<body>")`. */
    hmacSecret: secretField.optional(),
    /** Extra headers (e.g. `Authorization`), each value a secret. */
    headers: z.record(headerName, headerValue).optional(),
    /** How long the receiver has to answer (default 10s). Milliseconds once parsed. */
    timeout: timeoutField.optional(),
    /** At most this many alerts per request (default 100); the rest are counted in `truncatedAlerts`. */
    maxAlerts: z.number().int().min(1).max(1000).optional(),
  })
  .strict();

/** A webhook receiver's configuration, as parsed (secrets as Secret, `timeout` in milliseconds). */
export type WebhookConfig = z.output<typeof schema>;

/** Alerts per request unless `maxAlerts` says otherwise. */
export const DEFAULT_MAX_ALERTS = 100;

/** Text fields are cut to these lengths (characters) so one noisy log line cannot make a huge request. */
const MAX = { title: 500, loop: 1000, message: 4000, evidence: 2000, nextStep: 1000, text: 20_000 } as const;

/** One alert in the request body: a NotificationAlert with times as ISO 8601 strings. */
export type WebhookAlert = Omit<NotificationAlert, 'startsAt' | 'endsAt' | 'evidence'> & {
  readonly startsAt: string;
  readonly endsAt?: string;
  readonly evidence: readonly (Omit<Evidence, 'at'> & { readonly at?: string })[];
};

/** The JSON body of every request (`version` changes only when a field changes meaning or goes away). */
export interface WebhookBody {
  readonly version: 1;
  readonly kind: 'healwatch.notification';
  readonly idempotencyKey: string;
  readonly cluster: string;
  readonly groupKey: string;
  readonly groupLabels: Readonly<Record<string, string>>;
  /** `firing` when any alert of the delivery fires. */
  readonly status: 'firing' | 'resolved';
  readonly sentAt: string;
  /** One line for people: `[ALERT] 2 firing (namespace=shop) on prod`. */
  readonly title: string;
  /** The whole message as plain text (level, broken loop, evidence, next steps per alert). */
  readonly text: string;
  readonly dashboardUrl?: string;
  readonly alerts: readonly WebhookAlert[];
  /** Alerts of the delivery left out because of `maxAlerts`. */
  readonly truncatedAlerts: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function alertJson(a: NotificationAlert): WebhookAlert {
  const { startsAt, endsAt, evidence, ...rest } = a;
  return {
    ...rest,
    title: cut(a.title, MAX.title),
    loop: cut(a.loop, MAX.loop),
    message: cut(a.message, MAX.message),
    nextSteps: a.nextSteps.map((s) => cut(s, MAX.nextStep)),
    evidence: evidence.map(({ at, ...e }) => ({
      ...e,
      text: cut(e.text, MAX.evidence),
      ...(at !== undefined ? { at: iso(at) } : {}),
    })),
    startsAt: iso(startsAt),
    ...(endsAt !== undefined ? { endsAt: iso(endsAt) } : {}),
  };
}

/** The request body for a delivery, sent at `sentAt` (epoch ms). */
export function webhookBody(d: Delivery, sentAt: number, maxAlerts = DEFAULT_MAX_ALERTS): WebhookBody {
  const alerts = d.alerts.slice(0, maxAlerts);
  return {
    version: 1,
    kind: 'healwatch.notification',
    idempotencyKey: d.idempotencyKey,
    cluster: d.cluster,
    groupKey: d.groupKey,
    groupLabels: d.groupLabels,
    status: d.alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    sentAt: iso(sentAt),
    title: deliveryTitle(d),
    text: cut(deliveryText({ ...d, alerts }), MAX.text),
    ...(d.dashboardUrl ? { dashboardUrl: d.dashboardUrl } : {}),
    alerts: alerts.map(alertJson),
    truncatedAlerts: d.alerts.length - alerts.length,
  };
}

/** `sha256=<hex>`: HMAC-SHA256 of `<timestamp>.<body>` with the shared key. */
export function webhookSignature(key: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Registers the credential of `Bearer <token>`-style header values on its own, as an answer may quote it. */
function registerHeaderParts(value: Secret): void {
  const m = /^\s*[A-Za-z][A-Za-z0-9-]*\s+(\S.*?)\s*$/.exec(value.reveal());
  if (m) registerSecret(m[1]!);
}

/** A generic JSON webhook: one signed POST per group of alerts. */
export const webhookNotifier: Notifier<WebhookConfig> = {
  type: 'webhook',
  description: 'Generic JSON webhook: one POST per group, HMAC-signed, with an idempotency key',
  schema,
  batching: 'group',
  create(config: WebhookConfig): Sender {
    registerUrlParts(config.url);
    for (const value of Object.values(config.headers ?? {})) registerHeaderParts(value);
    return {
      send(delivery, signal) {
        const now = Date.now();
        const body = JSON.stringify(webhookBody(delivery, now, config.maxAlerts));
        const timestamp = String(Math.floor(now / 1000));
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(config.headers ?? {})) headers[name] = value.reveal();
        Object.assign(headers, {
          'content-type': 'application/json',
          'idempotency-key': delivery.idempotencyKey,
          'x-healwatch-timestamp': timestamp,
          ...(config.hmacSecret
            ? { 'x-healwatch-signature': webhookSignature(config.hmacSecret.reveal(), timestamp, body) }
            : {}),
        });
        return send({
          url: config.url,
          headers,
          body,
          timeoutMs: config.timeout ?? DEFAULT_TIMEOUT_MS,
          signal,
        });
      },
    };
  },
};
