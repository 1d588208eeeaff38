// A store of one's own passes the published suite: an in-memory store written only against
// `laissez/store` (fixtures/memory-store.ts) runs `laissez/store/testing`. Both are imported by
// the package's own name, as a third party imports them: Node resolves them through the
// "exports" of package.json (dist/ after `npm run build`, src/ with --conditions=laissez-source),
// never through a path into src/. test/package.test.ts runs the same from the packed tarball.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { ConflictError, StoreUnavailableError } from 'laissez/store';
import { testStore } from 'laissez/store/testing';
import { openMemoryStore } from './fixtures/memory-store.ts';

testStore(
  {
    open: async () => openMemoryStore(`shared_${randomUUID()}`),
    freshPlace: () => `fresh_${randomUUID()}`,
    openAt: openMemoryStore,
  },
  { name: 'an in-memory store written against laissez/store' },
);

test('testStore refuses a misspelt factory or option name, and a missing function', () => {
  const factory = {
    open: async () => openMemoryStore(randomUUID()),
    freshPlace: () => randomUUID(),
    openAt: openMemoryStore,
  };
  assert.throws(
    () => testStore({ ...factory, cleanUp: async () => {} } as never),
    /testStore: unknown option "cleanUp"; did you mean "cleanup"\?/,
  );
  assert.throws(() => testStore(factory, { nmae: 'x' } as never), /did you mean "name"\?/);
  assert.throws(
    () => testStore({ ...factory, openAt: undefined } as never),
    /factory\.openAt must be a function/,
  );
  assert.throws(() => testStore(null as never), TypeError);
});

test('laissez/store exports the errors a store throws, as the suite checks them', () => {
  const conflict = new ConflictError('email');
  assert.equal(conflict.name, 'ConflictError');
  assert.equal(conflict.field, 'email');
  assert.ok(new StoreUnavailableError('down') instanceof Error);
});
