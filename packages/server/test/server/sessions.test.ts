// Sessions end to end over real HTTP: racing refreshes of one token get one successor (SQLite and
// PostgreSQL), a refused refresh says why, and the auth server's own routes refuse an access
// token of a session that was logged out everywhere or revoked for reuse exactly as a resource
// server's middleware does (same authenticator, same revocation list in a real Redis).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { decodeUnverified } from '../../../jwt/src/index.ts';
import { laissez } from '../../../middleware/src/fastify.ts';
import {
  checkSessions,
  createRevocationList,
  type RevocationList,
} from '../../../middleware/src/redis/revocation.ts';
import { describeRedis, REDIS_URL } from '../../../middleware/test/redis/helpers.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import type { Store } from '../../src/store/types.ts';
import { call, FAST_ARGON2, type Reply, type Running, start } from '../helpers/server.ts';

type Tokens = { access_token: string; refresh_token: string };

describeRedis('the auth server checks the revocation list as the middleware does', ({ prefix }) => {
  let list: RevocationList;
  let server: Running;
  let api: FastifyInstance;
  let apiUrl: string;
  const issuer = 'http://localhost:3000';
  before(async () => {
    list = createRevocationList({ url: REDIS_URL, prefix, timeout: 5000, onError: () => {} });
    // The grace window off: a second use of a spent refresh token is reuse at once.
    server = await start({
      alg: 'EdDSA',
      issuer,
      revocations: list,
      reuseGrace: 0,
      passwordParams: FAST_ARGON2,
    });
    // A resource server: the middleware, the auth server's JWKS and the same list.
    api = Fastify();
    await api.register(laissez, {
      algorithms: ['EdDSA'],
      jwksUri: `${server.url}/.well-known/jwks.json`,
      issuer,
      audience: 'api',
      isRevoked: checkSessions(list),
    });
    api.get('/notes', { onRequest: api.authenticate }, async (request) => ({
      sub: request.auth!.subject,
    }));
    apiUrl = await api.listen({ port: 0, host: '127.0.0.1' });
    await call(server.url, 'POST', '/auth/register', {
      body: { username: 'dora', email: 'dora@example.com', password: 'dora password' },
    });
  });
  after(async () => {
    await api?.close();
    await server?.close();
    await list?.close();
  });

  const login = async () =>
    (
      await call<Tokens>(server.url, 'POST', '/auth/login', {
        body: { username: 'dora', password: 'dora password' },
      })
    ).body;
  const shape = (r: Reply) => ({
    status: r.status,
    body: r.body,
    challenge: r.headers.get('www-authenticate'),
  });
  /** /auth/me and the resource server's answer to one token. */
  const both = async (token: string) => ({
    me: shape(await call(server.url, 'GET', '/auth/me', { token })),
    api: shape(await call(apiUrl, 'GET', '/notes', { token })),
  });
  const ENDED = {
    status: 401,
    body: { error: 'invalid_token', error_description: 'the session has ended; log in again' },
    challenge:
      'Bearer error="invalid_token", error_description="the session has ended; log in again"',
  };

  test('after log-out everywhere: /auth/me and the middleware both answer 401 invalid_token', async () => {
    const [one, two] = [await login(), await login()];
    assert.equal((await both(one.access_token)).me.status, 200);
    assert.equal((await both(one.access_token)).api.status, 200);
    const all = await call(server.url, 'POST', '/auth/logout-all', { token: one.access_token });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    for (const tokens of [one, two]) {
      const answers = await both(tokens.access_token);
      assert.deepEqual(answers.me, ENDED);
      assert.deepEqual(answers.api, ENDED);
    }
    // Log-out everywhere itself is refused with the ended token, as every bearer route is.
    const again = await call(server.url, 'POST', '/auth/logout-all', { token: one.access_token });
    assert.deepEqual(shape(again), ENDED);
  });

  test('after reuse revocation: /auth/me and the middleware both answer 401 invalid_token', async () => {
    const first = await login();
    const second = (
      await call<Tokens>(server.url, 'POST', '/auth/refresh', {
        body: { refresh_token: first.refresh_token },
      })
    ).body;
    assert.equal(
      decodeUnverified(second.access_token).payload.sid,
      decodeUnverified(first.access_token).payload.sid,
    );
    assert.equal((await both(second.access_token)).me.status, 200);
    const reuse = await call(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: first.refresh_token },
    });
    assert.equal(reuse.status, 401);
    for (const token of [first.access_token, second.access_token]) {
      const answers = await both(token);
      assert.deepEqual(answers.me, ENDED);
      assert.deepEqual(answers.api, ENDED);
    }
  });

  test('a live session of the same user is untouched', async () => {
    const live = await login();
    const answers = await both(live.access_token);
    assert.equal(answers.me.status, 200);
    assert.equal(answers.api.status, 200);
  });
});

const DATABASE_URL =
  process.env['LAISSEZ_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

for (const kind of ['SQLite', 'PostgreSQL'] as const) {
  describe(`racing refreshes of one token get one successor (${kind})`, () => {
    let server: Running;
    let store: Store | undefined;
    let clock = Date.now();
    // PostgreSQL in a schema of this run, dropped at the end; SQLite in the server's data directory.
    const schema = `laissez_test_sessions_${randomBytes(5).toString('hex')}`;
    before(async () => {
      store =
        kind === 'PostgreSQL'
          ? openPostgresStore({ connectionString: DATABASE_URL, schema })
          : undefined;
      server = await start({
        ...(store ? { store } : {}),
        now: () => clock,
        passwordParams: FAST_ARGON2,
      });
      await call(server.url, 'POST', '/auth/register', {
        body: { username: 'erin', email: 'erin@example.com', password: 'erin password' },
      });
    });
    after(async () => {
      await server?.close();
      if (!store) return;
      await store.close();
      const admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      await admin.end();
    });
    const login = async () =>
      (
        await call<Tokens>(server.url, 'POST', '/auth/login', {
          body: { username: 'erin', password: 'erin password' },
        })
      ).body;
    const refresh = (token: string) =>
      call<Tokens & { error_description?: string }>(server.url, 'POST', '/auth/refresh', {
        body: { refresh_token: token },
      });
    /** The tokens of the family that are neither spent nor revoked. */
    const live = async (hashes: string[]) => {
      const found = await Promise.all(hashes.map((h) => server.app.store.findRefreshToken(h)));
      return found.filter((t) => t && t.usedAt === null && t.revokedAt === null);
    };

    test('60 concurrent refreshes: all 200 with the same refresh token, one live successor', async () => {
      const start = await login();
      const racers = await Promise.all(
        Array.from({ length: 60 }, () => refresh(start.refresh_token)),
      );
      for (const r of racers) assert.equal(r.status, 200, JSON.stringify(r.body));
      const successors = new Set(racers.map((r) => r.body.refresh_token));
      assert.equal(successors.size, 1, `${successors.size} different successors`);
      const [successor] = successors as Set<string>;
      const spent = await server.app.store.findRefreshToken(sha256(start.refresh_token));
      assert.equal(spent?.replacedBy, sha256(successor!));
      assert.equal((await live([sha256(start.refresh_token), sha256(successor!)])).length, 1);
      // Every access token is of the one session.
      const sids = new Set(racers.map((r) => decodeUnverified(r.body.access_token).payload.sid));
      assert.deepEqual([...sids], [decodeUnverified(start.access_token).payload.sid]);

      // The chain continues: the successor rotates once, racers of it get its one successor.
      const next = await Promise.all(Array.from({ length: 10 }, () => refresh(successor!)));
      assert.equal(new Set(next.map((r) => r.body.refresh_token)).size, 1);
      for (const r of next) assert.equal(r.status, 200, JSON.stringify(r.body));
      // A late racer of the first token (still in the window) reaches the live end of the chain.
      const late = await refresh(start.refresh_token);
      assert.equal(late.status, 200);
      assert.equal(late.body.refresh_token, next[0]!.body.refresh_token);
    });

    test('reuse after the grace window still revokes the family, and says why afterwards', async () => {
      const start = await login();
      const second = (await refresh(start.refresh_token)).body.refresh_token;
      const third = (await refresh(second)).body.refresh_token;
      clock += 11_000; // past the 10 s grace
      const reuse = await refresh(start.refresh_token);
      assert.equal(reuse.status, 401);
      assert.equal(
        reuse.body.error_description,
        'the refresh token was already used; the session was revoked for safety; log in again',
      );
      for (const token of [third, second, start.refresh_token]) {
        const after = await refresh(token);
        assert.equal(after.status, 401);
        assert.deepEqual(after.body, {
          error: 'invalid_grant',
          error_description:
            'the refresh token was reused; the session was revoked for safety; log in again',
        });
      }
    });

    test('a refused refresh says how the session ended: log-out, log out everywhere', async () => {
      const one = await login();
      await call(server.url, 'POST', '/auth/logout', {
        body: { refresh_token: one.refresh_token },
      });
      assert.equal(
        (await refresh(one.refresh_token)).body.error_description,
        'the session was logged out; log in again',
      );
      const two = await login();
      await call(server.url, 'POST', '/auth/logout-all', { token: two.access_token });
      assert.equal(
        (await refresh(two.refresh_token)).body.error_description,
        'the session was logged out everywhere; log in again',
      );
    });
  });
}
