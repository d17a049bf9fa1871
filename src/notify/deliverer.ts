import { createHash } from 'node:crypto';
import type { OutboxMessage, Store } from '../store/index.js';
import type { NotificationsConfig, ReceiverConfig } from './config.js';
import { silenceFor } from './dispatcher.js';
import { redact } from './secret.js';
import type {
  Delivery,
  DeliveryResult,
  NotificationAlert,
  OutboxPayload,
  ReceiverHealth,
  Sender,
} from './types.js';

/** Options of the delivery loop. */
export interface DelivererOptions {
  /** The clock the alerts use (the API server's). */
  now: () => number;
  /** How often due messages are looked for (default 1 s; `kick` looks at once). */
  pollMs?: number;
  /** First retry delay (default 2 s), doubled per attempt up to `maxBackoffMs` (default 5 min). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** A `Retry-After` longer than this is capped (default 1 h). */
  maxRetryAfterMs?: number;
  /** Random source in [0, 1) for the jitter (tests). */
  random?: () => number;
  /** Told about each delivery outcome (logs). Texts carry no secrets. */
  onOutcome?: (o: DeliveryOutcome) => void;
}

/** What happened to one delivery attempt. */
export interface DeliveryOutcome {
  readonly receiver: string;
  readonly type: string;
  readonly result: 'sent' | 'retry' | 'dead' | 'suppressed';
  readonly messages: number;
  readonly title: string;
  readonly error?: string | undefined;
  readonly nextAttemptAt?: number | undefined;
}

interface ReceiverState {
  failedAttempts: number;
  sent: number;
  dead: number;
  suppressed: number;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
  blockedUntil: number | undefined;
  failing: boolean;
}

const BATCH_LIMIT: Record<'group' | 'all', number> = { group: 50, all: 100 };

/**
 * The outbox's delivery loop: takes due messages, batches them per receiver (a group per message for chat
 * and e-mail, one per alert for incident tools, all at once for Alertmanager), drops what a silence now
 * covers, sends, and records the outcome. At least once: a message is marked sent only after the receiver
 * acknowledged it, so a crash between the two re-sends it once after the restart (receivers get a stable
 * idempotency key and PagerDuty a dedup key, so even that does not page twice). A failing receiver backs
 * off as a whole (jittered exponential backoff, `Retry-After` honoured), keeping its messages in order; a
 * message is given up only when the receiver refuses it (not retryable) or after the retry window
 * (`retryFor`, 24 h by default) from its first attempt.
 */
export class Deliverer {
  private senders = new Map<string, { receiver: ReceiverConfig; sender: Sender }>();
  private readonly states = new Map<string, ReceiverState>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private pass: Promise<void> | undefined;
  private again = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly store: Store,
    private config: NotificationsConfig,
    private readonly options: DelivererOptions,
  ) {
    this.reload(config);
  }

  /** Takes a new configuration: new senders; messages of removed receivers are given up when due. */
  reload(config: NotificationsConfig): void {
    this.config = config;
    this.senders = new Map(
      config.receivers.map((r) => [r.name, { receiver: r, sender: r.notifier.create(r.config) }]),
    );
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm();
    this.kick();
  }

  /** Looks for due messages now (after an evaluation queued some). */
  kick(): void {
    if (!this.running) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    this.pass = this.runOnce()
      .catch(() => undefined)
      .finally(() => {
        this.pass = undefined;
        if (this.again && this.running) {
          this.again = false;
          this.kick();
        }
      });
  }

  /**
   * Stops polling and waits for sends under way, at most `graceMs` (default 5 s); then aborts them (they
   * stay queued and are sent after the next start).
   */
  async stop(graceMs = 5_000): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    const pending = Promise.all([this.pass, ...this.inFlight.values()]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([pending, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.abort.abort();
    await pending.catch(() => undefined);
  }

  /** Delivery figures and state of every configured receiver (`suppressedAtDispatch`: the dispatcher's count). */
  health(suppressedAtDispatch: ReadonlyMap<string, number> = new Map()): ReceiverHealth[] {
    const stats = new Map(this.store.outboxStats().map((s) => [s.receiver, s]));
    return this.config.receivers.map((r) => {
      const s = stats.get(r.name);
      const st = this.states.get(r.name);
      return {
        name: r.name,
        type: r.type,
        state: st?.failing ? 'failing' : 'ok',
        queued: s?.queued ?? 0,
        sent: s?.sent ?? 0,
        dead: s?.dead ?? 0,
        suppressed: s?.suppressed ?? 0,
        failedAttempts: st?.failedAttempts ?? 0,
        sinceStart: {
          sent: st?.sent ?? 0,
          dead: st?.dead ?? 0,
          suppressed: (st?.suppressed ?? 0) + (suppressedAtDispatch.get(r.name) ?? 0),
        },
        lastSentAt: s?.lastSentAt,
        lastError: st?.lastError ?? s?.lastError,
        lastErrorAt: st?.lastErrorAt,
        nextAttemptAt: st?.failing ? st.blockedUntil : undefined,
        oldestQueuedAt: s?.oldestQueuedAt,
      };
    });
  }

  /** One pass: sends what is due now, receivers side by side, each receiver's batches in order. */
  async runOnce(): Promise<void> {
    const now = this.options.now();
    const due = this.store.due(now, 1000);
    const byReceiver = new Map<string, OutboxMessage[]>();
    for (const m of due) {
      const list = byReceiver.get(m.receiver) ?? [];
      list.push(m);
      byReceiver.set(m.receiver, list);
    }
    const work: Promise<void>[] = [];
    for (const [name, messages] of byReceiver) {
      if (this.inFlight.has(name)) continue;
      // In the order they were queued: a message retried after a failure goes before the ones behind it.
      messages.sort((a, b) => a.id - b.id);
      const blocked = this.states.get(name)?.blockedUntil;
      if (blocked !== undefined && blocked > now) continue;
      const p = this.deliverAll(name, messages).finally(() => this.inFlight.delete(name));
      this.inFlight.set(name, p);
      work.push(p);
    }
    await Promise.all(work);
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.kick();
      if (this.running) this.arm();
    }, this.options.pollMs ?? 1000);
    this.timer.unref();
  }

  private async deliverAll(name: string, messages: OutboxMessage[]): Promise<void> {
    const entry = this.senders.get(name);
    if (!entry) {
      const now = this.options.now();
      for (const m of messages)
        this.store.markDead(m.id, `receiver "${name}" is no longer configured`, false, now);
      return;
    }
    for (const batch of this.batches(entry.receiver, messages)) {
      if (this.abort.signal.aborted) return;
      const ok = await this.deliver(entry.receiver, entry.sender, batch);
      if (!ok) return; // the receiver is failing: the rest waits for its backoff
    }
  }

  /** Splits a receiver's due messages into what goes out together, in order of the oldest message. */
  private batches(receiver: ReceiverConfig, messages: OutboxMessage[]): OutboxMessage[][] {
    const mode = receiver.notifier.batching;
    const limit = BATCH_LIMIT[mode === 'each' ? 'all' : mode];
    const out: OutboxMessage[][] = [];
    if (mode === 'group') {
      const groups = new Map<string, OutboxMessage[]>();
      for (const m of messages) {
        const list = groups.get(m.groupKey) ?? [];
        list.push(m);
        groups.set(m.groupKey, list);
      }
      for (const list of groups.values())
        for (let i = 0; i < list.length; i += limit) out.push(list.slice(i, i + limit));
    } else if (mode === 'each') {
      // All due messages of one alert together, so a firing never sent and its resolution collapse.
      const byAlert = new Map<string, OutboxMessage[]>();
      for (const m of messages) {
        const key = m.fingerprint ?? `#${m.id}`;
        const list = byAlert.get(key) ?? [];
        list.push(m);
        byAlert.set(key, list);
      }
      out.push(...byAlert.values());
    } else {
      for (let i = 0; i < messages.length; i += limit) out.push(messages.slice(i, i + limit));
    }
    return out;
  }

  /** Sends one batch; returns false when the receiver failed retryably (stop for now). */
  private async deliver(receiver: ReceiverConfig, sender: Sender, batch: OutboxMessage[]): Promise<boolean> {
    const now = this.options.now();
    // What a silence covers by now is not sent (resolved messages still go to those told of the firing).
    const silences = this.store.listSilences({ activeAt: now });
    const live: OutboxMessage[] = [];
    for (const m of batch) {
      const p = m.payload as OutboxPayload;
      const silence = p.alert.status === 'firing' ? silenceFor(silences, p.alert.labels) : undefined;
      if (silence) {
        this.store.markSuppressed(m.id, `silenced by #${silence.id} (${silence.author})`, now);
        this.report(receiver, 'suppressed', [m], undefined);
      } else live.push(m);
    }
    const { alerts, dropped } = collapse(live, receiver.notifier.batching !== 'group');
    for (const m of dropped) this.store.markSuppressed(m.id, 'resolved before it was sent', now);
    const sending = live.filter((m) => !dropped.includes(m));
    if (alerts.length === 0 || sending.length === 0) return true;
    const first = sending[0]!.payload as OutboxPayload;
    const delivery: Delivery = {
      cluster: first.cluster,
      groupKey: first.groupKey,
      groupLabels: first.groupLabels,
      alerts,
      idempotencyKey: idempotencyKey(sending),
      now,
      ...(this.config.dashboardUrl !== undefined ? { dashboardUrl: this.config.dashboardUrl } : {}),
    };
    let result: DeliveryResult;
    try {
      result = await sender.send(delivery, this.abort.signal);
    } catch (error) {
      result = {
        ok: false,
        retryable: true,
        error: redact(`unexpected error: ${error instanceof Error ? error.message : String(error)}`),
      };
    }
    const after = this.options.now();
    const state = this.state(receiver.name);
    if (result.ok) {
      this.store.transaction(() => {
        for (const m of sending) this.store.markSent(m.id, after);
      });
      state.failing = false;
      state.blockedUntil = undefined;
      this.report(receiver, 'sent', sending, undefined);
      return true;
    }
    const error = redact(result.error);
    state.failedAttempts++;
    state.lastError = error;
    state.lastErrorAt = after;
    if (this.abort.signal.aborted) return false; // shutting down: stays queued, not counted against it
    const firstAttempt = Math.min(...sending.map((m) => m.firstAttemptAt ?? now));
    if (!result.retryable || after - firstAttempt >= this.config.retryForMs) {
      const why = result.retryable
        ? `gave up after retrying for ${Math.round((after - firstAttempt) / 60_000)} min: ${error}`
        : error;
      this.store.transaction(() => {
        for (const m of sending) this.store.markDead(m.id, why, true, after);
      });
      this.report(receiver, 'dead', sending, why);
      return true;
    }
    const attempts = Math.max(...sending.map((m) => m.attempts)) + 1;
    const next = after + this.backoff(attempts, result.retryAfterMs);
    this.store.transaction(() => {
      for (const m of sending) this.store.markFailed(m.id, next, error, after);
    });
    state.failing = true;
    state.blockedUntil = next;
    this.report(receiver, 'retry', sending, error, next);
    return false;
  }

  /** Jittered exponential backoff (between half and all of base·2^(n-1), capped), or Retry-After when longer. */
  private backoff(attempts: number, retryAfterMs: number | undefined): number {
    const base = this.options.baseBackoffMs ?? 2_000;
    const cap = this.options.maxBackoffMs ?? 300_000;
    const exp = Math.min(cap, base * 2 ** Math.min(30, attempts - 1));
    const jittered = exp / 2 + (this.options.random ?? Math.random)() * (exp / 2);
    const asked = Math.min(retryAfterMs ?? 0, this.options.maxRetryAfterMs ?? 3_600_000);
    return Math.max(jittered, asked);
  }

  private state(name: string): ReceiverState {
    let s = this.states.get(name);
    if (!s) {
      s = {
        failedAttempts: 0,
        sent: 0,
        dead: 0,
        suppressed: 0,
        lastError: undefined,
        lastErrorAt: undefined,
        blockedUntil: undefined,
        failing: false,
      };
      this.states.set(name, s);
    }
    return s;
  }

  private report(
    receiver: ReceiverConfig,
    result: DeliveryOutcome['result'],
    messages: OutboxMessage[],
    error: string | undefined,
    next?: number,
  ): void {
    const counted = this.state(receiver.name);
    if (result === 'sent') counted.sent += messages.length;
    else if (result === 'dead') counted.dead += messages.length;
    else if (result === 'suppressed') counted.suppressed += messages.length;
    const alerts = messages.map((m) => (m.payload as OutboxPayload).alert);
    const title =
      alerts.length === 1
        ? `${alerts[0]!.status === 'resolved' ? 'RESOLVED' : alerts[0]!.level.toUpperCase()} ${alerts[0]!.title}`
        : `${alerts.length} alerts`;
    try {
      this.options.onOutcome?.({
        receiver: receiver.name,
        type: receiver.type,
        result,
        messages: messages.length,
        title,
        error,
        nextAttemptAt: next,
      });
    } catch {
      // A logging failure must not stop delivery.
    }
  }
}

/** A stable key for a batch: the single message's key, or a hash of all of them. */
function idempotencyKey(messages: readonly OutboxMessage[]): string {
  if (messages.length === 1)
    return `hw-${createHash('sha256').update(messages[0]!.idempotencyKey).digest('hex').slice(0, 32)}`;
  const h = createHash('sha256');
  for (const m of messages) h.update(`${m.idempotencyKey}\n`);
  return `hw-${h.digest('hex').slice(0, 32)}`;
}

const LEVEL_ORDER = { alert: 0, notice: 1 } as const;

/**
 * One entry per alert, the latest message winning. An alert whose firing message was never sent and that
 * resolved meanwhile: for incident tools (`dropFiredAndResolved`) both are dropped (nobody was paged);
 * for chat it is told once as resolved, noting when it fired. Firing first (Alerts, then Notices), then
 * resolved.
 */
function collapse(
  messages: readonly OutboxMessage[],
  dropFiredAndResolved: boolean,
): { alerts: NotificationAlert[]; dropped: OutboxMessage[] } {
  const byAlert = new Map<string, OutboxMessage[]>();
  for (const m of [...messages].sort((a, b) => a.id - b.id)) {
    const fp = (m.payload as OutboxPayload).alert.fingerprint;
    const list = byAlert.get(fp) ?? [];
    list.push(m);
    byAlert.set(fp, list);
  }
  const alerts: NotificationAlert[] = [];
  const dropped: OutboxMessage[] = [];
  for (const list of byAlert.values()) {
    const last = (list[list.length - 1]!.payload as OutboxPayload).alert;
    const firedHere = list.some((m) => (m.payload as OutboxPayload).alert.reason === 'fired');
    if (last.status === 'resolved' && firedHere) {
      if (dropFiredAndResolved) {
        dropped.push(...list);
        continue;
      }
      const fired = new Date(last.startsAt).toISOString();
      const note = `fired at ${fired} and resolved${last.endsAt ? ` at ${new Date(last.endsAt).toISOString()}` : ''} before this message went out${last.note ? `; ${last.note}` : ''}`;
      alerts.push({ ...last, note });
      continue;
    }
    alerts.push(last);
  }
  alerts.sort((a, b) =>
    a.status !== b.status
      ? a.status === 'firing'
        ? -1
        : 1
      : LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] || a.startsAt - b.startsAt,
  );
  return { alerts, dropped };
}
