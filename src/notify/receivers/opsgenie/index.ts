import { createHash } from 'node:crypto';
import { z } from 'zod';
import { timeoutField } from '../../fields.js';
import { refText } from '../../../domain/index.js';
import { sendEach } from '../../each.js';
import { send } from '../../http.js';
import { alertText, cut, headline, reasonText } from '../../render.js';
import { secretField } from '../../secret.js';
import type { Delivery, NotificationAlert, Notifier, Sender } from '../../types.js';

/** Opsgenie's API per region. */
export const OPSGENIE_API = { us: 'https://api.opsgenie.com', eu: 'https://api.eu.opsgenie.com' } as const;

/** Limits of the Alert API. */
const MAX_MESSAGE = 130;
const MAX_ALIAS = 512;
const MAX_DESCRIPTION = 15_000;
const MAX_ENTITY = 512;
const MAX_NOTE = 25_000;
const MAX_TAGS = 20;
const MAX_TAG = 50;
const MAX_DETAILS = 8_000;
const MAX_DETAIL_VALUE = 1_000;
const MAX_RESPONDERS = 50;

const priority = z.enum(['P1', 'P2', 'P3', 'P4', 'P5']);
export type OpsgeniePriority = z.output<typeof priority>;

const responder = z
  .object({
    type: z.enum(['team', 'user', 'escalation', 'schedule']),
    name: z.string().min(1).optional(),
    id: z.string().min(1).optional(),
    username: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.type === 'user') {
      if (r.name !== undefined)
        ctx.addIssue({ code: 'custom', path: ['name'], message: 'a user responder takes username or id' });
      else if (r.id === undefined && r.username === undefined)
        ctx.addIssue({ code: 'custom', message: 'a user responder needs username or id' });
    } else if (r.username !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['username'], message: `a ${r.type} responder takes name or id` });
    } else if (r.id === undefined && r.name === undefined) {
      ctx.addIssue({ code: 'custom', message: `a ${r.type} responder needs name or id` });
    }
  });

export type OpsgenieResponder = z.output<typeof responder>;

/** The receiver's configuration, as written under `notifications.receivers`. */
export const opsgenieConfigSchema = z
  .object({
    name: z.string().min(1),
    type: z.literal('opsgenie'),
    /** The API key of an "API" integration (a team's or the account's). */
    apiKey: secretField,
    /** The Opsgenie instance: `us` (api.opsgenie.com, the default) or `eu` (api.eu.opsgenie.com). */
    region: z.enum(['us', 'eu']).optional(),
    /** API base URL instead of the region's (a proxy, or a test server). */
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    /** Opsgenie priority per Healwatch level. */
    priority: z
      .object({ alert: priority.default('P1'), notice: priority.default('P3') })
      .strict()
      .optional(),
    /** Who is notified (else the integration's team and rules decide). */
    responders: z.array(responder).max(MAX_RESPONDERS).optional(),
    /** Tags on every alert (before `healwatch` and `rule:<id>`; 20 at most in all). */
    tags: z.array(z.string().min(1).max(MAX_TAG)).max(MAX_TAGS).optional(),
    timeout: timeoutField.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.region !== undefined && c.url !== undefined)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'give region or url, not both' });
  });

export type OpsgenieConfig = z.output<typeof opsgenieConfigSchema>;

/** The API base URL of a configuration, without a trailing slash. */
export function opsgenieBaseUrl(config: Pick<OpsgenieConfig, 'region' | 'url'>): string {
  return (config.url ?? OPSGENIE_API[config.region ?? 'us']).replace(/\/+$/, '');
}

/**
 * The alias of an alert (Opsgenie's dedup key): its fingerprint, prefixed with the cluster name when there
 * is one, and `hw-` + sha256 hex of that when longer than 512 characters. The same alias goes with every
 * create and the close, so Opsgenie keeps one alert per problem.
 */
export function opsgenieAlias(cluster: string, fingerprint: string): string {
  const key = cluster ? `${cluster}|${fingerprint}` : fingerprint;
  if (key.length <= MAX_ALIAS) return key;
  return `hw-${createHash('sha256').update(key).digest('hex')}`;
}

function priorityOf(config: OpsgenieConfig, a: NotificationAlert): OpsgeniePriority {
  return a.level === 'alert' ? (config.priority?.alert ?? 'P1') : (config.priority?.notice ?? 'P3');
}

function messageOf(a: NotificationAlert): string {
  return cut(headline(a), MAX_MESSAGE);
}

function descriptionOf(delivery: Delivery, a: NotificationAlert): string {
  const lines = [alertText(a, 10)];
  const tail = [
    delivery.cluster ? `Cluster: ${delivery.cluster}` : '',
    delivery.dashboardUrl ? `Dashboard: ${delivery.dashboardUrl}` : '',
  ].filter(Boolean);
  if (tail.length > 0) lines.push('', ...tail);
  return cut(lines.join('\n'), MAX_DESCRIPTION);
}

/** Details: string values only, 8000 characters in all (later keys are dropped past that). */
function detailsOf(delivery: Delivery, a: NotificationAlert): Record<string, string> {
  const wanted: [string, string][] = [
    ['rule', a.ruleId],
    ['level', a.level],
    ['namespace', a.object.namespace ?? ''],
    ['object', refText(a.object)],
    ['key', a.key ?? ''],
    ['cluster', delivery.cluster],
    ['since', new Date(a.startsAt).toISOString()],
    ['fingerprint', a.fingerprint],
    ['dashboard', delivery.dashboardUrl ?? ''],
  ];
  const taken = new Set(wanted.map(([k]) => k));
  for (const [k, v] of Object.entries(a.facts)) if (!taken.has(k)) wanted.push([k, String(v)]);
  const details: Record<string, string> = {};
  let size = 0;
  for (const [k, raw] of wanted) {
    if (raw === '') continue;
    const v = cut(raw, MAX_DETAIL_VALUE);
    if (size + k.length + v.length > MAX_DETAILS) break;
    details[k] = v;
    size += k.length + v.length;
  }
  return details;
}

function tagsOf(config: OpsgenieConfig, a: NotificationAlert): string[] {
  const tags = [...(config.tags ?? []), 'healwatch', cut(`rule:${a.ruleId}`, MAX_TAG)];
  return [...new Set(tags)].slice(0, MAX_TAGS);
}

function respondersOf(config: OpsgenieConfig): Record<string, string>[] | undefined {
  if (!config.responders || config.responders.length === 0) return undefined;
  return config.responders.map((r) => {
    const out: Record<string, string> = { type: r.type };
    if (r.id !== undefined) out.id = r.id;
    if (r.name !== undefined) out.name = r.name;
    if (r.username !== undefined) out.username = r.username;
    return out;
  });
}

/** The body of "create alert" for a firing alert. */
export function opsgenieCreateBody(
  config: OpsgenieConfig,
  delivery: Delivery,
  a: NotificationAlert,
): Record<string, unknown> {
  const responders = respondersOf(config);
  return {
    message: messageOf(a),
    alias: opsgenieAlias(delivery.cluster, a.fingerprint),
    description: descriptionOf(delivery, a),
    priority: priorityOf(config, a),
    source: 'Healwatch',
    entity: cut(refText(a.object), MAX_ENTITY),
    tags: tagsOf(config, a),
    details: detailsOf(delivery, a),
    ...(responders ? { responders } : {}),
  };
}

/** The body of "close alert" for a resolved alert. */
export function opsgenieCloseBody(delivery: Delivery, a: NotificationAlert): Record<string, unknown> {
  const minutes =
    a.endsAt !== undefined ? Math.max(0, Math.round((a.endsAt - a.startsAt) / 60_000)) : undefined;
  const note = `Healwatch: ${headline(a)} ${reasonText(a)}${minutes !== undefined ? ` after ${minutes} min` : ''}${delivery.cluster ? ` on ${delivery.cluster}` : ''}.`;
  return { source: 'Healwatch', note: cut(note, MAX_NOTE) };
}

export const opsgenieNotifier: Notifier<OpsgenieConfig> = {
  type: 'opsgenie',
  description: 'Opsgenie Alert API: one alert per problem (alias), closed when it resolves',
  schema: opsgenieConfigSchema,
  batching: 'each',
  create(config: OpsgenieConfig): Sender {
    const base = `${opsgenieBaseUrl(config)}/v2/alerts`;
    const timeoutMs = config.timeout;
    const request = (url: string, method: 'POST' | 'PUT', body: unknown, signal: AbortSignal | undefined) =>
      send({
        url,
        method,
        headers: { authorization: `GenieKey ${config.apiKey.reveal()}` },
        body,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        signal,
      });
    const one = async (delivery: Delivery, a: NotificationAlert, signal: AbortSignal | undefined) => {
      const alias = encodeURIComponent(opsgenieAlias(delivery.cluster, a.fingerprint));
      if (a.status === 'resolved')
        return request(
          `${base}/${alias}/close?identifierType=alias`,
          'POST',
          opsgenieCloseBody(delivery, a),
          signal,
        );
      const created = await request(base, 'POST', opsgenieCreateBody(config, delivery, a), signal);
      if (!created.ok || a.reason !== 'level-changed') return created;
      // Opsgenie dedups a create on an open alert (the count goes up) without changing its fields: after a
      // level change, bring priority, message and description up to date (Opsgenie queues these requests
      // after the create; on an alert the create has just opened they change nothing).
      for (const [path, body] of [
        ['priority', { priority: priorityOf(config, a) }],
        ['message', { message: messageOf(a) }],
        ['description', { description: descriptionOf(delivery, a) }],
      ] as const) {
        const updated = await request(`${base}/${alias}/${path}?identifierType=alias`, 'PUT', body, signal);
        if (!updated.ok) return { ...updated, error: `updating the ${path}: ${updated.error}` };
      }
      return created;
    };
    return { send: (delivery, signal) => sendEach(delivery, signal, (a) => one(delivery, a, signal)) };
  },
};
