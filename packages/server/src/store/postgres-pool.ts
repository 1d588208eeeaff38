// The PostgreSQL store's connection: its options, checked once; the `pg` pool made from them
// (BIGINT read as numbers, the schema on every connection's search_path, statement and query
// timeouts); and one statement or one transaction on it, with every failure mapped to the
// store's errors (postgres-errors.ts) and never a secret in them. Then how the store's parts use
// it (`PostgresConnection`): refused before `migrate()` and after `close()`.
import { inspect } from 'node:util';
import { checkOptions, optionNames } from '@laissez/jwt/options';
import type { DatabaseError, PoolClient, PoolConfig, QueryResult } from 'pg';
import pg from 'pg';
import { isDatabaseError, reasonOf, secretsOf } from './postgres-errors.ts';
import { StoreUnavailableError } from './types.ts';

/** The `pg` pool settings the store lets through; the rest it sets itself. */
export type PostgresPoolOptions = Pick<
  PoolConfig,
  | 'max'
  | 'min'
  | 'idleTimeoutMillis'
  | 'connectionTimeoutMillis'
  | 'maxLifetimeSeconds'
  | 'ssl'
  | 'keepAlive'
  | 'application_name'
>;

export interface PostgresStoreOptions {
  /**
   * `postgres://user:password@host:5432/database` (`?sslmode=require` and the other parameters
   * `pg` reads are welcome): typically `DATABASE_URL`.
   */
  connectionString: string;
  /**
   * The schema that holds the tables: `migrate()` creates it when missing, and every pooled
   * connection's `search_path` is set to it alone. Default: the server's `search_path` (usually
   * `public`).
   */
  schema?: string;
  /**
   * How long one statement may run, waiting for locks included, before PostgreSQL cancels it
   * (then `StoreUnavailableError`), in milliseconds; 0 for no limit. Default 10000. Migrations
   * are exempt.
   */
  statementTimeout?: number;
  /**
   * How long the store waits for the answer to one statement, in milliseconds, before it gives up
   * on it (`StoreUnavailableError`) and closes the connection; 0 for no limit. Default
   * `statementTimeout` + 1000 (11000), or 0 when `statementTimeout` is 0. The statement timeout is
   * enforced by PostgreSQL, so it cannot help when the server itself stops answering (stopped,
   * frozen, a network cut that leaves the connection open): this one is kept by this process.
   * Migrations are exempt.
   */
  queryTimeout?: number;
  /**
   * Pool settings. Defaults: `max` 10 connections, `connectionTimeoutMillis` 5000 (how long to
   * wait for a connection, new or pooled, before `StoreUnavailableError`), `idleTimeoutMillis`
   * 10000, `application_name` `'laissez'`.
   */
  pool?: PostgresPoolOptions;
  /**
   * Told about errors of idle pooled connections (the server restarted, a network cut): the pool
   * drops such a connection and opens another when needed. Default: ignored.
   */
  onError?: (error: StoreUnavailableError) => void;
}

const OPTION_NAMES = optionNames<PostgresStoreOptions>({
  connectionString: true,
  schema: true,
  statementTimeout: true,
  queryTimeout: true,
  pool: true,
  onError: true,
});
const POOL_OPTION_NAMES = optionNames<PostgresPoolOptions>({
  max: true,
  min: true,
  idleTimeoutMillis: true,
  connectionTimeoutMillis: true,
  maxLifetimeSeconds: true,
  ssl: true,
  keepAlive: true,
  application_name: true,
});

export type Row = Record<string, unknown>;

/** `pool.query` and `client.query` as the store uses them. */
export interface Queryable {
  query(config: {
    text: string;
    values?: unknown[];
    query_timeout?: number;
  }): Promise<QueryResult<Row>>;
}

/** The longest delay a timer takes (about 24.8 days): "no client-side limit" for migrations. */
export const NO_QUERY_TIMEOUT = 2 ** 31 - 1;

/** One statement; `unbounded` lifts the pool's client-side query timeout for it. */
function send(
  on: Queryable,
  text: string,
  values: unknown[] | undefined,
  unbounded: boolean,
): Promise<QueryResult<Row>> {
  return on.query({
    text,
    ...(values !== undefined ? { values } : {}),
    ...(unbounded ? { query_timeout: NO_QUERY_TIMEOUT } : {}),
  });
}

export type OnConstraint = (error: DatabaseError) => Error;

/** What runs inside `#transaction`, given the transaction's `query`. */
export type InTransaction<T> = (
  query: (
    text: string,
    values?: unknown[],
    onConstraint?: OnConstraint,
  ) => Promise<QueryResult<Row>>,
) => Promise<T>;

const INT8_OID = 20;

/** int8 (BIGINT, COUNT) as a number; `pg` leaves it a string, since it may not fit one. */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError('PostgreSQL store: a BIGINT value does not fit a JavaScript number');
  }
  return value;
}

const getTypeParser = ((oid: number, format?: 'text' | 'binary') =>
  oid === INT8_OID && format !== 'binary'
    ? parseInt8
    : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser;

/** A pool of connections to the store's database, and how one statement or transaction runs. */
export class PostgresPool {
  /** The schema of the tables, or null for the server's search_path. */
  readonly schema: string | null;
  readonly #pool: pg.Pool;
  readonly #secrets: readonly string[];

  constructor(options: PostgresStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('PostgreSQL store: options are required: { connectionString }');
    }
    checkOptions('openPostgresStore', options, OPTION_NAMES);
    if (options.pool !== undefined) {
      if (options.pool === null || typeof options.pool !== 'object') {
        throw new TypeError('pool must be an object of pg pool settings');
      }
      // A misspelt pool setting (`maxConnections`) would leave the default in place unnoticed.
      checkOptions('openPostgresStore', options.pool, POOL_OPTION_NAMES, 'pool.');
    }
    const { connectionString } = options;
    if (typeof connectionString !== 'string' || connectionString === '') {
      throw new TypeError('PostgreSQL store: connectionString is required');
    }
    if (!connectionString.startsWith('/')) {
      try {
        new URL(connectionString);
      } catch {
        // Not echoed: it may hold a password.
        throw new TypeError('PostgreSQL store: the connection string is not a valid URL');
      }
    }
    const statementTimeout = options.statementTimeout ?? 10_000;
    if (!Number.isSafeInteger(statementTimeout) || statementTimeout < 0) {
      throw new TypeError('statementTimeout must be a non-negative integer (milliseconds)');
    }
    const queryTimeout =
      options.queryTimeout ?? (statementTimeout > 0 ? statementTimeout + 1000 : 0);
    if (
      !Number.isSafeInteger(queryTimeout) ||
      queryTimeout < 0 ||
      queryTimeout > NO_QUERY_TIMEOUT
    ) {
      throw new TypeError('queryTimeout must be a non-negative integer (milliseconds)');
    }
    const max = options.pool?.max ?? 10;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new TypeError('pool.max must be a positive integer');
    }
    if (options.schema !== undefined && (options.schema === '' || options.schema.includes('\0'))) {
      throw new TypeError('schema must be a non-empty name');
    }
    this.schema = options.schema ?? null;
    this.#secrets = secretsOf(connectionString);

    const setSearchPath = this.schema
      ? `SET search_path TO ${pg.escapeIdentifier(this.schema)}`
      : null;
    this.#pool = new pg.Pool({
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 10_000,
      application_name: 'laissez',
      ...options.pool,
      max,
      connectionString,
      statement_timeout: statementTimeout,
      // Client side: a statement not answered in time fails, and pg ends its connection (one
      // with a query still in flight is destroyed, never reused: see transaction()).
      ...(queryTimeout > 0 ? { query_timeout: queryTimeout } : {}),
      types: { getTypeParser },
      // Awaited by the pool before it hands the new connection out.
      ...(setSearchPath
        ? {
            onConnect: async (client: pg.ClientBase) => {
              await client.query(setSearchPath);
            },
          }
        : {}),
    });
    // An idle connection that breaks emits 'error' on the pool; unheard, it would end the process.
    const onError = options.onError;
    this.#pool.on('error', (error) => {
      if (onError) onError(this.#unavailable(error, 'keeping a pooled connection'));
    });
  }

  #unavailable(error: unknown, doing: string): StoreUnavailableError {
    if (error instanceof StoreUnavailableError) return error;
    const message = `PostgreSQL store: ${doing} failed: ${reasonOf(error)}`;
    // The original error, for the logs, unless it mentions a secret anywhere (an `Invalid URL`
    // TypeError keeps its input, for one).
    const text = inspect(error, { depth: 4 });
    return this.#secrets.some((secret) => text.includes(secret))
      ? new StoreUnavailableError(message)
      : new StoreUnavailableError(message, { cause: error });
  }

  /** The store's error for a failed `pg` call: constraint violations go to `onConstraint`. */
  #error(error: unknown, doing: string, onConstraint?: OnConstraint): Error {
    if (isDatabaseError(error) && error.code?.startsWith('23')) {
      return onConstraint
        ? onConstraint(error)
        : new Error(`PostgreSQL store: ${doing} violated a constraint`, { cause: error });
    }
    return this.#unavailable(error, doing);
  }

  async #exec(
    on: Queryable,
    doing: string,
    text: string,
    values?: unknown[],
    onConstraint?: OnConstraint,
  ): Promise<QueryResult<Row>> {
    try {
      return await send(on, text, values, false);
    } catch (error) {
      throw this.#error(error, doing, onConstraint);
    }
  }

  /** One statement on any pooled connection, in a transaction of its own. */
  query(
    doing: string,
    text: string,
    values?: unknown[],
    onConstraint?: OnConstraint,
  ): Promise<QueryResult<Row>> {
    return this.#exec(this.#pool as unknown as Queryable, doing, text, values, onConstraint);
  }

  /**
   * `fn` inside BEGIN … COMMIT on one connection, rolled back on any error. `unbounded`: no
   * client-side query timeout (migrations).
   */
  async transaction<T>(doing: string, fn: InTransaction<T>, unbounded = false): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw this.#unavailable(error, doing);
    }
    // While checked out, a broken connection's 'error' has no other listener; the failing query
    // reports it.
    const ignore = () => {};
    client.on('error', ignore);
    const on = client as unknown as Queryable;
    let broken: Error | undefined;
    const query = async (text: string, values?: unknown[], onConstraint?: OnConstraint) => {
      try {
        return await send(on, text, values, unbounded);
      } catch (error) {
        // No answer from the server (a query timeout, a lost connection): the connection may
        // still have the statement in flight, so a ROLLBACK would queue behind it and wait as
        // long again. It is not reused; PostgreSQL rolls back when the connection ends.
        if (!isDatabaseError(error)) broken = error instanceof Error ? error : new Error('failed');
        throw this.#error(error, doing, onConstraint);
      }
    };
    try {
      await query('BEGIN');
      const result = await fn(query);
      await query('COMMIT');
      return result;
    } catch (error) {
      if (broken === undefined) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          // The connection is gone or confused: the pool must not reuse it. PostgreSQL rolls
          // back on its own when the connection ends.
          broken = rollbackError instanceof Error ? rollbackError : new Error('rollback failed');
        }
      }
      throw error;
    } finally {
      client.off('error', ignore);
      client.release(broken);
    }
  }

  /** Closes every connection (waiting for those checked out). */
  end(): Promise<void> {
    return this.#pool.end();
  }
}

/**
 * The pool as every part of the PostgreSQL store uses it: refused after `close()`
 * (StoreUnavailableError) and before `migrate()` (an Error: a caller's mistake).
 */
export class PostgresConnection {
  readonly pool: PostgresPool;
  #ready = false;
  #closed = false;

  constructor(options: PostgresStoreOptions) {
    this.pool = new PostgresPool(options);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Throws unless the store is migrated and not closed. */
  check(): void {
    if (this.#closed) throw new StoreUnavailableError('PostgreSQL store: the store is closed');
    if (!this.#ready) throw new Error('PostgreSQL store: call migrate() before using the store');
  }

  /** `migrate()` is done: from now on every method may run. */
  migrated(): void {
    this.#ready = true;
  }

  /** One statement on any pooled connection, in a transaction of its own. */
  async query(
    doing: string,
    text: string,
    values?: unknown[],
    onConstraint?: OnConstraint,
  ): Promise<QueryResult<Row>> {
    this.check();
    return this.pool.query(doing, text, values, onConstraint);
  }

  /**
   * `fn` inside BEGIN … COMMIT on one connection (`PostgresPool.transaction`). It does not
   * `check()`: its callers do, first thing (migrate() runs one before the store is ready).
   */
  transaction<T>(doing: string, fn: InTransaction<T>, unbounded = false): Promise<T> {
    return this.pool.transaction(doing, fn, unbounded);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#ready = false;
    await this.pool.end();
  }
}
