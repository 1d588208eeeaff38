// RedisCounterStore against a real Redis: fixed windows, atomic counting across connections, peek
// and reset, and what happens when Redis is not there, stops answering, or goes and comes back.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type RedisClientType } from '@redis/client';
import {
  closeClient,
  connectRedis,
  type RedisConnection,
  RedisTimeoutError,
} from '../../../middleware/src/redis/client.ts';
import {
  deleteByPrefix,
  describeRedis,
  eventually,
  freePort,
  REDIS_URL,
  reports,
  tempRedis,
  warm,
} from '../../../middleware/test/redis/helpers.ts';
import { AuthServiceError } from '../../src/auth/errors.ts';
import type { KeyRing } from '../../src/auth/keyring.ts';
import { AuthService } from '../../src/auth/service.ts';
import { RedisCounterStore, type RedisCounterStoreOptions } from '../../src/redis/counters.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { StoreUnavailableError } from '../../src/store/types.ts';

let keyCount = 0;
/** A key no other test uses. */
const freshKey = (kind = 'login:ip') => `${kind}:${++keyCount}-${process.pid}`;

describeRedis('RedisCounterStore', ({ prefix, admin }) => {
  const stores: RedisCounterStore[] = [];
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
  });

  /**
   * A store on the test Redis. 'closed', so that a Redis failure fails the test instead of being
   * counted in memory unnoticed; a generous timeout, as the machine may be loaded.
   */
  function open(options: Partial<RedisCounterStoreOptions> = {}): RedisCounterStore {
    const store = new RedisCounterStore({
      url: REDIS_URL,
      prefix,
      timeout: 5000,
      onUnavailable: 'closed',
      onError: () => {},
      onRecover: () => {},
      ...options,
    } as RedisCounterStoreOptions);
    stores.push(store);
    return store;
  }

  test('counts hits in a fixed window that ends, then starts a new one', async () => {
    const store = open();
    const key = freshKey();
    const start = Date.now();
    const first = await store.hit(key, 400, start);
    assert.equal(first.count, 1);
    assert.ok(first.resetAt > start && first.resetAt <= start + 400, `resetAt ${first.resetAt}`);
    assert.equal((await store.hit(key, 400, Date.now())).count, 2);
    assert.equal((await store.hit(key, 400, Date.now())).count, 3);

    const ttl = await admin().pTTL(prefix + key);
    assert.ok(ttl > 0 && ttl <= 400, `PTTL ${ttl}`);
    assert.equal(await admin().get(prefix + key), '3');

    await eventually(
      async () => (await store.peek(key, Date.now())).count === 0,
      'the window has ended',
    );
    const now = Date.now();
    const next = await store.hit(key, 400, now);
    assert.equal(next.count, 1);
    assert.ok(next.resetAt > now);
  });

  test('resetAt is the caller’s clock plus the time Redis has left', async () => {
    const store = open();
    const key = freshKey();
    const now = 1_000_000_000;
    const first = await store.hit(key, 60_000, now);
    assert.ok(
      first.resetAt > now + 50_000 && first.resetAt <= now + 60_000,
      `resetAt ${first.resetAt}`,
    );
    // Later on the caller's clock: the same window, so resetAt stays about where it was.
    const later = now + 5000;
    const second = await store.hit(key, 60_000, later);
    assert.equal(second.count, 2);
    assert.ok(
      second.resetAt > later + 50_000 && second.resetAt <= later + 60_000,
      `resetAt ${second.resetAt}`,
    );
    const peeked = await store.peek(key, later);
    assert.equal(peeked.count, 2);
    assert.ok(peeked.resetAt > later && peeked.resetAt <= later + 60_000);
  });

  test('peek reads without counting; an unknown key is an empty window', async () => {
    const store = open();
    const key = freshKey('login:fail');
    const now = Date.now();
    assert.deepEqual(await store.peek(key, now), { count: 0, resetAt: now });
    assert.equal(await admin().exists(prefix + key), 0, 'peek creates nothing');
    await store.hit(key, 10_000, Date.now());
    await store.hit(key, 10_000, Date.now());
    for (let i = 0; i < 3; i++) assert.equal((await store.peek(key, Date.now())).count, 2);
    assert.equal(await admin().get(prefix + key), '2');
  });

  test('reset deletes the window', async () => {
    const store = open();
    const key = freshKey('login:fail');
    await store.hit(key, 10_000, Date.now());
    await store.hit(key, 10_000, Date.now());
    await store.reset(key);
    assert.equal(await admin().exists(prefix + key), 0);
    assert.equal((await store.peek(key, Date.now())).count, 0);
    assert.equal((await store.hit(key, 10_000, Date.now())).count, 1);
    await store.reset(freshKey()); // resetting nothing is fine
  });

  test('hits from three connections at once are counted exactly: 1..N, no duplicates', async () => {
    const stores3 = [open(), open(), open()];
    const key = freshKey();
    const n = 150;
    const counts = await Promise.all(
      Array.from({ length: n }, (_, i) => stores3[i % 3]!.hit(key, 30_000, Date.now())),
    );
    const sorted = counts.map((c) => c.count).sort((a, b) => a - b);
    assert.deepEqual(
      sorted,
      Array.from({ length: n }, (_, i) => i + 1),
    );
    assert.equal(await admin().get(prefix + key), String(n));
    // One window: every hit saw the same end, give or take the round trips.
    const ends = counts.map((c) => c.resetAt);
    assert.ok(Math.max(...ends) - Math.min(...ends) < 5000);
    const ttl = await admin().pTTL(prefix + key);
    assert.ok(ttl > 0 && ttl <= 30_000, `PTTL ${ttl}`);
  });

  test('reserve from three connections at once grants exactly max; a refusal adds nothing', async () => {
    const stores3 = [open(), open(), open()];
    const key = freshKey('login:client');
    const results = await Promise.all(
      Array.from({ length: 150 }, (_, i) => stores3[i % 3]!.reserve(key, 20, 30_000, Date.now())),
    );
    const granted = results.filter((r) => r.ok);
    assert.equal(granted.length, 20);
    assert.deepEqual(
      granted.map((r) => r.count).sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    for (const r of results.filter((r) => !r.ok)) assert.equal(r.count, 20);
    assert.equal(await admin().get(prefix + key), '20');
    const ttl = await admin().pTTL(prefix + key);
    assert.ok(ttl > 0 && ttl <= 30_000, `PTTL ${ttl}`);
  });

  test('release takes one back, never below zero, and keeps the expiry', async () => {
    const store = open();
    const key = freshKey('login:account');
    await store.reserve(key, 2, 60_000, Date.now());
    await store.reserve(key, 2, 60_000, Date.now());
    assert.equal((await store.reserve(key, 2, 60_000, Date.now())).ok, false);
    await store.release(key, Date.now());
    assert.equal(await admin().get(prefix + key), '1');
    const ttl = await admin().pTTL(prefix + key);
    assert.ok(ttl > 50_000 && ttl <= 60_000, `PTTL ${ttl}`);
    assert.equal((await store.reserve(key, 2, 60_000, Date.now())).ok, true);
    for (let i = 0; i < 4; i++) await store.release(key, Date.now());
    assert.equal(await admin().get(prefix + key), '0');
    await store.release(freshKey(), Date.now()); // nothing to give back
    assert.equal(await admin().exists(prefix + freshKey()), 0);
    // A full key without an expiry (set by hand) is given the window, even when it refuses.
    const stuck = freshKey('login:account');
    await admin().set(prefix + stuck, '9');
    const refused = await store.reserve(stuck, 3, 5000, Date.now());
    assert.equal(refused.ok, false);
    assert.equal(refused.count, 9);
    const stuckTtl = await admin().pTTL(prefix + stuck);
    assert.ok(stuckTtl > 0 && stuckTtl <= 5000, `PTTL ${stuckTtl}`);
    await assert.rejects(store.reserve(key, 0, 1000, Date.now()), TypeError);
  });

  test('30 concurrent wrong log-ins through two auth servers sharing Redis: at most the budget is checked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'laissez-redis-'));
    const db = openSqliteStore({ path: join(dir, 'laissez.db') });
    try {
      await db.migrate();
      const service = () =>
        new AuthService({
          store: db,
          // Never reached: every log-in here fails before tokens are signed.
          keyRing: {} as KeyRing,
          accessTtl: 900,
          refreshTtl: 86_400,
          reuseGrace: 10,
          // The default cost: a slow hash is what gives concurrent guesses room to race.
          counters: open(),
        });
      const [one, two] = [service(), service()];
      const owner = {
        username: `owner-${keyCount++}-${process.pid}`,
        password: 'owner pass phrase',
      };
      await one.register({ ...owner, email: `${owner.username}@example.com` });
      const codes = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          (i % 2 ? one : two)
            .login({
              ...(i % 3
                ? { username: owner.username }
                : { email: `${owner.username}@example.com` }),
              password: `guess ${i}`,
              ip: '203.0.113.7',
            })
            .then(
              () => 'ok',
              (error: unknown) => (error instanceof AuthServiceError ? error.code : error),
            ),
        ),
      );
      const count = (code: string) => codes.filter((c) => c === code).length;
      assert.equal(count('invalid_credentials'), 5, codes.join());
      assert.equal(count('too_many_requests'), 25, codes.join());
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('keys are separate, prefixed, and long keys are stored under a bounded name', async () => {
    const store = open();
    const a = freshKey();
    const b = freshKey();
    await store.hit(a, 10_000, Date.now());
    assert.equal((await store.hit(b, 10_000, Date.now())).count, 1);
    assert.equal(await admin().get(prefix + a), '1');

    const long1 = `login:fail:${'x'.repeat(5000)}1`;
    const long2 = `login:fail:${'x'.repeat(5000)}2`;
    assert.equal((await store.hit(long1, 10_000, Date.now())).count, 1);
    assert.equal((await store.hit(long1, 10_000, Date.now())).count, 2);
    assert.equal((await store.hit(long2, 10_000, Date.now())).count, 1, 'no collision');
    const names: string[] = [];
    for await (const keys of admin().scanIterator({ MATCH: `${prefix}sha256:*` })) {
      names.push(...keys);
    }
    assert.equal(names.length, 2);
    for (const name of names) assert.ok(name.length < prefix.length + 60, name);
  });

  test('a key without an expiry is given the window', async () => {
    const store = open();
    const key = freshKey();
    await admin().set(prefix + key, '7');
    const hit = await store.hit(key, 5000, Date.now());
    assert.equal(hit.count, 8);
    const ttl = await admin().pTTL(prefix + key);
    assert.ok(ttl > 0 && ttl <= 5000, `PTTL ${ttl}`);
  });

  test('works after Redis forgets the script (SCRIPT FLUSH)', async () => {
    const store = open();
    const key = freshKey();
    await store.hit(key, 10_000, Date.now());
    await admin().sendCommand(['SCRIPT', 'FLUSH']);
    assert.equal((await store.hit(key, 10_000, Date.now())).count, 2);
    await admin().sendCommand(['SCRIPT', 'FLUSH']);
    assert.equal((await store.peek(key, Date.now())).count, 2);
  });

  test('a shared client: stores use it and close() leaves it open', async () => {
    const client = connectRedis(REDIS_URL);
    try {
      const a = open({ url: undefined, client });
      const b = open({ url: undefined, client });
      const key = freshKey();
      await a.hit(key, 10_000, Date.now());
      assert.equal((await b.hit(key, 10_000, Date.now())).count, 2);
      await a.close();
      await b.close();
      assert.equal(await client.sendCommand(['GET', prefix + key]), '2');
    } finally {
      await closeClient(client);
    }
  });

  test('refuses bad arguments and options', async () => {
    const store = open();
    await assert.rejects(store.hit('k', 0, Date.now()), TypeError);
    await assert.rejects(store.hit('k', Number.NaN, Date.now()), TypeError);
    await assert.rejects(store.hit('k', 1000, Number.NaN), TypeError);
    await assert.rejects(store.hit('', 1000, Date.now()), TypeError);
    await assert.rejects(store.peek(42 as unknown as string, Date.now()), TypeError);
    await assert.rejects(store.reset(undefined as unknown as string), TypeError);
    const client = createClient();
    assert.throws(() => new RedisCounterStore({}), TypeError);
    assert.throws(() => new RedisCounterStore({ url: REDIS_URL, client }), TypeError);
    assert.throws(() => new RedisCounterStore({ url: 'http://localhost' }), TypeError);
    assert.throws(() => new RedisCounterStore({ client, timeout: 0 }), TypeError);
    assert.throws(
      () =>
        new RedisCounterStore({
          client,
          onUnavailable: 'open' as unknown as 'closed',
        }),
      TypeError,
    );
    // From plain JavaScript a misspelt option would silently keep its default.
    assert.throws(
      () => new RedisCounterStore({ client, onUnavailble: 'closed' } as never),
      /^TypeError: RedisCounterStore: unknown option "onUnavailble"; did you mean "onUnavailable"\?$/,
    );
  });

  test('two auth servers sharing Redis lock an account out on both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'laissez-redis-'));
    const db = openSqliteStore({ path: join(dir, 'laissez.db') });
    try {
      await db.migrate();
      const service = () =>
        new AuthService({
          store: db,
          // Never reached: every log-in here fails before tokens are signed.
          keyRing: {} as KeyRing,
          accessTtl: 900,
          refreshTtl: 86_400,
          reuseGrace: 10,
          passwordParams: { memory: 1024, passes: 1, parallelism: 1 },
          rateLimits: {
            loginPerIp: { max: 1000, window: 60 },
            loginFailuresPerAccount: { max: 3, window: 60 },
            registerPerIp: { max: 1000, window: 60 },
          },
          counters: open(),
        });
      const [one, two] = [service(), service()];
      const username = `nobody-${keyCount++}-${process.pid}`;
      const attempt = (auth: AuthService) =>
        auth.login({ username, password: 'wrong password', ip: '203.0.113.9' }).then(
          () => 'ok',
          (error: unknown) => (error instanceof AuthServiceError ? error.code : error),
        );
      assert.equal(await attempt(one), 'invalid_credentials');
      assert.equal(await attempt(two), 'invalid_credentials');
      assert.equal(await attempt(one), 'invalid_credentials');
      assert.equal(await attempt(two), 'too_many_requests');
      assert.equal(await attempt(one), 'too_many_requests');
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the clean-up deletes keys by prefix', async () => {
    const client = admin();
    const probe = `${prefix}probe`;
    await client.set(probe, '1');
    assert.ok((await deleteByPrefix(client, `${prefix}probe`)) === 1);
  });
});

test('stores and the revocation feed closed at any moment let the process exit', async () => {
  // node-redis keeps a socket that was still connecting when its client was closed; the stores
  // must not, or a server would never shut down. Each scenario runs in a child process that has
  // to exit on its own.
  const counters = new URL('../../src/redis/counters.ts', import.meta.url).href;
  const revocation = new URL('../../../middleware/src/redis/revocation.ts', import.meta.url).href;
  const feedModule = new URL('../../../middleware/src/redis/revocation-feed.ts', import.meta.url)
    .href;
  const down = `redis://127.0.0.1:${await freePort()}`;
  const script = `
    import { RedisCounterStore } from ${JSON.stringify(counters)};
    import { createRevocationList } from ${JSON.stringify(revocation)};
    import { createRevocationFeed } from ${JSON.stringify(feedModule)};
    const [url, when] = process.argv.slice(1);
    const quiet = { onError: () => {}, onRecover: () => {} };
    const store = new RedisCounterStore({ url, ...quiet });
    const list = createRevocationList({ url, onUnavailable: 'allow', ...quiet });
    const feed = createRevocationFeed({ url, onUnavailable: 'allow', onError: () => {} });
    if (when === 'tick') await new Promise((resolve) => setImmediate(resolve));
    if (when === 'used') {
      await store.hit('k', 1000, Date.now());
      await list.isRevoked('s');
      await feed.isRevoked('s');
    }
    await store.close();
    await list.close();
    await feed.close();
  `;
  const runs = [];
  for (const url of [REDIS_URL, down]) {
    for (const when of ['at once', 'tick', 'used']) {
      runs.push(
        new Promise<string>((resolve) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script, url, when], {
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (chunk: Buffer) => {
            stderr += chunk.toString();
          });
          // A hang detector, not a speed limit: six processes start at once on a busy machine.
          const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
          child.on('exit', (code, signal) => {
            clearTimeout(timer);
            resolve(`${url} ${when}: ${signal ?? code}${stderr ? ` ${stderr}` : ''}`);
          });
        }),
      );
    }
  }
  for (const outcome of await Promise.all(runs)) assert.match(outcome, /: 0$/, outcome);
});

describeRedis('RedisCounterStore when Redis is not there', ({ prefix }) => {
  let url = '';
  const stores: RedisCounterStore[] = [];
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
  });
  const open = (options: Partial<RedisCounterStoreOptions>) => {
    const store = new RedisCounterStore({ url, prefix, timeout: 250, ...options });
    stores.push(store);
    return store;
  };

  before(async () => {
    url = `redis://127.0.0.1:${await freePort()}`;
  });

  test("'memory' (the default) still limits, per process, and reports the outage once", async () => {
    const seen = reports();
    const store = open({ onError: seen.onError, onRecover: seen.onRecover });
    const key = freshKey();
    const started = Date.now();
    for (let i = 1; i <= 5; i++) {
      const now = Date.now();
      const hit = await store.hit(key, 60_000, now);
      assert.equal(hit.count, i);
      assert.ok(hit.resetAt > now && hit.resetAt <= now + 60_000);
    }
    assert.equal((await store.peek(key, Date.now())).count, 5);
    await store.reset(key);
    assert.equal((await store.peek(key, Date.now())).count, 0);
    assert.ok(Date.now() - started < 5000, 'no call waited for Redis');
    // Reconnection attempts go on in the background: still one report.
    await sleep(400);
    assert.equal(seen.errors.length, 1, seen.errors.map((e) => e.message).join('; '));
    assert.equal(seen.recoveries, 0);
    assert.equal(store.unavailable, true);
  });

  test("'closed' throws StoreUnavailableError at once, for hit, peek and reset", async () => {
    const store = open({ onUnavailable: 'closed', onError: () => {} });
    const key = freshKey();
    for (const call of [
      () => store.hit(key, 60_000, Date.now()),
      () => store.peek(key, Date.now()),
      () => store.reset(key),
    ]) {
      const started = Date.now();
      await assert.rejects(call(), (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError);
        assert.match(error.message, /rate-limit counters are unavailable/);
        return true;
      });
      assert.ok(Date.now() - started < 2000, 'bounded, not hanging');
    }
  });

  test("reserve: 'memory' counts in this process; 'closed' refuses; release never throws", async () => {
    const memory = open({ onError: () => {}, onRecover: () => {} });
    const key = freshKey('login:client');
    const granted = await Promise.all(
      Array.from({ length: 10 }, () => memory.reserve(key, 3, 60_000, Date.now())),
    );
    assert.equal(granted.filter((r) => r.ok).length, 3);
    await memory.release(key, Date.now());
    assert.equal((await memory.peek(key, Date.now())).count, 2);
    const closed = open({ onUnavailable: 'closed', onError: () => {} });
    await assert.rejects(closed.reserve(key, 3, 60_000, Date.now()), StoreUnavailableError);
    await closed.release(key, Date.now());
  });

  test('the default onError writes one line on stderr', async (t) => {
    const lines: string[] = [];
    t.mock.method(console, 'error', (line: string) => lines.push(line));
    const store = open({});
    await store.hit(freshKey(), 60_000, Date.now());
    await store.hit(freshKey(), 60_000, Date.now());
    await sleep(300);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      /Redis is unavailable for rate limits .*counting on this instance only/,
    );
  });
});

describeRedis('RedisCounterStore with a Redis that stops and comes back', () => {
  let redis: Awaited<ReturnType<typeof tempRedis>> | undefined;
  const stores: RedisCounterStore[] = [];
  const clients: RedisClientType[] = [];
  after(async () => {
    redis?.thaw();
    await Promise.all(stores.map((store) => store.close()));
    await Promise.all(clients.map((client) => closeClient(client)));
    await redis?.stop();
  });
  const temp = () => {
    if (!redis) throw new Error('no temporary redis-server');
    return redis;
  };
  const open = (options: Partial<RedisCounterStoreOptions>) => {
    const store = new RedisCounterStore({ url: temp().url, timeout: 250, ...options });
    stores.push(store);
    return store;
  };

  before(async () => {
    redis = await tempRedis();
  });

  test("'memory': counts in memory while Redis is down, then adds those counts to Redis's", async () => {
    const seen = reports();
    // Not about timeouts: a loaded machine may take its time.
    const store = open({ timeout: 5000, onError: seen.onError, onRecover: seen.onRecover });
    const key = freshKey('login:fail');
    for (let i = 1; i <= 3; i++) assert.equal((await store.hit(key, 60_000, Date.now())).count, i);
    assert.equal(seen.errors.length, 0);

    await temp().stop();
    // Counted here: Redis's 3 are out of reach, so the count starts again, but it still counts.
    assert.equal((await store.hit(key, 60_000, Date.now())).count, 1);
    assert.equal((await store.hit(key, 60_000, Date.now())).count, 2);
    assert.equal(seen.errors.length, 1);

    await temp().start(); // empty: no persistence
    await eventually(async () => {
      await store.peek(key, Date.now());
      return !store.unavailable;
    }, 'the store uses Redis again');
    assert.equal(seen.recoveries, 1);
    assert.equal(seen.errors.length, 1);
    // Redis has 1 hit now; the 2 hits of the outage still count until their window ends.
    const hit = await store.hit(key, 60_000, Date.now());
    assert.equal(hit.count, 3);
    const check: RedisClientType = createClient({ url: temp().url });
    clients.push(check);
    check.on('error', () => {});
    await check.connect();
    assert.equal(await check.get(`laissez:rl:${key}`), '1');
    // Past the outage windows, Redis alone counts.
    assert.equal((await store.peek(key, Date.now() + 61_000)).count, 1);
  });

  test("'memory': reservations of an outage still count when Redis is back", async () => {
    const store = open({ timeout: 5000, onError: () => {}, onRecover: () => {} });
    const key = freshKey('login:account');
    assert.equal((await store.reserve(key, 4, 60_000, Date.now())).ok, true);
    await temp().stop();
    // Counted in memory: Redis's one is out of reach.
    assert.equal((await store.reserve(key, 4, 60_000, Date.now())).count, 1);
    assert.equal((await store.reserve(key, 4, 60_000, Date.now())).count, 2);
    await temp().start(); // empty: no persistence
    await eventually(async () => {
      await store.peek(key, Date.now());
      return !store.unavailable;
    }, 'the store uses Redis again');
    // Two in memory: Redis may grant only two more before the four are spent.
    const after = await Promise.all(
      Array.from({ length: 5 }, () => store.reserve(key, 4, 60_000, Date.now())),
    );
    assert.equal(after.filter((r) => r.ok).length, 2);
    assert.equal(Math.max(...after.map((r) => r.count)), 4);
    // A release goes to Redis, which has the hits, then to memory.
    await store.release(key, Date.now());
    await store.release(key, Date.now());
    await store.release(key, Date.now());
    assert.equal((await store.peek(key, Date.now())).count, 1);
  });

  test('a client passed in without an error listener does not crash the process', async () => {
    const client: RedisClientType = createClient({
      url: temp().url,
      disableOfflineQueue: true,
      socket: { reconnectStrategy: 50 },
    });
    clients.push(client);
    await client.connect();
    const seen = reports();
    const store = new RedisCounterStore({
      client,
      timeout: 5000,
      onError: seen.onError,
      onRecover: seen.onRecover,
    });
    stores.push(store);
    const key = freshKey();
    assert.equal((await store.hit(key, 60_000, Date.now())).count, 1);
    await temp().stop();
    // Reconnection errors are emitted as 'error' events; unhandled, they would kill this process.
    await eventually(() => seen.errors.length === 1, 'the outage is reported');
    await sleep(300);
    assert.equal(seen.errors.length, 1);
    assert.equal((await store.hit(key, 60_000, Date.now())).count, 1, 'counted in memory');
    await temp().start();
    await eventually(async () => {
      await store.peek(key, Date.now());
      return !store.unavailable;
    }, 'the store uses Redis again');
    assert.equal(seen.recoveries, 1);
  });

  test('a hung Redis: only the call that finds the outage waits; later log-ins never ask Redis', async () => {
    // Counts what reaches Redis: the counters' own commands, and the probes (PING) apart.
    const client: RedisClientType = createClient({ url: temp().url, disableOfflineQueue: true });
    clients.push(client);
    client.on('error', () => {});
    await client.connect();
    const sent: string[] = [];
    const pings: { settled: boolean }[] = [];
    const conn: RedisConnection = {
      sendCommand: (args) => {
        sent.push(args[0]!);
        const reply = client.sendCommand([...args]);
        if (args[0] === 'PING') {
          const ping = { settled: false };
          pings.push(ping);
          reply.then(
            () => (ping.settled = true),
            () => (ping.settled = true),
          );
        }
        return reply;
      },
      on: (event, listener) => client.on(event, listener),
      off: (event, listener) => client.off(event, listener),
      get isReady() {
        return client.isReady;
      },
    };
    const seen = reports();
    const store = new RedisCounterStore({
      client: conn,
      timeout: 250,
      onError: seen.onError,
      onRecover: seen.onRecover,
    });
    stores.push(store);
    // A loaded machine may take more than 250 ms for the first calls: wait until Redis is in use.
    await eventually(async () => {
      await store.hit(freshKey(), 60_000, Date.now());
      return !store.unavailable;
    }, 'the store uses Redis');
    const errors = seen.errors.length;
    const recoveries = seen.recoveries;

    const dir = mkdtempSync(join(tmpdir(), 'laissez-redis-'));
    const db = openSqliteStore({ path: join(dir, 'laissez.db') });
    temp().freeze();
    try {
      await db.migrate();
      const auth = new AuthService({
        store: db,
        // Never reached: every log-in here fails before tokens are signed.
        keyRing: {} as KeyRing,
        accessTtl: 900,
        refreshTtl: 86_400,
        reuseGrace: 10,
        passwordParams: { memory: 1024, passes: 1, parallelism: 1 },
        rateLimits: {
          loginPerIp: { max: 1000, window: 60 },
          loginFailuresPerAccount: { max: 1000, window: 60 },
          registerPerIp: { max: 1000, window: 60 },
        },
        counters: store,
      });
      sent.length = 0;
      // Log-ins one after the other, as on a quiet instance: three counter calls each.
      for (let i = 0; i < 4; i++) {
        await assert.rejects(
          auth.login({ username: `nobody-${i}`, password: 'wrong password', ip: '203.0.113.7' }),
          (error: unknown) =>
            error instanceof AuthServiceError && error.code === 'invalid_credentials',
        );
      }
      // Of twelve counter calls, only the first went to Redis (and waited the timeout); the
      // others fell back at once. Probes, if one was due, are PINGs nobody waited for.
      assert.deepEqual(
        sent.filter((command) => command !== 'PING'),
        ['EVALSHA'],
        sent.join(' '),
      );
      assert.equal(seen.errors.length, errors + 1);
      assert.ok(seen.errors.at(-1) instanceof RedisTimeoutError);

      // Past the probe interval, the next call starts a probe and does not wait for it: it is
      // answered (from memory) while the probe is still waiting for the hung Redis.
      await sleep(1100);
      const before = pings.length;
      const hit = await store.hit(freshKey(), 60_000, Date.now());
      assert.equal(hit.count, 1);
      assert.equal(pings.length, before + 1, 'one probe started');
      assert.equal(pings.at(-1)!.settled, false, 'the call did not wait for the probe');
      // One probe at a time: calls meanwhile start no other.
      for (let i = 0; i < 10; i++) await store.peek(freshKey(), Date.now());
      assert.equal(pings.length, before + 1);
      assert.deepEqual(
        sent.filter((command) => command !== 'PING'),
        ['EVALSHA'],
      );
    } finally {
      temp().thaw();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
    // A probe that is answered ends the outage.
    await eventually(async () => {
      await store.peek(freshKey(), Date.now());
      return !store.unavailable;
    }, 'the store uses Redis again');
    assert.equal(seen.recoveries, recoveries + 1);
    const key = freshKey();
    await store.hit(key, 60_000, Date.now());
    assert.equal(await client.get(`laissez:rl:${key}`), '1');
  });

  test('a Redis that stops answering costs a request the timeout, no more', async () => {
    const seen = reports();
    const closed = open({ onUnavailable: 'closed', onError: () => {}, onRecover: () => {} });
    const memory = open({ onError: seen.onError, onRecover: seen.onRecover });
    const key = freshKey();
    // The short timeout is for the freeze below; a loaded machine may be slow to start with.
    await warm(() => closed.hit(key, 60_000, Date.now()));
    await warm(async () => {
      await memory.hit(key, 60_000, Date.now());
      assert.equal(memory.unavailable, false);
    });
    const errors = seen.errors.length;
    const recoveries = seen.recoveries;

    temp().freeze();
    try {
      let started = Date.now();
      await assert.rejects(closed.hit(key, 60_000, Date.now()), (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError);
        assert.ok(error.cause instanceof RedisTimeoutError, String(error.cause));
        return true;
      });
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);

      // Many at once during the outage: all answered, none waits for ever.
      started = Date.now();
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => closed.peek(key, Date.now())),
      );
      assert.ok(results.every((r) => r.status === 'rejected'));
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);

      started = Date.now();
      const hit = await memory.hit(freshKey(), 60_000, Date.now());
      assert.equal(hit.count, 1, 'counted in memory');
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
      assert.equal(seen.errors.length, errors + 1);
      assert.ok(seen.errors.at(-1) instanceof RedisTimeoutError);
    } finally {
      temp().thaw();
    }

    await eventually(async () => {
      try {
        await closed.peek(key, Date.now());
        return true;
      } catch {
        return false;
      }
    }, "the 'closed' store answers again");
    await eventually(async () => {
      await memory.peek(key, Date.now());
      return !memory.unavailable;
    }, "the 'memory' store uses Redis again");
    assert.equal(seen.recoveries, recoveries + 1);
  });
});
