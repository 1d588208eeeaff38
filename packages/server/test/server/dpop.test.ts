// DPoP end to end over real HTTP (RFC 9449), against implementations no one here wrote:
// oauth4webapi as the DPoP client of the auth server (/oauth/token: client_credentials and the
// refresh of a first-party log-in, server nonces) and of a laissez middleware route;
// express-oauth2-jwt-bearer as an independent verifier of laissez's bound tokens and proofs. And
// the attacks: a replayed proof, a proof by another key, for another URL, without the nonce, a
// bound token sent as Bearer, a bound refresh family refreshed without its key.
import assert from 'node:assert/strict';
import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { auth as auth0 } from 'express-oauth2-jwt-bearer';
import type { FastifyInstance } from 'fastify';
import * as oauth from 'oauth4webapi';
import { Secret, TOTP } from 'otpauth';
import { createProofSigner, type ProofSigner } from '../../../jwt/src/index.ts';
import { laissez } from '../../../middleware/src/express.ts';
import { registerClient } from '../../src/auth/clients.ts';
import { NONCE_WINDOW } from '../../src/server/dpop.ts';
import { type AuthServerOptions, createAuthServer } from '../../src/server/index.ts';
import { freePort } from '../helpers/ports.ts';
import { FAST_ARGON2 } from '../helpers/server.ts';

interface Server {
  app: FastifyInstance;
  issuer: string;
  close(): Promise<void>;
}

/** An auth server (ES256, so that verifiers without the secret can check it) at its own URL. */
async function serve(options: Partial<AuthServerOptions> = {}, dir?: string): Promise<Server> {
  const dataDir = dir ?? mkdtempSync(join(tmpdir(), 'laissez-dpop-'));
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const app = await createAuthServer({
    issuer,
    dataDir,
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
      if (dir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function listen(app: express.Express): Promise<{ server: HttpServer; url: string }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

const signer = (now?: () => number): ProofSigner =>
  createProofSigner({
    ...(now ? { now } : {}),
    key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
    algorithm: 'ES256',
  });

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const json = typeof body !== 'string';
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
      ...headers,
    },
    body: json ? JSON.stringify(body) : body,
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: response.headers,
  };
}

const insecure = { [oauth.allowInsecureRequests]: true } as const;

describe('DPoP with oauth4webapi and express-oauth2-jwt-bearer', () => {
  let server: Server;
  let as: oauth.AuthorizationServer;
  let secret: string;
  let laissezApi: { server: HttpServer; url: string };
  let auth0Api: { server: HttpServer; url: string };

  before(async () => {
    server = await serve();
    secret = (
      await registerClient(
        server.app.store,
        { id: 'billing', scopes: ['invoices:read'] },
        Date.now(),
      )
    ).secret!;
    as = await oauth.processDiscoveryResponse(
      new URL(server.issuer),
      await oauth.discoveryRequest(new URL(server.issuer), { algorithm: 'oauth2', ...insecure }),
    );

    // A laissez resource server that requires DPoP.
    const port = await freePort();
    const mine = express();
    mine.get(
      '/invoices',
      laissez({
        algorithms: ['ES256'],
        jwksUri: `${server.issuer}/.well-known/jwks.json`,
        issuer: server.issuer,
        audience: 'api',
        dpop: 'required',
        publicUrl: `http://127.0.0.1:${port}`,
      }),
      (req, res) => {
        res.json({ sub: req.auth?.subject });
      },
    );
    const listening = mine.listen(port, '127.0.0.1');
    await new Promise((resolve) => listening.once('listening', resolve));
    laissezApi = { server: listening, url: `http://127.0.0.1:${port}` };

    // An independent verifier: Auth0's express middleware, DPoP required.
    const theirs = express();
    theirs.get(
      '/invoices',
      auth0({
        issuer: server.issuer,
        jwksUri: `${server.issuer}/.well-known/jwks.json`,
        audience: 'api',
        tokenSigningAlg: 'ES256',
        dpop: { enabled: true, required: true },
      }),
      (req, res) => {
        res.json({ sub: (req.auth as unknown as { payload: { sub: string } }).payload.sub });
      },
    );
    auth0Api = await listen(theirs);
  });
  after(async () => {
    for (const api of [laissezApi, auth0Api]) {
      if (api) await new Promise((resolve) => api.server.close(resolve));
    }
    await server?.close();
  });

  test('metadata advertises the proof algorithms (RFC 9449 §5.1)', () => {
    assert.deepEqual(as['dpop_signing_alg_values_supported'], ['ES256', 'EdDSA', 'Ed25519']);
  });

  test('client_credentials with an oauth4webapi DPoP key: a bound token, accepted with proofs by laissez and by express-oauth2-jwt-bearer, refused as Bearer', async () => {
    const client: oauth.Client = { client_id: 'billing' };
    const keyPair = await oauth.generateKeyPair('ES256', { extractable: true });
    const DPoP = oauth.DPoP(client, keyPair);
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretBasic(secret),
      { scope: 'invoices:read' },
      { DPoP, ...insecure },
    );
    const tokens = await oauth.processClientCredentialsResponse(as, client, response);
    assert.equal(tokens.token_type, 'dpop');
    // Bound to the RFC 7638 thumbprint of oauth4webapi's key.
    const jkt = createProofSigner({
      key: KeyObject.from(keyPair.privateKey),
      algorithm: 'ES256',
    }).jkt;
    assert.deepEqual(claimsOf(tokens.access_token)['cnf'], { jkt });

    for (const api of [laissezApi, auth0Api]) {
      const ok = await oauth.protectedResourceRequest(
        tokens.access_token,
        'GET',
        new URL(`${api.url}/invoices`),
        undefined,
        undefined,
        { DPoP, ...insecure },
      );
      assert.equal(ok.status, 200, api.url);
      assert.deepEqual(await ok.json(), { sub: 'billing' });
      // The same token without its key: refused by both.
      const stolen = await fetch(`${api.url}/invoices`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      // 401 at laissez (RFC 9449 §7.2); express-oauth2-jwt-bearer answers 400 invalid_request.
      assert.ok([400, 401].includes(stolen.status), `${api.url}: ${stolen.status}`);
    }
  });

  test("laissez's log-in token and proofs are accepted by express-oauth2-jwt-bearer; the auth server's own routes take them too", async () => {
    await post(`${server.issuer}/auth/register`, {
      username: 'dora',
      email: 'dora@example.com',
      password: 'dora password',
    });
    const prove = signer();
    const login = await post(
      `${server.issuer}/auth/login`,
      { username: 'dora', password: 'dora password' },
      { dpop: prove({ method: 'POST', url: `${server.issuer}/auth/login` }) },
    );
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.equal(login.body['token_type'], 'DPoP');
    const access = login.body['access_token'] as string;
    assert.deepEqual(claimsOf(access)['cnf'], { jkt: prove.jkt });

    const theirs = await fetch(`${auth0Api.url}/invoices`, {
      headers: {
        authorization: `DPoP ${access}`,
        dpop: prove({ method: 'GET', url: `${auth0Api.url}/invoices`, accessToken: access }),
      },
    });
    assert.equal(theirs.status, 200);

    const me = (headers: Record<string, string>) => fetch(`${server.issuer}/auth/me`, { headers });
    const mine = await me({
      authorization: `DPoP ${access}`,
      dpop: prove({ method: 'GET', url: `${server.issuer}/auth/me`, accessToken: access }),
    });
    assert.equal(mine.status, 200);
    assert.equal(((await mine.json()) as { user: { username: string } }).user.username, 'dora');
    const asBearer = await me({ authorization: `Bearer ${access}` });
    assert.equal(asBearer.status, 401);
    assert.match(asBearer.headers.get('www-authenticate')!, /^DPoP error="invalid_token"/);
    const otherKey = await me({
      authorization: `DPoP ${access}`,
      dpop: signer()({ method: 'GET', url: `${server.issuer}/auth/me`, accessToken: access }),
    });
    assert.equal(otherKey.status, 401);
  });

  test('a log-in finished by a second factor (TOTP) is bound to the key of its proofs', async () => {
    await post(`${server.issuer}/auth/register`, {
      username: 'dora_mfa',
      email: 'dora.mfa@example.com',
      password: 'dora mfa password',
    });
    const credentials = { username: 'dora_mfa', password: 'dora mfa password' };
    const plain = await post(`${server.issuer}/auth/login`, credentials);
    const bearer = { authorization: `Bearer ${plain.body['access_token'] as string}` };
    const enrol = await post(`${server.issuer}/auth/mfa/totp`, {}, bearer);
    assert.equal(enrol.status, 200, JSON.stringify(enrol.body));
    const code = (at: number) =>
      TOTP.generate({ secret: Secret.fromBase32(enrol.body['secret'] as string), timestamp: at });
    const confirmed = await post(
      `${server.issuer}/auth/mfa/totp/confirm`,
      { code: code(Date.now()) },
      bearer,
    );
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));

    const prove = signer();
    const first = await post(`${server.issuer}/auth/login`, credentials, {
      dpop: prove({ method: 'POST', url: `${server.issuer}/auth/login` }),
    });
    assert.equal(first.status, 401);
    assert.equal(first.body['error'], 'mfa_required');
    // The next time step: the server takes one step either side, and each step once.
    const done = await post(
      `${server.issuer}/auth/mfa/verify`,
      { mfa_token: first.body['mfa_token'], code: code(Date.now() + 30_000) },
      { dpop: prove({ method: 'POST', url: `${server.issuer}/auth/mfa/verify` }) },
    );
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body['token_type'], 'DPoP');
    const claims = claimsOf(done.body['access_token'] as string);
    assert.deepEqual(claims['cnf'], { jkt: prove.jkt });
    assert.deepEqual(claims['amr'], ['pwd', 'otp', 'mfa']);
  });

  test('a bound refresh family: refreshed by oauth4webapi with its key; without a proof or with another key refused, and nothing spent', async () => {
    await post(`${server.issuer}/auth/register`, {
      username: 'enzo',
      email: 'enzo@example.com',
      password: 'enzo password',
    });
    const client: oauth.Client = { client_id: 'laissez' };
    const keyPair = await oauth.generateKeyPair('ES256', { extractable: true });
    const DPoP = oauth.DPoP(client, keyPair);
    // Log-in is laissez's own: its proof is made with the same key, by laissez's signer.
    const prove = createProofSigner({
      key: KeyObject.from(keyPair.privateKey),
      algorithm: 'ES256',
    });
    const login = await post(
      `${server.issuer}/auth/login`,
      { username: 'enzo', password: 'enzo password' },
      { dpop: prove({ method: 'POST', url: `${server.issuer}/auth/login` }) },
    );
    assert.equal(login.status, 200);
    const refreshToken = login.body['refresh_token'] as string;

    const form = `grant_type=refresh_token&client_id=laissez&refresh_token=${refreshToken}`;
    const bare = await post(`${server.issuer}/oauth/token`, form);
    assert.equal(bare.status, 400);
    assert.equal(bare.body['error'], 'invalid_dpop_proof');
    const thief = await post(`${server.issuer}/oauth/token`, form, {
      dpop: signer()({ method: 'POST', url: `${server.issuer}/oauth/token` }),
    });
    assert.equal(thief.status, 400);
    assert.equal(thief.body['error'], 'invalid_grant');
    // At laissez's own refresh endpoint too: a token endpoint's 400, no challenge (RFC 9449 §5).
    const viaAuth = await post(`${server.issuer}/auth/refresh`, { refresh_token: refreshToken });
    assert.equal(viaAuth.status, 400);
    assert.equal(viaAuth.body['error'], 'invalid_dpop_proof');
    assert.equal(viaAuth.headers.get('www-authenticate'), null);

    // The owner's refresh still works: the refusals spent nothing.
    const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, {
      DPoP,
      ...insecure,
    });
    const tokens = await oauth.processRefreshTokenResponse(as, client, response);
    assert.equal(tokens.token_type, 'dpop');
    assert.deepEqual(claimsOf(tokens.access_token)['cnf'], { jkt: prove.jkt });
    const ok = await oauth.protectedResourceRequest(
      tokens.access_token,
      'GET',
      new URL(`${laissezApi.url}/invoices`),
      undefined,
      undefined,
      { DPoP, ...insecure },
    );
    assert.equal(ok.status, 200);
    // The successor is bound too: another key cannot take over the family after a rotation.
    const next = await post(
      `${server.issuer}/auth/refresh`,
      { refresh_token: tokens.refresh_token },
      { dpop: signer()({ method: 'POST', url: `${server.issuer}/auth/refresh` }) },
    );
    assert.equal(next.status, 401);
    assert.equal(next.body['error'], 'invalid_grant');
  });

  test('attacks at the middleware: a replayed proof, a proof for another URL or method, by another key', async () => {
    const client: oauth.Client = { client_id: 'billing' };
    const keyPair = await oauth.generateKeyPair('ES256', { extractable: true });
    const tokens = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(
        as,
        client,
        oauth.ClientSecretBasic(secret),
        {},
        {
          DPoP: oauth.DPoP(client, keyPair),
          ...insecure,
        },
      ),
    );
    const access = tokens.access_token;
    const prove = createProofSigner({
      key: KeyObject.from(keyPair.privateKey),
      algorithm: 'ES256',
    });
    const url = `${laissezApi.url}/invoices`;
    const get = (proof: string) =>
      fetch(url, { headers: { authorization: `DPoP ${access}`, dpop: proof } });
    const proof = prove({ method: 'GET', url, accessToken: access });
    assert.equal((await get(proof)).status, 200);
    const replayed = await get(proof);
    assert.equal(replayed.status, 401);
    assert.match(replayed.headers.get('www-authenticate')!, /invalid_dpop_proof.*used before/);
    const elsewhere = await get(
      prove({ method: 'GET', url: `${laissezApi.url}/other`, accessToken: access }),
    );
    assert.equal(elsewhere.status, 401);
    assert.match(elsewhere.headers.get('www-authenticate')!, /another URL/);
    const otherMethod = await get(prove({ method: 'POST', url, accessToken: access }));
    assert.equal(otherMethod.status, 401);
    const otherKey = await get(signer()({ method: 'GET', url, accessToken: access }));
    assert.equal(otherKey.status, 401);
    assert.match(otherKey.headers.get('www-authenticate')!, /bound to another key/);
    // The same attacks at the independent verifier (it has no replay cache of its own).
    const theirs = (p: string) =>
      fetch(`${auth0Api.url}/invoices`, { headers: { authorization: `DPoP ${access}`, dpop: p } });
    // 401 at laissez; express-oauth2-jwt-bearer answers some proof errors with 400.
    const refusedThere = async (p: string) => {
      const status = (await theirs(p)).status;
      assert.ok([400, 401].includes(status), String(status));
    };
    await refusedThere(
      signer()({ method: 'GET', url: `${auth0Api.url}/invoices`, accessToken: access }),
    );
    await refusedThere(prove({ method: 'GET', url: `${auth0Api.url}/x`, accessToken: access }));
    const fine = prove({ method: 'GET', url: `${auth0Api.url}/invoices`, accessToken: access });
    assert.equal((await theirs(fine)).status, 200);
  });

  test('attacks at the token endpoints: a replayed proof, for another URL, not a proof', async () => {
    const prove = signer();
    const tokenUrl = `${server.issuer}/oauth/token`;
    const basic = `Basic ${Buffer.from(`billing:${secret}`).toString('base64')}`;
    const proof = prove({ method: 'POST', url: tokenUrl });
    const first = await post(tokenUrl, 'grant_type=client_credentials', {
      authorization: basic,
      dpop: proof,
    });
    assert.equal(first.status, 200);
    assert.equal(first.body['token_type'], 'DPoP');
    const again = await post(tokenUrl, 'grant_type=client_credentials', {
      authorization: basic,
      dpop: proof,
    });
    assert.equal(again.status, 400);
    assert.equal(again.body['error'], 'invalid_dpop_proof');
    const wrongUrl = await post(tokenUrl, 'grant_type=client_credentials', {
      authorization: basic,
      dpop: prove({ method: 'POST', url: `${server.issuer}/auth/login` }),
    });
    assert.equal(wrongUrl.status, 400);
    assert.equal(wrongUrl.body['error'], 'invalid_dpop_proof');
    const junk = await post(
      `${server.issuer}/auth/login`,
      { username: 'nobody', password: 'whatever it is' },
      { dpop: 'not.a.proof' },
    );
    assert.equal(junk.status, 400);
    assert.equal(junk.body['error'], 'invalid_dpop_proof');
    // Nothing of the proof or token comes back in the answer.
    assert.doesNotMatch(JSON.stringify(again.body), /eyJ/);
  });

  test("every token endpoint answers a bad proof with 400 invalid_dpop_proof (RFC 9449 §5), no challenge; the server's own routes with a resource server's 401", async () => {
    const prove = signer();
    const basic = `Basic ${Buffer.from(`billing:${secret}`).toString('base64')}`;
    // Each request is fine but for its proof, checked first: nothing else is tried or spent.
    const endpoints: [string, unknown, Record<string, string>][] = [
      ['/auth/login', { username: 'nobody', password: 'whatever it is' }, {}],
      ['/auth/refresh', { refresh_token: 'not-a-refresh-token' }, {}],
      ['/auth/mfa/verify', { mfa_token: 'not-an-mfa-token', code: '123456' }, {}],
      ['/oauth/token', 'grant_type=client_credentials', { authorization: basic }],
    ];
    for (const [path, body, headers] of endpoints) {
      const url = `${server.issuer}${path}`;
      const bad: [string, string][] = [
        ['for another URL', prove({ method: 'POST', url: `${server.issuer}/elsewhere` })],
        ['for another method', prove({ method: 'GET', url })],
        ['too old', signer(() => Date.now() - 10 * 60_000)({ method: 'POST', url })],
        ['not a proof', 'not.a.proof'],
      ];
      for (const [what, proof] of bad) {
        const answer = await post(url, body, { ...headers, dpop: proof });
        assert.equal(answer.status, 400, `${path}, ${what}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body['error'], 'invalid_dpop_proof', `${path}, ${what}`);
        assert.equal(typeof answer.body['error_description'], 'string', `${path}, ${what}`);
        assert.equal(answer.headers.get('www-authenticate'), null, `${path}, ${what}`);
      }
    }

    // A bound token at the server's own route with a proof for another URL: a resource server's
    // answer, 401 with a DPoP challenge (RFC 9449 §7.1).
    const key = signer();
    const issued = await post(`${server.issuer}/oauth/token`, 'grant_type=client_credentials', {
      authorization: basic,
      dpop: key({ method: 'POST', url: `${server.issuer}/oauth/token` }),
    });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    const access = issued.body['access_token'] as string;
    const me = await fetch(`${server.issuer}/auth/me`, {
      headers: {
        authorization: `DPoP ${access}`,
        dpop: key({ method: 'GET', url: `${server.issuer}/auth/other`, accessToken: access }),
      },
    });
    assert.equal(me.status, 401);
    assert.match(me.headers.get('www-authenticate')!, /^DPoP error="invalid_dpop_proof"/);
  });
});

describe('DPoP server nonces (RFC 9449 §8)', () => {
  let dir: string;
  let clock: number;
  let one: Server;
  let two: Server;
  let secret: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'laissez-dpop-nonce-'));
    clock = Date.now();
    const now = () => clock;
    one = await serve({ dpopNonce: true, now }, dir);
    secret = (await registerClient(one.app.store, { id: 'billing', scopes: [] }, Date.now()))
      .secret!;
    // A second instance on the same database and key-encryption key: it accepts the first's nonces.
    two = await serve({ dpopNonce: true, now }, dir);
  });
  after(async () => {
    await two?.close();
    await one?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('oauth4webapi gets use_dpop_nonce, retries with the DPoP-Nonce it was sent, and gets a bound token', async () => {
    const as = await oauth.processDiscoveryResponse(
      new URL(one.issuer),
      await oauth.discoveryRequest(new URL(one.issuer), { algorithm: 'oauth2', ...insecure }),
    );
    const client: oauth.Client = { client_id: 'billing' };
    const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
    const request = () =>
      oauth.clientCredentialsGrantRequest(
        as,
        client,
        oauth.ClientSecretBasic(secret),
        {},
        {
          DPoP,
          ...insecure,
        },
      );
    await assert.rejects(
      oauth.processClientCredentialsResponse(as, client, await request()),
      (error) => oauth.isDPoPNonceError(error),
    );
    const tokens = await oauth.processClientCredentialsResponse(as, client, await request());
    assert.equal(tokens.token_type, 'dpop');
  });

  test('a proof without the nonce, or with a stale one, is use_dpop_nonce with a fresh DPoP-Nonce; every instance accepts a current one', async () => {
    const basic = `Basic ${Buffer.from(`billing:${secret}`).toString('base64')}`;
    // The client's clock is the servers' (moved on below to age the nonce, not the proofs).
    const prove = signer(() => clock);
    const ask = (server: Server, nonce?: string) =>
      post(`${server.issuer}/oauth/token`, 'grant_type=client_credentials', {
        authorization: basic,
        dpop: prove({
          method: 'POST',
          url: `${server.issuer}/oauth/token`,
          ...(nonce ? { nonce } : {}),
        }),
      });
    const missing = await ask(one);
    assert.equal(missing.status, 400, JSON.stringify(missing.body));
    assert.equal(missing.body['error'], 'use_dpop_nonce');
    const nonce = missing.headers.get('dpop-nonce')!;
    assert.match(nonce, /^[A-Za-z0-9_-]{22}$/);
    assert.equal((await ask(one, 'made-up-nonce')).body['error'], 'use_dpop_nonce');
    // The other instance made no nonce and stores none, yet accepts this one.
    const other = await ask(two, nonce);
    assert.equal(other.status, 200, JSON.stringify(other.body));
    assert.equal(other.headers.get('dpop-nonce'), nonce);
    // Still good in the next window; stale two windows on.
    clock += NONCE_WINDOW;
    assert.equal((await ask(one, nonce)).status, 200);
    clock += 2 * NONCE_WINDOW;
    const stale = await ask(one, nonce);
    assert.equal(stale.status, 400);
    assert.equal(stale.body['error'], 'use_dpop_nonce');
    assert.notEqual(stale.headers.get('dpop-nonce'), nonce);
    // At log-in too (400 there as well: a token endpoint of an authorization server, §8).
    const login = await post(
      `${one.issuer}/auth/login`,
      { username: 'nobody', password: 'whatever it is' },
      { dpop: prove({ method: 'POST', url: `${one.issuer}/auth/login` }) },
    );
    assert.equal(login.status, 400);
    assert.equal(login.body['error'], 'use_dpop_nonce');
    assert.ok(login.headers.get('dpop-nonce'));
  });

  test("every token endpoint of the auth server answers a nonce-less proof with 400 use_dpop_nonce (RFC 9449 §8), no challenge; the server's own routes, a resource server's, ask for no nonce", async () => {
    // Ten minutes ahead of the real time: the server's own routes judge a proof's iat by the
    // server's clock too (its `now`), as its token endpoints do.
    clock = Date.now() + 10 * 60_000;
    const prove = signer(() => clock);
    const at = (path: string, body: unknown) =>
      post(`${one.issuer}${path}`, body, {
        dpop: prove({ method: 'POST', url: `${one.issuer}${path}` }),
      });
    const endpoints: [string, unknown][] = [
      ['/auth/login', { username: 'nobody', password: 'whatever it is' }],
      ['/auth/refresh', { refresh_token: 'not-a-refresh-token' }],
      ['/auth/mfa/verify', { mfa_token: 'not-an-mfa-token', code: '123456' }],
    ];
    for (const [path, body] of endpoints) {
      const answer = await at(path, body);
      assert.equal(answer.status, 400, `${path}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body['error'], 'use_dpop_nonce', path);
      assert.equal(typeof answer.body['error_description'], 'string', path);
      assert.match(answer.headers.get('dpop-nonce') ?? '', /^[A-Za-z0-9_-]{22}$/, path);
      // The resource server's form (§9) is a 401 with a challenge; an authorization server's is not.
      assert.equal(answer.headers.get('www-authenticate'), null, path);
    }

    // A log-in with the nonce it was sent: bound tokens, then the server's own route (the
    // middleware's authenticator, a resource server) takes a proof without a nonce.
    await post(`${one.issuer}/auth/register`, {
      username: 'nina',
      email: 'nina@example.com',
      password: 'nina password',
    });
    const first = await at('/auth/login', { username: 'nina', password: 'nina password' });
    assert.equal(first.status, 400);
    const login = await post(
      `${one.issuer}/auth/login`,
      { username: 'nina', password: 'nina password' },
      {
        dpop: prove({
          method: 'POST',
          url: `${one.issuer}/auth/login`,
          nonce: first.headers.get('dpop-nonce')!,
        }),
      },
    );
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const access = login.body['access_token'] as string;
    const me = await fetch(`${one.issuer}/auth/me`, {
      headers: {
        authorization: `DPoP ${access}`,
        dpop: prove({ method: 'GET', url: `${one.issuer}/auth/me`, accessToken: access }),
      },
    });
    assert.equal(me.status, 200, (await me.text()).slice(0, 200));
    // Its DPoP refusals stay a resource server's: 401 with a DPoP challenge (RFC 9449 §7.1).
    const refused = await fetch(`${one.issuer}/auth/me`, {
      headers: {
        authorization: `DPoP ${access}`,
        dpop: prove({ method: 'GET', url: `${one.issuer}/auth/other`, accessToken: access }),
      },
    });
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate')!, /^DPoP error="invalid_dpop_proof"/);
  });
});
