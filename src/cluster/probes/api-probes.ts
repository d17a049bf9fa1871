import { ProbeError, statusError } from './probe-error.js';
import { asObject, getText, parseJson, parseQuantity, stamp, type ProbeContext } from './request.js';
import type {
  HealthCheckResult,
  HealthEndpointResult,
  MetricsResult,
  Usage,
  VersionResult,
} from './results.js';

const JSON_ACCEPT = 'application/json';

/**
 * Parses a `/version` document; the minor may carry a `+` (vendor builds) and the gitVersion a vendor
 * suffix (`v1.32.9-eks-5e0fdde`, `v1.32.4-gke.1234000`).
 */
export function parseVersion(
  body: unknown,
  stamps: { at: number; serverAt: number },
): Omit<VersionResult, 'serverClockOffsetMs'> {
  const doc = asObject(body);
  const gitVersion = doc?.gitVersion;
  if (typeof gitVersion !== 'string') throw new ProbeError('/version: malformed answer (no gitVersion)');
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?(.*)$/.exec(gitVersion);
  const major = Number(m?.[1] ?? Number.parseInt(String(doc?.major), 10));
  const minor = Number(m?.[2] ?? Number.parseInt(String(doc?.minor), 10));
  if (!Number.isInteger(major) || !Number.isInteger(minor))
    throw new ProbeError(`/version: malformed answer (gitVersion "${gitVersion.slice(0, 60)}")`);
  const suffix = m?.[4] || undefined;
  const vendor = suffix?.startsWith('-eks-') ? 'eks' : suffix?.startsWith('-gke.') ? 'gke' : undefined;
  return { gitVersion, major, minor, suffix, vendor, ...stamps };
}

/** Reads `/version` and records the server clock offset measured on the answer. */
export async function probeVersion(ctx: ProbeContext): Promise<VersionResult> {
  const res = await getText(ctx, '/version', { accept: JSON_ACCEPT, maxBytes: 64 * 1024 });
  if (res.status !== 200) throw statusError('/version', res.status, res.text);
  const parsed = parseVersion(parseJson('/version', res.text), res);
  return { ...parsed, serverClockOffsetMs: ctx.connection.serverClockOffsetMs };
}

/**
 * Parses the verbose text of `/readyz` or `/livez`: one `[+]name ok` or `[-]name failed: reason
 * withheld` line per check, then `readyz check passed|failed`.
 */
export function parseHealthChecks(text: string): HealthCheckResult[] {
  const checks: HealthCheckResult[] = [];
  for (const line of text.split('\n')) {
    const m = /^\[([+-])\](\S+)\s*(.*)$/.exec(line.trim());
    if (m) checks.push({ name: m[2]!, isOk: m[1] === '+', detail: m[3]!.trim() });
  }
  return checks;
}

/**
 * Reads `/readyz?verbose` or `/livez?verbose` with its per-check results. A failing endpoint answers
 * 500 with the same text: that is a measurement (the API server is not ready), not a probe failure.
 */
export async function probeHealthEndpoint(
  ctx: ProbeContext,
  endpoint: 'readyz' | 'livez',
): Promise<HealthEndpointResult> {
  const res = await getText(ctx, `/${endpoint}?verbose`, {
    accept: 'text/plain, */*',
    maxBytes: 1024 * 1024,
  });
  if (res.status === 404)
    throw new ProbeError(`/${endpoint} is not served (Kubernetes before 1.16)`, 'unavailable', 404);
  if (res.status !== 200 && res.status !== 500) throw statusError(`/${endpoint}`, res.status, res.text);
  const checks = parseHealthChecks(res.text);
  if (res.status === 500 && checks.length === 0)
    throw new ProbeError(
      `/${endpoint}: HTTP 500 without check lines: ${res.text.slice(0, 120)}`,
      'failure',
      500,
    );
  return {
    endpoint,
    isOk: res.status === 200 && checks.every((c) => c.isOk),
    status: res.status,
    checks,
    at: res.at,
    serverAt: res.serverAt,
  };
}

/** The reason for a metrics.k8s.io answer that means "not available", or undefined. */
function unavailableReason(status: number): string | undefined {
  if (status === 404) return 'metrics.k8s.io is not served (no metrics-server installed)';
  if (status === 503) return 'metrics.k8s.io answers 503: its metrics-server is not available';
  return undefined;
}

/** Sums container usages, or undefined when a quantity is malformed. */
function usageOf(value: unknown): Usage | undefined {
  const u = asObject(value);
  const cpu = parseQuantity(u?.cpu);
  const memory = parseQuantity(u?.memory);
  if (cpu === undefined || memory === undefined) return undefined;
  return { cpuMilli: cpu * 1000, memoryBytes: memory };
}

/** Parses a NodeMetricsList or PodMetricsList; malformed items are skipped and counted. */
export function parseMetricsList(
  what: string,
  body: unknown,
  kind: 'nodes' | 'pods',
): { usage: Map<string, Usage>; malformed: number } {
  const items = asObject(body)?.items;
  if (!Array.isArray(items)) throw new ProbeError(`${what}: malformed answer (no items array)`);
  const usage = new Map<string, Usage>();
  let malformed = 0;
  for (const raw of items as unknown[]) {
    const item = asObject(raw);
    const meta = asObject(item?.metadata);
    const name = meta?.name;
    const namespace = meta?.namespace;
    if (typeof name !== 'string' || (kind === 'pods' && typeof namespace !== 'string')) {
      malformed++;
      continue;
    }
    if (kind === 'nodes') {
      const u = usageOf(item?.usage);
      if (u) usage.set(name, u);
      else malformed++;
      continue;
    }
    const containers = item?.containers;
    if (!Array.isArray(containers)) {
      malformed++;
      continue;
    }
    const total: Usage = { cpuMilli: 0, memoryBytes: 0 };
    let isValid = true;
    for (const c of containers as unknown[]) {
      const u = usageOf(asObject(c)?.usage);
      if (!u) {
        isValid = false;
        break;
      }
      total.cpuMilli += u.cpuMilli;
      total.memoryBytes += u.memoryBytes;
    }
    if (isValid) usage.set(`${namespace as string}/${name}`, total);
    else malformed++;
  }
  return { usage, malformed };
}

/**
 * Reads node and pod usage from `metrics.k8s.io` when it is served; a missing group or a 503 (the
 * metrics-server behind it is down) is "unavailable" with the reason, not a probe failure.
 */
export async function probeMetrics(ctx: ProbeContext): Promise<MetricsResult> {
  const unavailable = (reason: string): MetricsResult => ({
    isAvailable: false,
    reason,
    nodes: new Map(),
    pods: new Map(),
    malformedItems: 0,
    ...stamp(ctx),
  });
  const nodesPath = '/apis/metrics.k8s.io/v1beta1/nodes';
  const nodes = await getText(ctx, nodesPath, { accept: JSON_ACCEPT, maxBytes: 64 * 1024 * 1024 });
  const nodesReason = unavailableReason(nodes.status);
  if (nodesReason) return unavailable(nodesReason);
  if (nodes.status !== 200) throw statusError('metrics.k8s.io nodes', nodes.status, nodes.text);
  const nodeUsage = parseMetricsList(
    'metrics.k8s.io nodes',
    parseJson('metrics.k8s.io nodes', nodes.text),
    'nodes',
  );
  const podsPath = '/apis/metrics.k8s.io/v1beta1/pods';
  const pods = await getText(ctx, podsPath, { accept: JSON_ACCEPT, maxBytes: 256 * 1024 * 1024 });
  const podsReason = unavailableReason(pods.status);
  if (podsReason) return unavailable(podsReason);
  if (pods.status !== 200) throw statusError('metrics.k8s.io pods', pods.status, pods.text);
  const podUsage = parseMetricsList(
    'metrics.k8s.io pods',
    parseJson('metrics.k8s.io pods', pods.text),
    'pods',
  );
  return {
    isAvailable: true,
    reason: undefined,
    nodes: nodeUsage.usage,
    pods: podUsage.usage,
    malformedItems: nodeUsage.malformed + podUsage.malformed,
    at: nodes.at,
    serverAt: nodes.serverAt,
  };
}
