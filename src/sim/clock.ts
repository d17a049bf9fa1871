/** A handle to a scheduled callback, used to cancel it. */
export interface TimerHandle {
  cancel(): void;
}

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  isCancelled: boolean;
}

/**
 * The simulator's clock: simulated epoch milliseconds that run at `speed` times real time, or that a test
 * steps by hand with `advance`. Every controller schedules its work here, so a test that advances the clock
 * by five minutes sees exactly what five minutes of cluster life would produce, in order.
 */
export class SimClock {
  private current: number;
  private readonly timers: Timer[] = [];
  private seq = 0;
  private driver: NodeJS.Timeout | undefined;
  private realStart = 0;
  private simStart = 0;
  private isAdvancing = false;
  /** Called after every batch of due timers has run (the world uses it to drain its work queues). */
  onSettle: (() => void) | undefined;
  /**
   * Receives an error thrown by a timer when real time drives the clock (a long-running simulator logs
   * it and goes on); without it, and always under `advance`, the error propagates to the caller.
   */
  onError: ((error: unknown) => void) | undefined;

  constructor(
    startMs: number,
    readonly speed: number,
  ) {
    if (!(speed > 0)) throw new RangeError(`clock speed must be > 0, got ${speed}`);
    this.current = startMs;
  }

  /** Simulated time in epoch milliseconds. */
  now(): number {
    return this.current;
  }

  /** Simulated time as a Date. */
  date(): Date {
    return new Date(this.current);
  }

  /** Runs `fn` at simulated time `atMs` (or at once, on the next settle, if that time has passed). */
  at(atMs: number, fn: () => void): TimerHandle {
    const timer: Timer = { at: atMs, seq: this.seq++, fn, isCancelled: false };
    this.push(timer);
    return {
      cancel: () => {
        timer.isCancelled = true;
      },
    };
  }

  /** Runs `fn` after `ms` simulated milliseconds. */
  after(ms: number, fn: () => void): TimerHandle {
    return this.at(this.current + ms, fn);
  }

  /** Runs `fn` every `ms` simulated milliseconds, first after `firstMs` (default `ms`). */
  every(ms: number, fn: () => void, firstMs = ms): TimerHandle {
    let handle: TimerHandle;
    let isCancelled = false;
    const run = (): void => {
      if (isCancelled) return;
      fn();
      if (!isCancelled) handle = this.after(ms, run);
    };
    handle = this.after(firstMs, run);
    return {
      cancel: () => {
        isCancelled = true;
        handle.cancel();
      },
    };
  }

  /** Moves simulated time forward by `ms`, running every timer that falls due, in time order. */
  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  /** Moves simulated time forward to `target`, running due timers in order. */
  advanceTo(target: number): void {
    if (this.isAdvancing) return; // a timer callback asked to advance: the outer loop covers it
    this.isAdvancing = true;
    try {
      for (;;) {
        const next = this.timers[0];
        if (!next || next.at > target) break;
        this.pop();
        if (next.isCancelled) continue;
        if (next.at > this.current) this.current = next.at;
        next.fn();
        // Work queues settle between timers that share no instant, so effects are ordered like a real
        // cluster's: what a timer at t caused is visible to a timer at t+1.
        const following = this.timers[0];
        if (!following || following.at !== next.at) this.onSettle?.();
      }
      if (target > this.current) this.current = target;
      this.onSettle?.();
    } finally {
      this.isAdvancing = false;
    }
  }

  /**
   * Sets simulated time without running the timers in between (used once, when the initial cluster has
   * been built at its backdated birth time and the simulation starts at the present).
   */
  jumpTo(target: number): void {
    if (target < this.current) throw new RangeError('the simulated clock cannot go backwards');
    this.current = target;
    if (this.driver) {
      this.realStart = performance.now();
      this.simStart = target;
    }
  }

  /** Drives the clock from real time at `speed`; `tickMs` is the real-time granularity. */
  start(tickMs = 50): void {
    if (this.driver) return;
    this.realStart = performance.now();
    this.simStart = this.current;
    this.driver = setInterval(() => {
      const target = this.simStart + (performance.now() - this.realStart) * this.speed;
      try {
        this.advanceTo(Math.floor(target));
      } catch (error) {
        if (!this.onError) throw error;
        this.onError(error);
      }
    }, tickMs);
    this.driver.unref();
  }

  /** Stops driving the clock from real time. */
  stop(): void {
    if (this.driver) clearInterval(this.driver);
    this.driver = undefined;
  }

  /** Whether real time drives this clock. */
  get isRunning(): boolean {
    return this.driver !== undefined;
  }

  /** Number of timers waiting (for tests and diagnostics). */
  get pending(): number {
    return this.timers.length;
  }

  // A binary heap ordered by (at, seq): thousands of kubelet and controller timers stay cheap.
  private push(timer: Timer): void {
    const heap = this.timers;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!isBefore(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.timers;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && isBefore(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && isBefore(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}

function isBefore(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
