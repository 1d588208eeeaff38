// Ended sessions, end to end over real HTTP: the auth server's own routes refuse an access token of
// a session that was logged out everywhere or revoked for reuse exactly as a resource server's
// middleware does (same authenticator, same revocation list in a real Redis).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { decodeUnverified } from '../../src/jwt/index.ts';
import { laissez } from '../../src/middleware/fastify.ts';
import {
  checkSessions,
  createRevocationList,
  type RevocationList,
} from '../../src/redis/revocation.ts';
import { call, FAST_ARGON2, type Reply, type Running, start } from '../helpers/server.ts';
import { describeRedis, REDIS_URL } from '../redis/helpers.ts';

type Tokens = { access_token: string; refresh_token: string };

describeRedis('the auth server checks the revocation list as the middleware does', ({ prefix }) => {
  let list: RevocationList;
  let server: Running;
  let api: FastifyInstance;
  let apiUrl: string;
  const issuer = 'http://localhost:3000';
  before(async () => {
    list = createRevocationList({ url: REDIS_URL, prefix, onError: () => {} });
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
