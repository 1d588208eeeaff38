// How the SQLite store reads node:sqlite's failures: a constraint is the caller's (a taken name
// becomes ConflictError where the store knows which index spoke), anything else means the
// database cannot serve (StoreUnavailableError, 503), described by SQLite's generic text only.
import { StoreUnavailableError } from './types.ts';

const SQLITE_CONSTRAINT = 19;

export interface SqliteError extends Error {
  code: 'ERR_SQLITE_ERROR';
  errcode: number;
  errstr: string;
}

export function isSqliteError(error: unknown): error is SqliteError {
  return (
    error instanceof Error &&
    (error as Partial<SqliteError>).code === 'ERR_SQLITE_ERROR' &&
    typeof (error as Partial<SqliteError>).errcode === 'number'
  );
}

export function isConstraintError(error: unknown): error is SqliteError {
  return isSqliteError(error) && (error.errcode & 0xff) === SQLITE_CONSTRAINT;
}

/** Any SQLite failure other than a constraint: the database cannot serve us (503). */
export function sqliteUnavailable(error: unknown, doing: string): StoreUnavailableError {
  // errstr is SQLite's generic text for the code ("database is locked", "disk I/O error"):
  // it never carries SQL or data, unlike the full message.
  const reason = isSqliteError(error) ? error.errstr : 'unexpected error';
  return new StoreUnavailableError(`SQLite store: ${doing} failed: ${reason}`, { cause: error });
}

export function sqliteTokenConstraint(error: SqliteError): Error {
  if (/FOREIGN KEY/i.test(error.message)) {
    return new Error('SQLite store: the refresh token names no existing user', { cause: error });
  }
  if (/\brefresh_tokens\.token_hash\b/.test(error.message)) {
    return new Error('SQLite store: a refresh token with this hash already exists', {
      cause: error,
    });
  }
  return new Error('SQLite store: the refresh token violates a constraint', { cause: error });
}
