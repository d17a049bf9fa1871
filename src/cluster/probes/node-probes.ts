import type { Connection } from '../connection.js';
import { readText } from '../connection.js';
import { ProbeError, statusError } from './probe-error.js';
import type { CertificateInfo, NodeSummary, VolumeUsage } from './results.js';

type Raw = Record<string, unknown>;

function obj(v: unknown): Raw | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Raw) : undefined;
}

function n(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Reads one node's kubelet Summary API through the API server's node proxy. */
export async function probeNodeSummary(
  connection: Connection,
  node: string,
  timeoutMs: number,
): Promise<NodeSummary> {
  const path = `/api/v1/nodes/${encodeURIComponent(node)}/proxy/stats/summary`;
  const res = await connection.get(path, {
    headersTimeoutMs: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs * 2),
  });
  const text = await readText(res.body, 64 * 1024 * 1024, timeoutMs);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  if (res.status !== 200) throw statusError(`node ${node} summary`, res.status, body);
  const root = obj(body);
  const nodeStats = obj(root?.node);
  if (!nodeStats) throw new ProbeError(`node ${node} summary: the answer has no "node" section`);
  const fs = obj(nodeStats.fs);
  const imageFs = obj(obj(nodeStats.runtime)?.imageFs);
  const volumes: VolumeUsage[] = [];
  for (const p of Array.isArray(root?.pods) ? (root.pods as unknown[]) : []) {
    const pod = obj(p);
    const ref = obj(pod?.podRef);
    if (typeof ref?.name !== 'string' || typeof ref.namespace !== 'string') continue;
    for (const v of Array.isArray(pod?.volume) ? (pod.volume as unknown[]) : []) {
      const vol = obj(v);
      if (!vol || typeof vol.name !== 'string') continue;
      const pvc = obj(vol.pvcRef);
      volumes.push({
        namespace: ref.namespace,
        pod: ref.name,
        volume: vol.name,
        claim: typeof pvc?.name === 'string' ? pvc.name : undefined,
        usedBytes: n(vol.usedBytes) ?? 0,
        capacityBytes: n(vol.capacityBytes) ?? 0,
        availableBytes: n(vol.availableBytes) ?? 0,
      });
    }
  }
  return {
    node,
    fsUsedBytes: n(fs?.usedBytes),
    fsCapacityBytes: n(fs?.capacityBytes),
    fsAvailableBytes: n(fs?.availableBytes),
    imageFsUsedBytes: n(imageFs?.usedBytes),
    imageFsCapacityBytes: n(imageFs?.capacityBytes),
    imageFsAvailableBytes: n(imageFs?.availableBytes),
    cpuNanoCores: n(obj(nodeStats.cpu)?.usageNanoCores),
    memoryWorkingSetBytes: n(obj(nodeStats.memory)?.workingSetBytes),
    volumes,
    at: Date.now(),
  };
}

/**
 * Reads a kubelet's certificate lifetimes from its metrics (`kubelet_certificate_manager_client_ttl_seconds`
 * and `..._server_ttl_seconds`) through the node proxy: the only place a monitor can see them.
 */
export async function probeKubeletCertificates(
  connection: Connection,
  node: string,
  timeoutMs: number,
): Promise<CertificateInfo[]> {
  const res = await connection.get(`/api/v1/nodes/${encodeURIComponent(node)}/proxy/metrics`, {
    headersTimeoutMs: timeoutMs,
    accept: 'text/plain',
    signal: AbortSignal.timeout(timeoutMs * 2),
  });
  const text = await readText(res.body, 32 * 1024 * 1024, timeoutMs);
  if (res.status !== 200) throw statusError(`node ${node} metrics`, res.status, text);
  const now = Date.now();
  const out: CertificateInfo[] = [];
  for (const [metric, kind] of [
    ['kubelet_certificate_manager_client_ttl_seconds', 'kubelet-client'],
    ['kubelet_certificate_manager_server_ttl_seconds', 'kubelet-serving'],
  ] as const) {
    const m = new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text);
    const ttl = m ? Number(m[1]) : Number.NaN;
    // +Inf means the certificate is not used (for instance no serving certificate rotation).
    if (!Number.isFinite(ttl)) continue;
    out.push({
      kind,
      node,
      subject: undefined,
      issuer: undefined,
      sans: undefined,
      notBefore: undefined,
      notAfter: now + ttl * 1000,
      at: now,
    });
  }
  return out;
}
