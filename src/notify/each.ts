import { redact } from './secret.js';
import type { Delivery, DeliveryResult, NotificationAlert } from './types.js';

/**
 * Sends each alert of a delivery with `one`, in order, for receivers that take one alert per request
 * (PagerDuty, Opsgenie). Stops at the first retryable failure (the receiver is down or throttling, and
 * the rest would fail the same way); the delivery fails when any alert failed, retryable when any failure
 * was, and a re-send repeats the alerts already accepted (each is deduplicated by its key). `noun` names
 * what was sent in the summary (`events`, `alerts`).
 */
export async function sendEach(
  delivery: Delivery,
  signal: AbortSignal | undefined,
  one: (a: NotificationAlert) => Promise<DeliveryResult>,
  noun = 'alerts',
): Promise<DeliveryResult> {
  const failures: { fingerprint: string; result: Extract<DeliveryResult, { ok: false }> }[] = [];
  let sent = 0;
  let last: DeliveryResult | undefined;
  for (const a of delivery.alerts) {
    if (signal?.aborted) break;
    const result = await one(a);
    sent++;
    last = result;
    if (!result.ok) {
      failures.push({ fingerprint: a.fingerprint, result });
      if (result.retryable) break;
    }
  }
  const total = delivery.alerts.length;
  if (failures.length === 0 && sent === total)
    return total === 1 && last ? last : { ok: true, detail: `${total} ${noun} accepted` };
  if (failures.length === 0) return { ok: false, retryable: true, error: 'aborted (shutting down)' };
  if (total === 1) return failures[0]!.result;
  const retryAfter = failures
    .map((f) => f.result.retryAfterMs)
    .filter((ms): ms is number => ms !== undefined);
  const notSent = total - sent;
  return {
    ok: false,
    retryable: failures.some((f) => f.result.retryable),
    ...(retryAfter.length > 0 ? { retryAfterMs: Math.max(...retryAfter) } : {}),
    error: redact(
      `${failures.length} of ${total} ${noun} failed${notSent > 0 ? ` (${notSent} not sent)` : ''}: ${failures
        .map((f) => `${f.fingerprint}: ${f.result.error}`)
        .join('; ')}`,
    ),
  };
}
