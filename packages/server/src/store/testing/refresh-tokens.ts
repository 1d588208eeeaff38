// The contract on refresh tokens: atomic rotation (exactly one winner, one successor), why a
// token cannot rotate, revocations with their reasons, sessions, expiry, and server secrets.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { RotateResult, Store } from '../types.ts';
import { DAY, HOUR, newToken, rid, type Suite, successorOf } from './records.ts';

export function refreshTokenTests(suite: Suite): void {
  describe('refresh tokens', () => {
    let store: Store;
    before(() => {
      store = suite.store();
    });
    const { createUser, logIn } = suite;

    test('createRefreshToken stores a fresh token; findRefreshToken reads it back', async () => {
      const { token } = await logIn();
      assert.deepEqual(await store.findRefreshToken(token.tokenHash), {
        ...token,
        usedAt: null,
        replacedBy: null,
        revokedAt: null,
        revokedReason: null,
      });
      assert.equal(await store.findRefreshToken(rid('rt_')), null);
    });

    test("a family's scope and log-in time are stored at log-in and inherited by every rotation, whatever the successor says", async () => {
      const user = await createUser();
      const first = newToken(user.id, { scope: 'notes:read', authTime: Date.now() - HOUR });
      await store.createRefreshToken(first);
      const read = await store.findRefreshToken(first.tokenHash);
      assert.equal(read?.scope, 'notes:read');
      assert.equal(read?.authTime, first.authTime);
      // A successor that asks for more (or for nothing) gets the family's: a refresh never widens.
      const now = first.createdAt + 1000;
      const wider = newToken(user.id, {
        familyId: first.familyId,
        scope: 'notes:read notes:write admin',
        authTime: now,
      });
      assert.equal((await store.rotateRefreshToken(first.tokenHash, wider, now)).status, 'rotated');
      const second = await store.findRefreshToken(wider.tokenHash);
      assert.equal(second?.scope, 'notes:read');
      assert.equal(second?.authTime, first.authTime);
      const { scope: _s, authTime: _a, ...bare } = newToken(user.id, { familyId: first.familyId });
      assert.equal(
        (await store.rotateRefreshToken(wider.tokenHash, bare, now + 1)).status,
        'rotated',
      );
      const third = await store.findRefreshToken(bare.tokenHash);
      assert.equal(third?.scope, 'notes:read');
      assert.equal(third?.authTime, first.authTime);
      // No scope granted ('') is kept apart from none recorded (null), which is the default.
      const none = newToken(user.id, { scope: '' });
      await store.createRefreshToken(none);
      assert.equal((await store.findRefreshToken(none.tokenHash))?.scope, '');
      const { scope: _n, authTime: _m, ...legacy } = newToken(user.id);
      await store.createRefreshToken(legacy);
      const old = await store.findRefreshToken(legacy.tokenHash);
      assert.equal(old?.scope, null);
      assert.equal(old?.authTime, null);
      const next = { ...successorOf(legacy, now), scope: 'admin' };
      assert.equal((await store.rotateRefreshToken(legacy.tokenHash, next, now)).status, 'rotated');
      assert.equal((await store.findRefreshToken(next.tokenHash))?.scope, null);
    });

    test("a family's DPoP key binding is stored at log-in and inherited by every rotation, whatever the successor says", async () => {
      const user = await createUser();
      const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
      const first = newToken(user.id, { jkt });
      await store.createRefreshToken(first);
      assert.equal((await store.findRefreshToken(first.tokenHash))?.jkt, jkt);
      const now = first.createdAt + 1000;
      // A successor naming another key (or none) gets the family's: a thief's proof cannot rebind it.
      const other = newToken(user.id, { familyId: first.familyId, jkt: 'another-key' });
      assert.equal((await store.rotateRefreshToken(first.tokenHash, other, now)).status, 'rotated');
      assert.equal((await store.findRefreshToken(other.tokenHash))?.jkt, jkt);
      const { jkt: _j, ...bare } = newToken(user.id, { familyId: first.familyId });
      assert.equal(
        (await store.rotateRefreshToken(other.tokenHash, bare, now + 1)).status,
        'rotated',
      );
      assert.equal((await store.findRefreshToken(bare.tokenHash))?.jkt, jkt);
      // Unbound families stay unbound, and a successor cannot bind one either.
      const { jkt: _k, ...unbound } = newToken(user.id);
      await store.createRefreshToken(unbound);
      assert.equal((await store.findRefreshToken(unbound.tokenHash))?.jkt, null);
      const next = { ...successorOf(unbound, now), jkt };
      assert.equal(
        (await store.rotateRefreshToken(unbound.tokenHash, next, now)).status,
        'rotated',
      );
      assert.equal((await store.findRefreshToken(next.tokenHash))?.jkt, null);
    });

    test('findRefreshTokenWithUser reads the token and its owner as the two finds do', async (t) => {
      // Optional for a store of one's own; both built-in stores have it.
      if (!store.findRefreshTokenWithUser) return t.skip('findRefreshTokenWithUser is optional');
      const { user, token } = await logIn();
      const now = Date.now();
      assert.deepEqual(await store.findRefreshTokenWithUser(token.tokenHash), {
        token: await store.findRefreshToken(token.tokenHash),
        user: await store.findUserById(user.id),
      });
      // The owner as it is now: disabled, and its token spent.
      await store.setUserDisabled(user.id, true, now + 1);
      const successor = newToken(user.id, { familyId: token.familyId });
      await store.rotateRefreshToken(token.tokenHash, successor, now + 2);
      const both = await store.findRefreshTokenWithUser(token.tokenHash);
      assert.equal(both?.user?.disabled, true);
      assert.equal(both?.token.usedAt, now + 2);
      assert.equal(both?.token.replacedBy, successor.tokenHash);
      assert.deepEqual(both?.user?.roles, user.roles);
      assert.equal(await store.findRefreshTokenWithUser(rid('rt_')), null);
    });

    test('rotate: rotated; the old token is spent and names its successor, which inherits family and expiry', async () => {
      const { token } = await logIn();
      const now = token.createdAt + 60_000;
      const next = successorOf(token, now);
      const result = await store.rotateRefreshToken(token.tokenHash, next, now);
      const spent = {
        ...token,
        usedAt: now,
        replacedBy: next.tokenHash,
        revokedAt: null,
        revokedReason: null,
      };
      assert.deepEqual(result, { status: 'rotated', token: spent });
      assert.deepEqual(await store.findRefreshToken(token.tokenHash), spent);
      const stored = await store.findRefreshToken(next.tokenHash);
      assert.deepEqual(stored, {
        ...next,
        usedAt: null,
        replacedBy: null,
        revokedAt: null,
        revokedReason: null,
      });
      assert.equal(stored?.familyId, token.familyId);
      assert.equal(stored?.expiresAt, token.expiresAt);

      // The successor rotates in turn.
      const third = successorOf(token, now + 1);
      assert.equal(
        (await store.rotateRefreshToken(next.tokenHash, third, now + 1)).status,
        'rotated',
      );
    });

    test('rotating a spent token again: spent, with when and by what; nothing stored', async () => {
      const { token } = await logIn();
      const now = token.createdAt + 1000;
      const first = successorOf(token, now);
      await store.rotateRefreshToken(token.tokenHash, first, now);
      const second = successorOf(token, now + 5000);
      const result = await store.rotateRefreshToken(token.tokenHash, second, now + 5000);
      assert.equal(result.status, 'spent');
      assert.ok(result.status === 'spent');
      assert.equal(result.token.tokenHash, token.tokenHash);
      assert.equal(result.token.usedAt, now);
      assert.equal(result.token.replacedBy, first.tokenHash);
      assert.equal(await store.findRefreshToken(second.tokenHash), null);
    });

    test('rotating an unknown token: missing; nothing stored', async () => {
      const user = await createUser();
      const next = newToken(user.id);
      assert.deepEqual(await store.rotateRefreshToken(rid('rt_'), next, Date.now()), {
        status: 'missing',
      });
      assert.equal(await store.findRefreshToken(next.tokenHash), null);
    });

    test('rotating a token at or past its absolute expiry: expired; not spent, nothing stored', async () => {
      const now = Date.now();
      for (const expiresAt of [now - HOUR, now]) {
        const { token } = await logIn({ createdAt: now - DAY, expiresAt });
        const next = successorOf(token, now);
        const result = await store.rotateRefreshToken(token.tokenHash, next, now);
        assert.equal(result.status, 'expired');
        assert.ok(result.status === 'expired');
        assert.equal(result.token.tokenHash, token.tokenHash);
        assert.equal((await store.findRefreshToken(token.tokenHash))?.usedAt, null);
        assert.equal(await store.findRefreshToken(next.tokenHash), null);
      }
    });

    test('revokeFamily revokes every token of the family, counts them, and rotation says revoked', async () => {
      const { user, token } = await logIn();
      const now = token.createdAt + 1000;
      const next = successorOf(token, now);
      await store.rotateRefreshToken(token.tokenHash, next, now);
      const otherFamily = newToken(user.id);
      await store.createRefreshToken(otherFamily);

      assert.equal(await store.revokeFamily(token.familyId, now + 1), 2);
      for (const hash of [token.tokenHash, next.tokenHash]) {
        assert.equal((await store.findRefreshToken(hash))?.revokedAt, now + 1);
      }
      const attempt = successorOf(token, now + 2);
      const result = await store.rotateRefreshToken(next.tokenHash, attempt, now + 2);
      assert.equal(result.status, 'revoked');
      assert.ok(result.status === 'revoked');
      assert.equal(result.token.revokedAt, now + 1);
      assert.equal(await store.findRefreshToken(attempt.tokenHash), null);
      // A revoked token that was also spent still says revoked.
      assert.equal(
        (await store.rotateRefreshToken(token.tokenHash, attempt, now + 2)).status,
        'revoked',
      );

      assert.equal(
        await store.revokeFamily(token.familyId, now + 3),
        0,
        'only newly revoked count',
      );
      assert.equal((await store.findRefreshToken(next.tokenHash))?.revokedAt, now + 1);
      assert.equal((await store.findRefreshToken(otherFamily.tokenHash))?.revokedAt, null);
      assert.equal(await store.revokeFamily(rid('f_'), now), 0);
    });

    test("revokeUserTokens revokes every family of the user and none of another user's", async () => {
      const { user, token } = await logIn();
      const now = token.createdAt + 1000;
      const next = successorOf(token, now);
      await store.rotateRefreshToken(token.tokenHash, next, now);
      const secondFamily = newToken(user.id);
      await store.createRefreshToken(secondFamily);
      const { token: othersToken } = await logIn();

      assert.equal(await store.revokeUserTokens(user.id, now + 1), 3);
      for (const hash of [token.tokenHash, next.tokenHash, secondFamily.tokenHash]) {
        assert.equal((await store.findRefreshToken(hash))?.revokedAt, now + 1);
      }
      assert.equal((await store.findRefreshToken(othersToken.tokenHash))?.revokedAt, null);
      assert.equal(await store.revokeUserTokens(user.id, now + 2), 0);
      assert.equal(await store.revokeUserTokens(rid('u_'), now), 0);
    });

    test('listLiveFamilies lists the sessions with a live token, and no revoked or expired one', async () => {
      const { user, token } = await logIn();
      const now = token.createdAt + 1000;
      await store.rotateRefreshToken(token.tokenHash, successorOf(token, now), now);
      const second = newToken(user.id);
      await store.createRefreshToken(second);
      const revoked = newToken(user.id);
      await store.createRefreshToken(revoked);
      await store.revokeFamily(revoked.familyId, now);
      const expired = newToken(user.id, { createdAt: now - DAY, expiresAt: now - 1 });
      await store.createRefreshToken(expired);
      await logIn(); // another user's session

      assert.deepEqual(
        await store.listLiveFamilies(user.id, now),
        [token.familyId, second.familyId].sort(),
      );
      await store.revokeUserTokens(user.id, now + 1);
      assert.deepEqual(await store.listLiveFamilies(user.id, now + 1), []);
      assert.deepEqual(await store.listLiveFamilies(rid('u_'), now), []);
    });

    test('25 concurrent rotations of one token: exactly one rotated, 24 spent, one successor stored', async () => {
      const { token } = await logIn();
      const now = token.createdAt + 1000;
      const successors = Array.from({ length: 25 }, () => successorOf(token, now));
      const results: RotateResult[] = await Promise.all(
        successors.map((s) => store.rotateRefreshToken(token.tokenHash, s, now)),
      );
      const statuses = results.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 'rotated').length, 1, statuses.join());
      assert.equal(statuses.filter((s) => s === 'spent').length, 24, statuses.join());

      const stored = [];
      for (const s of successors) {
        if (await store.findRefreshToken(s.tokenHash)) stored.push(s.tokenHash);
      }
      assert.equal(stored.length, 1);
      const winner = successors[statuses.indexOf('rotated')];
      assert.deepEqual(stored, [winner?.tokenHash]);
      assert.equal((await store.findRefreshToken(token.tokenHash))?.replacedBy, winner?.tokenHash);
      for (const r of results) {
        if (r.status === 'spent') assert.equal(r.token.replacedBy, winner?.tokenHash);
      }
    });

    test('a revocation records why; a later one keeps the first time and reason', async () => {
      const { user, token } = await logIn();
      const now = token.createdAt + 1000;
      const next = successorOf(token, now);
      await store.rotateRefreshToken(token.tokenHash, next, now);
      const second = newToken(user.id);
      await store.createRefreshToken(second);
      const fresh = newToken(user.id);
      await store.createRefreshToken(fresh);
      assert.equal((await store.findRefreshToken(fresh.tokenHash))?.revokedReason, null);

      assert.equal(await store.revokeFamily(token.familyId, now + 1, 'reuse'), 2);
      assert.equal(await store.revokeFamily(second.familyId, now + 1), 1);
      assert.equal(await store.revokeUserTokens(user.id, now + 2, 'disabled'), 1);
      const read = async (hash: string) => {
        const found = await store.findRefreshToken(hash);
        return [found?.revokedAt, found?.revokedReason];
      };
      assert.deepEqual(await read(token.tokenHash), [now + 1, 'reuse']);
      assert.deepEqual(await read(next.tokenHash), [now + 1, 'reuse']);
      assert.deepEqual(await read(second.tokenHash), [now + 1, 'logout']);
      assert.deepEqual(await read(fresh.tokenHash), [now + 2, 'disabled']);
      const { user: other, token: othersToken } = await logIn();
      await store.revokeUserTokens(other.id, now);
      assert.deepEqual(await read(othersToken.tokenHash), [now, 'logout_all']);
      const rotated = await store.rotateRefreshToken(next.tokenHash, successorOf(next, now), now);
      assert.ok(rotated.status === 'revoked');
      assert.equal(rotated.token.revokedReason, 'reuse');
      await assert.rejects(store.revokeFamily(token.familyId, now, 'stolen' as 'reuse'), TypeError);
    });

    test('deleteExpiredRefreshTokens deletes the tokens at or past expiry, and only those', async () => {
      const now = Date.now();
      const { token: past } = await logIn({ createdAt: now - DAY, expiresAt: now - HOUR });
      const { token: due } = await logIn({ createdAt: now - DAY, expiresAt: now });
      const { token: live } = await logIn({ createdAt: now, expiresAt: now + DAY });
      const deleted = await store.deleteExpiredRefreshTokens(now);
      assert.ok(deleted >= 2, `deleted ${deleted}`);
      assert.equal(await store.findRefreshToken(past.tokenHash), null);
      assert.equal(await store.findRefreshToken(due.tokenHash), null);
      assert.ok(await store.findRefreshToken(live.tokenHash));
      assert.ok(await store.findUserById(past.userId), 'the users stay');
    });
  });
}
