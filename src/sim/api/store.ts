import type { KObject } from '../model.js';

/** A watch event type as the store records it. */
export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One write to the store, as kept in the watch history. */
export interface Change {
  readonly type: ChangeType;
  readonly rv: number;
  readonly resource: string;
  /** The object after the write (for DELETED, the last state). */
  readonly object: KObject;
  /** The object before the write (MODIFIED and DELETED). */
  readonly previous: KObject | undefined;
  /** Serialized forms, computed once per event and shared by every watcher that sends it. */
  cache?: Map<string, string>;
}

/** The result of a watch-history query. */
export type HistoryResult =
  | { kind: 'ok'; changes: Change[] }
  | { kind: 'expired'; oldest: number }
  | { kind: 'future'; current: number };

/** Receives every change to one resource; used by watchers and by the simulated controllers. */
export type ChangeListener = (change: Change) => void;

/** Thrown when a create hits an existing name or an update a missing object. */
export class StoreConflictError extends Error {
  constructor(
    readonly reason: 'AlreadyExists' | 'NotFound',
    readonly resource: string,
    readonly objectName: string,
  ) {
    super(`${resource} "${objectName}" ${reason === 'AlreadyExists' ? 'already exists' : 'not found'}`);
  }
}

/** Builds the store key of an object, ordered like etcd keys: `<namespace>/<name>` or `<name>`. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** A snapshot of one resource at one resourceVersion, kept for paginated lists (continue tokens). */
export interface ListSnapshot {
  readonly rv: number;
  readonly keys: string[];
  readonly objects: KObject[];
  readonly createdAtReal: number;
}

class ResourceState {
  readonly objects = new Map<string, KObject>();
  readonly byNamespace = new Map<string, Map<string, KObject>>();
  readonly history: Change[] = [];
  historyStart = 0;
  /** Events with rv ≤ this are gone from history; a watch from before it gets 410. */
  compactedRv: number;
  readonly listeners = new Set<ChangeListener>();
  sortedKeys: string[] | undefined;
  readonly snapshots = new Map<number, ListSnapshot>();

  constructor(rv: number) {
    this.compactedRv = rv;
  }
}

/** Options of the store. */
export interface StoreOptions {
  /** Watch-history events kept per resource; older resourceVersions get 410 Gone. */
  historySize: number;
  /** How long (real milliseconds) a list snapshot stays valid for its continue tokens. */
  continueTtlMs: number;
  /** Most list snapshots kept per resource. */
  maxSnapshots: number;
}

/**
 * Wall-clock times of the latest writes, by resourceVersion, in a ring (`--record-writes`): the
 * benchmarks measure the lag from a write here to a client's view of it in another process.
 */
export class WriteLog {
  private readonly rvs: Float64Array;
  private readonly times: Float64Array;
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.rvs = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
  }

  add(rv: number, epochMs: number): void {
    this.rvs[this.next] = rv;
    this.times[this.next] = epochMs;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  /** `[rv, epochMs]` of the kept writes after `rv`, oldest first, at most `limit`. */
  since(rv: number, limit: number): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.size && out.length < limit; i++) {
      const at = (this.next - this.size + i + this.capacity) % this.capacity;
      if (this.rvs[at]! > rv) out.push([this.rvs[at]!, this.times[at]!]);
    }
    return out;
  }
}

/**
 * The simulator's etcd: one global resourceVersion counter, objects per resource, a bounded watch
 * history per resource (the watch cache) and list snapshots for continue tokens. Objects are stored
 * without `kind`/`apiVersion` and are never mutated after they are stored.
 */
export class Store {
  private rvCounter = 0;
  private readonly states = new Map<string, ResourceState>();
  private readonly options: StoreOptions;
  /** Counts of writes per resource, for diagnostics and the benchmarks. */
  readonly writes = new Map<string, number>();
  /** Wall-clock write times, when recording is on (`recordWrites`). */
  writeLog: WriteLog | undefined;

  constructor(
    readonly resources: readonly string[],
    options: Partial<StoreOptions> = {},
  ) {
    this.options = { historySize: 10_000, continueTtlMs: 5 * 60_000, maxSnapshots: 16, ...options };
    for (const r of resources) this.states.set(r, new ResourceState(0));
  }

  /** The current (latest) resourceVersion. */
  get resourceVersion(): number {
    return this.rvCounter;
  }

  private state(resource: string): ResourceState {
    const s = this.states.get(resource);
    if (!s) throw new Error(`unknown storage resource ${resource}`);
    return s;
  }

  /** Reads one object. */
  get<T extends KObject>(resource: string, namespace: string | undefined, name: string): T | undefined {
    return this.state(resource).objects.get(objectKey(namespace, name)) as T | undefined;
  }

  /** Iterates over the objects of a resource, optionally in one namespace (unordered). */
  *iterate<T extends KObject>(resource: string, namespace?: string): IterableIterator<T> {
    const s = this.state(resource);
    if (namespace === undefined) {
      yield* s.objects.values() as IterableIterator<T>;
    } else {
      const inNamespace = s.byNamespace.get(namespace);
      if (inNamespace) yield* inNamespace.values() as IterableIterator<T>;
    }
  }

  /** All objects of a resource (optionally in one namespace) as an array. */
  list<T extends KObject>(resource: string, namespace?: string): T[] {
    return [...this.iterate<T>(resource, namespace)];
  }

  /** Number of objects stored for a resource. */
  count(resource: string): number {
    return this.state(resource).objects.size;
  }

  /** Stores a new object; sets its resourceVersion. Fails if the name is taken. */
  create<T extends KObject>(resource: string, object: T): T {
    const s = this.state(resource);
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    if (s.objects.has(key)) throw new StoreConflictError('AlreadyExists', resource, object.metadata.name);
    return this.write(resource, s, key, 'ADDED', object, undefined);
  }

  /** Replaces an existing object with a new version; sets its resourceVersion. */
  update<T extends KObject>(resource: string, object: T): T {
    const s = this.state(resource);
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    const previous = s.objects.get(key);
    if (!previous) throw new StoreConflictError('NotFound', resource, object.metadata.name);
    return this.write(resource, s, key, 'MODIFIED', object, previous);
  }

  /**
   * Reads, transforms and writes back an object in one step; returns undefined when it does not exist.
   * `fn` gets the stored object and must return a new one (never mutate its argument); returning the
   * same object skips the write.
   */
  modify<T extends KObject>(
    resource: string,
    namespace: string | undefined,
    name: string,
    fn: (current: T) => T,
  ): T | undefined {
    const s = this.state(resource);
    const key = objectKey(namespace, name);
    const current = s.objects.get(key) as T | undefined;
    if (!current) return undefined;
    const next = fn(current);
    if (next === current) return current;
    return this.write(resource, s, key, 'MODIFIED', next, current);
  }

  /** Removes an object; returns its last state (with a new resourceVersion), or undefined. */
  delete<T extends KObject>(resource: string, namespace: string | undefined, name: string): T | undefined {
    const s = this.state(resource);
    const key = objectKey(namespace, name);
    const previous = s.objects.get(key) as T | undefined;
    if (!previous) return undefined;
    return this.write(resource, s, key, 'DELETED', previous, previous);
  }

  private write<T extends KObject>(
    resource: string,
    s: ResourceState,
    key: string,
    type: ChangeType,
    object: T,
    previous: KObject | undefined,
  ): T {
    const rv = ++this.rvCounter;
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(rv) } };
    const namespace = stored.metadata.namespace ?? '';
    if (type === 'DELETED') {
      s.objects.delete(key);
      s.byNamespace.get(namespace)?.delete(stored.metadata.name);
      s.sortedKeys = undefined;
    } else {
      if (type === 'ADDED') s.sortedKeys = undefined;
      s.objects.set(key, stored);
      let inNamespace = s.byNamespace.get(namespace);
      if (!inNamespace) s.byNamespace.set(namespace, (inNamespace = new Map<string, KObject>()));
      inNamespace.set(stored.metadata.name, stored);
    }
    const change: Change = { type, rv, resource, object: stored, previous };
    s.history.push(change);
    if (s.history.length - s.historyStart > this.options.historySize) {
      s.compactedRv = s.history[s.historyStart]!.rv;
      s.history[s.historyStart] = undefined as unknown as Change;
      s.historyStart++;
      // Compact the array now and then instead of shifting on every write.
      if (s.historyStart > 4096 && s.historyStart > s.history.length / 2) {
        s.history.splice(0, s.historyStart);
        s.historyStart = 0;
      }
    }
    this.writes.set(resource, (this.writes.get(resource) ?? 0) + 1);
    this.writeLog?.add(rv, performance.timeOrigin + performance.now());
    for (const listener of s.listeners) listener(change);
    return stored;
  }

  /** Subscribes to every later change of a resource. Returns the unsubscribe function. */
  subscribe(resource: string, listener: ChangeListener): () => void {
    const s = this.state(resource);
    s.listeners.add(listener);
    return () => s.listeners.delete(listener);
  }

  /** The changes after `rv`, or why they cannot be had (history compacted, or rv in the future). */
  historySince(resource: string, rv: number): HistoryResult {
    const s = this.state(resource);
    if (rv > this.rvCounter) return { kind: 'future', current: this.rvCounter };
    if (rv < s.compactedRv) return { kind: 'expired', oldest: s.compactedRv + 1 };
    const changes: Change[] = [];
    // Binary search for the first change with rv > the requested one.
    let lo = s.historyStart;
    let hi = s.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s.history[mid]!.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < s.history.length; i++) changes.push(s.history[i]!);
    return { kind: 'ok', changes };
  }

  /**
   * Forgets every watch-history event and list snapshot of every resource, as an etcd compaction
   * followed by a watch-cache reset would: later watches from an older resourceVersion, and continue
   * tokens, get 410 Gone.
   */
  compact(): void {
    for (const s of this.states.values()) {
      s.history.length = 0;
      s.historyStart = 0;
      s.compactedRv = this.rvCounter;
      s.snapshots.clear();
    }
  }

  /** Marks the current state as the start of history (after the initial cluster was built). */
  resetHistory(): void {
    this.compact();
  }

  /** Takes (or reuses) a sorted snapshot of a resource for paginated listing. */
  snapshot(resource: string, nowReal: number): ListSnapshot {
    const s = this.state(resource);
    this.expireSnapshots(s, nowReal);
    const existing = s.snapshots.get(this.rvCounter);
    if (existing) return existing;
    if (!s.sortedKeys) s.sortedKeys = [...s.objects.keys()].sort(compareKeys);
    const keys = s.sortedKeys;
    const objects = keys.map((k) => s.objects.get(k)!);
    const snap: ListSnapshot = { rv: this.rvCounter, keys, objects, createdAtReal: nowReal };
    s.snapshots.set(snap.rv, snap);
    while (s.snapshots.size > this.options.maxSnapshots) {
      const oldest = s.snapshots.keys().next().value as number;
      s.snapshots.delete(oldest);
    }
    return snap;
  }

  /**
   * The state of a resource at an older resourceVersion, rebuilt by undoing the watch history after it
   * (as etcd reads at a revision); undefined when that history is compacted.
   */
  snapshotAt(resource: string, rv: number, nowReal: number): ListSnapshot | undefined {
    if (rv >= this.rvCounter) return this.snapshot(resource, nowReal);
    const s = this.state(resource);
    const cached = this.findSnapshot(resource, rv, nowReal);
    if (cached) return cached;
    if (rv < s.compactedRv) return undefined;
    const objects = new Map(s.objects);
    for (let i = s.history.length - 1; i >= s.historyStart; i--) {
      const change = s.history[i]!;
      if (change.rv <= rv) break;
      const key = objectKey(change.object.metadata.namespace, change.object.metadata.name);
      if (change.type === 'ADDED') objects.delete(key);
      else objects.set(key, change.previous!);
    }
    const keys = [...objects.keys()].sort(compareKeys);
    const snap: ListSnapshot = {
      rv,
      keys,
      objects: keys.map((k) => objects.get(k)!),
      createdAtReal: nowReal,
    };
    s.snapshots.set(rv, snap);
    return snap;
  }

  /** Finds the snapshot a continue token refers to, or undefined when it expired. */
  findSnapshot(resource: string, rv: number, nowReal: number): ListSnapshot | undefined {
    const s = this.state(resource);
    this.expireSnapshots(s, nowReal);
    return s.snapshots.get(rv);
  }

  private expireSnapshots(s: ResourceState, nowReal: number): void {
    for (const [rv, snap] of s.snapshots) {
      if (nowReal - snap.createdAtReal > this.options.continueTtlMs) s.snapshots.delete(rv);
    }
  }
}

/** Orders store keys as etcd orders its keys (byte order of `<namespace>/<name>`). */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
