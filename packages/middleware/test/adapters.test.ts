// The Fastify, Express and Hono adapters, each serving real HTTP on loopback, answer the same
// cases the same way: valid, missing, malformed, expired, wrong audience, wrong typ, a refresh
// token, a role guard, a scope guard, the cookie source, and a token in two places.
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createSigner, generateKey, type Jwk } from '../../jwt/src/index.ts';
import type { AuthOptions, Requirement } from '../src/authenticator.ts';
import { laissez as expressAuth } from '../src/express.ts';
import { laissez as fastifyAuth } from '../src/fastify.ts';
import { laissez as honoAuth, type LaissezEnv } from '../src/hono.ts';

const SECRET = 'resource-server-test-secret-0123456789';
const ISSUER = 'https://auth.example';
const T0 = Date.UTC(2027, 0, 1);
let clock = T0;
const now = () => clock;

const options = {
  key: SECRET,
  algorithms: ['HS256' as const],
  issuer: ISSUER,
  audience: 'notes',
  cookie: 'laissez_at',
  now,
};

const signer = (overrides: Record<string, unknown> = {}, typ = 'at+jwt') =>
  createSigner({
    key: SECRET,
    algorithm: 'HS256',
    typ,
    issuer: ISSUER,
    expiresIn: 900,
    now: () => T0,
    ...overrides,
  });

const tokens = {
  user: signer({ audience: 'notes' })({ sub: 'u1', roles: ['user'], scope: 'notes:read' }),
  admin: signer({ audience: 'notes' })({
    sub: 'u2',
    roles: ['user', 'admin'],
    scope: 'notes:read notes:write',
  }),
  otherAudience: signer({ audience: 'billing' })({ sub: 'u1', roles: ['user'] }),
  plainJwt: signer({ audience: 'notes' }, 'JWT')({ sub: 'u1', roles: ['user'] }),
  noSub: signer({ audience: 'notes' })({ roles: ['user'] }),
  otherKey: createSigner({
    key: 'another-secret-that-is-long-enough-32b',
    algorithm: 'HS256',
    typ: 'at+jwt',
    issuer: ISSUER,
    audience: 'notes',
    expiresIn: 900,
    now: () => T0,
  })({ sub: 'u1' }),
};

interface Server {
  url: string;
  close(): Promise<void>;
}

type Who = { sub: string; roles: readonly string[]; scopes: readonly string[] };

/** `guard`: also serve GET /guarded behind `require(guard)`. */
async function fastifyServer(opts: AuthOptions = options, guard?: Requirement): Promise<Server> {
  const app = Fastify();
  await app.register(fastifyAuth, opts);
  const who = (auth: { subject: string; roles: readonly string[]; scopes: readonly string[] }) =>
    ({ sub: auth.subject, roles: auth.roles, scopes: auth.scopes }) satisfies Who;
  app.get('/me', { onRequest: app.authenticate }, async (request) => who(request.auth!));
  app.get(
    '/admin',
    { onRequest: app.authenticate.require({ roles: ['admin'] }) },
    async (request) => who(request.auth!),
  );
  app.get(
    '/write',
    { onRequest: app.authenticate.require({ scopes: ['notes:write'] }) },
    async (r) => who(r.auth!),
  );
  app.get('/open', async (request) => ({ auth: request.auth }));
  if (guard) {
    app.get('/guarded', { onRequest: app.authenticate.require(guard) }, async (r) => who(r.auth!));
  }
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
}

async function expressServer(opts: AuthOptions = options, guard?: Requirement): Promise<Server> {
  const app = express();
  const auth = expressAuth(opts);
  const who = (req: express.Request) => ({
    sub: req.auth!.subject,
    roles: req.auth!.roles,
    scopes: req.auth!.scopes,
  });
  app.get('/me', auth, (req, res) => {
    res.json(who(req));
  });
  app.get('/admin', auth.require({ roles: ['admin'] }), (req, res) => {
    res.json(who(req));
  });
  app.get('/write', auth.require({ scopes: ['notes:write'] }), (req, res) => {
    res.json(who(req));
  });
  app.get('/open', (req, res) => {
    res.json({ auth: req.auth ?? null });
  });
  if (guard) {
    app.get('/guarded', auth.require(guard), (req, res) => {
      res.json(who(req));
    });
  }
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function honoServer(opts: AuthOptions = options, guard?: Requirement): Promise<Server> {
  const app = new Hono<LaissezEnv>();
  const auth = honoAuth(opts);
  const who = (c: { get(key: 'auth'): LaissezEnv['Variables']['auth'] }) => {
    const a = c.get('auth');
    return { sub: a.subject, roles: a.roles, scopes: a.scopes };
  };
  app.get('/me', auth, (c) => c.json(who(c)));
  app.get('/admin', auth.require({ roles: ['admin'] }), (c) => c.json(who(c)));
  app.get('/write', auth.require({ scopes: ['notes:write'] }), (c) => c.json(who(c)));
  app.get('/open', (c) => c.json({ auth: null }));
  if (guard) app.get('/guarded', auth.require(guard), (c) => c.json(who(c)));
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Every adapter, by name, with the function that serves the test routes through it. */
const ADAPTERS = [
  ['fastify', fastifyServer],
  ['express', expressServer],
  ['hono', honoServer],
] as const;

async function get(url: string, headers: Record<string, string> = {}) {
  const r = await fetch(url, { headers });
  const text = await r.text();
  return {
    status: r.status,
    challenge: r.headers.get('www-authenticate'),
    retryAfter: r.headers.get('retry-after'),
    body: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
  };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A GET through node:http, which sends a list value as repeated headers and odd values as they are. */
function getRaw(url: string, headers: Record<string, string | string[]>) {
  return new Promise<{
    status: number;
    challenge: string | undefined;
    body: Record<string, unknown>;
  }>((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          challenge: res.headers['www-authenticate'],
          body: text ? JSON.parse(text) : {},
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

for (const [name, make] of ADAPTERS) {
  describe(`laissez/${name}`, () => {
    let server: Server;
    before(async () => {
      server = await make();
    });
    after(() => server.close());

    test('a valid token: 200 and the claims on the request', async () => {
      clock = T0 + 60_000;
      const r = await get(`${server.url}/me`, bearer(tokens.user));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { sub: 'u1', roles: ['user'], scopes: ['notes:read'] });
      // The scheme is case-insensitive (RFC 7235 §2.1).
      assert.equal(
        (await get(`${server.url}/me`, { authorization: `bEaReR ${tokens.user}` })).status,
        200,
      );
    });

    test('no token: 401 with a bare Bearer challenge', async () => {
      const r = await get(`${server.url}/me`);
      assert.equal(r.status, 401);
      assert.equal(r.challenge, 'Bearer');
      assert.equal(r.body.error, 'invalid_token');
      assert.match(r.body.error_description as string, /Authorization: Bearer <token>/);
    });

    test('malformed: a bad token is 401 invalid_token; a bad header is 400 with the right form', async () => {
      const bad = await get(`${server.url}/me`, bearer('not.a.token'));
      assert.equal(bad.status, 401);
      assert.equal(bad.body.error, 'invalid_token');
      assert.match(
        bad.challenge!,
        /^Bearer error="invalid_token", error_description="the access token is malformed"$/,
      );
      const colon = await get(`${server.url}/me`, { authorization: `Bearer: ${tokens.user}` });
      assert.equal(colon.status, 400);
      assert.equal(colon.body.error, 'invalid_request');
      assert.match(colon.body.error_description as string, /no colon after "Bearer"/);
      const basic = await get(`${server.url}/me`, { authorization: 'Basic dXNlcjpwYXNz' });
      assert.equal(basic.status, 400);
      assert.match(basic.body.error_description as string, /the scheme must be Bearer/);
      // Not token68 (RFC 6750 §2.1): a malformed request, whatever the verifier says of it.
      for (const text of ['a b.c.d', '{"alg":"none"}', 'abc.def.gh!', `${tokens.user}%`]) {
        const r = await get(`${server.url}/me`, bearer(text));
        assert.equal(r.status, 400, text);
        assert.equal(r.body.error, 'invalid_request');
        assert.match(r.body.error_description as string, /Authorization: Bearer <token>/);
      }
      const empty = await get(`${server.url}/me`, { authorization: 'Bearer ' });
      assert.equal(empty.status, 400);
      assert.equal(empty.body.error, 'invalid_request');
      // A token68 token that does not verify is the token's fault: 401.
      const padded = await get(`${server.url}/me`, bearer(`${tokens.user}==`));
      assert.equal(padded.status, 401);
      assert.equal(padded.body.error, 'invalid_token');
    });

    test('expired: 401 saying so, after exp and not before', async () => {
      clock = T0 + 899_000;
      assert.equal((await get(`${server.url}/me`, bearer(tokens.user))).status, 200);
      clock = T0 + 900_000;
      const r = await get(`${server.url}/me`, bearer(tokens.user));
      assert.equal(r.status, 401);
      assert.equal(r.body.error_description, 'the access token has expired');
      assert.match(
        r.challenge!,
        /error="invalid_token", error_description="the access token has expired"/,
      );
      clock = T0 + 60_000;
    });

    test('wrong audience, wrong key, no sub: 401 invalid_token', async () => {
      for (const [token, why] of [
        [tokens.otherAudience, 'the access token "aud" claim is not valid'],
        [tokens.otherKey, 'the access token signature is not valid'],
        [tokens.noSub, 'the access token "sub" claim is not valid'],
      ] as const) {
        const r = await get(`${server.url}/me`, bearer(token));
        assert.equal(r.status, 401, why);
        assert.equal(r.body.error_description, why);
      }
    });

    test('wrong typ and a refresh token are not access tokens', async () => {
      const jwt = await get(`${server.url}/me`, bearer(tokens.plainJwt));
      assert.equal(jwt.status, 401);
      assert.equal(jwt.body.error_description, 'this is not an access token');
      const refresh = await get(`${server.url}/me`, bearer(`rt_${'A'.repeat(43)}`));
      assert.equal(refresh.status, 401);
      assert.equal(refresh.body.error, 'invalid_token');
    });

    test('role guard: 403 insufficient_scope without the role, 200 with it', async () => {
      const denied = await get(`${server.url}/admin`, bearer(tokens.user));
      assert.equal(denied.status, 403);
      assert.equal(denied.body.error, 'insufficient_scope');
      assert.match(denied.challenge!, /^Bearer error="insufficient_scope"/);
      const allowed = await get(`${server.url}/admin`, bearer(tokens.admin));
      assert.equal(allowed.status, 200);
      assert.equal(allowed.body.sub, 'u2');
      // The guard still authenticates first: no token is 401, not 403.
      assert.equal((await get(`${server.url}/admin`)).status, 401);
    });

    test('scope guard: every listed scope is needed; the challenge names them', async () => {
      const denied = await get(`${server.url}/write`, bearer(tokens.user));
      assert.equal(denied.status, 403);
      assert.match(denied.challenge!, /scope="notes:write"/);
      assert.equal((await get(`${server.url}/write`, bearer(tokens.admin))).status, 200);
    });

    test('cookie source: the named cookie works; header and cookie together are 400', async () => {
      const r = await get(`${server.url}/me`, { cookie: `theme=dark; laissez_at=${tokens.user}` });
      assert.equal(r.status, 200);
      assert.equal(r.body.sub, 'u1');
      const other = await get(`${server.url}/me`, { cookie: `session=${tokens.user}` });
      assert.equal(other.status, 401, 'only the configured cookie is read');
      const both = await get(`${server.url}/me`, {
        ...bearer(tokens.user),
        cookie: `laissez_at=${tokens.user}`,
      });
      assert.equal(both.status, 400);
      assert.equal(both.body.error, 'invalid_request');
    });

    test('routes without the middleware are untouched', async () => {
      const r = await get(`${server.url}/open`, bearer('garbage'));
      assert.equal(r.status, 200);
      assert.equal(r.body.auth, null);
    });
  });
}

for (const [name, make] of ADAPTERS) {
  describe(`laissez/${name}: odd headers and cookies`, () => {
    let server: Server;
    before(async () => {
      clock = T0 + 60_000;
      server = await make();
    });
    after(() => server.close());

    test('two Authorization headers are a 400, whichever token comes first', async () => {
      for (const pair of [
        [tokens.user, tokens.admin],
        [tokens.user, tokens.user],
        ['garbage', tokens.user],
      ]) {
        const r = await getRaw(`${server.url}/me`, {
          authorization: [`Bearer ${pair[0]}`, `Bearer ${pair[1]}`],
        });
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.equal(r.body.error, 'invalid_request');
        assert.match(r.body.error_description as string, /one Authorization header/);
      }
    });

    test('a refused header never echoes what was sent, and the hint fits the mistake', async () => {
      const credential = 'sk_live_51Habcdefghijklmnop';
      const cases: Array<[string, RegExp]> = [
        [credential, /no scheme: put "Bearer" and a space before the token/],
        [tokens.user, /no scheme/],
        [`Token ${credential}`, /the scheme must be Bearer, not Token/],
        [`Secret${credential} x`, /\(the scheme must be Bearer\)$/],
        [`Bearer\t${tokens.user}`, /one space after "Bearer", not a tab/],
        ['Bearer', /the token is missing after "Bearer"/],
        ['', /the header is empty/],
      ];
      for (const [value, hint] of cases) {
        const r = await getRaw(`${server.url}/me`, { authorization: value });
        assert.equal(r.status, 400, value);
        assert.equal(r.body.error, 'invalid_request');
        assert.match(r.body.error_description as string, hint, value);
        for (const text of [r.body.error_description as string, r.challenge!]) {
          assert.ok(!text.includes('sk_live'), `${value} is echoed: ${text}`);
          assert.ok(!text.includes('eyJ'), `${value} is echoed: ${text}`);
        }
      }
    });

    test('an empty cookie is no cookie: the header alone decides', async () => {
      const ok = await get(`${server.url}/me`, { ...bearer(tokens.user), cookie: 'laissez_at=' });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      const none = await get(`${server.url}/me`, { cookie: 'laissez_at=' });
      assert.equal(none.status, 401);
      assert.equal(none.challenge, 'Bearer');
    });

    test('a cookie value in double quotes (RFC 6265) is the token inside them', async () => {
      const ok = await get(`${server.url}/me`, { cookie: `laissez_at="${tokens.user}"` });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      // Empty quotes are an empty cookie: no token at all.
      const none = await get(`${server.url}/me`, { cookie: 'laissez_at=""' });
      assert.equal(none.status, 401);
      assert.equal(none.challenge, 'Bearer');
      // One quote is not a quoted value: the token is malformed.
      const half = await get(`${server.url}/me`, { cookie: `laissez_at="${tokens.user}` });
      assert.equal(half.status, 401);
      assert.equal(half.body.error, 'invalid_token');
    });

    test("another scheme's credentials (Basic from a proxy) leave the cookie in charge", async () => {
      const basic = { authorization: 'Basic dXNlcjpwYXNz' };
      const r = await get(`${server.url}/me`, { ...basic, cookie: `laissez_at=${tokens.user}` });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.sub, 'u1');
      // Without the cookie the header is all there is: 400, naming the scheme.
      const alone = await get(`${server.url}/me`, basic);
      assert.equal(alone.status, 400);
      assert.match(alone.body.error_description as string, /not Basic/);
      // A Bearer header and the cookie are still two tokens; a mangled Bearer is still a 400.
      for (const authorization of [`Bearer ${tokens.user}`, `Bearer: ${tokens.user}`]) {
        const two = await get(`${server.url}/me`, {
          authorization,
          cookie: `laissez_at=${tokens.user}`,
        });
        assert.equal(two.status, 400, authorization);
      }
    });
  });
}

describe('a guard on a role that is not ASCII', () => {
  const k1 = generateKey('ES256', { kid: 'k1' });
  for (const [name, make] of ADAPTERS) {
    for (const source of ['a static key', 'a JWKS URL']) {
      test(`${name}, ${source}: 403 with the role named in the body and a header that can be sent`, async () => {
        const jwks = await jwksServer([k1.publicJwk as Jwk]);
        const auth =
          source === 'a JWKS URL'
            ? { jwksUri: jwks.url, algorithms: ['ES256' as const] }
            : { key: k1.publicJwk as Jwk, algorithms: ['ES256' as const] };
        const server = await make(auth as AuthOptions, { roles: ['管理者', 'ré"dacteur'] });
        try {
          const token = createSigner({
            key: k1.privateJwk,
            algorithm: 'ES256',
            kid: 'k1',
            typ: 'at+jwt',
            expiresIn: 900,
          })({ sub: 'u5', roles: ['user'] });
          const r = await get(`${server.url}/guarded`, bearer(token));
          assert.equal(r.status, 403, JSON.stringify(r.body));
          assert.equal(r.body.error, 'insufficient_scope');
          assert.equal(r.body.error_description, 'this needs the role "管理者" or "ré\\"dacteur"');
          assert.match(
            r.challenge!,
            /^Bearer error="insufficient_scope", error_description="[\x20-\x7e]*"$/,
          );
          // The server is still up and answers the next request.
          const again = await get(`${server.url}/me`, bearer(token));
          assert.equal(again.status, 200);
        } finally {
          await server.close();
          await jwks.close();
        }
      });
    }
  }
});

describe('options are checked when the middleware is made', () => {
  const makers = {
    express: (o: unknown) => expressAuth(o as never),
    hono: (o: unknown) => honoAuth(o as never),
    fastify: async (o: unknown) => {
      const app = Fastify();
      try {
        await app.register(fastifyAuth, o as never);
        await app.ready();
      } finally {
        await app.close();
      }
    },
  };
  for (const [name, make] of Object.entries(makers)) {
    test(`${name}: missing algorithms, no key source, two key sources, weak secret`, async () => {
      const cases: Array<[unknown, RegExp]> = [
        [{ key: SECRET }, /algorithms is required/],
        [{ algorithms: ['HS256'] }, /exactly one key source/],
        [
          { key: SECRET, jwksUri: 'https://auth.example/jwks', algorithms: ['HS256'] },
          /exactly one key source/,
        ],
        [{ key: 'short', algorithms: ['HS256'] }, /shorter|weak|bytes/i],
        [{ key: SECRET, algorithms: ['HS256'], cookie: '' }, /cookie must be/],
        // A misspelt option would switch its check off without a word.
        [
          { key: SECRET, algorithms: ['HS256'], audiance: 'notes' },
          /unknown option "audiance"; did you mean "audience"\?/,
        ],
        [
          { key: SECRET, algorithms: ['HS256'], jwksOptions: { cooldown: 0 } },
          /jwksOptions only applies with jwksUri/,
        ],
        [
          {
            jwksUri: 'https://auth.example/jwks',
            algorithms: ['EdDSA'],
            jwksOptions: { maxage: 1 },
          },
          /unknown option "maxage"; did you mean "maxAge"\?/,
        ],
        [
          { key: SECRET, algorithms: ['HS256'], cache: { maxx: 10 } },
          /unknown option "cache\.maxx"; did you mean "cache\.max"\?/,
        ],
        [{ jwksUri: 'https://auth.example/jwks', algorithms: ['HS256'] }, /never an HMAC secret/],
        [{ key: SECRET, algorithms: ['HS256'], requiredClaims: 'jti' }, /requiredClaims must be/],
      ];
      for (const [o, message] of cases) {
        await assert.rejects(async () => make(o), message);
      }
    });
  }
  test('a bad requirement is a TypeError when the guard is made', () => {
    const auth = expressAuth(options);
    assert.throws(() => auth.require({ roles: [] }), /roles must be a non-empty array/);
    assert.throws(() => auth.require({ scopes: [''] }), /scopes must be a non-empty array/);
    // A misspelt requirement would guard nothing: refused, like an empty one.
    assert.throws(
      () => auth.require({ role: ['admin'] } as never),
      /unknown option "role"; did you mean "roles"\?/,
    );
    assert.throws(() => auth.require({}), /names roles or scopes/);
    // Scopes are sent in the challenge: they must be RFC 6749 scope-tokens.
    assert.throws(() => auth.require({ scopes: ['read notes'] }), /not a scope-token/);
    assert.throws(() => auth.require({ scopes: ['lire·notes'] }), /not a scope-token/);
  });

  test('sub is always required, whatever requiredClaims adds', async () => {
    const server = await expressServer({ ...options, requiredClaims: ['jti'] });
    try {
      const withJti = signer({ audience: 'notes', jti: true });
      clock = T0 + 60_000;
      assert.equal((await get(`${server.url}/me`, bearer(withJti({ sub: 'u1' })))).status, 200);
      for (const token of [withJti({ roles: ['user'] }), tokens.user]) {
        const r = await get(`${server.url}/me`, bearer(token));
        assert.equal(r.status, 401);
        assert.match(r.body.error_description as string, /"(sub|jti)" claim/);
      }
    } finally {
      await server.close();
    }
  });
});

describe('a public key instead of a secret', () => {
  test('EdDSA: the resource server holds only the public JWK', async () => {
    const { privateJwk, publicJwk } = generateKey('EdDSA', { kid: 'k1' });
    const token = createSigner({
      key: privateJwk,
      algorithm: 'EdDSA',
      kid: 'k1',
      typ: 'at+jwt',
      expiresIn: 60,
    })({ sub: 'u9' });
    const app = express();
    app.get('/me', expressAuth({ key: publicJwk as Jwk, algorithms: ['EdDSA'] }), (req, res) => {
      res.json({ sub: req.auth!.subject });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const r = await get(`http://127.0.0.1:${port}/me`, bearer(token));
      assert.deepEqual(r.body, { sub: 'u9' });
      const hs = createSigner({ key: SECRET, algorithm: 'HS256', typ: 'at+jwt', expiresIn: 60 })({
        sub: 'u9',
      });
      const refused = await get(`http://127.0.0.1:${port}/me`, bearer(hs));
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error_description, 'the access token algorithm is not accepted');
    } finally {
      server.close();
    }
  });
});

/** A JWKS endpoint on loopback that counts its hits; `up = false` makes it answer 503. */
async function jwksServer(keys: Jwk[]) {
  const state = { hits: 0, up: true, keys };
  const server: HttpServer = createServer((_req, res) => {
    state.hits++;
    if (!state.up) return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    state,
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('a JWKS URL as the key source', () => {
  const k1 = generateKey('ES256', { kid: 'k1' });
  const k2 = generateKey('ES256', { kid: 'k2' });
  const esToken = (key: Jwk, kid: string, extra: Record<string, unknown> = {}) =>
    createSigner({ key, algorithm: 'ES256', kid, typ: 'at+jwt', issuer: ISSUER, expiresIn: 900 })({
      sub: 'u7',
      roles: ['user'],
      ...extra,
    });

  for (const [name, make] of ADAPTERS) {
    test(`${name}: verifies against the live set, ignores jku, answers 503 when the set is down`, async () => {
      const jwks = await jwksServer([k1.publicJwk as Jwk]);
      const attacker = await jwksServer([k2.publicJwk as Jwk]);
      const logged: string[] = [];
      const server = await make({
        jwksUri: jwks.url,
        jwksOptions: { cooldown: 0 },
        algorithms: ['ES256'],
        issuer: ISSUER,
        onUnavailable: (error) => logged.push((error as { code?: string }).code ?? ''),
      });
      try {
        const ok = await get(`${server.url}/me`, bearer(esToken(k1.privateJwk, 'k1')));
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        assert.equal(ok.body.sub, 'u7');
        assert.equal(jwks.state.hits, 1);
        // A token may not choose where keys come from: jku is never followed.
        const forged = esToken(k2.privateJwk, 'k2');
        const withJku = createSigner({
          key: k2.privateJwk,
          algorithm: 'ES256',
          kid: 'k2',
          typ: 'at+jwt',
          issuer: ISSUER,
          expiresIn: 900,
          header: { jku: attacker.url },
        })({ sub: 'u7' });
        for (const token of [forged, withJku]) {
          const r = await get(`${server.url}/me`, bearer(token));
          assert.equal(r.status, 401);
          assert.equal(r.body.error, 'invalid_token');
          assert.equal(
            r.body.error_description,
            'the access token was signed by a key this service does not know',
          );
        }
        assert.equal(attacker.state.hits, 0);
        // The set goes down: a new kid cannot be checked, so 503 with Retry-After, not 401.
        jwks.state.up = false;
        const down = await get(`${server.url}/me`, bearer(esToken(k2.privateJwk, 'k2')));
        assert.equal(down.status, 503);
        assert.equal(down.body.error, 'temporarily_unavailable');
        // Retry-After is the JWKS cool-down (no refetch before it ends), at least 1 s.
        assert.equal(down.retryAfter, '1');
        assert.deepEqual(logged, ['ERR_JWKS_UNAVAILABLE']);
        // Keys already held keep working while the set is down.
        const held = await get(`${server.url}/me`, bearer(esToken(k1.privateJwk, 'k1')));
        assert.equal(held.status, 200);
        // On this asynchronous path too, a header that is not token68 is a 400, not a 503.
        const junk = await get(`${server.url}/me`, bearer('a b.c'));
        assert.equal(junk.status, 400);
        assert.equal(junk.body.error, 'invalid_request');
      } finally {
        await server.close();
        await jwks.close();
        await attacker.close();
      }
    });
  }
});

describe('isRevoked: a revocation check after the signature', () => {
  for (const [name, make] of ADAPTERS) {
    test(`${name}: a revoked session is 401, a failing check is 503, others pass`, async () => {
      const revoked = new Set(['s-gone']);
      let down = false;
      const logged: string[] = [];
      const server = await make({
        ...options,
        isRevoked: async (claims) => {
          if (down) throw new Error('revocation list unreachable');
          return revoked.has(claims['sid'] as string);
        },
        onUnavailable: (error) => logged.push(error.message),
      });
      const sign = (sid: string) => signer({ audience: 'notes' })({ sub: 'u1', sid });
      try {
        clock = T0 + 60_000;
        assert.equal((await get(`${server.url}/me`, bearer(sign('s-live')))).status, 200);
        const gone = await get(`${server.url}/me`, bearer(sign('s-gone')));
        assert.equal(gone.status, 401);
        assert.equal(gone.body.error_description, 'the session has ended; log in again');
        assert.match(gone.challenge!, /^Bearer error="invalid_token"/);
        down = true;
        const failing = await get(`${server.url}/me`, bearer(sign('s-live')));
        assert.equal(failing.status, 503, 'fails closed');
        assert.equal(failing.body.error, 'temporarily_unavailable');
        assert.deepEqual(logged, ['revocation list unreachable']);
      } finally {
        await server.close();
      }
    });
  }
  test('a synchronous check works too, and a non-function is a TypeError at creation', async () => {
    const server = await expressServer({ ...options, isRevoked: (c) => c['sid'] === 'x' });
    try {
      clock = T0 + 60_000;
      const token = signer({ audience: 'notes' })({ sub: 'u1', sid: 'x' });
      assert.equal((await get(`${server.url}/me`, bearer(token))).status, 401);
    } finally {
      await server.close();
    }
    assert.throws(() => expressAuth({ ...options, isRevoked: true as never }), /isRevoked must be/);
  });
});

describe('the verify cache in the middleware', () => {
  test('a repeated token gets the same frozen context; handlers cannot change it for others', async () => {
    const seen: unknown[] = [];
    const app = express();
    app.get('/me', expressAuth({ ...options, cache: true }), (req, res) => {
      seen.push(req.auth);
      let threw = false;
      try {
        (req.auth!.roles as string[]).push('admin');
      } catch {
        threw = true;
      }
      res.json({ roles: req.auth!.roles, threw });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    try {
      clock = T0 + 60_000;
      const { port } = server.address() as AddressInfo;
      const a = await get(`http://127.0.0.1:${port}/me`, bearer(tokens.user));
      const b = await get(`http://127.0.0.1:${port}/me`, bearer(tokens.user));
      assert.deepEqual(a.body, { roles: ['user'], threw: true });
      assert.deepEqual(b.body, { roles: ['user'], threw: true });
      assert.equal(seen[0], seen[1], 'one context for one cached token');
      assert.ok(Object.isFrozen(seen[0]));
    } finally {
      server.close();
    }
  });
});

describe('require({ amr, maxAge }): the RFC 9470 step-up challenge', () => {
  const t = Math.floor(T0 / 1000);
  const sign = signer({ audience: 'notes' });
  const mfa = sign({ sub: 'u7', roles: ['user'], amr: ['pwd', 'otp', 'mfa'], auth_time: t });
  const pwd = sign({ sub: 'u8', roles: ['user'], amr: ['pwd'], auth_time: t });
  const none = sign({ sub: 'u9', roles: ['user'] });
  for (const [name, make] of ADAPTERS) {
    test(`${name}: mfa within 10 minutes passes; a password-only, old or amr-less log-in gets 401 insufficient_user_authentication`, async () => {
      const server = await make(options, { amr: ['mfa'], maxAge: '10m' });
      try {
        clock = T0 + 60_000;
        const ok = await get(`${server.url}/guarded`, bearer(mfa));
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        for (const token of [pwd, none]) {
          const r = await get(`${server.url}/guarded`, bearer(token));
          assert.equal(r.status, 401);
          assert.equal(r.body.error, 'insufficient_user_authentication');
          assert.equal(r.body.error_description, 'this needs a log-in with "mfa"');
          assert.equal(
            r.challenge,
            'Bearer error="insufficient_user_authentication", error_description="this needs a log-in with mfa", acr_values="mfa", max_age="600"',
          );
        }
        clock = T0 + 11 * 60_000;
        const old = await get(`${server.url}/guarded`, bearer(mfa));
        assert.equal(old.status, 401);
        assert.equal(old.body.error, 'insufficient_user_authentication');
        assert.match(old.challenge!, /max_age="600"$/);
      } finally {
        clock = T0;
        await server.close();
      }
    });
  }
  test('a bad amr or maxAge is refused when the guard is made', () => {
    const auth = expressAuth(options);
    assert.throws(() => auth.require({ amr: [] }), /amr must be a non-empty array/);
    assert.throws(() => auth.require({ maxAge: 'soon' }), /maxAge must be seconds/);
    assert.throws(() => auth.require({ amr: ['a b'] }), /printable ASCII/);
  });
});
