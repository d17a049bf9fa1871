import { z } from 'zod';

/**
 * A receiver's `timeout`: a duration such as `10s`, `1m` or `1500ms`, in milliseconds, between 100 ms and
 * 5 minutes. (The grammar of `parseDuration` in src/config, which imports the receivers: importing it here
 * would make a cycle.)
 */
export const timeoutField = z
  .string()
  .regex(/^(\d+(\.\d+)?(ms|s|m))+$/, 'must be a duration such as 10s, 1m or 1500ms')
  .transform((text) => {
    const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };
    let total = 0;
    for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m)/g)) total += Number(m[1]) * units[m[2]!]!;
    return total;
  })
  .refine((ms) => ms >= 100 && ms <= 300_000, 'must be between 100ms and 5m');
