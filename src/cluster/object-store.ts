import type { AnyRecord, RecordKind, RecordOf } from './records.js';

/** A change the view applies: a record added, updated or deleted. */
export interface ViewChange<R extends AnyRecord = AnyRecord> {
  readonly type: 'added' | 'updated' | 'deleted';
  readonly record: R;
  /** The record before an update or deletion. */
  readonly previous: R | undefined;
  /** True when the change comes from a relist (a synthetic delete for an object that vanished). */
  readonly isResync: boolean;
}

/** The key of a record: `namespace/name` or `name`, as the API server keys objects. */
export function recordKey(r: { namespace: string | undefined; name: string }): string {
  return r.namespace ? `${r.namespace}/${r.name}` : r.name;
}

/**
 * The records of one kind, keyed like the API server keys objects. Every change goes to the listeners
 * (the view's indexes, then whoever subscribed), so indexes can never disagree with the records.
 */
export class ObjectStore<K extends RecordKind> {
  private readonly records = new Map<string, RecordOf<K>>();
  private readonly listeners: ((change: ViewChange<RecordOf<K>>) => void)[] = [];

  constructor(readonly kind: K) {}

  /** Number of records. */
  get size(): number {
    return this.records.size;
  }

  /** One record by key. */
  get(key: string): RecordOf<K> | undefined {
    return this.records.get(key);
  }

  /** Every record. */
  values(): IterableIterator<RecordOf<K>> {
    return this.records.values();
  }

  /** Every key. */
  keys(): IterableIterator<string> {
    return this.records.keys();
  }

  /** Adds a listener for every later change. */
  listen(listener: (change: ViewChange<RecordOf<K>>) => void): void {
    this.listeners.push(listener);
  }

  /** Adds or replaces one record. */
  upsert(record: RecordOf<K>, isResync = false): void {
    const key = recordKey(record);
    const previous = this.records.get(key);
    this.records.set(key, record);
    this.emit({ type: previous ? 'updated' : 'added', record, previous, isResync });
  }

  /** Deletes one record by key; the last state goes to the listeners. */
  remove(key: string, last?: RecordOf<K>, isResync = false): void {
    const previous = this.records.get(key);
    if (!previous) return;
    this.records.delete(key);
    this.emit({ type: 'deleted', record: last ?? previous, previous, isResync });
  }

  /**
   * Replaces everything with the result of a relist: records that vanished get a synthetic delete,
   * the others an add or update. Returns how many were deleted.
   */
  replace(fresh: Map<string, RecordOf<K>>): number {
    let deleted = 0;
    for (const key of [...this.records.keys()]) {
      if (!fresh.has(key)) {
        this.remove(key, undefined, true);
        deleted++;
      }
    }
    for (const record of fresh.values()) this.upsert(record, true);
    return deleted;
  }

  private emit(change: ViewChange<RecordOf<K>>): void {
    for (const l of this.listeners) l(change);
  }
}
