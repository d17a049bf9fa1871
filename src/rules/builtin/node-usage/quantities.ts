/**
 * Formatting and bounds shared by the usage rules (node-usage, resource-requests): CPU in cores,
 * memory in GiB/MiB, whole percentages, and how many per-node series `sample()` may keep.
 */

/**
 * Clusters up to this many nodes get per-node series from `sample()`; larger ones only cluster totals
 * and distribution figures. The engine keeps one sample a minute for six hours per series (360 points),
 * so 100 nodes × 2 series is 72,000 points, while 5,000 nodes would be 3.6 million.
 */
export const MAX_NODE_SERIES = 100;

/** Millicores as `250m`, `1 core` or `3.5 cores`. */
export function cpuText(milli: number): string {
  if (Math.abs(milli) < 1000) return `${Math.round(milli)}m`;
  const cores = Number((milli / 1000).toFixed(1));
  return `${cores} core${cores === 1 ? '' : 's'}`;
}

/** Bytes as `512Mi` or `14.6Gi`. */
export function bytesText(bytes: number): string {
  const gi = bytes / 2 ** 30;
  if (Math.abs(gi) >= 1) return `${Number.isInteger(gi) ? gi : gi.toFixed(1)}Gi`;
  return `${Math.round(bytes / 2 ** 20)}Mi`;
}

/** `part` of `whole` as a whole percentage (0 when `whole` is not positive). */
export function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 100) : 0;
}
