import type { Connection } from '../connection.js';
import { readText } from '../connection.js';
import { quantity } from '../collectors/read.js';
import { ProbeError, statusError } from './probe-error.js';
import type { HealthEndpointResult, MetricsResult, Usage, VersionResult } from './results.js';

/** Reads `/version` and the server clock offset. */
export async function probeVersion(connection: Connection, timeoutMs: number): Promise<VersionResult> {
  const res = await connection.getJson<{ gitVersion?: unknown; major?: unknown; minor?: unknown }>(
    '/version',
    {
      headersTimeoutMs: timeoutMs,
    },
  );
  if (res.status !== 200) throw statusError('/version', res.status, res.body);
  const gitVersion = res.body.gitVersion;
  if (typeof gitVersion !== 'string') throw new ProbeError('/version: the answer has no gitVersion');
  const m = /^v(\d+)\.(\d+)/.exec(gitVersion);
  return {
    gitVersion,
    major: Number(m?.[1] ?? Number.parseInt(String(res.body.major), 10)),
    minor: Number(m?.[2] ?? Number.parseInt(String(res.body.minor), 10)),
    serverClockOffsetMs: connection.serverClockOffsetMs,
    at: Date.now(),
  };
}

/**
 * Reads `/readyz?verbose` or `/livez?verbose` and its per-check lines (`[+]name ok`,
 * `[-]name failed: reason withheld`). A failing endpoint answers 500 with the same text.
 */
export async function probeHealthEndpoint(
  connection: Connection,
  endpoint: 'readyz' | 'livez',
  timeoutMs: number,
): Promise<HealthEndpointResult> {
  const res = await connection.get(`/${endpoint}?verbose`, {
    headersTimeoutMs: timeoutMs,
    accept: 'text/plain, */*',
  });
  const text = await readText(res.body, 1024 * 1024, timeoutMs);
  if (res.status === 401 || res.status === 403) throw statusError(`/${endpoint}`, res.status, text);
  const checks: { name: string; isOk: boolean }[] = [];
  for (const line of text.split('\n')) {
    const m = /^\[([+-])\]([^\s]+)/.exec(line.trim());
    if (m) checks.push({ name: m[2]!, isOk: m[1] === '+' });
  }
  if (res.status !== 200 && res.status !== 500) throw statusError(`/${endpoint}`, res.status, text);
  if (checks.length === 0 && res.status === 500)
    throw new ProbeError(`/${endpoint}: HTTP 500 without check lines`);
  return {
    isOk: res.status === 200 && checks.every((c) => c.isOk),
    status: res.status,
    checks,
    at: Date.now(),
  };
}

interface MetricsList {
  items?: {
    metadata?: { name?: unknown; namespace?: unknown };
    usage?: Record<string, unknown>;
    containers?: { usage?: Record<string, unknown> }[];
  }[];
}

function usage(u: Record<string, unknown> | undefined): Usage {
  return { cpuMilli: quantity(u?.cpu) * 1000, memoryBytes: quantity(u?.memory) };
}

/**
 * Reads node and pod usage from `metrics.k8s.io` when it is served; a missing group or a 503 (the
 * metrics-server behind it is down) is "unavailable" with the reason, not a probe failure.
 */
export async function probeMetrics(connection: Connection, timeoutMs: number): Promise<MetricsResult> {
  const at = Date.now();
  const unavailable = (reason: string): MetricsResult => ({
    isAvailable: false,
    reason,
    nodes: new Map(),
    pods: new Map(),
    at,
  });
  const nodes = await connection.getJson<MetricsList>('/apis/metrics.k8s.io/v1beta1/nodes', {
    headersTimeoutMs: timeoutMs,
  });
  if (nodes.status === 404) return unavailable('metrics.k8s.io is not served (no metrics-server)');
  if (nodes.status === 503)
    return unavailable('metrics.k8s.io answers 503: its metrics-server is not available');
  if (nodes.status !== 200) throw statusError('metrics.k8s.io nodes', nodes.status, nodes.body);
  const pods = await connection.getJson<MetricsList>('/apis/metrics.k8s.io/v1beta1/pods', {
    headersTimeoutMs: timeoutMs,
  });
  if (pods.status === 503)
    return unavailable('metrics.k8s.io answers 503: its metrics-server is not available');
  if (pods.status !== 200) throw statusError('metrics.k8s.io pods', pods.status, pods.body);
  const result: MetricsResult = {
    isAvailable: true,
    reason: undefined,
    nodes: new Map(),
    pods: new Map(),
    at,
  };
  for (const n of nodes.body.items ?? []) {
    if (typeof n.metadata?.name === 'string') result.nodes.set(n.metadata.name, usage(n.usage));
  }
  for (const p of pods.body.items ?? []) {
    if (typeof p.metadata?.name !== 'string' || typeof p.metadata.namespace !== 'string') continue;
    const total: Usage = { cpuMilli: 0, memoryBytes: 0 };
    for (const c of p.containers ?? []) {
      const u = usage(c.usage);
      total.cpuMilli += u.cpuMilli;
      total.memoryBytes += u.memoryBytes;
    }
    result.pods.set(`${p.metadata.namespace}/${p.metadata.name}`, total);
  }
  return result;
}
