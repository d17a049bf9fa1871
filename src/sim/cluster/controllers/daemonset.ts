import type { Affinity, DaemonSet, Node, NodeSelectorTerm, Pod, Taint, Toleration } from '../../model.js';
import { R } from '../../api/resources.js';
import { matchesLabelSelector } from '../../api/selectors.js';
import { objectKey } from '../../api/store.js';
import { parseTime } from '../../time.js';
import {
  controllerOf,
  controllerRef,
  DAEMONSET_TOLERATIONS,
  intOrPercent,
  isPodAvailable,
  isPodReady,
  pinnedNode,
  podFromTemplate,
  templateHash,
  tolerates,
} from '../objects.js';
import type { World } from '../world.js';

const SOURCE = { component: 'daemonset-controller' };
const REVISION_LABEL = 'controller-revision-hash';
const GENERATION_LABEL = 'pod-template-generation';
/** The API server keeps the template generation here; pods whose label matches it count as updated. */
const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';
const FAILED_POD_BACKOFF_MS = 1000;
const FAILED_POD_BACKOFF_MAX_MS = 15 * 60_000;

/**
 * The DaemonSet controller: one pod per eligible node (node name, nodeSelector and required node
 * affinity, taints against the pod's tolerations plus the ones the controller adds), each pinned to its
 * node by required node affinity; failed daemon pods replaced with back-off; RollingUpdate within
 * maxUnavailable/maxSurge (one node at a time by default) or OnDelete; and the status counts
 * `kubectl get ds` prints.
 */
export class DaemonSetController {
  readonly name = 'daemonset';
  readonly component = 'kube-controller-manager' as const;
  private readonly failedBackoff = new Map<string, { delayMs: number; at: number }>();

  constructor(private readonly world: World) {
    world.addController(this);
    world.store.subscribe(R.daemonsets, (c) => {
      if (c.type !== 'DELETED')
        world.enqueue(this.name, objectKey(c.object.metadata.namespace, c.object.metadata.name));
    });
    world.store.subscribe(R.pods, (c) => {
      const owner = controllerOf(c.object);
      if (owner?.kind === 'DaemonSet')
        world.enqueue(this.name, objectKey(c.object.metadata.namespace, owner.name));
    });
    // Node conditions alone do not change placement (the lifecycle controller's taints do), so only
    // new, removed, relabelled, retainted or cordoned nodes wake every DaemonSet.
    world.store.subscribe(R.nodes, (c) => {
      const node = c.object as Node;
      const previous = c.previous as Node | undefined;
      if (c.type === 'MODIFIED' && previous && placementOf(previous) === placementOf(node)) return;
      for (const key of this.resyncKeys()) world.enqueue(this.name, key);
    });
  }

  *resyncKeys(): Iterable<string> {
    for (const ds of this.world.store.iterate<DaemonSet>(R.daemonsets))
      yield objectKey(ds.metadata.namespace, ds.metadata.name);
  }

  sync(key: string): void {
    const slash = key.indexOf('/');
    const ds = this.world.store.get<DaemonSet>(R.daemonsets, key.slice(0, slash), key.slice(slash + 1));
    if (!ds || ds.metadata.deletionTimestamp) return;
    const selector = ds.spec.selector;
    if (
      Object.keys(selector.matchLabels ?? {}).length === 0 &&
      (selector.matchExpressions ?? []).length === 0
    ) {
      this.world.record(
        this.target(ds),
        'Warning',
        'SelectingAll',
        'This daemon set is selecting all pods. A non-empty selector is required.',
        SOURCE,
      );
      return;
    }
    const hash = templateHash(ds.spec.template);
    const nodes = this.world.store
      .list<Node>(R.nodes)
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    this.manage(ds, nodes, hash);
    if ((ds.spec.updateStrategy.type || 'RollingUpdate') === 'RollingUpdate')
      this.rollingUpdate(ds, nodes, hash);
    this.updateStatus(ds, nodes, hash);
  }

  private target(ds: DaemonSet): Parameters<World['record']>[0] {
    return { kind: 'DaemonSet', apiVersion: 'apps/v1', object: ds };
  }

  /** The pods of a DaemonSet grouped by the node they are for (bound, or pinned by affinity). */
  private nodeToPods(ds: DaemonSet): Map<string, Pod[]> {
    const out = new Map<string, Pod[]>();
    for (const pod of this.world.dependentsOf<Pod>(ds.metadata.uid, R.pods)) {
      if (!matchesLabelSelector(ds.spec.selector, pod.metadata.labels)) continue;
      const node = pod.spec.nodeName ?? pinnedNode(pod);
      if (node === undefined) continue;
      let list = out.get(node);
      if (!list) out.set(node, (list = []));
      list.push(pod);
    }
    for (const list of out.values()) list.sort(byScheduledThenAge);
    return out;
  }

  /** Upstream `manage`: which nodes need a daemon pod, and which daemon pods must go. */
  private manage(ds: DaemonSet, nodes: readonly Node[], hash: string): void {
    const byNode = this.nodeToPods(ds);
    const allowsSurge = surgeOf(ds, nodes) > 0;
    const needing: string[] = [];
    const deleting: Pod[] = [];
    const now = this.world.now();
    for (const node of nodes) {
      const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, ds);
      const pods = byNode.get(node.metadata.name) ?? [];
      if (shouldRun && pods.length === 0) {
        needing.push(node.metadata.name);
        continue;
      }
      if (!shouldContinueRunning) {
        deleting.push(...pods.filter((p) => !p.metadata.deletionTimestamp));
        continue;
      }
      const running: Pod[] = [];
      for (const pod of pods) {
        if (pod.metadata.deletionTimestamp) continue;
        if (pod.status.phase === 'Failed') {
          // The kubelet may keep rejecting the pod; back off instead of hot-looping on it.
          const backoffKey = `${ds.metadata.uid}/${ds.status.observedGeneration ?? 0}/${node.metadata.name}`;
          const backoff = this.failedBackoff.get(backoffKey);
          if (backoff && now < backoff.at + backoff.delayMs) {
            this.world.enqueueAfter(
              this.name,
              objectKey(ds.metadata.namespace, ds.metadata.name),
              backoff.at + backoff.delayMs - now,
            );
            continue;
          }
          this.failedBackoff.set(backoffKey, {
            delayMs: backoff
              ? Math.min(backoff.delayMs * 2, FAILED_POD_BACKOFF_MAX_MS)
              : FAILED_POD_BACKOFF_MS,
            at: now,
          });
          this.world.record(
            this.target(ds),
            'Warning',
            'FailedDaemonPod',
            `Found failed daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${node.metadata.name}, will try to kill it`,
            SOURCE,
          );
          deleting.push(pod);
        } else if (pod.status.phase === 'Succeeded') {
          this.world.record(
            this.target(ds),
            'Normal',
            'SucceededDaemonPod',
            `Found succeeded daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${node.metadata.name}, will try to delete it`,
            SOURCE,
          );
          deleting.push(pod);
        } else {
          running.push(pod);
        }
      }
      if (!allowsSurge) {
        // More than one pod on a node: keep the oldest.
        deleting.push(...running.slice(1));
        continue;
      }
      if (running.length === 0) {
        if (shouldRun) needing.push(node.metadata.name);
        continue;
      }
      // With surge, an old and a new pod may overlap until the new one is available.
      let oldestNew: Pod | undefined;
      let oldestOld: Pod | undefined;
      for (const pod of running) {
        if (isPodUpdated(pod, hash, ds)) {
          if (!oldestNew) {
            oldestNew = pod;
            continue;
          }
        } else if (!oldestOld) {
          oldestOld = pod;
          continue;
        }
        deleting.push(pod);
      }
      if (oldestNew && oldestOld) {
        if (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec.minReadySeconds ?? 0, now))
          deleting.push(oldestOld);
      }
    }
    // Pods pinned to nodes that no longer exist and never bound: the pod GC cannot see them.
    const existing = new Set(nodes.map((n) => n.metadata.name));
    for (const [node, pods] of byNode) {
      if (existing.has(node)) continue;
      deleting.push(...pods.filter((p) => !p.spec.nodeName));
    }
    for (const pod of deleting) this.deletePod(ds, pod);
    for (const node of needing) this.createPod(ds, node, hash);
  }

  /** Upstream `rollingUpdate`: replace old pods within maxUnavailable, or surge within maxSurge. */
  private rollingUpdate(ds: DaemonSet, nodes: readonly Node[], hash: string): void {
    const byNode = this.nodeToPods(ds);
    const now = this.world.now();
    const minReady = ds.spec.minReadySeconds ?? 0;
    const desired = nodes.filter((n) => nodeShouldRunDaemonPod(n, ds).shouldRun).length;
    const rolling = ds.spec.updateStrategy.rollingUpdate;
    let maxUnavailable = intOrPercent(rolling?.maxUnavailable, desired, true, 1);
    const maxSurge = intOrPercent(rolling?.maxSurge, desired, true, 0);
    if (desired > 0 && maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
    const nodeByName = new Map(nodes.map((n) => [n.metadata.name, n]));
    const names = [...byNode.keys()].sort();
    if (maxSurge === 0) {
      let unavailable = 0;
      const replacements: Pod[] = [];
      const candidates: Pod[] = [];
      for (const name of names) {
        const found = findUpdatedPodsOnNode(byNode.get(name) ?? [], hash, ds);
        if (!found) {
          unavailable++;
          continue;
        }
        const { newPod, oldPod } = found;
        if ((!oldPod && !newPod) || (oldPod && newPod)) {
          unavailable++;
        } else if (newPod) {
          if (!isPodAvailable(newPod, minReady, now)) unavailable++;
        } else if (oldPod) {
          if (!isPodAvailable(oldPod, minReady, now)) replacements.push(oldPod);
          else if (unavailable < maxUnavailable) candidates.push(oldPod);
        }
      }
      const room = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
      for (const pod of [...replacements, ...candidates.slice(0, room)]) this.deletePod(ds, pod);
      return;
    }
    let surging = 0;
    const toDelete: Pod[] = [];
    const allowedNew: string[] = [];
    const candidateNew: string[] = [];
    for (const name of names) {
      const found = findUpdatedPodsOnNode(byNode.get(name) ?? [], hash, ds);
      if (!found) {
        surging++;
        continue;
      }
      const { newPod, oldPod } = found;
      if (!oldPod) continue;
      const node = nodeByName.get(name);
      const shouldRun = node !== undefined && nodeShouldRunDaemonPod(node, ds).shouldRun;
      if (!newPod) {
        if (!isPodAvailable(oldPod, minReady, now)) {
          if (!shouldRun) toDelete.push(oldPod);
          else allowedNew.push(name);
        } else if (shouldRun && surging < maxSurge) {
          candidateNew.push(name);
        }
        continue;
      }
      if (!isPodAvailable(newPod, minReady, now)) {
        surging++;
        continue;
      }
      toDelete.push(oldPod);
    }
    const room = Math.min(Math.max(0, maxSurge - surging), candidateNew.length);
    for (const pod of toDelete) this.deletePod(ds, pod);
    for (const node of [...allowedNew, ...candidateNew.slice(0, room)]) this.createPod(ds, node, hash);
  }

  private createPod(ds: DaemonSet, nodeName: string, hash: string): void {
    const namespace = ds.metadata.namespace!;
    const name = this.world.generateName(R.pods, namespace, `${ds.metadata.name}-`);
    const template = ds.spec.template;
    const pod = podFromTemplate(template, {
      name,
      namespace,
      uid: this.world.uid(),
      owner: controllerRef(ds, 'DaemonSet', 'apps/v1'),
      labels: { [REVISION_LABEL]: hash, [GENERATION_LABEL]: templateGeneration(ds) },
      creationTimestamp: this.world.nowIso(),
      extraTolerations: daemonTolerations(template.spec.hostNetwork === true),
    });
    pod.metadata.generateName = `${ds.metadata.name}-`;
    pod.spec.affinity = pinToNode(template.spec.affinity, nodeName);
    const created = this.world.store.create(R.pods, pod);
    this.world.record(
      this.target(ds),
      'Normal',
      'SuccessfulCreate',
      `Created pod: ${created.metadata.name}`,
      SOURCE,
    );
  }

  private deletePod(ds: DaemonSet, pod: Pod): void {
    this.world.deletePod(pod);
    this.world.record(
      this.target(ds),
      'Normal',
      'SuccessfulDelete',
      `Deleted pod: ${pod.metadata.name}`,
      SOURCE,
    );
  }

  /** Upstream `updateDaemonSetStatus`: counts per node, judged by the oldest daemon pod there. */
  private updateStatus(ds: DaemonSet, nodes: readonly Node[], hash: string): void {
    const byNode = this.nodeToPods(ds);
    const now = this.world.now();
    const minReady = ds.spec.minReadySeconds ?? 0;
    let desired = 0;
    let current = 0;
    let misscheduled = 0;
    let ready = 0;
    let updated = 0;
    let available = 0;
    for (const node of nodes) {
      const { shouldRun } = nodeShouldRunDaemonPod(node, ds);
      const pod = byNode.get(node.metadata.name)?.[0];
      if (!shouldRun) {
        if (pod) misscheduled++;
        continue;
      }
      desired++;
      if (!pod) continue;
      current++;
      if (isPodReady(pod)) {
        ready++;
        if (isPodAvailable(pod, minReady, now)) available++;
      }
      if (isPodUpdated(pod, hash, ds)) updated++;
    }
    const status: DaemonSet['status'] = {
      currentNumberScheduled: current,
      numberMisscheduled: misscheduled,
      desiredNumberScheduled: desired,
      numberReady: ready,
      observedGeneration: ds.metadata.generation ?? 1,
    };
    if (updated > 0) status.updatedNumberScheduled = updated;
    if (available > 0) status.numberAvailable = available;
    if (desired - available > 0) status.numberUnavailable = desired - available;
    this.world.store.modify<DaemonSet>(R.daemonsets, ds.metadata.namespace, ds.metadata.name, (x) => {
      const next = { ...status, ...(x.status.conditions ? { conditions: x.status.conditions } : {}) };
      return JSON.stringify(x.status) === JSON.stringify(next) ? x : { ...x, status: next };
    });
    // Ready pods become available only after minReadySeconds: look again then.
    if (minReady > 0 && ready !== available) {
      this.world.enqueueAfter(this.name, objectKey(ds.metadata.namespace, ds.metadata.name), minReady * 1000);
    }
  }
}

/**
 * Upstream `NodeShouldRunDaemonPod`: whether a node should get a daemon pod, and whether one already
 * there may stay (it may when only NoSchedule taints are untolerated).
 */
export function nodeShouldRunDaemonPod(
  node: Node,
  ds: DaemonSet,
): { shouldRun: boolean; shouldContinueRunning: boolean } {
  const spec = ds.spec.template.spec;
  if (spec.nodeName && spec.nodeName !== node.metadata.name)
    return { shouldRun: false, shouldContinueRunning: false };
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) {
    if (node.metadata.labels?.[k] !== v) return { shouldRun: false, shouldContinueRunning: false };
  }
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required && !(required.nodeSelectorTerms ?? []).some((t) => termMatches(t, node))) {
    return { shouldRun: false, shouldContinueRunning: false };
  }
  const tolerations = [...(spec.tolerations ?? []), ...daemonTolerations(spec.hostNetwork === true)];
  const untolerated = (effects: readonly Taint['effect'][]): boolean =>
    (node.spec.taints ?? []).some((t) => effects.includes(t.effect) && !tolerates(tolerations, t));
  if (untolerated(['NoSchedule', 'NoExecute'])) {
    return { shouldRun: false, shouldContinueRunning: !untolerated(['NoExecute']) };
  }
  return { shouldRun: true, shouldContinueRunning: true };
}

/** The tolerations the controller adds to every daemon pod (upstream `AddOrUpdateDaemonPodTolerations`). */
function daemonTolerations(isHostNetwork: boolean): Toleration[] {
  return isHostNetwork
    ? [
        ...DAEMONSET_TOLERATIONS,
        { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' },
      ]
    : DAEMONSET_TOLERATIONS;
}

function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  // An empty term selects nothing.
  if (expressions.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  for (const e of expressions) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(value!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      case 'Gt':
      case 'Lt': {
        const n = Number(value);
        const bound = Number(values[0]);
        if (!has || !Number.isInteger(n) || !Number.isInteger(bound)) return false;
        if (e.operator === 'Gt' ? !(n > bound) : !(n < bound)) return false;
        break;
      }
      default:
        return false;
    }
  }
  for (const f of fields) {
    if (f.key !== 'metadata.name') return false;
    const isIn = (f.values ?? []).includes(node.metadata.name);
    if (f.operator === 'In' ? !isIn : f.operator === 'NotIn' ? isIn : true) return false;
  }
  return true;
}

/** Upstream `ReplaceDaemonSetPodNodeNameNodeAffinity`: the required terms become "this node only". */
function pinToNode(affinity: Affinity | undefined, nodeName: string): Affinity {
  return {
    ...(affinity ?? {}),
    nodeAffinity: {
      ...(affinity?.nodeAffinity ?? {}),
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }],
      },
    },
  };
}

/** Upstream `util.AllowsSurge` needs the surge count: maxSurge of a rolling update, resolved against the nodes. */
function surgeOf(ds: DaemonSet, nodes: readonly Node[]): number {
  if ((ds.spec.updateStrategy.type || 'RollingUpdate') !== 'RollingUpdate') return 0;
  const desired = nodes.filter((n) => nodeShouldRunDaemonPod(n, ds).shouldRun).length;
  return intOrPercent(ds.spec.updateStrategy.rollingUpdate?.maxSurge, desired, true, 0);
}

function templateGeneration(ds: DaemonSet): string {
  return ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION] ?? String(ds.metadata.generation ?? 1);
}

/** Upstream `IsPodUpdated`: the revision hash matches, or the template generation the API server recorded. */
function isPodUpdated(pod: Pod, hash: string, ds: DaemonSet): boolean {
  const generation = ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
  return (
    pod.metadata.labels?.[REVISION_LABEL] === hash ||
    (generation !== undefined && pod.metadata.labels?.[GENERATION_LABEL] === generation)
  );
}

/** The single new and single old live pod on a node, or undefined when there are more of either. */
function findUpdatedPodsOnNode(
  pods: readonly Pod[],
  hash: string,
  ds: DaemonSet,
): { newPod: Pod | undefined; oldPod: Pod | undefined } | undefined {
  let newPod: Pod | undefined;
  let oldPod: Pod | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    if (isPodUpdated(pod, hash, ds)) {
      if (newPod) return undefined;
      newPod = pod;
    } else {
      if (oldPod) return undefined;
      oldPod = pod;
    }
  }
  return { newPod, oldPod };
}

/** Upstream `podByCreationTimestampAndPhase`: bound pods first, then oldest, then by name. */
function byScheduledThenAge(a: Pod, b: Pod): number {
  if (a.spec.nodeName && !b.spec.nodeName) return -1;
  if (!a.spec.nodeName && b.spec.nodeName) return 1;
  const ta = parseTime(a.metadata.creationTimestamp);
  const tb = parseTime(b.metadata.creationTimestamp);
  if (ta !== tb) return ta - tb;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

function placementOf(node: Node): string {
  return JSON.stringify([node.metadata.labels, node.spec.taints, node.spec.unschedulable]);
}
