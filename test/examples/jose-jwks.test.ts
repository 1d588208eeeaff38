// A third-party verifier: jose, given nothing but the live JWKS URL of a running `laissez serve`,
// verifies its access tokens (RFC 9068 "at+jwt") and refuses tampered ones.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import {
  type AuthServer,
  headerOf,
  request,
  startAuthServer,
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
