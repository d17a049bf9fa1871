import type { Alert } from '../alerts/tracker.js';
import type { ServiceTransition } from '../app/service.js';
import { fingerprintOf, type Finding, type Level } from '../domain/index.js';
import type { Silence, Store } from '../store/index.js';
import { DEFAULT_GROUP_WAIT_MS, DEFAULT_REPEAT_MS, type NotificationsConfig, type Route } from './config.js';
import { nextBusinessTime } from './hours.js';
import { alertLabels, matchesAll } from './labels.js';
import type { NotificationAlert, OutboxPayload } from './types.js';

type Told = Exclude<Level, 'none'>;

/** At most this many evidence items travel with a notification. */
const MAX_EVIDENCE = 10;

/** The first active silence whose matchers all hold on `labels`. */
export function silenceFor(
  silences: readonly Silence[],
  labels: Readonly<Record<string, string>>,
): Silence | undefined {
  return silences.find((s) => matchesAll(s.matchers, labels));
}

/**
 * Turns alert changes into outbox messages: which receivers (routes by level and labels), when (at once
 * for Alerts; Notices after a group wait, a group interval and only within business hours, optionally as
 * one digest), and what (fired, level-changed, repeat, resolved). It reconciles rather than reacts: after
 * every evaluation it compares each firing alert with what each receiver was last sent about its current
 * firing episode, so a receiver added by a reload, a silence that ended, or a repeat interval that passed
 * all lead to the right message, and idempotency keys (receiver, alert, episode, what) make running it
 * twice harmless. It runs inside the evaluation's store transaction: an alert change and its notification
 * are written together or not at all.
 */
export class Dispatcher {
  /** Messages recorded as suppressed by a silence at dispatch, per receiver, since the start. */
  readonly suppressed = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private config: NotificationsConfig,
    private clusterName: string | undefined,
  ) {}

  reload(config: NotificationsConfig, clusterName: string | undefined): void {
    this.config = config;
    this.clusterName = clusterName;
  }

  /** Enqueues what the evaluation calls for; returns how many messages were queued. */
  dispatch(transitions: readonly ServiceTransition[], firing: readonly Alert[], now: number): number {
    if (this.config.receivers.length === 0) return 0;
    let queued = 0;
    const silences = this.store.listSilences({ activeAt: now });
    for (const alert of firing) {
      if (alert.state !== 'firing' || alert.level === 'none' || alert.firingSince === undefined) continue;
      queued += this.reconcile(alert, alert.level, alert.firingSince, silences, now);
    }
    for (const t of transitions) {
      const ended = t.type === 'resolved' || (t.type === 'level-changed' && t.level === 'none');
      if (!ended || t.alert.firingSince === undefined) continue;
      queued += this.resolve(t, t.alert.firingSince, now);
    }
    return queued;
  }

  /** Brings every receiver up to date with one firing alert. */
  private reconcile(
    alert: Alert,
    level: Told,
    episode: number,
    silences: readonly Silence[],
    now: number,
  ): number {
    const labels = alertLabels(alert.finding, level, this.clusterName);
    const silence = silenceFor(silences, labels);
    let queued = 0;
    for (const receiver of this.config.receivers) {
      const name = receiver.name;
      const { route, index } = this.routeFor(name, level, labels);
      const last = this.store.lastForAlert(name, alert.fingerprint, episode);
      const told = last !== undefined && last.kind !== 'resolved';
      const base = `${name}|${alert.fingerprint}|${episode}`;
      if (!route) {
        // Its new level is not this receiver's business any more: close what it was told.
        if (told && last.level !== undefined && last.level !== 'none') {
          const was = this.routeFor(
            name,
            last.level,
            alertLabels(alert.finding, last.level, this.clusterName),
          );
          if (was.route?.sendResolved !== false)
            queued += this.enqueue(name, alert.finding, last.level, episode, `${base}|resolved|${now}`, now, {
              reason: 'resolved',
              note: `now at level ${level}, which this receiver does not take`,
              route: was.route,
              routeIndex: was.index,
              startsAt: episode,
              endsAt: now,
            });
        }
        continue;
      }
      if (!told) {
        if (silence) {
          // Recorded once per silence, so the history shows why nothing was sent.
          const key = `${base}|silenced|${silence.id}`;
          const id = this.enqueueRow(name, alert.finding, level, episode, key, now, {
            reason: 'fired',
            route,
            routeIndex: index,
            startsAt: episode,
          });
          if (
            id !== undefined &&
            this.store.markSuppressed(id, `silenced by #${silence.id} (${silence.author})`, now)
          )
            this.suppressed.set(name, (this.suppressed.get(name) ?? 0) + 1);
          continue;
        }
        queued += this.enqueue(
          name,
          alert.finding,
          level,
          episode,
          last ? `${base}|fired|${now}` : `${base}|fired`,
          now,
          {
            reason: 'fired',
            route,
            routeIndex: index,
            startsAt: episode,
          },
        );
        continue;
      }
      if (silence) continue;
      if (last.level !== level) {
        queued += this.enqueue(
          name,
          alert.finding,
          level,
          episode,
          `${base}|level|${level}|${last.id}`,
          now,
          {
            reason: 'level-changed',
            previousLevel: last.level,
            route,
            routeIndex: index,
            startsAt: episode,
          },
        );
        continue;
      }
      if (last.state !== 'sent' || last.sentAt === undefined) continue;
      const resend = receiver.notifier.resendEveryMs;
      const repeat = Math.min(route.repeatIntervalMs ?? DEFAULT_REPEAT_MS[level], resend ?? Infinity);
      if (now - last.sentAt >= repeat)
        queued += this.enqueue(name, alert.finding, level, episode, `${base}|repeat|${last.id}`, now, {
          reason: 'repeat',
          route,
          routeIndex: index,
          startsAt: episode,
          // A re-send only to keep Alertmanager's copy alive is not a reminder: no group interval.
          immediate: resend !== undefined && repeat === resend,
        });
    }
    return queued;
  }

  /** Tells the receivers that were told about an episode that it ended. */
  private resolve(t: ServiceTransition, episode: number, now: number): number {
    let queued = 0;
    const level: Told =
      t.type === 'level-changed'
        ? t.previousLevel === 'alert'
          ? 'alert'
          : 'notice'
        : t.level === 'alert'
          ? 'alert'
          : 'notice';
    for (const receiver of this.config.receivers) {
      const last = this.store.lastForAlert(receiver.name, t.fingerprint, episode);
      if (!last || last.kind === 'resolved') continue;
      const lastLevel: Told = last.level === 'alert' ? 'alert' : last.level === 'notice' ? 'notice' : level;
      const { route, index } = this.routeFor(
        receiver.name,
        lastLevel,
        alertLabels(t.finding, lastLevel, this.clusterName),
      );
      if (route?.sendResolved === false) continue;
      queued += this.enqueue(
        receiver.name,
        t.finding,
        lastLevel,
        episode,
        `${receiver.name}|${t.fingerprint}|${episode}|resolved`,
        now,
        {
          reason: 'resolved',
          note: t.type === 'level-changed' ? 'now at level none' : t.note,
          route,
          routeIndex: index,
          startsAt: episode,
          endsAt: t.at,
        },
      );
    }
    return queued;
  }

  /** The first route that sends alerts with these labels at this level to the receiver. */
  private routeFor(
    receiver: string,
    level: Told,
    labels: Readonly<Record<string, string>>,
  ): { route: Route | undefined; index: number } {
    const routes = this.config.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if (r.receivers.includes(receiver) && r.levels.includes(level) && matchesAll(r.matchers, labels))
        return { route: r, index: i };
    }
    return { route: undefined, index: -1 };
  }

  private enqueue(...args: Parameters<Dispatcher['enqueueRow']>): number {
    return this.enqueueRow(...args) !== undefined ? 1 : 0;
  }

  /** Builds and enqueues one message; returns its id when it was new. */
  private enqueueRow(
    receiver: string,
    finding: Finding,
    level: Told,
    episode: number,
    key: string,
    now: number,
    what: {
      reason: NotificationAlert['reason'];
      previousLevel?: Level | undefined;
      note?: string | undefined;
      route: Route | undefined;
      routeIndex: number;
      startsAt: number;
      endsAt?: number | undefined;
      immediate?: boolean;
    },
  ): number | undefined {
    const labels = alertLabels(finding, level, this.clusterName);
    const route = what.route;
    const groupBy = route?.groupBy ?? ['namespace'];
    const groupLabels = Object.fromEntries(groupBy.map((k) => [k, labels[k] ?? '']));
    let groupKey = `${what.routeIndex}|${groupBy.map((k) => `${k}=${labels[k] ?? ''}`).join(',')}`;
    let notBefore = now;
    if (!what.immediate) {
      notBefore = now + (route?.groupWaitMs ?? DEFAULT_GROUP_WAIT_MS[level]);
      if (level === 'notice') {
        const lastSent = this.store.lastSentForGroup(receiver, groupKey);
        if (lastSent !== undefined) notBefore = Math.max(notBefore, lastSent + (route?.groupIntervalMs ?? 0));
        const held = this.store.heldForGroup(receiver, groupKey, now);
        // A message of the group is already waiting (group wait, business hours): go out with it.
        if (held !== undefined) notBefore = held;
        const open = nextBusinessTime(notBefore, this.config.businessHours) ?? notBefore;
        if (open !== notBefore) {
          notBefore = open;
          if (route?.digest) groupKey = `${what.routeIndex}|digest`;
        }
      }
    }
    const alert: NotificationAlert = {
      fingerprint: fingerprintOf(finding),
      status: what.reason === 'resolved' ? 'resolved' : 'firing',
      reason: what.reason,
      level,
      ...(what.previousLevel !== undefined ? { previousLevel: what.previousLevel } : {}),
      ruleId: finding.ruleId,
      object: finding.object,
      ...(finding.key !== undefined ? { key: finding.key } : {}),
      title: finding.title,
      loop: finding.loop,
      message: finding.message,
      evidence: finding.evidence.slice(0, MAX_EVIDENCE),
      nextSteps: finding.nextSteps,
      facts: finding.facts,
      labels,
      startsAt: what.startsAt,
      ...(what.endsAt !== undefined ? { endsAt: what.endsAt } : {}),
      ...(what.note !== undefined ? { note: what.note } : {}),
    };
    const payload: OutboxPayload = {
      version: 1,
      cluster: this.clusterName ?? '',
      groupKey,
      groupLabels: what.route?.digest && groupKey.endsWith('|digest') ? {} : groupLabels,
      alert,
    };
    const { id, inserted } = this.store.enqueue({
      receiver,
      fingerprint: alert.fingerprint,
      episode,
      level,
      groupKey,
      kind: what.reason,
      payload,
      idempotencyKey: key,
      now,
      notBefore,
    });
    return inserted ? id : undefined;
  }
}
