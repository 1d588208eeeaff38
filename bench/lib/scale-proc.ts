// Where the CPU time goes during a benchmark slice, read from Linux's /proc (no dependency):
// process CPU times (utime + stime of /proc/<pid>/stat, all threads included), the whole machine's
// busy time (/proc/stat), PostgreSQL backends found through pg_stat_activity, and a sampler of
// what those backends are doing (running, waiting for a lock, flushing WAL, waiting for the app).
// Shared by bench/scale.ts and bench/sessions.ts. Off Linux every reading is null.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type pg from 'pg';
import { loadAverage, machineCpu } from './common.ts';

export { loadAverage };

/** Clock ticks per second of /proc times (getconf CLK_TCK; 100 on every usual Linux). */
const TICKS_PER_SECOND = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) of a process so far, in microseconds; undefined if it is gone. */
export function processCpuUs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1e6) / TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/** The parent process id of a process (field 4 of /proc/<pid>/stat). */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return ppid > 0 ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** A group of processes whose CPU time is added up: e.g. "servers", "postgres backends". */
export interface ProcessGroup {
  name: string;
  /** The pids to read now (asked at the start and at the end of a slice). */
  pids: () => number[] | Promise<number[]>;
}

export interface CpuReading {
  /** Wall-clock microseconds of the slice. */
  wallUs: number;
  /** CPU microseconds per group over the slice. */
  groups: Record<string, number>;
  /** Cores' worth of CPU busy on the whole machine over the slice; null off Linux. */
  machineBusyCores: number | null;
  /** Processes of a group seen at the start and gone at the end: their last CPU time is lost. */
  vanished: number;
}

/**
 * Measures CPU time per process group over a slice: `start()` reads every group's processes,
 * `stop()` reads them again. A process that appeared meanwhile (a new database connection)
 * counts with its whole CPU time, which was all spent during the slice or just before.
 */
export class CpuMeter {
  readonly #groups: readonly ProcessGroup[];
  #before = new Map<string, Map<number, number>>();
  #machine: { busy: number; total: number } | undefined;
  #started = 0;

  constructor(groups: readonly ProcessGroup[]) {
    this.#groups = groups;
  }

  async #read(): Promise<Map<string, Map<number, number>>> {
    const out = new Map<string, Map<number, number>>();
    for (const group of this.#groups) {
      const times = new Map<number, number>();
      for (const pid of await group.pids()) {
        const us = processCpuUs(pid);
        if (us !== undefined) times.set(pid, us);
      }
      out.set(group.name, times);
    }
    return out;
  }

  async start(): Promise<void> {
    this.#before = await this.#read();
    this.#machine = machineCpu();
    this.#started = performance.now();
  }

  async stop(): Promise<CpuReading> {
    const wallUs = (performance.now() - this.#started) * 1000;
    const machine = machineCpu();
    const after = await this.#read();
    const groups: Record<string, number> = {};
    let vanished = 0;
    for (const group of this.#groups) {
      const before = this.#before.get(group.name) ?? new Map<number, number>();
      const now = after.get(group.name) ?? new Map<number, number>();
      let sum = 0;
      for (const [pid, us] of now) sum += us - (before.get(pid) ?? 0);
      for (const pid of before.keys()) if (!now.has(pid)) vanished++;
      groups[group.name] = sum;
    }
    let machineBusyCores: number | null = null;
    if (
      this.#machine !== undefined &&
      machine !== undefined &&
      machine.total > this.#machine.total
    ) {
      machineBusyCores =
        ((machine.busy - this.#machine.busy) / (machine.total - this.#machine.total)) *
        cpus().length;
    }
    return { wallUs, groups, machineBusyCores, vanished };
  }
}

/** The pids of PostgreSQL processes, read from pg_stat_activity through an admin connection. */
export async function postgresPids(
  admin: pg.Client,
  database: string,
): Promise<{ backends: number[]; autovacuum: number[]; shared: number[] }> {
  const { rows } = await admin.query<{ pid: number; datname: string | null; backend_type: string }>(
    'SELECT pid, datname, backend_type FROM pg_stat_activity WHERE pid <> pg_backend_pid()',
  );
  const backends: number[] = [];
  const autovacuum: number[] = [];
  const shared: number[] = [];
  for (const row of rows) {
    if (row.datname === database) {
      (row.backend_type === 'client backend' ? backends : autovacuum).push(row.pid);
    } else if (row.datname === null) {
      // WAL writer, checkpointer, background writer, launchers: shared by every database.
      shared.push(row.pid);
    }
  }
  // The postmaster (the parent of every backend) is shared too.
  const postmaster = parentPid(rows[0]?.pid ?? 0);
  if (postmaster !== undefined) shared.push(postmaster);
  return { backends, autovacuum, shared };
}

/** What a PostgreSQL client backend was doing when sampled (short labels, for table columns). */
export function classifyBackend(
  state: string | null,
  waitType: string | null,
  waitEvent: string | null,
): string {
  if (state === 'idle') return 'idle';
  if (state === 'idle in transaction') return 'in transaction, waiting for the app';
  if (state !== 'active') return `other: ${state ?? 'unknown'}`;
  if (waitType === null) return 'running (CPU)';
  if (waitType === 'IO' && (waitEvent === 'WALSync' || waitEvent === 'WALWrite'))
    return 'WAL flush';
  if (waitType === 'LWLock' && waitEvent === 'WALWrite') return 'waiting for a WAL flush';
  if (waitType === 'Lock') return `lock wait (${waitEvent})`;
  // Active but between two messages of one statement (Parse/Bind/Execute): the app's turn.
  if (waitType === 'Client') return 'reading from the app';
  return `${waitType}: ${waitEvent}`;
}

/** The order of the activities in tables: the database's own work first, idle last. */
export function activityOrder(a: string, b: string): number {
  const rank = (x: string) =>
    x === 'running (CPU)'
      ? 0
      : x === 'WAL flush'
        ? 1
        : x === 'waiting for a WAL flush'
          ? 2
          : x.startsWith('lock wait')
            ? 3
            : x === 'reading from the app'
              ? 5
              : x === 'in transaction, waiting for the app'
                ? 6
                : x === 'idle'
                  ? 7
                  : 4;
  return rank(a) - rank(b) || a.localeCompare(b);
}

/**
 * Samples pg_stat_activity every `intervalMs` while running and reports, per activity, the
 * average number of the database's client backends found in it: a picture of where the database
 * side of a request spends its time. Runs on its own connection (to another database, so that it
 * never counts itself).
 */
export class BackendSampler {
  readonly #client: pg.Client;
  readonly #database: string;
  readonly #intervalMs: number;
  #counts = new Map<string, number>();
  #samples = 0;
  #running: Promise<void> | undefined;
  #stop = false;

  constructor(client: pg.Client, database: string, intervalMs = 20) {
    this.#client = client;
    this.#database = database;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    this.#counts = new Map();
    this.#samples = 0;
    this.#stop = false;
    this.#running = this.#loop();
  }

  async #loop(): Promise<void> {
    while (!this.#stop) {
      const { rows } = await this.#client.query<{
        state: string | null;
        wait_event_type: string | null;
        wait_event: string | null;
      }>(
        `SELECT state, wait_event_type, wait_event FROM pg_stat_activity
         WHERE datname = $1 AND backend_type = 'client backend'`,
        [this.#database],
      );
      this.#samples++;
      for (const row of rows) {
        const key = classifyBackend(row.state, row.wait_event_type, row.wait_event);
        this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
      }
      await new Promise((resolve) => setTimeout(resolve, this.#intervalMs));
    }
  }

  /** Average number of backends per activity over the samples, largest first. */
  async stop(): Promise<{ samples: number; backends: Record<string, number> }> {
    this.#stop = true;
    await this.#running;
    const backends: Record<string, number> = {};
    const sorted = [...this.#counts].sort((a, b) => b[1] - a[1]);
    for (const [key, n] of sorted) {
      backends[key] = Math.round((n / Math.max(1, this.#samples)) * 100) / 100;
    }
    return { samples: this.#samples, backends };
  }
}

/**
 * Waits until the 1-minute load average is below `below` (polling every 30 s, at most `maxS`
 * seconds). Returns whether it got there; the caller runs anyway either way.
 */
export async function waitForQuiet(below: number, maxS: number): Promise<boolean> {
  const end = Date.now() + maxS * 1000;
  for (;;) {
    const [one] = loadAverage();
    if (one < below) return true;
    if (Date.now() >= end) return false;
    process.stderr.write(`load average ${one} ≥ ${below}: waiting 30 s for a quieter machine\n`);
    await new Promise((resolve) => setTimeout(resolve, 30_000));
  }
}

/** A fresh database for one benchmark run: its name and its URL beside `adminUrl`. */
export function benchDatabase(adminUrl: string, run: string): { database: string; url: string } {
  const database = `laissez_bench_${run}`;
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return { database, url: url.toString() };
}

/** Drops the run's database (its connections too) and closes `admin`; a failure is only told. */
export async function dropDatabase(admin: pg.Client, database: string): Promise<void> {
  await admin
    .query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(database)} WITH (FORCE)`)
    .catch((error: unknown) =>
      process.stderr.write(`could not drop ${database}: ${String(error)}\n`),
    );
  await admin.end().catch(() => {});
}
