// The OAuth endpoints driven by clients no one here wrote (openid-client and oauth4webapi), over
// real HTTP, as a service would use them: discovery, client-credentials tokens with each client
// authentication method, refresh of a first-party log-in, introspection and revocation; the token
// they get verifies in the laissez middleware (laissez/express) and in jose. Bad input gets the
// RFC 6749 §5.2 error, never a 500.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import type { FastifyInstance } from 'fastify';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { laissez } from '../../../middleware/src/express.ts';
import { registerClient } from '../../src/auth/clients.ts';
import type { ClaimsContext } from '../../src/auth/service.ts';
import { type AuthServerOptions, createAuthServer } from '../../src/server/index.ts';
import { freePort } from '../helpers/ports.ts';
import { FAST_ARGON2 } from '../helpers/server.ts';

interface Server {
  app: FastifyInstance;
  issuer: string;
  close(): Promise<void>;
}

/** An auth server whose issuer is the URL it listens on, as discovery requires. */
async function serve(options: Partial<AuthServerOptions> = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'laissez-oauth-'));
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const app = await createAuthServer({
    issuer,
    dataDir: dir,
    logger: false,
    alg: 'ES256',
    passwordParams: FAST_ARGON2,
    ...options,
  });
  await app.listen({ port, host: '127.0.0.1' });
  return {
    app,
    issuer,
    async close() {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const insecure = { execute: [client.allowInsecureRequests] };

async function form(
  url: string,
  params: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: response.headers,
  };
}

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describe('OAuth endpoints with openid-client and oauth4webapi', () => {
  let server: Server;
  let basicSecret: string;
  let postSecret: string;
  let keys: jose.GenerateKeyPairResult;
  let api: import('node:http').Server;
  let apiUrl: string;

  before(async () => {
    server = await serve();
    const store = server.app.store;
    const now = Date.now();
    basicSecret = (
      await registerClient(
        store,
        { id: 'billing', scopes: ['invoices:read', 'invoices:write'] },
        now,
      )
    ).secret!;
    postSecret = (
      await registerClient(
        store,
        { id: 'mailer', authMethod: 'client_secret_post', scopes: ['mail:send'] },
        now,
      )
    ).secret!;
    keys = await jose.generateKeyPair('ES256', { extractable: true });
    const jwk = await jose.exportJWK(keys.publicKey);
    await registerClient(
      store,
      {
        id: 'reports',
        authMethod: 'private_key_jwt',
        jwks: { keys: [{ ...jwk, alg: 'ES256', use: 'sig' }] } as never,
        scopes: ['reports:run'],
      },
      now,
    );
    await registerClient(store, { id: 'no-grants', grantTypes: [], scopes: ['x'] }, now);

    // A resource server: laissez/express over the auth server's JWKS.
    const resource = express();
    resource.get(
      '/invoices',
      laissez({
        algorithms: ['ES256'],
        jwksUri: `${server.issuer}/.well-known/jwks.json`,
        issuer: server.issuer,
        audience: 'api',
      }).require({ scopes: ['invoices:read'] }),
      (req, res) => {
        res.json({ sub: req.auth?.subject, scope: req.auth?.claims['scope'] });
      },
    );
    api = resource.listen(0, '127.0.0.1');
    await new Promise((resolve) => api.once('listening', resolve));
    apiUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
  });
  after(async () => {
    if (api) await new Promise((resolve) => api.close(resolve));
    await server?.close();
  });

  test('discovery: both well-known documents, the same, advertising what is on', async () => {
    const config = await client.discovery(
      new URL(server.issuer),
      'billing',
      {},
      client.ClientSecretBasic(basicSecret),
      insecure,
    );
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, server.issuer);
    assert.equal(meta.token_endpoint, `${server.issuer}/oauth/token`);
    assert.equal(meta.revocation_endpoint, `${server.issuer}/oauth/revoke`);
    assert.equal(meta.introspection_endpoint, `${server.issuer}/oauth/introspect`);
    assert.deepEqual(meta.grant_types_supported, ['client_credentials', 'refresh_token']);
    assert.deepEqual(meta.response_types_supported, []);
    assert.ok(meta.token_endpoint_auth_methods_supported?.includes('private_key_jwt'));
    assert.ok(meta.scopes_supported?.includes('invoices:read'));

    const as = await oauth.processDiscoveryResponse(
      new URL(server.issuer),
      await oauth.discoveryRequest(new URL(server.issuer), {
        algorithm: 'oauth2',
        [oauth.allowInsecureRequests]: true,
      }),
    );
    const { ...fromOidc } = meta;
    assert.deepEqual({ ...as }, fromOidc);
  });

  test('client_credentials with client_secret_basic (openid-client): the token verifies in laissez/express and jose', async () => {
    const config = await client.discovery(
      new URL(server.issuer),
      'billing',
      {},
      client.ClientSecretBasic(basicSecret),
      insecure,
    );
    const tokens = await client.clientCredentialsGrant(config, { scope: 'invoices:read' });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.scope, 'invoices:read');
    assert.equal(tokens.expires_in, 900);

    const { payload, protectedHeader } = await jose.jwtVerify(
      tokens.access_token,
      jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!)),
      { issuer: server.issuer, audience: 'api', typ: 'at+jwt', algorithms: ['ES256'] },
    );
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(payload.sub, 'billing');
    assert.equal(payload['client_id'], 'billing');
    assert.equal(payload['scope'], 'invoices:read');
    for (const claim of ['iat', 'exp', 'jti']) assert.ok(payload[claim], claim);

    const answer = await fetch(`${apiUrl}/invoices`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { sub: 'billing', scope: 'invoices:read' });
  });

  test('client_credentials with client_secret_post (oauth4webapi); no scope asked: all of the client', async () => {
    const as = await oauth.processDiscoveryResponse(
      new URL(server.issuer),
      await oauth.discoveryRequest(new URL(server.issuer), {
        algorithm: 'oauth2',
        [oauth.allowInsecureRequests]: true,
      }),
    );
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      { client_id: 'mailer' },
      oauth.ClientSecretPost(postSecret),
      new URLSearchParams(),
      { [oauth.allowInsecureRequests]: true },
    );
    const tokens = await oauth.processClientCredentialsResponse(
      as,
      { client_id: 'mailer' },
      response,
    );
    assert.equal(tokens.scope, 'mail:send');
    assert.equal(response.headers.get('cache-control'), 'no-store');
  });

  test('client_credentials with private_key_jwt (openid-client and oauth4webapi); an assertion is used once', async () => {
    const config = await client.discovery(
      new URL(server.issuer),
      'reports',
      {},
      client.PrivateKeyJwt(keys.privateKey),
      insecure,
    );
    const tokens = await client.clientCredentialsGrant(config);
    assert.equal(tokens.scope, 'reports:run');
    const as = config.serverMetadata();
    const again = await oauth.clientCredentialsGrantRequest(
      as,
      { client_id: 'reports' },
      oauth.PrivateKeyJwt(keys.privateKey),
      new URLSearchParams({ scope: 'reports:run' }),
      { [oauth.allowInsecureRequests]: true },
    );
    assert.equal(again.status, 200);

    // The same assertion twice: the second is a replay (RFC 7523 §3, item 7).
    const assertion = await new jose.SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('reports')
      .setSubject('reports')
      .setAudience(server.issuer)
      .setJti('one-jti')
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(keys.privateKey);
    const params = {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    };
    assert.equal((await form(`${server.issuer}/oauth/token`, params)).status, 200);
    const replay = await form(`${server.issuer}/oauth/token`, params);
    assert.equal(replay.status, 401);
    assert.equal(replay.body['error'], 'invalid_client');

    // Signed by another key, or for another audience: refused.
    const other = await jose.generateKeyPair('ES256');
    for (const [key, audience] of [
      [other.privateKey, server.issuer],
      [keys.privateKey, 'https://elsewhere.example'],
    ] as const) {
      const bad = await new jose.SignJWT({})
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer('reports')
        .setSubject('reports')
        .setAudience(audience)
        .setJti(crypto.randomUUID())
        .setExpirationTime('60s')
        .sign(key);
      const answer = await form(`${server.issuer}/oauth/token`, {
        ...params,
        client_assertion: bad,
      });
      assert.equal(answer.status, 401);
      assert.equal(answer.body['error'], 'invalid_client');
    }
  });

  test('refresh of a first-party log-in by the public first-party client; introspect and revoke it', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${server.issuer}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await post('/auth/register', {
      username: 'olive',
      email: 'olive@example.com',
      password: 'olive password',
    });
    const login = (await (
      await post('/auth/login', { username: 'olive', password: 'olive password' })
    ).json()) as { refresh_token: string };

    const firstParty = await client.discovery(
      new URL(server.issuer),
      'laissez',
      {},
      client.None(),
      insecure,
    );
    const refreshed = await client.refreshTokenGrant(firstParty, login.refresh_token);
    assert.ok(refreshed.refresh_token);
    assert.notEqual(refreshed.refresh_token, login.refresh_token);

    // A registered client was not issued this family.
    const billing = await client.discovery(
      new URL(server.issuer),
      'billing',
      {},
      client.ClientSecretBasic(basicSecret),
      insecure,
    );
    await assert.rejects(client.refreshTokenGrant(billing, refreshed.refresh_token!), (error) => {
      assert.equal((error as { error?: string }).error, 'invalid_grant');
      return true;
    });

    const live = await client.tokenIntrospection(billing, refreshed.refresh_token!);
    assert.equal(live.active, true);
    assert.equal(live.token_type, 'refresh_token');
    assert.equal(live.client_id, 'laissez');
    const access = await client.tokenIntrospection(billing, refreshed.access_token);
    assert.equal(access.active, true);
    assert.equal(access.iss, server.issuer);
    assert.equal(access.client_id, 'laissez');
    // The spent token is no longer active.
    assert.equal((await client.tokenIntrospection(billing, login.refresh_token)).active, false);

    await client.tokenRevocation(firstParty, refreshed.refresh_token!);
    assert.equal(
      (await client.tokenIntrospection(billing, refreshed.refresh_token!)).active,
      false,
    );
    await assert.rejects(client.refreshTokenGrant(firstParty, refreshed.refresh_token!));
  });

  test('introspection of client tokens; unknown, garbage and expired tokens are inactive; revocation answers 200 for them', async () => {
    const billing = await client.discovery(
      new URL(server.issuer),
      'billing',
      {},
      client.ClientSecretBasic(basicSecret),
      insecure,
    );
    const { access_token } = await client.clientCredentialsGrant(billing);
    const answer = await client.tokenIntrospection(billing, access_token);
    assert.equal(answer.active, true);
    assert.equal(answer.client_id, 'billing');
    assert.equal(answer.sub, 'billing');
    assert.equal(answer.scope, 'invoices:read invoices:write');
    for (const token of ['nope', `rt_${'A'.repeat(43)}`, `${access_token}x`]) {
      assert.deepEqual(await client.tokenIntrospection(billing, token), { active: false });
      await client.tokenRevocation(billing, token);
    }
    // The public first-party client may not introspect.
    const res = await form(`${server.issuer}/oauth/introspect`, {
      token: access_token,
      client_id: 'laissez',
    });
    assert.equal(res.status, 401);
    assert.equal(res.body['error'], 'invalid_client');
  });

  test('bad input gets the RFC 6749 §5.2 error, never a 500', async () => {
    const url = `${server.issuer}/oauth/token`;
    const cases: Array<[string, Record<string, string>, Record<string, string>, number, string]> = [
      [
        'unknown client',
        { grant_type: 'client_credentials' },
        { authorization: basic('who', 'cs_x') },
        401,
        'invalid_client',
      ],
      [
        'wrong secret',
        { grant_type: 'client_credentials' },
        { authorization: basic('billing', `cs_${'A'.repeat(43)}`) },
        401,
        'invalid_client',
      ],
      [
        'malformed Basic',
        { grant_type: 'client_credentials' },
        { authorization: 'Basic %%%' },
        401,
        'invalid_client',
      ],
      ['no client', { grant_type: 'client_credentials' }, {}, 401, 'invalid_client'],
      [
        'secret in the wrong place',
        { grant_type: 'client_credentials', client_id: 'billing', client_secret: basicSecret },
        {},
        401,
        'invalid_client',
      ],
      [
        'scope not allowed',
        { grant_type: 'client_credentials', scope: 'admin' },
        { authorization: basic('billing', basicSecret) },
        400,
        'invalid_scope',
      ],
      [
        'malformed scope',
        { grant_type: 'client_credentials', scope: 'a  b' },
        { authorization: basic('billing', basicSecret) },
        400,
        'invalid_scope',
      ],
      [
        'unknown grant type',
        { grant_type: 'password' },
        { authorization: basic('billing', basicSecret) },
        400,
        'unsupported_grant_type',
      ],
      [
        'no grant type',
        {},
        { authorization: basic('billing', basicSecret) },
        400,
        'invalid_request',
      ],
      [
        'two authentication methods',
        { grant_type: 'client_credentials', client_secret: basicSecret },
        { authorization: basic('billing', basicSecret) },
        400,
        'invalid_request',
      ],
      [
        'refresh token unknown',
        { grant_type: 'refresh_token', client_id: 'laissez', refresh_token: 'rt_nope' },
        {},
        400,
        'invalid_grant',
      ],
      [
        'refresh without a token',
        { grant_type: 'refresh_token', client_id: 'laissez' },
        {},
        400,
        'invalid_request',
      ],
    ];
    for (const [what, params, headers, status, error] of cases) {
      const answer = await form(url, params, headers);
      assert.equal(answer.status, status, what);
      assert.equal(answer.body['error'], error, what);
      assert.equal(typeof answer.body['error_description'], 'string', what);
      assert.equal(answer.headers.get('cache-control'), 'no-store', what);
    }
    const basicFailure = await form(
      url,
      { grant_type: 'client_credentials' },
      {
        authorization: basic('billing', `cs_${'B'.repeat(43)}`),
      },
    );
    assert.match(basicFailure.headers.get('www-authenticate') ?? '', /^Basic /);

    const noGrants = await registerClient(
      server.app.store,
      { id: 'limited', grantTypes: [] },
      Date.now(),
    );
    const unauthorized = await form(
      url,
      { grant_type: 'client_credentials' },
      {
        authorization: basic('limited', noGrants.secret!),
      },
    );
    assert.equal(unauthorized.status, 400);
    assert.equal(unauthorized.body['error'], 'unauthorized_client');

    // A repeated parameter (RFC 6749 §3.2), and JSON instead of a form.
    const repeated = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic('billing', basicSecret),
      },
      body: 'grant_type=client_credentials&grant_type=client_credentials',
    });
    assert.equal(repeated.status, 400);
    assert.equal(((await repeated.json()) as { error: string }).error, 'invalid_request');
    const json = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    assert.equal(json.status, 415);
  });
});

describe('the OpenAPI document', () => {
  test('lists the OAuth routes: form bodies, JSON answers, the RFC 6749 §5.2 errors', async () => {
    const server = await serve();
    try {
      const { paths } = (await (await fetch(`${server.issuer}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, Record<string, Record<string, unknown>>>>;
      };
      for (const path of ['/oauth/token', '/oauth/revoke', '/oauth/introspect']) {
        const post = paths[path]?.['post'];
        assert.ok(post, path);
        assert.deepEqual(
          Object.keys(post['requestBody']?.['content'] as object),
          ['application/x-www-form-urlencoded'],
          path,
        );
        assert.deepEqual(Object.keys(post['responses'] ?? {}), ['200', '400', '401', '503'], path);
      }
      type Content = Record<string, { schema: { properties: Record<string, unknown> } }>;
      const content = paths['/oauth/token']?.['post']?.['requestBody']?.['content'] as Content;
      const fields = content['application/x-www-form-urlencoded']?.schema.properties;
      for (const field of ['grant_type', 'scope', 'refresh_token', 'client_assertion']) {
        assert.ok(fields && field in fields, field);
      }
      for (const path of [
        '/.well-known/oauth-authorization-server',
        '/.well-known/openid-configuration',
      ]) {
        assert.ok(paths[path]?.['get'], path);
      }
    } finally {
      await server.close();
    }
  });
});

describe('the metadata never advertises what is off', () => {
  test('token endpoint without refresh_token, no revocation, no introspection', async () => {
    const server = await serve({
      oauthGrantTypes: ['client_credentials'],
      oauthRevocation: false,
      oauthIntrospection: false,
    });
    try {
      const meta = (await (
        await fetch(`${server.issuer}/.well-known/oauth-authorization-server`)
      ).json()) as Record<string, unknown>;
      assert.deepEqual(meta['grant_types_supported'], ['client_credentials']);
      assert.equal(
        (meta['token_endpoint_auth_methods_supported'] as string[]).includes('none'),
        false,
      );
      assert.equal('revocation_endpoint' in meta, false);
      assert.equal('introspection_endpoint' in meta, false);
      const refresh = await form(`${server.issuer}/oauth/token`, {
        grant_type: 'refresh_token',
        client_id: 'laissez',
        refresh_token: 'rt_x',
      });
      assert.equal(refresh.status, 400);
      assert.equal(refresh.body['error'], 'unsupported_grant_type');
      for (const path of ['/oauth/revoke', '/oauth/introspect']) {
        assert.equal((await form(`${server.issuer}${path}`, { token: 'x' })).status, 404);
      }
      // Nor does the OpenAPI document.
      const openapi = (await (await fetch(`${server.issuer}/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      assert.ok('/oauth/token' in openapi.paths);
      assert.equal('/oauth/revoke' in openapi.paths, false);
      assert.equal('/oauth/introspect' in openapi.paths, false);
    } finally {
      await server.close();
    }
  });

  test('no grant types: no token endpoint', async () => {
    const server = await serve({ oauthGrantTypes: [] });
    try {
      const meta = (await (
        await fetch(`${server.issuer}/.well-known/openid-configuration`)
      ).json()) as Record<string, unknown>;
      assert.equal('token_endpoint' in meta, false);
      assert.equal('grant_types_supported' in meta, false);
      assert.equal(
        (await form(`${server.issuer}/oauth/token`, { grant_type: 'client_credentials' })).status,
        404,
      );
    } finally {
      await server.close();
    }
  });
});

describe('service tokens are built by the one token builder', () => {
  let server: Server;
  let secret: string;
  // What the claims function does next, and what it was last given.
  let mode: 'tenant' | 'throws' | 'reserved' | 'big' = 'tenant';
  let seen: ClaimsContext | undefined;

  before(async () => {
    server = await serve({
      accessTokenMaxBytes: 900,
      claims: (context) => {
        seen = context;
        if (mode === 'throws') throw new Error('the tenant service is down');
        if (mode === 'reserved') return { sub: 'someone-else' };
        if (mode === 'big') return { blob: 'x'.repeat(2000) };
        return { tenant: `t-${context.client_id}` };
      },
    });
    secret = (
      await registerClient(
        server.app.store,
        { id: 'billing', scopes: ['invoices:read', 'invoices:write'] },
        Date.now(),
      )
    ).secret!;
  });
  after(async () => {
    await server?.close();
  });

  const token = (params: Record<string, string> = {}) =>
    form(
      `${server.issuer}/oauth/token`,
      { grant_type: 'client_credentials', ...params },
      { authorization: basic('billing', secret), 'user-agent': 'billing-service/1.0' },
    );

  test('the claims function sees the client, no user, the session of the token and the request; its claims are in the token', async () => {
    mode = 'tenant';
    const answer = await token({ scope: 'invoices:read' });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const claims = jose.decodeJwt(answer.body['access_token'] as string);
    assert.equal(claims['tenant'], 't-billing');
    assert.equal(claims.sub, 'billing');
    assert.equal(claims['client_id'], 'billing');
    assert.equal(claims['scope'], 'invoices:read');
    assert.equal('roles' in claims, false);
    // The client token keeps a session id of its own (for revocation).
    assert.match(String(claims['sid']), /^cc_[A-Za-z0-9_-]{16}$/);
    assert.equal(seen?.user, null);
    assert.equal(seen?.client_id, 'billing');
    assert.equal(seen?.scope, 'invoices:read');
    assert.equal(seen?.session?.id, claims['sid']);
    assert.equal(seen?.request.ip, '127.0.0.1');
    assert.equal(seen?.request.user_agent, 'billing-service/1.0');
    // Two tokens, two sessions.
    const other = jose.decodeJwt((await token()).body['access_token'] as string);
    assert.notEqual(other['sid'], claims['sid']);
    assert.equal(other['scope'], 'invoices:read invoices:write');
  });

  test('a claims function that throws, returns a reserved claim or makes the token too large: the RFC error, never a 500', async () => {
    for (const what of ['throws', 'reserved', 'big'] as const) {
      mode = what;
      const answer = await token();
      assert.equal(answer.status, 503, what);
      assert.equal(answer.body['error'], 'temporarily_unavailable', what);
      assert.equal(typeof answer.body['error_description'], 'string', what);
      assert.equal('access_token' in answer.body, false, what);
      assert.equal(answer.headers.get('retry-after'), '5', what);
      assert.equal(answer.headers.get('cache-control'), 'no-store', what);
      // The description never carries what the function threw or returned (the log says why).
      assert.doesNotMatch(JSON.stringify(answer.body), /tenant service|someone-else|xxxx/, what);
    }
    // RFC 6749 §5.2's form with the status of the server's trouble (503, as RFC 6749 §4.1.2.1
    // has it), not a 400 that would blame the client: openid-client hands the response over as
    // not an error of the client's, its body readable.
    mode = 'reserved';
    const config = await client.discovery(
      new URL(server.issuer),
      'billing',
      {},
      client.ClientSecretBasic(secret),
      insecure,
    );
    await assert.rejects(client.clientCredentialsGrant(config), (error) => {
      assert.ok(error instanceof client.ClientError);
      assert.equal(error.code, 'OAUTH_RESPONSE_IS_NOT_CONFORM');
      const response = error.cause as Response;
      assert.equal(response.status, 503);
      return true;
    });
    mode = 'tenant';
    assert.equal((await token()).status, 200);
  });
});

describe('the configured first-party client id (firstPartyClientId)', () => {
  let server: Server;
  let secret: string;

  before(async () => {
    server = await serve({
      firstPartyClientId: 'web-app',
      roleScopes: { user: ['notes:read', 'notes:write'] },
    });
    const store = server.app.store;
    secret = (await registerClient(store, { id: 'billing', scopes: ['invoices:read'] }, Date.now()))
      .secret!;
    await fetch(`${server.issuer}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        username: 'olive',
        email: 'olive@example.com',
        password: 'olive password',
      }),
    });
  });
  after(async () => {
    await server?.close();
  });

  const login = async () =>
    (await (
      await fetch(`${server.issuer}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'olive', password: 'olive password' }),
      })
    ).json()) as { access_token: string; refresh_token: string };

  test('refresh, introspection and revocation know the first-party client by its configured id', async () => {
    const tokens = await login();
    assert.equal(jose.decodeJwt(tokens.access_token)['client_id'], 'web-app');
    const url = `${server.issuer}/oauth/token`;

    // The default id is no client here: refresh and revocation refuse it.
    const asDefault = await form(url, {
      grant_type: 'refresh_token',
      client_id: 'laissez',
      refresh_token: tokens.refresh_token,
    });
    assert.equal(asDefault.status, 401);
    assert.equal(asDefault.body['error'], 'invalid_client');
    const revokeAsDefault = await form(`${server.issuer}/oauth/revoke`, {
      token: tokens.refresh_token,
      client_id: 'laissez',
    });
    assert.equal(revokeAsDefault.status, 401);

    // The configured id refreshes (openid-client, public client), narrowing the scope (RFC 6749 §6).
    const webApp = await client.discovery(
      new URL(server.issuer),
      'web-app',
      {},
      client.None(),
      insecure,
    );
    const refreshed = await client.refreshTokenGrant(webApp, tokens.refresh_token, {
      scope: 'notes:read',
    });
    assert.equal(refreshed.scope, 'notes:read');
    assert.equal(jose.decodeJwt(refreshed.access_token)['scope'], 'notes:read');
    // Never wider than the session's grant.
    const wider = await form(url, {
      grant_type: 'refresh_token',
      client_id: 'web-app',
      refresh_token: refreshed.refresh_token!,
      scope: 'notes:read admin',
    });
    assert.equal(wider.status, 400);
    assert.equal(wider.body['error'], 'invalid_scope');

    const billing = await client.discovery(
      new URL(server.issuer),
      'billing',
      {},
      client.ClientSecretBasic(secret),
      insecure,
    );
    const rt = await client.tokenIntrospection(billing, refreshed.refresh_token!);
    assert.equal(rt.active, true);
    assert.equal(rt.client_id, 'web-app');
    // A token signed without client_id (as before RFC 9068 claims) is the first-party client's.
    const legacy = server.app.auth.keyRing.sign({ sub: 'someone', sid: 'fam' });
    assert.equal((await client.tokenIntrospection(billing, legacy)).client_id, 'web-app');

    await client.tokenRevocation(webApp, refreshed.refresh_token!);
    assert.equal(
      (await client.tokenIntrospection(billing, refreshed.refresh_token!)).active,
      false,
    );
  });

  test('metadata: the scopes of roles and of clients', async () => {
    const meta = (await (
      await fetch(`${server.issuer}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    assert.deepEqual(meta['scopes_supported'], ['invoices:read', 'notes:read', 'notes:write']);
  });

  test('a registered client under the first-party id gets no service token', async () => {
    const taken = await registerClient(server.app.store, { id: 'web-app' }, Date.now());
    const answer = await form(
      `${server.issuer}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic('web-app', taken.secret!) },
    );
    assert.equal(answer.status, 400);
    assert.equal(answer.body['error'], 'unauthorized_client');
  });
});

describe('a private_key_jwt client whose keys are served at its jwks_uri', () => {
  let server: Server;
  let jwksServer: import('node:http').Server;
  let jwksUrl: string;
  let served: { keys: jose.JWK[] } = { keys: [] };
  let fetches = 0;

  before(async () => {
    server = await serve();
    jwksServer = (await import('node:http')).createServer((_request, response) => {
      fetches++;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(served));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks.json`;
  });
  after(async () => {
    await new Promise((resolve) => jwksServer?.close(resolve));
    await server?.close();
  });

  test('the keys are fetched from the jwks_uri (loopback http is allowed); another key is refused; an unreachable set is 503', async () => {
    const keys = await jose.generateKeyPair('ES256', { extractable: true });
    served = {
      keys: [{ ...(await jose.exportJWK(keys.publicKey)), alg: 'ES256', use: 'sig', kid: 'k1' }],
    };
    await registerClient(
      server.app.store,
      {
        id: 'remote-keys',
        authMethod: 'private_key_jwt',
        jwksUri: jwksUrl,
        scopes: ['reports:run'],
      },
      Date.now(),
    );
    const config = await client.discovery(
      new URL(server.issuer),
      'remote-keys',
      {},
      client.PrivateKeyJwt({ key: keys.privateKey, kid: 'k1' }),
      insecure,
    );
    const tokens = await client.clientCredentialsGrant(config);
    assert.equal(tokens.scope, 'reports:run');
    assert.equal(jose.decodeJwt(tokens.access_token).sub, 'remote-keys');
    assert.ok(fetches >= 1);

    // A key the set does not hold.
    const other = await jose.generateKeyPair('ES256');
    const stranger = await client.discovery(
      new URL(server.issuer),
      'remote-keys',
      {},
      client.PrivateKeyJwt({ key: other.privateKey, kid: 'k1' }),
      insecure,
    );
    await assert.rejects(client.clientCredentialsGrant(stranger), (error) => {
      assert.equal((error as { error?: string }).error, 'invalid_client');
      return true;
    });

    // A client whose set cannot be fetched: the server's trouble, not the client's fault.
    const closed = await freePort();
    await registerClient(
      server.app.store,
      {
        id: 'unreachable-keys',
        authMethod: 'private_key_jwt',
        jwksUri: `http://127.0.0.1:${closed}/jwks.json`,
      },
      Date.now(),
    );
    const assertion = await new jose.SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('unreachable-keys')
      .setSubject('unreachable-keys')
      .setAudience(server.issuer)
      .setJti(crypto.randomUUID())
      .setExpirationTime('60s')
      .sign(keys.privateKey);
    const answer = await form(`${server.issuer}/oauth/token`, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    assert.equal(answer.status, 503);
    assert.equal(answer.body['error'], 'temporarily_unavailable');
  });
});
