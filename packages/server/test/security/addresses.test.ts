// Attacks on the per-address limits through the client address itself (docs/security.md, "Proxies
// and client addresses"): an IPv6 client holds a whole /64 and can send each request from a new
// address of it; one address has many spellings. Over real HTTP, behind a proxy on loopback that
// the server trusts (its X-Forwarded-For entry is the client address).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_RATE_LIMITS } from '../../src/auth/limits.ts';
import { FAST_ARGON2, type Running, start } from '../helpers/server.ts';

const LOGIN_PER_IP = DEFAULT_RATE_LIMITS.loginPerIp.max; // 30
const REGISTER_PER_IP = DEFAULT_RATE_LIMITS.registerPerIp.max; // 10

let names = 0;
const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${++names}`;

async function post(server: Running, path: string, body: unknown, client: string) {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** How many answers had each status. */
async function statuses(replies: Promise<{ status: number }>[]) {
  const counts: Record<number, number> = {};
  for (const { status } of await Promise.all(replies)) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

describe('client addresses behind a trusted proxy', () => {
  let server: Running;
  before(async () => {
    server = await start({ trustProxy: '127.0.0.1', passwordParams: FAST_ARGON2 });
  });
  after(async () => {
    await server.close();
  });

  test('log-ins from many addresses of one IPv6 /64 share one allowance', async () => {
    const attempts = LOGIN_PER_IP + 10;
    const counts = await statuses(
      Array.from({ length: attempts }, (_, i) =>
        post(
          server,
          '/auth/login',
          // A name no account has, a new one each time: only the per-address limit applies.
          { username: unique('nobody'), password: 'not the password' },
          `2001:db8:aa:1:${(i + 1).toString(16)}::1`,
        ),
      ),
    );
    assert.deepEqual(counts, { 401: LOGIN_PER_IP, 429: 10 });
    // Another /64 is another subscriber: its own allowance.
    const other = await post(
      server,
      '/auth/login',
      { username: unique('nobody'), password: 'not the password' },
      '2001:db8:aa:2::1',
    );
    assert.equal(other.status, 401);
  });

  test('registrations from many addresses of one IPv6 /64 share one allowance', async () => {
    const replies = [];
    for (let i = 0; i < REGISTER_PER_IP + 1; i++) {
      const username = unique('v6user');
      replies.push(
        await post(
          server,
          '/auth/register',
          { username, email: `${username}@example.com`, password: `${username} pass phrase` },
          `2001:db8:bb:1::${(i + 1).toString(16)}`,
        ),
      );
    }
    assert.deepEqual(
      replies.map((r) => r.status),
      [...Array(REGISTER_PER_IP).fill(201), 429],
    );
    assert.equal(replies.at(-1)?.body.error, 'too_many_requests');
  });

  test('every spelling of one address is one address (IPv6 forms, IPv4-mapped IPv6)', async () => {
    const spellings = [
      [
        '2001:db8:cc:1::1',
        '2001:DB8:CC:1::1',
        '2001:0db8:00cc:0001:0:0:0:0001',
        '[2001:db8:cc:1::1]',
      ],
      ['192.0.2.77', '::ffff:192.0.2.77', '::ffff:c000:24d', '0:0:0:0:0:ffff:192.0.2.77'],
    ];
    for (const forms of spellings) {
      const counts = await statuses(
        Array.from({ length: LOGIN_PER_IP + 4 }, (_, i) =>
          post(
            server,
            '/auth/login',
            { username: unique('nobody'), password: 'not the password' },
            forms[i % forms.length]!,
          ),
        ),
      );
      assert.deepEqual(counts, { 401: LOGIN_PER_IP, 429: 4 }, forms[0]);
    }
  });
});
