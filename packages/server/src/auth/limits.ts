// Rate limits and lock-outs. The counting is behind a small interface so that one process can
// count in memory and several auth servers can share counters (Redis, in the scale-out store).

/** Counts hits per key in fixed windows. */
export interface CounterStore {
  /** Adds one hit to `key` and returns the count in the current window and when it ends (ms). */
  hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }>;
  /**
   * Adds one hit to `key` only if fewer than `max` are counted in the current window, in one atomic
   * step: of N callers at once, at most `max` get `ok: true`, whatever the interleaving (across
   * processes too, for a shared store). Returns the count after the call and when the window ends.
   * A log-in reserves its attempt this way *before* it hashes the password.
   */
  reserve(
    key: string,
    max: number,
    windowMs: number,
    now: number,
  ): Promise<{ ok: boolean; count: number; resetAt: number }>;
  /**
   * Gives back one hit taken by `reserve` (an attempt that turned out not to be a failure): the
   * count goes down by one, never below zero, and the window keeps its end.
   */
  release(key: string, now: number): Promise<void>;
  /** Reads the count without adding to it. */
  peek(key: string, now: number): Promise<{ count: number; resetAt: number }>;
  reset(key: string): Promise<void>;
}

/** An in-memory counter store for one process. Bounded: old windows are swept as it grows. */
export class MemoryCounterStore implements CounterStore {
  /** `max`: the limit a `reserve` gave the window, so a sweep can tell a lock-out from a count. */
  readonly #windows = new Map<string, { count: number; resetAt: number; max?: number }>();
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

  async reserve(key: string, max: number, windowMs: number, now: number) {
    checkMax(max);
    // No await between the read and the write: one process, so this is atomic.
    let entry = this.#windows.get(key);
    if (entry && entry.resetAt > now && entry.count >= max) {
      return { ok: false, count: entry.count, resetAt: entry.resetAt };
    }
    if (!entry || entry.resetAt <= now) {
      if (this.#windows.size >= this.#max) this.#sweep(now);
      entry = { count: 0, resetAt: now + windowMs };
      this.#windows.set(key, entry);
    }
    entry.count++;
    entry.max = max;
    return { ok: true, count: entry.count, resetAt: entry.resetAt };
  }

  async release(key: string, now: number) {
    const entry = this.#windows.get(key);
    if (entry && entry.resetAt > now && entry.count > 0) entry.count--;
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
    // Still full: make room for a tenth at once (not one entry per insertion, each a full scan),
    // dropping windows that refuse nothing yet, oldest first. A window at its limit is a lock-out:
    // dropping it would let whoever can make enough new keys (fresh names from many addresses,
    // each refused without a hash) erase the lock on the account they are guessing. Filling the
    // store with locked windows instead takes a checked guess (a hash) per count. Only when every
    // window is a lock-out are the oldest of them dropped, rather than grow without bound.
    const target = this.#max - Math.max(1, Math.floor(this.#max / 10));
    for (const [key, entry] of this.#windows) {
      if (this.#windows.size <= target) return;
      if (entry.max === undefined || entry.count < entry.max) this.#windows.delete(key);
    }
    for (const key of this.#windows.keys()) {
      if (this.#windows.size <= target) return;
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

/**
 * The limits on log-in and registration. Log-in failures are counted per account (the user's id,
 * so that its username and email share one count; for a name no account has, the name itself),
 * in three budgets modelled on OWASP's "Slow Down Online Guessing Attacks with Device Cookies":
 * a device that logged in to the account before (it presents the device token it was given)
 * spends its own budget; any other client spends both its own per-address budget and the budget
 * shared by every such client of the account. Every attempt is counted before the password is
 * hashed and given back when it succeeds, so concurrent guesses never get past a budget.
 */
export interface RateLimits {
  /** Log-in attempts per client IP, whatever the account. */
  loginPerIp: Limit;
  /**
   * Failed log-ins per account from clients without a device token of it (all of them together),
   * before every such client is refused for the rest of the window. Devices that logged in before
   * are not refused by this: the owner still gets in while strangers lock it.
   */
  loginFailuresPerAccount: Limit;
  /**
   * Failed log-ins per account from one client address without a device token. Lower than
   * `loginFailuresPerAccount`, so that one address cannot lock the account for everyone else.
   * Default 5 in 15 minutes; when a `rateLimits` object leaves it out, `loginFailuresPerAccount`.
   */
  loginFailuresPerClient?: Limit;
  /**
   * Failed log-ins per device token (a device that logged in to the account before), after which
   * that device is refused for the rest of the window. Default 5 in 15 minutes; when a
   * `rateLimits` object leaves it out, `loginFailuresPerAccount`.
   */
  loginFailuresPerDevice?: Limit;
  /** Registrations per client IP. */
  registerPerIp: Limit;
  /**
   * Requests per signed-in account to its own account routes (session list, end a session, change
   * password, delete account). Password confirmations also spend the log-in failure budgets.
   */
  accountPerUser?: Limit;
  /**
   * Wrong second-factor codes (TOTP or recovery), and wrong passwords when disabling a factor,
   * per account, whatever the client, before every second-factor check of the account is
   * refused for the rest of the window (RFC 4226 §7.3 throttling). Default 5 in 15 minutes.
   */
  secondFactorFailuresPerAccount?: Limit;
}

export const DEFAULT_RATE_LIMITS: Readonly<Required<RateLimits>> = Object.freeze({
  loginPerIp: { max: 30, window: 60 },
  loginFailuresPerAccount: { max: 10, window: 15 * 60 },
  loginFailuresPerClient: { max: 5, window: 15 * 60 },
  loginFailuresPerDevice: { max: 5, window: 15 * 60 },
  registerPerIp: { max: 10, window: 10 * 60 },
  accountPerUser: { max: 30, window: 60 },
  secondFactorFailuresPerAccount: { max: 5, window: 15 * 60 },
});

const LIMIT_NAMES = Object.keys(DEFAULT_RATE_LIMITS) as (keyof RateLimits)[];

/** Edit distance between two short names, for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        previous[j]! + 1,
        row[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length]!;
}

function checkMax(max: unknown): void {
  if (!Number.isSafeInteger(max) || (max as number) < 1) {
    throw new TypeError('max must be a whole number of hits, at least 1');
  }
}

/**
 * Checks a `rateLimits` option once, at setup, and fills in what it leaves out: unknown names are
 * refused (a misspelt limit would otherwise be silently unlimited), each limit needs a whole `max`
 * of at least 1 and a `window` of seconds over 0. The result is frozen.
 */
export function resolveRateLimits(limits: RateLimits | undefined): Readonly<Required<RateLimits>> {
  if (limits === undefined) return DEFAULT_RATE_LIMITS;
  if (limits === null || typeof limits !== 'object') {
    throw new TypeError('rateLimits must be an object of limits { max, window }');
  }
  for (const name of Object.keys(limits)) {
    if ((LIMIT_NAMES as string[]).includes(name)) continue;
    const near = LIMIT_NAMES.find((known) => distance(name, known) <= 3);
    throw new TypeError(
      `rateLimits has no limit '${name}'${near ? `; did you mean '${near}'?` : ''} (known: ${LIMIT_NAMES.join(', ')})`,
    );
  }
  const given = { ...limits };
  // A limits object written before the per-client and per-device budgets existed keeps one
  // account-wide budget rather than getting a stricter one it did not ask for.
  given.loginFailuresPerClient ??= given.loginFailuresPerAccount;
  given.loginFailuresPerDevice ??= given.loginFailuresPerAccount;
  const resolved = {} as Record<keyof RateLimits, Limit>;
  for (const name of LIMIT_NAMES) {
    const limit = given[name] ?? DEFAULT_RATE_LIMITS[name];
    if (
      limit === null ||
      typeof limit !== 'object' ||
      !Number.isSafeInteger(limit.max) ||
      limit.max < 1 ||
      typeof limit.window !== 'number' ||
      !(limit.window > 0 && limit.window <= 366 * 24 * 3600)
    ) {
      throw new TypeError(
        `rateLimits.${name} must be { max: a whole number >= 1, window: seconds over 0 }`,
      );
    }
    resolved[name] = Object.freeze({ max: limit.max, window: limit.window });
  }
  return Object.freeze(resolved) as Readonly<Required<RateLimits>>;
}
