// Timing primitives for the micro-benchmarks: a case is timed for a fixed slice of wall-clock
// time, in batches so that reading the clock does not dominate fast operations; rounds are
// interleaved across cases by the caller, and each case keeps one ops/s figure per round.

/** One thing to time. `run` is called repeatedly; an async case is awaited call by call. */
export interface BenchCase {
  readonly id: string;
  readonly async: boolean;
  readonly run: () => unknown;
}

/** Whatever the last call returned, kept so that the engine cannot drop the work as dead code. */
let sink: unknown;

/** Reads the sink; callers print nothing from it, it only has to be reachable. */
export function consumeSink(): unknown {
  return sink;
}

export interface Slice {
  ops: number;
  ms: number;
}

/** Calls a synchronous `run` in batches of `batch` until `ms` milliseconds have passed. */
export function timeSync(run: () => unknown, batch: number, ms: number): Slice {
  let last: unknown;
  let ops = 0;
  const start = performance.now();
  const end = start + ms;
  let now = start;
  do {
    for (let i = 0; i < batch; i++) last = run();
    ops += batch;
    now = performance.now();
  } while (now < end);
  sink = last;
  return { ops, ms: now - start };
}

/** Awaits an asynchronous `run` call by call, in batches, until `ms` milliseconds have passed. */
export async function timeAsync(run: () => unknown, batch: number, ms: number): Promise<Slice> {
  let last: unknown;
  let ops = 0;
  const start = performance.now();
  const end = start + ms;
  let now = start;
  do {
    for (let i = 0; i < batch; i++) last = await run();
    ops += batch;
    now = performance.now();
  } while (now < end);
  sink = last;
  return { ops, ms: now - start };
}

/** Times one slice of a case. */
export function timeCase(c: BenchCase, batch: number, ms: number): Slice | Promise<Slice> {
  return c.async ? timeAsync(c.run, batch, ms) : timeSync(c.run, batch, ms);
}

/** Runs a case for about `ms` (JIT warm-up) and returns a batch size worth about 1 ms per batch. */
export async function warmUp(c: BenchCase, ms: number): Promise<number> {
  // Start at one call per batch so that slow operations (RSA signing) do not overshoot.
  const first = await timeCase(c, 1, ms / 2);
  const perOpMs = first.ms / first.ops;
  const batch = Math.max(1, Math.min(10_000, Math.floor(1 / perOpMs)));
  await timeCase(c, batch, ms / 2);
  return batch;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median absolute deviation relative to the median, in percent: how noisy the rounds were. */
export function relativeMad(values: readonly number[]): number {
  const m = median(values);
  if (!(m > 0)) return Number.NaN;
  return (median(values.map((v) => Math.abs(v - m))) / m) * 100;
}

export interface RoundsOptions {
  rounds: number;
  sliceMs: number;
  warmupMs: number;
  /** Called after each round with its index (1-based). */
  onRound?: (round: number) => void;
}

/** A small seeded generator (mulberry32): the same order of cases on every run of the benchmark. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The cases in a new order (Fisher-Yates). */
function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** `gc()` when Node runs with --expose-gc (the bench scripts do), else nothing. */
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});

/**
 * Warms every case up, then runs `rounds` interleaved rounds: in each round every case is timed for
 * one slice, in a new (seeded) order each round, so no case always follows the same one: a case
 * that leaves garbage or cold caches behind (jose's promises, an RSA signature) burdens a
 * different neighbour each round, and the medians of the rounds even it out. With --expose-gc, a
 * full collection runs before each slice, outside the timing, so no slice pays for the garbage of
 * the one before. Returns ops/s per round for each case id.
 */
export async function runRounds(
  cases: readonly BenchCase[],
  options: RoundsOptions,
): Promise<Map<string, number[]>> {
  const batches = new Map<string, number>();
  for (const c of cases) batches.set(c.id, await warmUp(c, options.warmupMs));
  const samples = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  const random = seeded(0x1a155e2);
  for (let round = 0; round < options.rounds; round++) {
    for (const c of shuffled(cases, random)) {
      collect();
      const slice = await timeCase(c, batches.get(c.id)!, options.sliceMs);
      samples.get(c.id)!.push((slice.ops * 1000) / slice.ms);
    }
    options.onRound?.(round + 1);
  }
  return samples;
}
