// Tokens that carry the app (docs/tokens.md, "Tokens"), over real HTTP on loopback: the claims
// function and what it is given, app metadata set by administrators only, scopes per role (a
// log-in asks for a subset, a refresh never widens), RFC 9068's client_id, the size budget, and
// every way a claims function can fail: 503 temporarily_unavailable, nothing issued, nothing
// spent, nothing of the failure in the answer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { decodeUnverified as decodeJwt } from '../../../jwt/src/index.ts';
import laissezFastify from '../../../middleware/src/fastify.ts';
import { createUserAccount } from '../../src/auth/accounts.ts';
import type { ClaimsContext, ClaimsFunction } from '../../src/auth/service.ts';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

const PASSWORD = 'correct horse battery staple';
const CANARY = 'canary-7f3e-secret-in-the-error';

interface Tokens {
  access_token: string;
  refresh_token: string;
  scope?: string;
}

let users = 0;
/** A user registered through the store (with roles), and logged in over HTTP. */
async function newUser(server: Running, roles: string[] = ['user']) {
  const n = ++users;
  const user = await createUserAccount(server.app.store, {
    username: `tok${n}_${process.pid}`,
    email: `tok${n}_${process.pid}@example.com`,
    password: PASSWORD,
    roles,
    passwordParams: FAST_ARGON2,
    now: Date.now(),
  });
  return user;
}

function logIn(server: Running, username: string, extra: Record<string, unknown> = {}) {
  return call<Tokens & { error?: string; error_description?: string }>(
    server.url,
    'POST',
    '/auth/login',
    { body: { username, password: PASSWORD, ...extra }, headers: { 'user-agent': 'tests/1.0' } },
  );
}

function refresh(server: Running, refreshToken: string, extra: Record<string, unknown> = {}) {
  return call<Tokens & { error?: string; error_description?: string }>(
    server.url,
    'POST',
    '/auth/refresh',
    { body: { refresh_token: refreshToken, ...extra } },
  );
}

/** Many log-ins from one address in a few seconds: more than the default per-address budget. */
const LIMITS = {
  loginPerIp: { max: 10_000, window: 60 },
  loginFailuresPerAccount: { max: 100, window: 60 },
  registerPerIp: { max: 1000, window: 60 },
};

const claimsOf = (token: string) => decodeJwt(token).payload as Record<string, unknown>;

describe('claims function, app metadata and scopes', () => {
  let server: Running;
  const seen: ClaimsContext[] = [];
  before(async () => {
    server = await start({
      passwordParams: FAST_ARGON2,
      rateLimits: LIMITS,
      alg: 'ES256',
      roleScopes: { user: ['notes:read', 'notes:write'], admin: ['admin'] },
      claims: async (context) => {
        seen.push(context);
        return { tenant: context.user?.app_metadata['tenant'] ?? null, plan: 'pro' };
      },
    });
  });
  after(() => server.close());

  test('the token carries the claims, client_id and scope; the function gets the user, session and request', async () => {
    const admin = await newUser(server, ['admin']);
    const user = await newUser(server);
    const adminLogin = await logIn(server, admin.username);
    assert.equal(adminLogin.status, 200);
    const put = await call(server.url, 'PUT', `/admin/users/${user.id}/app-metadata`, {
      token: adminLogin.body.access_token,
      body: { app_metadata: { tenant: 'acme', seats: 3 } },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual((put.body['user'] as Record<string, unknown>)['app_metadata'], {
      tenant: 'acme',
      seats: 3,
    });

    seen.length = 0;
    const before = Date.now();
    const login = await logIn(server, user.username);
    assert.equal(login.status, 200);
    assert.equal(login.body.scope, 'notes:read notes:write');
    const { header } = decodeJwt(login.body.access_token);
    assert.equal(header['typ'], 'at+jwt');
    const claims = claimsOf(login.body.access_token);
    assert.equal(claims['tenant'], 'acme');
    assert.equal(claims['plan'], 'pro');
    assert.equal(claims['client_id'], 'laissez');
    assert.equal(claims['scope'], 'notes:read notes:write');
    assert.equal(claims['sub'], user.id);
    assert.deepEqual(claims['roles'], ['user']);
    for (const name of ['iat', 'exp', 'jti', 'sid', 'iss', 'aud']) assert.ok(name in claims, name);

    assert.equal(seen.length, 1);
    const context = seen[0]!;
    assert.deepEqual(context.user, {
      id: user.id,
      username: user.username,
      email: user.email,
      roles: ['user'],
      created_at: new Date(user.createdAt).toISOString(),
      app_metadata: { tenant: 'acme', seats: 3 },
    });
    assert.doesNotMatch(JSON.stringify(context), /argon2|password/i);
    assert.equal(context.session?.id, claims['sid']);
    const loggedInAt = Date.parse(context.session?.created_at ?? '');
    assert.ok(loggedInAt >= before - 1000 && loggedInAt <= Date.now());
    assert.deepEqual(context.request, { ip: '127.0.0.1', user_agent: 'tests/1.0' });
    assert.equal(context.client_id, 'laissez');
    assert.equal(context.scope, 'notes:read notes:write');

    // /auth/me shows the metadata, read-only.
    const me = await call(server.url, 'GET', '/auth/me', { token: login.body.access_token });
    assert.deepEqual((me.body['user'] as Record<string, unknown>)['app_metadata'], {
      tenant: 'acme',
      seats: 3,
    });

    // A refresh sees new metadata; the session keeps its log-in time.
    await call(server.url, 'PUT', `/admin/users/${user.id}/app-metadata`, {
      token: adminLogin.body.access_token,
      body: { app_metadata: { tenant: 'globex' } },
    });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const next = await refresh(server, login.body.refresh_token);
    assert.equal(next.status, 200);
    assert.equal(claimsOf(next.body.access_token)['tenant'], 'globex');
    assert.equal(claimsOf(next.body.access_token)['sid'], claims['sid']);
    assert.equal(seen.at(-1)?.session?.created_at, context.session?.created_at);
  });

  test('app metadata: administrators only, bounded, a JSON object; never through the user', async () => {
    const admin = await newUser(server, ['admin']);
    const user = await newUser(server);
    const adminToken = (await logIn(server, admin.username)).body.access_token;
    const userToken = (await logIn(server, user.username)).body.access_token;
    const put = (token: string | undefined, id: string, body: unknown) =>
      call(server.url, 'PUT', `/admin/users/${encodeURIComponent(id)}/app-metadata`, {
        ...(token ? { token } : {}),
        body,
      });
    // Not an administrator, even on their own account: 403; no token: 401.
    const own = await put(userToken, user.id, { app_metadata: { plan: 'free-forever' } });
    assert.equal(own.status, 403);
    assert.equal(own.body['error'], 'insufficient_scope');
    assert.equal((await put(undefined, user.id, { app_metadata: {} })).status, 401);
    // A cookie is never enough (no cross-site form can set metadata).
    const viaCookie = await call(server.url, 'PUT', `/admin/users/${user.id}/app-metadata`, {
      headers: { cookie: `laissez_at=${adminToken}` },
      body: { app_metadata: {} },
    });
    assert.equal(viaCookie.status, 401);
    // Unknown user, wrong shapes, too big.
    const unknown = await put(adminToken, 'no-such-user', { app_metadata: {} });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body['error'], 'not_found');
    for (const body of [
      { app_metadata: [1, 2] },
      { app_metadata: 'text' },
      { metadata: {} },
      { app_metadata: { big: 'x'.repeat(5000) } },
      { app_metadata: { nul: 'a\u0000b' } },
    ]) {
      const reply = await put(adminToken, user.id, body);
      assert.equal(reply.status, 400, JSON.stringify(body).slice(0, 60));
      assert.equal(reply.body['error'], 'invalid_request');
    }
    // Nothing was written by any of those.
    assert.deepEqual((await server.app.store.findUserById(user.id))?.appMetadata, {});
    // The user's own routes take no metadata.
    const register = await call(server.url, 'POST', '/auth/register', {
      body: {
        username: `meta_${process.pid}`,
        email: `meta_${process.pid}@example.com`,
        password: PASSWORD,
        app_metadata: { role: 'admin' },
      },
    });
    assert.equal(register.status, 400);
  });

  test('scopes: a log-in asks for a subset; a refresh never widens; the middleware checks them', async () => {
    const user = await newUser(server);
    const narrow = await logIn(server, user.username, { scope: 'notes:read' });
    assert.equal(narrow.status, 200);
    assert.equal(claimsOf(narrow.body.access_token)['scope'], 'notes:read');
    // Asking for what the roles do not allow, or for nonsense: invalid_scope, nothing issued.
    for (const scope of ['notes:read admin', 'admin', 'a"b', 'x\\y']) {
      const refused = await logIn(server, user.username, { scope });
      assert.equal(refused.status, 400, scope);
      assert.equal(refused.body.error, 'invalid_scope', scope);
      assert.equal(refused.body.access_token, undefined);
    }
    // A refresh keeps the granted scope; asking for more is refused and spends nothing.
    const wider = await refresh(server, narrow.body.refresh_token, {
      scope: 'notes:read notes:write',
    });
    assert.equal(wider.status, 400);
    assert.equal(wider.body.error, 'invalid_scope');
    const kept = await refresh(server, narrow.body.refresh_token);
    assert.equal(kept.status, 200, JSON.stringify(kept.body));
    assert.equal(claimsOf(kept.body.access_token)['scope'], 'notes:read');
    assert.equal(kept.body.scope, 'notes:read');

    // A refresh may narrow its own token; the family keeps its scope for the next one.
    const full = await logIn(server, user.username);
    const read = await refresh(server, full.body.refresh_token, { scope: 'notes:read' });
    assert.equal(claimsOf(read.body.access_token)['scope'], 'notes:read');
    const again = await refresh(server, read.body.refresh_token);
    assert.equal(claimsOf(again.body.access_token)['scope'], 'notes:read notes:write');

    // A resource server with the laissez middleware: 403 insufficient_scope without the scope.
    const api = Fastify();
    await api.register(laissezFastify, {
      jwksUri: `${server.url}/.well-known/jwks.json`,
      algorithms: ['ES256'],
      issuer: 'http://localhost:3000',
      audience: 'api',
    });
    api.post(
      '/notes',
      { onRequest: api.authenticate.require({ scopes: ['notes:write'] }) },
      () => ({
        ok: true,
      }),
    );
    const apiUrl = await api.listen({ port: 0, host: '127.0.0.1' });
    try {
      const denied = await call(apiUrl, 'POST', '/notes', {
        token: kept.body.access_token,
        body: {},
      });
      assert.equal(denied.status, 403);
      assert.equal(denied.body['error'], 'insufficient_scope');
      assert.match(denied.headers.get('www-authenticate') ?? '', /scope="notes:write"/);
      const allowed = await call(apiUrl, 'POST', '/notes', {
        token: again.body.access_token,
        body: {},
      });
      assert.equal(allowed.status, 200);
    } finally {
      await api.close();
    }
  });
});

describe('a claims function that fails, is slow or returns what cannot go in a token', () => {
  let server: Running;
  let behaviour: ClaimsFunction = () => ({});
  before(async () => {
    server = await start({
      passwordParams: FAST_ARGON2,
      rateLimits: LIMITS,
      claimsTimeout: 100,
      accessTokenMaxBytes: 512,
      claims: (context) => behaviour(context),
    });
  });
  after(() => server.close());

  const bad: [string, ClaimsFunction][] = [
    [
      'throws',
      () => {
        throw new Error(CANARY);
      },
    ],
    ['rejects', async () => Promise.reject(new Error(CANARY))],
    ['is slower than claimsTimeout', () => new Promise((r) => setTimeout(() => r({}), 1000))],
    ['returns sub', () => ({ sub: 'someone-else' })],
    ['returns scope', () => ({ scope: 'admin' })],
    ['returns roles', () => ({ roles: ['admin'] })],
    ['returns client_id', () => ({ client_id: 'other' })],
    ['returns exp', () => ({ exp: 4102444800 })],
    ['returns undefined', () => ({ tenant: undefined })],
    ['returns NaN', () => ({ n: Number.NaN })],
    ['returns a Date', () => ({ when: new Date() })],
    ['returns a bigint', () => ({ big: 10n })],
    ['returns a lone surrogate', () => ({ s: '\ud800' })],
    ['returns an array', () => ['x'] as unknown as Record<string, unknown>],
    ['returns null', () => null as unknown as Record<string, unknown>],
    [
      'returns a getter that throws',
      () =>
        Object.defineProperty({}, 'x', {
          enumerable: true,
          get() {
            throw new Error(CANARY);
          },
        }),
    ],
    ['makes the token bigger than its budget', () => ({ blob: 'x'.repeat(400) })],
  ];

  for (const [what, fn] of bad) {
    test(`one that ${what}: 503 temporarily_unavailable, nothing issued or spent, nothing leaked`, async () => {
      behaviour = () => ({});
      const user = await newUser(server);
      const good = await logIn(server, user.username);
      assert.equal(good.status, 200);
      behaviour = fn;
      const families = await server.app.store.listLiveFamilies(user.id, Date.now());

      const login = await logIn(server, user.username);
      assert.equal(login.status, 503, JSON.stringify(login.body));
      assert.equal(login.body.error, 'temporarily_unavailable');
      assert.equal(login.headers.get('retry-after'), '5');
      assert.equal(login.body.access_token, undefined);
      const text = JSON.stringify(login.body);
      assert.doesNotMatch(text, new RegExp(`${CANARY}|stack|at |someone-else|x{50}`));
      // No session was started by the refused log-in.
      assert.deepEqual(await server.app.store.listLiveFamilies(user.id, Date.now()), families);

      const refused = await refresh(server, good.body.refresh_token);
      assert.equal(refused.status, 503);
      assert.equal(refused.body.error, 'temporarily_unavailable');
      // The refresh token was not spent: once the function is fixed, it still works.
      behaviour = () => ({ fixed: true });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const retried = await refresh(server, good.body.refresh_token);
      assert.equal(retried.status, 200, JSON.stringify(retried.body));
      assert.equal(claimsOf(retried.body.access_token)['fixed'], true);
    });
  }

  test('a token within its budget is issued; the budget counts the whole token', async () => {
    const user = await newUser(server);
    behaviour = () => ({ blob: 'x'.repeat(50) });
    const login = await logIn(server, user.username);
    assert.equal(login.status, 200);
    assert.ok(Buffer.byteLength(login.body.access_token) <= 512);
  });
});

describe('the token options', () => {
  test('firstPartyClientId names the client of log-in tokens; no roleScopes: no scope, and asking for one is invalid_scope', async () => {
    const server = await start({ passwordParams: FAST_ARGON2, firstPartyClientId: 'web-app' });
    try {
      const user = await newUser(server);
      const login = await logIn(server, user.username);
      assert.equal(login.status, 200);
      const claims = claimsOf(login.body.access_token);
      assert.equal(claims['client_id'], 'web-app');
      assert.equal('scope' in claims, false);
      assert.equal(login.body.scope, undefined);
      const asked = await logIn(server, user.username, { scope: 'notes:read' });
      assert.equal(asked.status, 400);
      assert.equal(asked.body.error, 'invalid_scope');
    } finally {
      await server.close();
    }
  });

  test('bad token options are refused before anything opens', async () => {
    for (const [options, message] of [
      [{ claims: 'nope' }, /claims/],
      [{ claims: () => ({}), claimsModule: './x.ts' }, /both give the claims function/],
      [{ accessTokenMaxBytes: 10 }, /accessTokenMaxBytes/],
      [{ claimsTimeout: 0 }, /claimsTimeout/],
      [{ roleScopes: { user: ['a b'] } }, /scope-token/],
      [{ roleScopes: { user: 'notes:read' } }, /array/],
      [{ firstPartyClientId: '' }, /firstPartyClientId/],
      [{ roleScope: {} }, /did you mean "roleScopes"/],
    ] as const) {
      await assert.rejects(start({ ...(options as object) }), message);
    }
  });
});
