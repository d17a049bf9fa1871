import { z } from 'zod';
import { timeoutField } from '../../fields.js';
import { send } from '../../http.js';
import { registerSecret, secretField, secretUrlField } from '../../secret.js';
import type { Delivery, NotificationAlert, Notifier, Sender } from '../../types.js';

/** Prometheus' label-name syntax, which Alertmanager 0.25 enforces. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** How long a firing alert stays valid in Alertmanager without a re-send (Prometheus uses 4× its resend). */
export const ALERTMANAGER_VALID_MS = 4 * 60_000;

/** Label names we always set: `extraLabels` cannot take them. */
const RESERVED = ['alertname', 'severity', 'healwatch_level'];

/** The receiver's configuration, as written under `notifications.receivers`. */
export const alertmanagerConfigSchema = z
  .object({
    name: z.string().min(1),
    type: z.literal('alertmanager'),
    /** Base URL of Alertmanager (`https://am.example:9093`, or with a route prefix); may hold user:password. */
    url: secretUrlField,
    basicAuth: z
      .object({ username: z.string().min(1), password: secretField })
      .strict()
      .optional(),
    bearerToken: secretField.optional(),
    /** Labels added to every alert (when the alert has no label of that name). */
    extraLabels: z
      .record(
        z
          .string()
          .regex(LABEL_NAME, 'must be a label name ([a-zA-Z_][a-zA-Z0-9_]*)')
          .refine((n) => !n.startsWith('__'), 'names starting with __ are reserved')
          .refine((n) => !RESERVED.includes(n), 'is set by Healwatch'),
        z.string().min(1),
      )
      .optional(),
    timeout: timeoutField.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    let inUrl: boolean;
    try {
      const u = new URL(c.url.reveal());
      inUrl = u.username !== '' || u.password !== '';
    } catch {
      return; // secretUrlField reports it
    }
    const ways = [inUrl, c.basicAuth !== undefined, c.bearerToken !== undefined].filter(Boolean).length;
    if (ways > 1)
      ctx.addIssue({
        code: 'custom',
        message: 'give one of: user:password in url, basicAuth, bearerToken',
      });
  });

export type AlertmanagerConfig = z.output<typeof alertmanagerConfigSchema>;

/** One alert as Alertmanager's `POST /api/v2/alerts` takes it. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/**
 * A label name Alertmanager accepts: characters outside `[a-zA-Z0-9_]` become `_`, and a leading digit gets
 * a `_` before it. Undefined for an empty name.
 */
export function sanitizeLabelName(name: string): string | undefined {
  if (name === '') return undefined;
  const n = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(n) ? `_${n}` : n;
}

/** Label names of ours that the alert's `labels` repeat under another name (alertname, healwatch_level). */
const SKIPPED = new Set(['rule', 'level']);

/**
 * The labels of an alert. Alertmanager identifies an alert by its whole label set, so only what names the
 * problem goes in: alertname (the rule), severity and healwatch_level, namespace, kind, name, key, cluster,
 * the alert's other labels except those that are facts (facts change while an alert fires: they go in the
 * `facts` annotation), then `extraLabels`. Names are sanitised, empty values left out, the first of two
 * equal names wins.
 */
export function alertmanagerLabels(
  a: NotificationAlert,
  delivery: Delivery,
  extra: Readonly<Record<string, string>> = {},
  level: 'alert' | 'notice' = a.level,
): Record<string, string> {
  const labels: Record<string, string> = {};
  const put = (name: string, value: string | undefined) => {
    const n = sanitizeLabelName(name);
    if (n === undefined || value === undefined || value === '' || n in labels) return;
    labels[n] = value;
  };
  put('alertname', a.ruleId);
  put('severity', level === 'alert' ? 'critical' : 'warning');
  put('healwatch_level', level);
  put('namespace', a.object.namespace);
  put('kind', a.object.kind);
  put('name', a.object.name);
  put('key', a.key);
  put('cluster', delivery.cluster || a.labels.cluster);
  for (const [k, v] of Object.entries(a.labels)) {
    if (SKIPPED.has(k)) continue;
    const fact = a.facts[k];
    if (fact !== undefined && String(fact) === v) continue;
    put(k, v);
  }
  for (const [k, v] of Object.entries(extra)) put(k, v);
  return labels;
}

/** The annotations of an alert: what it says, for Alertmanager's templates. */
export function alertmanagerAnnotations(a: NotificationAlert): Record<string, string> {
  const annotations: Record<string, string> = {
    summary: a.title,
    description: a.message,
    loop: a.loop,
    evidence: a.evidence.map((e) => e.text).join('\n'),
    next_steps: a.nextSteps.join('\n'),
    facts: Object.entries(a.facts)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join('\n'),
    healwatch_fingerprint: a.fingerprint,
  };
  for (const [k, v] of Object.entries(annotations)) if (v === '') delete annotations[k];
  return annotations;
}

/**
 * The postable alerts of a delivery. A firing alert is valid until `now` + 4 minutes (re-sent every minute
 * meanwhile); a resolved one ends at its `endsAt`. After a level change the alert's labels change
 * (severity, healwatch_level), which is another alert to Alertmanager: the one with the previous level is
 * resolved in the same request rather than left to expire.
 */
export function alertmanagerAlerts(
  delivery: Delivery,
  extra: Readonly<Record<string, string>> = {},
): PostableAlert[] {
  const out: PostableAlert[] = [];
  for (const a of delivery.alerts) {
    const startsAt = new Date(a.startsAt).toISOString();
    const ends = a.status === 'resolved' ? (a.endsAt ?? delivery.now) : delivery.now + ALERTMANAGER_VALID_MS;
    const common = {
      annotations: alertmanagerAnnotations(a),
      startsAt,
      // Alertmanager answers 422 to a generatorURL that is not a URI.
      ...(delivery.dashboardUrl && URL.canParse(delivery.dashboardUrl)
        ? { generatorURL: delivery.dashboardUrl }
        : {}),
    };
    out.push({
      labels: alertmanagerLabels(a, delivery, extra),
      ...common,
      endsAt: new Date(Math.max(ends, a.startsAt)).toISOString(),
    });
    const before = a.previousLevel;
    if (
      a.status === 'firing' &&
      a.reason === 'level-changed' &&
      (before === 'alert' || before === 'notice') &&
      before !== a.level
    )
      out.push({
        labels: alertmanagerLabels(a, delivery, extra, before),
        ...common,
        endsAt: new Date(Math.max(delivery.now, a.startsAt)).toISOString(),
      });
  }
  return out;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The request URL (`<base>/api/v2/alerts`, credentials taken out) and the Authorization header. */
export function alertmanagerTarget(config: AlertmanagerConfig): { url: string; authorization?: string } {
  const u = new URL(config.url.reveal());
  let authorization: string | undefined;
  const basic = (user: string, password: string) => {
    const token = Buffer.from(`${user}:${password}`).toString('base64');
    registerSecret(token);
    return `Basic ${token}`;
  };
  if (u.username !== '' || u.password !== '') {
    // fetch refuses URLs with credentials: they go in the header.
    const password = decode(u.password);
    registerSecret(password);
    authorization = basic(decode(u.username), password);
    u.username = '';
    u.password = '';
  } else if (config.basicAuth) {
    authorization = basic(config.basicAuth.username, config.basicAuth.password.reveal());
  } else if (config.bearerToken) {
    authorization = `Bearer ${config.bearerToken.reveal()}`;
  }
  u.hash = '';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
  const url = u.toString();
  // The URL is a secret as a whole; an answer quoting it without the credentials is scrubbed too.
  registerSecret(url);
  registerSecret(`${u.origin}${u.pathname.replace(/\/api\/v2\/alerts$/, '')}`);
  return { url, ...(authorization !== undefined ? { authorization } : {}) };
}

export const alertmanagerNotifier: Notifier<AlertmanagerConfig> = {
  type: 'alertmanager',
  description: 'Prometheus Alertmanager API v2: alerts posted as Prometheus would, re-sent every minute',
  schema: alertmanagerConfigSchema,
  batching: 'all',
  resendEveryMs: 60_000,
  create(config: AlertmanagerConfig): Sender {
    const { url, authorization } = alertmanagerTarget(config);
    const timeoutMs = config.timeout;
    return {
      send: (delivery, signal) =>
        send({
          url,
          method: 'POST',
          ...(authorization !== undefined ? { headers: { authorization } } : {}),
          body: alertmanagerAlerts(delivery, config.extraLabels),
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
          signal,
        }),
    };
  },
};
