import type { Connection } from './connection.js';
import { readText } from './connection.js';

/**
 * The last lines a container wrote (`previous` for the instance that crashed), through the API server;
 * undefined when they cannot be read (not permitted, container gone, kubelet unreachable).
 */
export async function fetchLogTail(
  connection: Connection,
  target: { namespace: string; pod: string; container: string; previous: boolean },
  lines = 10,
  timeoutMs = 5000,
): Promise<string[] | undefined> {
  const query = new URLSearchParams({
    container: target.container,
    tailLines: String(lines),
    limitBytes: '65536',
  });
  if (target.previous) query.set('previous', 'true');
  try {
    const res = await connection.get(
      `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(target.pod)}/log?${query.toString()}`,
      {
        headersTimeoutMs: timeoutMs,
        accept: 'text/plain',
        signal: AbortSignal.timeout(timeoutMs * 2),
      },
    );
    const text = await readText(res.body, 128 * 1024, timeoutMs);
    if (res.status !== 200) return undefined;
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(-lines);
  } catch {
    return undefined;
  }
}
