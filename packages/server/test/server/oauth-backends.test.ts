// The OAuth endpoints on the backends they claim: revocation (RFC 7009) and introspection
// (RFC 7662) over a real Redis revocation feed, where a revoked token is inactive at once and a
// resource server holding its own feed refuses it as soon as the revocation is pushed; and the
// token, introspection and revocation endpoints on PostgreSQL (a schema of this run).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { laissez } from '../../../middleware/src/fastify.ts';
import { checkSessions } from '../../../middleware/src/redis/revocation.ts';
import {
  createRevocationFeed,
  type RevocationFeed,
} from '../../../middleware/src/redis/revocation-feed.ts';
import { describeRedis, eventually, REDIS_URL } from '../../../middleware/test/redis/helpers.ts';
import { registerClient } from '../../src/auth/clients.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import type { Store } from '../../src/store/types.ts';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

const ISSUER = 'http://localhost:3000';

async function form(
  base: string,
  path: string,
  params: Record<string, string>,
  authorization?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(base + path, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(authorization ? { authorization } : {}),
    },
    body: new URLSearchParams(params),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describeRedis('OAuth revocation and introspection on the Redis revocation feed', ({ prefix }) => {
  let own: RevocationFeed;
  let theirs: RevocationFeed;
  let server: Running;
  let api: FastifyInstance;
  let apiUrl: string;
  let auth: string;

  before(async () => {
    own = createRevocationFeed({ url: REDIS_URL, prefix, onError: () => {} });
    theirs = createRevocationFeed({ url: REDIS_URL, prefix, onError: () => {} });
    server = await start({
      alg: 'EdDSA',
      issuer: ISSUER,
      revocations: own,
      passwordParams: FAST_ARGON2,
    });
    const { secret } = await registerClient(
      server.app.store,
      { id: 'billing', scopes: ['invoices:read'] },
      Date.now(),
    );
    auth = basic('billing', secret!);
    // A resource server in another process would hold a feed of its own: `theirs`.
    api = Fastify();
    await api.register(laissez, {
      algorithms: ['EdDSA'],
      jwksUri: `${server.url}/.well-known/jwks.json`,
      issuer: ISSUER,
      audience: 'api',
      isRevoked: checkSessions(theirs),
    });
    api.get('/invoices', { onRequest: api.authenticate }, async () => ({ ok: true }));
    apiUrl = await api.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await api?.close();
    await server?.close();
    await own?.close();
    await theirs?.close();
  });

  const introspect = async (token: string) =>
    (await form(server.url, '/oauth/introspect', { token }, auth)).body;
  const apiStatus = async (token: string) =>
    (await call(apiUrl, 'GET', '/invoices', { token })).status;

  test('a revoked client-credentials token: introspection says inactive at once, the resource server refuses it once pushed', async () => {
    const issued = await form(
      server.url,
      '/oauth/token',
      { grant_type: 'client_credentials' },
      auth,
    );
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    const token = issued.body['access_token'] as string;
    // Another token of the same client: a session of its own, untouched by the revocation.
    const sibling = (
      await form(server.url, '/oauth/token', { grant_type: 'client_credentials' }, auth)
    ).body['access_token'] as string;
    assert.equal((await introspect(token))['active'], true);
    assert.equal(await apiStatus(token), 200);

    const revoked = await form(server.url, '/oauth/revoke', { token }, auth);
    assert.equal(revoked.status, 200);
    assert.deepEqual(await introspect(token), { active: false });
    await eventually(
      async () => (await apiStatus(token)) === 401,
      'the resource server refuses the revoked token',
    );
    assert.equal((await introspect(sibling))['active'], true);
    assert.equal(await apiStatus(sibling), 200);
  });

  test('a revoked log-in access token ends its session: the access and refresh tokens are inactive, the resource server refuses', async () => {
    await call(server.url, 'POST', '/auth/register', {
      body: { username: 'erin', email: 'erin@example.com', password: 'erin password' },
    });
    const tokens = (
      await call<{ access_token: string; refresh_token: string }>(
        server.url,
        'POST',
        '/auth/login',
        { body: { username: 'erin', password: 'erin password' } },
      )
    ).body;
    assert.equal(await apiStatus(tokens.access_token), 200);
    assert.equal((await introspect(tokens.refresh_token))['active'], true);

    // Revoked by the first-party client, public (RFC 7009 §2.1 with client_id only).
    const revoked = await form(server.url, '/oauth/revoke', {
      token: tokens.access_token,
      client_id: 'laissez',
    });
    assert.equal(revoked.status, 200);
    assert.deepEqual(await introspect(tokens.access_token), { active: false });
    assert.deepEqual(await introspect(tokens.refresh_token), { active: false });
    await eventually(
      async () => (await apiStatus(tokens.access_token)) === 401,
      'the resource server refuses the revoked log-in',
    );
    const refresh = await form(server.url, '/oauth/token', {
      grant_type: 'refresh_token',
      client_id: 'laissez',
      refresh_token: tokens.refresh_token,
    });
    assert.equal(refresh.status, 400);
    assert.equal(refresh.body['error'], 'invalid_grant');
  });
});

const DATABASE_URL =
  process.env['LAISSEZ_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

describe('the OAuth endpoints on PostgreSQL', () => {
  let server: Running;
  let store: Store;
  const schema = `laissez_test_oauth_${randomBytes(5).toString('hex')}`;

  before(async () => {
    store = openPostgresStore({ connectionString: DATABASE_URL, schema });
    server = await start({ store, issuer: ISSUER, passwordParams: FAST_ARGON2 });
  });
  after(async () => {
    await server?.close();
    await store?.close();
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await admin.end();
  });

  test('client credentials, refresh, introspection, revocation and metadata', async () => {
    const { secret } = await registerClient(
      store,
      { id: 'billing', scopes: ['invoices:read', 'invoices:write'] },
      Date.now(),
    );
    const auth = basic('billing', secret!);
    const wrong = await form(
      server.url,
      '/oauth/token',
      { grant_type: 'client_credentials' },
      basic('billing', `cs_${'A'.repeat(43)}`),
    );
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body['error'], 'invalid_client');

    const issued = await form(
      server.url,
      '/oauth/token',
      { grant_type: 'client_credentials', scope: 'invoices:read' },
      auth,
    );
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    assert.equal(issued.body['scope'], 'invoices:read');
    const token = issued.body['access_token'] as string;
    const live = await form(server.url, '/oauth/introspect', { token }, auth);
    assert.equal(live.body['active'], true);
    assert.equal(live.body['client_id'], 'billing');

    await call(server.url, 'POST', '/auth/register', {
      body: { username: 'olive', email: 'olive@example.com', password: 'olive password' },
    });
    const login = (
      await call<{ refresh_token: string }>(server.url, 'POST', '/auth/login', {
        body: { username: 'olive', password: 'olive password' },
      })
    ).body;
    const refreshed = await form(server.url, '/oauth/token', {
      grant_type: 'refresh_token',
      client_id: 'laissez',
      refresh_token: login.refresh_token,
    });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    const next = refreshed.body['refresh_token'] as string;
    // The spent token is inactive (the store says so), the new one active.
    const spent = await form(server.url, '/oauth/introspect', { token: login.refresh_token }, auth);
    assert.deepEqual(spent.body, { active: false });
    const current = await form(server.url, '/oauth/introspect', { token: next }, auth);
    assert.equal(current.body['active'], true);
    assert.equal(current.body['token_type'], 'refresh_token');

    assert.equal((await form(server.url, '/oauth/revoke', { token: next }, auth)).status, 200);
    const ended = await form(server.url, '/oauth/introspect', { token: next }, auth);
    assert.deepEqual(ended.body, { active: false });

    const meta = await call(server.url, 'GET', '/.well-known/oauth-authorization-server');
    assert.deepEqual(meta.body['scopes_supported'], ['invoices:read', 'invoices:write']);
  });
});
