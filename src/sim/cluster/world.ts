import { SimClock, type TimerHandle } from '../clock.js';
import type { KObject, Pod } from '../model.js';
import { Random } from '../random.js';
import { R, STORAGE_RESOURCES } from '../api/resources.js';
import { objectKey, Store, type Change } from '../api/store.js';
import { isoSeconds } from '../time.js';
import { EventRecorder, type EventSource, type EventTarget } from './events.js';

/** A process of the simulated cluster whose being up or down gates some controllers. */
export type Component =
  | 'kube-apiserver'
  | 'etcd'
  | 'kube-scheduler'
  | 'kube-controller-manager'
  | 'cluster-autoscaler'
  | 'metrics-server';

/**
 * A reconciler with a work queue, like a client-go controller: changes enqueue keys, and the world
 * syncs them when the component that runs the controller is up.
 */
export interface Controller {
  readonly name: string;
  /** The process the controller runs in; while it is down, keys wait in the queue. */
  readonly component: Component | 'always';
  sync(key: string): void;
  /** Every key, for the periodic resync and for catching up after the component comes back. */
  resyncKeys(): Iterable<string>;
  /** Resync period in simulated milliseconds (default 30 s). */
  readonly resyncMs?: number;
}

interface Registered {
  controller: Controller;
  queue: Set<string>;
  delayed: Map<string, { at: number; timer: TimerHandle }>;
  wasUp: boolean;
}

/** The platform the simulated cluster pretends to run on. */
export type Platform = 'kubeadm' | 'eks' | 'gke' | 'aks';

/** Options of the world that scenarios and the CLI set. */
export interface WorldOptions {
  seed: string;
  /** Simulated start time (epoch ms); defaults to the real now. */
  startTime: number;
  /** Clock speed relative to real time. */
  speed: number;
  /** The `gitVersion` served by `/version`, e.g. `v1.32.2`. */
  version: string;
  platform: Platform;
  /** Watch-history events kept per resource. */
  historySize: number;
}

/**
 * The simulated cluster's state and machinery: the store, the clock, the event recorder, indexes and
 * the controllers' work queues. Controllers, kubelets and faults all act through it.
 */
export class World {
  readonly store: Store;
  readonly clock: SimClock;
  readonly rng: Random;
  readonly events: EventRecorder;
  readonly options: WorldOptions;
  /** True while a scenario builds the initial cluster: no events, containers start at once. */
  isBootstrapping = true;
  /** Decides whether a component is up; the control plane installs the real rule. */
  isComponentUp: (component: Component) => boolean = () => true;
  private readonly registered: Registered[] = [];
  private readonly podsByNode = new Map<string, Set<string>>();
  private readonly dependents = new Map<string, Set<string>>();
  private readonly startHooks: (() => void)[] = [];
  private isSettling = false;
  gitVersion: string;

  constructor(options: WorldOptions) {
    this.options = options;
    this.gitVersion = options.version;
    this.rng = new Random(options.seed);
    this.clock = new SimClock(options.startTime, options.speed);
    this.store = new Store(STORAGE_RESOURCES, { historySize: options.historySize });
    this.events = new EventRecorder(this.store, this.clock, this.rng.fork('events'));
    this.clock.onSettle = () => this.settle();
    this.store.subscribe(R.pods, (c) => this.indexPod(c));
    for (const resource of [
      R.replicasets,
      R.pods,
      R.jobs,
      R.deployments,
      R.daemonsets,
      R.statefulsets,
      R.cronjobs,
    ]) {
      this.store.subscribe(resource, (c) => this.indexOwners(c));
    }
  }

  /** Simulated now in epoch milliseconds. */
  now(): number {
    return this.clock.now();
  }

  /** Simulated now as an RFC 3339 timestamp (seconds). */
  nowIso(): string {
    return isoSeconds(this.clock.now());
  }

  /** A new UID. */
  uid(): string {
    return this.rng.uuid();
  }

  /** Records an event unless the cluster is still being built. */
  record(
    target: EventTarget,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    source: EventSource,
  ): void {
    if (this.isBootstrapping) return;
    this.events.record(target, type, reason, message, source);
  }

  /** Registers a controller and subscribes nothing: the controller subscribes itself. */
  addController(controller: Controller): void {
    this.registered.push({ controller, queue: new Set(), delayed: new Map(), wasUp: true });
  }

  /** Queues a key for a controller. */
  enqueue(controllerName: string, key: string): void {
    const r = this.registered.find((x) => x.controller.name === controllerName);
    if (!r) throw new Error(`unknown controller ${controllerName}`);
    r.queue.add(key);
  }

  /** Queues a key for a controller after a simulated delay; of several pending delays the soonest wins. */
  enqueueAfter(controllerName: string, key: string, ms: number): void {
    if (this.isBootstrapping) return;
    const r = this.registered.find((x) => x.controller.name === controllerName);
    if (!r) throw new Error(`unknown controller ${controllerName}`);
    const at = this.clock.now() + ms;
    const pending = r.delayed.get(key);
    if (pending && pending.at <= at) return;
    pending?.timer.cancel();
    r.delayed.set(key, {
      at,
      timer: this.clock.at(at, () => {
        r.delayed.delete(key);
        r.queue.add(key);
      }),
    });
  }

  /** Runs every queued sync of every controller whose component is up, until the queues are empty. */
  settle(): void {
    if (this.isSettling) return;
    this.isSettling = true;
    try {
      for (let round = 0; round < 100; round++) {
        let didWork = false;
        for (const r of this.registered) {
          const isUp = r.controller.component === 'always' || this.isComponentUp(r.controller.component);
          if (isUp && !r.wasUp) {
            // A restarted controller lists everything again, as an informer does on start.
            for (const key of r.controller.resyncKeys()) r.queue.add(key);
          }
          r.wasUp = isUp;
          if (!isUp || r.queue.size === 0) continue;
          const keys = [...r.queue];
          r.queue.clear();
          for (const key of keys) r.controller.sync(key);
          didWork = true;
        }
        if (!didWork) break;
      }
    } finally {
      this.isSettling = false;
    }
  }

  /** Registers work that starts when the initial cluster is built (leases, heartbeats, resyncs). */
  onStart(hook: () => void): void {
    if (this.isBootstrapping) this.startHooks.push(hook);
    else hook();
  }

  /**
   * Ends the build of the initial cluster: jumps the clock to `now`, starts periodic work, and makes
   * the current state the start of watch history.
   */
  finishBootstrap(now: number): void {
    this.settle();
    this.clock.jumpTo(now);
    this.isBootstrapping = false;
    for (const hook of this.startHooks.splice(0)) hook();
    for (const r of this.registered) {
      const c = r.controller;
      const period = c.resyncMs ?? 30_000;
      this.clock.every(period, () => {
        for (const key of c.resyncKeys()) r.queue.add(key);
      });
    }
    this.settle();
    this.store.resetHistory();
  }

  /**
   * Deletes a pod as the API server does: at once when it is on no node or has finished (or the grace
   * period is 0); otherwise gracefully, with `deletionTimestamp` at now plus the grace period, after
   * which its kubelet stops it and removes it. Returns the pod while it still exists.
   */
  deletePod(pod: Pod, graceSeconds?: number): Pod | undefined {
    const grace = graceSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    const isFinished = pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed';
    if (grace === 0 || !pod.spec.nodeName || isFinished) {
      this.store.delete(R.pods, pod.metadata.namespace, pod.metadata.name);
      return undefined;
    }
    return this.store.modify<Pod>(R.pods, pod.metadata.namespace, pod.metadata.name, (p) =>
      p.metadata.deletionTimestamp
        ? p
        : {
            ...p,
            metadata: {
              ...p.metadata,
              deletionTimestamp: isoSeconds(this.now() + grace * 1000),
              deletionGracePeriodSeconds: grace,
            },
          },
    );
  }

  /** A free name `<prefix><5 characters>` in a namespace, as the API server's `generateName` makes one. */
  generateName(resource: string, namespace: string | undefined, prefix: string): string {
    for (;;) {
      const name = `${prefix}${this.rng.nameSuffix()}`;
      if (!this.store.get(resource, namespace, name)) return name;
    }
  }

  /** Keys (`namespace/name`) of the pods bound to a node. */
  podKeysOnNode(node: string): ReadonlySet<string> {
    return this.podsByNode.get(node) ?? new Set();
  }

  /** The pods bound to a node. */
  podsOnNode(node: string): Pod[] {
    const out: Pod[] = [];
    for (const key of this.podKeysOnNode(node)) {
      const slash = key.indexOf('/');
      const pod = this.store.get<Pod>(R.pods, key.slice(0, slash), key.slice(slash + 1));
      if (pod) out.push(pod);
    }
    return out;
  }

  /** Objects of `resource` whose ownerReferences name the owner's UID. */
  dependentsOf<T extends KObject>(ownerUid: string, resource: string): T[] {
    const out: T[] = [];
    for (const ref of this.dependents.get(ownerUid) ?? []) {
      const [res, key] = ref.split('|') as [string, string];
      if (res !== resource) continue;
      const slash = key.indexOf('/');
      const object = this.store.get<T>(res, key.slice(0, slash), key.slice(slash + 1));
      if (object) out.push(object);
    }
    return out;
  }

  private indexPod(change: Change): void {
    const pod = change.object as Pod;
    const previous = change.previous as Pod | undefined;
    const key = objectKey(pod.metadata.namespace, pod.metadata.name);
    const before = previous?.spec.nodeName;
    const after = change.type === 'DELETED' ? undefined : pod.spec.nodeName;
    if (before === after) return;
    if (before) this.podsByNode.get(before)?.delete(key);
    if (after) {
      let set = this.podsByNode.get(after);
      if (!set) this.podsByNode.set(after, (set = new Set()));
      set.add(key);
    }
  }

  private indexOwners(change: Change): void {
    const ref = `${change.resource}|${objectKey(change.object.metadata.namespace, change.object.metadata.name)}`;
    if (change.type !== 'ADDED') {
      for (const o of change.previous?.metadata.ownerReferences ?? []) {
        const set = this.dependents.get(o.uid);
        set?.delete(ref);
        if (set?.size === 0) this.dependents.delete(o.uid);
      }
    }
    if (change.type !== 'DELETED') {
      for (const o of change.object.metadata.ownerReferences ?? []) {
        let set = this.dependents.get(o.uid);
        if (!set) this.dependents.set(o.uid, (set = new Set()));
        set.add(ref);
      }
    }
  }
}
