// The SQLite store's connection. Opening the file: private on disk (0600 file, 0700 directory,
// whatever the umask), then the connection settings every store relies on (busy timeout, WAL,
// foreign keys). Then how the store's parts use it (`SqliteConnection`): its statements, prepared
// once migrated, and one call or one transaction on it with SQLite's failures mapped to the
// store's errors.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  isConstraintError,
  isSqliteError,
  type SqliteError,
  sqliteUnavailable,
} from './sqlite-errors.ts';
import { prepareStatements, type Statements } from './sqlite-statements.ts';
import { StoreUnavailableError } from './types.ts';

/** Group and other bits: none on the database, which holds password hashes and session tokens. */
const LOOSE = 0o077;

/** Makes an existing file 0600 if it is looser; a missing one is fine. */
function tighten(file: string): void {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new StoreUnavailableError(`SQLite store: cannot inspect ${file}`, { cause: error });
  }
  if ((mode & LOOSE) === 0) return;
  try {
    chmodSync(file, 0o600);
  } catch (error) {
    throw new StoreUnavailableError(
      `SQLite store: ${file} is readable by others (mode ${mode.toString(8)}) and cannot be made private: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: error },
    );
  }
}

/**
 * Prepares the database file before SQLite opens it: the directory 0700 when it is created
 * here, the file created 0600 (SQLite would use 0644 less the umask), a looser one tightened.
 * mkdir and open apply the umask, so the modes are set again with chmod, which does not.
 */
function privateFile(path: string): void {
  const dir = dirname(path);
  try {
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
    } else if (statSync(dir).mode & LOOSE) {
      process.emitWarning(
        `the directory of the database, ${dir}, may be entered by group or others (mode ${(statSync(dir).mode & 0o777).toString(8)}); chmod 700 it`,
        { code: 'LAISSEZ_DATA_DIR_MODE' },
      );
    }
  } catch (error) {
    throw new StoreUnavailableError(
      'SQLite store: cannot create the directory of the database file',
      { cause: error },
    );
  }
  try {
    closeSync(openSync(path, 'wx', 0o600));
    chmodSync(path, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') {
      throw new StoreUnavailableError(`SQLite store: cannot create ${path}: ${code ?? 'error'}`, {
        cause: error,
      });
    }
  }
  tighten(path);
}

/**
 * The database at `path` (a file made private first, or `':memory:'`), in WAL mode, with
 * `busy_timeout` and foreign keys on; `StoreUnavailableError` when it cannot be opened.
 */
export function openDatabase(path: string, busyTimeout: number): DatabaseSync {
  const onDisk = path !== ':memory:' && path !== '' && !path.startsWith('file:');
  if (onDisk) privateFile(path);
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path);
  } catch (error) {
    throw sqliteUnavailable(error, 'opening the database');
  }
  try {
    // busy_timeout first, so that switching to WAL also waits for another connection's lock.
    db.exec(`PRAGMA busy_timeout = ${busyTimeout}`);
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA foreign_keys = ON');
    // SQLite gives -wal and -shm the mode of the database file; older ones are tightened here.
    if (onDisk) for (const suffix of ['-wal', '-shm']) tighten(path + suffix);
  } catch (error) {
    db.close();
    if (error instanceof StoreUnavailableError) throw error;
    throw sqliteUnavailable(error, 'opening the database');
  }
  return db;
}

/**
 * The database as every part of the SQLite store uses it: refused after `close()`
 * (StoreUnavailableError), and its statements refused before `prepare()` (an Error: a caller's
 * mistake, migrate() not called).
 */
export class SqliteConnection {
  readonly db: DatabaseSync;
  #statements: Statements | null = null;
  #closed = false;

  constructor(path: string, busyTimeout: number) {
    this.db = openDatabase(path, busyTimeout);
  }

  /** Runs `fn`, turning SQLite failures into the store's errors; constraint errors go to `onConstraint`. */
  run<T>(doing: string, fn: () => T, onConstraint?: (error: SqliteError) => Error): T {
    if (this.#closed) throw new StoreUnavailableError('SQLite store: the store is closed');
    try {
      return fn();
    } catch (error) {
      if (isConstraintError(error)) {
        throw onConstraint
          ? onConstraint(error)
          : new Error(`SQLite store: ${doing} violated a constraint`, { cause: error });
      }
      if (isSqliteError(error)) throw sqliteUnavailable(error, doing);
      throw error;
    }
  }

  /** `fn` inside BEGIN IMMEDIATE … COMMIT: the write lock is held from the first read. */
  transaction<T>(fn: () => T): T {
    const db = this.db;
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      if (db.isTransaction) {
        try {
          db.exec('ROLLBACK');
        } catch {
          // The original error matters more; SQLite rolls back on its own when it must.
        }
      }
      throw error;
    }
  }

  /** The prepared statements; only once migrated, since they name every table. */
  get s(): Statements {
    if (this.#statements) return this.#statements;
    if (this.#closed) throw new StoreUnavailableError('SQLite store: the store is closed');
    throw new Error('SQLite store: call migrate() before using the store');
  }

  /** Prepares the statements (once), after migrating. */
  prepare(): void {
    this.#statements ??= prepareStatements(this.db);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements = null;
    this.db.close();
  }
}
