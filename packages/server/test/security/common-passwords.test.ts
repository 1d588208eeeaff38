// Common passwords in disguise (docs/security.md, "Guessing passwords"): a listed password padded
// with spaces or typed in fullwidth letters is the same guess, and is refused at registration
// like the listed one. Over real HTTP.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

let users = 0;
const register = (server: Running, password: string) =>
  call(server.url, 'POST', '/auth/register', {
    body: { username: `pw${++users}x`, email: `pw${users}@example.com`, password },
    headers: { 'x-forwarded-for': `192.0.2.${users}` },
  });

describe('common passwords in disguise', () => {
  let server: Running;
  before(async () => {
    server = await start({ passwordParams: FAST_ARGON2, trustProxy: '127.0.0.1' });
  });
  after(async () => {
    await server.close();
  });

  const refused: [string, string][] = [
    ['the listed password', 'password'],
    ['padded with 8 spaces', `password${' '.repeat(8)}`],
    ['spaces before and after', '  password  '],
    ['fullwidth', '\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44'],
    ['fullwidth capitals', '\uff30\uff21\uff33\uff33\uff37\uff2f\uff32\uff24'],
    ['an ideographic space after', 'iloveyou\u3000'],
  ];
  for (const [what, password] of refused) {
    test(`refused: ${what}`, async () => {
      const reply = await register(server, password);
      assert.equal(reply.status, 400, `${JSON.stringify(password)}: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error, 'weak_password');
    });
  }

  test('a phrase that only contains a listed password is allowed', async () => {
    const reply = await register(server, 'password in a longer phrase');
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
  });
});
