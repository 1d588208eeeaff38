// The auth server on the pushed revocation feed: its own bearer routes check the feed it holds in
// memory, and a resource server's feed (another connection, as another process would have) refuses
// the same token once log-out everywhere has been pushed to it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { laissez } from '../../../middleware/src/fastify.ts';
import { checkSessions } from '../../../middleware/src/redis/revocation.ts';
import {
  createRevocationFeed,
  type RevocationFeed,
} from '../../../middleware/src/redis/revocation-feed.ts';
import { describeRedis, eventually, REDIS_URL } from '../../../middleware/test/redis/helpers.ts';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

type Tokens = { access_token: string; refresh_token: string };

describeRedis('the auth server on the revocation feed', ({ prefix }) => {
  let own: RevocationFeed;
  let theirs: RevocationFeed;
  let server: Running;
  let api: FastifyInstance;
  let apiUrl: string;
  const issuer = 'http://localhost:3000';
  before(async () => {
    own = createRevocationFeed({ url: REDIS_URL, prefix, onError: () => {} });
    theirs = createRevocationFeed({ url: REDIS_URL, prefix, onError: () => {} });
    server = await start({ alg: 'EdDSA', issuer, revocations: own, passwordParams: FAST_ARGON2 });
    api = Fastify();
    await api.register(laissez, {
      algorithms: ['EdDSA'],
      jwksUri: `${server.url}/.well-known/jwks.json`,
      issuer,
      audience: 'api',
      isRevoked: checkSessions(theirs),
    });
    api.get('/notes', { onRequest: api.authenticate }, async () => ({ ok: true }));
    apiUrl = await api.listen({ port: 0, host: '127.0.0.1' });
    await call(server.url, 'POST', '/auth/register', {
      body: { username: 'erin', email: 'erin@example.com', password: 'erin password' },
    });
  });
  after(async () => {
    await api?.close();
    await server?.close();
    await own?.close();
    await theirs?.close();
  });

  test('log-out everywhere: /auth/me refuses at once, the resource server as soon as it is pushed', async () => {
    const tokens = (
      await call<Tokens>(server.url, 'POST', '/auth/login', {
        body: { username: 'erin', password: 'erin password' },
      })
    ).body;
    const token = tokens.access_token;
    assert.equal((await call(server.url, 'GET', '/auth/me', { token })).status, 200);
    assert.equal((await call(apiUrl, 'GET', '/notes', { token })).status, 200);
    const all = await call(server.url, 'POST', '/auth/logout-all', { token });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    const me = await call(server.url, 'GET', '/auth/me', { token });
    assert.equal(me.status, 401);
    assert.deepEqual(me.body, {
      error: 'invalid_token',
      error_description: 'the session has ended; log in again',
    });
    await eventually(
      async () => (await call(apiUrl, 'GET', '/notes', { token })).status === 401,
      'the resource server refuses the token',
    );
  });
});
