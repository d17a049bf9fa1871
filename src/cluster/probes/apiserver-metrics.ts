import { ProbeError, statusError } from './probe-error.js';
import { stamp, type ProbeContext } from './request.js';
import type { ApiserverMetricsResult, DeprecatedApiUse } from './results.js';

/** The metric family read: one gauge series per deprecated API requested since the API server started. */
export const DEPRECATED_APIS_METRIC = 'apiserver_requested_deprecated_apis';

/** Bytes of `/metrics` read at most: a large API server serves tens of MB, and only one family matters. */
const MAX_BYTES = 64 * 1024 * 1024;
/** Series kept at most (there are a few dozen deprecated APIs in any release). */
const MAX_SERIES = 500;
/** Lines longer than this are skipped rather than buffered (no real series line comes close). */
const MAX_LINE = 16 * 1024;

/** Parses the label set of a Prometheus text line, `{a="x",b="y\"z"}`; undefined when malformed. */
export function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) return undefined;
    labels[m[1]!] = m[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    at = re.lastIndex;
  }
  return labels;
}

/**
 * Reads the `apiserver_requested_deprecated_apis` series of a Prometheus text exposition; every other
 * line (comments, other families, malformed lines) is skipped. Series whose value is not above 0 are
 * not uses.
 */
export function parseDeprecatedApis(lines: Iterable<string>): {
  apis: DeprecatedApiUse[];
  malformed: number;
} {
  const apis: DeprecatedApiUse[] = [];
  const seen = new Set<string>();
  let malformed = 0;
  for (const raw of lines) {
    const line = raw.trim();
    if (!line.startsWith(`${DEPRECATED_APIS_METRIC}{`)) continue;
    const close = line.lastIndexOf('}');
    const labels = close > 0 ? parseLabels(line.slice(DEPRECATED_APIS_METRIC.length + 1, close)) : undefined;
    const value = Number(
      line
        .slice(close + 1)
        .trim()
        .split(/\s+/)[0],
    );
    if (!labels || labels.resource === undefined || labels.version === undefined || Number.isNaN(value)) {
      malformed++;
      continue;
    }
    if (!(value > 0)) continue;
    const use: DeprecatedApiUse = {
      group: labels.group ?? '',
      version: labels.version,
      resource: labels.resource,
      subresource: labels.subresource ?? '',
      removedRelease: labels.removed_release || undefined,
    };
    const key = `${use.group}/${use.version}/${use.resource}/${use.subresource}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (apis.length < MAX_SERIES) apis.push(use);
  }
  return { apis, malformed };
}

/** Splits a byte stream into lines, dropping over-long ones, up to `maxBytes` in all. */
async function* lines(body: AsyncIterable<Buffer>, maxBytes: number): AsyncGenerator<string> {
  let rest = '';
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) throw new ProbeError(`/metrics: answer larger than ${maxBytes} bytes`);
    const text = rest + chunk.toString('utf8');
    const parts = text.split('\n');
    rest = parts.pop() ?? '';
    if (rest.length > MAX_LINE) rest = '';
    yield* parts;
  }
  if (rest) yield rest;
}

/**
 * GETs the API server's `/metrics` and keeps only `apiserver_requested_deprecated_apis`, streaming so
 * that a large exposition is never held in memory. Reading `/metrics` needs `get` on the non-resource
 * URL `/metrics`; without it the answer is 403, a `not-permitted` probe error.
 */
export async function probeApiserverMetrics(ctx: ProbeContext): Promise<ApiserverMetricsResult> {
  if (ctx.signal?.aborted) throw new ProbeError('/metrics: the prober stopped');
  const controller = new AbortController();
  let isTimedOut = false;
  const timer = setTimeout(() => {
    isTimedOut = true;
    controller.abort();
  }, ctx.timeoutMs);
  const onStop = (): void => controller.abort();
  ctx.signal?.addEventListener('abort', onStop, { once: true });
  let stream: { destroy(): unknown } | undefined;
  try {
    const res = await ctx.connection.get('/metrics', {
      signal: controller.signal,
      headersTimeoutMs: ctx.timeoutMs,
      accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1',
    });
    stream = res.body;
    if (res.status !== 200) {
      let body = '';
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        body += chunk.toString('utf8');
        if (body.length > 4096) break;
      }
      if (res.status === 404) throw new ProbeError('/metrics is not served', 'unavailable', 404);
      throw statusError('/metrics', res.status, body);
    }
    // Keep only the family's lines while streaming; the rest of the exposition is dropped at once.
    const family: string[] = [];
    for await (const line of lines(res.body as AsyncIterable<Buffer>, MAX_BYTES))
      if (line.startsWith(DEPRECATED_APIS_METRIC) && family.length < MAX_SERIES * 2) family.push(line);
    const { apis, malformed } = parseDeprecatedApis(family);
    return { deprecatedApis: apis, malformedLines: malformed, ...stamp(ctx) };
  } catch (error) {
    if (error instanceof ProbeError) throw error;
    if (isTimedOut) throw new ProbeError(`/metrics: no complete answer within ${ctx.timeoutMs} ms`);
    if (ctx.signal?.aborted) throw new ProbeError('/metrics: the prober stopped');
    throw new ProbeError(`/metrics: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    // Also ends an answer abandoned half-way (too large, timed out); harmless after a complete one.
    stream?.destroy();
    clearTimeout(timer);
    ctx.signal?.removeEventListener('abort', onStop);
  }
}
