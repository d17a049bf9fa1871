import type { z } from 'zod';
import type { Evidence, Level, ObjectRef } from '../domain/index.js';

/**
 * One alert as a notification tells it: what is wrong, at which level, which self-healing loop is broken,
 * the evidence and the next step. Stored in the outbox as JSON (no secrets), rendered per receiver at send
 * time.
 */
export interface NotificationAlert {
  readonly fingerprint: string;
  /** `firing` (new, repeated or changed level) or `resolved`. */
  readonly status: 'firing' | 'resolved';
  /** Why this notification: the alert fired, changed level, is still firing (repeat), or resolved. */
  readonly reason: 'fired' | 'level-changed' | 'repeat' | 'resolved';
  readonly level: Exclude<Level, 'none'>;
  /** For `level-changed`: the level before. */
  readonly previousLevel?: Level | undefined;
  readonly ruleId: string;
  readonly object: ObjectRef;
  readonly key?: string | undefined;
  readonly title: string;
  readonly loop: string;
  readonly message: string;
  /** The most telling evidence (at most 10 items). */
  readonly evidence: readonly Evidence[];
  readonly nextSteps: readonly string[];
  readonly facts: Readonly<Record<string, string | number | boolean>>;
  /** The alert's labels (what routes and silences match on). */
  readonly labels: Readonly<Record<string, string>>;
  /** When it started firing (epoch ms). */
  readonly startsAt: number;
  /** When it resolved (for `resolved`). */
  readonly endsAt?: number | undefined;
  /** Why it resolved, when not plainly (e.g. `resolved while Healwatch was down`). */
  readonly note?: string | undefined;
}

/** What the outbox holds for one notification of one alert to one receiver. */
export interface OutboxPayload {
  readonly version: 1;
  readonly cluster: string;
  /** Alerts with the same group key go out as one message on receivers that group. */
  readonly groupKey: string;
  /** The label values the group is made of (e.g. `{ namespace: 'shop' }`). */
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly alert: NotificationAlert;
}

/** One message to deliver: one or more alerts (a group), already without duplicates. */
export interface Delivery {
  readonly cluster: string;
  readonly groupKey: string;
  readonly groupLabels: Readonly<Record<string, string>>;
  /** Firing first (Alerts before Notices), then resolved. */
  readonly alerts: readonly NotificationAlert[];
  /**
   * Stable for this message across retries and restarts (derived from the outbox messages it carries): a
   * receiver that supports it can drop a duplicate.
   */
  readonly idempotencyKey: string;
  /** When it is being sent (epoch ms). */
  readonly now: number;
  /** Link to the dashboard, when Healwatch knows its public URL. */
  readonly dashboardUrl?: string | undefined;
}

/** What a receiver's answer means. */
export type DeliveryResult =
  | { readonly ok: true; readonly detail?: string | undefined }
  | {
      readonly ok: false;
      /** True for outages and throttling (5xx, 408, 429, network errors): try again later. */
      readonly retryable: boolean;
      /** The receiver asked to wait this long (Retry-After). */
      readonly retryAfterMs?: number | undefined;
      /** What went wrong, without secrets (run through `redact`). */
      readonly error: string;
    };

/** A configured receiver, ready to send. */
export interface Sender {
  send(delivery: Delivery, signal?: AbortSignal): Promise<DeliveryResult>;
}

/**
 * A kind of receiver (Slack, PagerDuty, ...): its config schema (secret fields as `secretField`), how it
 * takes alerts, and a factory.
 */
export interface Notifier<
  C extends { readonly name: string; readonly type: string } = { name: string; type: string },
> {
  readonly type: string;
  /** One line for `--help` and docs. */
  readonly description: string;
  /** The receiver's config schema, including `name` and `type` (`.strict()`: unknown fields are errors). */
  readonly schema: z.ZodType<C>;
  /**
   * `group`: one message per group of alerts (chat, e-mail, webhook); `each`: one request per alert (incident
   * tools that dedupe on a key: PagerDuty, Opsgenie); `all`: every due alert in one request (Alertmanager).
   */
  readonly batching: 'group' | 'each' | 'all';
  /**
   * While an alert fires, re-send it at least this often whatever the route's repeat interval (Alertmanager
   * expires alerts that are not re-sent). Undefined: the route's repeat interval decides.
   */
  readonly resendEveryMs?: number | undefined;
  create(config: C): Sender;
}

/** How a receiver is doing (for `/api/v1/receivers`, `/metrics` and the dashboard). */
export interface ReceiverHealth {
  readonly name: string;
  readonly type: string;
  /** `ok`: last attempt delivered (or nothing sent yet); `failing`: the last attempt failed and messages wait. */
  readonly state: 'ok' | 'failing';
  readonly queued: number;
  readonly sent: number;
  /** Given up: not retryable, or retried past the retry window. */
  readonly dead: number;
  /** Not sent because a silence covered them by the time they were due. */
  readonly suppressed: number;
  /** Failed attempts since the service started. */
  readonly failedAttempts: number;
  /**
   * Counted since the service started (never decreasing, for `/metrics` counters): messages delivered,
   * given up, and not sent because of a silence. `sent`, `dead` and `suppressed` above are what the store
   * holds now, which retention trims.
   */
  readonly sinceStart: { readonly sent: number; readonly dead: number; readonly suppressed: number };
  readonly lastSentAt?: number | undefined;
  readonly lastError?: string | undefined;
  readonly lastErrorAt?: number | undefined;
  /** While failing: when the next attempt is due. */
  readonly nextAttemptAt?: number | undefined;
  readonly oldestQueuedAt?: number | undefined;
}
