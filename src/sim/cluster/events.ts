import type { SimClock } from '../clock.js';
import type { CoreEvent, KObject, ObjectReference } from '../model.js';
import { R } from '../api/resources.js';
import type { Store } from '../api/store.js';
import { isoMicro, isoSeconds, parseTime } from '../time.js';
import type { Random } from '../random.js';

/** Who reports an event: `source` of the legacy API, `reportingController` of the new one. */
export interface EventSource {
  component: string;
  host?: string;
  /** Recorded through events.k8s.io/v1 (the scheduler does), which changes the core view's fields. */
  isEventsV1?: boolean;
  /** `reportingInstance` for events.k8s.io/v1 recorders. */
  instance?: string;
  action?: string;
}

/** The identity of the object an event is about. */
export interface EventTarget {
  kind: string;
  apiVersion: string;
  object: KObject;
  fieldPath?: string;
}

const EVENT_TTL_MS = 60 * 60_000;

/**
 * Records Kubernetes events as the client-go recorder does: a repeat of the same (object, type,
 * reason, message, source) updates one Event object, incrementing `count` and `lastTimestamp`
 * (for events.k8s.io recorders, `series`), and events expire after an hour like the API server's TTL.
 */
export class EventRecorder {
  private readonly byKey = new Map<string, { namespace: string; name: string }>();
  /** Unix nanoseconds exceed 2^53, so they are counted exactly as a bigint. */
  private lastNanos = 0n;

  constructor(
    private readonly store: Store,
    private readonly clock: SimClock,
    private readonly rng: Random,
  ) {
    clock.every(60_000, () => this.expire());
  }

  /** Records (or counts again) one event. */
  record(
    target: EventTarget,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    source: EventSource,
    at: number = this.clock.now(),
  ): CoreEvent {
    const meta = target.object.metadata;
    const namespace = meta.namespace ?? 'default';
    const key = [
      meta.uid,
      type,
      reason,
      message,
      source.component,
      source.host ?? '',
      target.fieldPath ?? '',
    ].join('\u0000');
    const existing = this.byKey.get(key);
    if (existing) {
      const updated = this.store.modify<CoreEvent>(R.events, existing.namespace, existing.name, (e) => {
        if (source.isEventsV1) {
          return { ...e, series: { count: (e.series?.count ?? 1) + 1, lastObservedTime: isoMicro(at) } };
        }
        return { ...e, count: e.count + 1, lastTimestamp: isoSeconds(at) };
      });
      if (updated) return updated;
      this.byKey.delete(key);
    }
    // Event names are `<object>.<hex unix nanoseconds>`, unique per recorder.
    let nanos = BigInt(Math.floor(at)) * 1_000_000n + BigInt(this.rng.int(0, 999_999));
    if (nanos <= this.lastNanos) nanos = this.lastNanos + 1n;
    this.lastNanos = nanos;
    const involvedObject: ObjectReference = {
      kind: target.kind,
      namespace: meta.namespace ?? '',
      name: meta.name,
      uid: meta.uid,
      apiVersion: target.apiVersion,
      resourceVersion: meta.resourceVersion,
    };
    if (!meta.namespace) delete involvedObject.namespace;
    if (target.fieldPath) involvedObject.fieldPath = target.fieldPath;
    const event: CoreEvent = {
      metadata: {
        name: `${meta.name}.${nanos.toString(16)}`,
        namespace,
        uid: this.rng.uuid(),
        resourceVersion: '',
        creationTimestamp: isoSeconds(at),
      },
      involvedObject,
      reason,
      message,
      source: source.isEventsV1
        ? {}
        : { component: source.component, ...(source.host ? { host: source.host } : {}) },
      firstTimestamp: source.isEventsV1 ? null : isoSeconds(at),
      lastTimestamp: source.isEventsV1 ? null : isoSeconds(at),
      count: source.isEventsV1 ? 0 : 1,
      type,
      eventTime: source.isEventsV1 ? isoMicro(at) : null,
      reportingComponent: source.isEventsV1 ? source.component : source.component,
      reportingInstance: source.isEventsV1 ? (source.instance ?? '') : (source.host ?? ''),
    };
    if (source.action) event.action = source.action;
    if (source.isEventsV1 && event.count === 0) delete (event as { count?: number }).count;
    const stored = this.store.create(R.events, event);
    this.byKey.set(key, { namespace, name: stored.metadata.name });
    return stored;
  }

  /**
   * Records an event that already happened at each of `times` (ascending): one Event whose count,
   * first and last timestamps match that history, as the recorder would have left it.
   */
  recordSeries(
    target: EventTarget,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    source: EventSource,
    times: readonly number[],
  ): void {
    const first = times[0];
    const last = times[times.length - 1];
    if (first === undefined || last === undefined) return;
    const event = this.record(target, type, reason, message, source, first);
    if (times.length === 1) return;
    this.store.modify<CoreEvent>(R.events, event.metadata.namespace, event.metadata.name, (e) =>
      source.isEventsV1
        ? {
            ...e,
            series: { count: (e.series?.count ?? 1) + times.length - 1, lastObservedTime: isoMicro(last) },
          }
        : { ...e, count: e.count + times.length - 1, lastTimestamp: isoSeconds(last) },
    );
  }

  /** Deletes events whose last occurrence is older than the API server's event TTL (one hour). */
  expire(): void {
    const cutoff = this.clock.now() - EVENT_TTL_MS;
    for (const e of this.store.list<CoreEvent>(R.events)) {
      const last = Math.max(
        ...[e.lastTimestamp, e.series?.lastObservedTime, e.eventTime, e.metadata.creationTimestamp]
          .map(parseTime)
          .filter((t) => !Number.isNaN(t)),
      );
      if (last < cutoff) this.store.delete(R.events, e.metadata.namespace, e.metadata.name);
    }
    for (const [key, ref] of this.byKey) {
      if (!this.store.get(R.events, ref.namespace, ref.name)) this.byKey.delete(key);
    }
  }
}
