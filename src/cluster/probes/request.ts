import type { Connection } from '../connection.js';
import { readText } from '../connection.js';
import { ProbeError } from './probe-error.js';

/** Every probe needs the connection, a per-request timeout, a clock and the stop signal. */
export interface ProbeContext {
  readonly connection: Connection;
  /** Bound on one whole request: headers, body, TLS handshake (ms). */
  readonly timeoutMs: number;
  /** The local clock (epoch ms). */
  readonly now: () => number;
  /** Aborts requests in flight when the prober stops. */
  readonly signal?: AbortSignal | undefined;
}

/** A whole answer is read as text and stamped with when it arrived on both clocks. */
export interface TextAnswer {
  status: number;
  text: string;
  at: number;
  serverAt: number;
}

/** Returns the local time and the server's time now, from the connection's last measured offset. */
export function stamp(ctx: ProbeContext): { at: number; serverAt: number } {
  const at = ctx.now();
  return { at, serverAt: at + ctx.connection.serverClockOffsetMs };
}

/**
 * GETs a path and reads the whole body as text, within `ctx.timeoutMs` for the whole exchange (a
 * kubelet behind the node proxy may accept the request and then never answer).
 */
export async function getText(
  ctx: ProbeContext,
  path: string,
  options: { accept: string; maxBytes: number },
): Promise<TextAnswer> {
  if (ctx.signal?.aborted) throw new ProbeError(`${path}: the prober stopped`);
  const controller = new AbortController();
  let isTimedOut = false;
  const timer = setTimeout(() => {
    isTimedOut = true;
    controller.abort();
  }, ctx.timeoutMs);
  const onStop = (): void => controller.abort();
  ctx.signal?.addEventListener('abort', onStop, { once: true });
  try {
    const res = await ctx.connection.get(path, {
      signal: controller.signal,
      headersTimeoutMs: ctx.timeoutMs,
      accept: options.accept,
    });
    const text = await readText(res.body, options.maxBytes, ctx.timeoutMs);
    return { status: res.status, text, ...stamp(ctx) };
  } catch (error) {
    if (error instanceof ProbeError) throw error;
    if (isTimedOut) throw new ProbeError(`${path}: no complete answer within ${ctx.timeoutMs} ms`);
    if (ctx.signal?.aborted) throw new ProbeError(`${path}: the prober stopped`);
    throw new ProbeError(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    clearTimeout(timer);
    ctx.signal?.removeEventListener('abort', onStop);
  }
}

/** Parses a JSON answer; text that is not JSON is a malformed answer. */
export function parseJson(what: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProbeError(`${what}: malformed answer (not JSON): ${text.slice(0, 80)}`);
  }
}

/** Returns the value as a plain object, or undefined. */
export function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Returns the value as a finite, non-negative number, or undefined. */
export function asCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;
const SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Parses a Kubernetes quantity (`250m`, `1Gi`, `12345n`) to a number, or undefined when it is not one. */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = QUANTITY.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2] !== undefined) return n * 10 ** Number(m[2]);
  return n * (m[3] === undefined ? 1 : (SUFFIX[m[3]] ?? 1));
}
