// Guessing passwords over real HTTP (docs/security.md, "Guessing passwords"): concurrent guesses
// never get past a budget, username and email share one, one address cannot lock an account for
// everyone else, the owner's device still gets in while strangers are locked out, and unlock()
// lifts the lock. Default limits and default argon2id parameters, as a deployment has them: a slow
// hash is what gives concurrent guesses room to race.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_RATE_LIMITS } from '../../src/auth/limits.ts';
import { DEVICE_COOKIE } from '../../src/server/routes.ts';
import { type Reply, type Running, start } from '../helpers/server.ts';

const PER_CLIENT = DEFAULT_RATE_LIMITS.loginFailuresPerClient.max; // 5
const PER_ACCOUNT = DEFAULT_RATE_LIMITS.loginFailuresPerAccount.max; // 10
const PER_DEVICE = DEFAULT_RATE_LIMITS.loginFailuresPerDevice.max; // 5

let accounts = 0;
function account(name: string) {
  const username = `${name}${++accounts}`;
  return { username, email: `${username}@example.com`, password: `${username} pass phrase` };
}

/** What a log-in sends: the username and the password. */
const creds = (user: { username: string; password: string }) => ({
  username: user.username,
  password: user.password,
});

let addresses = 0;
/** A client address of its own (X-Forwarded-For, from a proxy on loopback the server trusts). */
const nextIp = () => `198.51.${100 + (++addresses >> 8)}.${addresses & 255}`;

interface Attempt {
  username?: string;
  email?: string;
  password: string;
  device_token?: string;
}

async function logIn(
  server: Running,
  body: Attempt,
  options: { ip: string; cookie?: string },
): Promise<Reply & { setCookie: string[] }> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-forwarded-for': options.ip,
  };
  if (options.cookie) headers.cookie = options.cookie;
  const response = await fetch(`${server.url}/auth/login`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : {},
    setCookie: response.headers.getSetCookie(),
  };
}

async function register(server: Running, user: ReturnType<typeof account>): Promise<string> {
  const response = await fetch(`${server.url}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': nextIp() },
    body: JSON.stringify(user),
  });
  assert.equal(response.status, 201);
  return ((await response.json()) as { user: { id: string } }).user.id;
}

const statusCounts = (replies: { status: number }[]) => {
  const counts: Record<number, number> = {};
  for (const { status } of replies) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
};

describe('guessing passwords, token mode', () => {
  let server: Running;
  before(async () => {
    server = await start({ trustProxy: '127.0.0.1' });
  });
  after(async () => {
    await server.close();
  });

  for (const exists of [true, false]) {
    test(`30 concurrent wrong guesses from one address: ${PER_CLIENT} are checked, the rest 429 (${exists ? 'an account' : 'a name no account has'})`, async () => {
      const user = account('racer');
      if (exists) await register(server, user);
      const ip = nextIp();
      const replies = await Promise.all(
        Array.from({ length: 30 }, () =>
          logIn(server, { username: user.username, password: 'a wrong password' }, { ip }),
        ),
      );
      assert.deepEqual(statusCounts(replies), { 401: PER_CLIENT, 429: 30 - PER_CLIENT });
      for (const reply of replies) {
        if (reply.status === 401) {
          assert.equal(reply.body.error, 'invalid_credentials');
          continue;
        }
        assert.equal(reply.body.error, 'too_many_requests');
        const retryAfter = Number(reply.headers.get('retry-after'));
        assert.ok(retryAfter > 14 * 60 && retryAfter <= 15 * 60, `Retry-After ${retryAfter}`);
      }
    });

    test(`30 concurrent wrong guesses from 30 addresses: ${PER_ACCOUNT} are checked, the rest 429 (${exists ? 'an account' : 'a name no account has'})`, async () => {
      const user = account('swarm');
      if (exists) await register(server, user);
      const replies = await Promise.all(
        Array.from({ length: 30 }, () =>
          logIn(
            server,
            { username: user.username, password: 'a wrong password' },
            { ip: nextIp() },
          ),
        ),
      );
      assert.deepEqual(statusCounts(replies), { 401: PER_ACCOUNT, 429: 30 - PER_ACCOUNT });
    });
  }

  test('username and email of one account share one budget', async () => {
    const user = account('twin');
    await register(server, user);
    // From one address: half the guesses by username, half by email.
    const ip = nextIp();
    const statuses = [];
    for (let i = 0; i < PER_CLIENT; i++) {
      const name = i % 2 === 0 ? { username: user.username } : { email: user.email.toUpperCase() };
      statuses.push(
        (await logIn(server, { ...name, password: 'a wrong password' }, { ip })).status,
      );
    }
    assert.deepEqual(statuses, Array(PER_CLIENT).fill(401));
    for (const name of [{ username: user.username }, { email: user.email }]) {
      const reply = await logIn(server, { ...name, password: user.password }, { ip });
      assert.equal(reply.status, 429, JSON.stringify(reply.body));
    }
    // From many addresses: the account-wide budget is shared by both names too.
    const other = account('twin');
    await register(server, other);
    for (let i = 0; i < PER_ACCOUNT; i++) {
      const name = i % 2 === 0 ? { username: other.username } : { email: other.email };
      const reply = await logIn(
        server,
        { ...name, password: 'a wrong password' },
        { ip: nextIp() },
      );
      assert.equal(reply.status, 401);
    }
    for (const name of [{ username: other.username }, { email: other.email }]) {
      const reply = await logIn(server, { ...name, password: other.password }, { ip: nextIp() });
      assert.equal(reply.status, 429, JSON.stringify(reply.body));
      assert.match(String(reply.body.error_description), /failed log-ins for this account/);
    }
  });

  test('one address cannot lock an account for everyone else', async () => {
    const user = account('target');
    await register(server, user);
    const attacker = nextIp();
    const statuses = [];
    for (let i = 0; i < 2 * PER_CLIENT; i++) {
      const wrong = { username: user.username, password: `wrong ${i}` };
      statuses.push((await logIn(server, wrong, { ip: attacker })).status);
    }
    assert.deepEqual(statuses, [...Array(PER_CLIENT).fill(401), ...Array(PER_CLIENT).fill(429)]);
    // The owner, from another address and without a device token, still gets in.
    const owner = await logIn(server, creds(user), { ip: nextIp() });
    assert.equal(owner.status, 200, JSON.stringify(owner.body));
  });

  test('the owner with a device token gets in while guessers have locked the account for strangers', async () => {
    const user = account('owner');
    await register(server, user);
    const home = nextIp();
    const first = await logIn(server, creds(user), { ip: home });
    assert.equal(first.status, 200);
    const device = first.body.device_token;
    assert.equal(typeof device, 'string');
    assert.deepEqual(first.setCookie, [], 'no cookie outside cookie mode');

    // Guessers from two addresses spend the budget shared by unknown clients.
    const guessers = [nextIp(), nextIp()];
    for (let i = 0; i < PER_ACCOUNT; i++) {
      const ip = guessers[i % 2]!;
      const reply = await logIn(
        server,
        { username: user.username, password: `guess ${i}` },
        { ip },
      );
      assert.equal(reply.status, 401, JSON.stringify(reply.body));
    }
    // Any client without the device token is refused, even with the right password...
    const stranger = await logIn(server, creds(user), { ip: nextIp() });
    assert.equal(stranger.status, 429);
    const sameAddress = await logIn(server, creds(user), { ip: home });
    assert.equal(sameAddress.status, 429, 'the address alone is not a device');
    // ...but the owner's device gets in, from anywhere, and is given a fresh token.
    const owner = await logIn(
      server,
      { ...creds(user), device_token: String(device) },
      { ip: nextIp() },
    );
    assert.equal(owner.status, 200, JSON.stringify(owner.body));
    assert.equal(typeof owner.body.device_token, 'string');
    assert.notEqual(owner.body.device_token, device);

    // A device token of another account, a forged or a truncated one: not a device of this account.
    const other = account('other');
    await register(server, other);
    const otherDevice = String(
      (await logIn(server, creds(other), { ip: nextIp() })).body.device_token,
    );
    const forged = `${String(device).slice(0, -3)}${String(device).endsWith('AAA') ? 'BBB' : 'AAA'}`;
    for (const token of [otherDevice, forged, String(device).slice(0, 40)]) {
      const reply = await logIn(server, { ...creds(user), device_token: token }, { ip: nextIp() });
      assert.equal(reply.status, 429, `${token}: ${JSON.stringify(reply.body)}`);
    }
    // An over-long one is refused by the schema.
    const long = await logIn(
      server,
      { ...creds(user), device_token: 'x'.repeat(1000) },
      { ip: nextIp() },
    );
    assert.equal(long.status, 400);
  });

  test('a device token that keeps failing is locked out itself, and only it', async () => {
    const user = account('stolen');
    await register(server, user);
    const owner = await logIn(server, creds(user), { ip: nextIp() });
    const stolen = String(owner.body.device_token);
    const mine = String((await logIn(server, creds(user), { ip: nextIp() })).body.device_token);
    // Concurrent guesses with the stolen token: at most the device's budget is checked.
    const ip = nextIp();
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        logIn(
          server,
          { username: user.username, password: `guess ${i}`, device_token: stolen },
          { ip },
        ),
      ),
    );
    assert.deepEqual(statusCounts(replies), { 401: PER_DEVICE, 429: 12 - PER_DEVICE });
    const locked = await logIn(server, { ...creds(user), device_token: stolen }, { ip: nextIp() });
    assert.equal(locked.status, 429, 'the locked device is refused, right password or not');
    // The owner's other device, and clients without a token, are unaffected.
    assert.equal(
      (await logIn(server, { ...creds(user), device_token: mine }, { ip: nextIp() })).status,
      200,
    );
    assert.equal((await logIn(server, creds(user), { ip: nextIp() })).status, 200);
  });

  test('unlock(userId) lifts the lock for strangers; the guessers stay throttled', async () => {
    const user = account('unlock');
    const id = await register(server, user);
    const guessers = [nextIp(), nextIp()];
    for (let i = 0; i < PER_ACCOUNT; i++) {
      const wrong = { email: user.email, password: `guess ${i}` };
      assert.equal((await logIn(server, wrong, { ip: guessers[i % 2]! })).status, 401);
    }
    const stranger = nextIp();
    assert.equal((await logIn(server, creds(user), { ip: stranger })).status, 429);
    await server.app.auth.unlock(id);
    assert.equal((await logIn(server, creds(user), { ip: stranger })).status, 200);
    // The guessers' own addresses have spent their budgets: still refused.
    for (const ip of guessers) {
      const reply = await logIn(server, { username: user.username, password: 'again' }, { ip });
      assert.equal(reply.status, 429);
    }
    // With an address, that address's budget is lifted too.
    await server.app.auth.unlock(id, { ip: guessers[0]! });
    assert.equal((await logIn(server, creds(user), { ip: guessers[0]! })).status, 200);
    await assert.rejects(server.app.auth.unlock(''), TypeError);
  });
});

describe('guessing passwords, cookie mode', () => {
  let server: Running;
  before(async () => {
    server = await start({ trustProxy: '127.0.0.1', cookies: true });
  });
  after(async () => {
    await server.close();
  });

  test('the device token is an HttpOnly, Secure, SameSite=Strict cookie for /auth/login only', async () => {
    const user = account('browser');
    await register(server, user);
    const first = await logIn(server, creds(user), { ip: nextIp() });
    assert.equal(first.status, 200);
    assert.equal(first.body.device_token, undefined, 'not readable by scripts');
    const cookie = first.setCookie.find((c) => c.startsWith(`${DEVICE_COOKIE}=`));
    assert.ok(cookie, first.setCookie.join(' | '));
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; Secure/);
    assert.match(cookie, /; SameSite=Strict/);
    assert.match(cookie, /; Path=\/auth\/login(;|$)/);
    assert.match(cookie, /; Max-Age=7776000/);

    // Strangers lock the account; the browser that logged in before still gets in with its cookie.
    for (let i = 0; i < PER_ACCOUNT; i++) {
      const wrong = { username: user.username, password: `guess ${i}` };
      assert.equal((await logIn(server, wrong, { ip: nextIp() })).status, 401);
    }
    assert.equal((await logIn(server, creds(user), { ip: nextIp() })).status, 429);
    const pair = cookie.split(';')[0]!;
    const again = await logIn(server, creds(user), { ip: nextIp(), cookie: pair });
    assert.equal(again.status, 200, JSON.stringify(again.body));
  });
});
