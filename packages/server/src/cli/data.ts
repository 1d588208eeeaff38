// The auth server's data directory, for the commands that administer it (`keys`, `users`): the
// same SQLite file `laissez serve` uses, opened and migrated, never created by accident.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ParseArgsOptionsConfig } from 'node:util';
import {
  type KekSource,
  type KeyEncryptionKey,
  KeyEncryptionKeyError,
  loadKeyEncryptionKey,
} from '../auth/kek.ts';
import type { Store } from '../store/types.ts';
import { type Context, type Io, parseCommandLine, UsageError } from './io.ts';

export const DATA_DIR_HELP =
  "  --data-dir DIR            the server's data directory (LAISSEZ_DATA_DIR; default ./data)";

/** The flags every command on the database takes; last, so that the order of suggestions stays. */
const STORE_FLAGS = {
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The options of a command on the database whose --json needs no words, with -h. */
export const STORE_FLAGS_HELP = `${DATA_DIR_HELP}
  --json
  -h, --help`;

/** The command line of a command on the database: its own `options`, `--data-dir` and `--json`. */
export function parseStoreCommandLine<const T extends ParseArgsOptionsConfig>(
  args: string[],
  options: T,
) {
  return parseCommandLine(args, { ...options, ...STORE_FLAGS });
}

/** `--data-dir`, else `LAISSEZ_DATA_DIR`, else `./data`: as `laissez serve` picks it. */
export function dataDirOf(flag: string | undefined, env: Io['env']): string {
  const dir = flag ?? env['LAISSEZ_DATA_DIR'] ?? './data';
  if (dir === '') throw new UsageError('--data-dir is empty: give the server data directory');
  return dir;
}

/**
 * Opens the server's database (PostgreSQL when DATABASE_URL is set). Unless `create` is set, a directory without one is a usage error
 * (a mistyped path must not silently make an empty database).
 */
export async function openDataStore(
  dataDir: string,
  options: { create?: boolean; env: Io['env'] },
): Promise<Store> {
  // DATABASE_URL selects the PostgreSQL store, as it does for `laissez serve`.
  const databaseUrl = options.env['DATABASE_URL'];
  let store: Store;
  if (databaseUrl) {
    const { openPostgresStore } = await import('../store/postgres.ts');
    store = openPostgresStore({ connectionString: databaseUrl });
  } else {
    const path = join(dataDir, 'laissez.db');
    if (!options.create && !existsSync(path)) {
      throw new UsageError(
        `no laissez database at ${path}: start the server once (laissez serve) or point --data-dir / LAISSEZ_DATA_DIR at its data directory`,
      );
    }
    const { openSqliteStore } = await import('../store/sqlite.ts');
    store = openSqliteStore({ path });
  }
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/**
 * Runs `fn` on the database of `--data-dir` (`flag`, or the directory it already resolved to),
 * closed after it whatever happens. Unless `create` is set, a directory without a database is a
 * usage error, as for openDataStore.
 */
export async function withStore<T>(
  flag: string | undefined,
  context: Context,
  fn: (store: Store) => Promise<T>,
  options: { create?: boolean } = {},
): Promise<T> {
  const store = await openDataStore(dataDirOf(flag, context.io.env), {
    ...options,
    env: context.io.env,
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export const KEK_HELP = `  --key-encryption-key-file F
                            the key that encrypts the signing keys (LAISSEZ_KEY_ENCRYPTION_KEY_FILE;
                            or its text in LAISSEZ_KEY_ENCRYPTION_KEY; default DIR/laissez.kek
                            with SQLite, required with PostgreSQL): as the server is given it`;

/**
 * The key-encryption key as `laissez serve` finds it: LAISSEZ_KEY_ENCRYPTION_KEY, else
 * `--key-encryption-key-file` / LAISSEZ_KEY_ENCRYPTION_KEY_FILE, else (SQLite only) the file
 * beside the database, created by the first start.
 */
export function kekSourceOf(flag: string | undefined, dataDir: string, env: Io['env']): KekSource {
  const text = env['LAISSEZ_KEY_ENCRYPTION_KEY'] || undefined;
  const file = flag ?? (env['LAISSEZ_KEY_ENCRYPTION_KEY_FILE'] || undefined);
  if (file === '') throw new UsageError('--key-encryption-key-file is empty: give the file');
  if (text !== undefined && file !== undefined) {
    throw new UsageError(
      'LAISSEZ_KEY_ENCRYPTION_KEY and --key-encryption-key-file / LAISSEZ_KEY_ENCRYPTION_KEY_FILE both give the key-encryption key: keep one',
    );
  }
  if (text !== undefined) return { kind: 'text', value: text, label: 'LAISSEZ_KEY_ENCRYPTION_KEY' };
  if (file !== undefined) {
    return { kind: 'file', path: file, label: 'the key-encryption key file', own: false };
  }
  if (env['DATABASE_URL']) {
    throw new UsageError(
      'with DATABASE_URL, set LAISSEZ_KEY_ENCRYPTION_KEY or --key-encryption-key-file: the key-encryption key the servers use',
    );
  }
  return {
    kind: 'file',
    path: join(dataDir, 'laissez.kek'),
    label: 'the key-encryption key file',
    own: true,
  };
}

/** Loads the key-encryption key; a missing or wrong one is a usage error naming the setting. */
export async function openKek(source: KekSource, store: Store): Promise<KeyEncryptionKey> {
  try {
    return await loadKeyEncryptionKey(source, store);
  } catch (error) {
    if (error instanceof KeyEncryptionKeyError) throw new UsageError(error.message);
    throw error;
  }
}
