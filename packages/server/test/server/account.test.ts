// The signed-in user's own account over real HTTP, on SQLite and PostgreSQL: sessions per device
// (listed with a bounded device label, ended one by one, never another user's), a password change
// (confirmed, racing changes settled, other sessions ended and published, this one kept) and the
// deletion of the account (sessions gone, names reserved so registration refuses them).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres.ts';
import type { Store } from '../../src/store/types.ts';
import { call, FAST_ARGON2, type Reply, type Running, start } from '../helpers/server.ts';

type Tokens = { access_token: string; refresh_token: string };
type SessionView = {
  id: string;
  created_at: string;
  last_used_at: string;
  ip: string | null;
  device: string | null;
  current: boolean;
};

const DATABASE_URL =
  process.env['LAISSEZ_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI_IOS =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

const sidOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;

for (const kind of ['SQLite', 'PostgreSQL'] as const) {
  describe(`the account routes (${kind})`, () => {
    let server: Running;
    let store: Store | undefined;
    let clock = Date.now();
    const published: string[] = [];
    const schema = `laissez_test_account_${randomBytes(5).toString('hex')}`;
    before(async () => {
      store =
        kind === 'PostgreSQL'
          ? openPostgresStore({ connectionString: DATABASE_URL, schema })
          : undefined;
      server = await start({
        ...(store ? { store } : {}),
        now: () => clock,
        passwordParams: FAST_ARGON2,
        // Many users from one address; the log-in budgets stay the defaults.
        rateLimits: {
          loginPerIp: { max: 30, window: 60 },
          loginFailuresPerAccount: { max: 10, window: 900 },
          loginFailuresPerClient: { max: 5, window: 900 },
          registerPerIp: { max: 1000, window: 600 },
        },
        // Records what is published, as the Redis revocation list would receive it.
        revocations: {
          revoke: async (sid: string) => {
            published.push(sid);
          },
        },
      });
    });
    after(async () => {
      await server?.close();
      if (!store) return;
      await store.close();
      const admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      await admin.end();
    });

    let names = 0;
    const register = async () => {
      const username = `user${++names}_${randomBytes(3).toString('hex')}`;
      const password = `${username} long password`;
      const reply = await call(server.url, 'POST', '/auth/register', {
        body: { username, email: `${username}@example.com`, password },
      });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      return { username, email: `${username}@example.com`, password };
    };
    const login = async (username: string, password: string, userAgent = FIREFOX) => {
      const reply = await call<Tokens>(server.url, 'POST', '/auth/login', {
        body: { username, password },
        headers: { 'user-agent': userAgent },
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return reply.body;
    };
    const sessions = (token: string) =>
      call<{ sessions: SessionView[] }>(server.url, 'GET', '/auth/sessions', { token });
    const refresh = (token: string) =>
      call<Tokens & { error?: string; error_description?: string }>(
        server.url,
        'POST',
        '/auth/refresh',
        { body: { refresh_token: token } },
      );
    const isError = (reply: Reply, status: number, error: string) => {
      assert.equal(reply.status, status, JSON.stringify(reply.body));
      assert.equal(reply.body['error'], error);
      assert.equal(typeof reply.body['error_description'], 'string');
    };

    test('GET /auth/sessions lists each device: start, last use, address, label, which is current', async () => {
      const { username, password } = await register();
      const laptop = await login(username, password, FIREFOX);
      clock += 60_000;
      const phone = await login(username, password, SAFARI_IOS);
      clock += 60_000;
      const rotated = await refresh(laptop.refresh_token); // the laptop is used again
      assert.equal(rotated.status, 200);

      const reply = await sessions(phone.access_token);
      assert.equal(reply.status, 200);
      assert.equal(reply.headers.get('cache-control'), 'no-store');
      const list = reply.body.sessions;
      assert.deepEqual(
        list.map((s) => [s.id, s.device, s.ip, s.current]),
        [
          [sidOf(laptop.access_token), 'Firefox on Linux', '127.0.0.1', false],
          [sidOf(phone.access_token), 'Safari on iOS', '127.0.0.1', true],
        ],
      );
      assert.equal(list[0]!.created_at, new Date(clock - 120_000).toISOString());
      assert.equal(list[0]!.last_used_at, new Date(clock).toISOString());
      assert.equal(list[1]!.last_used_at, new Date(clock - 60_000).toISOString());
      // Without a token: the bearer challenge.
      const anonymous = await call(server.url, 'GET', '/auth/sessions');
      isError(anonymous, 401, 'invalid_token');
    });

    test('an oversized or hostile User-Agent is reduced to a short label, never stored raw', async () => {
      const { username, password } = await register();
      const huge = `Evil/1.0 ${'<script>'.repeat(1500)}`; // 12 KB, under the 16 KiB header limit
      const tokens = await login(username, password, huge);
      await login(username, password, 'x'.repeat(10_000));
      const list = (await sessions(tokens.access_token)).body.sessions;
      assert.deepEqual(list.map((s) => s.device).sort(), ['Evil', 'Unknown device']);
    });

    test('DELETE /auth/sessions/:id ends one session and publishes it; another user’s id is 404 like an unknown one', async () => {
      const alice = await register();
      const bob = await register();
      const a1 = await login(alice.username, alice.password);
      const a2 = await login(alice.username, alice.password);
      const b1 = await login(bob.username, bob.password);

      // Bob cannot end, or learn of, Alice's session: the same answer as for an id that never was.
      const foreign = await call(server.url, 'DELETE', `/auth/sessions/${sidOf(a2.access_token)}`, {
        token: b1.access_token,
      });
      const unknown = await call(server.url, 'DELETE', '/auth/sessions/nosuchsession', {
        token: b1.access_token,
      });
      isError(foreign, 404, 'session_not_found');
      assert.deepEqual(foreign.body, unknown.body);
      assert.equal((await refresh(a2.refresh_token)).status, 200);

      // Alice ends her other session: revoked and published; hers goes on.
      const before = published.length;
      const ended = await call(server.url, 'DELETE', `/auth/sessions/${sidOf(a2.access_token)}`, {
        token: a1.access_token,
      });
      assert.equal(ended.status, 204);
      assert.deepEqual(published.slice(before), [sidOf(a2.access_token)]);
      isError(await refresh(a2.refresh_token), 401, 'invalid_grant');
      assert.deepEqual(
        (await sessions(a1.access_token)).body.sessions.map((s) => s.id),
        [sidOf(a1.access_token)],
      );
      // Again: it is no longer live.
      const again = await call(server.url, 'DELETE', `/auth/sessions/${sidOf(a2.access_token)}`, {
        token: a1.access_token,
      });
      isError(again, 404, 'session_not_found');
      // A malformed or oversized id is a 400, not a lookup.
      const bad = await call(server.url, 'DELETE', `/auth/sessions/${'a'.repeat(65)}`, {
        token: a1.access_token,
      });
      isError(bad, 400, 'invalid_request');
      // Ending the current session is allowed.
      const own = await call(server.url, 'DELETE', `/auth/sessions/${sidOf(a1.access_token)}`, {
        token: a1.access_token,
      });
      assert.equal(own.status, 204);
      isError(await refresh(a1.refresh_token), 401, 'invalid_grant');
    });

    test('POST /auth/password: current password required; other sessions end and are published, this one stays', async () => {
      const { username, password } = await register();
      const here = await login(username, password);
      const there = await login(username, password);
      const change = (body: unknown, token = here.access_token) =>
        call(server.url, 'POST', '/auth/password', { token, body });
      const next = 'a brand new passphrase 42';

      isError(
        await change({ current_password: 'not it at all', new_password: next }),
        403,
        'wrong_password',
      );
      isError(
        await change({ current_password: password, new_password: 'short' }),
        400,
        'invalid_request',
      );
      isError(
        await change({ current_password: password, new_password: 'password123' }),
        400,
        'weak_password',
      );
      isError(
        await change({ current_password: password, new_password: password }),
        400,
        'invalid_request',
      );
      isError(await change({ current_password: password }), 400, 'invalid_request');
      isError(
        await call(server.url, 'POST', '/auth/password', {
          body: { current_password: password, new_password: next },
        }),
        401,
        'invalid_token',
      );

      const before = published.length;
      const done = await change({ current_password: password, new_password: next });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      assert.deepEqual(done.body, { ended_sessions: 1 });
      assert.deepEqual(published.slice(before), [sidOf(there.access_token)]);
      const refused = await refresh(there.refresh_token);
      isError(refused, 401, 'invalid_grant');
      assert.match(String(refused.body.error_description), /password was changed/);
      assert.equal((await refresh(here.refresh_token)).status, 200);
      // The old password no longer logs in; the new one does.
      isError(
        await call(server.url, 'POST', '/auth/login', { body: { username, password } }),
        401,
        'invalid_credentials',
      );
      await login(username, next);
    });

    test('two password changes at once: exactly one wins, the other is told the password is not right', async () => {
      const { username, password } = await register();
      const tokens = await login(username, password);
      const replies = await Promise.all(
        ['first new passphrase 1', 'second new passphrase 2', 'third new passphrase 3'].map(
          (next) =>
            call(server.url, 'POST', '/auth/password', {
              token: tokens.access_token,
              body: { current_password: password, new_password: next },
            }),
        ),
      );
      const statuses = replies.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 403, 403], JSON.stringify(replies.map((r) => r.body)));
      const winner = [
        'first new passphrase 1',
        'second new passphrase 2',
        'third new passphrase 3',
      ][replies.findIndex((r) => r.status === 200)]!;
      await login(username, winner);
    });

    test('wrong current passwords spend the log-in failure budget: a stolen access token is no faster guesser', async () => {
      const { username, password } = await register();
      const tokens = await login(username, password);
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const reply = await call(server.url, 'POST', '/auth/password', {
          token: tokens.access_token,
          body: { current_password: `guess number ${i}`, new_password: 'whatever passphrase 9' },
        });
        statuses.push(reply.status);
      }
      // Five failures per client address in 15 minutes (the log-in default), then 429.
      assert.deepEqual(statuses, [403, 403, 403, 403, 403, 429, 429]);
    });

    test('DELETE /auth/account: password confirmed, sessions end and are published, names stay reserved', async () => {
      const { username, email, password } = await register();
      const here = await login(username, password);
      const there = await login(username, password);
      const remove = (body: unknown) =>
        call(server.url, 'DELETE', '/auth/account', { token: here.access_token, body });
      isError(await remove({ password: 'not the password' }), 403, 'wrong_password');
      isError(await remove({}), 400, 'invalid_request');

      const before = published.length;
      assert.equal((await remove({ password })).status, 204);
      assert.deepEqual(
        published.slice(before).sort(),
        [sidOf(here.access_token), sidOf(there.access_token)].sort(),
      );
      // The token of a deleted user opens nothing; its refresh tokens are gone.
      isError(await sessions(here.access_token), 401, 'invalid_token');
      isError(await remove({ password }), 401, 'invalid_token');
      isError(await refresh(there.refresh_token), 401, 'invalid_grant');
      isError(
        await call(server.url, 'POST', '/auth/login', { body: { username, password } }),
        401,
        'invalid_credentials',
      );
      // Registration refuses the name, a look-alike of it and the email, as if taken.
      const again = (body: Record<string, string>) =>
        call(server.url, 'POST', '/auth/register', {
          body: {
            username: `x${randomBytes(4).toString('hex')}`,
            email: `${randomBytes(4).toString('hex')}@example.com`,
            password: 'some fine passphrase',
            ...body,
          },
        });
      isError(await again({ username }), 409, 'username_taken');
      isError(await again({ username: username.toUpperCase() }), 409, 'username_taken');
      isError(await again({ email }), 409, 'email_taken');
      // 30 days later (the default), both are free again.
      clock += 30 * 86_400_000;
      assert.equal((await again({ username, email })).status, 201);
    });
  });
}
