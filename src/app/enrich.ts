import { fetchLogTail, type Connection } from '../cluster/index.js';
import type { Evidence, Finding } from '../domain/index.js';

/**
 * Adds the last log lines of the failing container to findings that name one (`facts.pod` and
 * `facts.container`): rules are pure and cannot read logs, so the edge that sends or prints a finding
 * does. At most `limit` findings are enriched, a few at a time.
 */
export async function withLogLines(
  connection: Connection,
  findings: readonly Finding[],
  limit = 20,
): Promise<Finding[]> {
  const out = [...findings];
  const targets = out
    .map((f, i) => ({ f, i }))
    .filter(
      ({ f }) =>
        typeof f.facts.pod === 'string' &&
        typeof f.facts.container === 'string' &&
        f.object.namespace !== undefined,
    )
    .slice(0, limit);
  for (let k = 0; k < targets.length; k += 4) {
    await Promise.all(
      targets.slice(k, k + 4).map(async ({ f, i }) => {
        const target = {
          namespace: f.object.namespace!,
          pod: String(f.facts.pod),
          container: String(f.facts.container),
        };
        const lines =
          (await fetchLogTail(connection, { ...target, previous: true }, 6)) ??
          (await fetchLogTail(connection, { ...target, previous: false }, 6));
        if (!lines || lines.length === 0) return;
        const evidence: Evidence[] = lines.map((l) => ({
          type: 'log',
          text: `${target.pod}/${target.container}: ${l.length > 300 ? `${l.slice(0, 299)}…` : l}`,
        }));
        out[i] = { ...f, evidence: [...f.evidence, ...evidence] };
      }),
    );
  }
  return out;
}
