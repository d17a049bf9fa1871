/**
 * What the probes measure, as plain typed data. Every result carries two timestamps: `at`, the local
 * clock when it was measured, and `serverAt`, the API server's clock at that moment (local time plus
 * the offset measured from the server's `Date` header), so that ages can be judged on the server's
 * clock as DESIGN.md "Time" asks.
 */

/** Why a probe or one of its requests did not succeed: retrying fixes only a `failure`. */
export type ProbeErrorKind = 'failure' | 'not-permitted' | 'unavailable';

/** The state of one probe, which the monitor reports about itself. */
export interface ProbeHealth {
  readonly name: string;
  /**
   * `pending` before the first run; `partial` when some nodes answered and others did not;
   * `not-permitted` on 401/403 (RBAC), which retrying will not fix; `unavailable` when the cluster does
   * not serve what the probe reads (no metrics-server).
   */
  state: 'pending' | 'ok' | 'partial' | 'failing' | 'not-permitted' | 'unavailable';
  lastRunAt: number | undefined;
  lastSuccessAt: number | undefined;
  lastErrorAt: number | undefined;
  lastError: string | undefined;
  /** Runs in a row that ended in `failing` (not-permitted and unavailable do not count). */
  consecutiveFailures: number;
  /** How long the last run took (ms). */
  durationMs: number | undefined;
  runs: number;
  /** Why a successful run recorded nothing (for instance an http server has no serving certificate). */
  note: string | undefined;
}

/** The local and server timestamps of a measurement, in epoch milliseconds. */
export interface Stamped {
  /** Local clock. */
  at: number;
  /** The API server's clock at the same moment. */
  serverAt: number;
}

/** What `/version` reports, with the server clock offset measured on its answer. */
export interface VersionResult extends Stamped {
  gitVersion: string;
  major: number;
  minor: number;
  /** What follows `vMAJOR.MINOR.PATCH` (`-eks-5e0fdde`, `-gke.1234000`), if anything. */
  suffix: string | undefined;
  /** The vendor the suffix names. */
  vendor: 'eks' | 'gke' | undefined;
  /** Server clock minus local clock when it was read (ms). */
  serverClockOffsetMs: number;
}

/** One check of `/readyz?verbose` or `/livez?verbose` and whether it passed. */
export interface HealthCheckResult {
  name: string;
  isOk: boolean;
  /** The text after the name (`ok`, `excluded: ok`, `failed: reason withheld`). */
  detail: string;
}

/** The answer of `/readyz?verbose` or `/livez?verbose`, overall and per check. */
export interface HealthEndpointResult extends Stamped {
  endpoint: 'readyz' | 'livez';
  isOk: boolean;
  status: number;
  checks: HealthCheckResult[];
}

/** The usage of a volume backed by a PersistentVolumeClaim, as the kubelet Summary API reports it. */
export interface VolumeUsage {
  namespace: string;
  pod: string;
  /** The volume's name in the pod. */
  volume: string;
  /** The PersistentVolumeClaim behind the volume. */
  claim: string;
  node: string;
  usedBytes: number | undefined;
  capacityBytes: number | undefined;
  availableBytes: number | undefined;
}

/** The used, capacity and available bytes of a filesystem. */
export interface FsUsage {
  usedBytes: number | undefined;
  capacityBytes: number | undefined;
  availableBytes: number | undefined;
}

/** What one node's kubelet Summary API (`/api/v1/nodes/NAME/proxy/stats/summary`) reports. */
export interface NodeSummary extends Stamped {
  node: string;
  /** The node (root) filesystem. */
  fs: FsUsage;
  /** The container runtime's image filesystem (often the same disk as `fs`). */
  imageFs: FsUsage;
  cpuNanoCores: number | undefined;
  memoryWorkingSetBytes: number | undefined;
  /** PVC-backed volumes of the node's running pods. */
  volumes: VolumeUsage[];
}

/** The reason one node could not be probed. */
export interface NodeProbeError extends Stamped {
  node: string;
  kind: ProbeErrorKind;
  /** The HTTP status, when there was an answer. */
  status: number | undefined;
  message: string;
}

/** The CPU (millicores) and memory (bytes) that `metrics.k8s.io` reports for a node or pod. */
export interface Usage {
  cpuMilli: number;
  memoryBytes: number;
}

/** The node and pod usage from `metrics.k8s.io`, or the reason it is not available. */
export interface MetricsResult extends Stamped {
  isAvailable: boolean;
  /** Why it is unavailable (not served, or 503 because metrics-server is down). */
  reason: string | undefined;
  nodes: Map<string, Usage>;
  /** Keyed `namespace/name`, summed over containers. */
  pods: Map<string, Usage>;
  /** Items skipped because they were malformed. */
  malformedItems: number;
}

/** A certificate whose expiry matters to the cluster, and where it was read. */
export interface CertificateInfo extends Stamped {
  /** What the certificate is for. */
  kind: 'api-serving' | 'kubeconfig-client' | 'kubelet-client' | 'kubelet-serving';
  /** Where it was read: the TLS handshake, the kubeconfig, or a kubelet's metrics (TTL only). */
  source: 'tls-handshake' | 'kubeconfig' | 'kubelet-metrics';
  /** For kubelet certificates, the node. */
  node: string | undefined;
  subject: string | undefined;
  issuer: string | undefined;
  /** Subject alternative names as `DNS:name` / `IP Address:ip`. */
  sans: string[];
  notBefore: number | undefined;
  /** Expiry, epoch ms (kubelet certificates: the server time of the reading plus the TTL). */
  notAfter: number;
  /** For the serving certificate: whether it verified against the kubeconfig's CA. */
  isTrusted: boolean | undefined;
  /** Why it did not verify (`CERT_HAS_EXPIRED`, ...). */
  verifyError: string | undefined;
}

/** One deprecated API the API server saw requested (`apiserver_requested_deprecated_apis`). */
export interface DeprecatedApiUse {
  /** The API group, empty for the core group. */
  group: string;
  version: string;
  resource: string;
  subresource: string;
  /** The release that removes it (`1.25`), if one is planned. */
  removedRelease: string | undefined;
}

/** What the API server's own `/metrics` says (only the families the monitor reads). */
export interface ApiserverMetricsResult extends Stamped {
  /** Deprecated APIs requested since the API server started (per API server instance behind the endpoint). */
  deprecatedApis: DeprecatedApiUse[];
  /** Series of the family that could not be parsed. */
  malformedLines: number;
}

/** The health record a new probe starts with. */
function newHealth(name: string): ProbeHealth {
  return {
    name,
    state: 'pending',
    lastRunAt: undefined,
    lastSuccessAt: undefined,
    lastErrorAt: undefined,
    lastError: undefined,
    consecutiveFailures: 0,
    durationMs: undefined,
    runs: 0,
    note: undefined,
  };
}

/**
 * Everything the probes measured, kept in the ClusterView next to the watched objects, with the
 * health of every probe. The Prober writes it; rules and the dashboard read it.
 */
export class ProbeResults {
  version: VersionResult | undefined;
  readyz: HealthEndpointResult | undefined;
  livez: HealthEndpointResult | undefined;
  metrics: MetricsResult | undefined;
  /** The API server's `/metrics` (deprecated APIs requested); undefined until read or when not permitted. */
  apiserverMetrics: ApiserverMetricsResult | undefined;
  /** The last successful summary of every node whose last attempt succeeded. */
  readonly summaries = new Map<string, NodeSummary>();
  /** Why a node's summary could not be read (node unreachable, 503, not permitted, ...). */
  readonly summaryErrors = new Map<string, NodeProbeError>();
  /** Why a kubelet's certificate metrics could not be read. */
  readonly kubeletCertificateErrors = new Map<string, NodeProbeError>();
  /**
   * Keyed `api-serving`, `kubeconfig-client`, `kubelet-client/NODE` and `kubelet-serving/NODE`.
   */
  readonly certificates = new Map<string, CertificateInfo>();
  readonly health = new Map<string, ProbeHealth>();

  /** The health record of a probe (created on first use). */
  healthOf(name: string): ProbeHealth {
    let h = this.health.get(name);
    if (!h) {
      h = newHealth(name);
      this.health.set(name, h);
    }
    return h;
  }

  /** The usage of a PersistentVolumeClaim, from the summary of the node its pod runs on. */
  volume(namespace: string, claim: string): VolumeUsage | undefined {
    for (const summary of this.summaries.values()) {
      const found = summary.volumes.find((v) => v.namespace === namespace && v.claim === claim);
      if (found) return found;
    }
    return undefined;
  }

  /** Every PVC-backed volume of every summarised node, keyed `namespace/claim`. */
  volumes(): Map<string, VolumeUsage> {
    const out = new Map<string, VolumeUsage>();
    for (const summary of this.summaries.values())
      for (const v of summary.volumes) out.set(`${v.namespace}/${v.claim}`, v);
    return out;
  }
}
