// The contract on users: unique names (RFC 8265 keys, UTS #39 skeletons) and emails decided
// atomically, creation-ordered paging, updates and deletion with the user's tokens.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import type { Store, User } from '../types.ts';
import { DAY, isConflict, newToken, newUser, rid, type Suite, successorOf } from './records.ts';

export function userTests(suite: Suite): void {
  describe('users', () => {
    let store: Store;
    before(() => {
      store = suite.store();
    });
    const { createUser, logIn } = suite;

    test('createUser returns the user; it is found by id, by username and email in any case', async () => {
      const input = newUser({ roles: ['admin', 'user'] });
      const created = await store.createUser(input);
      const expected: User = {
        id: input.id,
        username: input.username,
        email: input.email.toLowerCase(),
        passwordHash: input.passwordHash,
        roles: ['admin', 'user'],
        disabled: false,
        emailVerified: false,
        createdAt: input.createdAt,
        updatedAt: input.createdAt,
        appMetadata: {},
      };
      assert.deepEqual(created, expected);
      assert.deepEqual(await store.findUserById(input.id), expected);
      for (const username of [
        input.username,
        input.username.toLowerCase(),
        input.username.toUpperCase(),
      ]) {
        assert.deepEqual(await store.findUserByUsername(username), expected, username);
      }
      for (const email of [input.email, input.email.toLowerCase(), input.email.toUpperCase()]) {
        assert.deepEqual(await store.findUserByEmail(email), expected, email);
      }
    });

    test('the username keeps the case it was typed in', async () => {
      const created = await createUser({ username: `MiXeD_${randomBytes(4).toString('hex')}` });
      const found = await store.findUserByUsername(created.username.toLowerCase());
      assert.equal(found?.username, created.username);
    });

    test('roles round-trip, including none', async () => {
      const none = await createUser({ roles: [] });
      assert.deepEqual((await store.findUserById(none.id))?.roles, []);
      const many = await createUser({ roles: ['admin', 'billing', 'user'] });
      assert.deepEqual((await store.findUserById(many.id))?.roles, ['admin', 'billing', 'user']);
    });

    test('unknown users are null', async () => {
      assert.equal(await store.findUserById(rid('u_')), null);
      assert.equal(await store.findUserByUsername(rid('nobody_')), null);
      assert.equal(await store.findUserByEmail(`${rid('nobody')}@example.com`), null);
    });

    test('a username taken in another case is a ConflictError on username, and nothing is written', async () => {
      const first = await createUser();
      const second = newUser({ username: first.username.toUpperCase() });
      await assert.rejects(store.createUser(second), isConflict('username'));
      assert.equal(await store.findUserById(second.id), null);
      assert.equal(await store.findUserByEmail(second.email), null);
    });

    test('an email taken in another case is a ConflictError on email, and nothing is written', async () => {
      const first = await createUser();
      const second = newUser({ email: first.email.toUpperCase() });
      await assert.rejects(store.createUser(second), isConflict('email'));
      assert.equal(await store.findUserById(second.id), null);
      assert.equal(await store.findUserByUsername(second.username), null);
    });

    test('RFC 8265 keys: fullwidth and case-folded forms find the user; STRASSE after straße is a ConflictError', async () => {
      const tag = randomBytes(4).toString('hex');
      const odin = await createUser({ username: `odin_${tag}` });
      const fullwidth = [...`ODIN_${tag}`]
        .map((c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0))
        .join('');
      for (const typed of [`ODIN_${tag}`, fullwidth]) {
        assert.equal((await store.findUserByUsername(typed))?.id, odin.id, typed);
        await assert.rejects(
          store.createUser(newUser({ username: typed })),
          isConflict('username'),
        );
      }
      const strasse = await createUser({ username: `straße_${tag}` });
      assert.equal((await store.findUserByUsername(`STRASSE_${tag}`))?.id, strasse.id);
      assert.equal((await store.findUserByUsername(`strasse_${tag}`))?.id, strasse.id);
      const second = newUser({ username: `STRASSE_${tag}` });
      await assert.rejects(store.createUser(second), isConflict('username'));
      assert.equal(await store.findUserById(second.id), null);
    });

    test('a confusable look-alike (UTS #39 skeleton) of a name is a ConflictError on username', async () => {
      const tag = randomBytes(4).toString('hex').replace(/[0-9]/g, 'x');
      const first = await createUser({ username: `admin_${tag}` });
      // Cyrillic а (U+0430), upper case, Cyrillic і (U+0456): each looks like the original.
      for (const lookAlike of [`\u0430dmin_${tag}`, `ADMIN_${tag}`, `adm\u0456n_${tag}`]) {
        const attempt = newUser({ username: lookAlike });
        await assert.rejects(store.createUser(attempt), isConflict('username'), lookAlike);
        assert.equal(await store.findUserById(attempt.id), null);
      }
      // Greek ο (U+03BF), then the digit 0: both have the skeleton of "god".
      await createUser({ username: `g\u03BFd_${tag}` });
      await assert.rejects(
        store.createUser(newUser({ username: `g0d_${tag}` })),
        isConflict('username'),
      );
      // A different name is still free.
      assert.notEqual((await createUser({ username: `admit_${tag}` })).id, first.id);
    });

    test('20 concurrent createUser with look-alikes of one name: exactly one succeeds', async () => {
      const tag = randomBytes(4).toString('hex').replace(/[0-9]/g, 'x');
      const forms = [`odin_${tag}`, `\u043Edin_${tag}`, `\u03BFdin_${tag}`, `0DIN_${tag}`];
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          store.createUser(newUser({ username: forms[i % forms.length]! })),
        ),
      );
      const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      assert.equal(won.length, 1);
      for (const r of results) if (r.status === 'rejected') isConflict('username')(r.reason);
    });

    test('20 concurrent createUser with one username: exactly one succeeds, 19 ConflictErrors', async () => {
      const username = `race_${randomBytes(6).toString('hex')}`;
      const attempts = Array.from({ length: 20 }, (_, i) =>
        newUser({ username: i % 2 === 0 ? username : username.toUpperCase() }),
      );
      const results = await Promise.allSettled(attempts.map((u) => store.createUser(u)));
      const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      assert.equal(won.length, 1);
      assert.equal(lost.length, 19);
      for (const reason of lost) isConflict('username')(reason);
      const stored = await store.findUserByUsername(username);
      assert.equal(stored?.id, won[0]?.id);
    });

    test('listUsers pages in creation order, after a given user id, at most `limit`', async () => {
      // Far in the future, so that no other user of a shared database falls between them.
      const base = Date.now() + 1000 * DAY + Math.floor(Math.random() * 1000 * DAY);
      const ours: User[] = [];
      for (let i = 0; i < 5; i++) ours.push(await createUser({ createdAt: base + i * 10 }));
      const ids = ours.map((u) => u.id);

      assert.ok((await store.listUsers({ limit: 2 })).length <= 2);
      assert.deepEqual(
        (await store.listUsers({ limit: 2, after: ids[0] })).map((u) => u.id),
        ids.slice(1, 3),
      );
      const page2 = await store.listUsers({ limit: 2, after: ids[2] });
      assert.deepEqual(
        page2.map((u) => u.id),
        ids.slice(3, 5),
      );
      assert.deepEqual(page2[0], ours[3]);
      const page3 = await store.listUsers({ limit: 2, after: ids[4] });
      assert.ok(page3.every((u) => !ids.includes(u.id) && u.createdAt >= base + 40));

      // Walking every page from the start meets each of ours once, in order.
      const seen: string[] = [];
      let after: string | undefined;
      let previous = Number.NEGATIVE_INFINITY;
      for (;;) {
        const page = await store.listUsers(
          after === undefined ? { limit: 50 } : { limit: 50, after },
        );
        assert.ok(page.length <= 50);
        for (const user of page) {
          assert.ok(user.createdAt >= previous, 'ordered by creation');
          previous = user.createdAt;
          seen.push(user.id);
        }
        if (page.length < 50) break;
        after = page.at(-1)?.id;
      }
      assert.equal(new Set(seen).size, seen.length, 'no user on two pages');
      assert.deepEqual(
        seen.filter((id) => ids.includes(id)),
        ids,
      );
    });

    test('updatePasswordHash replaces the hash and sets updatedAt', async () => {
      const user = await createUser();
      const other = await createUser();
      const now = user.createdAt + 5000;
      await store.updatePasswordHash(user.id, '$argon2id$v=19$new', now);
      const found = await store.findUserById(user.id);
      assert.equal(found?.passwordHash, '$argon2id$v=19$new');
      assert.equal(found?.updatedAt, now);
      assert.equal(found?.createdAt, user.createdAt);
      assert.deepEqual(await store.findUserById(other.id), other);
      await store.updatePasswordHash(rid('u_'), 'x', now); // an unknown id is no error
    });

    test('setUserDisabled toggles the flag, sets updatedAt and tells whether the user exists', async () => {
      const user = await createUser();
      const now = user.createdAt + 1000;
      assert.equal(await store.setUserDisabled(user.id, true, now), true);
      let found = await store.findUserById(user.id);
      assert.equal(found?.disabled, true);
      assert.equal(found?.updatedAt, now);
      assert.equal((await store.findUserByUsername(user.username))?.disabled, true);
      assert.equal(await store.setUserDisabled(user.id, false, now + 1), true);
      found = await store.findUserById(user.id);
      assert.equal(found?.disabled, false);
      assert.equal(found?.updatedAt, now + 1);
      assert.equal(await store.setUserDisabled(rid('u_'), true, now), false);
    });

    test('setUserAppMetadata replaces the metadata, sets updatedAt and tells whether the user exists', async () => {
      const user = await createUser();
      const other = await createUser();
      const now = user.createdAt + 1000;
      const metadata = {
        tenant: 'acme',
        plan: { tier: 'pro', seats: 25, ratio: 0.125, trial: false, ends: null },
        flags: ['beta', 7, true, null, { nested: ['deep'] }],
        'ключ ✓': 'ünïcødé \u2028 "quoted" \\ back',
        empty: {},
      };
      assert.equal(await store.setUserAppMetadata(user.id, metadata, now), true);
      const found = await store.findUserById(user.id);
      assert.deepEqual(found?.appMetadata, metadata);
      assert.equal(found?.updatedAt, now);
      assert.equal(found?.createdAt, user.createdAt);
      // Every way of reading the user reads it.
      assert.deepEqual((await store.findUserByUsername(user.username))?.appMetadata, metadata);
      assert.deepEqual((await store.findUserByEmail(user.email))?.appMetadata, metadata);
      if (store.findRefreshTokenWithUser) {
        const token = newToken(user.id);
        await store.createRefreshToken(token);
        const both = await store.findRefreshTokenWithUser(token.tokenHash);
        assert.deepEqual(both?.user?.appMetadata, metadata);
      }
      // Changing what was passed in changes nothing stored.
      metadata.plan.seats = 1;
      assert.deepEqual((await store.findUserById(user.id))?.appMetadata['plan'], {
        tier: 'pro',
        seats: 25,
        ratio: 0.125,
        trial: false,
        ends: null,
      });
      // Replaced whole, not merged; {} clears it.
      assert.equal(await store.setUserAppMetadata(user.id, { only: 1 }, now + 1), true);
      assert.deepEqual((await store.findUserById(user.id))?.appMetadata, { only: 1 });
      assert.equal(await store.setUserAppMetadata(user.id, {}, now + 2), true);
      assert.deepEqual((await store.findUserById(user.id))?.appMetadata, {});
      assert.equal(await store.setUserAppMetadata(rid('u_'), { x: 1 }, now), false);
      assert.deepEqual(await store.findUserById(other.id), other);
    });

    test('deleteUser removes the user and all their refresh tokens, and no one else', async () => {
      const { user, token } = await logIn();
      const second = newToken(user.id);
      await store.createRefreshToken(second);
      const next = successorOf(token, Date.now());
      assert.equal(
        (await store.rotateRefreshToken(token.tokenHash, next, Date.now())).status,
        'rotated',
      );
      const { user: other, token: otherToken } = await logIn();

      assert.equal(await store.deleteUser(user.id), true);
      assert.equal(await store.findUserById(user.id), null);
      assert.equal(await store.findUserByUsername(user.username), null);
      assert.equal(await store.findUserByEmail(user.email), null);
      for (const hash of [token.tokenHash, second.tokenHash, next.tokenHash]) {
        assert.equal(await store.findRefreshToken(hash), null);
      }
      assert.equal(await store.deleteUser(user.id), false);

      assert.deepEqual(await store.findUserById(other.id), other);
      assert.ok(await store.findRefreshToken(otherToken.tokenHash));
      // The name and the email are free again.
      await store.createUser(newUser({ username: user.username, email: user.email }));
    });
  });
}
