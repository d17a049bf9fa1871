import type { Lease, Node, Pod, PodTemplateSpec } from '../model.js';
import { R } from '../api/resources.js';
import type { HealthCheck } from '../api/server.js';
import { hashString } from '../random.js';
import { isoMicro, isoSeconds, parseTime } from '../time.js';
import { podFromTemplate } from './objects.js';
import type { Component, World } from './world.js';

const LEASE_DURATION_S = 15;
const RENEW_MS = 2000;

/** A control-plane component with a leader-election Lease. */
type LeaderComponent = 'kube-scheduler' | 'kube-controller-manager';

const STATIC_PODS: { name: Component; image: string; cpu: string; port: number }[] = [
  { name: 'etcd', image: 'registry.k8s.io/etcd:3.5.16-0', cpu: '100m', port: 2381 },
  { name: 'kube-apiserver', image: 'registry.k8s.io/kube-apiserver', cpu: '250m', port: 6443 },
  {
    name: 'kube-controller-manager',
    image: 'registry.k8s.io/kube-controller-manager',
    cpu: '200m',
    port: 10257,
  },
  { name: 'kube-scheduler', image: 'registry.k8s.io/kube-scheduler', cpu: '100m', port: 10259 },
];

const LIVEZ = [
  'ping',
  'log',
  'etcd',
  'poststarthook/start-apiserver-admission-initializer',
  'poststarthook/generic-apiserver-start-informers',
  'poststarthook/priority-and-fairness-config-consumer',
  'poststarthook/priority-and-fairness-filter',
  'poststarthook/storage-object-count-tracker-hook',
  'poststarthook/start-apiextensions-informers',
  'poststarthook/start-apiextensions-controllers',
  'poststarthook/crd-informer-synced',
  'poststarthook/start-system-namespaces-controller',
  'poststarthook/start-cluster-authentication-info-controller',
  'poststarthook/start-legacy-token-tracking-controller',
  'poststarthook/start-service-ip-repair-controllers',
  'poststarthook/rbac/bootstrap-roles',
  'poststarthook/scheduling/bootstrap-system-priority-classes',
  'poststarthook/priority-and-fairness-config-producer',
  'poststarthook/bootstrap-controller',
  'poststarthook/aggregator-reload-proxy-client-cert',
  'poststarthook/start-kube-aggregator-informers',
  'poststarthook/apiservice-status-local-available-controller',
  'poststarthook/apiservice-status-remote-available-controller',
  'poststarthook/apiservice-registration-controller',
  'poststarthook/apiservice-discovery-controller',
  'autoregister-completion',
  'poststarthook/apiservice-openapi-controller',
  'poststarthook/apiservice-openapiv3-controller',
];

/**
 * The control plane: kube-apiserver, etcd, kube-scheduler and kube-controller-manager as static pods
 * on the control-plane node (or hidden, on a managed platform), leader-election Leases renewed every
 * 2 s by whichever process is up, and the API server's health checks. A component is up exactly when
 * its container runs, so a crash-looping scheduler really stops scheduling.
 */
export class ControlPlane {
  /** Components a managed platform's provider has taken down (they have no pods to crash). */
  readonly managedDown = new Set<Component>();
  /**
   * Components whose process exits during start-up (scheduler-down, controller-manager-down): in the
   * seconds their container runs before each crash they neither take their Lease nor do any work.
   */
  readonly failingStart = new Set<Component>();
  /** `/readyz` checks made to fail (apiserver-unready). */
  readonly failingReadyz = new Set<string>();
  private readonly identities = new Map<LeaderComponent, { id: string; instance: number }>();
  private readonly buildVersion: string;

  constructor(
    private readonly world: World,
    readonly controlPlaneNode: string | undefined,
  ) {
    this.buildVersion = world.gitVersion;
    world.isComponentUp = (c) => this.isUp(c);
    world.onStart(() => {
      world.clock.every(RENEW_MS, () => this.electLeaders(), 500);
      this.electLeaders();
    });
  }

  /** Whether the control plane runs as visible static pods (self-managed) or is hidden (managed). */
  get isSelfManaged(): boolean {
    return this.controlPlaneNode !== undefined;
  }

  /** Creates the static (mirror) pods on the control-plane node. */
  createStaticPods(node: Node): void {
    for (const c of STATIC_PODS) {
      const image = c.name === 'etcd' ? c.image : `${c.image}:${this.buildVersion}`;
      const template: PodTemplateSpec = {
        metadata: { labels: { component: c.name, tier: 'control-plane' } },
        spec: {
          containers: [
            {
              name: c.name,
              image,
              imagePullPolicy: 'IfNotPresent',
              command: [c.name],
              resources: { requests: { cpu: c.cpu } },
              livenessProbe: {
                httpGet: {
                  host: '127.0.0.1',
                  path: c.name === 'etcd' ? '/livez' : '/livez',
                  port: c.port,
                  scheme: 'HTTPS',
                },
              },
              ...(c.name === 'kube-apiserver'
                ? {
                    readinessProbe: {
                      httpGet: { host: '127.0.0.1', path: '/readyz', port: c.port, scheme: 'HTTPS' },
                    },
                  }
                : {}),
            },
          ],
          hostNetwork: true,
          priorityClassName: 'system-node-critical',
          priority: 2000001000,
          nodeName: node.metadata.name,
          tolerations: [{ operator: 'Exists', effect: 'NoExecute' }],
        },
      };
      const hash = hashString(`${c.name}${image}`).toString(16);
      const pod: Pod = podFromTemplate(template, {
        name: `${c.name}-${node.metadata.name}`,
        namespace: 'kube-system',
        uid: this.world.uid(),
        owner: {
          apiVersion: 'v1',
          kind: 'Node',
          name: node.metadata.name,
          uid: node.metadata.uid,
          controller: true,
        },
        creationTimestamp: node.metadata.creationTimestamp,
      });
      pod.metadata.annotations = {
        'kubernetes.io/config.hash': hash,
        'kubernetes.io/config.mirror': hash,
        'kubernetes.io/config.seen': isoSeconds(Date.parse(node.metadata.creationTimestamp)),
        'kubernetes.io/config.source': 'file',
        ...(c.name === 'kube-apiserver'
          ? { 'kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint': '10.0.0.10:6443' }
          : {}),
      };
      this.world.store.create(R.pods, pod);
    }
  }

  /** The mirror pod of a component, on a self-managed control plane. */
  staticPod(component: Component): Pod | undefined {
    if (!this.controlPlaneNode) return undefined;
    return this.world.store.get<Pod>(R.pods, 'kube-system', `${component}-${this.controlPlaneNode}`);
  }

  /** Whether a component is up now. */
  isUp(component: Component): boolean {
    if (this.world.isBootstrapping) return true;
    if (this.failingStart.has(component)) return false;
    if (component === 'cluster-autoscaler' || component === 'metrics-server')
      return this.isAddonUp(component);
    if (!this.controlPlaneNode) return !this.managedDown.has(component);
    const pod = this.staticPod(component);
    return pod?.status.containerStatuses?.[0]?.state.running !== undefined;
  }

  private isAddonUp(name: string): boolean {
    // Without a visible Deployment (GKE and AKS run the autoscaler themselves) the provider's is up.
    const deployment = this.world.store.get(R.deployments, 'kube-system', name);
    if (!deployment) return !this.managedDown.has(name as Component);
    // Through the owner index (Deployment -> ReplicaSets -> pods): this runs on every settle, and
    // kube-system holds a DaemonSet pod per node on a big cluster.
    for (const rs of this.world.dependentsOf(deployment.metadata.uid, R.replicasets)) {
      for (const pod of this.world.dependentsOf<Pod>(rs.metadata.uid, R.pods)) {
        const c = pod.status.containerStatuses?.[0];
        // metrics.k8s.io is served through a Service: only a ready metrics-server pod answers.
        const isServing = name === 'metrics-server' ? c?.ready === true : c?.state.running !== undefined;
        if (isServing && !pod.metadata.deletionTimestamp) return true;
      }
    }
    return false;
  }

  /** The instance number of a component's container (changes when it restarts). */
  private instanceOf(component: LeaderComponent): number {
    const pod = this.staticPod(component);
    return pod ? (pod.status.containerStatuses?.[0]?.restartCount ?? 0) : 0;
  }

  /** Each up leader component renews its Lease, or acquires it once the previous holder's has expired. */
  private electLeaders(): void {
    for (const component of ['kube-scheduler', 'kube-controller-manager'] as const) {
      if (!this.isUp(component)) continue;
      const instance = this.instanceOf(component);
      let identity = this.identities.get(component);
      if (!identity || identity.instance !== instance) {
        const host =
          this.controlPlaneNode ??
          `ip-10-0-${hashString(component) % 200}-${hashString(this.world.options.seed) % 200}`;
        identity = { id: `${host}_${this.world.rng.uuid()}`, instance };
        this.identities.set(component, identity);
      }
      this.renew(component, identity.id);
    }
  }

  private renew(component: LeaderComponent, holder: string): void {
    const store = this.world.store;
    const now = this.world.now();
    const lease = store.get<Lease>(R.leases, 'kube-system', component);
    if (!lease) {
      store.create<Lease>(R.leases, {
        metadata: {
          name: component,
          namespace: 'kube-system',
          uid: this.world.uid(),
          resourceVersion: '',
          creationTimestamp: isoSeconds(now),
        },
        spec: {
          holderIdentity: holder,
          leaseDurationSeconds: LEASE_DURATION_S,
          acquireTime: isoMicro(now),
          renewTime: isoMicro(now),
          leaseTransitions: 0,
        },
      });
      return;
    }
    if (lease.spec.holderIdentity === holder) {
      store.update<Lease>(R.leases, { ...lease, spec: { ...lease.spec, renewTime: isoMicro(now) } });
      return;
    }
    const renewed = parseTime(lease.spec.renewTime);
    if (now < renewed + (lease.spec.leaseDurationSeconds ?? LEASE_DURATION_S) * 1000) return; // still held
    store.update<Lease>(R.leases, {
      ...lease,
      spec: {
        ...lease.spec,
        holderIdentity: holder,
        acquireTime: isoMicro(now),
        renewTime: isoMicro(now),
        leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1,
      },
    });
    this.world.record(
      { kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', object: lease },
      'Normal',
      'LeaderElection',
      `${holder} became leader`,
      { component: component === 'kube-scheduler' ? 'default-scheduler' : component },
    );
  }

  /** The checks of `/livez`, `/readyz` or `/healthz`. */
  healthChecks(endpoint: 'livez' | 'readyz' | 'healthz'): HealthCheck[] {
    const names = [...LIVEZ];
    if (endpoint === 'readyz') names.splice(3, 0, 'etcd-readiness', 'informer-sync');
    if (endpoint === 'readyz') names.push('shutdown');
    return names.map((name) => {
      const isFailing = endpoint === 'readyz' && this.failingReadyz.has(name);
      return isFailing
        ? { name, isHealthy: false, message: `${name} check failed: etcd request timed out` }
        : { name, isHealthy: true };
    });
  }
}
