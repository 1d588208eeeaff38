/**
 * `laissez/store/testing`: the conformance suite of the `Store` contract, the one every store
 * passes (the built-in SQLite and PostgreSQL stores, and a store of your own). It registers
 * `node:test` tests through the interface only; every test makes its own random ids and none
 * assumes an empty database, so it can run against a shared one.
 * @example
 * // my-store.test.ts, run with `node --test`
 * import { testStore } from 'laissez/store/testing';
 * import { openMyStore } from './my-store.ts';
 * testStore({
 *   open: async () => openMyStore({ database: 'shared' }),
 *   freshPlace: () => `db_${crypto.randomUUID()}`,
 *   openAt: (database) => openMyStore({ database }),
 * });
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkOptions, optionNames } from '@laissez/jwt/options';
import { type NewRefreshToken, type NewUser, type Store, StoreUnavailableError } from '../types.ts';
import { accountTests } from './account.ts';
import { auditTests } from './audit.ts';
import { clientTests } from './clients.ts';
import { oneTimeTokenTests } from './one-time-tokens.ts';
import { passkeyTests } from './passkeys.ts';
import { newToken, newUser, type Suite } from './records.ts';
import { refreshTokenTests } from './refresh-tokens.ts';
import { secondFactorTests } from './second-factors.ts';
import { signingKeyTests } from './signing-keys.ts';
import { userTests } from './users.ts';

/** How the suite gets stores: one shared migrated store, and fresh databases of their own. */
export interface StoreFactory {
  /** The store most tests share (the suite migrates it, and closes it at the end). */
  open: () => Promise<Store>;
  /** Where a fresh, empty database lives: a file path, a schema name, a key. */
  freshPlace: () => string;
  /**
   * A store on that database, not migrated yet; opening the same place twice reaches the same
   * data. The suite uses it to check that data survives a close and reopen, that a closed store
   * answers `StoreUnavailableError`, and that a store used before `migrate()` says so.
   */
  openAt: (place: string) => Store;
  /** Run after the suite, once the shared store is closed (drop what it made). */
  cleanup?: () => Promise<void>;
}

export interface TestStoreOptions {
  /** The name of the suite's outer `describe`. Default `'Store contract'`. */
  name?: string;
}

const FACTORY_NAMES = optionNames<StoreFactory>({
  open: true,
  freshPlace: true,
  openAt: true,
  cleanup: true,
});
const OPTION_NAMES = optionNames<TestStoreOptions>({ name: true });

/**
 * Registers the conformance suite for the stores `factory` opens: call it at the top level of a
 * test file (or inside a `describe`). A misspelt factory or option name is a TypeError at once,
 * so that a suite never runs without the part it was meant to check.
 */
export function testStore(factory: StoreFactory, options: TestStoreOptions = {}): void {
  if (factory === null || typeof factory !== 'object') {
    throw new TypeError('testStore: a factory is required: { open, freshPlace, openAt }');
  }
  checkOptions('testStore', factory, FACTORY_NAMES);
  checkOptions('testStore', options, OPTION_NAMES);
  for (const name of ['open', 'freshPlace', 'openAt'] as const) {
    if (typeof factory[name] !== 'function') {
      throw new TypeError(`testStore: factory.${name} must be a function`);
    }
  }
  if (factory.cleanup !== undefined && typeof factory.cleanup !== 'function') {
    throw new TypeError('testStore: factory.cleanup must be a function');
  }
  const { open, freshPlace, openAt, cleanup } = factory;
  const openMigrated = async (place: string): Promise<Store> => {
    const store = openAt(place);
    await store.migrate();
    return store;
  };

  describe(options.name ?? 'Store contract', () => {
    let store: Store | undefined;

    before(async () => {
      store = await open();
      await store.migrate();
    });
    after(async () => {
      await store?.close();
      await cleanup?.();
    });

    const shared = (): Store => {
      if (!store) throw new Error('testStore: the shared store is not open');
      return store;
    };
    const createUser = async (overrides: Partial<NewUser> = {}) =>
      shared().createUser(newUser(overrides));
    const suite: Suite = {
      store: shared,
      createUser,
      logIn: async (overrides: Partial<NewRefreshToken> = {}) => {
        const user = await createUser();
        const token = newToken(user.id, overrides);
        await shared().createRefreshToken(token);
        return { user, token };
      },
    };

    test('a user and a refresh token survive close and reopen', async () => {
      const place = freshPlace();
      const first = await openMigrated(place);
      const created = await first.createUser(newUser());
      const token = newToken(created.id);
      await first.createRefreshToken(token);
      const user = await first.findUserById(created.id);
      await first.close();

      const second = await openMigrated(place);
      assert.deepEqual(await second.findUserById(created.id), user);
      assert.deepEqual(await second.findRefreshToken(token.tokenHash), {
        ...token,
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
      await shared().migrate();
      await shared().migrate();
    });

    userTests(suite);
    refreshTokenTests(suite);
    signingKeyTests(suite);
    accountTests(suite);
    oneTimeTokenTests(suite);
    clientTests(suite);
    secondFactorTests(suite);
    passkeyTests(suite);
    auditTests(suite);
  });
}
