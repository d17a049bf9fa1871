/** The state of one probe, which the monitor reports about itself. */
export interface ProbeHealth {
  readonly name: string;
  /** `pending` before the first run; `not-permitted` on 401/403 (RBAC), which retrying will not fix. */
  state: 'pending' | 'ok' | 'failing' | 'not-permitted' | 'unavailable';
  lastRunAt: number | undefined;
  lastSuccessAt: number | undefined;
  lastErrorAt: number | undefined;
  lastError: string | undefined;
  consecutiveFailures: number;
  durationMs: number | undefined;
}

/** `/version`. */
export interface VersionResult {
  gitVersion: string;
  major: number;
  minor: number;
  /** Server clock minus local clock when it was read (ms). */
  serverClockOffsetMs: number;
  at: number;
}

/** `/readyz?verbose` or `/livez?verbose`. */
export interface HealthEndpointResult {
  isOk: boolean;
  status: number;
  checks: { name: string; isOk: boolean }[];
  at: number;
}

/** A volume of a pod, from the kubelet Summary API. */
export interface VolumeUsage {
  namespace: string;
  pod: string;
  volume: string;
  /** The PersistentVolumeClaim behind the volume, if any. */
  claim: string | undefined;
  usedBytes: number;
  capacityBytes: number;
  availableBytes: number;
}

/** One node's kubelet Summary API (`/api/v1/nodes/NAME/proxy/stats/summary`). */
export interface NodeSummary {
  node: string;
  fsUsedBytes: number | undefined;
  fsCapacityBytes: number | undefined;
  fsAvailableBytes: number | undefined;
  imageFsUsedBytes: number | undefined;
  imageFsCapacityBytes: number | undefined;
  imageFsAvailableBytes: number | undefined;
  cpuNanoCores: number | undefined;
  memoryWorkingSetBytes: number | undefined;
  volumes: VolumeUsage[];
  at: number;
}

/** CPU (millicores) and memory (bytes) from `metrics.k8s.io`. */
export interface Usage {
  cpuMilli: number;
  memoryBytes: number;
}

/** `metrics.k8s.io` node and pod usage, or why it is not available. */
export interface MetricsResult {
  isAvailable: boolean;
  reason: string | undefined;
  nodes: Map<string, Usage>;
  /** Keyed `namespace/name`, summed over containers. */
  pods: Map<string, Usage>;
  at: number;
}

/** A certificate whose expiry matters to the cluster, and who owns it. */
export interface CertificateInfo {
  /** What the certificate is for. */
  kind: 'api-serving' | 'kubeconfig-client' | 'kubelet-client' | 'kubelet-serving';
  /** For kubelet certificates, the node. */
  node: string | undefined;
  subject: string | undefined;
  issuer: string | undefined;
  sans: string | undefined;
  notBefore: number | undefined;
  notAfter: number;
  at: number;
}

/**
 * Everything the probes measured, with timestamps (local clock), kept in the ClusterView next to the
 * watched objects, and the health of every probe.
 */
export class ProbeResults {
  version: VersionResult | undefined;
  readyz: HealthEndpointResult | undefined;
  livez: HealthEndpointResult | undefined;
  metrics: MetricsResult | undefined;
  readonly summaries = new Map<string, NodeSummary>();
  /** Why a node's summary could not be read (node unreachable, 503, ...). */
  readonly summaryErrors = new Map<string, string>();
  /** API serving and kubeconfig client certificates, and kubelet certificates per node. */
  readonly certificates = new Map<string, CertificateInfo>();
  readonly health = new Map<string, ProbeHealth>();

  /** The health record of a probe (created on first use). */
  healthOf(name: string): ProbeHealth {
    let h = this.health.get(name);
    if (!h) {
      h = {
        name,
        state: 'pending',
        lastRunAt: undefined,
        lastSuccessAt: undefined,
        lastErrorAt: undefined,
        lastError: undefined,
        consecutiveFailures: 0,
        durationMs: undefined,
      };
      this.health.set(name, h);
    }
    return h;
  }
}
