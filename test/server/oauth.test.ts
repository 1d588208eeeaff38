// The OAuth endpoints driven by clients no one here wrote (openid-client and oauth4webapi), over
// real HTTP, as a service would use them: discovery, client-credentials tokens with each client
// authentication method, refresh of a first-party log-in, introspection and revocation; the token
// they get verifies in the laissez middleware (laissez/express) and in jose. Bad input gets the
// RFC 6749 §5.2 error, never a 500.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import type { FastifyInstance } from 'fastify';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { registerClient } from '../../src/auth/clients.ts';
import { laissez } from '../../src/middleware/express.ts';
import { type AuthServerOptions, createAuthServer } from '../../src/server/index.ts';
import { FAST_ARGON2 } from '../helpers/server.ts';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

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
