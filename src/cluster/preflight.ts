import { HealwatchError } from '../domain/index.js';
import type { Connection } from './connection.js';

/** What the API server said about itself on first contact. */
export interface Preflight {
  gitVersion: string;
  /** Round trip of the `/version` request (ms). */
  latencyMs: number;
}

/**
 * Checks that the API server answers and accepts the credentials before anything starts watching, so a
 * wrong server or kubeconfig is one clear error instead of watches retrying forever.
 */
export async function preflight(connection: Connection, timeoutMs = 10_000): Promise<Preflight> {
  const server = connection.server.origin;
  const started = Date.now();
  let answer;
  try {
    answer = await connection.getJson<{ gitVersion?: unknown }>('/version', {
      headersTimeoutMs: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const reason = e.code ? `${e.code}${e.message.includes(e.code) ? '' : `: ${e.message}`}` : e.message;
    throw new HealwatchError(
      'HW_ERR_CLUSTER_UNREACHABLE',
      `cannot reach the API server at ${server} (from ${connection.source}): ${reason}`,
    );
  }
  if (answer.status === 401 || answer.status === 403) {
    throw new HealwatchError(
      'HW_ERR_CLUSTER_UNREACHABLE',
      `the API server at ${server} refused the credentials of context "${connection.contextName}" (HTTP ${answer.status})`,
    );
  }
  // /version is public on most clusters; some lock it down, so check access with a cheap list too.
  const probe = await connection.getJson<unknown>('/api/v1/namespaces?limit=1', {
    headersTimeoutMs: timeoutMs,
  });
  if (probe.status === 401 || probe.status === 403) {
    throw new HealwatchError(
      'HW_ERR_CLUSTER_UNREACHABLE',
      `the API server at ${server} refused the credentials of context "${connection.contextName}" (HTTP ${probe.status} listing namespaces)`,
    );
  }
  if (answer.status !== 200 || typeof answer.body.gitVersion !== 'string') {
    throw new HealwatchError(
      'HW_ERR_CLUSTER_UNREACHABLE',
      `${server}/version answered HTTP ${answer.status}: this does not look like a Kubernetes API server`,
    );
  }
  return { gitVersion: answer.body.gitVersion, latencyMs: Date.now() - started };
}
