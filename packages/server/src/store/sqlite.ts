/**
 * The embedded store: one SQLite file through the built-in `node:sqlite`, no server to run.
 *
 * Several processes may open the same file: WAL lets readers and one writer work together,
 * `busy_timeout` makes a writer wait for the lock instead of failing, and every read-then-write
 * (rotation, migration) runs in a `BEGIN IMMEDIATE` transaction, which takes the write lock
 * before reading, so no other connection can change the row between the check and the update.
 *
 * `DatabaseSync` is synchronous: each method runs to completion before it returns its promise,
 * so no transaction ever stays open across an `await`.
 */
import { checkOptions, optionNames } from '@laissez/jwt/options';
import { AssembledStore } from './assembled-store.ts';
import { sqliteAudit } from './sqlite-audit.ts';
import { sqliteClients } from './sqlite-clients.ts';
import { SqliteConnection } from './sqlite-connection.ts';
import { MIGRATIONS } from './sqlite-migrations.ts';
import { sqliteOneTimeTokens } from './sqlite-one-time-tokens.ts';
import { sqlitePasskeys } from './sqlite-passkeys.ts';
import { sqliteRefreshTokens } from './sqlite-refresh-tokens.ts';
import { sqliteSecondFactors } from './sqlite-second-factors.ts';
import { sqliteSigningKeys } from './sqlite-signing-keys.ts';
import { sqliteUsers } from './sqlite-users.ts';
import type { Store } from './types.ts';

export interface SqliteStoreOptions {
  /**
   * The database file, or `':memory:'`. The file and its -wal and -shm companions are made 0600
   * (owner only) whatever the umask, and tightened when looser; a missing directory is created
   * 0700, and an existing one that group or others may enter gets a warning (process warnings,
   * code LAISSEZ_DATA_DIR_MODE): it is not changed, it may hold more than laissez's files.
   */
  path: string;
  /** How long a writer waits for another connection's lock, in milliseconds. Default 5000. */
  busyTimeout?: number;
}

const OPTION_NAMES = optionNames<SqliteStoreOptions>({ path: true, busyTimeout: true });

export function openSqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(options);
}

/** The SQLite store: the parts of every concern (sqlite-users.ts, …) over one connection. */
export class SqliteStore extends AssembledStore {
  readonly #c: SqliteConnection;

  constructor(options: SqliteStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('SQLite store: options are required: { path }');
    }
    checkOptions('openSqliteStore', options, OPTION_NAMES);
    const { path } = options;
    const busyTimeout = options.busyTimeout ?? 5000;
    if (!Number.isInteger(busyTimeout) || busyTimeout < 0) {
      throw new TypeError('busyTimeout must be a non-negative integer (milliseconds)');
    }
    const c = new SqliteConnection(path, busyTimeout);
    super({
      users: sqliteUsers(c),
      refreshTokens: sqliteRefreshTokens(c),
      oneTimeTokens: sqliteOneTimeTokens(c),
      clients: sqliteClients(c),
      passkeys: sqlitePasskeys(c),
      signingKeys: sqliteSigningKeys(c),
      secondFactors: sqliteSecondFactors(c),
      audit: sqliteAudit(c),
    });
    this.#c = c;
  }

  async migrate(): Promise<void> {
    const c = this.#c;
    const db = c.db;
    const known = MIGRATIONS.length;
    c.run('migrating', () => {
      db.exec(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version    INTEGER PRIMARY KEY NOT NULL,
           applied_at INTEGER NOT NULL
         )`,
      );
      const current = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations');
      const record = db.prepare(
        'INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)',
      );
      // One step per transaction; the version is read again inside each, so two processes
      // migrating at once apply every step exactly once (the second waits, then sees it done).
      for (;;) {
        const applied = c.transaction(() => {
          const version = Number(current.get()?.['v']);
          if (version > known) {
            throw new Error(
              `SQLite store: the database is at schema version ${version}, newer than this ` +
                `version of laissez knows (${known}); upgrade laissez or use another database`,
            );
          }
          const step = MIGRATIONS[version];
          if (!step) return false;
          db.exec(step.sql);
          step.backfill?.(db);
          record.run(version + 1, Date.now());
          return true;
        });
        if (!applied) break;
      }
      c.prepare();
    });
  }

  async close(): Promise<void> {
    this.#c.close();
  }
}
