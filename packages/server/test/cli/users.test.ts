// `laissez users …` run as a process against the database of a live auth server: what the CLI
// does is what the server sees (log-in works, a disabled user is refused and loses their refresh
// tokens, a deleted user is gone).

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeUnverified } from '../../../jwt/src/index.ts';
import { freePort } from '../helpers/ports.ts';
import { laissez } from '../helpers/processes.ts';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

describe('laissez users against a live server', () => {
  let server: Running;
  let dir: string;
  const users = (args: string[], input = '') =>
    laissez(['users', ...args, '--data-dir', server.dataDir], { input });
  const login = (username: string, password: string) =>
    call<{ access_token: string; refresh_token: string }>(server.url, 'POST', '/auth/login', {
      body: { username, password },
    });

  before(async () => {
    server = await start({ passwordParams: FAST_ARGON2 });
    dir = await mkdtemp(join(tmpdir(), 'laissez-users-'));
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('add: the password from stdin, roles from --role; the user logs in with those roles', async () => {
    const r = await users(
      ['add', '--username', 'Odin', '--email', 'Odin@Example.com', '--role', 'user,admin'],
      'allfather password\n',
    );
    assert.equal(r.code, 2, 'without --password-stdin and without a terminal: usage error');
    assert.match(r.stderr, /pipe it in with --password-stdin \(never as a flag\)/);

    const added = await users(
      [
        'add',
        '--username',
        'Odin',
        '--email',
        'Odin@Example.com',
        '--role',
        'user,admin',
        '--password-stdin',
        '--json',
      ],
      'allfather password\n',
    );
    assert.equal(added.code, 0, added.stderr);
    const user = JSON.parse(added.stdout);
    assert.equal(user.username, 'Odin');
    assert.equal(user.email, 'odin@example.com');
    assert.deepEqual(user.roles, ['user', 'admin']);
    assert.doesNotMatch(added.stdout, /argon2|password/);

    const r2 = await login('odin', 'allfather password');
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
    assert.deepEqual(decodeUnverified(r2.body.access_token).payload.roles, ['user', 'admin']);
  });

  test('add refuses what register refuses, saying why, without echoing the password', async () => {
    const taken = await users(
      ['add', '--username', 'ODIN', '--email', 'other@example.com', '--password-stdin'],
      'another password\n',
    );
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /username_taken: that username is already registered/);
    const short = await users(
      ['add', '--username', 'thor', '--email', 'thor@example.com', '--password-stdin'],
      'hammer\n',
    );
    assert.equal(short.code, 1);
    assert.match(short.stderr, /invalid_request: password must be 8 to 1024 characters/);
    assert.ok(!short.stderr.includes('hammer'));
    const lookAlike = await users(
      [
        'add',
        '--username',
        '\uFF2F\uFF24\uFF29\uFF2E',
        '--email',
        'o2@example.com',
        '--password-stdin',
      ],
      'another password\n',
    );
    assert.equal(lookAlike.code, 1);
    assert.match(lookAlike.stderr, /username_taken/);
    const common = await users(
      ['add', '--username', 'tyr', '--email', 'tyr@example.com', '--password-stdin'],
      'password123\n',
    );
    assert.equal(common.code, 1);
    assert.match(common.stderr, /weak_password: password is in a list of commonly used passwords/);
    assert.ok(!common.stderr.includes('password123'));
    const role = await users(
      [
        'add',
        '--username',
        'loki',
        '--email',
        'loki@example.com',
        '--role',
        'Root!',
        '--password-stdin',
      ],
      'trickster password\n',
    );
    assert.equal(role.code, 1);
    assert.match(role.stderr, /a role is 1 to 32 lower-case letters/);
  });

  test('list shows users without hashes, as a table or JSON', async () => {
    const json = await users(['list', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const listed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    const odin = listed.find((u) => u.username === 'Odin');
    assert.ok(odin);
    assert.equal(odin.disabled, false);
    assert.doesNotMatch(json.stdout, /argon2|password/);
    const table = await users(['list']);
    assert.match(table.stdout, /^ID\s+USERNAME\s+EMAIL\s+ROLES\s+STATE\s+CREATED$/m);
    assert.match(table.stdout, /\sOdin\s+odin@example\.com\s+user,admin\s+active\s/);
  });

  test('disable refuses log-in and revokes refresh tokens; enable lets the user log in again', async () => {
    const before = await login('odin', 'allfather password');
    assert.equal(before.status, 200);
    const disabled = await users(['disable', 'odin@example.com', '--json']);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.ok(JSON.parse(disabled.stdout).revoked >= 1);
    assert.equal((await login('odin', 'allfather password')).status, 403);
    const refresh = await call(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: before.body.refresh_token },
    });
    assert.equal(refresh.status, 401);
    // The refresh says why, and no more than the token's holder may know.
    assert.deepEqual(refresh.body, {
      error: 'invalid_grant',
      error_description: 'the account is disabled',
    });
    const me = await call(server.url, 'GET', '/auth/me', { token: before.body.access_token });
    assert.equal(me.status, 403, 'the server checks the user on /auth/me');

    const enabled = await users(['enable', 'Odin']);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.match(enabled.stdout, /^enabled Odin$/m);
    assert.equal((await login('odin', 'allfather password')).status, 200);
    const old = await call(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: before.body.refresh_token },
    });
    assert.equal(
      old.body.error_description,
      'the session was ended when the account was disabled; log in again',
    );
  });

  test('delete removes the user; the name is free again; an unknown user exits 1, not as a usage error', async () => {
    const deleted = await users(['delete', 'odin']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /^deleted Odin \(id /m);
    assert.equal((await login('odin', 'allfather password')).status, 401);
    const [again, disableNobody] = await Promise.all([
      users(['delete', 'odin']),
      users(['disable', 'nobody']),
    ]);
    for (const r of [again, disableNobody]) {
      assert.equal(r.code, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /--help/, 'the command line was right: no usage hint');
    }
    assert.match(again.stderr, /no user with the id, username or email "odin"/);
    assert.match(disableNobody.stderr, /^laissez users disable: no user .* "nobody"/m);
    const register = await call(server.url, 'POST', '/auth/register', {
      body: { username: 'odin', email: 'odin@example.com', password: 'a new odin password' },
    });
    assert.equal(register.status, 201);
  });

  test('import adds good lines, reports bad ones by number and never prints a password', async () => {
    const lines = [
      { username: 'freya', email: 'freya@example.com', password: 'falcon cloak 1' },
      { username: 'FREYA', email: 'freya2@example.com', password: 'falcon cloak 2' },
      'this is not json',
      { username: 'tyr', email: 'tyr@example.com', password: 'short' },
      {
        username: 'heimdall',
        email: 'heimdall@example.com',
        password: 'gjallarhorn!',
        roles: ['watch'],
      },
      '',
      { username: 'baldr', email: 'baldr@example.com', password: 'mistletoe safe' },
    ];
    const file = join(dir, 'users.jsonl');
    await writeFile(
      file,
      `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`,
    );
    const r = await laissez(['users', 'import', file, '--data-dir', server.dataDir, '--json']);
    assert.equal(r.code, 1, 'some lines were refused');
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.added, 3);
    assert.deepEqual(
      summary.refused.map((x: { line: number; error: string }) => [x.line, x.error]),
      [
        [2, 'username_taken'],
        [3, 'invalid_json'],
        [4, 'invalid_request'],
      ],
    );
    for (const secret of ['falcon cloak', 'short', 'gjallarhorn', 'mistletoe']) {
      assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret));
    }
    const heimdall = await login('heimdall', 'gjallarhorn!');
    assert.equal(heimdall.status, 200);
    assert.deepEqual(decodeUnverified(heimdall.body.access_token).payload.roles, ['watch']);

    const fromStdin = await laissez(['users', 'import', '-', '--data-dir', server.dataDir], {
      input: `${JSON.stringify({ username: 'vidar', email: 'vidar@example.com', password: 'silent one!' })}\n`,
    });
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.match(fromStdin.stdout, /^added 1 user, refused 0$/m);
  });

  test('with REDIS_URL, disable publishes the sessions of the user to the revocation list', async () => {
    const redisUrl = process.env['LAISSEZ_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
    const r = await call(server.url, 'POST', '/auth/register', {
      body: { username: 'sif', email: 'sif@example.com', password: 'golden hair 1' },
    });
    assert.equal(r.status, 201);
    const session = await login('sif', 'golden hair 1');
    const sid = decodeUnverified(session.body.access_token).payload.sid as string;
    const disabled = await laissez(['users', 'disable', 'sif', '--data-dir', server.dataDir], {
      env: { REDIS_URL: redisUrl, LAISSEZ_ACCESS_TTL: '5m' },
    });
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.equal(disabled.stderr, '');
    const { createRevocationList } = await import('../../../middleware/src/redis/revocation.ts');
    const list = createRevocationList({ url: redisUrl, timeout: 5000 }); // a check, not a speed test
    try {
      assert.equal(await list.isRevoked(sid), true, 'the session is on the list');
      assert.equal(await list.isRevoked(`${sid}-other`), false);
    } finally {
      await list.close();
    }
  });

  test('with REDIS_URL and no Redis there, disable still ends the sessions and warns once', async () => {
    const r = await call(server.url, 'POST', '/auth/register', {
      body: { username: 'ullr', email: 'ullr@example.com', password: 'bow and skis 1' },
    });
    assert.equal(r.status, 201);
    const session = await login('ullr', 'bow and skis 1');
    assert.equal(session.status, 200);
    const down = `redis://127.0.0.1:${await freePort()}`;
    const disabled = await laissez(['users', 'disable', 'ullr', '--data-dir', server.dataDir], {
      env: { REDIS_URL: down },
    });
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.equal(
      disabled.stderr.trim().split('\n').length,
      1,
      `one line on stderr: ${disabled.stderr}`,
    );
    assert.match(disabled.stderr, /^warning: the sessions were not published to Redis \(/);
    // The sessions ended in the database all the same: the refresh token is refused.
    const refreshed = await call(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: session.body.refresh_token },
    });
    assert.equal(refreshed.status, 401);
  });

  test('list, disable and delete never create a database', async () => {
    for (const args of [['list'], ['disable', 'x'], ['delete', 'x']]) {
      const r = await laissez(['users', ...args, '--data-dir', join(dir, 'none')]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /no laissez database at/);
    }
  });
});
