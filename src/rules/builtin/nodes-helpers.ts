import type { FsUsage } from '../../cluster/index.js';
import type { Evidence } from '../../domain/index.js';
import { ago } from '../helpers.js';
import type { Sample, Samples } from '../samples.js';

const GIB = 2 ** 30;
const HOUR = 3_600_000;

/** Bytes as GiB with one decimal (`12.3 GiB`). */
export function gib(bytes: number): string {
  return `${(bytes / GIB).toFixed(1)} GiB`;
}

/** A percentage with one decimal (`87.5%`). */
export function pct(value: number): string {
  return `${value.toFixed(1)}%`;
}

/** The used share of a filesystem in percent, and its bytes; undefined when the kubelet did not say. */
export interface FsReading {
  readonly usedPercent: number;
  readonly usedBytes: number;
  readonly capacityBytes: number;
  readonly availableBytes: number;
}

/**
 * Reads a filesystem's usage as the kubelet's eviction manager judges it: from what is *available*
 * (capacity minus available), not from `usedBytes`, because `usedBytes` of a shared disk counts only
 * what one consumer (images, pods) wrote there, while eviction and "disk full" depend on the free space.
 */
export function readFs(fs: FsUsage | undefined): FsReading | undefined {
  if (!fs || fs.capacityBytes === undefined || fs.capacityBytes <= 0) return undefined;
  const capacityBytes = fs.capacityBytes;
  const availableBytes =
    fs.availableBytes ?? (fs.usedBytes !== undefined ? capacityBytes - fs.usedBytes : undefined);
  if (availableBytes === undefined) return undefined;
  const usedBytes = Math.max(0, capacityBytes - availableBytes);
  return { usedPercent: (usedBytes / capacityBytes) * 100, usedBytes, capacityBytes, availableBytes };
}

/** A linear trend fitted by least squares. */
export interface Trend {
  /** Percentage points per hour. */
  readonly ratePerHour: number;
  /** Coefficient of determination of the fit (1: the samples lie on a line). */
  readonly r2: number;
  /** Time covered by the samples fitted (ms). */
  readonly spanMs: number;
  readonly points: number;
}

/** Least-squares line through samples (x: time, y: value); undefined with fewer than 3 points or no spread. */
export function fitTrend(samples: readonly Sample[]): Trend | undefined {
  if (samples.length < 3) return undefined;
  const x0 = samples[0]!.at;
  const n = samples.length;
  let sx = 0;
  let sy = 0;
  for (const s of samples) {
    sx += s.at - x0;
    sy += s.value;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const s of samples) {
    const dx = s.at - x0 - mx;
    const dy = s.value - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  const r2 = syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  return { ratePerHour: slope * HOUR, r2, spanMs: samples[n - 1]!.at - x0, points: n };
}

/** How the fill forecast is judged (shared by node-filesystem and pvc-filling). */
export interface ForecastOptions {
  /** Fit over this much recent history. */
  readonly windowMs: number;
  /** Forecast only once the samples cover this long. */
  readonly minSpanMs: number;
  /** Fire when full within this many hours. */
  readonly forecastHours: number;
}

/** Default forecast window and minimum history. */
export const FORECAST_DEFAULTS = { windowMs: HOUR, minSpanMs: 10 * 60_000 } as const;

/**
 * A sudden step (a large image pulled, a dump written once) is not a fill rate: a least-squares line
 * through "flat, jump, flat" explains at most 75 % of the variance (r² = 3p(1-p) ≤ 0.75), while a
 * steady fill explains nearly all of it. Below this the trend is not trusted.
 */
const MIN_R2 = 0.8;
/** The last ten minutes must still show growth: a fill that stopped is no longer a forecast. */
const RECENT_MS = 10 * 60_000;

/** A forecast that the filesystem will be full soon. */
export interface Forecast {
  readonly trend: Trend;
  /** Hours until 100 % at the fitted rate. */
  readonly hoursToFull: number;
  /** Epoch ms when it would be full. */
  readonly fullAt: number;
}

/**
 * Fits the usage series (percent) over the last `windowMs` and forecasts when it reaches 100 %.
 * Undefined when there is too little history, when usage is flat or shrinking, when the samples do not
 * follow a line (a one-off step), when growth stopped in the last ten minutes, or when full is further
 * away than `forecastHours`.
 */
export function forecastFull(
  samples: Samples,
  key: string,
  current: number,
  now: number,
  o: ForecastOptions,
): Forecast | undefined {
  const recent = samples.series(key).filter((s) => s.at >= now - o.windowMs && s.at <= now);
  const trend = fitTrend(recent);
  if (!trend || trend.spanMs < o.minSpanMs || trend.ratePerHour <= 0 || trend.r2 < MIN_R2) return undefined;
  const before = samples.valueAt(key, now - RECENT_MS);
  if (before === undefined || current <= before) return undefined;
  const hoursToFull = Math.max(0, 100 - current) / trend.ratePerHour;
  if (hoursToFull > o.forecastHours) return undefined;
  return { trend, hoursToFull, fullAt: now + hoursToFull * HOUR };
}

/** The facts a forecast adds to a finding (rate in points of capacity per hour, hours to full). */
export function forecastFacts(forecast: Forecast | undefined): Record<string, number> {
  return forecast
    ? {
        ratePercentPerHour: Math.round(forecast.trend.ratePerHour * 100) / 100,
        hoursToFull: Math.round(forecast.hoursToFull * 10) / 10,
      }
    : {};
}

/**
 * Since when the series has been at or above `threshold` without a break (the first sample of the
 * current run). Undefined when the run reaches back to the oldest sample: then nobody knows when it
 * began (a one-shot check judges the current state; a running tracker counts from its first sighting).
 */
export function aboveSince(
  samples: Samples,
  key: string,
  threshold: number,
  now: number,
): number | undefined {
  const series = samples.series(key);
  let since = now;
  for (let i = series.length - 1; i >= 0; i--) {
    const s = series[i]!;
    if (s.value < threshold) return since;
    since = Math.min(since, s.at);
  }
  return undefined;
}

/** Evidence lines for a fill: usage, and the trend when one was fitted. */
export function fillEvidence(
  what: string,
  r: FsReading,
  forecast: Forecast | undefined,
  now: number,
  at: number | undefined,
): Evidence[] {
  const out: Evidence[] = [
    {
      type: 'metric',
      text: `${what}: ${pct(r.usedPercent)} used, ${gib(r.usedBytes)} of ${gib(r.capacityBytes)} (${gib(r.availableBytes)} free)`,
      ...(at !== undefined ? { at } : {}),
    },
  ];
  if (forecast) {
    const bytesPerHour = (forecast.trend.ratePerHour / 100) * r.capacityBytes;
    out.push({
      type: 'metric',
      text: `${what} grows ${pct(forecast.trend.ratePerHour)} of its capacity per hour (${gib(bytesPerHour)}/h, least squares over the last ${ago(forecast.trend.spanMs)}, r² ${forecast.trend.r2.toFixed(2)}): full in about ${ago(forecast.hoursToFull * HOUR)}, around ${new Date(forecast.fullAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    });
  }
  return out;
}
