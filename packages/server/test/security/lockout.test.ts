// Attacks on the lock-out itself (docs/security.md, "Guessing passwords"), over real HTTP: a guesser
// who has spent an account's shared budget fills the in-memory counter store with fresh keys
// (new names from new addresses, cheap to make) until the store, full, drops the lock.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_RATE_LIMITS, MemoryCounterStore } from '../../src/auth/limits.ts';
import { FAST_ARGON2, type Running, start } from '../helpers/server.ts';

const PER_CLIENT = DEFAULT_RATE_LIMITS.loginFailuresPerClient.max; // 5
const PER_ACCOUNT = DEFAULT_RATE_LIMITS.loginFailuresPerAccount.max; // 10

let addresses = 0;
const nextIp = () => `198.18.${(++addresses >> 8) & 255}.${addresses & 255}`;

async function logIn(server: Running, username: string, password: string, ip: string) {
  const response = await fetch(`${server.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ username, password }),
  });
  await response.body?.cancel();
  return response.status;
}

describe('a full counter store does not forget a lock-out', () => {
  // A small store, so that filling it takes a few hundred requests rather than the default's
  // 100,000 windows (the attack is the same: about 35,000 requests, refused without a hash).
  const CAPACITY = 300;
  let server: Running;
  before(async () => {
    server = await start({
      trustProxy: '127.0.0.1',
      passwordParams: FAST_ARGON2,
      counters: new MemoryCounterStore(CAPACITY),
    });
    const response = await fetch(`${server.url}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': nextIp() },
      body: JSON.stringify({
        username: 'victim',
        email: 'victim@example.com',
        password: 'the victim pass phrase',
      }),
    });
    assert.equal(response.status, 201);
  });
  after(async () => {
    await server.close();
  });

  test('flooding the store with new keys leaves the account locked', async () => {
    // The shared budget spent from two addresses: the account is locked for unknown clients.
    for (let i = 0; i < PER_ACCOUNT; i++) {
      const ip = i < PER_CLIENT ? '198.19.0.1' : '198.19.0.2';
      assert.equal(await logIn(server, 'victim', `guess ${i}`, ip), 401);
    }
    assert.equal(await logIn(server, 'victim', 'one more guess', nextIp()), 429);
    // The flood: each request a name nobody has, from a new address: three new windows each.
    for (let i = 0; i < CAPACITY; i++) {
      assert.equal(await logIn(server, `flood${i}`, 'not a password', nextIp()), 401);
    }
    // The lock holds: a guess from yet another address is still refused, unchecked.
    assert.equal(await logIn(server, 'victim', 'a guess after the flood', nextIp()), 429);
  });
});
