// Look-alike usernames (RFC 8265, UTS #39) and weak or breached passwords (NIST SP 800-63B),
// through the HTTP API of a real server on loopback.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

const LIMITS = {
  loginPerIp: { max: 1000, window: 60 },
  loginFailuresPerAccount: { max: 1000, window: 60 },
  registerPerIp: { max: 1000, window: 60 },
};

let server: Running;
let n = 0;
const register = (username: string, password = 'a sturdy passphrase', email?: string) =>
  call(server.url, 'POST', '/auth/register', {
    body: { username, email: email ?? `user${++n}@example.com`, password },
  });

before(async () => {
  server = await start({ passwordParams: FAST_ARGON2, rateLimits: LIMITS });
  assert.equal((await register('odin', 'odin passphrase here', 'odin@example.com')).status, 201);
  assert.equal((await register('straße')).status, 201);
  assert.equal((await register('admin')).status, 201);
  assert.equal((await register('coca')).status, 201);
  assert.equal((await register('opa')).status, 201);
});
after(() => server.close());

describe('look-alike usernames are refused as taken', () => {
  const cases: Array<[string, string]> = [
    ['upper case', 'ODIN'],
    ['fullwidth', '\uFF4F\uFF44\uFF49\uFF4E'],
    ['fullwidth upper case', '\uFF2F\uFF24\uFF29\uFF2E'],
    ['full case folding (ß = ss)', 'STRASSE'],
    ['all Cyrillic соса for coca', '\u0441\u043E\u0441\u0430'],
    ['all Greek ορα for opa', '\u03BF\u03C1\u03B1'],
    ['all Greek upper case ΟΡΑ', '\u039F\u03A1\u0391'],
    ['digit zero for o', '0din'],
    ['mathematical bold', '\u{1D41A}\u{1D41D}\u{1D426}\u{1D422}\u{1D427}'],
  ];
  for (const [what, username] of cases) {
    test(`${what}: ${username} → 409 username_taken, nothing written`, async () => {
      const before = (await server.app.store.listUsers({ limit: 1000 })).length;
      const reply = await register(username);
      assert.equal(reply.status, 409, JSON.stringify(reply.body));
      assert.equal(reply.body['error'], 'username_taken');
      assert.equal((await server.app.store.listUsers({ limit: 1000 })).length, before);
    });
  }

  test('mixed scripts in one name are refused (UTS #39 §5.1), single scripts and CJK mixes are not', async () => {
    for (const mixed of ['p\u0430ypal', 'ab\u03B3de', 'abc\u0434']) {
      const reply = await register(mixed);
      assert.equal(reply.status, 400, mixed);
      assert.equal(reply.body['error'], 'invalid_request');
      assert.match(String(reply.body['error_description']), /one script/);
    }
    for (const single of ['Москва_1', 'Ελληνικά', '日本語ひらがな', '한국어漢字', 'हिन्दी']) {
      assert.equal((await register(single)).status, 201, single);
    }
  });

  test('ODIN and fullwidth ｏｄｉｎ log into odin', async () => {
    for (const username of ['ODIN', '\uFF4F\uFF44\uFF49\uFF4E', 'Odin']) {
      const reply = await call(server.url, 'POST', '/auth/login', {
        body: { username, password: 'odin passphrase here' },
      });
      assert.equal(reply.status, 200, username);
    }
  });

  test('10 concurrent registrations of look-alikes: exactly one account', async () => {
    const forms = ['ovo', 'OVO', '\u03BF\u03BD\u03BF', '0v0', '\uFF4F\uFF56\uFF4F'];
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => register(forms[i % forms.length]!)),
    );
    assert.equal(replies.filter((r) => r.status === 201).length, 1);
    assert.ok(replies.every((r) => r.status === 201 || r.body['error'] === 'username_taken'));
  });
});

describe('weak passwords are refused with weak_password (NIST SP 800-63B §5.1.1.2)', () => {
  const cases: Array<[string, string]> = [
    ['a common password', 'password'],
    ['a common password', '12345678'],
    ['a common password in upper case', 'PASSWORD1'],
    ['eight spaces', '        '],
    ['one repeated character', 'aaaaaaaaaaaa'],
    ['sequential characters', 'abcdefghij'],
    ['built from the username', 'freya2024!'],
    ['built from the email', 'freya.mail123'],
  ];
  for (const [what, password] of cases) {
    test(`${what}: ${JSON.stringify(password)}`, async () => {
      const reply = await register('freya', password, 'freya.mail@example.com');
      assert.equal(reply.status, 400, JSON.stringify(reply.body));
      assert.equal(reply.body['error'], 'weak_password');
      assert.equal(await server.app.store.findUserByUsername('freya'), null);
    });
  }

  test('a long passphrase, and one that merely contains the username, are allowed', async () => {
    assert.equal(
      (await register('sigrun', 'x'.repeat(3) + ' '.repeat(2) + 'y'.repeat(1019))).status,
      201,
    );
    assert.equal((await register('hilda', 'hilda keeps bees in the garden')).status, 201);
  });

  test('a password with a lone surrogate is refused with invalid_request naming password, at register and log-in', async () => {
    const lone = '"my password \\ud800 here"';
    const reg = await call(server.url, 'POST', '/auth/register', {
      body: `{"username":"ingrid","email":"ingrid@example.com","password":${lone}}`,
    });
    assert.equal(reg.status, 400);
    assert.equal(reg.body['error'], 'invalid_request');
    assert.match(String(reg.body['error_description']), /password must be well-formed Unicode/);
    // A password ending in U+FFFD exists; the same with a lone surrogate must not log into it.
    assert.equal((await register('ylva', 'my password \uFFFD here')).status, 201);
    const login = await call(server.url, 'POST', '/auth/login', {
      body: `{"username":"ylva","password":${lone}}`,
    });
    assert.equal(login.status, 400);
    assert.equal(login.body['error'], 'invalid_request');
    assert.match(String(login.body['error_description']), /password/);
  });
});

describe('breached passwords by k-anonymity range query', () => {
  const breached = 'correct horse battery staple 2';
  const sha1 = createHash('sha1').update(breached).digest('hex').toUpperCase();
  let range: Server;
  let rangeUrl: string;
  const asked: string[] = [];

  before(async () => {
    range = createServer((request, response) => {
      asked.push(request.url ?? '');
      const prefix = (request.url ?? '').split('/').pop() ?? '';
      // The Pwned Passwords range format: SUFFIX:COUNT per line, padding entries with count 0.
      const lines = ['0018A45C4D1DEF81644B54AB7F969B88D65:3', `${'F'.repeat(35)}:0`];
      if (prefix === sha1.slice(0, 5)) lines.push(`${sha1.slice(5)}:42`);
      response.end(lines.join('\r\n'));
    });
    await new Promise<void>((resolve) => range.listen(0, '127.0.0.1', resolve));
    rangeUrl = `http://127.0.0.1:${(range.address() as AddressInfo).port}/range`;
  });
  after(() => new Promise<void>((resolve) => range.close(() => resolve())));

  test('a listed password is refused; only the 5-character prefix is sent; others pass', async () => {
    const checked = await start({
      passwordParams: FAST_ARGON2,
      rateLimits: LIMITS,
      breachedPasswords: { url: rangeUrl, timeout: 2000 },
    });
    try {
      const refused = await call(checked.url, 'POST', '/auth/register', {
        body: { username: 'astrid', email: 'astrid@example.com', password: breached },
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.body['error'], 'weak_password');
      assert.deepEqual(asked, [`/range/${sha1.slice(0, 5)}`]);
      const fine = await call(checked.url, 'POST', '/auth/register', {
        body: { username: 'astrid', email: 'astrid@example.com', password: `${breached}!` },
      });
      assert.equal(fine.status, 201);
    } finally {
      await checked.close();
    }
  });

  test('an unreachable service: the password is allowed and a warning logged without it', async () => {
    const logs: string[] = [];
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/range`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const checked = await start({
      passwordParams: FAST_ARGON2,
      rateLimits: LIMITS,
      breachedPasswords: { url: deadUrl, timeout: 500 },
    });
    // The warning goes through the server's logger: listen to it there.
    checked.app.log.warn = ((message: string) => {
      logs.push(String(message));
    }) as typeof checked.app.log.warn;
    try {
      const reply = await call(checked.url, 'POST', '/auth/register', {
        body: { username: 'sif', email: 'sif@example.com', password: breached },
      });
      assert.equal(reply.status, 201);
      const warning = logs.find((line) => /breached-password service/.test(line));
      assert.ok(warning, logs.join('\n'));
      assert.ok(!warning.includes(breached));
      assert.ok(!warning.includes(sha1.slice(0, 5)));
    } finally {
      await checked.close();
    }
  });
});
