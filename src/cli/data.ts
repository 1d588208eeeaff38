// The auth server's data directory, for the commands that administer it (`keys`, `users`): the
// same SQLite file `laissez serve` uses, opened and migrated, never created by accident.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/types.ts';
import { type Io, UsageError } from './io.ts';

export const DATA_DIR_HELP =
  "  --data-dir DIR            the server's data directory (LAISSEZ_DATA_DIR; default ./data)";

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
