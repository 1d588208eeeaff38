// Bodies that are not UTF-8 (docs/security.md, "Look-alike usernames" and "Guessing passwords"):
// decoded with replacement, `abc\xff\xfedefgh` and `abc\xfe\xffdefgh` were one password (both
// `abc\uFFFD\uFFFDdefgh`), and a name with a stray byte was another spelling of a registered one.
// Over real HTTP with the raw bytes, at register and log-in (RFC 8259 §8.1).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

/** POSTs `parts` (strings as UTF-8, numbers as raw bytes) as an application/json body. */
async function postRaw(server: Running, path: string, parts: (string | number[])[]) {
  const body = Buffer.concat(
    parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))),
  );
  const response = await fetch(server.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.7' },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('JSON bodies must be UTF-8', () => {
  let server: Running;
  before(async () => {
    server = await start({ passwordParams: FAST_ARGON2, trustProxy: '127.0.0.1' });
    // The password as U+FFFD would have decoded it: a replacement-decoding server stores this.
    const created = await call(server.url, 'POST', '/auth/register', {
      body: { username: 'utf8user', email: 'utf8@example.com', password: 'abc\uFFFD\uFFFDdefgh' },
    });
    assert.equal(created.status, 201);
  });
  after(async () => {
    await server.close();
  });

  test('log-in with invalid bytes in the password: 400, not a log-in with U+FFFD', async () => {
    for (const bytes of [
      [0xff, 0xfe],
      [0xfe, 0xff],
      [0xc0, 0xaf], // an overlong "/" (RFC 3629 §10)
      [0xed, 0xa0, 0x80], // a UTF-16 surrogate written as UTF-8 (CESU-8)
    ]) {
      const reply = await postRaw(server, '/auth/login', [
        '{"username":"utf8user","password":"abc',
        bytes,
        'defgh"}',
      ]);
      assert.equal(reply.status, 400, `bytes ${bytes}: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error, 'invalid_request');
      assert.match(String(reply.body.error_description), /body.*UTF-8/);
    }
  });

  test('register with invalid bytes in the username or password: 400', async () => {
    const name = await postRaw(server, '/auth/register', [
      '{"username":"adm',
      [0xff],
      'in","email":"x1@example.com","password":"a long pass phrase here"}',
    ]);
    assert.equal(name.status, 400);
    assert.equal(name.body.error, 'invalid_request');
    assert.match(String(name.body.error_description), /body.*UTF-8/);
    const password = await postRaw(server, '/auth/register', [
      '{"username":"someone","email":"x2@example.com","password":"a long pass ',
      [0x80],
      'phrase"}',
    ]);
    assert.equal(password.status, 400);
    assert.equal(password.body.error, 'invalid_request');
  });

  test('valid UTF-8 (a BOM, multi-byte letters) still parses', async () => {
    const reply = await postRaw(server, '/auth/login', [
      [0xef, 0xbb, 0xbf],
      '{"username":"utf8user","password":"abc\u{FFFD}\u{FFFD}defgh"}',
    ]);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const accented = await postRaw(server, '/auth/register', [
      '{"username":"zoë","email":"zoe@example.com","password":"a long pass phrase here"}',
    ]);
    assert.equal(accented.status, 201, JSON.stringify(accented.body));
  });

  test('JSON that is still not valid, and prototype poisoning, are refused as before', async () => {
    const broken = await postRaw(server, '/auth/login', ['{"username":']);
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error_description, 'the body is not valid JSON');
    const proto = await postRaw(server, '/auth/login', [
      '{"username":"a","password":"b","__proto__":{"x":1}}',
    ]);
    assert.equal(proto.status, 400);
    assert.equal(proto.body.error, 'invalid_request');
  });
});
