// What the README promises when a shared service goes away under several auth server instances:
// "Losing Redis degrades, never opens" (rate limits fall back to per-instance counting, log-outs
// still end sessions, and everything is shared again when Redis is back), and "losing PostgreSQL
// makes log-in answer 503 while protected routes keep verifying tokens".
//
// PostgreSQL is a throw-away cluster of this file (initdb in a temporary directory, its own port),
// never the shared server: it is stopped and started again. Redis is a throw-away redis-server.
// The resource server is examples/notes-api, which verifies EdDSA tokens with the auth server's
// JWKS and never calls the auth server otherwise.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type RedisClientType } from '@redis/client';
import { cleanEnv, type Service, startService } from '../helpers/processes.ts';
import {
  type Account,
  account,
  call,
  claimsOf,
  describeScale,
  type Instance,
  ISSUER,
  logIn,
  NOTES_API,
  nextIp,
  type PrivateCluster,
  privateCluster,
  register,
  startInstance,
  stopAll,
  type TempRedis,
  type Tokens,
  tempRedis,
  until,
} from './helpers.ts';

const credentials = (user: Account) => ({ username: user.username, password: user.password });

/** Fails unless every instance is still running, with what it printed. */
function assertAlive(...instances: Instance[]): void {
  for (const i of instances) assert.ok(i.alive(), `${i.name} exited:\n${i.output()}`);
}

describeScale('faults under several instances', { timeout: 240_000 }, () => {
  let cluster: PrivateCluster | undefined;

  before(async () => {
    cluster = await privateCluster();
  });
  after(async () => {
    await cluster?.destroy();
  });

  describe('Redis goes away and comes back', () => {
    let redis: TempRedis | undefined;
    let admin: RedisClientType | undefined;
    let instances: Instance[] = [];
    let A: Instance;
    let B: Instance;
    const user = account('steady');
    const locked = account('target');

    before(async () => {
      const database = await cluster!.createDatabase('redis_down');
      redis = await tempRedis();
      // Info-level logs: the recovery is reported at that level.
      const settings = { DATABASE_URL: database, REDIS_URL: redis.url, LAISSEZ_LOG_LEVEL: 'info' };
      A = await startInstance('A', settings);
      instances.push(A);
      B = await startInstance('B', settings);
      instances.push(B);
      await register(A.url, user);
      await register(B.url, locked);
    });

    after(async () => {
      const codes = await stopAll(instances);
      instances = [];
      await admin?.close().catch(() => {});
      await redis?.stop();
      for (const code of codes) assert.equal(code, 0);
    });

    test('with Redis down, log-ins are still limited, per instance, and nothing crashes', async () => {
      await redis!.stop();
      const ip = nextIp();
      const login = (instance: Instance) =>
        call(instance.url, '/auth/login', { json: credentials(user), ip });
      // The per-IP limit (30 a minute) holds on A, counted in A's memory.
      for (let round = 0; round < 10; round++) {
        const replies = await Promise.all([login(A), login(A), login(A)]);
        for (const reply of replies) assert.equal(reply.status, 200, JSON.stringify(reply.body));
      }
      const refused = await login(A);
      assert.equal(refused.status, 429, JSON.stringify(refused.body));
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      // B counts on its own meanwhile: N instances give at most N times the limit, never none.
      assert.equal((await login(B)).status, 200);

      // The account lock-out holds too, on the instance that counted the failures.
      const wrong = { username: locked.username, password: 'not the password' };
      for (let i = 0; i < 10; i++) {
        const reply = await call(A.url, '/auth/login', { json: wrong });
        assert.equal(reply.status, 401, JSON.stringify(reply.body));
      }
      const lockedOut = await call(A.url, '/auth/login', { json: credentials(locked) });
      assert.equal(lockedOut.status, 429, JSON.stringify(lockedOut.body));

      assertAlive(A, B);
      for (const instance of [A, B]) {
        assert.equal((await call(instance.url, '/healthz')).status, 200);
      }
      assert.match(A.output(), /Redis unavailable: rate limits count per instance/);
    });

    test('with Redis down, a log-out still ends the session (the failed publication is logged)', async () => {
      const tokens = await logIn(B.url, user);
      const out = await call(A.url, '/auth/logout', {
        json: { refresh_token: tokens.refresh_token },
      });
      assert.equal(out.status, 204, JSON.stringify(out.body));
      const refresh = await call(B.url, '/auth/refresh', {
        json: { refresh_token: tokens.refresh_token },
      });
      assert.equal(refresh.status, 401);
      assert.equal(refresh.body.error, 'invalid_grant');
      await until('the failed publication in the log', async () =>
        /not published to the revocation list/.test(A.output()) ? true : undefined,
      );
      assertAlive(A, B);
    });

    test('when Redis is back, counters are shared again and the lock-out of the outage holds', async () => {
      await redis!.start();
      admin = createClient({ url: redis!.url });
      admin.on('error', () => {});
      await admin.connect();
      // Both instances reconnect by themselves (backing off up to 2 s).
      await until('both instances reconnected to Redis', async () => {
        const list = String(await admin!.sendCommand(['CLIENT', 'LIST']));
        return list.trim().split('\n').length >= 3 ? true : undefined;
      });
      // The first request that reaches Redis ends the outage; from then on a hit on A and a hit
      // on B land in one counter.
      const ip = nextIp();
      await until('log-in hits counted in Redis', async () => {
        const reply = await call(A.url, '/auth/login', { json: credentials(user), ip });
        assert.equal(reply.status, 200);
        return (await admin!.exists(`laissez:rl:login:ip:${ip}`)) === 1 ? true : undefined;
      });
      const before = Number(await admin.get(`laissez:rl:login:ip:${ip}`));
      const onB = await call(B.url, '/auth/login', { json: credentials(user), ip });
      assert.equal(onB.status, 200);
      assert.equal(Number(await admin.get(`laissez:rl:login:ip:${ip}`)), before + 1);
      await until('the recovery in the log', async () =>
        /Redis is back: rate limits are shared again/.test(A.output()) ? true : undefined,
      );

      // Failures counted in A's memory during the outage still count: the lock-out holds.
      const stillLocked = await call(A.url, '/auth/login', { json: credentials(locked) });
      assert.equal(stillLocked.status, 429, JSON.stringify(stillLocked.body));

      // Ended sessions are published again.
      const tokens = await logIn(B.url, user);
      const sid = claimsOf(tokens.access_token)['sid'] as string;
      const out = await call(A.url, '/auth/logout', {
        json: { refresh_token: tokens.refresh_token },
      });
      assert.equal(out.status, 204);
      assert.notEqual(await admin.zScore('laissez:rev:sessions', sid), null);
      assertAlive(A, B);
    });
  });

  describe('PostgreSQL goes away under load and comes back', () => {
    let instances: Instance[] = [];
    let A: Instance;
    let B: Instance;
    let notes: Service | undefined;
    let notesDir: string | undefined;
    const user = account('reader');
    const tokens: { A?: Tokens; B?: Tokens } = {};
    let load: Load | undefined;

    before(async () => {
      const database = await cluster!.createDatabase('pg_down');
      // Public-key tokens, so that a resource server can verify them with the JWKS alone; keys
      // re-read every 2 s, so that reloads also fail during the outage.
      const settings = { DATABASE_URL: database, LAISSEZ_ALG: 'EdDSA', LAISSEZ_KEY_RELOAD: '2s' };
      A = await startInstance('A', settings);
      instances.push(A);
      B = await startInstance('B', settings);
      instances.push(B);
      notesDir = await mkdtemp(join(tmpdir(), 'laissez-scale-notes-'));
      notes = await startService(NOTES_API, [], {
        name: 'notes-api',
        nodeArgs: ['--conditions=laissez-source'],
        env: cleanEnv({
          AUTH_ISSUER: ISSUER,
          AUTH_JWKS_URL: `${A.url}/.well-known/jwks.json`,
          NOTES_PORT: '0',
          NOTES_DATA: ':memory:',
        }),
        cwd: notesDir,
      });
    });

    after(async () => {
      await load?.stop();
      const codes = await Promise.all([notes?.stop(), ...(await stopAll(instances))]);
      instances = [];
      if (notesDir) await rm(notesDir, { recursive: true, force: true });
      for (const code of codes) if (code !== undefined) assert.equal(code, 0);
    });

    test('before the outage: tokens of both instances work on the resource server', async () => {
      await register(A.url, user);
      tokens.A = await logIn(A.url, user);
      tokens.B = await logIn(B.url, user);
      for (const t of [tokens.A, tokens.B]) {
        const reply = await call(notes!.url, '/notes', { token: t.access_token });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
      }
    });

    test('PostgreSQL stops under load: log-in, refresh and registration answer 503 with Retry-After', async () => {
      load = startLoad([A, B], notes!, user, tokens.A!.access_token);
      await until('the load has started', async () => (load!.logins.size > 0 ? true : undefined));
      await cluster!.stop();

      await until(
        'log-in answers 503 on both instances',
        async () => {
          const replies = await Promise.all([A, B].map((i) => loginOnce(i, user)));
          return replies.every((r) => r.status === 503) ? true : undefined;
        },
        30_000,
      );
      for (const instance of [A, B]) {
        const login = await loginOnce(instance, user);
        assert.equal(login.status, 503);
        assert.equal(login.body.error, 'temporarily_unavailable');
        assert.match(login.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
        const refresh = await call(instance.url, '/auth/refresh', {
          json: { refresh_token: tokens.A!.refresh_token },
        });
        assert.equal(refresh.status, 503, JSON.stringify(refresh.body));
        assert.ok(refresh.headers.get('retry-after'));
        const signup = await call(instance.url, '/auth/register', { json: account('late') });
        assert.equal(signup.status, 503, JSON.stringify(signup.body));
        assert.ok(signup.headers.get('retry-after'));
        // The auth server's own /auth/me reads the user from the database: 503 as well.
        const me = await call(instance.url, '/auth/me', { token: tokens.A!.access_token });
        assert.equal(me.status, 503, JSON.stringify(me.body));
        // What needs no database still answers: liveness and the public keys (held in memory).
        assert.equal((await call(instance.url, '/healthz')).status, 200);
        const jwks = await call(instance.url, '/.well-known/jwks.json');
        assert.equal(jwks.status, 200);
        assert.ok(jwks.body.keys.length >= 1);
      }
      assertAlive(A, B);
    });

    test('meanwhile the resource server keeps verifying tokens of both instances', async () => {
      assert.ok(!cluster!.running());
      for (const t of [tokens.A!, tokens.B!]) {
        const list = await call(notes!.url, '/notes', { token: t.access_token });
        assert.equal(list.status, 200, JSON.stringify(list.body));
        const note = await call(notes!.url, '/notes', {
          token: t.access_token,
          json: { text: 'written while PostgreSQL is down' },
        });
        assert.equal(note.status, 201, JSON.stringify(note.body));
      }
      // Forged or tampered tokens are still refused: it verifies, it does not wave through.
      const forged = `${tokens.A!.access_token.slice(0, -4)}AAAA`;
      assert.equal((await call(notes!.url, '/notes', { token: forged })).status, 401);
      // Key reloads fail every 2 s meanwhile; the auth servers log it and stay up.
      await sleep(3000);
      assertAlive(A, B);
    });

    test('PostgreSQL is back: the instances recover by themselves; under load nothing hung or failed otherwise', async () => {
      await cluster!.start();
      await until(
        'log-in answers 200 on both instances again',
        async () => {
          const replies = await Promise.all([A, B].map((i) => loginOnce(i, user)));
          return replies.every((r) => r.status === 200) ? true : undefined;
        },
        60_000,
        500,
      );
      // A refresh token from before the outage still rotates; new users can register.
      const rotated = await call(B.url, '/auth/refresh', {
        json: { refresh_token: tokens.A!.refresh_token },
      });
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      await register(A.url, account('after'));
      const me = await call(B.url, '/auth/me', { token: rotated.body.access_token });
      assert.equal(me.status, 200);

      const seen = await load!.stop();
      load = undefined;
      // Every log-in of the load got an answer: 200 while PostgreSQL was up, 503 while it was
      // down; never a hang, a dropped connection or a 500. The resource server answered 200
      // throughout.
      assert.deepEqual(seen.errors, []);
      assert.deepEqual([...seen.logins.keys()].sort(), [200, 503], summary(seen));
      assert.deepEqual([...seen.notes.keys()], [200], summary(seen));
      assertAlive(A, B);
      for (const instance of [A, B]) {
        assert.doesNotMatch(instance.output(), /unhandled error/);
      }
    });
  });
});

/** One log-in with a fresh client IP. */
function loginOnce(instance: Instance, user: Account) {
  return call(instance.url, '/auth/login', { json: credentials(user) });
}

interface Load {
  /** Status → count, for the log-ins and the resource-server requests. */
  logins: Map<number, number>;
  notes: Map<number, number>;
  /** Requests that got no answer (refused, reset, hung). */
  errors: string[];
  /** Ends the loops; what they saw. */
  stop(): Promise<Load>;
}

function summary(load: Load): string {
  return `log-ins ${JSON.stringify([...load.logins])}, notes ${JSON.stringify([...load.notes])}`;
}

/** Two clients in a loop: a log-in on each instance in turn, then a read on the resource server. */
function startLoad(instances: Instance[], notes: Service, user: Account, token: string): Load {
  let running = true;
  let turn = 0;
  const load: Load = {
    logins: new Map(),
    notes: new Map(),
    errors: [],
    async stop() {
      running = false;
      await Promise.all(loops);
      return load;
    },
  };
  const count = (map: Map<number, number>, status: number) =>
    map.set(status, (map.get(status) ?? 0) + 1);
  const loop = async () => {
    while (running) {
      const instance = instances[turn++ % instances.length]!;
      try {
        count(load.logins, (await loginOnce(instance, user)).status);
      } catch (error) {
        load.errors.push(`log-in on ${instance.name}: ${String(error)}`);
      }
      try {
        count(load.notes, (await call(notes.url, '/notes', { token })).status);
      } catch (error) {
        load.errors.push(`notes: ${String(error)}`);
      }
      await sleep(50);
    }
  };
  const loops = [loop(), loop()];
  return load;
}
