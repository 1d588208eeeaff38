// The contract on signing keys: newest first, retiring and withdrawing in the signing order
// (never the last key), material swapped only where it still holds the expected text.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Store } from '../types.ts';
import { DAY, HOUR, newKey, type Suite } from './records.ts';

export function signingKeyTests(suite: Suite): void {
  describe('signing keys', () => {
    let store: Store;
    before(() => {
      store = suite.store();
    });

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
}
