// Bad input of every kind gets a 4xx with a clear error, and changes nothing in the database.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ERROR_CATALOGUE } from '../../src/server/index.ts';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';
import { exchange, type RawAnswer } from '../helpers/wire.ts';

let server: Running;
const valid = { username: 'frank', email: 'frank@example.com', password: 'frank password' };
const count = async () => (await server.app.store.listUsers({ limit: 1000 })).length;

before(async () => {
  server = await start({
    passwordParams: FAST_ARGON2,
    rateLimits: {
      loginPerIp: { max: 1000, window: 60 },
      loginFailuresPerAccount: { max: 3, window: 60 },
      registerPerIp: { max: 1000, window: 60 },
    },
  });
  assert.equal((await call(server.url, 'POST', '/auth/register', { body: valid })).status, 201);
});
after(() => server.close());

describe('register: every bad body is a 400 naming the field, and nothing is written', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['missing password', { username: 'x1y', email: 'a@b.co' }, /password is required/],
    ['missing everything', {}, /is required/],
    ['username a number', { ...valid, username: 12345 }, /username must be string/],
    [
      'password an array',
      { ...valid, username: 'gee1', password: ['a'] },
      /password must be string/,
    ],
    ['email null', { ...valid, email: null }, /email must be string/],
    [
      'short password',
      { ...valid, username: 'gee2', email: 'gee2@example.com', password: 'short' },
      /password must NOT have fewer than 8/,
    ],
    [
      'long password',
      { ...valid, username: 'gee3', email: 'gee3@example.com', password: 'p'.repeat(1025) },
      /password must NOT have more than 1024/,
    ],
    ['short username', { ...valid, username: 'ab' }, /username/],
    ['username with a space', { ...valid, username: 'a b c' }, /username must be 3 to 32 letters/],
    [
      'username with a zero-width joiner',
      { ...valid, username: 'ad\u200dmin' },
      /username must be 3 to 32 letters/,
    ],
    ['username with an emoji', { ...valid, username: 'cat🐈' }, /username must be 3 to 32 letters/],
    [
      'username with a control character',
      { ...valid, username: 'abc\u0000' },
      /username must be 3 to 32 letters/,
    ],
    ['SQL in the username', { ...valid, username: "x'; DROP TABLE users;--" }, /username/],
    [
      'SQL in the email',
      { ...valid, username: 'sqlmail', email: "a'--@x.co OR 1=1" },
      /email must be an address/,
    ],
    [
      'email without @',
      { ...valid, username: 'aitch1', email: 'frank.example.com' },
      /email must be an address/,
    ],
    [
      'unknown field',
      { ...valid, username: 'aitch2', email: 'aitch2@example.com', admin: true },
      /unknown field "admin"/,
    ],
    [
      'roles cannot be chosen',
      { ...valid, username: 'aitch3', email: 'aitch3@example.com', roles: ['admin'] },
      /unknown field "roles"/,
    ],
    ['body an array', [valid], /the body must be a JSON object/],
    ['body a string', '"frank"', /the body must be a JSON object/],
  ];
  for (const [name, body, message] of cases) {
    test(name, async () => {
      const before = await count();
      const r = await call(server.url, 'POST', '/auth/register', {
        body: typeof body === 'string' ? body : body,
      });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error, 'invalid_request');
      assert.match(r.body.error_description as string, message);
      assert.equal(await count(), before);
    });
  }

  test('SQL-looking passwords are just passwords', async () => {
    const body = {
      username: 'mallory',
      email: 'mallory@example.com',
      password: "' OR '1'='1'; --",
    };
    assert.equal((await call(server.url, 'POST', '/auth/register', { body })).status, 201);
    assert.equal(
      (
        await call(server.url, 'POST', '/auth/login', {
          body: { username: 'mallory', password: body.password },
        })
      ).status,
      200,
    );
    assert.equal(
      (
        await call(server.url, 'POST', '/auth/login', {
          body: { username: 'mallory', password: "' OR 1=1 --" },
        })
      ).status,
      401,
    );
  });

  test('Unicode: NFC and NFD spellings are one username; passwords are taken exactly as typed', async () => {
    const nfc = 'Zoë';
    const nfd = 'Zoe\u0308';
    assert.equal(
      (
        await call(server.url, 'POST', '/auth/register', {
          body: { username: nfc, email: 'zoe@example.com', password: 'pässwörd 🔑' },
        })
      ).status,
      201,
    );
    const dup = await call(server.url, 'POST', '/auth/register', {
      body: { username: nfd, email: 'zoe2@example.com', password: 'whatever123' },
    });
    assert.equal(dup.status, 409);
    assert.equal(
      (
        await call(server.url, 'POST', '/auth/login', {
          body: { username: nfd.toUpperCase(), password: 'pässwörd 🔑' },
        })
      ).status,
      200,
    );
    const spaced = await call(server.url, 'POST', '/auth/login', {
      body: { username: nfc, password: 'pässwörd 🔑 ' },
    });
    assert.equal(spaced.status, 401, 'a trailing space is part of the password');
  });
});

describe('conflicts', () => {
  test('a taken username (any case) or email is 409 with the field', async () => {
    const a = await call(server.url, 'POST', '/auth/register', {
      body: { ...valid, username: 'FRANK', email: 'other@example.com' },
    });
    assert.equal(a.status, 409);
    assert.equal(a.body.error, 'username_taken');
    const b = await call(server.url, 'POST', '/auth/register', {
      body: { ...valid, username: 'frank2', email: 'FRANK@example.com' },
    });
    assert.equal(b.status, 409);
    assert.equal(b.body.error, 'email_taken');
  });

  test('twenty concurrent registrations of one username: exactly one 201', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(server.url, 'POST', '/auth/register', {
          body: { username: 'racer', email: `racer${i}@example.com`, password: 'racer password' },
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, ...Array(19).fill(409)]);
    assert.ok(await server.app.store.findUserByUsername('racer'));
  });
});

describe('HTTP-level bad input', () => {
  test('invalid JSON is 400, not 500', async () => {
    for (const raw of ['{"username": "x",', '{username: x}', 'null', '']) {
      const r = await call(server.url, 'POST', '/auth/register', {
        body: raw,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(r.status, 400, raw);
      assert.equal(r.body.error, 'invalid_request');
    }
  });

  test('a body that is not JSON is 415', async () => {
    const r = await call(server.url, 'POST', '/auth/login', {
      body: 'username=frank&password=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(r.status, 415);
    assert.equal(r.body.error, 'unsupported_media_type');
  });

  test('a huge body is 413 and nothing is written', async () => {
    const before = await count();
    const r = await call(server.url, 'POST', '/auth/register', {
      body: { ...valid, username: 'huge', password: 'x'.repeat(100_000) },
    });
    assert.equal(r.status, 413);
    assert.equal(r.body.error, 'payload_too_large');
    assert.equal(await count(), before);
  });

  test('an unknown route is 404 in the same shape', async () => {
    const r = await call(server.url, 'GET', '/nope');
    assert.equal(r.status, 404);
    assert.equal(r.body.error, 'not_found');
  });

  test('log-in with both username and email, or neither, is 400', async () => {
    for (const body of [
      { password: 'x' },
      { username: 'frank', email: 'frank@example.com', password: 'frank password' },
    ]) {
      const r = await call(server.url, 'POST', '/auth/login', { body });
      assert.equal(r.status, 400);
    }
  });

  test('error bodies never carry a stack, a hash or the password', async () => {
    const r = await call(server.url, 'POST', '/auth/login', {
      body: { username: 'frank', password: 'frank wrong password' },
    });
    const text = JSON.stringify(r.body);
    assert.ok(!/argon2|stack|at .*\.ts|frank wrong password/.test(text), text);
  });
});

describe('errors raised before any route answer in the API shape too', () => {
  /** The answer's body is exactly `{error, error_description}` with the catalogued status. */
  const expectShape = (answer: RawAnswer, code: keyof typeof ERROR_CATALOGUE) => {
    assert.equal(answer.status, ERROR_CATALOGUE[code].status, answer.head);
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description'], answer.body);
    assert.equal(body.error, code);
    assert.match(answer.head, /^content-type: application\/json/im);
  };

  test('headers over 16 KiB are 431 headers_too_large', async () => {
    const big = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    expectShape(await exchange(server.url, big), 'headers_too_large');
    const longUrl = `GET /auth/me?q=${'b'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`;
    expectShape(await exchange(server.url, longUrl), 'headers_too_large');
  });

  test('bytes the HTTP parser refuses are 400 invalid_request', async () => {
    for (const bytes of [
      'GET /healthz HTTP/1.1\r\nHost: x\r\nNot a header\r\n\r\n',
      'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: twelve\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
      'BREW /pot HTCPCP/1.0\r\n\r\n',
    ]) {
      expectShape(await exchange(server.url, bytes), 'invalid_request');
    }
  });

  test('a path that cannot be decoded is 400 invalid_request', async () => {
    const answer = await exchange(
      server.url,
      'GET /auth/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expectShape(answer, 'invalid_request');
  });

  test('a text/plain body is 415, as documented', async () => {
    const r = await call(server.url, 'POST', '/auth/login', {
      body: JSON.stringify({ username: 'frank', password: 'frank password' }),
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(r.status, 415, JSON.stringify(r.body));
    assert.deepEqual(r.body, {
      error: 'unsupported_media_type',
      error_description: 'send the body as application/json',
    });
  });

  test('a body over the limit is 413, announced or chunked', async () => {
    const announced = await exchange(
      server.url,
      'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
    );
    expectShape(announced, 'payload_too_large');
    const chunk = 'a'.repeat(20_000);
    const chunked = await exchange(
      server.url,
      `POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
    );
    expectShape(chunked, 'payload_too_large');
  });
});

describe('rate limits', () => {
  test('failed log-ins lock the account with 429 and Retry-After, whether or not it exists', async () => {
    const victim = { username: 'victim', email: 'victim@example.com', password: 'victim password' };
    assert.equal((await call(server.url, 'POST', '/auth/register', { body: victim })).status, 201);
    for (const username of ['victim', 'ghost-user']) {
      for (let i = 0; i < 3; i++) {
        assert.equal(
          (
            await call(server.url, 'POST', '/auth/login', {
              body: { username, password: 'wrong password' },
            })
          ).status,
          401,
        );
      }
      const locked = await call(server.url, 'POST', '/auth/login', {
        body: { username, password: victim.password },
      });
      assert.equal(locked.status, 429);
      assert.equal(locked.body.error, 'too_many_requests');
      assert.ok(Number(locked.headers.get('retry-after')) > 0);
    }
  });

  test('log-ins per IP are limited', async () => {
    const tight = await start({
      passwordParams: FAST_ARGON2,
      rateLimits: {
        loginPerIp: { max: 2, window: 60 },
        loginFailuresPerAccount: { max: 100, window: 60 },
        registerPerIp: { max: 1, window: 60 },
      },
    });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++)
        statuses.push(
          (
            await call(tight.url, 'POST', '/auth/login', {
              body: { username: `u${i}`, password: 'whatever1' },
            })
          ).status,
        );
      assert.deepEqual(statuses, [401, 401, 429]);
      const reg = [];
      for (let i = 0; i < 2; i++)
        reg.push(
          (
            await call(tight.url, 'POST', '/auth/register', {
              body: {
                username: `reg${i}`,
                email: `reg${i}@example.com`,
                password: 'whatever1 registered',
              },
            })
          ).status,
        );
      assert.deepEqual(reg, [201, 429]);
    } finally {
      await tight.close();
    }
  });
});

describe('the error catalogue', () => {
  test('every code is documented in docs/server.md with its status', () => {
    const docs = readFileSync(new URL('../../../../docs/server.md', import.meta.url), 'utf8');
    const rows = [...docs.matchAll(/^\| `([a-z_]+)` +\| (\d{3}) +\|/gm)];
    // A code with two rows would collapse in the map below: the table has one row per code.
    const codes = rows.map((m) => m[1]!);
    assert.deepEqual(
      codes.filter((code, i) => codes.indexOf(code) !== i),
      [],
      'codes with more than one row',
    );
    const documented = new Map(rows.map((m) => [m[1]!, Number(m[2])]));
    assert.deepEqual(
      [...documented.entries()].sort(),
      Object.entries(ERROR_CATALOGUE)
        .map(([code, { status }]) => [code, status])
        .sort(),
    );
  });

  test('the OpenAPI document lists every route', async () => {
    const r = await call<{ openapi: string; paths: Record<string, unknown> }>(
      server.url,
      'GET',
      '/openapi.json',
    );
    assert.equal(r.status, 200);
    assert.match(r.body.openapi, /^3\./);
    for (const path of [
      '/auth/register',
      '/auth/login',
      '/auth/refresh',
      '/auth/logout',
      '/auth/logout-all',
      '/auth/me',
      '/admin/users/{id}/app-metadata',
      '/auth/passkeys/register/options',
      '/auth/passkeys/register',
      '/auth/passkeys',
      '/auth/passkeys/{id}',
      '/auth/passkeys/login/options',
      '/auth/passkeys/login',
      '/auth/mfa/verify',
      '/auth/mfa/passkey/options',
      '/.well-known/jwks.json',
      '/healthz',
    ]) {
      assert.ok(path in r.body.paths, path);
    }
  });
});
