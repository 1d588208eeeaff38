// The key ring below HTTP, on an injected clock over a temporary SQLite store: a rotated-in key
// is published before it signs, takes over at its activation, older keys retire after the last
// token they signed and are deleted then; another instance's rotation is seen on reload; a
// withdrawal leaves one key; private halves are sealed under the KEK, and another KEK is refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isSealed, KeyEncryptionKeyError } from '../../src/auth/kek.ts';
import { RETIRE_LEEWAY } from '../../src/auth/keyring.ts';
import { type Clock, newKek, openRing, openTestStore, type TestStore } from './fixtures/domain.ts';

const kidOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid as string;

describe('KeyRing, injected clock (sqlite)', () => {
  const clock: Clock = { now: Date.UTC(2027, 0, 1) };
  let db: TestStore;
  before(async () => {
    db = await openTestStore('sqlite');
  });
  after(async () => {
    await db.close();
  });

  test('a rotated-in key is published first, signs from its activation; the old one retires, then goes', async () => {
    const ring = await openRing(db.store, clock, { kek: db.kek, publishDelay: 300 });
    const first = ring.current;
    const early = ring.sign({ sub: 'u' });
    assert.equal(kidOf(early), first.kid);
    const next = await ring.rotate();
    assert.equal(next.activatesAt, clock.now + 300_000);
    assert.deepEqual(
      ring.jwks.keys.map((k) => k.kid).sort(),
      [first.kid, next.kid].sort(),
      'published at once',
    );
    assert.equal(kidOf(ring.sign({ sub: 'u' })), first.kid, 'not signing yet');
    clock.now += 300_000;
    assert.equal(ring.current.kid, next.kid, 'signs from its activation, without a reload');
    assert.equal(kidOf(ring.sign({ sub: 'u' })), next.kid);
    // The old key verifies its last tokens until accessTtl + leeway after the switch.
    const retiring = ring.keys.find((k) => k.kid === first.kid)!;
    assert.equal(retiring.retiresAt, next.activatesAt + 900_000 + RETIRE_LEEWAY);
    clock.now = retiring.retiresAt! + 1;
    await ring.reload();
    assert.deepEqual(
      ring.keys.map((k) => k.kid),
      [next.kid],
      'deleted once retired',
    );
  });

  test('another instance’s rotation is seen on reload; a withdrawal leaves one key', async () => {
    const one = await openRing(db.store, clock, { kek: db.kek });
    const two = await openRing(db.store, clock, { kek: db.kek });
    const rotated = await two.rotate({ immediate: true });
    assert.ok(!one.keys.some((k) => k.kid === rotated.kid));
    await one.reload();
    assert.equal(one.current.kid, rotated.kid);
    const token = two.sign({ sub: 'u' });
    assert.equal(one.verify(token).payload['sub'], 'u');
    // A leak: a new key at once, every earlier one withdrawn, a published one too.
    clock.now += 1000;
    const pending = await one.rotate();
    clock.now += 1000;
    const fresh = await one.rotate({ immediate: true });
    assert.equal(one.current.kid, fresh.kid);
    await one.withdrawBefore(fresh);
    assert.deepEqual(
      one.keys.map((k) => k.kid),
      [fresh.kid],
    );
    assert.ok(!one.keys.some((k) => k.kid === pending.kid));
    await two.reload();
    assert.throws(() => two.verify(token), 'a withdrawn key’s tokens are refused after reload');
  });

  test('private halves are sealed under the KEK; another KEK cannot open the ring', async () => {
    const ring = await openRing(db.store, clock, { kek: db.kek });
    for (const key of await db.store.listSigningKeys()) {
      assert.ok(isSealed(key.privateJwk));
      assert.ok(!/"d"|"k"/.test(key.privateJwk));
    }
    await assert.rejects(openRing(db.store, clock, { kek: newKek() }), KeyEncryptionKeyError);
    // The derived secrets: the same for one KEK, different for another, never the KEK's id.
    const again = await openRing(db.store, clock, { kek: db.kek });
    assert.deepEqual(ring.deriveSecret('x'), again.deriveSecret('x'));
    assert.notDeepEqual(ring.deriveSecret('x'), ring.deriveSecret('y'));
    assert.equal(ring.deriveSecret('x').length, 32);
  });
});
