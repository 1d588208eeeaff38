// The auth domain keys every client address itself (src/auth/addresses.ts), so whatever calls it
// (the HTTP server, an administrator's tool calling `unlock`, an embedding app) can pass an
// address in any spelling: `unlock` with another spelling of the guesser's /64 lifts the budget
// the log-ins spent, and the domain's own limits do not count `::ffff:192.0.2.9` apart from
// `192.0.2.9` (docs/security.md, "Proxies and client addresses" and "Guessing passwords").
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AuthServiceError } from '../../src/auth/errors.ts';
import { DEFAULT_RATE_LIMITS } from '../../src/auth/limits.ts';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

const PER_CLIENT = DEFAULT_RATE_LIMITS.loginFailuresPerClient.max; // 5
const PASSWORD = 'a long pass phrase here';

describe('client addresses keyed by the domain', () => {
  let server: Running;
  let userId: string;
  before(async () => {
    server = await start({ passwordParams: FAST_ARGON2, trustProxy: '127.0.0.1' });
    const created = await call<{ user: { id: string } }>(server.url, 'POST', '/auth/register', {
      body: { username: 'unlockme', email: 'unlock@example.com', password: PASSWORD },
    });
    assert.equal(created.status, 201);
    userId = created.body.user.id;
  });
  after(async () => {
    await server.close();
  });

  const login = (password: string, client: string) =>
    call(server.url, 'POST', '/auth/login', {
      body: { username: 'unlockme', password },
      headers: { 'x-forwarded-for': client },
    });

  test('unlock with another spelling of the IPv6 client lifts its budget', async () => {
    for (let i = 0; i < PER_CLIENT; i++) {
      assert.equal((await login('wrong password', '2001:db8:1:2::5')).status, 401);
    }
    assert.equal((await login(PASSWORD, '2001:db8:1:2::5')).status, 429);
    // Upper case, zeros written out, another address of the same /64, in brackets.
    await server.app.auth.unlock(userId, { ip: '[2001:DB8:1:2:0:0:0:7]' });
    const after = await login(PASSWORD, '2001:db8:1:2::5');
    assert.equal(after.status, 200, JSON.stringify(after.body));
  });

  test("the domain's log-in budget counts an IPv4-mapped spelling as the IPv4 address", async () => {
    const auth = server.app.auth;
    const failures: string[] = [];
    for (let i = 0; i < PER_CLIENT + 1; i++) {
      const ip = i % 2 === 0 ? '192.0.2.9' : '::ffff:192.0.2.9';
      try {
        await auth.login({ username: 'unlockme', password: 'wrong password', ip });
      } catch (error) {
        assert.ok(error instanceof AuthServiceError);
        failures.push(error.code);
      }
    }
    // Five wrong passwords, then the sixth refused whichever way the address is written.
    assert.deepEqual(failures.slice(0, PER_CLIENT), Array(PER_CLIENT).fill('invalid_credentials'));
    assert.equal(failures[PER_CLIENT], 'too_many_requests');
    await auth.unlock(userId, { ip: '::FFFF:c000:0209' });
    const result = await auth.login({ username: 'unlockme', password: PASSWORD, ip: '192.0.2.9' });
    assert.equal(result.user.id, userId);
  });

  test('registration from two spellings of one address shares its allowance', async () => {
    const auth = server.app.auth;
    const max = DEFAULT_RATE_LIMITS.registerPerIp.max;
    let refused = 0;
    for (let i = 0; i < max + 2; i++) {
      const ip = i % 2 === 0 ? '2001:db8:9::1' : `2001:0db8:0009:0:${i}::`;
      try {
        await auth.register({
          username: `reg${i}x`,
          email: `reg${i}@example.com`,
          password: PASSWORD,
          ip,
        });
      } catch (error) {
        assert.ok(error instanceof AuthServiceError);
        assert.equal(error.code, 'too_many_requests');
        refused++;
      }
    }
    assert.equal(refused, 2);
  });
});
