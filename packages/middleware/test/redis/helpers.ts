// Shared by the Redis tests: the real Redis they run against, a random key prefix per run, and
// throw-away redis-server processes to stop and start.
//
// These tests never skip themselves: when Redis cannot be reached they FAIL, saying so. A developer
// without Redis may opt out with LAISSEZ_TEST_REDIS=off (refused when CI is set).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type RedisClientType } from '@redis/client';
import { freePort } from '../../../server/test/helpers/ports.ts';

export const REDIS_URL = process.env.LAISSEZ_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const optedOut = process.env.LAISSEZ_TEST_REDIS === 'off';

/**
 * A suite that needs Redis at REDIS_URL. `before` connects an admin client (`admin()`), and fails
 * every test of the suite with a clear message when Redis is not there; `after` deletes the keys
 * of `prefix` and closes it.
 */
export function describeRedis(
  name: string,
  fn: (context: { prefix: string; admin: () => RedisClientType }) => void,
): void {
  if (optedOut && !process.env.CI) {
    describe(name, () => {
      test('needs Redis', { skip: 'LAISSEZ_TEST_REDIS=off' }, () => {});
    });
    return;
  }
  const prefix = `laissez-test:${randomBytes(6).toString('hex')}:`;
  let client: RedisClientType | undefined;
  describe(name, () => {
    before(async () => {
      if (optedOut) {
        throw new Error('LAISSEZ_TEST_REDIS=off is not allowed in CI: these tests must run');
      }
      const candidate: RedisClientType = createClient({
        url: REDIS_URL,
        socket: { connectTimeout: 3000, reconnectStrategy: false },
      });
      candidate.on('error', () => {});
      try {
        await candidate.connect();
        await candidate.ping();
      } catch (error) {
        candidate.destroy();
        throw new Error(
          `Redis is not reachable at ${REDIS_URL} (${(error as Error).message}). ` +
            'Start it (redis-server, or set LAISSEZ_TEST_REDIS_URL), or set ' +
            'LAISSEZ_TEST_REDIS=off to skip these tests on your machine (never in CI).',
        );
      }
      client = candidate;
    });
    after(async () => {
      if (!client) return;
      await deleteByPrefix(client, prefix);
      await client.close();
    });
    fn({
      prefix,
      admin: () => {
        if (!client) throw new Error('Redis is not connected');
        return client;
      },
    });
  });
}

/** Deletes every key that starts with `prefix` (SCAN, then DEL), and says how many. */
export async function deleteByPrefix(client: RedisClientType, prefix: string): Promise<number> {
  let deleted = 0;
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
    if (keys.length > 0) deleted += await client.del(keys);
  }
  return deleted;
}

/** Polls `check` until it returns true, or fails after `ms`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(25);
  }
}

/** Repeats `action` until it succeeds (a first call on a loaded machine may be slow). */
export async function warm(action: () => Promise<unknown>, what = 'Redis answers'): Promise<void> {
  await eventually(async () => {
    try {
      await action();
      return true;
    } catch {
      return false;
    }
  }, what);
}

/** A throw-away redis-server on its own port: no persistence, stopped by `stop()`. */
export interface TempRedis {
  readonly port: number;
  readonly url: string;
  /** Starts it (again) on the same port; resolves when it answers PING. */
  start(): Promise<void>;
  /** Kills it and waits until it is gone. */
  stop(): Promise<void>;
  /** SIGSTOP: it keeps its connections but answers nothing. */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
}

export async function tempRedis(): Promise<TempRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const temp: TempRedis = {
    port,
    url,
    async start() {
      if (child) throw new Error('already running');
      let output = '';
      const started = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'no',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      started.stdout?.on('data', (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-2000);
      });
      started.stderr?.on('data', (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-2000);
      });
      const spawnError = new Promise<Error>((resolve) => started.once('error', resolve));
      exited = new Promise((resolve) => started.once('exit', () => resolve()));
      child = started;
      const deadline = Date.now() + 10_000;
      for (;;) {
        const failed = await Promise.race([spawnError, sleep(50).then(() => undefined)]);
        if (failed) {
          child = undefined;
          throw new Error(
            `cannot start redis-server (${failed.message}); it must be installed for these tests`,
          );
        }
        if (started.exitCode !== null) {
          child = undefined;
          throw new Error(`redis-server exited at start:\n${output}`);
        }
        try {
          const probe: RedisClientType = createClient({
            url,
            socket: { connectTimeout: 1000, reconnectStrategy: false },
          });
          probe.on('error', () => {});
          try {
            await probe.connect();
            await probe.ping();
          } finally {
            try {
              probe.destroy();
            } catch {
              // Already closed.
            }
          }
          return;
        } catch {
          if (Date.now() > deadline) {
            await temp.stop();
            throw new Error(`redis-server did not answer on port ${port}:\n${output}`);
          }
        }
      }
    },
    async stop() {
      const running = child;
      if (!running) return;
      child = undefined;
      running.kill('SIGCONT');
      running.kill('SIGKILL');
      await exited;
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
  };
  // A test process that dies must not leave a redis-server behind.
  process.once('exit', () => child?.kill('SIGKILL'));
  await temp.start();
  return temp;
}

/** Collects the errors and recoveries a store reports. */
export function reports() {
  const errors: Error[] = [];
  let recoveries = 0;
  return {
    errors,
    get recoveries() {
      return recoveries;
    },
    onError: (error: Error) => {
      errors.push(error);
    },
    onRecover: () => {
      recoveries++;
    },
  };
}

export { freePort };
