/** One remembered value. */
export interface Sample {
  readonly at: number;
  readonly value: number;
}

/** Read access to a rule's remembered series. */
export interface Samples {
  /** The samples of one series, oldest first (empty when unknown). */
  series(key: string): readonly Sample[];
  /** The value closest to `at` (at or before), if any. */
  valueAt(key: string, at: number): number | undefined;
}

/**
 * Bounded in-memory series per rule, kept by the engine between evaluations: at most one sample per
 * `resolutionMs` and per key, for `retentionMs`. Keys that stop being sampled are dropped once their
 * newest sample is out of retention.
 */
export class SampleStore implements Samples {
  private readonly data = new Map<string, Sample[]>();

  constructor(
    readonly resolutionMs = 60_000,
    readonly retentionMs = 6 * 3_600_000,
  ) {}

  /** Records values taken at `at`. */
  record(values: Record<string, number>, at: number): void {
    for (const [key, value] of Object.entries(values)) {
      if (!Number.isFinite(value)) continue;
      let series = this.data.get(key);
      if (!series) this.data.set(key, (series = []));
      const last = series[series.length - 1];
      if (last && at - last.at < this.resolutionMs) series[series.length - 1] = { at: last.at, value };
      else series.push({ at, value });
      while (series.length > 0 && series[0]!.at < at - this.retentionMs) series.shift();
    }
    for (const [key, series] of this.data) {
      const last = series[series.length - 1];
      if (!last || last.at < at - this.retentionMs) this.data.delete(key);
    }
  }

  series(key: string): readonly Sample[] {
    return this.data.get(key) ?? [];
  }

  valueAt(key: string, at: number): number | undefined {
    let value: number | undefined;
    for (const s of this.series(key)) {
      if (s.at > at) break;
      value = s.value;
    }
    return value;
  }

  /** Number of series held. */
  get size(): number {
    return this.data.size;
  }
}
