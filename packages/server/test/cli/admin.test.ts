// `laissez users set-roles|unlock|end-sessions`, `laissez audit` and the audit record of
// `laissez keys rotate`, run as processes against the database of a live auth server: the
// server sees what the CLI did, and every change is in the audit log with the actor `cli`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describeRedis, REDIS_URL } from '../../../middleware/test/redis/helpers.ts';
import { laissez } from '../helpers/processes.ts';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

type Event = { type: string; actor: string; subject: string | null; details: unknown };

describe('laissez users set-roles, end-sessions, unlock and laissez audit', () => {
  let server: Running;
  let id: string;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    laissez([...args, '--data-dir', server.dataDir], { env });
  const login = () =>
    call<{ access_token: string; refresh_token: string }>(server.url, 'POST', '/auth/login', {
      body: { username: 'alice', password: 'correct horse battery' },
    });

  before(async () => {
    server = await start({ passwordParams: FAST_ARGON2 });
    const reply = await call<{ user: { id: string } }>(server.url, 'POST', '/auth/register', {
      body: { username: 'alice', email: 'alice@example.com', password: 'correct horse battery' },
    });
    id = reply.body.user.id;
  });
  after(() => server?.close());

  test('set-roles makes an administrator: the admin API opens at the next log-in', async () => {
    const before = await login();
    const denied = await call(server.url, 'GET', '/admin/users', {
      token: before.body.access_token,
    });
    assert.equal(denied.status, 403);

    const r = await cli(['users', 'set-roles', 'alice', '--role', 'user,admin', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).roles, ['user', 'admin']);
    const admin = (await login()).body.access_token;
    assert.equal((await call(server.url, 'GET', '/admin/users', { token: admin })).status, 200);

    const bad = await cli(['users', 'set-roles', 'alice', '--role', 'Admin']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /a role is 1 to 32 lower-case letters/);
    assert.equal((await cli(['users', 'set-roles', 'nobody', '--role', 'user'])).code, 1);
    assert.equal((await cli(['users', 'set-roles', 'alice'])).code, 2);
  });

  test('end-sessions revokes every refresh token; the account stays usable', async () => {
    const session = (await login()).body;
    const r = await cli(['users', 'end-sessions', 'alice@example.com', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).revoked >= 1);
    const refresh = await call(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: session.refresh_token },
    });
    assert.equal(refresh.status, 401);
    assert.equal((await login()).status, 200);
  });

  test('unlock without REDIS_URL says where the counters are and changes nothing', async () => {
    const r = await cli(['users', 'unlock', 'alice']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /POST \/admin\/users\/<id>\/unlock/);
  });

  test('keys rotate is recorded too', async () => {
    const r = await cli(['keys', 'rotate', '--json']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('audit lists the events, newest first, filtered by type and user; --json', async () => {
    const r = await cli(['audit', '--user', 'alice', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const events = JSON.parse(r.stdout) as Event[];
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 2), ['login.succeeded', 'admin.sessions_ended']);
    assert.ok(types.includes('admin.roles_set'));
    assert.ok(types.includes('user.registered'));
    assert.equal(types.at(-1), 'user.registered');
    const roles = events.find((e) => e.type === 'admin.roles_set');
    assert.equal(roles?.actor, 'cli');
    assert.equal(roles?.subject, id);
    assert.deepEqual(roles?.details, { from: 'user', to: 'user,admin' });

    const keys = JSON.parse((await cli(['audit', '--type', 'key.rotated', '--json'])).stdout);
    assert.equal(keys.length, 1);
    assert.equal(keys[0].actor, 'cli');

    const text = await cli(['audit', '--type', 'admin.roles_set', '--since', '1h']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /admin\.roles_set\s+actor=cli\s+subject=/);
    assert.equal((await cli(['audit', '--since', 'yesterday'])).code, 2);
    assert.equal((await cli(['audit', '--user', 'nobody'])).code, 1);
    const none = await cli(['audit', '--type', 'login.failed']);
    assert.equal(none.stdout.trim(), 'no events');
  });

  test('set-metadata and reset-mfa are recorded with the actor cli (reset-mfa only when a factor was on)', async () => {
    const set = await cli(['users', 'set-metadata', 'alice', '--metadata', '{"plan":"pro"}']);
    assert.equal(set.code, 0, set.stderr);
    const none = await cli(['users', 'reset-mfa', 'alice']);
    assert.equal(none.code, 0, none.stderr);
    await server.app.store.saveTotpFactor({ userId: id, secret: 'sealed', createdAt: Date.now() });
    assert.ok(await server.app.store.confirmTotpFactor(id, 'sealed', 1, Date.now()));
    const reset = await cli(['users', 'reset-mfa', 'alice']);
    assert.equal(reset.code, 0, reset.stderr);
    const recorded = await server.app.store.listAuditEvents({ subject: id, limit: 100 });
    const metadata = recorded.filter((e) => e.type === 'admin.app_metadata_set');
    assert.deepEqual(
      metadata.map((e) => [e.actor, e.details]),
      [['cli', { bytes: 14 }]],
    );
    const resets = recorded.filter((e) => e.type === 'admin.second_factors_reset');
    assert.deepEqual(
      resets.map((e) => e.actor),
      ['cli'],
    );
  });
});

describeRedis('laissez users unlock with REDIS_URL', () => {
  let server: Running;
  let counters: { close(): Promise<void> } | undefined;
  before(async () => {
    const { RedisCounterStore } = await import('../../src/redis/counters.ts');
    // The server's default key prefix, which the CLI resets keys under; the keys name a random
    // user id and expire with their window.
    const store = new RedisCounterStore({ url: REDIS_URL, onError: () => {} });
    counters = store;
    server = await start({
      passwordParams: FAST_ARGON2,
      counters: store,
      rateLimits: {
        loginPerIp: { max: 1000, window: 60 },
        loginFailuresPerAccount: { max: 2, window: 600 },
        loginFailuresPerClient: { max: 100, window: 600 },
        registerPerIp: { max: 1000, window: 60 },
      },
    });
  });
  after(async () => {
    await server?.close();
    await counters?.close();
  });

  test('a locked account logs in again after unlock', async () => {
    const name = `locked${Date.now()}`;
    await call(server.url, 'POST', '/auth/register', {
      body: { username: name, email: `${name}@example.com`, password: 'the right password' },
    });
    const attempt = (password: string) =>
      call(server.url, 'POST', '/auth/login', { body: { username: name, password } });
    assert.equal((await attempt('wrong one here')).status, 401);
    assert.equal((await attempt('wrong two here')).status, 401);
    assert.equal((await attempt('the right password')).status, 429);
    const r = await laissez(['users', 'unlock', name, '--data-dir', server.dataDir], {
      env: { REDIS_URL },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await attempt('the right password')).status, 200);
  });
});
