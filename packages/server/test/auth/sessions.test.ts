// AuthService below HTTP, on an injected clock over a temporary SQLite store and a PostgreSQL
// schema: rotation, racing refreshes, reuse after the grace window, log-out and log-out
// everywhere announced to a fake revocation sink, disabled accounts, rehash on log-in with old
// argon2 parameters, and the successor secret: nowhere in a dump of the store, and changed by a
// new key-encryption key without forking or revoking a family.
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AuthServiceError } from '../../src/auth/errors.ts';
import { rewrapSigningKeys } from '../../src/auth/keyring.ts';
import type { AuthService } from '../../src/auth/service.ts';
import {
  type Clock,
  FAST_ARGON2,
  newKek,
  newUser,
  openDomain,
  openTestStore,
  type StoreKind,
  type TestStore,
} from './fixtures/domain.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/** The AuthServiceError code and description a promise rejects with. */
async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof AuthServiceError)) throw error;
    return { code: error.code, message: error.message };
  }
  assert.fail('expected an AuthServiceError');
}

async function logIn(auth: AuthService) {
  const { username, password } = await newUser(auth);
  const { user, tokens } = await auth.login({ username, password });
  return { user, tokens, username, password };
}

const sidOf = (auth: AuthService, accessToken: string) =>
  String(auth.keyRing.verify(accessToken).payload['sid']);

for (const kind of ['sqlite', 'postgres'] as StoreKind[]) {
  describe(`AuthService sessions (${kind}), injected clock`, () => {
    const clock: Clock = { now: Date.UTC(2027, 0, 1) };
    let db: TestStore;
    before(async () => {
      db = await openTestStore(kind);
    });
    after(async () => {
      await db.close();
    });

    test('rotation: a refresh spends its token and names one successor of the same session', async () => {
      const { auth } = await openDomain(db, clock);
      const { tokens } = await logIn(auth);
      const sid = sidOf(auth, tokens.access_token);
      clock.now += 1000;
      const next = await auth.refresh(tokens.refresh_token);
      assert.notEqual(next.refresh_token, tokens.refresh_token);
      assert.equal(sidOf(auth, next.access_token), sid, 'the same session');
      assert.equal(next.refresh_expires_in, 86_400 - 1, 'the absolute expiry is inherited');
      const spent = await db.store.findRefreshToken(sha256(tokens.refresh_token));
      assert.equal(spent?.usedAt, clock.now);
      assert.equal(spent?.replacedBy, sha256(next.refresh_token));
      const third = await auth.refresh(next.refresh_token);
      assert.equal(sidOf(auth, third.access_token), sid);
    });

    test('racing refreshes of one token all get the same successor; one token stays live', async () => {
      const { auth } = await openDomain(db, clock);
      const { tokens } = await logIn(auth);
      const racers = await Promise.all(
        Array.from({ length: 20 }, () => auth.refresh(tokens.refresh_token)),
      );
      const successors = new Set(racers.map((r) => r.refresh_token));
      assert.equal(successors.size, 1);
      const [successor] = successors as Set<string>;
      assert.equal((await db.store.findRefreshToken(sha256(successor!)))?.usedAt, null);
      // A late racer within the window follows the chain to the live end.
      clock.now += 2000;
      const live = await auth.refresh(successor!);
      clock.now += 2000;
      assert.equal((await auth.refresh(tokens.refresh_token)).refresh_token, live.refresh_token);
    });

    test('reuse after the grace window revokes the family, says why, and is announced', async () => {
      const { auth, sink } = await openDomain(db, clock);
      const { tokens } = await logIn(auth);
      const sid = sidOf(auth, tokens.access_token);
      const next = await auth.refresh(tokens.refresh_token);
      clock.now += 10_000;
      assert.equal(
        (await auth.refresh(tokens.refresh_token)).refresh_token,
        next.refresh_token,
        'at the end of the window: still a racer',
      );
      clock.now += 1;
      assert.deepEqual(await refusal(auth.refresh(tokens.refresh_token)), {
        code: 'invalid_grant',
        message:
          'the refresh token was already used; the session was revoked for safety; log in again',
      });
      assert.deepEqual(sink.revoked, [{ sid, untilMs: clock.now + 900_000 + 60_000 }]);
      assert.deepEqual(await refusal(auth.refresh(next.refresh_token)), {
        code: 'invalid_grant',
        message: 'the refresh token was reused; the session was revoked for safety; log in again',
      });
      const record = await db.store.findRefreshToken(sha256(next.refresh_token));
      assert.equal(record?.revokedReason, 'reuse');
    });

    test('with the grace window off, any second use is reuse', async () => {
      const { auth } = await openDomain(db, clock, { reuseGrace: 0 });
      const { tokens } = await logIn(auth);
      const next = await auth.refresh(tokens.refresh_token);
      assert.equal((await refusal(auth.refresh(tokens.refresh_token))).code, 'invalid_grant');
      assert.match((await refusal(auth.refresh(next.refresh_token))).message, /reused/);
    });

    test('log-out revokes the session and announces it; unknown tokens say nothing', async () => {
      const { auth, sink } = await openDomain(db, clock);
      const { tokens } = await logIn(auth);
      const sid = sidOf(auth, tokens.access_token);
      await auth.logout(tokens.refresh_token);
      assert.deepEqual(sink.revoked, [{ sid, untilMs: clock.now + 960_000 }]);
      assert.deepEqual(await refusal(auth.refresh(tokens.refresh_token)), {
        code: 'invalid_grant',
        message: 'the session was logged out; log in again',
      });
      await auth.logout(tokens.refresh_token);
      await auth.logout(`rt_${'A'.repeat(43)}`);
      await auth.logout('not a token');
      await auth.logout(42);
      assert.equal(sink.revoked.length, 2, 'a second log-out of the same session announces again');
    });

    test('log-out everywhere revokes and announces every live session of the user only', async () => {
      const { auth, sink } = await openDomain(db, clock);
      const first = await logIn(auth);
      const second = await auth.login({ username: first.username, password: first.password });
      const other = await logIn(auth);
      const revoked = await auth.logoutAll(first.user.id);
      assert.equal(revoked, 2);
      assert.deepEqual(
        sink.revoked.map((r) => r.sid).sort(),
        [sidOf(auth, first.tokens.access_token), sidOf(auth, second.tokens.access_token)].sort(),
      );
      assert.match(
        (await refusal(auth.refresh(second.tokens.refresh_token))).message,
        /logged out everywhere/,
      );
      await auth.refresh(other.tokens.refresh_token);
    });

    test('a failing revocation sink is reported; the log-out has happened', async () => {
      const { auth, sink, errors } = await openDomain(db, clock);
      const { tokens } = await logIn(auth);
      sink.fail = true;
      await auth.logout(tokens.refresh_token);
      assert.equal(errors.length, 1);
      assert.equal((await refusal(auth.refresh(tokens.refresh_token))).code, 'invalid_grant');
    });

    test('a disabled account: no log-in (only after the right password), no refresh, no current user', async () => {
      const { auth, sink } = await openDomain(db, clock);
      const { user, tokens, username, password } = await logIn(auth);
      await db.store.setUserDisabled(user.id, true, clock.now);
      assert.equal(
        (await refusal(auth.login({ username, password: 'not the password' }))).code,
        'invalid_credentials',
      );
      assert.equal((await refusal(auth.login({ username, password }))).code, 'account_disabled');
      assert.deepEqual(await refusal(auth.refresh(tokens.refresh_token)), {
        code: 'invalid_grant',
        message: 'the account is disabled',
      });
      assert.deepEqual(
        sink.revoked.map((r) => r.sid),
        [sidOf(auth, tokens.access_token)],
      );
      const record = await db.store.findRefreshToken(sha256(tokens.refresh_token));
      assert.equal(record?.revokedReason, 'disabled');
      const claims = auth.keyRing.verify(tokens.access_token).payload as never;
      assert.equal((await refusal(auth.currentUser(claims))).code, 'account_disabled');
      await db.store.setUserDisabled(user.id, false, clock.now);
      assert.match(
        (await refusal(auth.refresh(tokens.refresh_token))).message,
        /ended when the account was disabled/,
      );
    });

    test('a log-in rehashes a password hashed with older argon2 parameters, once', async () => {
      const { auth: old } = await openDomain(db, clock);
      const { user, username, password } = await newUser(old);
      assert.match(user.passwordHash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
      const stronger = { ...FAST_ARGON2, memory: 2048, passes: 2 };
      const { auth } = await openDomain(db, clock, { passwordParams: stronger });
      await auth.login({ username, password });
      const rehashed = (await db.store.findUserById(user.id))!.passwordHash;
      assert.match(rehashed, /^\$argon2id\$v=19\$m=2048,t=2,p=1\$/);
      await auth.login({ username, password });
      assert.equal((await db.store.findUserById(user.id))!.passwordHash, rehashed, 'once');
      // A wrong password never rehashes.
      const other = await newUser(old);
      await refusal(auth.login({ username: other.username, password: 'wrong password!' }));
      assert.equal(
        (await db.store.findUserById(other.user.id))!.passwordHash,
        other.user.passwordHash,
      );
    });

    test('a dump of the store and a spent refresh token do not yield its successor', async () => {
      const { auth } = await openDomain(db, clock);
      const { tokens } = await logIn(auth);
      const next = await auth.refresh(tokens.refresh_token);
      const cells = await db.dump();
      assert.ok(cells.length > 0);
      const text = (cell: unknown) =>
        Buffer.isBuffer(cell) || cell instanceof Uint8Array
          ? Buffer.from(cell).toString('latin1')
          : String(cell);
      for (const cell of cells) {
        assert.ok(!text(cell).includes(next.refresh_token), 'the successor is not stored');
        // Any cell taken as an HMAC key, whichever way it may encode one.
        const value = text(cell);
        const keys = [
          Buffer.from(value, 'utf8'),
          Buffer.from(value, 'base64url'),
          Buffer.from(value, 'base64'),
          Buffer.from(value, 'hex'),
          ...(Buffer.isBuffer(cell) || cell instanceof Uint8Array ? [Buffer.from(cell)] : []),
        ];
        for (const key of keys) {
          const derived = `rt_${createHmac('sha256', key).update(tokens.refresh_token).digest('base64url')}`;
          assert.notEqual(derived, next.refresh_token, 'a stored value derives the successor');
        }
      }
    });

    test('a new key-encryption key (keys rewrap): racers across the change are refused, never forked or revoked', async () => {
      // Two instances on one store: `early` loaded its keys under the old KEK and keeps them;
      // `late` starts after `laissez keys rewrap`, with the new one.
      const { auth: early } = await openDomain(db, clock);
      const { tokens } = await logIn(early);
      const next = await early.refresh(tokens.refresh_token);
      const kek = newKek();
      await rewrapSigningKeys(db.store, db.kek, kek);
      db.kek = kek;
      const { auth: late } = await openDomain(db, clock);
      clock.now += 1000;
      assert.deepEqual(await refusal(late.refresh(tokens.refresh_token)), {
        code: 'invalid_grant',
        message: 'the refresh token was just used by another request; log in again',
      });
      // The session goes on: the successor the first instance handed out is live, on either.
      const third = await late.refresh(next.refresh_token);
      await early.refresh(third.refresh_token);
      // After the window, the spent token is reuse on either instance, whatever its KEK.
      clock.now += 10_001;
      assert.match((await refusal(late.refresh(tokens.refresh_token))).message, /already used/);
    });
  });
}
