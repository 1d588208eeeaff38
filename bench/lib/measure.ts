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

/**
 * Warms every case up, then runs `rounds` interleaved rounds: in each round every case is timed for
 * one slice, in round-robin order (rotated each round so no case always follows the same one).
 * Returns ops/s per round for each case id.
 */
export async function runRounds(
  cases: readonly BenchCase[],
  options: RoundsOptions,
): Promise<Map<string, number[]>> {
  const batches = new Map<string, number>();
  for (const c of cases) batches.set(c.id, await warmUp(c, options.warmupMs));
  const samples = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(k + round) % cases.length]!;
      const slice = await timeCase(c, batches.get(c.id)!, options.sliceMs);
      samples.get(c.id)!.push((slice.ops * 1000) / slice.ms);
    }
    options.onRound?.(round + 1);
  }
  return samples;
}
