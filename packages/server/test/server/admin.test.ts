// The admin API and the audit log over real HTTP: only a current administrator gets in (a token
// without the role is 403, and so is one whose role or account was taken away since), every
// action does what it says to the account and its sessions and is recorded with the
// administrator as actor; the audit log records log-ins, failures, lock-outs, log-outs and reuse,
// never a password; old events go after the retention; /metrics only with its token.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { AdminService } from '../../src/auth/admin.ts';
import { storeAuditSink } from '../../src/auth/audit.ts';
import type { MailMessage } from '../../src/auth/mail.ts';
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
    // The server always has a mail flow (SMTP or the outbox); an AdminService built without a
    // sender, as a library user may build one, refuses.
    const store = server.app.store;
    const service = new AdminService({
      store,
      auth: server.app.auth,
      audit: storeAuditSink({
        store,
        now: Date.now,
        onError: (error) => assert.fail(String(error)),
      }),
      now: Date.now,
    });
    assert.equal(service.canSendPasswordReset, false);
    await assert.rejects(service.sendPasswordReset({ id: ids['alice']! }, ids['bob']!), {
      name: 'AuthServiceError',
      code: 'not_found',
    });
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

describe('the admin API and audit log beside the account flows', () => {
  const TOKEN = 'm'.repeat(40);
  const sent: MailMessage[] = [];
  let failing = false;
  let server: Running;
  const ids: Record<string, string> = {};
  let admin: string;
  const tokenOf = (link: string) => /[?#]token=([^&]+)/.exec(link)![1]!;
  const lastMailTo = (address: string, kind: string) =>
    sent.filter((m) => m.to === address && m.kind === kind).at(-1);
  const login = (username: string, password: string) =>
    call<Tokens>(server.url, 'POST', '/auth/login', { body: { username, password } });
  const events = async (query: string) =>
    (
      await call<{ events: Event[] }>(server.url, 'GET', `/admin/audit?${query}`, {
        token: admin,
      })
    ).body.events;
  const metric = async (pattern: RegExp) => {
    const text = await (
      await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).text();
    return Number(pattern.exec(text)?.[1] ?? 0);
  };

  before(async () => {
    server = await start({
      passwordParams: FAST_ARGON2,
      metricsToken: TOKEN,
      signInLinks: true,
      publicUrl: 'https://auth.example.test',
      mailTransport: {
        async send(message: MailMessage) {
          if (failing) throw new Error('the mail server is down');
          sent.push(message);
        },
      },
      rateLimits: {
        loginPerIp: { max: 1000, window: 60 },
        loginFailuresPerAccount: { max: 100, window: 60 },
        registerPerIp: { max: 1000, window: 60 },
        accountPerUser: { max: 1000, window: 60 },
      },
    });
    for (const name of ['alice', 'bob', 'erin']) {
      const reply = await call<{ user: { id: string } }>(server.url, 'POST', '/auth/register', {
        body: { username: name, email: `${name}@example.com`, password: `${name} password old` },
      });
      assert.equal(reply.status, 201);
      ids[name] = reply.body.user.id;
    }
    await server.app.store.setUserRoles(ids['alice']!, ['user', 'admin'], Date.now());
    admin = (await login('alice', 'alice password old')).body.access_token;
  });
  after(() => server?.close());

  test("an administrator's reset sends the reset flow's mail; its link sets the password; both recorded", async () => {
    const reply = await call(server.url, 'POST', `/admin/users/${ids['bob']}/password-reset`, {
      token: admin,
    });
    assert.equal(reply.status, 202, JSON.stringify(reply.body));
    const mail = lastMailTo('bob@example.com', 'reset_password');
    assert.ok(mail?.link, 'a reset mail with a link');
    assert.match(mail.link, /^https:\/\/auth\.example\.test\/reset-password#token=lz1_/);
    assert.equal(
      await metric(/^laissez_mail_sent_total\{kind="reset_password",outcome="sent"\} (\d+)/m),
      1,
    );
    const [sentEvent] = await events(`type=admin.password_reset_sent&user=${ids['bob']}`);
    assert.equal(sentEvent?.actor, ids['alice']);

    const done = await call(server.url, 'POST', '/auth/password-reset/confirm', {
      body: { token: tokenOf(mail.link), password: 'bob password brand new' },
    });
    assert.equal(done.status, 204, JSON.stringify(done.body));
    assert.equal((await login('bob', 'bob password old')).status, 401);
    assert.equal((await login('bob', 'bob password brand new')).status, 200);
    const [resetDone] = await events(`type=password.reset_done&user=${ids['bob']}`);
    assert.equal(resetDone?.actor, ids['bob']);
    assert.equal(resetDone?.ip, '127.0.0.1');
  });

  test('a reset mail that cannot be sent is 503 to the administrator, counted failed, not recorded as sent', async () => {
    const before = (await events('type=admin.password_reset_sent')).length;
    failing = true;
    try {
      const reply = await call(server.url, 'POST', `/admin/users/${ids['erin']}/password-reset`, {
        token: admin,
      });
      assert.equal(reply.status, 503);
      assert.equal(reply.body['error'], 'temporarily_unavailable');
    } finally {
      failing = false;
    }
    assert.equal((await events('type=admin.password_reset_sent')).length, before);
    assert.equal(
      await metric(/^laissez_mail_sent_total\{kind="reset_password",outcome="failed"\} (\d+)/m),
      1,
    );
  });

  test('the account flows record their events: reset asked, sign-in link, session ended, password changed, email changed, account deleted', async () => {
    const erin = ids['erin']!;
    // A reset asked for an unknown address records nothing; for erin's, one event.
    for (const email of ['nobody@example.com', 'erin@example.com']) {
      const asked = await call(server.url, 'POST', '/auth/password-reset', { body: { email } });
      assert.equal(asked.status, 202);
    }
    const requested = await events('type=password.reset_requested');
    assert.deepEqual(
      requested.map((e) => [e.actor, e.subject]),
      [['anonymous', erin]],
    );

    // A sign-in link: a log-in by link.
    await call(server.url, 'POST', '/auth/sign-in-link', { body: { email: 'erin@example.com' } });
    const link = lastMailTo('erin@example.com', 'sign_in')!.link!;
    const signedIn = await call<Tokens>(server.url, 'POST', '/auth/sign-in-link/confirm', {
      body: { token: tokenOf(link) },
    });
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    const byLink = (await events(`type=login.succeeded&user=${erin}`)).filter(
      (e) => e.details?.['method'] === 'link',
    );
    assert.equal(byLink.length, 1);

    // Two sessions; the password change ends the other one; then one session is ended by id.
    const session = (await login('erin', 'erin password old')).body;
    const sid = (token: string) =>
      JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())['sid'] as string;
    const ended = await call(
      server.url,
      'DELETE',
      `/auth/sessions/${sid(signedIn.body.access_token)}`,
      {
        token: session.access_token,
      },
    );
    assert.equal(ended.status, 204);
    const [sessionEnded] = await events(`type=session.ended&user=${erin}`);
    assert.equal(sessionEnded?.details?.['sid'], sid(signedIn.body.access_token));

    const changed = await call(server.url, 'POST', '/auth/password', {
      token: session.access_token,
      body: { current_password: 'erin password old', new_password: 'erin password newer' },
    });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    const [passwordChanged] = await events(`type=password.changed&user=${erin}`);
    assert.equal(passwordChanged?.actor, erin);

    // A change of address: asked, then confirmed by the link mailed to the new one.
    const asked = await call(server.url, 'POST', '/auth/email', {
      token: session.access_token,
      body: { email: 'erin@elsewhere.example', password: 'erin password newer' },
    });
    assert.equal(asked.status, 202, JSON.stringify(asked.body));
    const confirm = lastMailTo('erin@elsewhere.example', 'change_email')!.link!;
    const confirmed = await call(server.url, 'POST', '/auth/email/confirm', {
      body: { token: tokenOf(confirm) },
    });
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    const emailEvents = (await events(`user=${erin}`))
      .filter((e) => e.type.startsWith('email.'))
      .map((e) => e.type);
    assert.deepEqual(emailEvents, ['email.changed', 'email.change_requested']);
    // No address in the log.
    assert.doesNotMatch(JSON.stringify(await events(`user=${erin}`)), /elsewhere|password newer/);

    const deleted = await call(server.url, 'DELETE', '/auth/account', {
      token: session.access_token,
      body: { password: 'erin password newer' },
    });
    assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
    const [gone] = await events(`type=account.deleted&user=${erin}`);
    assert.equal(gone?.actor, erin);
  });

  test('email verification is recorded', async () => {
    const verifying = await start({
      passwordParams: FAST_ARGON2,
      verifyEmail: true,
      mailTransport: { send: async (message: MailMessage) => void sent.push(message) },
    });
    try {
      const r = await call(verifying.url, 'POST', '/auth/register', {
        body: { username: 'gwen', email: 'gwen@example.com', password: 'gwen password one' },
      });
      assert.equal(r.status, 202);
      const deadline = Date.now() + 5000;
      while (!lastMailTo('gwen@example.com', 'verify_email') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const link = lastMailTo('gwen@example.com', 'verify_email')!.link!;
      const verified = await call(
        verifying.url,
        'GET',
        `/auth/verify-email?token=${tokenOf(link)}`,
      );
      assert.equal(verified.status, 200);
      const list = await verifying.app.store.listAuditEvents({ limit: 10 });
      assert.deepEqual(
        list.map((e) => e.type),
        ['email.verified', 'user.registered'],
      );
    } finally {
      await verifying.close();
    }
  });

  test('app metadata: the current role is checked as in the rest of the admin API, and the change recorded', async () => {
    const set = await call(server.url, 'PUT', `/admin/users/${ids['bob']}/app-metadata`, {
      token: admin,
      body: { app_metadata: { tenant: 'acme' } },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const [event] = await events(`type=admin.app_metadata_set&user=${ids['bob']}`);
    assert.equal(event?.actor, ids['alice']);
    assert.deepEqual(event?.details, { bytes: 17 });
    // Demoted: the token still says admin, the database no longer does.
    await server.app.store.setUserRoles(ids['alice']!, ['user'], Date.now());
    try {
      const refused = await call(server.url, 'PUT', `/admin/users/${ids['bob']}/app-metadata`, {
        token: admin,
        body: { app_metadata: {} },
      });
      assert.equal(refused.status, 403);
      assert.equal(refused.body['error'], 'insufficient_scope');
    } finally {
      await server.app.store.setUserRoles(ids['alice']!, ['user', 'admin'], Date.now());
    }
  });
});

describe('second factors in the audit log and the admin API', () => {
  // The server's clock, at a TOTP step boundary; moved a step after each code (codes are single-use).
  let clock = Math.floor(Date.UTC(2030, 0, 1) / 30_000) * 30_000 + 1000;
  const codeOf = (secret: string) => {
    const code = TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: clock });
    clock += 30_000;
    return code;
  };
  let server: Running;
  const ids: Record<string, string> = {};
  let admin: string;
  const PASSWORD = 'a long enough password';
  const events = async (query: string) =>
    (
      await call<{ events: Event[] }>(server.url, 'GET', `/admin/audit?${query}`, {
        token: admin,
      })
    ).body.events;
  /** The second factors report their events without waiting: poll a little. */
  const eventually = async (query: string, count = 1) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = await events(query);
      if (found.length >= count || Date.now() > deadline) return found;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const passwordStep = (username: string) =>
    call(server.url, 'POST', '/auth/login', { body: { username, password: PASSWORD } });

  before(async () => {
    server = await start({ passwordParams: FAST_ARGON2, now: () => clock });
    for (const name of ['alice', 'bob']) {
      const reply = await call<{ user: { id: string } }>(server.url, 'POST', '/auth/register', {
        body: { username: name, email: `${name}@example.com`, password: PASSWORD },
      });
      ids[name] = reply.body.user.id;
    }
    await server.app.store.setUserRoles(ids['alice']!, ['user', 'admin'], clock);
    admin = (await passwordStep('alice')).body['access_token'] as string;
  });
  after(() => server?.close());

  test('enrolment, a log-in finished by a code or a recovery code, and an admin reset are recorded', async () => {
    const bob = ids['bob']!;
    const token = (await passwordStep('bob')).body['access_token'] as string;
    const enrol = await call(server.url, 'POST', '/auth/mfa/totp', { token });
    const secret = enrol.body['secret'] as string;
    const confirmed = await call(server.url, 'POST', '/auth/mfa/totp/confirm', {
      token,
      body: { code: codeOf(secret) },
    });
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    const recovery = confirmed.body['recovery_codes'] as string[];
    const [enrolled] = await eventually(`type=mfa.totp_enrolled&user=${bob}`);
    assert.equal(enrolled?.actor, bob);

    // The password step alone is no log-in: only the second step records one.
    const before = (await events(`type=login.succeeded&user=${bob}`)).length;
    const first = await passwordStep('bob');
    assert.equal(first.body['error'], 'mfa_required');
    assert.equal((await events(`type=login.succeeded&user=${bob}`)).length, before);
    const done = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: first.body['mfa_token'], code: codeOf(secret) },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const [byCode] = await events(`type=login.succeeded&user=${bob}`);
    assert.deepEqual(byCode?.details, { method: 'second_factor', amr: 'pwd otp mfa' });
    assert.equal(byCode?.ip, '127.0.0.1');

    const second = await passwordStep('bob');
    const byRecovery = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: second.body['mfa_token'], recovery_code: recovery[0] },
    });
    assert.equal(byRecovery.status, 200, JSON.stringify(byRecovery.body));
    const [used] = await eventually(`type=mfa.recovery_code_used&user=${bob}`);
    assert.deepEqual(used?.details, { remaining: 9 });
    // Never a code or a secret in the log.
    const log = JSON.stringify(await events(`user=${bob}`));
    assert.ok(!log.includes(secret) && !log.includes(recovery[0]!));

    const reset = await call(server.url, 'DELETE', `/admin/users/${bob}/second-factors`, {
      token: admin,
    });
    assert.equal(reset.status, 200);
    assert.deepEqual(reset.body, { reset: true });
    const again = await call(server.url, 'DELETE', `/admin/users/${bob}/second-factors`, {
      token: admin,
    });
    assert.deepEqual(again.body, { reset: false });
    const resets = await events(`type=admin.second_factors_reset&user=${bob}`);
    assert.deepEqual(
      resets.map((e) => e.actor),
      [ids['alice']],
    );
    assert.equal((await passwordStep('bob')).status, 200);
    const unknown = await call(server.url, 'DELETE', '/admin/users/nobody/second-factors', {
      token: admin,
    });
    assert.equal(unknown.status, 404);
  });
});
