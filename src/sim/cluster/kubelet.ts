import type { TimerHandle } from '../clock.js';
import type {
  Condition,
  Container,
  ContainerStateTerminated,
  ContainerStatus,
  Lease,
  Node,
  Pod,
} from '../model.js';
import { R } from '../api/resources.js';
import { objectKey, type Change } from '../api/store.js';
import { hashString } from '../random.js';
import { isoMicro, isoSeconds } from '../time.js';
import { annotatedBehavior, isUnpullable, type Behavior } from './behavior.js';
import { getCondition, setCondition } from './objects.js';
import type { World } from './world.js';

const LEASE_RENEW_MS = 10_000;
const STATUS_REPORT_MS = 5 * 60_000;
/** How long a newly registered node waits for its CNI (NetworkPluginNotReady) before it turns Ready. */
const NETWORK_READY_MS = 20_000;
/** The kubelet's image garbage collection period (ImageGCPeriod). */
const IMAGE_GC_MS = 5 * 60_000;
const BACKOFF_INITIAL_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;
/** A container that ran this long without crashing has its back-off reset (2 × the maximum). */
const BACKOFF_RESET_MS = 2 * BACKOFF_MAX_MS;
const GIB = 2 ** 30;

interface ContainerRuntime {
  readonly name: string;
  readonly image: string;
  state: 'waiting' | 'running' | 'terminated';
  reason: string;
  message?: string;
  startedAt?: number;
  /** When a behavior a fault gave the running container took effect (its crash timer counts from then). */
  behaviorSince?: number;
  finishedAt?: number;
  exitCode?: number;
  restartCount: number;
  last?: ContainerStateTerminated;
  isReady: boolean;
  containerId: string;
  pullFailures: number;
  behavior: Behavior;
  timer?: TimerHandle | undefined;
  /** Increments on every start; logs of instance N-1 are the `previous` logs. */
  instance: number;
  /** The current crash back-off (0 before the first crash); reset after a long healthy run. */
  backoffMs: number;
}

interface PodRuntime {
  readonly key: string;
  readonly uid: string;
  containers: ContainerRuntime[];
  startTime?: number;
  podIP?: string;
  isKilling: boolean;
  timer?: TimerHandle | undefined;
  /** Ephemeral storage the pod's writable layers and logs use on the node. */
  ephemeralBytes: number;
}

/** The image a node has pulled. */
export interface NodeImage {
  name: string;
  sizeBytes: number;
  pulledAt: number;
}

/** Hooks the kubelet asks the rest of the simulator (faults override container behavior). */
export interface KubeletHooks {
  behaviorOverride(pod: Pod, container: Container): Behavior | undefined;
}

/**
 * A simulated kubelet for one node: registers and heartbeats the node (Lease every 10 s, status on
 * change or every 5 min), runs the pods bound to it through image pulls, starts, readiness, crashes
 * with exponential back-off, OOM kills and completion, emits the events the real kubelet emits, and
 * tracks image and filesystem usage for the Summary API.
 */
export class Kubelet {
  readonly pods = new Map<string, PodRuntime>();
  readonly images = new Map<string, NodeImage>();
  isRunning = true;
  /** Extra bytes on the node filesystem (the disk-fill fault). */
  fillBytes = 0;
  readonly fsCapacityBytes: number;
  readonly osBytes: number;
  /** Expiry (epoch ms) of the kubelet's client certificate, as its certificate manager reports it. */
  clientCertNotAfter: number;
  serverCertNotAfter: number;
  readonly startedAt: number;
  /** Until then the node reports NotReady: the CNI has not written its configuration yet. */
  private readonly networkReadyAt: number;
  private leaseTimer: TimerHandle | undefined;
  private statusTimer: TimerHandle | undefined;
  private diskTimer: TimerHandle | undefined;
  private imageGcTimer: TimerHandle | undefined;
  private lastStatusAt = 0;
  private readonly ipBase: string;
  private nextIp = 10;

  constructor(
    private readonly world: World,
    readonly nodeName: string,
    private readonly hooks: KubeletHooks,
    options: { podCidrIndex: number; fsCapacityGiB?: number },
  ) {
    this.fsCapacityBytes = (options.fsCapacityGiB ?? 100) * GIB;
    this.osBytes = 6 * GIB + (hashString(nodeName) % 2048) * 2 ** 20;
    this.ipBase = `10.244.${options.podCidrIndex % 256}`;
    this.startedAt = world.now();
    this.clientCertNotAfter = world.now() + 300 * 86_400_000;
    this.serverCertNotAfter = world.now() + 300 * 86_400_000;
    this.networkReadyAt = world.isBootstrapping ? 0 : world.now() + NETWORK_READY_MS;
    world.onStart(() => this.startLoops());
  }

  private get node(): Node | undefined {
    return this.world.store.get<Node>(R.nodes, undefined, this.nodeName);
  }

  private startLoops(): void {
    const jitter = hashString(this.nodeName) % LEASE_RENEW_MS;
    this.leaseTimer = this.world.clock.every(LEASE_RENEW_MS, () => this.renewLease(), jitter);
    this.statusTimer = this.world.clock.every(10_000, () => this.maybeReportStatus(), jitter + 500);
    this.diskTimer = this.world.clock.every(10_000, () => this.checkDisk(), jitter + 700);
    this.imageGcTimer = this.world.clock.every(IMAGE_GC_MS, () => this.collectImages(), jitter + 900);
    this.renewLease();
    this.reportStatus();
    if (this.networkReadyAt > this.world.now())
      this.world.clock.at(this.networkReadyAt, () => this.reportStatus());
  }

  /** Stops the kubelet (node-notready): no heartbeats, no pod updates; containers keep their state. */
  stop(): void {
    if (!this.isRunning) return;
    this.isRunning = false;
    this.leaseTimer?.cancel();
    this.statusTimer?.cancel();
    this.diskTimer?.cancel();
    this.imageGcTimer?.cancel();
    for (const rt of this.pods.values()) {
      rt.timer?.cancel();
      for (const c of rt.containers) c.timer?.cancel();
    }
  }

  /** Starts a stopped kubelet again: it reports status at once and resumes its pods. */
  start(): void {
    if (this.isRunning) return;
    this.isRunning = true;
    this.startLoops();
    for (const pod of this.world.podsOnNode(this.nodeName)) this.observe(pod);
    for (const rt of this.pods.values()) {
      for (const c of rt.containers) this.resumeContainer(rt, c);
      // The status manager posts every pod's status again, undoing the controller's Ready=False.
      if (!rt.isKilling) this.writeStatus(rt);
    }
  }

  /** Reacts to a change of a pod bound to this node. */
  onPodChange(change: Change): void {
    const pod = change.object as Pod;
    if (change.type === 'DELETED') {
      const rt = this.pods.get(pod.metadata.uid);
      if (rt) this.forget(rt);
      return;
    }
    if (!this.isRunning) return;
    this.observe(pod);
  }

  private observe(pod: Pod): void {
    const rt = this.pods.get(pod.metadata.uid);
    if (!rt) {
      // A pod without a runtime here that is being deleted (finished, or evicted) just goes.
      if (pod.metadata.deletionTimestamp) {
        this.world.store.delete(R.pods, pod.metadata.namespace, pod.metadata.name);
        return;
      }
      if (pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') return;
      this.admit(pod);
      return;
    }
    if (pod.metadata.deletionTimestamp && !rt.isKilling) this.kill(rt, pod);
  }

  private forget(rt: PodRuntime): void {
    rt.timer?.cancel();
    for (const c of rt.containers) c.timer?.cancel();
    this.pods.delete(rt.uid);
  }

  private getPod(rt: PodRuntime): Pod | undefined {
    const slash = rt.key.indexOf('/');
    const pod = this.world.store.get<Pod>(R.pods, rt.key.slice(0, slash), rt.key.slice(slash + 1));
    return pod?.metadata.uid === rt.uid ? pod : undefined;
  }

  private behaviorOf(pod: Pod, container: Container): Behavior {
    const override = this.hooks.behaviorOverride(pod, container);
    if (override) return override;
    if (isUnpullable(container.image)) return { kind: 'bad-image' };
    return annotatedBehavior(pod, container) ?? { kind: 'run' };
  }

  private allocateIp(pod: Pod): string {
    if (pod.spec.hostNetwork) return this.internalIp();
    const ip = `${this.ipBase}.${this.nextIp}`;
    this.nextIp = this.nextIp >= 250 ? 10 : this.nextIp + 1;
    return ip;
  }

  /** The node's InternalIP. */
  internalIp(): string {
    return this.node?.status.addresses.find((a) => a.type === 'InternalIP')?.address ?? '10.0.0.1';
  }

  private podTarget(pod: Pod, container?: string): Parameters<World['record']>[0] {
    return {
      kind: 'Pod',
      apiVersion: 'v1',
      object: pod,
      ...(container ? { fieldPath: `spec.containers{${container}}` } : {}),
    };
  }

  private emit(
    pod: Pod,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    container?: string,
  ): void {
    this.world.record(this.podTarget(pod, container), type, reason, message, {
      component: 'kubelet',
      host: this.nodeName,
    });
  }

  /** Takes a newly bound pod: sandbox, image pulls, container starts. */
  private admit(pod: Pod): void {
    const rt: PodRuntime = {
      key: objectKey(pod.metadata.namespace, pod.metadata.name),
      uid: pod.metadata.uid,
      containers: pod.spec.containers.map((c) => ({
        name: c.name,
        image: c.image,
        state: 'waiting',
        reason: 'ContainerCreating',
        restartCount: 0,
        isReady: false,
        containerId: '',
        pullFailures: 0,
        behavior: this.behaviorOf(pod, c),
        instance: 0,
        backoffMs: 0,
      })),
      isKilling: false,
      ephemeralBytes: (1 + (hashString(pod.metadata.uid) % 64)) * 2 ** 20,
    };
    this.pods.set(rt.uid, rt);
    if (this.world.isBootstrapping) {
      this.bootstrapPod(rt, pod);
      return;
    }
    rt.startTime = this.world.now();
    rt.podIP = this.allocateIp(pod);
    this.writeStatus(rt);
    rt.timer = this.world.clock.after(800 + (hashString(rt.uid) % 1500), () => {
      rt.timer = undefined;
      const current = this.getPod(rt);
      if (!current || !this.isRunning) return;
      for (const c of rt.containers) this.pullAndStart(rt, c);
    });
  }

  /** A pod that existed before the simulation started: running (or finished) since it was created. */
  private bootstrapPod(rt: PodRuntime, pod: Pod): void {
    const created = Date.parse(pod.metadata.creationTimestamp);
    rt.startTime = created + 1000;
    rt.podIP = this.allocateIp(pod);
    for (const c of rt.containers) {
      this.noteImage(c.image, created);
      c.containerId = this.newContainerId(rt, c);
      c.instance = 1;
      const b = c.behavior;
      if (b.kind === 'complete' || b.kind === 'fail') {
        c.state = 'terminated';
        c.startedAt = created + 3000;
        c.finishedAt = c.startedAt + b.afterMs;
        c.exitCode = b.kind === 'complete' ? 0 : 1;
        c.reason = b.kind === 'complete' ? 'Completed' : 'Error';
      } else if (b.kind === 'bad-image') {
        c.state = 'waiting';
        c.reason = 'ImagePullBackOff';
        c.message = `Back-off pulling image "${c.image}"`;
      } else {
        c.state = 'running';
        c.startedAt = created + 3000;
        c.isReady = b.kind !== 'unready';
      }
    }
    this.writeStatus(rt);
  }

  private newContainerId(rt: PodRuntime, c: ContainerRuntime): string {
    return `containerd://${hashString(`${rt.uid}/${c.name}/${c.instance}`).toString(16).padStart(8, '0')}${this.world.rng.hex(56)}`;
  }

  /** Size of an image, stable per name (20–420 MB). */
  imageSize(image: string): number {
    return (20 + (hashString(image) % 400)) * 1_000_000;
  }

  private noteImage(image: string, at: number): void {
    if (!this.images.has(image))
      this.images.set(image, { name: image, sizeBytes: this.imageSize(image), pulledAt: at });
  }

  private pullAndStart(rt: PodRuntime, c: ContainerRuntime): void {
    const pod = this.getPod(rt);
    if (!pod || rt.isKilling) return;
    c.behavior = this.behaviorOf(
      pod,
      pod.spec.containers.find((x) => x.name === c.name) ?? pod.spec.containers[0]!,
    );
    const policy = pod.spec.containers.find((x) => x.name === c.name)?.imagePullPolicy ?? 'IfNotPresent';
    const isPresent = this.images.has(c.image) && policy !== 'Always';
    if (isPresent && c.behavior.kind !== 'bad-image') {
      this.emit(pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`, c.name);
      this.startContainer(rt, c);
      return;
    }
    this.emit(pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`, c.name);
    const pullMs = 1000 + Math.round(this.imageSize(c.image) / 40_000);
    c.timer = this.world.clock.after(pullMs, () => {
      c.timer = undefined;
      const current = this.getPod(rt);
      if (!current || rt.isKilling || !this.isRunning) return;
      if (c.behavior.kind === 'bad-image') {
        this.failPull(rt, c, current);
        return;
      }
      const seconds = (pullMs / 1000).toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
      this.noteImage(c.image, this.world.now());
      this.emit(
        current,
        'Normal',
        'Pulled',
        `Successfully pulled image "${c.image}" in ${seconds}s (${seconds}s including waiting). Image size: ${this.imageSize(c.image)} bytes.`,
        c.name,
      );
      this.startContainer(rt, c);
    });
  }

  private failPull(rt: PodRuntime, c: ContainerRuntime, pod: Pod): void {
    c.pullFailures++;
    const ref = c.image.includes('/') ? c.image : `docker.io/library/${c.image}`;
    const detail = `rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`;
    c.state = 'waiting';
    c.reason = 'ErrImagePull';
    c.message = detail;
    this.emit(pod, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${detail}`, c.name);
    this.emit(pod, 'Warning', 'Failed', 'Error: ErrImagePull', c.name);
    this.writeStatus(rt);
    const backoff = Math.min(BACKOFF_INITIAL_MS * 2 ** (c.pullFailures - 1), BACKOFF_MAX_MS);
    c.timer = this.world.clock.after(1500, () => {
      const current = this.getPod(rt);
      if (!current || rt.isKilling || !this.isRunning) return;
      c.reason = 'ImagePullBackOff';
      c.message = `Back-off pulling image "${c.image}": ErrImagePull: ${detail}`;
      this.emit(current, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`, c.name);
      this.emit(current, 'Warning', 'Failed', 'Error: ImagePullBackOff', c.name);
      this.writeStatus(rt);
      c.timer = this.world.clock.after(backoff, () => {
        c.timer = undefined;
        if (this.isRunning) this.pullAndStart(rt, c);
      });
    });
  }

  private startContainer(rt: PodRuntime, c: ContainerRuntime): void {
    const pod = this.getPod(rt);
    if (!pod || rt.isKilling) return;
    const now = this.world.now();
    c.instance++;
    if (c.instance > 1) c.restartCount++;
    c.containerId = this.newContainerId(rt, c);
    c.state = 'running';
    c.reason = '';
    delete c.message;
    c.startedAt = now;
    c.isReady = false;
    this.emit(pod, 'Normal', 'Created', `Created container: ${c.name}`, c.name);
    this.emit(pod, 'Normal', 'Started', `Started container ${c.name}`, c.name);
    this.writeStatus(rt);
    this.scheduleRunning(rt, c);
  }

  /** Schedules what a running container does next: become ready, crash, finish, or flake. */
  private scheduleRunning(rt: PodRuntime, c: ContainerRuntime): void {
    c.timer?.cancel();
    c.timer = undefined;
    const now = this.world.now();
    const startedAt = c.startedAt ?? now;
    const since = Math.max(startedAt, c.behaviorSince ?? 0);
    const b = c.behavior;
    const readyDelay = 2000 + (hashString(`${rt.uid}${c.instance}`) % 6000);
    if (!c.isReady && b.kind !== 'unready' && b.kind !== 'complete' && b.kind !== 'fail') {
      const readyAt = startedAt + readyDelay;
      const exitAt = b.kind === 'crash' ? since + b.afterMs : Infinity;
      if (readyAt < exitAt) {
        c.timer = this.world.clock.at(readyAt, () => {
          c.timer = undefined;
          c.isReady = true;
          this.writeStatus(rt);
          this.scheduleRunning(rt, c);
        });
        return;
      }
    }
    if (b.kind === 'unready') {
      c.timer = this.world.clock.at(Math.max(now, startedAt + readyDelay), () => {
        const pod = this.getPod(rt);
        if (!pod) return;
        this.emit(
          pod,
          'Warning',
          'Unhealthy',
          'Readiness probe failed: HTTP probe failed with statuscode: 503',
          c.name,
        );
        c.timer = undefined;
        c.startedAt = startedAt;
        // Probes run every 10 s; the recorder folds the repeats into one event's count.
        c.timer = this.world.clock.after(10_000, () => this.scheduleRunning(rt, c));
      });
      return;
    }
    if (b.kind === 'crash') {
      c.timer = this.world.clock.at(Math.max(now, since + b.afterMs), () =>
        this.exitContainer(rt, c, b.exitCode, b.reason),
      );
    } else if (b.kind === 'complete') {
      c.timer = this.world.clock.at(Math.max(now, since + b.afterMs), () =>
        this.exitContainer(rt, c, 0, 'Completed'),
      );
    } else if (b.kind === 'fail') {
      c.timer = this.world.clock.at(Math.max(now, since + b.afterMs), () =>
        this.exitContainer(rt, c, 1, 'Error'),
      );
    } else if (b.kind === 'flaky') {
      const wait = Math.round(b.everyMs * (0.5 + (hashString(`${rt.uid}${c.instance}`) % 1000) / 1000));
      c.timer = this.world.clock.at(Math.max(now, since + wait), () => this.exitContainer(rt, c, 1, 'Error'));
    }
  }

  private exitContainer(rt: PodRuntime, c: ContainerRuntime, exitCode: number, reason: string): void {
    c.timer = undefined;
    const pod = this.getPod(rt);
    if (!pod || rt.isKilling || !this.isRunning) return;
    const now = this.world.now();
    const ranMs = now - (c.startedAt ?? now);
    c.state = 'terminated';
    c.reason = reason;
    c.exitCode = exitCode;
    c.finishedAt = now;
    c.isReady = false;
    c.last = {
      exitCode,
      reason,
      startedAt: isoSeconds(c.startedAt ?? now),
      finishedAt: isoSeconds(now),
      containerID: c.containerId,
    };
    const policy = pod.spec.restartPolicy ?? 'Always';
    const isRestarting = policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
    if (!isRestarting) {
      this.writeStatus(rt);
      return;
    }
    if (ranMs >= BACKOFF_RESET_MS) c.backoffMs = 0;
    // The first restart (also the first after a long healthy run) is immediate; later ones wait 10 s,
    // 20 s, 40 s ... up to 5 min (CrashLoopBackOff).
    const delay =
      c.backoffMs === 0 ? 1000 : Math.min(Math.max(BACKOFF_INITIAL_MS, c.backoffMs * 2), BACKOFF_MAX_MS);
    c.backoffMs = delay;
    this.writeStatus(rt);
    if (delay < BACKOFF_INITIAL_MS) {
      c.timer = this.world.clock.after(delay, () => this.restart(rt, c));
      return;
    }
    c.timer = this.world.clock.after(1000, () => {
      const current = this.getPod(rt);
      if (!current || rt.isKilling || !this.isRunning) return;
      c.state = 'waiting';
      c.reason = 'CrashLoopBackOff';
      c.message = `back-off ${formatBackoff(delay)} restarting failed container=${c.name} pod=${current.metadata.name}_${current.metadata.namespace}(${current.metadata.uid})`;
      this.emit(
        current,
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${c.name} in pod ${current.metadata.name}_${current.metadata.namespace}(${current.metadata.uid})`,
        c.name,
      );
      this.writeStatus(rt);
      c.timer = this.world.clock.after(delay, () => this.restart(rt, c));
    });
  }

  private restart(rt: PodRuntime, c: ContainerRuntime): void {
    c.timer = undefined;
    const pod = this.getPod(rt);
    if (!pod || rt.isKilling || !this.isRunning) return;
    c.behavior = this.behaviorOf(
      pod,
      pod.spec.containers.find((x) => x.name === c.name) ?? pod.spec.containers[0]!,
    );
    this.emit(pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`, c.name);
    this.startContainer(rt, c);
  }

  /** Restarts a pod's crashed or backing-off containers at once, as if its pod had just been fixed. */
  restartNow(uid: string): void {
    const rt = this.pods.get(uid);
    if (!rt || rt.isKilling || !this.isRunning) return;
    for (const c of rt.containers) {
      if (c.state === 'running' || (c.state === 'waiting' && c.reason === 'ContainerCreating')) continue;
      c.timer?.cancel();
      c.timer = undefined;
      if (c.reason === 'ErrImagePull' || c.reason === 'ImagePullBackOff') this.pullAndStart(rt, c);
      else this.restart(rt, c);
    }
  }

  /**
   * Rewrites the history of containers whose crash behaviour has just begun, as if it had begun
   * `sinceMs` ago: restart counts, the last termination, the current back-off and the events with
   * their counts and first/last timestamps, exactly as the loop in `exitContainer` would have left them.
   * Returns how many containers it rewrote.
   */
  backdate(sinceMs: number): number {
    if (!this.isRunning || sinceMs <= 0) return 0;
    const now = this.world.now();
    let count = 0;
    for (const rt of this.pods.values()) {
      const pod = this.getPod(rt);
      if (!pod || rt.isKilling || (pod.spec.restartPolicy ?? 'Always') !== 'Always') continue;
      for (const c of rt.containers) {
        const b = c.behavior;
        if (c.state !== 'running' || c.behaviorSince !== now || (b.kind !== 'crash' && b.kind !== 'flaky'))
          continue;
        c.timer?.cancel();
        c.timer = undefined;
        const begin = now - sinceMs;
        const starts: number[] = [];
        const backoffs: number[] = [];
        let runStart = Math.min(c.startedAt ?? begin, begin);
        let misbehaviourFrom = begin;
        let backoff = 0;
        let exit: { at: number; startedAt: number } | undefined;
        let pendingRestart: { at: number; isBackOff: boolean } | undefined;
        for (let i = 0; i < 100_000; i++) {
          const runMs =
            b.kind === 'crash'
              ? b.afterMs
              : Math.round(
                  b.everyMs * (0.5 + (hashString(`${rt.uid}${c.instance + starts.length}`) % 1000) / 1000),
                );
          const exitAt = Math.max(runStart, misbehaviourFrom) + runMs;
          if (exitAt > now) break;
          exit = { at: exitAt, startedAt: runStart };
          if (exitAt - runStart >= BACKOFF_RESET_MS) backoff = 0;
          const delay =
            backoff === 0 ? 1000 : Math.min(Math.max(BACKOFF_INITIAL_MS, backoff * 2), BACKOFF_MAX_MS);
          backoff = delay;
          const isBackOff = delay >= BACKOFF_INITIAL_MS;
          if (isBackOff && exitAt + 1000 <= now) backoffs.push(exitAt + 1000);
          if (exitAt + delay > now) {
            pendingRestart = { at: exitAt + delay, isBackOff };
            break;
          }
          runStart = exitAt + delay;
          misbehaviourFrom = runStart;
          starts.push(runStart);
        }
        if (!exit) {
          // The first crash lies ahead: only the misbehaviour's start moves back.
          c.behaviorSince = begin;
          this.scheduleRunning(rt, c);
          continue;
        }
        count++;
        c.restartCount += starts.length;
        c.instance += starts.length;
        c.backoffMs = backoff;
        delete c.behaviorSince;
        const exitCode = b.kind === 'crash' ? b.exitCode : 1;
        const reason = b.kind === 'crash' ? b.reason : 'Error';
        c.containerId = this.newContainerId(rt, c);
        c.last = {
          exitCode,
          reason,
          startedAt: isoSeconds(exit.startedAt),
          finishedAt: isoSeconds(exit.at),
          containerID: c.containerId,
        };
        if (pendingRestart) {
          c.isReady = false;
          if (pendingRestart.isBackOff && exit.at + 1000 <= now) {
            c.state = 'waiting';
            c.reason = 'CrashLoopBackOff';
            c.message = `back-off ${formatBackoff(backoff)} restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
          } else {
            c.state = 'terminated';
            c.reason = reason;
            c.exitCode = exitCode;
            c.startedAt = exit.startedAt;
            c.finishedAt = exit.at;
          }
          c.timer = this.world.clock.at(pendingRestart.at, () => this.restart(rt, c));
        } else {
          c.state = 'running';
          c.reason = '';
          delete c.message;
          c.startedAt = runStart;
          c.isReady = now - runStart > 5000;
          c.containerId = this.newContainerId(rt, { ...c, instance: c.instance + 1 });
          this.scheduleRunning(rt, c);
        }
        const target = this.podTarget(pod, c.name);
        const source = { component: 'kubelet', host: this.nodeName };
        const events = this.world.events;
        events.recordSeries(
          target,
          'Normal',
          'Pulled',
          `Container image "${c.image}" already present on machine`,
          source,
          starts,
        );
        events.recordSeries(target, 'Normal', 'Created', `Created container: ${c.name}`, source, starts);
        events.recordSeries(target, 'Normal', 'Started', `Started container ${c.name}`, source, starts);
        events.recordSeries(
          target,
          'Warning',
          'BackOff',
          `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
          source,
          backoffs,
        );
        this.writeStatus(rt);
      }
    }
    return count;
  }

  /** Re-reads container behavior after a fault starts or stops, rescheduling what running containers do. */
  refreshBehavior(): void {
    if (!this.isRunning) return;
    for (const rt of this.pods.values()) {
      const pod = this.getPod(rt);
      if (!pod || rt.isKilling) continue;
      for (const c of rt.containers) {
        const spec = pod.spec.containers.find((x) => x.name === c.name);
        if (!spec) continue;
        const next = this.behaviorOf(pod, spec);
        if (JSON.stringify(next) === JSON.stringify(c.behavior)) continue;
        c.behavior = next;
        if (c.state === 'running') {
          // A container that misbehaves from now on counts its misbehaviour from now (its start stays).
          if (next.kind === 'crash' || next.kind === 'flaky') c.behaviorSince = this.world.now();
          if (next.kind === 'unready' && c.isReady) {
            c.isReady = false;
            this.writeStatus(rt);
          }
          this.scheduleRunning(rt, c);
        }
      }
    }
  }

  private resumeContainer(rt: PodRuntime, c: ContainerRuntime): void {
    if (rt.isKilling) return;
    if (c.state === 'running') this.scheduleRunning(rt, c);
    else if (c.state === 'waiting' && c.reason !== 'ContainerCreating') {
      c.timer = this.world.clock.after(c.reason === 'CrashLoopBackOff' ? c.backoffMs : 1000, () => {
        if (c.reason === 'CrashLoopBackOff') this.restart(rt, c);
        else this.pullAndStart(rt, c);
      });
    } else if (c.state === 'waiting') {
      this.pullAndStart(rt, c);
    } else if (c.state === 'terminated') {
      const pod = this.getPod(rt);
      if (pod && (pod.spec.restartPolicy ?? 'Always') === 'Always')
        c.timer = this.world.clock.after(1000, () => this.restart(rt, c));
    }
  }

  /** Stops a deleted pod's containers, then removes the pod (the kubelet's final delete). */
  private kill(rt: PodRuntime, pod: Pod): void {
    rt.isKilling = true;
    for (const c of rt.containers) {
      c.timer?.cancel();
      if (c.state === 'running') this.emit(pod, 'Normal', 'Killing', `Stopping container ${c.name}`, c.name);
    }
    const grace =
      (pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    const delay = Math.min(grace, 1000 + (hashString(rt.uid) % 2000));
    rt.timer = this.world.clock.after(delay, () => {
      const current = this.getPod(rt);
      this.forget(rt);
      if (current) this.world.store.delete(R.pods, current.metadata.namespace, current.metadata.name);
    });
  }

  /** Evicts a pod: it fails with reason Evicted and its containers stop (kubelet eviction manager). */
  evict(pod: Pod, message: string): void {
    const rt = this.pods.get(pod.metadata.uid);
    if (!rt) return;
    for (const c of rt.containers) {
      c.timer?.cancel();
      if (c.state === 'running') {
        c.state = 'terminated';
        c.reason = 'ContainerStatusUnknown';
        c.exitCode = 137;
        c.finishedAt = this.world.now();
        c.isReady = false;
      }
    }
    this.emit(pod, 'Warning', 'Evicted', message);
    this.world.store.modify<Pod>(R.pods, pod.metadata.namespace, pod.metadata.name, (p) => ({
      ...p,
      status: {
        ...this.renderStatus(rt, p),
        phase: 'Failed',
        reason: 'Evicted',
        message,
      },
    }));
    this.forget(rt);
  }

  /** Writes the pod status computed from the runtime state. */
  private writeStatus(rt: PodRuntime): void {
    const pod = this.getPod(rt);
    if (!pod) return;
    this.world.store.modify<Pod>(R.pods, pod.metadata.namespace, pod.metadata.name, (p) => ({
      ...p,
      status: this.renderStatus(rt, p),
    }));
  }

  private renderStatus(rt: PodRuntime, pod: Pod): Pod['status'] {
    const now = this.world.now();
    const nowIso = isoSeconds(now);
    const statuses: ContainerStatus[] = rt.containers.map((c) => {
      const status: ContainerStatus = {
        name: c.name,
        state: {},
        lastState: c.last ? { terminated: c.last } : {},
        ready: c.isReady,
        restartCount: c.restartCount,
        image: c.image.includes('/') || c.image.includes('.') ? c.image : `docker.io/library/${c.image}`,
        imageID:
          c.state === 'waiting' && c.instance === 0
            ? ''
            : `${c.image.split(':')[0]}@sha256:${(hashString(c.image).toString(16) + '0'.repeat(56)).slice(0, 64)}`,
        started: c.state === 'running',
      };
      if (c.containerId) status.containerID = c.containerId;
      if (c.state === 'running') status.state.running = { startedAt: isoSeconds(c.startedAt ?? now) };
      else if (c.state === 'terminated') {
        status.state.terminated = {
          exitCode: c.exitCode ?? 0,
          reason: c.reason,
          startedAt: isoSeconds(c.startedAt ?? now),
          finishedAt: isoSeconds(c.finishedAt ?? now),
          containerID: c.containerId,
        };
      } else {
        status.state.waiting = { reason: c.reason, ...(c.message ? { message: c.message } : {}) };
      }
      return status;
    });
    const isAllReady = rt.containers.every((c) => c.isReady);
    const policy = pod.spec.restartPolicy ?? 'Always';
    let phase: Pod['status']['phase'] = 'Pending';
    const isAllTerminated = rt.containers.every((c) => c.state === 'terminated');
    const hasStarted = rt.containers.some((c) => c.instance > 0);
    if (isAllTerminated && policy !== 'Always') {
      phase = rt.containers.every((c) => c.exitCode === 0) ? 'Succeeded' : 'Failed';
    } else if (hasStarted && rt.containers.every((c) => c.instance > 0 || c.state === 'running')) {
      phase = 'Running';
    } else if (hasStarted && rt.containers.some((c) => c.state === 'running')) {
      phase = 'Running';
    }
    const isFinished = phase === 'Succeeded' || phase === 'Failed';
    const unready = rt.containers.filter((c) => !c.isReady).map((c) => c.name);
    const notReadyReason: Partial<Condition> = isFinished
      ? { reason: 'PodCompleted' }
      : { reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` };
    const ready = (type: string): Condition =>
      isAllReady && !isFinished
        ? { type, status: 'True', lastProbeTime: null, lastTransitionTime: nowIso }
        : { type, status: 'False', lastProbeTime: null, lastTransitionTime: nowIso, ...notReadyReason };
    let conditions = pod.status.conditions ?? [];
    conditions = setCondition(conditions, {
      type: 'PodReadyToStartContainers',
      status: isFinished ? 'False' : 'True',
      lastProbeTime: null,
      lastTransitionTime: nowIso,
    });
    conditions = setCondition(conditions, {
      type: 'Initialized',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: nowIso,
    });
    conditions = setCondition(conditions, ready('Ready'));
    conditions = setCondition(conditions, ready('ContainersReady'));
    conditions = setCondition(conditions, {
      type: 'PodScheduled',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: nowIso,
    });
    conditions = orderConditions(conditions);
    if (this.world.isBootstrapping) {
      const at = isoSeconds((rt.startTime ?? now) + 4000);
      conditions = conditions.map((c) => ({ ...c, lastTransitionTime: at }));
    }
    const hostIP = this.internalIp();
    const status: Pod['status'] = {
      phase,
      conditions,
      hostIP,
      hostIPs: [{ ip: hostIP }],
      startTime: isoSeconds(rt.startTime ?? now),
      containerStatuses: statuses,
      qosClass: pod.status.qosClass ?? 'BestEffort',
    };
    if (rt.podIP) {
      status.podIP = rt.podIP;
      status.podIPs = [{ ip: rt.podIP }];
    }
    return status;
  }

  private renewLease(): void {
    if (!this.isRunning) return;
    const now = isoMicro(this.world.now());
    const store = this.world.store;
    const existing = store.get<Lease>(R.leases, 'kube-node-lease', this.nodeName);
    if (existing) {
      store.update<Lease>(R.leases, { ...existing, spec: { ...existing.spec, renewTime: now } });
      return;
    }
    const node = this.node;
    store.create<Lease>(R.leases, {
      metadata: {
        name: this.nodeName,
        namespace: 'kube-node-lease',
        uid: this.world.uid(),
        resourceVersion: '',
        creationTimestamp: node?.metadata.creationTimestamp ?? isoSeconds(this.world.now()),
        ...(node
          ? {
              ownerReferences: [
                { apiVersion: 'v1', kind: 'Node', name: this.nodeName, uid: node.metadata.uid },
              ],
            }
          : {}),
      },
      spec: { holderIdentity: this.nodeName, leaseDurationSeconds: 40, renewTime: now },
    });
  }

  private maybeReportStatus(): void {
    if (this.world.now() - this.lastStatusAt >= STATUS_REPORT_MS) this.reportStatus();
  }

  /** The node conditions the kubelet reports. */
  private nodeConditions(): Condition[] {
    const hasDiskPressure = this.fsAvailableBytes() < this.fsCapacityBytes * 0.1;
    const now = isoSeconds(this.world.now());
    const c = (type: string, isBad: boolean, good: [string, string], bad: [string, string]): Condition => ({
      type,
      status: isBad ? 'True' : 'False',
      lastHeartbeatTime: now,
      lastTransitionTime: now,
      reason: isBad ? bad[0] : good[0],
      message: isBad ? bad[1] : good[1],
    });
    return [
      c(
        'MemoryPressure',
        false,
        ['KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
        ['KubeletHasInsufficientMemory', 'kubelet has insufficient memory available'],
      ),
      c(
        'DiskPressure',
        hasDiskPressure,
        ['KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
        ['KubeletHasDiskPressure', 'kubelet has disk pressure'],
      ),
      c(
        'PIDPressure',
        false,
        ['KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
        ['KubeletHasInsufficientPID', 'kubelet has insufficient PID available'],
      ),
      this.world.now() < this.networkReadyAt
        ? {
            type: 'Ready',
            status: 'False',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
            reason: 'KubeletNotReady',
            message:
              'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
          }
        : {
            type: 'Ready',
            status: 'True',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
          },
    ];
  }

  /** Posts node status: conditions (keeping transition times), images. */
  reportStatus(): void {
    if (!this.isRunning) return;
    this.lastStatusAt = this.world.now();
    const fresh = this.nodeConditions();
    this.world.store.modify<Node>(R.nodes, undefined, this.nodeName, (node) => {
      let conditions = node.status.conditions.filter((c) => !fresh.some((f) => f.type === c.type));
      for (const f of fresh) {
        const previous = node.status.conditions.find((c) => c.type === f.type);
        const isSame = previous?.status === f.status;
        if (!isSame && previous && !this.world.isBootstrapping) {
          const event = conditionEvent(f);
          if (event)
            this.world.record(
              { kind: 'Node', apiVersion: 'v1', object: node },
              'Normal',
              event,
              `Node ${this.nodeName} status is now: ${event}`,
              { component: 'kubelet', host: this.nodeName },
            );
        }
        conditions.push({
          ...f,
          ...(isSame && previous?.lastTransitionTime
            ? { lastTransitionTime: previous.lastTransitionTime }
            : {}),
        });
      }
      conditions = orderNodeConditions(conditions);
      if (this.world.isBootstrapping) {
        conditions = conditions.map((c) => ({ ...c, lastTransitionTime: node.metadata.creationTimestamp }));
      }
      const images = [...this.images.values()]
        .sort((a, b) => b.sizeBytes - a.sizeBytes)
        .slice(0, 50)
        .map((i) => ({
          names: [
            `${i.name.split(':')[0]}@sha256:${(hashString(i.name).toString(16) + '0'.repeat(56)).slice(0, 64)}`,
            i.name,
          ],
          sizeBytes: i.sizeBytes,
        }));
      return { ...node, status: { ...node.status, conditions, images } };
    });
  }

  /** Bytes used on the node filesystem: OS, images, pods' writable layers and logs, and any fill. */
  fsUsedBytes(): number {
    let used = this.osBytes + this.fillBytes;
    for (const i of this.images.values()) used += i.sizeBytes;
    for (const rt of this.pods.values()) used += rt.ephemeralBytes;
    return Math.min(used, this.fsCapacityBytes);
  }

  /** Bytes free on the node filesystem. */
  fsAvailableBytes(): number {
    return this.fsCapacityBytes - this.fsUsedBytes();
  }

  /** Bytes used by images. */
  imageBytes(): number {
    let total = 0;
    for (const i of this.images.values()) total += i.sizeBytes;
    return total;
  }

  /** Ephemeral storage used by one pod. */
  podEphemeralBytes(uid: string): number {
    return this.pods.get(uid)?.ephemeralBytes ?? 0;
  }

  /** The runtime view of a container for logs and metrics. */
  containerRuntime(uid: string, name: string): Readonly<ContainerRuntime> | undefined {
    return this.pods.get(uid)?.containers.find((c) => c.name === name);
  }

  /**
   * Image garbage collection, every 5 minutes as the kubelet runs it: above 85 % used it tries to free
   * images down to 80 % (and fails when every image is in use).
   */
  private collectImages(): void {
    if (!this.isRunning) return;
    const node = this.node;
    const used = this.fsUsedBytes();
    if (!node || used <= this.fsCapacityBytes * 0.85) return;
    const toFree = Math.round(used - this.fsCapacityBytes * 0.8);
    this.world.record(
      { kind: 'Node', apiVersion: 'v1', object: node },
      'Warning',
      'ImageGCFailed',
      `Failed to garbage collect required amount of images. Attempted to free ${toFree} bytes, but only found 0 bytes eligible to free.`,
      { component: 'kubelet', host: this.nodeName },
    );
  }

  /** The disk-pressure signal of the eviction manager (every 10 s): below 10 % free, DiskPressure and evictions. */
  private checkDisk(): void {
    if (!this.isRunning) return;
    const node = this.node;
    if (!node) return;
    const hasPressure = this.fsAvailableBytes() < this.fsCapacityBytes * 0.1;
    const reported = getCondition(node.status.conditions, 'DiskPressure')?.status === 'True';
    if (hasPressure !== reported) this.reportStatus();
    if (hasPressure) {
      const availablePct = Math.round((this.fsAvailableBytes() / this.fsCapacityBytes) * 100);
      this.world.record(
        { kind: 'Node', apiVersion: 'v1', object: node },
        'Warning',
        'EvictionThresholdMet',
        'Attempting to reclaim ephemeral-storage',
        { component: 'kubelet', host: this.nodeName },
      );
      // Evict one best-effort pod per pass, as the eviction manager ranks them first.
      const victim = this.world
        .podsOnNode(this.nodeName)
        .find(
          (p) =>
            p.status.qosClass === 'BestEffort' &&
            p.status.phase === 'Running' &&
            !p.metadata.deletionTimestamp &&
            (p.spec.priority ?? 0) < 2000000000,
        );
      if (victim) {
        this.evict(
          victim,
          `The node was low on resource: ephemeral-storage. Threshold quantity: 10%, available: ${availablePct}%. `,
        );
      }
    }
  }
}

function formatBackoff(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : '0s'}` : `${s}s`;
}

function conditionEvent(c: Condition): string | undefined {
  if (c.type === 'Ready') return c.status === 'True' ? 'NodeReady' : 'NodeNotReady';
  if (c.type === 'DiskPressure') return c.status === 'True' ? 'NodeHasDiskPressure' : 'NodeHasNoDiskPressure';
  if (c.type === 'MemoryPressure')
    return c.status === 'True' ? 'NodeHasInsufficientMemory' : 'NodeHasSufficientMemory';
  if (c.type === 'PIDPressure')
    return c.status === 'True' ? 'NodeHasInsufficientPID' : 'NodeHasSufficientPID';
  return undefined;
}

const POD_CONDITION_ORDER = [
  'PodReadyToStartContainers',
  'Initialized',
  'Ready',
  'ContainersReady',
  'PodScheduled',
];
const NODE_CONDITION_ORDER = ['NetworkUnavailable', 'MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'];

function orderConditions(conditions: Condition[]): Condition[] {
  return [...conditions].sort(
    (a, b) => POD_CONDITION_ORDER.indexOf(a.type) - POD_CONDITION_ORDER.indexOf(b.type),
  );
}

function orderNodeConditions(conditions: Condition[]): Condition[] {
  return [...conditions].sort(
    (a, b) => NODE_CONDITION_ORDER.indexOf(a.type) - NODE_CONDITION_ORDER.indexOf(b.type),
  );
}
