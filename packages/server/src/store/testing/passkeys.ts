// The contract on passkeys and WebAuthn challenges: a credential id is registered once across
// every user; a user reaches only their own passkeys; the signature counter moves by
// compare-and-set (of two log-ins that read one counter, one moves it); a challenge is taken
// once, only for its ceremony, only before it expires; a deleted user takes both along.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { NewPasskey, Store, WebAuthnChallenge } from '../types.ts';
import { rid, type Suite } from './records.ts';

const MINUTE = 60_000;

function newPasskey(userId: string, overrides: Partial<NewPasskey> = {}): NewPasskey {
  return {
    id: rid('cred_'),
    userId,
    publicKey: rid('pk_'),
    signCount: 0,
    transports: ['internal', 'hybrid'],
    name: 'Laptop',
    backupEligible: true,
    backedUp: false,
    createdAt: Date.now(),
    ...overrides,
  };
}

function newChallenge(
  userId: string | null,
  overrides: Partial<WebAuthnChallenge> = {},
): WebAuthnChallenge {
  const now = Date.now();
  return {
    challengeHash: rid('ch_'),
    ceremony: userId === null ? 'login' : 'register',
    userId,
    createdAt: now,
    expiresAt: now + 5 * MINUTE,
    ...overrides,
  };
}

export function passkeyTests(suite: Suite): void {
  describe('passkeys and webauthn challenges', () => {
    let store: Store;
    before(() => {
      store = suite.store();
    });
    const { createUser } = suite;

    test('a stored passkey is found and listed as written, never used', async () => {
      const user = await createUser();
      const first = newPasskey(user.id, { createdAt: 1000 });
      const second = newPasskey(user.id, { createdAt: 2000, transports: [], backedUp: true });
      assert.equal(await store.createPasskey(second), true);
      assert.equal(await store.createPasskey(first), true);
      assert.deepEqual(await store.findPasskey(first.id), { ...first, lastUsedAt: null });
      assert.deepEqual(await store.listPasskeys(user.id), [
        { ...first, lastUsedAt: null },
        { ...second, lastUsedAt: null },
      ]);
      assert.equal(await store.findPasskey(rid('cred_')), null);
      assert.deepEqual(await store.listPasskeys(rid('u_')), []);
    });

    test('a credential id is registered once, across users, even by racers', async () => {
      const [a, b] = [await createUser(), await createUser()];
      const id = rid('cred_');
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.createPasskey(newPasskey(i % 2 ? a.id : b.id, { id })),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1, results.join());
      const owner = (await store.findPasskey(id))?.userId;
      assert.ok(owner === a.id || owner === b.id);
    });

    test('a passkey naming no user is refused', async () => {
      await assert.rejects(store.createPasskey(newPasskey(rid('u_'))), /no existing user/);
    });

    test("rename and delete reach only the user's own passkey", async () => {
      const [owner, other] = [await createUser(), await createUser()];
      const passkey = newPasskey(owner.id);
      await store.createPasskey(passkey);
      const now = Date.now();
      assert.equal(await store.renamePasskey(other.id, passkey.id, 'Mine now', now), false);
      assert.equal(await store.deletePasskey(other.id, passkey.id), false);
      assert.equal((await store.findPasskey(passkey.id))?.name, 'Laptop');
      assert.equal(await store.renamePasskey(owner.id, passkey.id, 'Phone', now), true);
      assert.equal((await store.findPasskey(passkey.id))?.name, 'Phone');
      assert.equal(await store.renamePasskey(owner.id, rid('cred_'), 'x', now), false);
      assert.equal(await store.deletePasskey(owner.id, passkey.id), true);
      assert.equal(await store.deletePasskey(owner.id, passkey.id), false);
      assert.equal(await store.findPasskey(passkey.id), null);
    });

    test('the counter moves by compare-and-set: of racers from one value, one wins', async () => {
      const user = await createUser();
      const passkey = newPasskey(user.id, { signCount: 5 });
      await store.createPasskey(passkey);
      const now = Date.now();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.usePasskey(passkey.id, { from: 5, to: 6 + i }, true, now),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1, results.join());
      const used = await store.findPasskey(passkey.id);
      assert.equal(used?.lastUsedAt, now);
      assert.equal(used?.backedUp, true);
      assert.equal(used?.signCount, 6 + results.indexOf(true));
      assert.equal(await store.usePasskey(passkey.id, { from: 5, to: 99 }, true, now), false);
      assert.equal(await store.usePasskey(rid('cred_'), { from: 0, to: 1 }, true, now), false);
    });

    test('a challenge is taken once, only for its ceremony, only while live', async () => {
      const user = await createUser();
      const now = Date.now();
      const challenge = newChallenge(user.id, { createdAt: now, expiresAt: now + MINUTE });
      await store.createWebAuthnChallenge(challenge);
      const hash = challenge.challengeHash;
      assert.equal(await store.consumeWebAuthnChallenge(hash, 'login', now), null);
      assert.equal(await store.consumeWebAuthnChallenge(hash, 'register', now + MINUTE), null);
      assert.deepEqual(await store.consumeWebAuthnChallenge(hash, 'register', now), challenge);
      assert.equal(await store.consumeWebAuthnChallenge(hash, 'register', now), null);
      assert.equal(await store.consumeWebAuthnChallenge(rid('ch_'), 'login', now), null);
    });

    test('of many concurrent consumers of one challenge, exactly one gets it', async () => {
      const challenge = newChallenge(null);
      await store.createWebAuthnChallenge(challenge);
      const now = Date.now();
      const results = await Promise.all(
        Array.from({ length: 12 }, () =>
          store.consumeWebAuthnChallenge(challenge.challengeHash, 'login', now),
        ),
      );
      assert.equal(results.filter((r) => r !== null).length, 1);
    });

    test('storing a challenge drops the expired ones', async () => {
      const now = Date.now();
      const old = newChallenge(null, { createdAt: now - 2 * MINUTE, expiresAt: now - MINUTE });
      await store.createWebAuthnChallenge(old);
      await store.createWebAuthnChallenge(newChallenge(null, { createdAt: now }));
      // Gone for good: even a clock set back cannot take it.
      assert.equal(
        await store.consumeWebAuthnChallenge(old.challengeHash, 'login', now - 2 * MINUTE),
        null,
      );
    });

    test('deleting a user deletes their passkeys and challenges', async () => {
      const user = await createUser();
      const passkey = newPasskey(user.id);
      await store.createPasskey(passkey);
      const challenge = newChallenge(user.id);
      await store.createWebAuthnChallenge(challenge);
      assert.equal(await store.deleteUser(user.id), true);
      assert.equal(await store.findPasskey(passkey.id), null);
      assert.equal(
        await store.consumeWebAuthnChallenge(challenge.challengeHash, 'register', Date.now()),
        null,
      );
    });
  });
}
