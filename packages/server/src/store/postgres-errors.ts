// How the PostgreSQL store describes a failure: SQLSTATE and errno codes mapped to fixed words,
// never the server's text or a statement's parameters, and the secrets (the connection string and
// its password) that no error may carry.
import type { DatabaseError } from 'pg';
import pg from 'pg';
import { CONSTRAINTS } from './postgres-migrations.ts';

export function isDatabaseError(error: unknown): error is DatabaseError {
  return error instanceof pg.DatabaseError;
}

const SQLSTATES: Record<string, string> = {
  '57014': 'a statement timed out or was cancelled',
  '57P01': 'the database server is shutting down (admin shutdown)',
  '57P02': 'the database server is shutting down (crash shutdown)',
  '57P03': 'the database server is not accepting connections yet',
  '53300': 'the database server has too many connections',
  '40001': 'a serialization failure',
  '40P01': 'a deadlock',
  '55P03': 'a lock was not available',
  '3D000': 'the database does not exist',
  '25006': 'the database is read-only',
  '42501': 'permission denied',
  '42P01': 'a table is missing (not migrated, or another schema?)',
};

const SQLSTATE_CLASSES: Record<string, string> = {
  '08': 'the connection failed',
  '28': 'the database refused the credentials',
  '53': 'the database server lacks resources',
  '57': 'the database server stopped the operation',
  '58': 'a system error on the database server',
  XX: 'an internal error of the database server',
};

const ERRNOS: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'the connection timed out',
  EPIPE: 'the connection was closed',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ENOTFOUND: 'the host name was not found',
  EAI_AGAIN: 'the host name could not be resolved now',
};

/** A description made of codes and fixed words only: no text from the server, no parameters. */
export function reasonOf(error: unknown): string {
  if (isDatabaseError(error)) {
    const code = error.code ?? '?????';
    const text = SQLSTATES[code] ?? SQLSTATE_CLASSES[code.slice(0, 2)] ?? 'a database error';
    return `${text} [SQLSTATE ${code}]`;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) {
    return `${ERRNOS[code] ?? 'a network error'} [${code}]`;
  }
  if (error instanceof Error) {
    // pg's client-side query_timeout.
    if (/query read timeout/i.test(error.message)) {
      return 'the database did not answer within the query timeout';
    }
    if (/timeout/i.test(error.message)) return 'timed out waiting for a connection';
    if (/calling end on the pool/i.test(error.message)) return 'the store is closed';
    if (/terminated|closed|not queryable|ended/i.test(error.message)) {
      return 'the connection was closed';
    }
  }
  return 'an unexpected error';
}

/** The passwords and the connection string, which no error may carry. */
export function secretsOf(connectionString: string): string[] {
  const secrets = [connectionString];
  try {
    const url = new URL(connectionString);
    if (url.password) {
      secrets.push(url.password);
      try {
        secrets.push(decodeURIComponent(url.password));
      } catch {
        // Not valid percent-encoding: the raw text is covered already.
      }
    }
    const query = url.searchParams.get('password');
    if (query) secrets.push(query);
  } catch {
    // Not a URL (a socket path): the whole string is covered already.
  }
  return secrets.filter((s) => s.length > 0);
}

export function postgresTokenConstraint(error: DatabaseError): Error {
  if (error.constraint === CONSTRAINTS.tokenUser) {
    return new Error('PostgreSQL store: the refresh token names no existing user', {
      cause: error,
    });
  }
  if (error.constraint === CONSTRAINTS.tokenHash) {
    return new Error('PostgreSQL store: a refresh token with this hash already exists', {
      cause: error,
    });
  }
  return new Error('PostgreSQL store: the refresh token violates a constraint', { cause: error });
}
