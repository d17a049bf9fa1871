import { ProbeError, statusError } from './probe-error.js';
import { asCount, asObject, getText, parseJson, type ProbeContext } from './request.js';
import type { CertificateInfo, FsUsage, NodeSummary, VolumeUsage } from './results.js';

/** The node proxy path of a kubelet endpoint. */
function proxyPath(node: string, path: string): string {
  return `/api/v1/nodes/${encodeURIComponent(node)}/proxy/${path}`;
}

function fsUsage(value: unknown): FsUsage {
  const fs = asObject(value);
  return {
    usedBytes: asCount(fs?.usedBytes),
    capacityBytes: asCount(fs?.capacityBytes),
    availableBytes: asCount(fs?.availableBytes),
  };
}

/**
 * Parses a kubelet Summary API document (stats/v1alpha1): the node's filesystems, CPU and memory, and
 * the PVC-backed volumes of its pods. A document without a `node` section is malformed; a pod entry
 * that is not an object is skipped.
 */
export function parseSummary(
  node: string,
  body: unknown,
  stamps: { at: number; serverAt: number },
): NodeSummary {
  const root = asObject(body);
  const stats = asObject(root?.node);
  if (!stats) throw new ProbeError(`node ${node} summary: malformed answer (no "node" section)`);
  if (root?.pods !== undefined && !Array.isArray(root.pods))
    throw new ProbeError(`node ${node} summary: malformed answer ("pods" is not a list)`);
  const volumes: VolumeUsage[] = [];
  for (const p of (root?.pods as unknown[] | undefined) ?? []) {
    const pod = asObject(p);
    const ref = asObject(pod?.podRef);
    if (typeof ref?.name !== 'string' || typeof ref.namespace !== 'string') continue;
    if (!Array.isArray(pod?.volume)) continue;
    for (const v of pod.volume as unknown[]) {
      const vol = asObject(v);
      const claim = asObject(vol?.pvcRef)?.name;
      if (!vol || typeof vol.name !== 'string' || typeof claim !== 'string') continue;
      volumes.push({
        namespace: ref.namespace,
        pod: ref.name,
        volume: vol.name,
        claim,
        node,
        ...fsUsage(vol),
      });
    }
  }
  return {
    node,
    fs: fsUsage(stats.fs),
    imageFs: fsUsage(asObject(stats.runtime)?.imageFs),
    cpuNanoCores: asCount(asObject(stats.cpu)?.usageNanoCores),
    memoryWorkingSetBytes: asCount(asObject(stats.memory)?.workingSetBytes),
    volumes,
    ...stamps,
  };
}

/** Reads one node's kubelet Summary API through the API server's node proxy (RBAC `nodes/proxy`). */
export async function probeNodeSummary(ctx: ProbeContext, node: string): Promise<NodeSummary> {
  const res = await getText(ctx, proxyPath(node, 'stats/summary'), {
    accept: 'application/json',
    maxBytes: 32 * 1024 * 1024,
  });
  if (res.status !== 200) throw statusError(`node ${node} summary`, res.status, res.text);
  return parseSummary(node, parseJson(`node ${node} summary`, res.text), res);
}

const TTL_METRICS = [
  ['kubelet_certificate_manager_client_ttl_seconds', 'kubelet-client'],
  ['kubelet_certificate_manager_server_ttl_seconds', 'kubelet-serving'],
] as const;

/**
 * Reads the certificate lifetimes from a kubelet's Prometheus text: `+Inf` (certificate unused) and
 * missing metrics (rotation off) give nothing; a sample that is not a number is malformed.
 */
export function parseKubeletCertificateTtls(
  node: string,
  text: string,
): { kind: 'kubelet-client' | 'kubelet-serving'; ttlSeconds: number }[] {
  const out: { kind: 'kubelet-client' | 'kubelet-serving'; ttlSeconds: number }[] = [];
  for (const [metric, kind] of TTL_METRICS) {
    const m = new RegExp(`^${metric}(?:\\{[^}]*\\})?[ \\t]+(\\S+)`, 'm').exec(text);
    if (!m) continue;
    const raw = m[1]!;
    if (/^\+?Inf$/i.test(raw)) continue;
    const ttl = Number(raw);
    if (!Number.isFinite(ttl))
      throw new ProbeError(`node ${node} metrics: malformed ${metric} sample "${raw}"`);
    out.push({ kind, ttlSeconds: ttl });
  }
  return out;
}

/**
 * Reads a kubelet's certificate lifetimes from its metrics (`kubelet_certificate_manager_client_ttl_seconds`
 * and `..._server_ttl_seconds`) through the node proxy: the only place a monitor can see them. The TTL
 * is counted from the server time of the answer, so `notAfter` is on the server's clock.
 */
export async function probeKubeletCertificates(ctx: ProbeContext, node: string): Promise<CertificateInfo[]> {
  const res = await getText(ctx, proxyPath(node, 'metrics'), {
    accept: 'text/plain',
    maxBytes: 32 * 1024 * 1024,
  });
  if (res.status !== 200) throw statusError(`node ${node} metrics`, res.status, res.text);
  return parseKubeletCertificateTtls(node, res.text).map(({ kind, ttlSeconds }) => ({
    kind,
    source: 'kubelet-metrics',
    node,
    subject: undefined,
    issuer: undefined,
    sans: [],
    notBefore: undefined,
    notAfter: res.serverAt + ttlSeconds * 1000,
    isTrusted: undefined,
    verifyError: undefined,
    at: res.at,
    serverAt: res.serverAt,
  }));
}
