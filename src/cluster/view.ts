import { ObjectStore, recordKey, type ViewChange } from './object-store.js';
import type { AnyRecord, EventRecord, Labels, PodRecord, RecordKind, RecordOf } from './records.js';
import { ProbeResults } from './probes/results.js';
import type { WatchHealth } from './reflector.js';

const KINDS: readonly RecordKind[] = [
  'Namespace',
  'Node',
  'Lease',
  'Deployment',
  'DaemonSet',
  'StatefulSet',
  'ReplicaSet',
  'CronJob',
  'Job',
  'PersistentVolumeClaim',
  'Pod',
  'Event',
  'Certificate',
];

type StoreMap = { [K in RecordKind]: ObjectStore<K> };

/** A label selector as the view matches it. */
export interface SelectorQuery {
  matchLabels?: Labels | undefined;
  matchExpressions?: readonly { key: string; operator: string; values: readonly string[] }[];
}

function add(index: Map<string, Set<string>>, key: string | undefined, value: string): void {
  if (key === undefined) return;
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(value);
}

function drop(index: Map<string, Set<string>>, key: string | undefined, value: string): void {
  if (key === undefined) return;
  const set = index.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) index.delete(key);
}

/** Whether labels match a selector (matchLabels and matchExpressions). */
export function matchesSelector(selector: SelectorQuery, labels: Labels | undefined): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels?.[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = labels !== undefined && Object.hasOwn(labels, e.key);
    const value = labels?.[e.key];
    if (e.operator === 'In' && !(has && e.values.includes(value!))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(value!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/**
 * The read-only, indexed view of the cluster that rules and the dashboard query: records by kind,
 * namespace, owner, node and label; the pods of a workload; the events of an object; and the health of
 * every watch and probe, so the monitor knows when it is blind. Reflectors write to it through
 * `store(kind)`; everyone else only reads.
 */
export class ClusterView {
  private readonly stores: StoreMap;
  private readonly byNamespace = new Map<RecordKind, Map<string, Set<string>>>();
  private readonly byOwner = new Map<RecordKind, Map<string, Set<string>>>();
  private readonly podsByNode = new Map<string, Set<string>>();
  private readonly eventsByObject = new Map<string, Set<string>>();
  private readonly listeners: ((kind: RecordKind, change: ViewChange) => void)[] = [];
  private readonly watchHealth = new Map<RecordKind, WatchHealth>();
  /** What the probes measured (version, health checks, node summaries, metrics, certificates). */
  readonly probes = new ProbeResults();

  constructor() {
    const stores = {} as Record<RecordKind, ObjectStore<RecordKind>>;
    for (const kind of KINDS) {
      const store = new ObjectStore(kind);
      stores[kind] = store;
      this.byNamespace.set(kind, new Map());
      this.byOwner.set(kind, new Map());
      store.listen((change) => this.index(kind, change));
    }
    this.stores = stores as unknown as StoreMap;
  }

  /** The writable store of a kind (for reflectors and tests; rules use the read methods). */
  store<K extends RecordKind>(kind: K): ObjectStore<K> {
    return this.stores[kind];
  }

  /** Calls `listener` after every change, once the indexes are updated. */
  subscribe(listener: (kind: RecordKind, change: ViewChange) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Records the health object a reflector keeps current. */
  attachHealth(kind: RecordKind, health: WatchHealth): void {
    this.watchHealth.set(kind, health);
  }

  /** The health of every watch. */
  watches(): readonly WatchHealth[] {
    return [...this.watchHealth.values()];
  }

  /**
   * The watches whose records cannot be trusted now: never synced, or failing (`retrying`) for longer
   * than `graceMs`. Non-empty means the monitor is at least partly blind and must say so.
   */
  blindSpots(now = Date.now(), graceMs = 60_000): WatchHealth[] {
    return this.watches().filter(
      (w) =>
        (w.state !== 'unavailable' && w.state !== 'stopped' && !w.isSynced) ||
        (w.state === 'retrying' && now - w.stateSince > graceMs),
    );
  }

  /** Number of records of a kind. */
  count(kind: RecordKind): number {
    return this.stores[kind].size;
  }

  /** One record by namespace and name. */
  get<K extends RecordKind>(kind: K, namespace: string | undefined, name: string): RecordOf<K> | undefined {
    return this.stores[kind].get(namespace ? `${namespace}/${name}` : name);
  }

  /** The records of a kind, optionally in one namespace. */
  list<K extends RecordKind>(kind: K, namespace?: string): RecordOf<K>[] {
    const store = this.stores[kind];
    if (namespace === undefined) return [...store.values()];
    const keys = this.byNamespace.get(kind)!.get(namespace);
    return keys ? [...keys].map((k) => store.get(k)).filter((r): r is RecordOf<K> => r !== undefined) : [];
  }

  /** The records of a kind whose labels match a selector (optionally in one namespace). */
  select<K extends RecordKind>(kind: K, selector: SelectorQuery, namespace?: string): RecordOf<K>[] {
    return this.list(kind, namespace).filter((r) => matchesSelector(selector, r.labels));
  }

  /** The records of a kind whose controlling owner has this uid. */
  ownedBy<K extends RecordKind>(kind: K, ownerUid: string): RecordOf<K>[] {
    const store = this.stores[kind];
    const keys = this.byOwner.get(kind)!.get(ownerUid);
    return keys ? [...keys].map((k) => store.get(k)).filter((r): r is RecordOf<K> => r !== undefined) : [];
  }

  /** The pods bound to a node. */
  podsOnNode(node: string): PodRecord[] {
    const keys = this.podsByNode.get(node);
    const store = this.stores.Pod;
    return keys ? [...keys].map((k) => store.get(k)).filter((r): r is PodRecord => r !== undefined) : [];
  }

  /**
   * The pods of a workload: a Deployment's through its ReplicaSets, a DaemonSet's, StatefulSet's or
   * Job's directly, a CronJob's through its Jobs.
   */
  podsOf(
    kind: 'Deployment' | 'DaemonSet' | 'StatefulSet' | 'Job' | 'CronJob' | 'ReplicaSet',
    namespace: string,
    name: string,
  ): PodRecord[] {
    const workload = this.get(kind, namespace, name);
    if (!workload) return [];
    if (kind === 'Deployment')
      return this.ownedBy('ReplicaSet', workload.uid).flatMap((rs) => this.ownedBy('Pod', rs.uid));
    if (kind === 'CronJob')
      return this.ownedBy('Job', workload.uid).flatMap((job) => this.ownedBy('Pod', job.uid));
    return this.ownedBy('Pod', workload.uid);
  }

  /** The events about an object (by kind, namespace and name), newest last. */
  eventsFor(kind: string, namespace: string | undefined, name: string): EventRecord[] {
    const keys = this.eventsByObject.get(`${kind}/${namespace ?? ''}/${name}`);
    const store = this.stores.Event;
    const events = keys
      ? [...keys].map((k) => store.get(k)).filter((r): r is EventRecord => r !== undefined)
      : [];
    return events.sort((a, b) => (a.lastAt ?? 0) - (b.lastAt ?? 0));
  }

  private index(kind: RecordKind, change: ViewChange): void {
    const { record, previous, type } = change;
    const key = recordKey(record);
    const namespaces = this.byNamespace.get(kind)!;
    const owners = this.byOwner.get(kind)!;
    if (previous) {
      drop(namespaces, previous.namespace, key);
      drop(owners, previous.owner?.uid, key);
      if (kind === 'Pod') drop(this.podsByNode, (previous as PodRecord).nodeName, key);
      if (kind === 'Event') drop(this.eventsByObject, eventObjectKey(previous as EventRecord), key);
    }
    if (type !== 'deleted') {
      add(namespaces, record.namespace, key);
      add(owners, record.owner?.uid, key);
      if (kind === 'Pod') add(this.podsByNode, (record as PodRecord).nodeName, key);
      if (kind === 'Event') add(this.eventsByObject, eventObjectKey(record as EventRecord), key);
    }
    for (const l of this.listeners) l(kind, change);
  }
}

function eventObjectKey(e: EventRecord): string {
  return `${e.involved.kind}/${e.involved.namespace ?? ''}/${e.involved.name}`;
}

/** The kinds the view holds. */
export const VIEW_KINDS = KINDS;

export type { AnyRecord };
