// The contract on second factors: a TOTP factor (pending, confirmed, each time step used once,
// atomically), recovery codes (each spent once, atomically), the log-in's second-step challenges
// (spent once, never after expiry), and the amr and auth_time a refresh-token family keeps.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Store } from '../types.ts';
import { HOUR, newToken, rid, type Suite, successorOf } from './records.ts';

export function secondFactorTests(suite: Suite): void {
  describe('second factors', () => {
    let store: Store;
    before(() => {
      store = suite.store();
    });
    const { createUser } = suite;

    test('a TOTP factor: pending, replaced while pending, confirmed once, then kept', async () => {
      const user = await createUser();
      const now = Date.now();
      assert.equal(await store.findTotpFactor(user.id), null);
      assert.equal(
        await store.saveTotpFactor({ userId: user.id, secret: 's1', createdAt: now }),
        true,
      );
      assert.equal(
        await store.saveTotpFactor({ userId: user.id, secret: 's2', createdAt: now + 1 }),
        true,
      );
      assert.deepEqual(await store.findTotpFactor(user.id), {
        userId: user.id,
        secret: 's2',
        createdAt: now + 1,
        confirmedAt: null,
        lastStep: null,
      });
      // Only the secret the code was checked against is confirmed.
      assert.equal(await store.confirmTotpFactor(user.id, 's1', 100, now + 2), false);
      assert.equal(await store.confirmTotpFactor(user.id, 's2', 100, now + 2), true);
      assert.equal(await store.confirmTotpFactor(user.id, 's2', 101, now + 3), false);
      // A confirmed factor is not replaced by a new enrolment.
      assert.equal(
        await store.saveTotpFactor({ userId: user.id, secret: 's3', createdAt: now }),
        false,
      );
      assert.deepEqual(await store.findTotpFactor(user.id), {
        userId: user.id,
        secret: 's2',
        createdAt: now + 1,
        confirmedAt: now + 2,
        lastStep: 100,
      });
      assert.equal(await store.deleteTotpFactor(user.id), true);
      assert.equal(await store.deleteTotpFactor(user.id), false);
      assert.equal(await store.findTotpFactor(user.id), null);
    });

    test('useTotpStep: each step once, never an earlier one, only on a confirmed factor', async () => {
      const user = await createUser();
      const now = Date.now();
      await store.saveTotpFactor({ userId: user.id, secret: 's', createdAt: now });
      assert.equal(await store.useTotpStep(user.id, 5), false, 'pending');
      await store.confirmTotpFactor(user.id, 's', 5, now);
      assert.equal(await store.useTotpStep(user.id, 5), false, 'the confirming step is used');
      assert.equal(await store.useTotpStep(user.id, 6), true);
      assert.equal(await store.useTotpStep(user.id, 6), false);
      assert.equal(await store.useTotpStep(user.id, 4), false);
      assert.equal(await store.useTotpStep(user.id, 8), true);
      assert.equal((await store.findTotpFactor(user.id))?.lastStep, 8);
      assert.equal(await store.useTotpStep(rid('u_'), 9), false);
    });

    test('useTotpStep at once: exactly one of the racers with one step wins', async () => {
      const user = await createUser();
      await store.saveTotpFactor({ userId: user.id, secret: 's', createdAt: Date.now() });
      await store.confirmTotpFactor(user.id, 's', 1, Date.now());
      const results = await Promise.all(
        Array.from({ length: 12 }, () => store.useTotpStep(user.id, 2)),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    test('recovery codes: replaced as a set, each spent once, counted while unused', async () => {
      const user = await createUser();
      const now = Date.now();
      assert.equal(await store.countRecoveryCodes(user.id), 0);
      await store.replaceRecoveryCodes(user.id, ['h1', 'h2', 'h3'], now);
      assert.equal(await store.countRecoveryCodes(user.id), 3);
      assert.equal(await store.useRecoveryCode(user.id, 'h2', now), true);
      assert.equal(await store.useRecoveryCode(user.id, 'h2', now), false);
      assert.equal(await store.useRecoveryCode(user.id, 'nope', now), false);
      const other = await createUser();
      assert.equal(await store.useRecoveryCode(other.id, 'h1', now), false, "another user's code");
      assert.equal(await store.countRecoveryCodes(user.id), 2);
      const raced = await Promise.all(
        Array.from({ length: 8 }, () => store.useRecoveryCode(user.id, 'h3', now)),
      );
      assert.equal(raced.filter(Boolean).length, 1);
      await store.replaceRecoveryCodes(user.id, ['h4'], now + 1);
      assert.equal(await store.useRecoveryCode(user.id, 'h1', now), false, 'old codes are gone');
      assert.equal(await store.countRecoveryCodes(user.id), 1);
      await store.replaceRecoveryCodes(user.id, [], now + 2);
      assert.equal(await store.countRecoveryCodes(user.id), 0);
    });

    test('log-in challenges: spent once, not after expiry; expired ones deleted', async () => {
      const user = await createUser();
      const now = Date.now();
      const challenge = {
        tokenHash: rid('mfa_'),
        userId: user.id,
        amr: ['pwd'],
        authTime: now,
        expiresAt: now + 300_000,
      };
      await store.createMfaChallenge(challenge);
      assert.deepEqual(await store.findMfaChallenge(challenge.tokenHash), {
        ...challenge,
        usedAt: null,
      });
      const raced = await Promise.all(
        Array.from({ length: 8 }, () => store.consumeMfaChallenge(challenge.tokenHash, now + 1)),
      );
      assert.equal(raced.filter(Boolean).length, 1);
      assert.equal((await store.findMfaChallenge(challenge.tokenHash))?.usedAt, now + 1);
      assert.equal(await store.consumeMfaChallenge(rid('mfa_'), now), false);

      const late = { ...challenge, tokenHash: rid('mfa_'), expiresAt: now + 10 };
      await store.createMfaChallenge(late);
      assert.equal(await store.consumeMfaChallenge(late.tokenHash, now + 10), false, 'expired');
      assert.ok((await store.deleteExpiredMfaChallenges(now + 10)) >= 1);
      assert.equal(await store.findMfaChallenge(late.tokenHash), null);
      assert.notEqual(await store.findMfaChallenge(challenge.tokenHash), null);
    });

    test('deleting a user deletes their factor, codes and challenges', async () => {
      const user = await createUser();
      const now = Date.now();
      await store.saveTotpFactor({ userId: user.id, secret: 's', createdAt: now });
      await store.replaceRecoveryCodes(user.id, ['h'], now);
      const tokenHash = rid('mfa_');
      await store.createMfaChallenge({
        tokenHash,
        userId: user.id,
        amr: ['pwd'],
        authTime: now,
        expiresAt: now + HOUR,
      });
      await store.deleteUser(user.id);
      assert.equal(await store.findTotpFactor(user.id), null);
      assert.equal(await store.countRecoveryCodes(user.id), 0);
      assert.equal(await store.findMfaChallenge(tokenHash), null);
    });

    test('a family keeps its amr and auth_time through rotations', async () => {
      const user = await createUser();
      const now = Date.now();
      const token = newToken(user.id, { amr: ['pwd', 'otp', 'mfa'], authTime: now - 5000 });
      await store.createRefreshToken(token);
      const found = await store.findRefreshToken(token.tokenHash);
      assert.deepEqual(found?.amr, ['pwd', 'otp', 'mfa']);
      assert.equal(found?.authTime, now - 5000);
      // Inherited from the spent token, whatever the successor says (as scope and authTime are).
      const next = { ...successorOf(token, now + 1), amr: ['pwd'], authTime: now + 1 };
      assert.equal(
        (await store.rotateRefreshToken(token.tokenHash, next, now + 1)).status,
        'rotated',
      );
      const successor = await store.findRefreshToken(next.tokenHash);
      assert.deepEqual(successor?.amr, ['pwd', 'otp', 'mfa']);
      assert.equal(successor?.authTime, now - 5000);
      // Not recorded: amr absent, authTime null (the refresh-token contract's).
      const { amr: _a, authTime: _t, ...plain } = newToken(user.id);
      await store.createRefreshToken(plain);
      const read = await store.findRefreshToken(plain.tokenHash);
      assert.equal(read && 'amr' in read, false);
      assert.equal(read?.authTime, null);
      // And a family without one keeps none, whatever its successor says.
      const later = { ...successorOf(plain, now + 2), amr: ['pwd', 'otp', 'mfa'] };
      assert.equal(
        (await store.rotateRefreshToken(plain.tokenHash, later, now + 2)).status,
        'rotated',
      );
      const kept = await store.findRefreshToken(later.tokenHash);
      assert.equal(kept && 'amr' in kept, false);
    });
  });
}
