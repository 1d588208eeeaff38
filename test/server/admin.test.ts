// The admin API and the audit log over real HTTP: only a current administrator gets in (a token
// without the role is 403, and so is one whose role or account was taken away since), every
// action does what it says to the account and its sessions and is recorded with the
// administrator as actor; the audit log records log-ins, failures, lock-outs, log-outs and reuse,
// never a password; old events go after the retention; /metrics only with its token.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, FAST_ARGON2, type Reply, type Running, start } from '../helpers/server.ts';

type Tokens = { access_token: string; refresh_token: string };
type AdminUser = { id: string; username: string; roles: string[]; disabled: boolean };
type Event = {
  id: string;
  at: string;
  type: string;
  actor: string;
  subject: string | null;
  ip: string | null;
  details: Record<string, unknown> | null;
};

const PASSWORDS: Record<string, string> = {
  alice: 'alice password one',
  bob: 'bob password two',
  carol: 'carol password three',
};

describe('the admin API', () => {
  let server: Running;
  const ids: Record<string, string> = {};
  let admin: string;

  const login = async (username: string, password = PASSWORDS[username]!) =>
    call<Tokens>(server.url, 'POST', '/auth/login', { body: { username, password } });
  const as = (token: string) => ({
    get: <T = Record<string, unknown>>(path: string) => call<T>(server.url, 'GET', path, { token }),
    post: <T = Record<string, unknown>>(path: string) =>
      call<T>(server.url, 'POST', path, { token }),
    put: <T = Record<string, unknown>>(path: string, body: unknown) =>
      call<T>(server.url, 'PUT', path, { token, body }),
    del: <T = Record<string, unknown>>(path: string) =>
      call<T>(server.url, 'DELETE', path, { token }),
  });
  const events = async (query: string) =>
    (await as(admin).get<{ events: Event[]; next: string | null }>(`/admin/audit?${query}`)).body;

  before(async () => {
    server = await start({
      passwordParams: FAST_ARGON2,
      reuseGrace: 0,
      rateLimits: {
        loginPerIp: { max: 1000, window: 60 },
        loginFailuresPerAccount: { max: 3, window: 600 },
        loginFailuresPerClient: { max: 100, window: 600 },
        registerPerIp: { max: 1000, window: 60 },
      },
    });
    for (const name of ['alice', 'bob', 'carol']) {
      const reply = await call<{ user: { id: string } }>(server.url, 'POST', '/auth/register', {
        body: { username: name, email: `${name}@example.com`, password: PASSWORDS[name] },
      });
      assert.equal(reply.status, 201);
      ids[name] = reply.body.user.id;
    }
    // The first administrator comes from outside the API (the CLI: test/cli/admin.test.ts).
    await server.app.store.setUserRoles(ids['alice']!, ['user', 'admin'], Date.now());
    admin = (await login('alice')).body.access_token;
  });
  after(() => server?.close());

  test('no token is 401; a token without the admin role is 403 insufficient_scope', async () => {
    const none = await call(server.url, 'GET', '/admin/users');
    assert.equal(none.status, 401);
    assert.equal(none.body['error'], 'invalid_token');
    const bob = (await login('bob')).body.access_token;
    for (const reply of [
      await as(bob).get('/admin/users'),
      await as(bob).get('/admin/audit'),
      await as(bob).put(`/admin/users/${ids['bob']}/roles`, { roles: ['user', 'admin'] }),
      await as(bob).post(`/admin/users/${ids['carol']}/disable`),
    ]) {
      assert.equal(reply.status, 403);
      assert.equal(reply.body['error'], 'insufficient_scope');
      assert.match(reply.headers.get('www-authenticate') ?? '', /insufficient_scope/);
    }
    // Nothing changed.
    const carol = await server.app.store.findUserById(ids['carol']!);
    assert.equal(carol?.disabled, false);
    assert.deepEqual((await server.app.store.findUserById(ids['bob']!))?.roles, ['user']);
  });

  test('the admin API never takes the access-token cookie', async () => {
    const reply = await call(server.url, 'GET', '/admin/users', {
      headers: { cookie: `laissez_at=${admin}` },
    });
    assert.equal(reply.status, 401);
  });

  test('list, search by prefix and page through users; one user; unknown is 404', async () => {
    const all = await as(admin).get<{ users: AdminUser[]; next: string | null }>('/admin/users');
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('cache-control'), 'no-store');
    assert.deepEqual(
      all.body.users.map((u) => u.username),
      ['alice', 'bob', 'carol'],
    );
    assert.equal(all.body.next, null);
    assert.ok(all.body.users.every((u) => !('passwordHash' in u) && !('password_hash' in u)));

    const first = await as(admin).get<{ users: AdminUser[]; next: string }>('/admin/users?limit=2');
    assert.deepEqual(
      first.body.users.map((u) => u.username),
      ['alice', 'bob'],
    );
    const second = await as(admin).get<{ users: AdminUser[]; next: string | null }>(
      `/admin/users?limit=2&after=${first.body.next}`,
    );
    assert.deepEqual(
      second.body.users.map((u) => u.username),
      ['carol'],
    );
    assert.equal(second.body.next, null);

    const byName = await as(admin).get<{ users: AdminUser[] }>('/admin/users?q=CA');
    assert.deepEqual(
      byName.body.users.map((u) => u.username),
      ['carol'],
    );
    const byMail = await as(admin).get<{ users: AdminUser[] }>('/admin/users?q=bob%40ex');
    assert.deepEqual(
      byMail.body.users.map((u) => u.username),
      ['bob'],
    );

    const one = await as(admin).get<{ user: AdminUser }>(`/admin/users/${ids['bob']}`);
    assert.equal(one.body.user.username, 'bob');
    const missing = await as(admin).get('/admin/users/nobody');
    assert.equal(missing.status, 404);
    assert.equal(missing.body['error'], 'not_found');
    for (const bad of ['limit=0', 'limit=101', 'limit=x', 'q=', 'colour=red']) {
      const reply = await as(admin).get(`/admin/users?${bad}`);
      assert.equal(reply.status, 400, bad);
      assert.equal(reply.body['error'], 'invalid_request', bad);
    }
  });

  test('set roles: checked, recorded, in the next token; an admin cannot drop their own', async () => {
    const set = await as(admin).put<{ user: AdminUser }>(`/admin/users/${ids['carol']}/roles`, {
      roles: ['user', 'billing'],
    });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body.user.roles, ['user', 'billing']);
    const token = (await login('carol')).body.access_token;
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    assert.deepEqual(claims.roles, ['user', 'billing']);

    for (const roles of [['Admin'], ['x'.repeat(40)], 'admin', Array(17).fill('user')]) {
      const bad = await as(admin).put(`/admin/users/${ids['carol']}/roles`, { roles });
      assert.equal(bad.status, 400, JSON.stringify(roles));
      assert.equal(bad.body['error'], 'invalid_request');
    }
    const self = await as(admin).put(`/admin/users/${ids['alice']}/roles`, { roles: ['user'] });
    assert.equal(self.status, 400);
    assert.match(String(self.body['error_description']), /your own admin role/);
    assert.ok((await server.app.store.findUserById(ids['alice']!))?.roles.includes('admin'));

    const [event] = (await events(`type=admin.roles_set&user=${ids['carol']}`)).events;
    assert.equal(event?.actor, ids['alice']);
    assert.equal(event?.ip, '127.0.0.1');
    assert.deepEqual(event?.details, { from: 'user', to: 'user,billing' });
  });

  test('a demoted or disabled administrator loses the API at once, token or not', async () => {
    await server.app.store.setUserRoles(ids['carol']!, ['user', 'admin'], Date.now());
    const carol = (await login('carol')).body.access_token;
    assert.equal((await as(carol).get('/admin/users')).status, 200);
    await as(admin).put(`/admin/users/${ids['carol']}/roles`, { roles: ['user'] });
    const after = await as(carol).get('/admin/users');
    assert.equal(after.status, 403);
    assert.equal(after.body['error'], 'insufficient_scope');
  });

  test('disable ends every session and refuses log-in; enable lets the user log in again', async () => {
    const session = (await login('bob')).body;
    const disabled = await as(admin).post<{ user: AdminUser; revoked: number }>(
      `/admin/users/${ids['bob']}/disable`,
    );
    assert.equal(disabled.status, 200);
    assert.equal(disabled.body.user.disabled, true);
    assert.ok(disabled.body.revoked >= 1);
    const refresh = await call(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: session.refresh_token },
    });
    assert.equal(refresh.status, 401);
    assert.equal((await login('bob')).body['error' as never], 'account_disabled');

    const self = await as(admin).post(`/admin/users/${ids['alice']}/disable`);
    assert.equal(self.status, 400);

    const enabled = await as(admin).post<{ user: AdminUser }>(`/admin/users/${ids['bob']}/enable`);
    assert.equal(enabled.body.user.disabled, false);
    assert.equal((await login('bob')).status, 200);
    const types = (await events(`user=${ids['bob']}&limit=10`)).events.map((e) => e.type);
    assert.ok(types.includes('admin.user_disabled'));
    assert.ok(types.includes('admin.user_enabled'));
    const failed = (await events(`user=${ids['bob']}&type=login.failed`)).events[0];
    assert.deepEqual(failed?.details, { reason: 'disabled' });
  });

  test('end sessions: every refresh token of the user is refused afterwards', async () => {
    const one = (await login('bob')).body;
    const two = (await login('bob')).body;
    const ended = await as(admin).del<{ revoked: number }>(`/admin/users/${ids['bob']}/sessions`);
    assert.equal(ended.status, 200);
    assert.ok(ended.body.revoked >= 2);
    for (const t of [one, two]) {
      const reply = await call(server.url, 'POST', '/auth/refresh', {
        body: { refresh_token: t.refresh_token },
      });
      assert.equal(reply.status, 401);
    }
    assert.equal((await as(admin).del('/admin/users/nobody/sessions')).status, 404);
  });

  test('lock-out: failures are recorded, the locking one too; unlock lets the owner in', async () => {
    for (let i = 0; i < 3; i++)
      assert.equal((await login('carol', `wrong ${i} guess`)).status, 401);
    assert.equal((await login('carol')).status, 429);
    const locked = (await events(`user=${ids['carol']}&type=login.locked`)).events;
    assert.equal(locked.length, 1);
    assert.equal(locked[0]?.actor, 'anonymous');
    const failures = (await events(`user=${ids['carol']}&type=login.failed`)).events;
    assert.equal(failures.length, 3);
    // What was typed is never kept.
    const all = JSON.stringify((await events('limit=100')).events);
    for (const secret of ['wrong 0 guess', ...Object.values(PASSWORDS)]) {
      assert.ok(!all.includes(secret), secret);
    }

    const unlocked = await as(admin).post(`/admin/users/${ids['carol']}/unlock`);
    assert.equal(unlocked.status, 204);
    assert.equal((await login('carol')).status, 200);
    const [event] = (await events(`user=${ids['carol']}&type=admin.user_unlocked`)).events;
    assert.equal(event?.actor, ids['alice']);
  });

  test('password reset without a mail flow is 404 not_found, and nothing is recorded', async () => {
    const reply = await as(admin).post(`/admin/users/${ids['bob']}/password-reset`);
    assert.equal(reply.status, 404);
    assert.equal(reply.body['error'], 'not_found');
    assert.equal((await events('type=admin.password_reset_sent')).events.length, 0);
  });

  test('the audit log: registration, log-in, log-out, reuse, newest first and paged', async () => {
    const dave = await call<{ user: { id: string } }>(server.url, 'POST', '/auth/register', {
      body: { username: 'dave', email: 'dave@example.com', password: 'dave password four' },
    });
    const id = dave.body.user.id;
    const first = (await login('dave', 'dave password four')).body;
    const rotated = await call<Tokens>(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: first.refresh_token },
    });
    // The spent token again (grace 0): reuse, the family revoked.
    await call(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: first.refresh_token },
    });
    const second = (await login('dave', 'dave password four')).body;
    await call(server.url, 'POST', '/auth/logout', {
      body: { refresh_token: second.refresh_token },
    });
    await call(server.url, 'POST', '/auth/logout', {
      body: { refresh_token: second.refresh_token },
    });
    await call(server.url, 'POST', '/auth/logout-all', { token: second.access_token });
    assert.equal(rotated.status, 200);

    const log = (await events(`user=${id}`)).events;
    assert.deepEqual(
      log.map((e) => e.type),
      [
        'session.ended_all',
        'session.ended',
        'login.succeeded',
        'refresh.reuse_detected',
        'login.succeeded',
        'user.registered',
      ],
    );
    assert.ok(log.every((e) => e.subject === id));
    assert.equal(log[0]?.actor, id);
    assert.equal(log[0]?.ip, '127.0.0.1');
    assert.equal(log[3]?.actor, 'anonymous');
    for (let i = 1; i < log.length; i++) assert.ok(log[i - 1]!.at >= log[i]!.at);

    const page = await events(`user=${id}&limit=4`);
    assert.equal(page.events.length, 4);
    const rest = await events(`user=${id}&limit=4&before=${page.next}`);
    assert.deepEqual(
      [...page.events, ...rest.events].map((e) => e.id),
      log.map((e) => e.id),
    );
    assert.equal(rest.next, null);

    const future = await events(`user=${id}&since=2999-01-01`);
    assert.equal(future.events.length, 0);
    const bounded = await events(`user=${id}&until=2000-01-01T00:00:00Z`);
    assert.equal(bounded.events.length, 0);
    const bad = await as(admin).get('/admin/audit?since=yesterday');
    assert.equal(bad.status, 400);
    assert.equal(bad.body['error'], 'invalid_request');
  });
});

describe('audit retention', () => {
  test('events older than auditRetention are deleted when the server starts', async () => {
    const first = await start({ passwordParams: FAST_ARGON2 });
    const now = Date.now();
    const old = { id: 'old-event', at: now - 2 * 86_400_000, type: 'login.failed' };
    const fresh = { id: 'fresh-event', at: now - 3_600_000, type: 'login.failed' };
    for (const e of [old, fresh]) {
      await first.app.store.appendAuditEvent({
        ...e,
        actor: 'anonymous',
        subject: 'retention-subject',
        ip: null,
        details: null,
      });
    }
    await first.close({ keepData: true });
    const second = await start(
      { passwordParams: FAST_ARGON2, auditRetention: 86_400 },
      first.dataDir,
    );
    try {
      // The sweep at start is not awaited by the server; it is one statement.
      let left: string[] = [];
      for (let i = 0; i < 50; i++) {
        left = (
          await second.app.store.listAuditEvents({ subject: 'retention-subject', limit: 10 })
        ).map((e) => e.id);
        if (left.length === 1) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(left, ['fresh-event']);
    } finally {
      await second.close();
    }
  });

  test('auditRetention is checked like every option', async () => {
    await assert.rejects(start({ auditRetention: 10 }), /auditRetention must be at least 60 s/);
  });
});

describe('metrics', () => {
  const TOKEN = 'metrics-token-0123456789abcdefghijklmnop';
  let server: Running;
  before(async () => {
    server = await start({ passwordParams: FAST_ARGON2, metricsToken: TOKEN });
  });
  after(() => server?.close());

  const scrape = async (headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) => {
    const response = await fetch(`${server.url}/metrics`, { headers });
    return { status: response.status, text: await response.text(), headers: response.headers };
  };
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? 0 : Number(line.split(' ')[1]);
  };

  test('/metrics needs the token; a wrong or missing one is 401 in the error shape', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer wrong-token' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
    ]) {
      const reply = await scrape(headers);
      assert.equal(reply.status, 401);
      assert.equal(JSON.parse(reply.text).error, 'invalid_token');
    }
  });

  test('counts registrations, log-ins, failures, lock-outs and refreshes', async () => {
    const before = (await scrape()).text;
    const body = { username: 'erin', email: 'erin@example.com', password: 'erin password five' };
    await call(server.url, 'POST', '/auth/register', { body });
    const tokens = (
      await call<Tokens>(server.url, 'POST', '/auth/login', {
        body: { username: 'erin', password: body.password },
      })
    ).body;
    await call(server.url, 'POST', '/auth/login', {
      body: { username: 'erin', password: 'not the password' },
    });
    await call(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: tokens.refresh_token },
    });
    await call(server.url, 'POST', '/auth/refresh', { body: { refresh_token: 'rt_nonsense' } });
    const now = await scrape();
    assert.equal(now.status, 200);
    assert.match(now.headers.get('content-type') ?? '', /text\/plain/);
    const delta = (series: string) => value(now.text, series) - value(before, series);
    assert.equal(delta('laissez_registrations_total'), 1);
    assert.equal(delta('laissez_logins_total'), 1);
    assert.equal(delta('laissez_login_failures_total{reason="password"}'), 1);
    assert.equal(delta('laissez_refreshes_total{outcome="rotated"}'), 1);
    assert.equal(delta('laissez_refreshes_total{outcome="refused"}'), 1);
    assert.match(now.text, /# TYPE laissez_lockouts_total counter/);
    assert.match(now.text, /# TYPE laissez_mail_sent_total counter/);
    assert.match(now.text, /laissez_process_/);
  });

  test('without metricsToken there is no /metrics', async () => {
    const plain = await start({ passwordParams: FAST_ARGON2 });
    try {
      const reply: Reply = await call(plain.url, 'GET', '/metrics');
      assert.equal(reply.status, 404);
    } finally {
      await plain.close();
    }
  });

  test('a short metricsToken is refused at start', async () => {
    await assert.rejects(start({ metricsToken: 'short' }), /metricsToken must be a string of 32/);
  });
});
