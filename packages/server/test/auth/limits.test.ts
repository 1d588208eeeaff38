// The log-in limits below HTTP: the in-memory counter store's atomic reserve and release, the
// checks on a rateLimits option, device tokens, and the budgets of AuthService.login on an
// injected clock (windows that end, a success that gives its attempt back), and the account budget
// each request to the account routes spends once.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEVICE_TOKEN_TTL, issueDeviceToken, readDeviceToken } from '../../src/auth/device.ts';
import { AuthServiceError } from '../../src/auth/errors.ts';
import { KeyEncryptionKey } from '../../src/auth/kek.ts';
import { KeyRing } from '../../src/auth/keyring.ts';
import {
  DEFAULT_RATE_LIMITS,
  MemoryCounterStore,
  resolveRateLimits,
} from '../../src/auth/limits.ts';
import { AuthService } from '../../src/auth/service.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import {
  type Clock,
  newUser,
  openDomain,
  openTestStore,
  type TestStore,
} from './fixtures/domain.ts';

const FAST_ARGON2 = { memory: 1024, passes: 1, parallelism: 1 };

describe('MemoryCounterStore.reserve and release', () => {
  test('of 100 reservations at once, exactly max are granted', async () => {
    const store = new MemoryCounterStore();
    const now = 1_000_000;
    const results = await Promise.all(
      Array.from({ length: 100 }, () => store.reserve('k', 7, 60_000, now)),
    );
    assert.equal(results.filter((r) => r.ok).length, 7);
    assert.deepEqual(
      results.filter((r) => r.ok).map((r) => r.count),
      [1, 2, 3, 4, 5, 6, 7],
    );
    for (const r of results) assert.equal(r.resetAt, now + 60_000);
    assert.equal((await store.peek('k', now)).count, 7, 'a refusal adds nothing');
  });

  test('release gives one back, never below zero, and keeps the window’s end', async () => {
    const store = new MemoryCounterStore();
    const now = 5_000;
    await store.reserve('k', 2, 10_000, now);
    await store.reserve('k', 2, 10_000, now);
    assert.equal((await store.reserve('k', 2, 10_000, now + 1)).ok, false);
    await store.release('k', now + 2);
    assert.deepEqual(await store.peek('k', now + 3), { count: 1, resetAt: now + 10_000 });
    const again = await store.reserve('k', 2, 10_000, now + 4);
    assert.deepEqual(again, { ok: true, count: 2, resetAt: now + 10_000 });
    for (let i = 0; i < 5; i++) await store.release('k', now + 5);
    assert.equal((await store.peek('k', now + 6)).count, 0);
    await store.release('nothing', now);
    // The window ends: a fresh one.
    await store.reserve('k', 2, 10_000, now);
    await store.reserve('k', 2, 10_000, now);
    assert.deepEqual(await store.reserve('k', 2, 10_000, now + 10_000), {
      ok: true,
      count: 1,
      resetAt: now + 20_000,
    });
  });

  test('refuses a max that is not a whole number of at least 1', async () => {
    const store = new MemoryCounterStore();
    for (const max of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(store.reserve('k', max, 1000, 0), TypeError);
    }
  });
});

describe('resolveRateLimits', () => {
  test('defaults, frozen', () => {
    const limits = resolveRateLimits(undefined);
    assert.deepEqual(limits, DEFAULT_RATE_LIMITS);
    assert.ok(Object.isFrozen(limits));
    assert.equal(limits.loginFailuresPerClient.max, 5);
    assert.ok(limits.loginFailuresPerClient.max < limits.loginFailuresPerAccount.max);
  });

  test('an object without the per-client and per-device budgets keeps one account budget', () => {
    const own = { max: 3, window: 60 };
    const limits = resolveRateLimits({
      loginPerIp: { max: 100, window: 60 },
      loginFailuresPerAccount: own,
      registerPerIp: { max: 1, window: 60 },
    });
    assert.deepEqual(limits.loginFailuresPerClient, own);
    assert.deepEqual(limits.loginFailuresPerDevice, own);
  });

  test('unknown names are refused with a suggestion; bad limits are refused', () => {
    assert.throws(
      () =>
        resolveRateLimits({
          ...DEFAULT_RATE_LIMITS,
          loginFailurePerClient: { max: 1, window: 1 },
        } as never),
      /no limit 'loginFailurePerClient'; did you mean 'loginFailuresPerClient'\?/,
    );
    for (const bad of [
      { max: 0, window: 60 },
      { max: 2.5, window: 60 },
      { max: 1, window: 0 },
      5,
    ]) {
      assert.throws(
        () => resolveRateLimits({ ...DEFAULT_RATE_LIMITS, loginFailuresPerDevice: bad as never }),
        /rateLimits.loginFailuresPerDevice must be/,
      );
    }
    assert.throws(() => resolveRateLimits('fast' as never), TypeError);
  });
});

describe('device tokens', () => {
  const user = { id: 'u-1', passwordHash: '$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA' };
  const now = Date.UTC(2027, 0, 1);

  test('read back for the account that was given it, until it expires', () => {
    const token = issueDeviceToken(user, now);
    const nonce = readDeviceToken(token, user, now);
    assert.match(String(nonce), /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(readDeviceToken(issueDeviceToken(user, now), user, now), nonce, 'random');
    assert.equal(readDeviceToken(token, user, now + DEVICE_TOKEN_TTL * 1000 - 1000), nonce);
    assert.equal(readDeviceToken(token, user, now + DEVICE_TOKEN_TTL * 1000), undefined);
  });

  test('not for another account, after a password change, tampered, or malformed', () => {
    const token = issueDeviceToken(user, now);
    assert.equal(readDeviceToken(token, { ...user, id: 'u-2' }, now), undefined);
    assert.equal(
      readDeviceToken(token, { ...user, passwordHash: `${user.passwordHash}x` }, now),
      undefined,
    );
    const parts = token.split('.');
    // Another account's id with this MAC; a later expiry; a flipped MAC.
    const swapped = [parts[0], Buffer.from('u-2').toString('base64url'), ...parts.slice(2)].join(
      '.',
    );
    assert.equal(readDeviceToken(swapped, { ...user, id: 'u-2' }, now), undefined);
    const longer = [...parts.slice(0, 2), String(Number(parts[2]) + 1), ...parts.slice(3)].join(
      '.',
    );
    assert.equal(readDeviceToken(longer, user, now), undefined);
    const mac = parts[4]!;
    const flipped = [...parts.slice(0, 4), (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1)].join('.');
    assert.equal(readDeviceToken(flipped, user, now), undefined);
    for (const bad of [
      undefined,
      42,
      '',
      'd1',
      `${token}.x`,
      token.replace('d1', 'd2'),
      'x'.repeat(5000),
    ]) {
      assert.equal(readDeviceToken(bad, user, now), undefined, String(bad).slice(0, 40));
    }
  });
});

describe('AuthService.login budgets, injected clock', () => {
  let dir: string;
  let store: Store;
  let clock = Date.UTC(2027, 0, 1);
  let auth: AuthService;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'laissez-limits-'));
    store = openSqliteStore({ path: join(dir, 'laissez.db') });
    await store.migrate();
    const now = () => clock;
    const keyRing = await KeyRing.open(store, {
      alg: 'HS256',
      issuer: 'http://localhost',
      audience: 'api',
      accessTtl: 900,
      now,
      kek: KeyEncryptionKey.fromBytes(randomBytes(32), 'a test key-encryption key'),
    });
    auth = new AuthService({
      store,
      keyRing,
      accessTtl: 900,
      refreshTtl: 86_400,
      reuseGrace: 10,
      now,
      passwordParams: FAST_ARGON2,
    });
    await auth.register({
      username: 'odin',
      email: 'odin@example.com',
      password: 'odin pass phrase',
    });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const attempt = (password: string, extra: { ip?: string; deviceToken?: string } = {}) =>
    auth.login({ username: 'odin', password, ip: '192.0.2.1', ...extra }).then(
      (result): { status: string; retryAfter?: number | undefined; deviceToken?: string } => ({
        status: 'ok',
        deviceToken: result.deviceToken,
      }),
      (error: unknown) => {
        if (!(error instanceof AuthServiceError)) throw error;
        return { status: error.code, retryAfter: error.retryAfter };
      },
    );

  test('a success is not a failure; the address’s lock ends with its window', async () => {
    for (let i = 0; i < 4; i++)
      assert.equal((await attempt('wrong')).status, 'invalid_credentials');
    assert.equal((await attempt('odin pass phrase')).status, 'ok');
    assert.equal((await attempt('wrong')).status, 'invalid_credentials', 'the fifth failure');
    const locked = await attempt('odin pass phrase');
    assert.equal(locked.status, 'too_many_requests');
    assert.equal(locked.retryAfter, 15 * 60);
    clock += 10 * 60_000;
    assert.equal((await attempt('odin pass phrase')).retryAfter, 5 * 60);
    clock += 5 * 60_000;
    assert.equal((await attempt('odin pass phrase')).status, 'ok');
  });

  test('the device budget is separate and ends with its window too', async () => {
    clock += 60 * 60_000;
    const ok = await attempt('odin pass phrase');
    assert.equal(ok.status, 'ok');
    const deviceToken = String(ok.deviceToken);
    for (let i = 0; i < 5; i++) {
      assert.equal((await attempt('wrong', { deviceToken })).status, 'invalid_credentials');
    }
    assert.equal((await attempt('odin pass phrase', { deviceToken })).status, 'too_many_requests');
    // The device's failures did not touch the address's budget.
    assert.equal((await attempt('odin pass phrase')).status, 'ok');
    clock += 15 * 60_000;
    assert.equal((await attempt('odin pass phrase', { deviceToken })).status, 'ok');
  });
});

describe('the account budget (accountPerUser), injected clock', () => {
  const clock: Clock = { now: Date.UTC(2027, 0, 1) };
  let db: TestStore;
  before(async () => {
    db = await openTestStore('sqlite');
  });
  after(async () => {
    await db.close();
  });

  test('each account request spends one unit: ending a session too, not two', async () => {
    const counters = new MemoryCounterStore();
    const { auth } = await openDomain(db, clock, { counters });
    const { username, password, user } = await newUser(auth);
    const { tokens } = await auth.login({ username, password });
    const claims = auth.keyRing.verify(tokens.access_token).payload as never;
    const spent = async () => (await counters.peek(`account:u:${user.id}`, clock.now)).count;
    const [session] = await auth.listSessions(claims);
    assert.equal(await spent(), 1, 'the list');
    await auth.endSession(claims, String(session?.id));
    assert.equal(await spent(), 2, 'the list and the end of one session');
  });
});
