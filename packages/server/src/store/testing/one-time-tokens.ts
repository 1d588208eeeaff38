// The contract on one-time tokens (links sent by mail) and on the email they prove: a token is
// consumed exactly once, only for its purpose, only before it expires; a newer token may replace
// the older ones; a verification or a change applies only while the address is still the one the
// link was sent about, and a change keeps emails unique.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { NewOneTimeToken, OneTimePurpose, Store } from '../types.ts';
import { HOUR, isConflict, rid, type Suite } from './records.ts';

function newOneTime(
  userId: string,
  purpose: OneTimePurpose,
  overrides: Partial<NewOneTimeToken> = {},
): NewOneTimeToken {
  const now = Date.now();
  return {
    tokenHash: rid('ot_'),
    purpose,
    userId,
    payload: null,
    createdAt: now,
    expiresAt: now + HOUR,
    ...overrides,
  };
}

export function oneTimeTokenTests(suite: Suite): void {
  describe('one-time tokens and verified emails', () => {
    let store: Store;
    before(() => {
      store = suite.store();
    });
    const { createUser } = suite;

    test('a stored token is found as written, unused; an unknown one is null', async () => {
      const user = await createUser();
      const token = newOneTime(user.id, 'verify_email', { payload: user.email });
      await store.createOneTimeToken(token);
      assert.deepEqual(await store.findOneTimeToken(token.tokenHash), { ...token, usedAt: null });
      assert.equal(await store.findOneTimeToken(rid('ot_')), null);
    });

    test('consumed once: a second consumption says used, with the time of the first', async () => {
      const user = await createUser();
      const token = newOneTime(user.id, 'reset_password');
      await store.createOneTimeToken(token);
      const now = Date.now();
      const first = await store.consumeOneTimeToken(token.tokenHash, 'reset_password', now);
      assert.deepEqual(first, { status: 'consumed', token: { ...token, usedAt: now } });
      const second = await store.consumeOneTimeToken(token.tokenHash, 'reset_password', now + 1);
      assert.equal(second.status, 'used');
      assert.equal(second.status === 'used' && second.token.usedAt, now);
    });

    test('of many concurrent consumers of one token, exactly one wins', async () => {
      const user = await createUser();
      const token = newOneTime(user.id, 'sign_in');
      await store.createOneTimeToken(token);
      const now = Date.now();
      const results = await Promise.all(
        Array.from({ length: 12 }, () =>
          store.consumeOneTimeToken(token.tokenHash, 'sign_in', now),
        ),
      );
      const statuses = results.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 'consumed').length, 1, statuses.join());
      assert.equal(statuses.filter((s) => s === 'used').length, 11, statuses.join());
    });

    test('a token of another purpose is missing, and stays consumable for its own', async () => {
      const user = await createUser();
      const token = newOneTime(user.id, 'reset_password');
      await store.createOneTimeToken(token);
      const now = Date.now();
      assert.deepEqual(await store.consumeOneTimeToken(token.tokenHash, 'sign_in', now), {
        status: 'missing',
      });
      const own = await store.consumeOneTimeToken(token.tokenHash, 'reset_password', now);
      assert.equal(own.status, 'consumed');
    });

    test('an expired token is not consumed; an unknown one is missing', async () => {
      const user = await createUser();
      const now = Date.now();
      const token = newOneTime(user.id, 'verify_email', { expiresAt: now });
      await store.createOneTimeToken(token);
      const result = await store.consumeOneTimeToken(token.tokenHash, 'verify_email', now);
      assert.equal(result.status, 'expired');
      assert.equal((await store.findOneTimeToken(token.tokenHash))?.usedAt, null);
      assert.deepEqual(await store.consumeOneTimeToken(rid('ot_'), 'verify_email', now), {
        status: 'missing',
      });
    });

    test('replace: the user’s unused tokens of that purpose go; others stay', async () => {
      const user = await createUser();
      const other = await createUser();
      const old = newOneTime(user.id, 'reset_password');
      const used = newOneTime(user.id, 'reset_password');
      const otherPurpose = newOneTime(user.id, 'sign_in');
      const otherUser = newOneTime(other.id, 'reset_password');
      for (const t of [old, used, otherPurpose, otherUser]) await store.createOneTimeToken(t);
      await store.consumeOneTimeToken(used.tokenHash, 'reset_password', Date.now());
      const fresh = newOneTime(user.id, 'reset_password');
      await store.createOneTimeToken(fresh, { replace: true });
      assert.equal(await store.findOneTimeToken(old.tokenHash), null);
      assert.notEqual(await store.findOneTimeToken(used.tokenHash), null);
      assert.notEqual(await store.findOneTimeToken(otherPurpose.tokenHash), null);
      assert.notEqual(await store.findOneTimeToken(otherUser.tokenHash), null);
      assert.notEqual(await store.findOneTimeToken(fresh.tokenHash), null);
      // Without replace, the older ones stay.
      const again = newOneTime(user.id, 'reset_password');
      await store.createOneTimeToken(again);
      assert.notEqual(await store.findOneTimeToken(fresh.tokenHash), null);
    });

    test('a token for no user is refused; deleting the user deletes their tokens', async () => {
      await assert.rejects(store.createOneTimeToken(newOneTime(rid('u_'), 'sign_in')));
      const user = await createUser();
      const token = newOneTime(user.id, 'sign_in');
      await store.createOneTimeToken(token);
      await store.deleteUser(user.id);
      assert.equal(await store.findOneTimeToken(token.tokenHash), null);
    });

    test('deleteExpiredOneTimeTokens deletes expired tokens only', async () => {
      const user = await createUser();
      const now = Date.now();
      const expired = newOneTime(user.id, 'sign_in', { expiresAt: now - 1 });
      const live = newOneTime(user.id, 'sign_in', { expiresAt: now + HOUR });
      await store.createOneTimeToken(expired);
      await store.createOneTimeToken(live);
      assert.ok((await store.deleteExpiredOneTimeTokens(now)) >= 1);
      assert.equal(await store.findOneTimeToken(expired.tokenHash), null);
      assert.notEqual(await store.findOneTimeToken(live.tokenHash), null);
    });

    test('markEmailVerified applies only while the email is the one given', async () => {
      const user = await createUser();
      assert.equal(user.emailVerified, false);
      assert.equal(await store.markEmailVerified(user.id, `${rid('x')}@example.com`, 5), false);
      assert.equal((await store.findUserById(user.id))?.emailVerified, false);
      assert.equal(await store.markEmailVerified(user.id, user.email.toUpperCase(), 7), true);
      const after = await store.findUserById(user.id);
      assert.equal(after?.emailVerified, true);
      assert.equal(after?.updatedAt, 7);
      assert.equal(await store.markEmailVerified(rid('u_'), user.email, 7), false);
    });

    test('changeEmail moves the address (verified) from the given one only, uniquely', async () => {
      const user = await createUser();
      const holder = await createUser();
      const to = `${rid('New.')}@Example.com`;
      assert.equal(await store.changeEmail(user.id, `${rid('x')}@example.com`, to, 3), false);
      await assert.rejects(
        store.changeEmail(user.id, user.email, holder.email.toUpperCase(), 3),
        isConflict('email'),
      );
      assert.equal((await store.findUserById(user.id))?.email, user.email);
      assert.equal(await store.changeEmail(user.id, user.email, to, 9), true);
      const moved = await store.findUserById(user.id);
      assert.equal(moved?.email, to.toLowerCase());
      assert.equal(moved?.emailVerified, true);
      assert.equal(moved?.updatedAt, 9);
      assert.equal((await store.findUserByEmail(to))?.id, user.id);
      assert.equal(await store.findUserByEmail(user.email), null);
      // The old address is free again.
      const newcomer = await createUser({ email: user.email });
      assert.equal(newcomer.email, user.email);
    });

    test('of two users racing for one address, exactly one gets it', async () => {
      const a = await createUser();
      const b = await createUser();
      const to = `${rid('race.')}@example.com`;
      const results = await Promise.allSettled([
        store.changeEmail(a.id, a.email, to, 1),
        store.changeEmail(b.id, b.email, to, 1),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled' && r.value).length, 1);
      const refused = results.find((r) => r.status === 'rejected');
      assert.ok(refused && isConflict('email')((refused as PromiseRejectedResult).reason));
    });
  });
}
