// The seeds' log-in flow, end to end, over real HTTP on loopback with a real database file.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createVerifier, decodeUnverified, type Jwks } from '../../../jwt/src/index.ts';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

type Tokens = {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  refresh_expires_in: number;
  error?: string;
  error_description?: string;
};

describe('register, log in, /auth/me, refresh, log out (default argon2id parameters)', () => {
  let server: Running;
  before(async () => {
    server = await start();
  });
  after(() => server.close());

  const alice = {
    username: 'alice',
    email: 'Alice@Example.com',
    password: 'correct horse battery staple',
  };

  test('register → 201 with the user and nothing secret', async () => {
    const r = await call<{ user: Record<string, unknown> }>(server.url, 'POST', '/auth/register', {
      body: alice,
    });
    assert.equal(r.status, 201);
    assert.deepEqual(Object.keys(r.body.user).sort(), [
      'created_at',
      'email',
      'email_verified',
      'id',
      'roles',
      'username',
    ]);
    assert.equal(r.body.user.username, 'alice');
    assert.equal(r.body.user.email, 'alice@example.com');
    assert.deepEqual(r.body.user.roles, ['user']);
    const stored = await server.app.store.findUserByUsername('alice');
    assert.match(stored!.passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.ok(!stored!.passwordHash.includes(alice.password));
  });

  test('log in by username and by email → tokens for that user, header and no-store', async () => {
    for (const body of [
      { username: 'alice', password: alice.password },
      { email: 'ALICE@example.com', password: alice.password },
    ]) {
      const r = await call<Tokens>(server.url, 'POST', '/auth/login', { body });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.token_type, 'Bearer');
      assert.equal(r.body.expires_in, 900);
      assert.equal(r.body.refresh_expires_in, 30 * 24 * 3600);
      assert.match(r.body.refresh_token, /^rt_[A-Za-z0-9_-]{43}$/);
      assert.equal(r.headers.get('authorization'), `Bearer ${r.body.access_token}`);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      const { header, payload } = decodeUnverified(r.body.access_token);
      assert.equal(header.typ, 'at+jwt');
      assert.equal(header.alg, 'HS256');
      const user = await server.app.store.findUserByUsername('alice');
      assert.equal(payload.sub, user!.id);
      // RFC 9068 §2.2: client_id names the first-party client (no scope without --role-scopes).
      assert.equal(payload['client_id'], 'laissez');
      assert.deepEqual(Object.keys(payload).sort(), [
        // RFC 8176 amr and the log-in's time (OpenID Connect Core §2): how and when the user got in.
        'amr',
        'aud',
        'auth_time',
        'client_id',
        'exp',
        'iat',
        'iss',
        'jti',
        'roles',
        'sid',
        'sub',
      ]);
      assert.equal((payload.exp as number) - (payload.iat as number), 900);
      // Small: seed 004 puts a JWT holding only a user id at 304 bytes; ours, with every claim
      // above, stayed under that until RFC 9068 §2.2's required client_id (28 characters with
      // the default "laissez") and amr and auth_time (issue 20: how and when the user logged in,
      // ~50 characters) joined: 379 characters now, under 384; it stays well inside the 1 KiB
      // size budget. An HMAC key is never named in the header (see keyring.ts).
      assert.equal(header.kid, undefined);
      assert.ok(r.body.access_token.length < 384, `${r.body.access_token.length} characters`);
    }
  });

  test('the same 401 whether the user exists or not', async () => {
    const wrong = await call(server.url, 'POST', '/auth/login', {
      body: { username: 'alice', password: 'wrong password' },
    });
    const nobody = await call(server.url, 'POST', '/auth/login', {
      body: { username: 'nobody', password: 'wrong password' },
    });
    const noEmail = await call(server.url, 'POST', '/auth/login', {
      body: { email: 'no@example.com', password: 'wrong password' },
    });
    for (const r of [wrong, nobody, noEmail]) {
      assert.equal(r.status, 401);
      assert.deepEqual(r.body, {
        error: 'invalid_credentials',
        error_description: 'the username, email or password is not right',
      });
    }
  });

  test('/auth/me with the bearer token → the user from the database', async () => {
    const { body } = await call<Tokens>(server.url, 'POST', '/auth/login', {
      body: { username: 'alice', password: alice.password },
    });
    const me = await call<{ user: { username: string } }>(server.url, 'GET', '/auth/me', {
      token: body.access_token,
    });
    assert.equal(me.status, 200);
    assert.equal(me.body.user.username, 'alice');
    const none = await call(server.url, 'GET', '/auth/me');
    assert.equal(none.status, 401);
    // RFC 9449 §7.1: both schemes this server accepts are challenged, Bearer first.
    assert.equal(none.headers.get('www-authenticate'), 'Bearer, DPoP algs="ES256 EdDSA Ed25519"');
    assert.equal(none.body.error, 'invalid_token');
    const forged = `${body.access_token.slice(0, -6)}AAAAAA`;
    const bad = await call(server.url, 'GET', '/auth/me', { token: forged });
    assert.equal(bad.status, 401);
    assert.match(
      bad.headers.get('www-authenticate')!,
      /^Bearer error="invalid_token", error_description="the access token signature is not valid"$/,
    );
    const seedForm = await call(server.url, 'GET', '/auth/me', {
      headers: { authorization: `Bearer: ${body.access_token}` },
    });
    assert.equal(seedForm.status, 400);
    assert.match(seedForm.body.error_description as string, /no colon after "Bearer"/);
  });

  test('refresh rotates: a new pair in the same session (sid)', async () => {
    const login = await call<Tokens>(server.url, 'POST', '/auth/login', {
      body: { username: 'alice', password: alice.password },
    });
    const first = login.body.refresh_token;
    const r1 = await call<Tokens>(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: first },
    });
    assert.equal(r1.status, 200);
    assert.notEqual(r1.body.refresh_token, first);
    assert.notEqual(r1.body.access_token, login.body.access_token);
    assert.equal(
      decodeUnverified(r1.body.access_token).payload.sid,
      decodeUnverified(login.body.access_token).payload.sid,
    );
    const r2 = await call<Tokens>(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: r1.body.refresh_token },
    });
    assert.equal(r2.status, 200);
    const me = await call(server.url, 'GET', '/auth/me', { token: r2.body.access_token });
    assert.equal(me.status, 200);
  });

  test('an access token at /auth/refresh and a refresh token at /auth/me both fail', async () => {
    const { body } = await call<Tokens>(server.url, 'POST', '/auth/login', {
      body: { username: 'alice', password: alice.password },
    });
    const a = await call(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: body.access_token },
    });
    assert.equal(a.status, 401);
    assert.deepEqual(a.body, {
      error: 'invalid_grant',
      error_description: 'that is an access token; send the refresh token',
    });
    const b = await call(server.url, 'GET', '/auth/me', { token: body.refresh_token });
    assert.equal(b.status, 401);
    assert.equal(b.body.error, 'invalid_token');
  });

  test('log out: 204, idempotent, and the refresh token is dead', async () => {
    const { body } = await call<Tokens>(server.url, 'POST', '/auth/login', {
      body: { username: 'alice', password: alice.password },
    });
    for (let i = 0; i < 2; i++) {
      const out = await call(server.url, 'POST', '/auth/logout', {
        body: { refresh_token: body.refresh_token },
      });
      assert.equal(out.status, 204);
    }
    const unknown = await call(server.url, 'POST', '/auth/logout', {
      body: { refresh_token: `rt_${'A'.repeat(43)}` },
    });
    assert.equal(unknown.status, 204);
    const again = await call(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: body.refresh_token },
    });
    assert.equal(again.status, 401);
    assert.equal(again.body.error, 'invalid_grant');
  });

  test('log out everywhere revokes every session of the user, not of others', async () => {
    await call(server.url, 'POST', '/auth/register', {
      body: { username: 'bob', email: 'bob@example.com', password: 'bob password 1' },
    });
    const login = (who: Record<string, string>) =>
      call<Tokens>(server.url, 'POST', '/auth/login', { body: who });
    const [s1, s2, bob] = await Promise.all([
      login({ username: 'alice', password: alice.password }),
      login({ email: 'alice@example.com', password: alice.password }),
      login({ username: 'bob', password: 'bob password 1' }),
    ]);
    const all = await call<{ revoked: number }>(server.url, 'POST', '/auth/logout-all', {
      token: s1.body.access_token,
    });
    assert.equal(all.status, 200);
    assert.ok(all.body.revoked >= 2);
    for (const s of [s1, s2]) {
      const r = await call(server.url, 'POST', '/auth/refresh', {
        body: { refresh_token: s.body.refresh_token },
      });
      assert.equal(r.status, 401);
    }
    const stillBob = await call(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: bob.body.refresh_token },
    });
    assert.equal(stillBob.status, 200);
  });
});

describe('reuse detection, racing tabs and expiry, with an injected clock', () => {
  let server: Running;
  let clock = Date.UTC(2027, 0, 1);
  const user = { username: 'carol', email: 'carol@example.com', password: 'carol password' };
  before(async () => {
    server = await start({ now: () => clock, passwordParams: FAST_ARGON2 });
    await call(server.url, 'POST', '/auth/register', { body: user });
  });
  after(() => server.close());
  const login = () =>
    call<Tokens>(server.url, 'POST', '/auth/login', {
      body: { username: 'carol', password: user.password },
    });
  const refresh = (token: string) =>
    call<Tokens>(server.url, 'POST', '/auth/refresh', { body: { refresh_token: token } });

  test('reuse after the grace window: 401 invalid_grant and the whole family is revoked', async () => {
    const first = (await login()).body.refresh_token;
    const second = (await refresh(first)).body.refresh_token;
    clock += 11_000; // past the 10 s grace
    const reuse = await refresh(first);
    assert.equal(reuse.status, 401);
    assert.equal(reuse.body.error, 'invalid_grant');
    assert.match(reuse.body.error_description as unknown as string, /already used/);
    const legit = await refresh(second);
    assert.equal(legit.status, 401, 'the family was revoked, so the legitimate successor dies too');
  });

  test('two tabs refreshing one token at the same moment both succeed, in one family', async () => {
    const start = await login();
    const sid = decodeUnverified(start.body.access_token).payload.sid;
    const racers = await Promise.all(
      Array.from({ length: 5 }, () => refresh(start.body.refresh_token)),
    );
    for (const r of racers) assert.equal(r.status, 200, JSON.stringify(r.body));
    for (const r of racers) assert.equal(decodeUnverified(r.body.access_token).payload.sid, sid);
    // Every successor keeps working: nobody was logged out.
    for (const r of racers) assert.equal((await refresh(r.body.refresh_token)).status, 200);
  });

  test('access tokens expire after 15 minutes; refresh tokens after 30 days, absolutely', async () => {
    const { body } = await login();
    clock += 14 * 60_000;
    assert.equal(
      (await call(server.url, 'GET', '/auth/me', { token: body.access_token })).status,
      200,
    );
    clock += 60_000;
    const expired = await call(server.url, 'GET', '/auth/me', { token: body.access_token });
    assert.equal(expired.status, 401);
    assert.equal(
      expired.headers.get('www-authenticate'),
      'Bearer error="invalid_token", error_description="the access token has expired"',
    );
    // Keep refreshing every day: the family still ends 30 days after log-in.
    let token = body.refresh_token;
    for (let day = 0; day < 29; day++) {
      clock += 24 * 3600_000;
      const r = await refresh(token);
      assert.equal(r.status, 200);
      token = r.body.refresh_token;
    }
    clock += 24 * 3600_000;
    const late = await refresh(token);
    assert.equal(late.status, 401);
    assert.match(late.body.error_description as unknown as string, /expired/);
  });
});

describe('changing the algorithm rotates the key; tokens of retired keys still verify', () => {
  test('HS256 → EdDSA → HS256 again: every earlier token verifies until it expires', async () => {
    const user = { username: 'rota', email: 'rota@example.com', password: 'rota password' };
    const login = async (url: string) =>
      (
        await call<Tokens>(url, 'POST', '/auth/login', {
          body: { username: user.username, password: user.password },
        })
      ).body.access_token;
    const one = await start({ passwordParams: FAST_ARGON2 });
    await call(one.url, 'POST', '/auth/register', { body: user });
    const hs1 = await login(one.url);
    await one.close({ keepData: true });
    const two = await start({ passwordParams: FAST_ARGON2, alg: 'EdDSA' }, one.dataDir);
    const ed = await login(two.url);
    await two.close({ keepData: true });
    const three = await start({ passwordParams: FAST_ARGON2 }, one.dataDir);
    try {
      const hs2 = await login(three.url);
      assert.equal(decodeUnverified(ed).header.alg, 'EdDSA');
      assert.equal(typeof decodeUnverified(ed).header.kid, 'string');
      assert.equal(decodeUnverified(hs2).header.alg, 'HS256');
      // Two live HMAC secrets and no kid: the server tries each; both tokens verify.
      for (const token of [hs1, ed, hs2]) {
        const me = await call(three.url, 'GET', '/auth/me', { token });
        assert.equal(me.status, 200, JSON.stringify(me.body));
      }
      const forged = `${hs1.slice(0, hs1.lastIndexOf('.'))}.${'A'.repeat(43)}`;
      assert.equal((await call(three.url, 'GET', '/auth/me', { token: forged })).status, 401);
    } finally {
      await three.close();
    }
  });
});

describe('restart persistence', () => {
  test('keys, users and sessions survive a restart', async () => {
    const one = await start({ passwordParams: FAST_ARGON2 });
    await call(one.url, 'POST', '/auth/register', {
      body: { username: 'dave', email: 'dave@example.com', password: 'dave password' },
    });
    const { body } = await call<Tokens>(one.url, 'POST', '/auth/login', {
      body: { username: 'dave', password: 'dave password' },
    });
    await one.close({ keepData: true });
    const two = await start({ passwordParams: FAST_ARGON2 }, one.dataDir);
    try {
      assert.equal(
        (await call(two.url, 'GET', '/auth/me', { token: body.access_token })).status,
        200,
      );
      assert.equal(
        (
          await call(two.url, 'POST', '/auth/refresh', {
            body: { refresh_token: body.refresh_token },
          })
        ).status,
        200,
      );
      assert.equal(
        (
          await call(two.url, 'POST', '/auth/login', {
            body: { username: 'dave', password: 'dave password' },
          })
        ).status,
        200,
      );
    } finally {
      await two.close();
    }
  });
});

describe('asymmetric signing publishes a JWKS', () => {
  for (const alg of ['EdDSA', 'ES256', 'RS256'] as const) {
    test(`${alg}: tokens verify against /.well-known/jwks.json, which holds no private member`, async () => {
      const server = await start({ alg, passwordParams: FAST_ARGON2 });
      try {
        await call(server.url, 'POST', '/auth/register', {
          body: { username: 'erin', email: 'erin@example.com', password: 'erin password' },
        });
        const { body } = await call<Tokens>(server.url, 'POST', '/auth/login', {
          body: { username: 'erin', password: 'erin password' },
        });
        const jwks = await call<{ keys: Array<Record<string, unknown>> }>(
          server.url,
          'GET',
          '/.well-known/jwks.json',
        );
        assert.equal(jwks.status, 200);
        assert.match(jwks.headers.get('cache-control')!, /max-age=\d+/);
        assert.equal(jwks.body.keys.length, 1);
        for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'])
          assert.equal(jwks.body.keys[0]![member], undefined);
        const verify = createVerifier({
          key: jwks.body as Jwks,
          algorithms: [alg],
          issuer: 'http://localhost:3000',
          audience: 'api',
          typ: 'at+jwt',
        });
        assert.equal(verify(body.access_token).header.kid, jwks.body.keys[0]!.kid);
      } finally {
        await server.close();
      }
    });
  }

  test('HS256 publishes an empty key set: the secret never leaves the server', async () => {
    const server = await start({ passwordParams: FAST_ARGON2 });
    try {
      const jwks = await call(server.url, 'GET', '/.well-known/jwks.json');
      assert.deepEqual(jwks.body, { keys: [] });
    } finally {
      await server.close();
    }
  });
});

describe('a store of your own without findRefreshTokenWithUser (it is optional)', () => {
  test('refresh reads the token, then the user: rotation works and a disabled user is refused', async () => {
    const { openSqliteStore } = await import('../../src/store/sqlite.ts');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'laissez-custom-store-'));
    const real = openSqliteStore({ path: join(dir, 'custom.db') });
    const calls: string[] = [];
    // Every Store method but the optional one, each call recorded.
    const custom = new Proxy(real, {
      get(target, name) {
        if (name === 'findRefreshTokenWithUser') return undefined;
        const value = Reflect.get(target, name, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls.push(String(name));
          return value.apply(target, args);
        };
      },
    });
    const server = await start({ store: custom, passwordParams: FAST_ARGON2 });
    try {
      const user = { username: 'carol', email: 'carol@example.com', password: 'carol password 1' };
      assert.equal((await call(server.url, 'POST', '/auth/register', { body: user })).status, 201);
      const login = await call<Tokens>(server.url, 'POST', '/auth/login', {
        body: { username: 'carol', password: user.password },
      });
      calls.length = 0;
      const refreshed = await call<Tokens>(server.url, 'POST', '/auth/refresh', {
        body: { refresh_token: login.body.refresh_token },
      });
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      assert.deepEqual(calls.slice(0, 3), [
        'findRefreshToken',
        'findUserById',
        'rotateRefreshToken',
      ]);
      const stored = await real.findUserByUsername('carol');
      await real.setUserDisabled(stored!.id, true, Date.now());
      const refused = await call<Tokens>(server.url, 'POST', '/auth/refresh', {
        body: { refresh_token: refreshed.body.refresh_token },
      });
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error, 'invalid_grant');
    } finally {
      await server.close();
      await real.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
