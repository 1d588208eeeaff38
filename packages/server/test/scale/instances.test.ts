// Three `laissez serve` processes on loopback sharing one PostgreSQL database and one Redis, as
// behind a load balancer: a token from any instance verifies on all; log in on A, refresh on B,
// reuse on C is detected and revokes the family; rate limits count across the three; concurrent
// refreshes of one token on the three instances yield exactly one successor (grace window off).
//
// The instances run with LAISSEZ_REUSE_GRACE=0 (no grace window), the same LAISSEZ_ISSUER, and
// LAISSEZ_TRUST_PROXY=on so that each test names its client IP in X-Forwarded-For, as a load
// balancer would. Redis is a throw-away redis-server of this file (the server's keys have no per-run
// prefix); the database is a fresh one on the shared PostgreSQL, dropped at the end.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type RedisClientType } from '@redis/client';
import pg from 'pg';
import { generateKekText, KeyEncryptionKey } from '../../src/auth/kek.ts';
import { KeyRing } from '../../src/auth/keyring.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import type { Store } from '../../src/store/types.ts';
import {
  account,
  call,
  claimsOf,
  describeScale,
  type Instance,
  ISSUER,
  logIn,
  nextIp,
  type Reply,
  register,
  type ScratchDatabase,
  scratchDatabase,
  startTrio,
  stopAll,
  type TempRedis,
  tempRedis,
} from './helpers.ts';

describeScale(
  'three auth server instances sharing PostgreSQL and Redis',
  { timeout: 180_000 },
  () => {
    let db: ScratchDatabase | undefined;
    let redis: TempRedis | undefined;
    let admin: RedisClientType | undefined;
    const instances: Instance[] = [];
    let A: Instance;
    let B: Instance;
    let C: Instance;

    before(async () => {
      db = await scratchDatabase();
      redis = await tempRedis();
      admin = createClient({ url: redis.url });
      admin.on('error', () => {});
      await admin.connect();
      const settings = { DATABASE_URL: db.url, REDIS_URL: redis.url, LAISSEZ_REUSE_GRACE: '0' };
      // A first: it migrates the new database and makes the first signing key; B and C then start
      // together and find both. (First starts at once on an empty database: see the last test.)
      [A, B, C] = await startTrio(settings, instances);
    });

    after(async () => {
      const codes = await stopAll(instances);
      await admin?.close().catch(() => {});
      await redis?.stop();
      await db?.drop();
      // Every instance was alive until the end and stopped cleanly.
      for (const [i, code] of codes.entries()) {
        assert.equal(
          code,
          0,
          `${instances[i]!.name} exited with ${code}:\n${instances[i]!.output()}`,
        );
      }
    });

    test('a token issued by any instance verifies on all three', async () => {
      const user = account('anywhere');
      const { id } = await register(A.url, user);
      for (const issuer of [A, B, C]) {
        const tokens = await logIn(issuer.url, user);
        assert.equal(claimsOf(tokens.access_token)['iss'], ISSUER);
        for (const verifier of [A, B, C]) {
          const me = await call(verifier.url, '/auth/me', { token: tokens.access_token });
          assert.equal(
            me.status,
            200,
            `a token of ${issuer.name} on ${verifier.name}: ${JSON.stringify(me.body)}`,
          );
          assert.equal(me.body.user.id, id);
        }
      }
    });

    test('log in on A, refresh on B, reuse on C: the reuse is detected and the family revoked', async () => {
      const user = account('reuse');
      await register(B.url, user);
      const first = await logIn(A.url, user);
      const sid = claimsOf(first.access_token)['sid'] as string;

      const rotated = await call(B.url, '/auth/refresh', {
        json: { refresh_token: first.refresh_token },
      });
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      assert.equal(claimsOf(rotated.body.access_token)['sid'], sid, 'the same session (family)');

      // The spent token again, on a third instance: theft, as far as the server can tell.
      const reused = await call(C.url, '/auth/refresh', {
        json: { refresh_token: first.refresh_token },
      });
      assert.equal(reused.status, 401);
      assert.equal(reused.body.error, 'invalid_grant');
      assert.match(reused.body.error_description, /already used.*revoked/);

      // The whole family is revoked: the legitimate successor no longer works, on any instance.
      for (const instance of [A, B, C]) {
        const next = await call(instance.url, '/auth/refresh', {
          json: { refresh_token: rotated.body.refresh_token },
        });
        assert.equal(next.status, 401, `${instance.name}: ${JSON.stringify(next.body)}`);
        assert.equal(next.body.error, 'invalid_grant');
      }
      const live = await db!.query(
        'SELECT count(*)::int AS n FROM refresh_tokens WHERE family_id = $1 AND revoked_at IS NULL',
        [sid],
      );
      assert.equal(live.rows[0]!['n'], 0, 'no live refresh token left in the family');
      // And the ended session is on the revocation list for resource servers that check it.
      assert.notEqual(await admin!.zScore('laissez:rev:sessions', sid), null);
    });

    test('the per-IP log-in limit counts across the three instances', async () => {
      const user = account('busy');
      await register(C.url, user);
      const ip = nextIp();
      const login = (instance: Instance) =>
        call(instance.url, '/auth/login', {
          json: { username: user.username, password: user.password },
          ip,
        });
      // 30 log-ins a minute from one IP (src/auth/limits.ts), sent to A, B and C in turn.
      for (let round = 0; round < 10; round++) {
        const replies = await Promise.all([login(A), login(B), login(C)]);
        for (const reply of replies) assert.equal(reply.status, 200, JSON.stringify(reply.body));
      }
      // The 31st, 32nd and 33rd are refused whichever instance they reach.
      for (const instance of [A, B, C]) {
        const reply = await login(instance);
        assert.equal(reply.status, 429, `${instance.name}: ${JSON.stringify(reply.body)}`);
        assert.equal(reply.body.error, 'too_many_requests');
        const retryAfter = Number(reply.headers.get('retry-after'));
        assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      }
      // Counted once each, in one shared counter.
      assert.equal(await admin!.get(`laissez:rl:login:ip:${ip}`), '33');
      // Another IP is not affected.
      assert.equal(
        (await call(A.url, '/auth/login', { json: { ...userLogin(user) } })).status,
        200,
      );
    });

    test('failed log-ins lock the account on every instance, from any IP', async () => {
      const user = account('locked');
      await register(A.url, user);
      const wrong = { username: user.username, password: 'not the password' };
      // 10 failures in 15 minutes, spread over the instances and over as many IPs.
      for (let i = 0; i < 10; i++) {
        const reply = await call(instances[i % 3]!.url, '/auth/login', { json: wrong });
        assert.equal(reply.status, 401, JSON.stringify(reply.body));
      }
      // Now even the right password is refused, on each instance, from a fresh IP.
      for (const instance of [A, B, C]) {
        const reply = await call(instance.url, '/auth/login', { json: userLogin(user) });
        assert.equal(reply.status, 429, `${instance.name}: ${JSON.stringify(reply.body)}`);
        assert.match(reply.body.error_description, /failed log-ins for this account/);
        assert.ok(Number(reply.headers.get('retry-after')) > 60, 'locked for the rest of 15 min');
      }
    });

    test('the per-IP registration limit counts across the three instances', async () => {
      const ip = nextIp();
      // 10 registrations in 10 minutes from one IP, spread over A, B and C.
      for (let i = 0; i < 10; i++) {
        const reply = await call(instances[i % 3]!.url, '/auth/register', {
          json: account('signup'),
          ip,
        });
        assert.equal(reply.status, 201, JSON.stringify(reply.body));
      }
      for (const instance of [A, B, C]) {
        const reply = await call(instance.url, '/auth/register', { json: account('signup'), ip });
        assert.equal(reply.status, 429, `${instance.name}: ${JSON.stringify(reply.body)}`);
        assert.ok(Number(reply.headers.get('retry-after')) >= 1);
      }
    });

    // With LAISSEZ_REUSE_GRACE=0 a spent token is always reuse: a losing racer, whatever its
    // clock said, gets no successor of its own (a regression test: it once did).
    test('concurrent refreshes of one token on the three instances, grace off: exactly one successor', async () => {
      const user = account('racer');
      await register(A.url, user);
      // Warm a keep-alive connection to each instance, so that the racers leave together.
      await Promise.all([A, B, C].map((i) => call(i.url, '/healthz')));
      const rounds = 10;
      const failures: string[] = [];
      for (let round = 0; round < rounds; round++) {
        const tokens = await logIn(instances[round % 3]!.url, user);
        const sid = claimsOf(tokens.access_token)['sid'] as string;
        // Two racers per instance, all with the same refresh token.
        const racers = [A, B, C, A, B, C];
        const replies: Reply[] = await Promise.all(
          racers.map((i) =>
            call(i.url, '/auth/refresh', { json: { refresh_token: tokens.refresh_token } }),
          ),
        );
        const ok = replies.filter((r) => r.status === 200);
        const refused = replies.filter((r) => r.status === 401 && r.body.error === 'invalid_grant');
        const stored = await db!.query(
          'SELECT count(*)::int AS n FROM refresh_tokens WHERE family_id = $1',
          [sid],
        );
        const successors = (stored.rows[0]!['n'] as number) - 1;
        if (ok.length !== 1 || refused.length !== racers.length - 1 || successors !== 1) {
          // How the extra successors came about: the spent token's used_at (the winner's clock)
          // against each successor's created_at (the clock of the request that stored it).
          const rows = await db!.query(
            'SELECT created_at, used_at FROM refresh_tokens WHERE family_id = $1 ORDER BY created_at',
            [sid],
          );
          const usedAt = Number(rows.rows.find((r) => r['used_at'] !== null)?.['used_at']);
          const offsets = rows.rows
            .filter((r) => r['used_at'] === null)
            .map((r) => Number(r['created_at']) - usedAt);
          failures.push(
            `round ${round}: ${ok.length} × 200, ${refused.length} × 401, ${successors} successors ` +
              `stored; successors' created_at - spent token's used_at (ms): ${offsets.join(', ')}`,
          );
        }
        // With no grace window the losers count as reuse: the family, the winner's successor
        // included, is revoked.
        if (ok.length >= 1) {
          const next = await call(B.url, '/auth/refresh', {
            json: { refresh_token: ok[0]!.body.refresh_token },
          });
          if (next.status !== 401) failures.push(`round ${round}: the successor still refreshes`);
        }
      }
      assert.deepEqual(failures, [], failures.join('\n'));
    });

    test('instances starting together on an empty database converge on one signing key', async () => {
      // `KeyRing.open` reads the keys and, finding none, rotates in a first key: two processes
      // doing that at once on a new database each make a key. They once retired each other,
      // leaving no key 17 minutes later; now every ring retires the others relative to the same
      // winner. Here, two key rings on two stores (two pools, as two processes) open together on an empty
      // schema, and the interleaving of that unlucky start is forced: each ring's first read of
      // the keys returns only once the other ring has read them too (or after 2 s, so that a
      // fix that serialises the two cannot deadlock here).
      const schema = `race_${Date.now().toString(36)}`;
      const open = () => openPostgresStore({ connectionString: db!.url, schema });
      const [first, second] = [open(), open()];
      let read = 0;
      let bothRead: () => void = () => {};
      const barrier = new Promise<void>((resolve) => {
        bothRead = resolve;
      });
      /** The store, with its first listSigningKeys() held at the barrier. */
      const racing = (store: Store): Store => {
        let held = false;
        return new Proxy(store, {
          get(target, property) {
            const value = Reflect.get(target, property, target);
            if (property === 'listSigningKeys' && !held) {
              held = true;
              return async () => {
                const keys = await target.listSigningKeys();
                if (++read === 2) bothRead();
                await Promise.race([barrier, sleep(2000)]);
                return keys;
              };
            }
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      };
      try {
        await first.migrate();
        await second.migrate();
        let clock = Date.now();
        const now = () => clock;
        const options = {
          alg: 'HS256' as const,
          issuer: ISSUER,
          audience: 'api',
          accessTtl: 900,
          kek: KeyEncryptionKey.parse(generateKekText(), 'a test key'),
        };
        const [ringA, ringB] = await Promise.all([
          KeyRing.open(racing(first), { ...options, now }),
          KeyRing.open(racing(second), { ...options, now }),
        ]);
        const made = await first.listSigningKeys();
        // Each rotation retires every key but its own. When both keys were stored before either
        // retired the others (it depends on the interleaving), they retire each other: once the
        // access-token lifetime and the leeway (15 min + 1 min) have passed, a reload deletes both,
        // and the database has no signing key left (the running instances go on signing with a key
        // that is gone; an instance started then makes a new one and refuses their tokens).
        clock += 17 * 60_000;
        await ringA.reload();
        await ringB.reload();
        const left = await first.listSigningKeys();
        // Two first keys may be made (the interleaving is forced to allow it), but every ring
        // converges on the same one: the other retires, never both.
        assert.ok(made.length >= 1 && made.length <= 2, `${made.length} first keys`);
        assert.equal(made.filter((k) => k.retiresAt === null).length, 1, 'one live key');
        assert.equal(ringA.current.kid, ringB.current.kid, 'both rings sign with the same key');
        assert.equal(left.length, 1, 'one key left 17 minutes later');
        assert.equal(left[0]?.kid, ringA.current.kid);
      } finally {
        await first.close();
        await second.close();
        const client = new pg.Client({ connectionString: db!.url });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await client.end();
      }
    });
  },
);

function userLogin(user: { username: string; password: string }) {
  return { username: user.username, password: user.password };
}
