// A third-party verifier: jose, given nothing but the live JWKS URL of a running `laissez serve`,
// verifies its access tokens (RFC 9068 "at+jwt"), refuses tampered ones, and follows a key
// rotation.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { laissez } from '../../packages/server/test/helpers/processes.ts';
import {
  type AuthServer,
  headerOf,
  request,
  startAuthServer,
  waitFor,
  withBadSignature,
  withClaims,
} from './processes.ts';

for (const alg of ['EdDSA', 'ES256', 'RS256'] as const) {
  describe(`jose verifies laissez ${alg} access tokens against the live JWKS`, {
    timeout: 60_000,
  }, () => {
    let dir: string;
    let auth: AuthServer | undefined;
    let token: string;
    let userId: string;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'laissez-jose-'));
      auth = await startAuthServer(join(dir, 'data'), {
        LAISSEZ_ALG: alg,
        LAISSEZ_LOG_LEVEL: 'warn',
      });
      const user = { username: 'joan', email: 'joan@example.com', password: 'joan password' };
      const registered = await request(`${auth.url}/auth/register`, { json: user });
      assert.equal(registered.status, 201, JSON.stringify(registered.body));
      userId = (registered.body!['user'] as { id: string }).id;
      const login = await request(`${auth.url}/auth/login`, {
        json: { username: user.username, password: user.password },
      });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      token = login.body!['access_token'] as string;
    });

    after(async () => {
      await auth?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    const verify = (jwt: string, expected: { audience?: string } = {}) =>
      jwtVerify(jwt, createRemoteJWKSet(new URL(auth!.jwksUrl)), {
        issuer: auth!.issuer,
        audience: expected.audience ?? 'api',
        typ: 'at+jwt',
        algorithms: [alg],
      });

    test('a laissez access token verifies in jose', async () => {
      const { payload, protectedHeader } = await verify(token);
      assert.equal(protectedHeader.alg, alg);
      assert.equal(protectedHeader.typ, 'at+jwt');
      assert.equal(protectedHeader.kid, headerOf(token).kid);
      assert.equal(payload.sub, userId);
      assert.equal(payload.iss, auth!.issuer);
      assert.equal(payload.aud, 'api');
      assert.deepEqual(payload['roles'], ['user']);
      assert.equal(typeof payload.jti, 'string');
      assert.ok(payload.exp! > payload.iat!);
    });

    test('a tampered token fails in jose too', async () => {
      for (const forged of [withClaims(token, { roles: ['admin'] }), withBadSignature(token)]) {
        await assert.rejects(verify(forged), errors.JWSSignatureVerificationFailed);
      }
      // And a genuine token for another audience is refused for its claims.
      await assert.rejects(
        verify(token, { audience: 'billing' }),
        (error: unknown) =>
          error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud',
      );
    });
  });
}

describe('jose follows a laissez key rotation through the live JWKS', { timeout: 60_000 }, () => {
  let dir: string;
  let dataDir: string;
  let auth: AuthServer | undefined;
  const user = { username: 'rota', email: 'rota@example.com', password: 'rota password' };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'laissez-jose-rotation-'));
    dataDir = join(dir, 'data');
    auth = await startAuthServer(dataDir, {
      LAISSEZ_ALG: 'EdDSA',
      LAISSEZ_KEY_RELOAD: '1s',
      LAISSEZ_LOG_LEVEL: 'warn',
    });
    const registered = await request(`${auth.url}/auth/register`, { json: user });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
  });

  after(async () => {
    await auth?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const logIn = async () => {
    const login = await request(`${auth!.url}/auth/login`, {
      json: { username: user.username, password: user.password },
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    return login.body!['access_token'] as string;
  };

  test('after keys rotate --immediate, jose refetches for the new kid; the old key still verifies', async () => {
    // One key set for the whole test, as a resource server holds it; jose refetches for an
    // unknown kid once its cool-down (here 200 ms) has passed since its last fetch.
    const jwks = createRemoteJWKSet(new URL(auth!.jwksUrl), { cooldownDuration: 200 });
    const verify = (jwt: string) =>
      jwtVerify(jwt, jwks, { issuer: auth!.issuer, audience: 'api', algorithms: ['EdDSA'] });
    const old = await logIn();
    const oldKid = headerOf(old).kid!;
    assert.equal((await verify(old)).protectedHeader.kid, oldKid);

    const rotated = await laissez([
      'keys',
      'rotate',
      '--data-dir',
      dataDir,
      '--immediate',
      '--json',
    ]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const { kid } = (JSON.parse(rotated.stdout) as { rotated: { kid: string } }).rotated;
    assert.notEqual(kid, oldKid);
    // The server reloads its keys every second; then log-ins carry the new kid.
    const fresh = await waitFor(
      'a token signed with the new key',
      async () => {
        const token = await logIn();
        return headerOf(token).kid === kid ? token : undefined;
      },
      { timeout: 15_000, interval: 1_000 },
    );
    await delay(250); // past jose's cool-down
    const { protectedHeader, payload } = await verify(fresh);
    assert.equal(protectedHeader.kid, kid);
    assert.equal(typeof payload.sub, 'string');
    // The old key stays published until its tokens expire.
    assert.equal((await verify(old)).protectedHeader.kid, oldKid);
  });
});
