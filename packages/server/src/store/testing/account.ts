// The contract on what a user does with their own account: the sessions they see and end (only
// their own), a password change that two racers cannot both win, and the names a deleted account
// keeps reserved until the reservation expires.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Store } from '../types.ts';
import {
  DAY,
  HOUR,
  isConflict,
  newToken,
  newUser,
  rid,
  type Suite,
  successorOf,
} from './records.ts';

export function accountTests(suite: Suite): void {
  describe('sessions and account changes', () => {
    let store: Store;
    before(() => {
      store = suite.store();
    });
    const { createUser } = suite;

    test('listSessions: live families with start, last use and client, most recently used first', async () => {
      const user = await createUser();
      const now = Date.now();
      const first = newToken(user.id, {
        createdAt: now - 2 * HOUR,
        client: { ip: '203.0.113.7', device: 'Firefox on Linux' },
      });
      const second = newToken(user.id, {
        createdAt: now - HOUR,
        client: { ip: null, device: null },
      });
      const bare = newToken(user.id, { createdAt: now - 3 * HOUR }); // no client recorded
      for (const token of [first, second, bare]) await store.createRefreshToken(token);
      // The first session is used again (a rotation): its last use moves, its start and client stay.
      const rotated = successorOf(first, now - 10 * 60_000);
      assert.equal(
        (await store.rotateRefreshToken(first.tokenHash, rotated, rotated.createdAt)).status,
        'rotated',
      );
      const sessions = await store.listSessions(user.id, now);
      assert.deepEqual(sessions, [
        {
          id: first.familyId,
          createdAt: first.createdAt,
          lastUsedAt: rotated.createdAt,
          ip: '203.0.113.7',
          device: 'Firefox on Linux',
        },
        {
          id: second.familyId,
          createdAt: second.createdAt,
          lastUsedAt: second.createdAt,
          ip: null,
          device: null,
        },
        {
          id: bare.familyId,
          createdAt: bare.createdAt,
          lastUsedAt: bare.createdAt,
          ip: null,
          device: null,
        },
      ]);
      // Revoked and expired families are not sessions; nor are another user's.
      await store.revokeFamily(second.familyId, now);
      const other = await createUser();
      await store.createRefreshToken(newToken(other.id));
      assert.deepEqual(
        (await store.listSessions(user.id, now)).map((s) => s.id),
        [first.familyId, bare.familyId],
      );
      assert.deepEqual(await store.listSessions(user.id, first.expiresAt + 1), []);
      assert.deepEqual(await store.listSessions(rid('u_'), now), []);
    });

    test('revokeSession ends one live session of its owner, and nothing of anyone else', async () => {
      const owner = await createUser();
      const stranger = await createUser();
      const now = Date.now();
      const mine = newToken(owner.id);
      const kept = newToken(owner.id);
      const theirs = newToken(stranger.id);
      for (const token of [mine, kept, theirs]) await store.createRefreshToken(token);
      const next = successorOf(mine, now);
      await store.rotateRefreshToken(mine.tokenHash, next, now);

      // Another user's session id: refused, and untouched.
      assert.equal(await store.revokeSession(owner.id, theirs.familyId, now + 1), false);
      assert.equal(await store.revokeSession(stranger.id, mine.familyId, now + 1), false);
      assert.equal((await store.findRefreshToken(theirs.tokenHash))?.revokedAt, null);
      assert.equal((await store.findRefreshToken(next.tokenHash))?.revokedAt, null);
      assert.equal(await store.revokeSession(owner.id, rid('f_'), now + 1), false);

      // The owner's: every token of the family is revoked with the reason; the other family lives.
      assert.equal(await store.revokeSession(owner.id, mine.familyId, now + 2, 'logout'), true);
      for (const hash of [mine.tokenHash, next.tokenHash]) {
        const token = await store.findRefreshToken(hash);
        assert.equal(token?.revokedAt, now + 2);
        assert.equal(token?.revokedReason, 'logout');
      }
      assert.equal((await store.findRefreshToken(kept.tokenHash))?.revokedAt, null);
      // Ended already: false, and the first revocation's time stays.
      assert.equal(await store.revokeSession(owner.id, mine.familyId, now + 3), false);
      assert.equal((await store.findRefreshToken(next.tokenHash))?.revokedAt, now + 2);
      // Expired: not a live session.
      assert.equal(await store.revokeSession(owner.id, kept.familyId, kept.expiresAt), false);
      await assert.rejects(
        store.revokeSession(owner.id, kept.familyId, now, 'nope' as 'logout'),
        TypeError,
      );
    });

    test('replacePasswordHash: only from the current hash; of two racers exactly one wins', async () => {
      const user = await createUser();
      const now = Date.now();
      assert.equal(await store.replacePasswordHash(user.id, 'not the hash', 'x', now), false);
      assert.equal((await store.findUserById(user.id))?.passwordHash, user.passwordHash);
      const results = await Promise.all(
        ['$argon2id$a', '$argon2id$b', '$argon2id$c'].map((to) =>
          store.replacePasswordHash(user.id, user.passwordHash, to, now + 1),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
      const after = await store.findUserById(user.id);
      assert.equal(
        after?.passwordHash,
        ['$argon2id$a', '$argon2id$b', '$argon2id$c'][results.indexOf(true)],
      );
      assert.equal(after?.updatedAt, now + 1);
      assert.equal(await store.replacePasswordHash(rid('u_'), 'x', 'y', now), false);
    });

    test('deleteUser with reserveUntil: the username, its look-alikes and the email are refused until then', async () => {
      const now = Date.now();
      const user = await createUser({ username: `Odin_${rid('').slice(0, 8)}`, createdAt: now });
      await store.createRefreshToken(newToken(user.id));
      assert.equal(await store.deleteUser(user.id, { reserveUntil: now + 30 * DAY }), true);
      assert.equal(await store.findUserById(user.id), null);
      assert.deepEqual(await store.listSessions(user.id, now), []);

      const name = user.username;
      // The same name in another case, a look-alike (Cyrillic о for o) and the email: refused.
      for (const username of [name, name.toUpperCase(), name.replace('O', 'О')]) {
        await assert.rejects(
          store.createUser(newUser({ username, createdAt: now + DAY })),
          isConflict('username'),
          username,
        );
      }
      await assert.rejects(
        store.createUser(newUser({ email: user.email.toUpperCase(), createdAt: now + DAY })),
        isConflict('email'),
      );
      // Reserved until the end, free after it: the time is the new user's createdAt.
      await assert.rejects(
        store.createUser(newUser({ username: name, createdAt: now + 30 * DAY - 1 })),
        isConflict('username'),
      );
      const again = await store.createUser(
        newUser({ username: name, email: user.email, createdAt: now + 30 * DAY }),
      );
      assert.equal((await store.findUserByUsername(name))?.id, again.id);
      // Deleted again with a shorter reservation: the longer one is kept.
      assert.equal(await store.deleteUser(again.id, { reserveUntil: now + 40 * DAY }), true);
      const third = await store.createUser(newUser({ username: name, createdAt: now + 40 * DAY }));
      assert.equal(await store.deleteUser(third.id, { reserveUntil: now + 35 * DAY }), true);
      await assert.rejects(
        store.createUser(newUser({ username: name, createdAt: now + 39 * DAY })),
        isConflict('username'),
      );
      // Without reserveUntil nothing is reserved; an unknown user reserves nothing.
      const plain = await createUser();
      assert.equal(await store.deleteUser(plain.id), true);
      await store.createUser(newUser({ username: plain.username, email: plain.email }));
      assert.equal(await store.deleteUser(rid('u_'), { reserveUntil: now + DAY }), false);
    });

    test('deleteExpiredReservations removes only reservations past their time', async () => {
      const now = Date.now();
      const soon = await createUser({ createdAt: now });
      const later = await createUser({ createdAt: now });
      await store.deleteUser(soon.id, { reserveUntil: now + HOUR });
      await store.deleteUser(later.id, { reserveUntil: now + 10 * DAY });
      // Other suites' reservations may expire too: at least the three names of `soon`.
      assert.ok((await store.deleteExpiredReservations(now + HOUR)) >= 3);
      await store.createUser(newUser({ username: soon.username, createdAt: now }));
      await assert.rejects(
        store.createUser(newUser({ email: later.email, createdAt: now })),
        isConflict('email'),
      );
    });
  });
}
