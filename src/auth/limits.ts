// Rate limits and lock-outs. The counting is behind a small interface so that one process can
// count in memory and several auth servers can share counters (Redis, in the scale-out store).

/** Counts hits per key in fixed windows. */
export interface CounterStore {
  /** Adds one hit to `key` and returns the count in the current window and when it ends (ms). */
  hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }>;
  /** Reads the count without adding to it. */
  peek(key: string, now: number): Promise<{ count: number; resetAt: number }>;
  reset(key: string): Promise<void>;
}

/** An in-memory counter store for one process. Bounded: old windows are swept as it grows. */
export class MemoryCounterStore implements CounterStore {
  readonly #windows = new Map<string, { count: number; resetAt: number }>();
  readonly #max: number;

  constructor(max = 100_000) {
    this.#max = max;
  }

  async hit(key: string, windowMs: number, now: number) {
    let entry = this.#windows.get(key);
    if (!entry || entry.resetAt <= now) {
      if (this.#windows.size >= this.#max) this.#sweep(now);
      entry = { count: 0, resetAt: now + windowMs };
      this.#windows.set(key, entry);
    }
    entry.count++;
    return { count: entry.count, resetAt: entry.resetAt };
  }

  async peek(key: string, now: number) {
    const entry = this.#windows.get(key);
    if (!entry || entry.resetAt <= now) return { count: 0, resetAt: now };
    return { count: entry.count, resetAt: entry.resetAt };
  }

  async reset(key: string) {
    this.#windows.delete(key);
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#windows) if (entry.resetAt <= now) this.#windows.delete(key);
    // Still full: drop the oldest windows rather than grow without bound.
    for (const key of this.#windows.keys()) {
      if (this.#windows.size < this.#max) break;
      this.#windows.delete(key);
    }
  }
}

export interface Limit {
  /** Hits allowed per window. */
  max: number;
  /** Window length in seconds. */
  window: number;
}

export interface RateLimits {
  /** Log-in attempts per client IP. */
  loginPerIp: Limit;
  /** Failed log-ins per account before it is locked for the rest of the window. */
  loginFailuresPerAccount: Limit;
  /** Registrations per client IP. */
  registerPerIp: Limit;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  loginPerIp: { max: 30, window: 60 },
  loginFailuresPerAccount: { max: 10, window: 15 * 60 },
  registerPerIp: { max: 10, window: 10 * 60 },
};
