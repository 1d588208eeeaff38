// Look-alike usernames beyond width, case and confusables.txt (docs/security.md, "Look-alike
// usernames"): combining marks a letter hides or that pile up (UTS #39 §5.4), and names with no
// letter or digit at all. Over real HTTP.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

let emails = 0;
const register = (server: Running, username: string) =>
  call(server.url, 'POST', '/auth/register', {
    body: { username, email: `look${++emails}@example.com`, password: 'a long pass phrase here' },
    // An address of its own each time: the registration limit is not what is tested here.
    headers: { 'x-forwarded-for': `192.0.2.${emails}` },
  });

describe('look-alike usernames: combining marks and punctuation', () => {
  let server: Running;
  before(async () => {
    server = await start({ passwordParams: FAST_ARGON2, trustProxy: '127.0.0.1' });
    assert.equal((await register(server, 'admin')).status, 201);
    assert.equal((await register(server, 'odin')).status, 201);
  });
  after(async () => {
    await server.close();
  });

  const refused: [string, string][] = [
    ['i + U+0307 (a dot the i already has): looks like admin', 'admi\u0307n'],
    ['j + U+0307', 'jo\u0301j\u0307'],
    ['i + U+0323 + U+0307 (reordered by NFD, still hidden)', 'odi\u0323\u0307n'],
    ['one mark twice', 'odi\u0301\u0301n'],
    ['30 stacked marks', `ab${'\u0300\u0301\u0302'.repeat(10)}`],
    ['five different marks on one letter', 'odin\u0300\u0301\u0302\u0303\u0304'],
    ['dots only', '...'],
    ['hyphens only', '---'],
    ['underscores only', '___'],
  ];
  for (const [what, name] of refused) {
    test(`refused: ${what}`, async () => {
      const reply = await register(server, name);
      assert.equal(reply.status, 400, `${JSON.stringify(name)} got ${reply.status}`);
      assert.equal(reply.body.error, 'invalid_request');
    });
  }

  const allowed: [string, string][] = [
    ['a precomposed accent', 'caf\u00e9'],
    ['the same accent decomposed', 'zo\u0065\u0301'],
    ['Vietnamese, two marks on one letter', 'nguy\u1ec5n'],
    ['Turkish dotted capital I', '\u0130lker'],
    ['punctuation with letters', 'a.b-c_d'],
  ];
  for (const [what, name] of allowed) {
    test(`allowed: ${what}`, async () => {
      const reply = await register(server, name);
      assert.equal(reply.status, 201, `${JSON.stringify(name)}: ${JSON.stringify(reply.body)}`);
    });
  }
});
