import type { Alert } from '../alerts/tracker.js';
import type { ServiceTransition } from '../app/service.js';
import type { Store } from '../store/index.js';
import type { NotificationsConfig } from './config.js';
import { Deliverer, type DelivererOptions } from './deliverer.js';
import { Dispatcher } from './dispatcher.js';
import { Heartbeat, type HeartbeatHealth } from './heartbeat.js';
import type { ReceiverHealth } from './types.js';

export { NO_NOTIFICATIONS, resolveNotifications, type NotificationsConfig, type Route } from './config.js';
export type { DeliveryOutcome } from './deliverer.js';
export type { HeartbeatHealth } from './heartbeat.js';
export { Secret, redact } from './secret.js';
export { NOTIFIERS } from './receivers/index.js';
export type { ReceiverHealth } from './types.js';

/** Options of the notification system. */
export interface NotificationsOptions extends Omit<DelivererOptions, 'now'> {
  store: Store;
  config: NotificationsConfig;
  clusterName: string | undefined;
  /** The clock alerts use (the API server's). */
  now: () => number;
  /** Whether Healwatch can see the cluster (the heartbeat pings only then). */
  isReady: () => boolean;
}

/**
 * Routing, the durable outbox and its delivery, and the heartbeat, as the service uses them: `dispatch`
 * runs inside each evaluation's store transaction, `queued` wakes the delivery loop after it commits.
 */
export class Notifications {
  private readonly dispatcher: Dispatcher;
  private readonly deliverer: Deliverer;
  private heartbeat: Heartbeat | undefined;
  private started = false;

  constructor(private readonly options: NotificationsOptions) {
    this.dispatcher = new Dispatcher(options.store, options.config, options.clusterName);
    this.deliverer = new Deliverer(options.store, options.config, options);
    this.setHeartbeat(options.config);
  }

  /** Enqueues what an evaluation calls for (inside its transaction); returns the number queued. */
  dispatch(transitions: readonly ServiceTransition[], firing: readonly Alert[], now: number): number {
    return this.dispatcher.dispatch(transitions, firing, now);
  }

  /** Wakes the delivery loop. */
  queued(): void {
    this.deliverer.kick();
  }

  start(): void {
    this.started = true;
    this.deliverer.start();
    this.heartbeat?.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([this.deliverer.stop(), this.heartbeat?.stop()]);
  }

  /** Takes a new configuration (receivers, routes, hours, heartbeat). */
  reload(config: NotificationsConfig, clusterName: string | undefined): void {
    this.dispatcher.reload(config, clusterName);
    this.deliverer.reload(config);
    this.setHeartbeat(config);
  }

  receivers(): ReceiverHealth[] {
    return this.deliverer.health(this.dispatcher.suppressed);
  }

  heartbeatHealth(): HeartbeatHealth | undefined {
    return this.heartbeat?.health();
  }

  /** One delivery pass now (tests). */
  deliverNow(): Promise<void> {
    return this.deliverer.runOnce();
  }

  private setHeartbeat(config: NotificationsConfig): void {
    const hb = config.heartbeat;
    if (!hb) {
      void this.heartbeat?.stop();
      this.heartbeat = undefined;
      return;
    }
    if (this.heartbeat) this.heartbeat.reload(hb.url, hb.intervalMs);
    else {
      this.heartbeat = new Heartbeat(hb.url, hb.intervalMs, this.options.isReady);
      if (this.started) this.heartbeat.start();
    }
  }
}
