/**
 * The PostgreSQL store: the same contract as the embedded SQLite store, over a pool of `pg`
 * connections, so that several servers can share one database.
 *
 * Races are settled by the database, never by this process:
 * - a unique index decides who gets a username or an email (of two racers, the second waits for
 *   the first's commit and then gets a unique violation: `ConflictError`);
 * - a refresh token is spent by a conditional `UPDATE … WHERE used_at IS NULL AND revoked_at IS
 *   NULL AND expires_at > now`: the second of two racers waits on the row lock, sees the row
 *   already spent and updates nothing, so exactly one wins; the successor is inserted by the same
 *   statement, only when the update took;
 * - revocations must also reach successors that are being stored at that very moment. So every
 *   change that adds a token to an existing family (a rotation) holds a `FOR SHARE`
 *   lock on its user's row until it commits, and every revocation first takes a `FOR NO KEY
 *   UPDATE` lock on that row: it waits for the additions in flight, and its `UPDATE`, a later
 *   statement with a later snapshot, sees their tokens. Log-ins (`createRefreshToken`) take no such
 *   lock: a new family after a "log out everywhere" is a later log-in, not a leak.
 * - migrations run in one transaction under a transaction-level advisory lock, so processes
 *   migrating at once apply each step exactly once.
 *
 * Times are BIGINT milliseconds, read back as numbers (never as the strings `pg` makes of int8).
 * Failures to reach or use the database become `StoreUnavailableError` (the server answers 503),
 * with messages built from SQLSTATE and errno codes only: never a connection string or password.
 */
import { inspect } from 'node:util';
import type { DatabaseError, PoolClient, PoolConfig, QueryResult } from 'pg';
import pg from 'pg';
import { checkOptions, optionNames } from '../jwt/lib/options.ts';
import { CONSTRAINTS, MIGRATIONS } from './postgres-migrations.ts';
import { rowMappers } from './rows.ts';
import {
  ConflictError,
  checkReason,
  type NewRefreshToken,
  type NewUser,
  type RefreshToken,
  type RevocationReason,
  type RotateResult,
  type SigningKey,
  type Store,
  StoreUnavailableError,
  type User,
  unrotatable,
} from './types.ts';
import { usernameKey, usernameSkeleton } from './username-key.ts';

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

export function openPostgresStore(options: PostgresStoreOptions): Store {
  return new PostgresStore(options);
}

type Row = Record<string, unknown>;

/** `pool.query` and `client.query` as the store uses them. */
interface Queryable {
  query(config: {
    text: string;
    values?: unknown[];
    query_timeout?: number;
  }): Promise<QueryResult<Row>>;
}

/** The longest delay a timer takes (about 24.8 days): "no client-side limit" for migrations. */
const NO_QUERY_TIMEOUT = 2 ** 31 - 1;

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

type OnConstraint = (error: DatabaseError) => Error;

/** What runs inside `#transaction`, given the transaction's `query`. */
type InTransaction<T> = (
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

// --- errors -----------------------------------------------------------------------------------

function isDatabaseError(error: unknown): error is DatabaseError {
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
function reasonOf(error: unknown): string {
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
function secretsOf(connectionString: string): string[] {
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

// --- rows -------------------------------------------------------------------------------------

function num(value: unknown): number {
  if (typeof value !== 'number') {
    throw new StoreUnavailableError('PostgreSQL store: a row holds a malformed number');
  }
  return value;
}

function parseRoles(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((r) => typeof r === 'string')) {
    throw new StoreUnavailableError('PostgreSQL store: a user row holds malformed roles');
  }
  return value;
}

const { toUser, toRefreshToken, toSigningKey } = rowMappers({
  num,
  flag: (value) => value === true,
  roles: parseRoles,
});

/** Times go to BIGINT columns: a fraction or NaN is a caller's mistake, not an outage. */
function ms(value: number, what: string): number {
  if (!Number.isSafeInteger(value)) {
    throw new TypeError(`PostgreSQL store: ${what} must be an integer number of milliseconds`);
  }
  return value;
}

function msOrNull(value: number | null, what: string): number | null {
  return value === null ? null : ms(value, what);
}

function tokenConstraint(error: DatabaseError): Error {
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

// --- SQL --------------------------------------------------------------------------------------

const SQL = {
  insertUser: `INSERT INTO users (id, username, username_key, username_skeleton, email, password_hash, roles, disabled, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, false, $8, $8)`,
  userById: 'SELECT * FROM users WHERE id = $1',
  userByUsername: 'SELECT * FROM users WHERE username_key = $1',
  userByEmail: 'SELECT * FROM users WHERE email = $1',
  // A NULL limit is no limit.
  listUsers: 'SELECT * FROM users ORDER BY created_at, id LIMIT $1',
  // An unknown `after` compares with NULL: no rows, as in SQLite.
  listUsersAfter: `SELECT * FROM users
     WHERE (created_at, id) > (SELECT created_at, id FROM users WHERE id = $1)
     ORDER BY created_at, id LIMIT $2`,
  setPasswordHash: 'UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3',
  setDisabled: 'UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3',
  deleteUser: 'DELETE FROM users WHERE id = $1',

  insertToken: `INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5)`,
  tokenByHash: 'SELECT * FROM refresh_tokens WHERE token_hash = $1',
  /** A token and its owner in one round trip: each row as JSON, so their columns stay apart. */
  tokenWithUser: `SELECT row_to_json(t) AS token, row_to_json(u) AS owner
     FROM refresh_tokens t LEFT JOIN users u ON u.id = t.user_id
     WHERE t.token_hash = $1`,
  /**
   * A rotation in one statement, so in one round trip and its own transaction. In order, forced by
   * what each part reads: the token's owner is share-locked (the UPDATE's condition reads it), so
   * no revocation of theirs (which locks the user first) can run until this commits, and a user
   * deleted meanwhile leaves nothing to spend; the token is spent if it is still live (of
   * concurrent callers the first locks the row, the others wait for its commit, find `used_at` set
   * on the row's new version, and update nothing); the successor is stored only when the update
   * took. `owners` is 0 when the token or its user does not exist; the token's columns are null
   * when nothing was spent.
   */
  rotate: `WITH owner AS (
       SELECT u.id FROM users u
       WHERE u.id = (SELECT t.user_id FROM refresh_tokens t WHERE t.token_hash = $1)
       FOR SHARE OF u
     ), spent AS (
       UPDATE refresh_tokens SET used_at = $2, replaced_by = $3
       WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
         AND EXISTS (SELECT 1 FROM owner)
       RETURNING *
     ), successor AS (
       INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at)
       SELECT $3::text, $4::text, $5::text, $6::bigint, $7::bigint FROM spent
     )
     SELECT (SELECT count(*) FROM owner)::int AS owners, spent.*
     FROM (VALUES (1)) AS one (x) LEFT JOIN spent ON true`,
  lockFamilyOwners: `SELECT id FROM users
     WHERE id IN (SELECT user_id FROM refresh_tokens WHERE family_id = $1)
     ORDER BY id FOR NO KEY UPDATE`,
  lockUser: 'SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE',
  revokeFamily: `UPDATE refresh_tokens SET revoked_at = $1, revoked_reason = $3
     WHERE family_id = $2 AND revoked_at IS NULL`,
  liveFamilies: `SELECT DISTINCT family_id FROM refresh_tokens
    WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY family_id`,
  revokeUser: `UPDATE refresh_tokens SET revoked_at = $1, revoked_reason = $3
     WHERE user_id = $2 AND revoked_at IS NULL`,
  deleteExpiredTokens: 'DELETE FROM refresh_tokens WHERE expires_at <= $1',

  listKeys: 'SELECT * FROM signing_keys ORDER BY created_at DESC, seq DESC',
  insertKey: `INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at, activates_at, retires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  retireBefore: `UPDATE signing_keys SET retires_at = $1
    WHERE retires_at IS NULL AND (activates_at < $2 OR (activates_at = $2 AND kid < $3))`,
  withdrawBefore: `UPDATE signing_keys SET retires_at = $1
    WHERE (retires_at IS NULL OR retires_at > $1)
      AND (activates_at < $2 OR (activates_at = $2 AND kid < $3) OR activates_at > $1)`,
  replaceKeyMaterial:
    'UPDATE signing_keys SET private_jwk = $1 WHERE kid = $2 AND private_jwk = $3',
  deleteRetiredKeys: 'DELETE FROM signing_keys WHERE retires_at IS NOT NULL AND retires_at <= $1',
} as const;

// --- the store --------------------------------------------------------------------------------

export class PostgresStore implements Store {
  readonly #pool: pg.Pool;
  readonly #schema: string | null;
  readonly #secrets: readonly string[];
  #ready = false;
  #closed = false;

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
    this.#schema = options.schema ?? null;
    this.#secrets = secretsOf(connectionString);

    const setSearchPath = this.#schema
      ? `SET search_path TO ${pg.escapeIdentifier(this.#schema)}`
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
      // with a query still in flight is destroyed, never reused: see #transaction).
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

  #check(): void {
    if (this.#closed) throw new StoreUnavailableError('PostgreSQL store: the store is closed');
    if (!this.#ready) throw new Error('PostgreSQL store: call migrate() before using the store');
  }

  /** One statement on any pooled connection, in a transaction of its own. */
  async #query(
    doing: string,
    text: string,
    values?: unknown[],
    onConstraint?: OnConstraint,
  ): Promise<QueryResult<Row>> {
    this.#check();
    return this.#exec(this.#pool as unknown as Queryable, doing, text, values, onConstraint);
  }

  /**
   * `fn` inside BEGIN … COMMIT on one connection, rolled back on any error. `unbounded`: no
   * client-side query timeout (migrations).
   */
  async #transaction<T>(doing: string, fn: InTransaction<T>, unbounded = false): Promise<T> {
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

  async migrate(): Promise<void> {
    if (this.#closed) throw new StoreUnavailableError('PostgreSQL store: the store is closed');
    const known = MIGRATIONS.length;
    const schema = this.#schema;
    // All pending steps in one transaction (PostgreSQL's DDL is transactional): a database is at
    // one version or the next, never between. The advisory lock makes a second process wait for
    // the first's commit; it then reads the version again and finds nothing left to do.
    const steps: InTransaction<void> = async (query) => {
      await query('SET LOCAL statement_timeout = 0');
      await query(
        `SELECT pg_advisory_xact_lock(
           hashtextextended('laissez migrate ' || COALESCE($1::text, current_schema(), ''), 0))`,
        [schema],
      );
      if (schema !== null) {
        // CREATE SCHEMA IF NOT EXISTS would still need the right to create schemas.
        const found = await query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
        if (found.rowCount === 0) await query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
      }
      await query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version    INTEGER PRIMARY KEY,
           applied_at BIGINT  NOT NULL
         )`,
      );
      const { rows } = await query(
        'SELECT COALESCE(MAX(version), 0)::bigint AS v FROM schema_migrations',
      );
      const version = num(rows[0]?.['v']);
      if (version > known) {
        throw new Error(
          `PostgreSQL store: the database is at schema version ${version}, newer than this ` +
            `version of laissez knows (${known}); upgrade laissez or use another database`,
        );
      }
      for (let v = version; v < known; v++) {
        const step = MIGRATIONS[v]!;
        await query(step.sql);
        await step.backfill?.(query);
        await query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [
          v + 1,
          Date.now(),
        ]);
      }
    };
    // No client-side query timeout: a migration may wait for another process's, then take long.
    await this.#transaction('migrating', steps, true);
    this.#ready = true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#ready = false;
    await this.#pool.end();
  }

  async createUser(user: NewUser): Promise<User> {
    const email = user.email.toLowerCase();
    const roles = [...user.roles];
    const createdAt = ms(user.createdAt, 'createdAt');
    const key = usernameKey(user.username);
    await this.#query(
      'creating a user',
      SQL.insertUser,
      [
        user.id,
        user.username,
        key,
        usernameSkeleton(key),
        email,
        user.passwordHash,
        roles,
        createdAt,
      ],
      (error) => {
        if (
          error.constraint === CONSTRAINTS.username ||
          error.constraint === CONSTRAINTS.usernameSkeleton
        )
          return new ConflictError('username');
        if (error.constraint === CONSTRAINTS.email) return new ConflictError('email');
        if (error.constraint === CONSTRAINTS.userId) {
          return new Error('PostgreSQL store: a user with this id already exists', {
            cause: error,
          });
        }
        return new Error('PostgreSQL store: the user violates a constraint', { cause: error });
      },
    );
    return {
      id: user.id,
      username: user.username,
      email,
      passwordHash: user.passwordHash,
      roles,
      disabled: false,
      createdAt,
      updatedAt: createdAt,
    };
  }

  async findUserById(id: string): Promise<User | null> {
    const { rows } = await this.#query('reading a user', SQL.userById, [id]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async findUserByUsername(username: string): Promise<User | null> {
    const { rows } = await this.#query('reading a user', SQL.userByUsername, [
      usernameKey(username),
    ]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async findUserByEmail(email: string): Promise<User | null> {
    const { rows } = await this.#query('reading a user', SQL.userByEmail, [email.toLowerCase()]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async listUsers(options: { limit: number; after?: string }): Promise<User[]> {
    const floor = Math.floor(options.limit);
    if (!(floor > 0)) return [];
    const limit = Number.isSafeInteger(floor) ? floor : null;
    const { rows } =
      options.after === undefined
        ? await this.#query('listing users', SQL.listUsers, [limit])
        : await this.#query('listing users', SQL.listUsersAfter, [options.after, limit]);
    return rows.map(toUser);
  }

  async updatePasswordHash(id: string, passwordHash: string, now: number): Promise<void> {
    await this.#query('updating a password hash', SQL.setPasswordHash, [
      passwordHash,
      ms(now, 'now'),
      id,
    ]);
  }

  async setUserDisabled(id: string, disabled: boolean, now: number): Promise<boolean> {
    const result = await this.#query('updating a user', SQL.setDisabled, [
      disabled,
      ms(now, 'now'),
      id,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async deleteUser(id: string): Promise<boolean> {
    // ON DELETE CASCADE removes the user's refresh tokens in the same statement.
    const result = await this.#query('deleting a user', SQL.deleteUser, [id]);
    return (result.rowCount ?? 0) > 0;
  }

  async createRefreshToken(token: NewRefreshToken): Promise<void> {
    await this.#query(
      'storing a refresh token',
      SQL.insertToken,
      [
        token.tokenHash,
        token.familyId,
        token.userId,
        ms(token.createdAt, 'createdAt'),
        ms(token.expiresAt, 'expiresAt'),
      ],
      tokenConstraint,
    );
  }

  async findRefreshToken(tokenHash: string): Promise<RefreshToken | null> {
    const { rows } = await this.#query('reading a refresh token', SQL.tokenByHash, [tokenHash]);
    return rows[0] ? toRefreshToken(rows[0]) : null;
  }

  async findRefreshTokenWithUser(
    tokenHash: string,
  ): Promise<{ token: RefreshToken; user: User | null } | null> {
    const { rows } = await this.#query('reading a refresh token', SQL.tokenWithUser, [tokenHash]);
    const row = rows[0];
    if (!row) return null;
    // JSON keeps BIGINT as numbers, BOOLEAN as booleans and JSONB roles as arrays: the same
    // readers apply.
    const owner = row['owner'] as Row | null;
    return { token: toRefreshToken(row['token'] as Row), user: owner ? toUser(owner) : null };
  }

  async rotateRefreshToken(
    tokenHash: string,
    successor: NewRefreshToken,
    now: number,
  ): Promise<RotateResult> {
    this.#check();
    const values = [
      tokenHash,
      ms(now, 'now'),
      successor.tokenHash,
      successor.familyId,
      successor.userId,
      ms(successor.createdAt, 'createdAt'),
      ms(successor.expiresAt, 'expiresAt'),
    ];
    const doing = 'rotating a refresh token';
    const [result] = (await this.#query(doing, SQL.rotate, values, tokenConstraint)).rows;
    // No owner, no token (deleting a user deletes their tokens).
    if (!result || result['owners'] === 0) return { status: 'missing' };
    if (result['token_hash'] !== null) return { status: 'rotated', token: toRefreshToken(result) };
    // Nothing was spent: say why. A new statement, so it sees the winner's commit (the update
    // waited for it), and with it `usedAt` and `replacedBy`.
    const [row] = (await this.#query(doing, SQL.tokenByHash, [tokenHash])).rows;
    if (!row) return { status: 'missing' };
    const refused = unrotatable(toRefreshToken(row), now);
    if (refused) return refused;
    throw new Error('PostgreSQL store: a live refresh token could not be spent');
  }

  async revokeFamily(
    familyId: string,
    now: number,
    reason: RevocationReason = 'logout',
  ): Promise<number> {
    this.#check();
    const at = ms(now, 'now');
    const why = checkReason(reason);
    return this.#transaction('revoking refresh tokens', async (query) => {
      // Waits for the rotations in flight in this family; the UPDATE, a later
      // statement, then sees their successors.
      if ((await query(SQL.lockFamilyOwners, [familyId])).rowCount === 0) return 0;
      return (await query(SQL.revokeFamily, [at, familyId, why])).rowCount ?? 0;
    });
  }

  async listLiveFamilies(userId: string, now: number): Promise<string[]> {
    const { rows } = await this.#query('listing sessions', SQL.liveFamilies, [
      userId,
      ms(now, 'now'),
    ]);
    return rows.map((row) => String(row['family_id']));
  }

  async revokeUserTokens(
    userId: string,
    now: number,
    reason: RevocationReason = 'logout_all',
  ): Promise<number> {
    this.#check();
    const at = ms(now, 'now');
    const why = checkReason(reason);
    return this.#transaction('revoking refresh tokens', async (query) => {
      if ((await query(SQL.lockUser, [userId])).rowCount === 0) return 0;
      return (await query(SQL.revokeUser, [at, userId, why])).rowCount ?? 0;
    });
  }

  async deleteExpiredRefreshTokens(now: number): Promise<number> {
    const result = await this.#query('deleting expired refresh tokens', SQL.deleteExpiredTokens, [
      ms(now, 'now'),
    ]);
    return result.rowCount ?? 0;
  }

  async listSigningKeys(): Promise<SigningKey[]> {
    const { rows } = await this.#query('listing signing keys', SQL.listKeys);
    return rows.map(toSigningKey);
  }

  async addSigningKey(key: SigningKey): Promise<void> {
    await this.#query(
      'storing a signing key',
      SQL.insertKey,
      [
        key.kid,
        key.alg,
        key.privateJwk,
        key.publicJwk,
        ms(key.createdAt, 'createdAt'),
        ms(key.activatesAt, 'activatesAt'),
        msOrNull(key.retiresAt, 'retiresAt'),
      ],
      (error) =>
        error.constraint === CONSTRAINTS.kid
          ? new Error('PostgreSQL store: a signing key with this kid already exists', {
              cause: error,
            })
          : new Error('PostgreSQL store: the signing key violates a constraint', { cause: error }),
    );
  }

  async retireKeysBefore(key: { kid: string; activatesAt: number }, retiresAt: number) {
    await this.#query('retiring signing keys', SQL.retireBefore, [
      ms(retiresAt, 'retiresAt'),
      ms(key.activatesAt, 'activatesAt'),
      key.kid,
    ]);
  }

  async withdrawKeysBefore(key: { kid: string; activatesAt: number }, retiresAt: number) {
    await this.#query('withdrawing signing keys', SQL.withdrawBefore, [
      ms(retiresAt, 'retiresAt'),
      ms(key.activatesAt, 'activatesAt'),
      key.kid,
    ]);
  }

  async replaceSigningKeyMaterial(
    changes: readonly { kid: string; from: string; to: string }[],
  ): Promise<number> {
    if (changes.length === 0) return 0;
    this.#check();
    return this.#transaction('replacing signing key material', async (query) => {
      let changed = 0;
      for (const { kid, from, to } of changes) {
        changed += (await query(SQL.replaceKeyMaterial, [to, kid, from])).rowCount ?? 0;
      }
      return changed;
    });
  }

  async deleteRetiredKeys(now: number): Promise<number> {
    const result = await this.#query('deleting retired signing keys', SQL.deleteRetiredKeys, [
      ms(now, 'now'),
    ]);
    return result.rowCount ?? 0;
  }
}
