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
  /** When the newest sample's slot began, per key. */
  private readonly slots = new Map<string, number>();

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
      // Within a slot the newest value replaces the last sample, with its own time: keeping the
      // slot's start time with a later value would bias fitted rates (fill forecasts) upwards.
      const slot = this.slots.get(key);
      if (series.length > 0 && slot !== undefined && at - slot < this.resolutionMs)
        series[series.length - 1] = { at, value };
      else {
        series.push({ at, value });
        this.slots.set(key, at);
      }
      while (series.length > 0 && series[0]!.at < at - this.retentionMs) series.shift();
    }
    for (const [key, series] of this.data) {
      const last = series[series.length - 1];
      if (!last || last.at < at - this.retentionMs) {
        this.data.delete(key);
        this.slots.delete(key);
      }
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
