// The contract on OAuth clients: stored and read back as given, one client per id (of racers for
// an id exactly one wins), secrets replaced in place; client assertions accepted once per jti
// until they expire (RFC 7523 §3), atomically.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import type { Client, Store } from '../types.ts';
import { HOUR, rid, type Suite } from './records.ts';

export function newClient(overrides: Partial<Client> = {}): Client {
  return {
    id: rid('c_'),
    name: 'Billing service',
    secretHash: randomBytes(32).toString('base64url'),
    scopes: ['invoices:read', 'invoices:write'],
    grantTypes: ['client_credentials'],
    authMethod: 'client_secret_basic',
    jwks: null,
    jwksUri: null,
    createdAt: Date.now(),
    secretRotatedAt: null,
    ...overrides,
  };
}

export function clientTests(suite: Suite): void {
  describe('oauth clients', () => {
    let store: Store;
    before(() => {
      store = suite.store();
    });

    test('createClient stores a client; findClient reads it back as given', async () => {
      const secret = newClient();
      const keyed = newClient({
        authMethod: 'private_key_jwt',
        secretHash: null,
        jwks: JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] }),
        scopes: [],
        grantTypes: ['client_credentials', 'refresh_token'],
      });
      const remote = newClient({
        authMethod: 'private_key_jwt',
        secretHash: null,
        jwksUri: 'https://service.example/jwks.json',
      });
      for (const client of [secret, keyed, remote])
        assert.equal(await store.createClient(client), true);
      assert.deepEqual(await store.findClient(secret.id), secret);
      assert.deepEqual(await store.findClient(keyed.id), keyed);
      assert.deepEqual(await store.findClient(remote.id), remote);
      assert.equal(await store.findClient(rid('c_')), null);
    });

    test('a taken id: createClient answers false and changes nothing', async () => {
      const first = newClient();
      assert.equal(await store.createClient(first), true);
      assert.equal(await store.createClient(newClient({ id: first.id, name: 'Other' })), false);
      assert.deepEqual(await store.findClient(first.id), first);
    });

    test('of racers for one id exactly one wins', async () => {
      const id = rid('c_');
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.createClient(newClient({ id, name: `n${i}` }))),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    test('listClients lists every client by creation, then id', async () => {
      const base = Date.now() + 1000 * HOUR;
      const [a, b] = [rid('c_'), rid('c_')].sort((x, y) =>
        Buffer.compare(Buffer.from(x), Buffer.from(y)),
      );
      const later = newClient({ createdAt: base + 1 });
      const twinB = newClient({ id: b!, createdAt: base });
      const twinA = newClient({ id: a!, createdAt: base });
      for (const client of [later, twinB, twinA]) await store.createClient(client);
      const listed = await store.listClients();
      const ours = new Set([later.id, twinA.id, twinB.id]);
      assert.deepEqual(
        listed.filter((c) => ours.has(c.id)),
        [twinA, twinB, later],
      );
      for (let i = 1; i < listed.length; i++) {
        assert.ok(listed[i - 1]!.createdAt <= listed[i]!.createdAt, 'ordered by creation');
      }
    });

    test('setClientSecret replaces the hash and records when; false for an unknown client', async () => {
      const client = newClient();
      await store.createClient(client);
      const at = Date.now() + 5;
      assert.equal(await store.setClientSecret(client.id, 'new-hash', at), true);
      assert.deepEqual(await store.findClient(client.id), {
        ...client,
        secretHash: 'new-hash',
        secretRotatedAt: at,
      });
      assert.equal(await store.setClientSecret(rid('c_'), 'x', at), false);
    });

    test('deleteClient removes the client; true only when there was one', async () => {
      const client = newClient();
      await store.createClient(client);
      assert.equal(await store.deleteClient(client.id), true);
      assert.equal(await store.findClient(client.id), null);
      assert.equal(await store.deleteClient(client.id), false);
    });

    test('useClientAssertion accepts a jti once until it expires, per client', async () => {
      const now = Date.now();
      const client = rid('c_');
      const jti = rid('j_');
      assert.equal(await store.useClientAssertion(client, jti, now + 60_000, now), true);
      assert.equal(await store.useClientAssertion(client, jti, now + 60_000, now + 1), false);
      // Another client's assertion may carry the same jti.
      assert.equal(await store.useClientAssertion(rid('c_'), jti, now + 60_000, now), true);
      // Expired, the record may go: the jti is accepted again (its assertion has expired too,
      // so the token endpoint would refuse it before asking).
      assert.equal(await store.useClientAssertion(client, jti, now + 120_000, now + 60_000), true);
      assert.equal(await store.useClientAssertion(client, jti, now + 120_000, now + 60_001), false);
    });

    test('of racers with one assertion exactly one is accepted', async () => {
      const now = Date.now();
      const client = rid('c_');
      const jti = rid('j_');
      const results = await Promise.all(
        Array.from({ length: 8 }, () => store.useClientAssertion(client, jti, now + 60_000, now)),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });
  });
}
