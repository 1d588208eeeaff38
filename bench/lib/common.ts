// What every benchmark script does the same way: reading its flags, rounding, reading the
// machine's CPU counters, describing the machine and the packages measured, printing tables
// (aligned text for the terminal, Markdown for bench/results/), writing its one latest result,
// forging tokens for its checks, and running a server process.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './measure.ts';

/** Parses a positive number flag (or environment variable); `fallback` when it is unset. */
export function positiveNumber(
  name: string,
  raw: string | undefined,
  fallback: number,
  int = false,
): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(n > 0) || !Number.isFinite(n) || (int && !Number.isInteger(n))) {
    throw new TypeError(`${name} must be a positive ${int ? 'integer' : 'number'}`);
  }
  return n;
}

/** Parses a flag that is 0 or a positive integer. */
export function nonNegativeInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`${name} must be 0 or a positive integer`);
  return n;
}

/** Picks names from `all` given as `a,b` (or `all`); unknown names are refused with the list. */
export function pickList<T extends string>(
  name: string,
  raw: string | undefined,
  all: readonly T[],
  fallback: readonly T[] = all,
): T[] {
  if (raw === undefined || raw === '') return [...fallback];
  if (raw === 'all') return [...all];
  const wanted = raw.split(',').map((s) => s.trim());
  for (const w of wanted) {
    if (!all.includes(w as T)) {
      throw new TypeError(`${name}: unknown ${w} (one of ${all.join(', ')}, or all)`);
    }
  }
  return all.filter((a) => wanted.includes(a));
}

/**
 * The command line of a benchmark: its own string flags (`names`), each of which may fall back to
 * an environment variable, plus the two every benchmark takes: --quick (fewer, shorter rounds)
 * and --no-write (print only; leave bench/results alone). Unknown flags are refused.
 */
export function benchFlags(names: readonly string[]) {
  const { values } = parseArgs({
    options: {
      ...Object.fromEntries(names.map((n) => [n, { type: 'string' as const }])),
      quick: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
    },
  });
  const strings = values as Record<string, string | boolean | undefined>;
  const raw = (name: string, env?: string) =>
    (strings[name] as string | undefined) ?? (env === undefined ? undefined : process.env[env]);
  return {
    quick: values.quick === true,
    write: values['no-write'] !== true,
    raw,
    /** A positive number of seconds, milliseconds, ... */
    number: (name: string, env: string | undefined, fallback: number) =>
      positiveNumber(`--${name}`, raw(name, env), fallback),
    /** A positive whole number. */
    int: (name: string, env: string | undefined, fallback: number) =>
      positiveNumber(`--${name}`, raw(name, env), fallback, true),
    /** 0 or a positive whole number. */
    count: (name: string, env: string | undefined, fallback: number) =>
      nonNegativeInt(`--${name}`, raw(name, env), fallback),
    list: <T extends string>(
      name: string,
      env: string | undefined,
      all: readonly T[],
      fallback?: readonly T[],
    ) => pickList(`--${name}`, raw(name, env), all, fallback),
  };
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export const fmtInt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
export const pct = (n: number) => `${Math.round(n * 100)}%`;
export const round1 = (n: number) => Math.round(n * 10) / 10;
export const round2 = (n: number) => Math.round(n * 100) / 100;
export const round4 = (n: number) => Math.round(n * 1e4) / 1e4;

/** The 1, 5 and 15-minute load averages, to two decimals. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = loadavg().map(round2);
  return [a ?? 0, b ?? 0, c ?? 0];
}

/** An exact-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Busy and total CPU time of the whole machine (Linux /proc/stat, in ticks); undefined elsewhere. */
export function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
    // cpu user nice system idle iowait irq softirq steal ...; guest time is already in user.
    const t = fields.slice(1, 9).map(Number);
    const total = t.reduce((a, b) => a + b, 0);
    return { busy: total - t[3]! - t[4]!, total };
  } catch {
    return undefined;
  }
}

/** The `version` of a package.json, given relative to the repository root; 'unknown' if absent. */
export function packageVersion(packageJson: string): string {
  const file = fileURLToPath(new URL(`../../${packageJson}`, import.meta.url));
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** `laissez 0.1.0, fast-jwt 6.3.6, …`: the packages a run measured. */
export const versionsLine = (versions: Record<string, string>) =>
  Object.entries(versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');

/** The machine a run measured, as the results record it. */
export interface MachineMeta {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  platform: string;
}

export function machineMeta(): MachineMeta {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    platform: `${platform()} ${arch()}`,
  };
}

/** `node v24 · <cpu> (2 cores) · linux x64 · <extra> · <date>`. */
export function machineLine(meta: MachineMeta, extra?: string): string {
  return [
    `node ${meta.node}`,
    `${meta.cpu} (${meta.cores} cores)`,
    meta.platform,
    ...(extra === undefined ? [] : [extra]),
    meta.date,
  ].join(' · ');
}

/** `load average (1, 5, 15 min) before a / b / c, after d / e / f`, and whether a wait gave up. */
export function loadLine(
  before: readonly number[],
  after: readonly number[],
  waitedForQuiet: boolean | null = null,
): string {
  return (
    `load average (1, 5, 15 min) before ${before.join(' / ')}, after ${after.join(' / ')}` +
    (waitedForQuiet === false
      ? ' (it never dropped below the --wait-load threshold: run anyway)'
      : '')
  );
}

/** How busy the rest of the machine was during the kept slices, in cores; null off Linux. */
export interface Disturbance {
  medianOtherCores: number;
  maxOtherCores: number;
  slicesRunAgain: number;
}

/** `others`: each kept slice's other load in cores (null where unmeasured); `runAgain`: retries. */
export function disturbanceOf(
  others: readonly (number | null)[],
  runAgain: number,
): Disturbance | null {
  const measured = others.filter((o): o is number => o !== null);
  if (measured.length === 0) return null;
  return {
    medianOtherCores: round2(median(measured)),
    maxOtherCores: round2(Math.max(...measured)),
    slicesRunAgain: runAgain,
  };
}

export function disturbanceLine(d: Disturbance | null): string {
  return d === null
    ? 'other load: not measured (no /proc/stat)'
    : `other load during the kept slices: median ${pct(d.medianOtherCores)} of a core, max ${pct(d.maxOtherCores)}; ${d.slicesRunAgain} slices run again`;
}

/**
 * Two forgeries of a compact JWS that every verifier must refuse: one signature character
 * changed, and the payload rewritten to claim another subject under the original signature.
 */
export function forgedTokens(token: string): [badSignature: string, otherSubject: string] {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const at = Math.floor(signature.length / 2);
  const flipped =
    signature.slice(0, at) + (signature[at] === 'A' ? 'B' : 'A') + signature.slice(at + 1);
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  const admin = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
  return [`${header}.${payload}.${flipped}`, `${header}.${admin}.${signature}`];
}

/** The column indexes from `first` on: the figures of a table, aligned right. */
export const columnsFrom = (headers: readonly string[], first: number): ReadonlySet<number> =>
  new Set(headers.map((_, i) => i).filter((i) => i >= first));

/** A table as the text and Markdown printers take it. */
export interface Table {
  headers: readonly string[];
  rows: readonly (readonly string[])[];
  /** Columns aligned right. */
  right: ReadonlySet<number>;
  /** In the terminal, a blank line between rows of different groups. */
  groupOf?: (row: number) => string;
}

/** A part of a report after its main table: lines (bullets in Markdown), a table, or both. */
export interface Section {
  heading: string;
  /** A paragraph before the lines and the table. */
  intro?: string;
  lines?: readonly string[];
  table?: Table;
  /** Only in the results file (a chart, notes the terminal does without). */
  fileOnly?: boolean;
}

export interface Report {
  /** The results files' stem: bench/results/<name>-latest.*. */
  name: string;
  title: string;
  /** The machine, the method and notes: under the title. */
  bullets: readonly string[];
  table: Table;
  sections?: readonly Section[];
  /** The compact summary written as JSON: settings, machine, medians and spreads. */
  json: unknown;
  write: boolean;
  /** Other files by extension (the sessions chart). */
  extra?: Record<string, string>;
}

/**
 * Prints a benchmark's report to stdout (aligned text) and, unless --no-write, writes its one
 * latest result: bench/results/<name>-latest.md (the same in Markdown), .json (the compact
 * summary, not every round's raw figure) and any extra files. Each run replaces the one before.
 */
export function report(r: Report): void {
  const text = [`\n${r.title}`, ...r.bullets, '', textTable(r.table), ''];
  const md = [`# ${r.title}`, '', ...r.bullets.map((b) => `- ${b}`), '', ...markdownTable(r.table)];
  for (const s of r.sections ?? []) {
    if (!s.fileOnly) {
      text.push(`${s.heading}:`, ...(s.intro ? [s.intro] : []), ...(s.lines ?? []));
      text.push(...(s.table ? [textTable(s.table)] : []), '');
    }
    md.push('', `## ${s.heading}`, '', ...(s.intro ? [s.intro, ''] : []));
    md.push(...(s.lines ?? []).map((l) => `- ${l}`), ...(s.table ? markdownTable(s.table) : []));
  }
  process.stdout.write(`${text.join('\n')}\n`);
  if (!r.write) return;
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {
    json: `${JSON.stringify(r.json, null, 2)}\n`,
    md: `${md.join('\n')}\n`,
    ...r.extra,
  };
  for (const [ext, content] of Object.entries(files)) {
    writeFileSync(`${dir}${r.name}-latest.${ext}`, content);
  }
  const written = Object.keys(files).map((ext) => `bench/results/${r.name}-latest.${ext}`);
  process.stdout.write(`wrote ${written.join(', ')}\n`);
}

/** Seconds since `started` (a performance.now() reading), to a tenth. */
export const elapsedS = (started: number) => Math.round((performance.now() - started) / 100) / 10;

/**
 * An aligned text table: the columns in `right` are right-aligned. With `groupOf`, a blank line
 * separates rows whose group differs from the row before.
 */
export function textTable({ headers, rows, right, groupOf }: Table): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => (right.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(headers), widths.map((w) => '-'.repeat(w)).join('  ')];
  let previous: string | undefined;
  for (const [i, c] of rows.entries()) {
    const group = groupOf?.(i);
    if (previous !== undefined && group !== previous) out.push('');
    previous = group;
    out.push(line(c));
  }
  return out.join('\n');
}

/** The same table in Markdown, as lines. */
export function markdownTable({ headers, rows, right }: Table): string[] {
  return [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map((_, i) => (right.has(i) ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((c) => `| ${c.join(' | ')} |`),
  ];
}

/**
 * Runs a slice up to `retries + 1` times while other programs disturb it (their share of the CPU,
 * `otherOf`, above `above`) and keeps the quietest attempt, with how many attempts it took.
 * `report` is told of each attempt and whether another one follows.
 */
export async function quietestSlice<S>(
  retries: number,
  above: number,
  run: () => Promise<S>,
  otherOf: (sample: S) => number | null,
  report: (sample: S, again: boolean) => void,
): Promise<S & { attempts: number }> {
  let kept: S | undefined;
  let attempts = 0;
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    const sample = await run();
    attempts = attempt;
    if (kept === undefined || (otherOf(sample) ?? 0) < (otherOf(kept) ?? 0)) kept = sample;
    const other = otherOf(sample);
    const noisy = other !== null && other > above;
    report(sample, noisy && attempt <= retries);
    if (!noisy) break;
  }
  return { ...kept!, attempts };
}

/**
 * Runs `rounds` rounds of every case, the order rotated each round so that a noisy moment does
 * not always hit the same case; each slice goes through quietestSlice (run again while other
 * programs take more than `above` cores), with one progress line per attempt on stderr.
 */
export async function rotatingRounds<C, S>(o: {
  rounds: number;
  cases: readonly C[];
  retries: number;
  above: number;
  run: (c: C, round: number) => Promise<S>;
  otherOf: (sample: S) => number | null;
  /** The progress line's text for an attempt, after `round r/R`. */
  describe: (c: C, sample: S) => string;
}): Promise<(S & { attempts: number })[]> {
  const kept: (S & { attempts: number })[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    for (let k = 0; k < o.cases.length; k++) {
      const c = o.cases[(k + round - 1) % o.cases.length]!;
      const sample = await quietestSlice(
        o.retries,
        o.above,
        () => o.run(c, round),
        o.otherOf,
        (s, again) =>
          process.stderr.write(
            `round ${round}/${o.rounds} ${o.describe(c, s)}${again ? ' (busy machine: again)' : ''}\n`,
          ),
      );
      kept.push(sample);
    }
  }
  return kept;
}

/** `server 0.98 postgres 0.02 …`: cores' worth of CPU per group, for progress lines. */
export const coresLine = (cores: Record<string, number | null>) =>
  Object.entries(cores)
    .map(([name, n]) => `${name} ${n === null ? 'n/a' : n.toFixed(2)}`)
    .join(' ');

/**
 * For a benchmark's server process: prints its URL on stdout (the driver waits for that line),
 * then closes and exits on SIGTERM or when the driver's IPC channel goes away: 0 when `close`
 * succeeds, 1 when it fails, 0 anyway after `graceMs` (keep-alive connections may hold a close
 * open; the benchmark is over either way).
 */
export function serveUntilStopped(
  url: string,
  close: () => Promise<unknown>,
  graceMs = 1000,
): void {
  process.stdout.write(`${url}\n`);
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
    setTimeout(() => process.exit(0), graceMs).unref();
  };
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
}
