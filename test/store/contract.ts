// The conformance suite of the `Store` contract (src/store/types.ts). Every store implementation
// runs it through the interface only. Every test makes its own random ids, and no test assumes
// the database is empty, so the suite can also run against a shared database.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  ConflictError,
  type NewRefreshToken,
  type NewUser,
  type RotateResult,
  type SigningKey,
  type Store,
  StoreUnavailableError,
  type User,
} from '../../src/store/types.ts';
import { seed } from './fixtures/races.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const rid = (prefix: string) => `${prefix}${randomBytes(9).toString('base64url')}`;

function newUser(overrides: Partial<NewUser> = {}): NewUser {
  const tag = randomBytes(6).toString('hex');
  return {
    id: rid('u_'),
    username: `User_${tag}`,
    email: `Mail.${tag}@Example.COM`,
    passwordHash: `$argon2id$v=19$m=65536,t=3,p=4$${tag}$hash`,
    roles: ['user'],
    createdAt: Date.now(),
    ...overrides,
  };
}

function newToken(userId: string, overrides: Partial<NewRefreshToken> = {}): NewRefreshToken {
  const now = Date.now();
  return {
    tokenHash: rid('rt_'),
    familyId: rid('f_'),
    userId,
    createdAt: now,
    expiresAt: now + 30 * DAY,
    ...overrides,
  };
}

/** The successor the auth service would make: same family, same user, same absolute expiry. */
function successorOf(token: NewRefreshToken, now: number): NewRefreshToken {
  return { ...token, tokenHash: rid('rt_'), createdAt: now };
}

function newKey(overrides: Partial<SigningKey> = {}): SigningKey {
  const kid = rid('k_');
  const createdAt = overrides.createdAt ?? Date.now();
  return {
    kid,
    alg: 'ES256',
    privateJwk: JSON.stringify({ kty: 'EC', crv: 'P-256', kid, d: 'private', x: 'x', y: 'y' }),
    publicJwk: JSON.stringify({ kty: 'EC', crv: 'P-256', kid, x: 'x', y: 'y' }),
    createdAt,
    activatesAt: createdAt,
    retiresAt: null,
    ...overrides,
  };
}

function isConflict(field: 'username' | 'email') {
  return (error: unknown) => {
    assert.ok(error instanceof ConflictError, `expected a ConflictError, got ${String(error)}`);
    assert.equal(error.name, 'ConflictError');
    assert.equal(error.field, field);
    return true;
  };
}

/** How the suite gets stores: one shared migrated store, and fresh databases of their own. */
export interface StoreFactory {
  /** The store most tests share (migrated by the suite). */
  open: () => Promise<Store>;
  /** Where a fresh, empty database lives: a file path, a schema name. */
  freshPlace: () => string;
  /** A store on that database, not migrated yet; opening the same place twice reaches the same data. */
  openAt: (place: string) => Store;
  /** Run after the suite (drop what it made). */
  cleanup?: () => Promise<void>;
}

export function testStoreContract(name: string, factory: StoreFactory): void {
  const { open, freshPlace, openAt, cleanup } = factory;
  const openMigrated = async (place: string): Promise<Store> => {
    const store = openAt(place);
    await store.migrate();
    return store;
  };

  describe(name, () => {
    let store: Store;

    before(async () => {
      store = await open();
      await store.migrate();
    });
    after(async () => {
      await store?.close();
      await cleanup?.();
    });

    const createUser = async (overrides: Partial<NewUser> = {}): Promise<User> =>
      store.createUser(newUser(overrides));

    /** A user with one stored refresh token (a fresh log-in). */
    const logIn = async (
      overrides: Partial<NewRefreshToken> = {},
    ): Promise<{ user: User; token: NewRefreshToken }> => {
      const user = await createUser();
      const token = newToken(user.id, overrides);
      await store.createRefreshToken(token);
      return { user, token };
    };

    test('a user and a refresh token survive close and reopen', async () => {
      const place = freshPlace();
      const first = await openMigrated(place);
      const { userId, tokens } = await seed(first);
      const user = await first.findUserById(userId);
      await first.close();

      const second = await openMigrated(place);
      assert.deepEqual(await second.findUserById(userId), user);
      assert.deepEqual(await second.findRefreshToken(tokens[0]?.tokenHash ?? ''), {
        ...tokens[0],
        usedAt: null,
        replacedBy: null,
        revokedAt: null,
        revokedReason: null,
      });
      await second.close();
    });

    test('close is idempotent; a closed store answers StoreUnavailableError', async () => {
      const closed = await openMigrated(freshPlace());
      await closed.close();
      await closed.close();
      await assert.rejects(closed.findUserById('x'), StoreUnavailableError);
      await assert.rejects(closed.migrate(), StoreUnavailableError);
    });

    test('using the store before migrate() is a clear error', async () => {
      const early = openAt(freshPlace());
      await assert.rejects(early.findUserById('x'), /call migrate\(\)/);
      await early.migrate();
      assert.equal(await early.findUserById('x'), null);
      await early.close();
    });

    test('migrate is idempotent', async () => {
      await store.migrate();
      await store.migrate();
    });

    describe('users', () => {
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
          createdAt: input.createdAt,
          updatedAt: input.createdAt,
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

    describe('refresh tokens', () => {
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
        assert.equal(
          (await store.findRefreshToken(token.tokenHash))?.replacedBy,
          winner?.tokenHash,
        );
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
        await assert.rejects(
          store.revokeFamily(token.familyId, now, 'stolen' as 'reuse'),
          TypeError,
        );
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

    describe('signing keys', () => {
      test('addSigningKey stores a key; listSigningKeys lists them all, newest first', async () => {
        const base = Date.now();
        const oldest = newKey({ createdAt: base });
        const hmac = newKey({
          alg: 'HS256',
          createdAt: base + 1,
          privateJwk: JSON.stringify({ kty: 'oct', k: 'secret' }),
          publicJwk: null,
        });
        const newest = newKey({
          createdAt: base + 2,
          activatesAt: base + HOUR,
          retiresAt: base + DAY,
        });
        for (const key of [oldest, newest, hmac]) await store.addSigningKey(key);
        const ours = new Set([oldest.kid, hmac.kid, newest.kid]);
        const listed = await store.listSigningKeys();
        for (let i = 1; i < listed.length; i++) {
          assert.ok((listed[i - 1]?.createdAt ?? 0) >= (listed[i]?.createdAt ?? 0), 'newest first');
        }
        assert.deepEqual(
          listed.filter((k) => ours.has(k.kid)),
          [newest, hmac, oldest],
        );
      });

      test('retireKeysBefore retires the keys before one in the signing order, never one after', async () => {
        // Far in the future, so that no other test's key comes after these.
        const base = Date.now() + 100 * DAY;
        const a = newKey({ createdAt: base });
        const b = newKey({ createdAt: base + 1 });
        const retiring = newKey({ createdAt: base + 2, retiresAt: base + HOUR });
        const current = newKey({ createdAt: base + 3 });
        const later = newKey({ createdAt: base + 4 });
        // Same activatesAt as current: ordered by kid.
        const [lowTwin, highTwin] = [
          newKey({ createdAt: base + 3 }),
          newKey({ createdAt: base + 3 }),
        ].sort((x, y) => (x.kid < y.kid ? -1 : 1));
        for (const key of [a, b, retiring, current, later, lowTwin!, highTwin!]) {
          await store.addSigningKey(key);
        }
        const retiresAt = base + 2 * HOUR;
        await store.retireKeysBefore(current, retiresAt);
        const byKidAll = new Map((await store.listSigningKeys()).map((k) => [k.kid, k]));
        assert.equal(byKidAll.get(later.kid)?.retiresAt, null, 'a later key is never retired');
        for (const twin of [lowTwin!, highTwin!]) {
          assert.equal(
            byKidAll.get(twin.kid)?.retiresAt,
            twin.kid < current.kid ? retiresAt : null,
            'same activatesAt: the smaller kid comes first',
          );
        }
        const byKid = new Map((await store.listSigningKeys()).map((k) => [k.kid, k]));
        assert.equal(byKid.get(a.kid)?.retiresAt, retiresAt);
        assert.equal(byKid.get(b.kid)?.retiresAt, retiresAt);
        assert.equal(byKid.get(retiring.kid)?.retiresAt, base + HOUR, 'already retiring: kept');
        assert.equal(byKid.get(current.kid)?.retiresAt, null);
        assert.deepEqual(byKid.get(current.kid), current);
      });

      test('withdrawKeysBefore also brings forward keys retiring later, never one after', async () => {
        const base = Date.now() + 200 * DAY;
        const retiringLate = newKey({ createdAt: base, retiresAt: base + 2 * DAY });
        const retiringSoon = newKey({ createdAt: base + 1, retiresAt: base + 10 });
        const live = newKey({ createdAt: base + 2 });
        const current = newKey({ createdAt: base + 3 });
        const later = newKey({ createdAt: base + 4 });
        // Rotated in, published, signing only later: it would take over from `current`.
        const pending = newKey({ createdAt: base + 5, activatesAt: base + HOUR });
        for (const key of [retiringLate, retiringSoon, live, current, later, pending]) {
          await store.addSigningKey(key);
        }
        const at = base + 100;
        await store.withdrawKeysBefore(current, at);
        const byKid = new Map((await store.listSigningKeys()).map((k) => [k.kid, k]));
        assert.equal(byKid.get(pending.kid)?.retiresAt, at, 'a key not signing yet is withdrawn');
        assert.equal(byKid.get(retiringLate.kid)?.retiresAt, at, 'brought forward');
        assert.equal(byKid.get(retiringSoon.kid)?.retiresAt, base + 10, 'already sooner: kept');
        assert.equal(byKid.get(live.kid)?.retiresAt, at);
        assert.equal(byKid.get(current.kid)?.retiresAt, null);
        assert.equal(byKid.get(later.kid)?.retiresAt, null, 'a later key is never withdrawn');
        await store.deleteRetiredKeys(at);
        const kids = new Set((await store.listSigningKeys()).map((k) => k.kid));
        for (const key of [retiringLate, retiringSoon, live, pending])
          assert.equal(kids.has(key.kid), false);
        for (const key of [current, later]) assert.equal(kids.has(key.kid), true);
      });

      test('replaceSigningKeyMaterial changes only keys still holding the expected text, in one step', async () => {
        const base = Date.now();
        const a = newKey({ createdAt: base, privateJwk: 'a-old' });
        const b = newKey({ createdAt: base, privateJwk: 'b-old' });
        const c = newKey({ createdAt: base, privateJwk: 'c-old' });
        for (const key of [a, b, c]) await store.addSigningKey(key);
        const changed = await store.replaceSigningKeyMaterial([
          { kid: a.kid, from: 'a-old', to: 'a-new' },
          { kid: b.kid, from: 'not what b holds', to: 'b-new' },
          { kid: 'no-such-kid', from: 'x', to: 'y' },
          { kid: c.kid, from: 'c-old', to: 'c-new' },
        ]);
        assert.equal(changed, 2);
        const byKid = new Map((await store.listSigningKeys()).map((k) => [k.kid, k]));
        assert.equal(byKid.get(a.kid)?.privateJwk, 'a-new');
        assert.equal(byKid.get(b.kid)?.privateJwk, 'b-old', 'changed meanwhile: skipped');
        assert.equal(byKid.get(c.kid)?.privateJwk, 'c-new');
        assert.deepEqual(byKid.get(a.kid), { ...a, privateJwk: 'a-new' }, 'nothing else changes');
        // The same change again finds nothing to do: a second migrator is harmless.
        assert.equal(
          await store.replaceSigningKeyMaterial([{ kid: a.kid, from: 'a-old', to: 'a-other' }]),
          0,
        );
        assert.equal(await store.replaceSigningKeyMaterial([]), 0);
        assert.equal(
          (await store.listSigningKeys()).find((k) => k.kid === a.kid)?.privateJwk,
          'a-new',
        );
      });

      test('deleteRetiredKeys deletes the keys whose retirement time has come, and only those', async () => {
        const now = Date.now();
        const gone = newKey({ createdAt: now - DAY, retiresAt: now - HOUR });
        const due = newKey({ createdAt: now - DAY, retiresAt: now });
        const later = newKey({ createdAt: now - DAY, retiresAt: now + HOUR });
        const active = newKey({ createdAt: now });
        for (const key of [gone, due, later, active]) await store.addSigningKey(key);
        const deleted = await store.deleteRetiredKeys(now);
        assert.ok(deleted >= 2, `deleted ${deleted}`);
        const kids = new Set((await store.listSigningKeys()).map((k) => k.kid));
        assert.equal(kids.has(gone.kid), false);
        assert.equal(kids.has(due.kid), false);
        assert.equal(kids.has(later.kid), true);
        assert.equal(kids.has(active.kid), true);
      });
    });
  });
}
