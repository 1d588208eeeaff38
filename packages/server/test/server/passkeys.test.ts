// The passkey routes over HTTP without a browser: what reaches them before any ceremony (a
// missing token, malformed or oversized credentials, an unknown credential) and the per-address
// budget on log-in options. The ceremonies themselves run in Chromium: test/web/passkeys.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

const b64 = (bytes: number) => randomBytes(bytes).toString('base64url');

describe('passkey routes over HTTP', () => {
  let server: Running;
  before(async () => {
    server = await start({
      passwordParams: FAST_ARGON2,
      rateLimits: {
        loginPerIp: { max: 3, window: 60 },
        loginFailuresPerAccount: { max: 10, window: 900 },
        registerPerIp: { max: 10, window: 600 },
      },
    });
  });
  after(() => server?.close());

  test('the user routes need an access token', async () => {
    for (const [method, path] of [
      ['POST', '/auth/passkeys/register/options'],
      ['POST', '/auth/passkeys/register'],
      ['GET', '/auth/passkeys'],
      ['PATCH', '/auth/passkeys/abc'],
      ['DELETE', '/auth/passkeys/abc'],
    ] as const) {
      const r = await call(server.url, method, path);
      assert.equal(r.status, 401, `${method} ${path}`);
      assert.equal(r.body['error'], 'invalid_token');
    }
  });

  test('a malformed, oversized or unknown credential is refused before any ceremony', async () => {
    const credential = {
      id: b64(16),
      rawId: b64(16),
      type: 'public-key',
      clientExtensionResults: {},
      response: { clientDataJSON: b64(64), authenticatorData: b64(37), signature: b64(64) },
    };
    const login = (body: unknown) => call(server.url, 'POST', '/auth/passkeys/login', { body });
    const missing = await login({});
    assert.equal(missing.status, 400);
    assert.equal(missing.body['error'], 'invalid_request');
    const wrongType = await login({ credential: { ...credential, type: 'password' } });
    assert.equal(wrongType.status, 400);
    const long = await login({ credential: { ...credential, id: 'A'.repeat(1365) } });
    assert.equal(long.status, 400);
    assert.match(String(long.body['error_description']), /credential\.id/);
    const notBase64url = await login({ credential: { ...credential, id: 'a+b/c=' } });
    assert.equal(notBase64url.status, 400);
    const unknown = await login({ credential });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body['error'], 'invalid_passkey');
    assert.match(String(unknown.body['error_description']), /not registered/);
  });

  test('log-in options are counted per address: a client cannot fill the challenge table', async () => {
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof call<Record<string, unknown>>>> | undefined;
    for (let i = 0; i < 4; i++) {
      last = await call(server.url, 'POST', '/auth/passkeys/login/options');
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    assert.equal(last?.body['error'], 'too_many_requests');
    assert.ok(Number(last?.headers.get('retry-after')) > 0);
  });

  test('log-in options: a fresh challenge each time, for the configured RP ID, user verified', async () => {
    const other = await start({ passwordParams: FAST_ARGON2, issuer: 'https://auth.example.com' });
    try {
      const a = await call(other.url, 'POST', '/auth/passkeys/login/options');
      const b = await call(other.url, 'POST', '/auth/passkeys/login/options');
      assert.equal(a.status, 200);
      assert.equal(a.body['rpId'], 'auth.example.com');
      assert.equal(a.body['userVerification'], 'required');
      assert.equal(a.headers.get('cache-control'), 'no-store');
      assert.match(String(a.body['challenge']), /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(a.body['challenge'], b.body['challenge']);
    } finally {
      await other.close();
    }
  });
});
