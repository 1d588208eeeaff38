// Shared by the scale-out tests (test/scale/*.test.ts): several `laissez serve` processes on
// loopback sharing one PostgreSQL database (and one Redis), a throw-away PostgreSQL cluster that a
// test may stop and start, and an HTTP client that names the client IP (X-Forwarded-For, with the
// servers started with LAISSEZ_TRUST_PROXY=on, as behind a load balancer) and never waits for ever.
//
// These tests need PostgreSQL (LAISSEZ_TEST_DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/test), its server binaries (LAISSEZ_TEST_PG_BIN, default
// /usr/lib/postgresql/15/bin) and redis-server. They never skip themselves: when something is
// missing they FAIL, saying what. A developer without them may set LAISSEZ_TEST_PG=off or
// LAISSEZ_TEST_REDIS=off to skip them locally; CI (CI set) refuses that.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, type SuiteContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from '../../../middleware/test/redis/helpers.ts';
import { generateKekText } from '../../src/auth/kek.ts';
import { cleanEnv, LAISSEZ, type Service, startService } from '../helpers/processes.ts';

export { NOTES_API } from '../../../../test/examples/processes.ts';
export { freePort, type TempRedis, tempRedis } from '../../../middleware/test/redis/helpers.ts';

export const DATABASE_URL =
  process.env['LAISSEZ_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const PG_BIN = process.env['LAISSEZ_TEST_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

/** The same issuer on every instance: tokens of one must pass the `iss` check of the others. */
export const ISSUER = 'https://auth.scale.test';
/** The key-encryption key every instance of a test shares (docs/hardening.md, signing keys at rest). */
export const SCALE_KEK = generateKekText();

const optedOut =
  process.env['LAISSEZ_TEST_PG'] === 'off' || process.env['LAISSEZ_TEST_REDIS'] === 'off';

/**
 * A suite of scale-out tests. Skipped only when a developer opted out locally
 * (LAISSEZ_TEST_PG=off or LAISSEZ_TEST_REDIS=off); in CI an opt-out fails the suite instead.
 */
export function describeScale(
  name: string,
  options: { timeout: number },
  fn: (suite: SuiteContext) => void,
): void {
  if (optedOut && !process.env['CI']) {
    test(name, { skip: 'LAISSEZ_TEST_PG=off or LAISSEZ_TEST_REDIS=off' }, () => {});
    return;
  }
  if (optedOut) {
    test(name, () => {
      throw new Error('LAISSEZ_TEST_PG=off / LAISSEZ_TEST_REDIS=off are not allowed in CI');
    });
    return;
  }
  describe(name, options, fn);
}

/** Hides the password of a connection string, for messages. */
const shown = (url: string) => url.replace(/:[^:@/]*@/, ':***@');

/** Connects to `url` once; the error, with a clear message, when that fails. */
async function connectOnce(url: string, timeout = 5000): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeout });
  client.on('error', () => {});
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
}

/** A database of its own on the shared PostgreSQL server, dropped (WITH (FORCE)) by `drop()`. */
export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  /** Runs a query in the database (one small pool, opened on first use). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  drop(): Promise<void>;
}

/** Creates `laissez_scale_<random>` on the PostgreSQL server of LAISSEZ_TEST_DATABASE_URL. */
export async function scratchDatabase(): Promise<ScratchDatabase> {
  let admin: pg.Client;
  try {
    admin = await connectOnce(DATABASE_URL);
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${shown(DATABASE_URL)} (${(error as Error).message}). ` +
        'Start it, point LAISSEZ_TEST_DATABASE_URL at one, or set LAISSEZ_TEST_PG=off to skip ' +
        'the scale tests on your machine (never in CI).',
    );
  }
  const name = `laissez_scale_${randomBytes(6).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end().catch(() => {});
  }
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  let pool: pg.Pool | undefined;
  return {
    name,
    url: url.href,
    query(sql, params) {
      if (!pool) {
        pool = new pg.Pool({ connectionString: url.href, max: 2 });
        pool.on('error', () => {});
      }
      return pool.query(sql, params);
    },
    async drop() {
      await pool?.end().catch(() => {});
      pool = undefined;
      const client = await connectOnce(DATABASE_URL);
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end().catch(() => {});
      }
    },
  };
}

/**
 * A throw-away PostgreSQL cluster (initdb in a temporary directory), run as a child process on a
 * spare port, that a test may stop and start again. Never the shared server.
 */
export interface PrivateCluster {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database?: string): string;
  /** Starts the server (again); resolves when it accepts connections. */
  start(): Promise<void>;
  /** Fast shutdown (SIGINT: sessions are ended, the server stops cleanly); waits for the exit. */
  stop(): Promise<void>;
  /** Whether the server process runs. */
  running(): boolean;
  createDatabase(name: string): Promise<string>;
  /** Stops it and deletes its directory. */
  destroy(): Promise<void>;
  /** The end of its log, for failure messages. */
  log(): string;
}

/** initdb and postgres refuse to run as root: as root they run as the `postgres` user. */
function clusterUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      'running as root, and there is no "postgres" user to run a throw-away PostgreSQL cluster as',
    );
  }
}

export async function privateCluster(): Promise<PrivateCluster> {
  const initdb = join(PG_BIN, 'initdb');
  const postgres = join(PG_BIN, 'postgres');
  if (!existsSync(initdb) || !existsSync(postgres)) {
    throw new Error(
      `the PostgreSQL server binaries are not in ${PG_BIN} (initdb, postgres): install ` +
        'postgresql (Debian: apt-get install postgresql) or set LAISSEZ_TEST_PG_BIN. The fault ' +
        'tests stop and start a PostgreSQL server of their own, never the shared one.',
    );
  }
  const user = clusterUser();
  const dir = await mkdtemp(join(tmpdir(), 'laissez-pgc-'));
  if (user) await chown(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const port = await freePort();
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' };
  const spawnOptions = { cwd: dir, env, ...(user ?? {}) };
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };

  const init = spawn(
    initdb,
    ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'],
    { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  init.stdout.on('data', keep);
  init.stderr.on('data', keep);
  const [code] = (await once(init, 'exit')) as [number | null];
  if (code !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (exit ${code}):\n${output}`);
  }

  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  // A test process that dies must not leave a PostgreSQL server behind.
  process.once('exit', () => child?.kill('SIGQUIT'));

  const cluster: PrivateCluster = {
    port,
    url,
    running: () => child !== undefined,
    log: () => output,
    async start() {
      if (child) throw new Error('the cluster is already running');
      const started = spawn(
        postgres,
        [
          '-D',
          data,
          '-p',
          String(port),
          '-k',
          dir,
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          'fsync=off',
          '-c',
          'synchronous_commit=on',
          '-c',
          'full_page_writes=off',
          '-c',
          'shared_buffers=16MB',
          '-c',
          'max_connections=60',
        ],
        { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      started.stdout.on('data', keep);
      started.stderr.on('data', keep);
      exited = once(started, 'exit');
      child = started;
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (started.exitCode !== null) {
          child = undefined;
          throw new Error(`postgres exited at start (${started.exitCode}):\n${output}`);
        }
        try {
          const client = await connectOnce(url(), 1000);
          await client.query('SELECT 1');
          await client.end();
          return;
        } catch {
          if (Date.now() > deadline) {
            await cluster.stop();
            throw new Error(`the private PostgreSQL did not accept connections:\n${output}`);
          }
          await sleep(100);
        }
      }
    },
    async stop() {
      const running = child;
      if (!running) return;
      child = undefined;
      running.kill('SIGINT');
      const timer = setTimeout(() => running.kill('SIGQUIT'), 20_000);
      await exited;
      clearTimeout(timer);
    },
    async createDatabase(name) {
      const client = await connectOnce(url());
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end().catch(() => {});
      }
      return url(name);
    },
    async destroy() {
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await cluster.start();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return cluster;
}

/** One `laissez serve` process. */
export interface Instance extends Service {
  readonly name: string;
  /** What it printed since it started listening: its log (stdout) and stderr. */
  output(): string;
  /** Still running (not exited, not killed). */
  alive(): boolean;
  /** `kill -9`: no clean-up, no finishing requests in flight; waits for the exit. */
  kill(): Promise<void>;
}

/**
 * Starts `laissez serve --port 0` with `settings` (environment variables) on top of: the shared
 * ISSUER, LAISSEZ_TRUST_PROXY=on (client IPs from X-Forwarded-For) and warn-level logs.
 */
export async function startInstance(
  name: string,
  settings: Record<string, string>,
): Promise<Instance> {
  const env = cleanEnv({
    LAISSEZ_ISSUER: ISSUER,
    LAISSEZ_KEY_ENCRYPTION_KEY: SCALE_KEK,
    LAISSEZ_TRUST_PROXY: 'on',
    LAISSEZ_LOG_LEVEL: 'warn',
    ...settings,
  });
  const service = await startService(LAISSEZ, ['serve', '--port', '0'], { name: 'laissez', env });
  const { child } = service;
  return {
    ...service,
    name,
    // The server's log lines (pino, JSON) go to stdout.
    output: () => `${service.stdout()}${service.stderr()}`,
    alive: () => child.exitCode === null && child.signalCode === null,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Starts A, which migrates a new database and makes the first signing key, then B and C together.
 * Each instance that starts is pushed into `started` before any failure is thrown, so that the
 * caller's clean-up stops it.
 */
export async function startTrio(
  settings: Record<string, string>,
  started: Instance[],
): Promise<[Instance, Instance, Instance]> {
  started.push(await startInstance('A', settings));
  const rest = await Promise.allSettled([
    startInstance('B', settings),
    startInstance('C', settings),
  ]);
  for (const r of rest) if (r.status === 'fulfilled') started.push(r.value);
  for (const r of rest) if (r.status === 'rejected') throw r.reason;
  return started.slice(-3) as [Instance, Instance, Instance];
}

/** Stops every instance that is still running (SIGTERM); their exit codes. */
export async function stopAll(instances: readonly (Instance | undefined)[]) {
  return Promise.all(instances.map((i) => (i?.alive() ? i.stop() : undefined)));
}

let ipCount = randomBytes(2).readUInt16BE() * 256;
/** A client IP no other request of this process used: 10.x.y.z. */
export function nextIp(): string {
  const n = ipCount++;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies, checked by the tests
  body: any;
}

/** A request that got no answer within this long hung: the tests treat that as a failure. */
export const HANG_MS = 30_000;

/**
 * One HTTP request: a JSON body, a bearer token, the client IP (X-Forwarded-For; default: a fresh
 * one, so that rate limits of one test never meet another's). Rejects when there is no answer
 * (connection refused or reset), and after HANG_MS with an error that says it hung.
 */
export async function call(
  base: string,
  path: string,
  options: { json?: unknown; token?: string; ip?: string; method?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { 'x-forwarded-for': options.ip ?? nextIp() };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method: options.method ?? (options.json === undefined ? 'GET' : 'POST'),
      headers,
      ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}),
      signal: AbortSignal.timeout(HANG_MS),
    });
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') {
      throw new Error(`${path} on ${base} did not answer within ${HANG_MS / 1000} s (hung)`);
    }
    throw error;
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, body };
}

export interface Account {
  username: string;
  email: string;
  password: string;
}

/** A new account's details, unique to this run. */
export function account(label = 'user'): Account {
  const id = randomBytes(5).toString('hex');
  return {
    username: `${label}_${id}`,
    email: `${label}_${id}@example.com`,
    password: `password of ${label} ${id}`,
  };
}

/** Registers `user` through `base`; fails the test unless the answer is 201. */
export async function register(base: string, user: Account): Promise<{ id: string }> {
  const reply = await call(base, '/auth/register', { json: user });
  if (reply.status !== 201) {
    throw new Error(`registering ${user.username}: ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return reply.body.user;
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
}

/** Logs `user` in through `base`; fails the test unless the answer is 200. */
export async function logIn(base: string, user: Account, ip?: string): Promise<Tokens> {
  const reply = await call(base, '/auth/login', {
    json: { username: user.username, password: user.password },
    ...(ip !== undefined ? { ip } : {}),
  });
  if (reply.status !== 200) {
    throw new Error(`logging ${user.username} in: ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return reply.body;
}

/** The payload of a compact JWT (not verified). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

/** Calls `probe` until it returns something other than undefined; fails after `ms`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 30_000,
  interval = 200,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${ms / 1000} s waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
      );
    }
    await sleep(interval);
  }
}
