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
import type { QueryResult } from 'pg';
import pg from 'pg';
import { auditLimit, detailsText, prefixForms, toAuditEvent } from './audit.ts';
import { PASSKEY_SQL } from './passkey-statements.ts';
import { postgresTokenConstraint } from './postgres-errors.ts';
import { CONSTRAINTS, MIGRATIONS } from './postgres-migrations.ts';
import {
  type InTransaction,
  type OnConstraint,
  PostgresPool,
  type PostgresStoreOptions,
  type Row,
} from './postgres-pool.ts';
import {
  ms,
  msOrNull,
  num,
  SQL,
  toClient,
  toMfaChallenge,
  toOneTimeToken,
  toPasskey,
  toRefreshToken,
  toSession,
  toSigningKey,
  toTotpFactor,
  toUser,
  toWebAuthnChallenge,
} from './postgres-statements.ts';
import {
  type AuditEvent,
  type AuditQuery,
  type Client,
  ConflictError,
  type ConsumeResult,
  checkReason,
  type MfaChallenge,
  type NewMfaChallenge,
  type NewOneTimeToken,
  type NewPasskey,
  type NewRefreshToken,
  type NewUser,
  type OneTimePurpose,
  type OneTimeToken,
  type Passkey,
  type RefreshToken,
  type RevocationReason,
  type RotateResult,
  type Session,
  type SigningKey,
  type Store,
  StoreUnavailableError,
  type TotpFactor,
  type User,
  unconsumed,
  unrotatable,
  type WebAuthnCeremony,
  type WebAuthnChallenge,
} from './types.ts';
import { usernameKey, usernameSkeleton } from './username-key.ts';

export type { PostgresPoolOptions, PostgresStoreOptions } from './postgres-pool.ts';

/** Takes the advisory lock of each name (`SQL.lockName`), in sorted order so lockers never deadlock. */
async function lockNames(
  query: Parameters<InTransaction<void>>[0],
  names: readonly string[],
): Promise<void> {
  for (const name of [...names].sort()) await query(SQL.lockName, [name]);
}

/** A family's amr as JSON text, or NULL when not recorded. */
function amrText(amr: readonly string[] | undefined): string | null {
  return amr === undefined ? null : JSON.stringify([...amr]);
}
export function openPostgresStore(options: PostgresStoreOptions): Store {
  return new PostgresStore(options);
}

export class PostgresStore implements Store {
  readonly #db: PostgresPool;
  #ready = false;
  #closed = false;

  constructor(options: PostgresStoreOptions) {
    this.#db = new PostgresPool(options);
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
    return this.#db.query(doing, text, values, onConstraint);
  }

  /** `fn` inside BEGIN … COMMIT on one connection (postgres-pool.ts). */
  #transaction<T>(doing: string, fn: InTransaction<T>, unbounded = false): Promise<T> {
    return this.#db.transaction(doing, fn, unbounded);
  }

  async migrate(): Promise<void> {
    if (this.#closed) throw new StoreUnavailableError('PostgreSQL store: the store is closed');
    const known = MIGRATIONS.length;
    const schema = this.#db.schema;
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
    await this.#db.end();
  }

  async createUser(user: NewUser): Promise<User> {
    this.#check();
    const email = user.email.toLowerCase();
    const roles = [...user.roles];
    const createdAt = ms(user.createdAt, 'createdAt');
    const key = usernameKey(user.username);
    const skeleton = usernameSkeleton(key);
    const onConstraint: OnConstraint = (error) => {
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
    };
    await this.#transaction('creating a user', async (query) => {
      await lockNames(query, [`key ${key}`, `skeleton ${skeleton}`, `email ${email}`]);
      // A statement after the locks: it sees any reservation committed before they were granted.
      const { rows } = await query(SQL.reservedNames, [createdAt, key, skeleton, email]);
      if (rows[0]) throw new ConflictError(rows[0]['kind'] === 'email' ? 'email' : 'username');
      await query(
        SQL.insertUser,
        [user.id, user.username, key, skeleton, email, user.passwordHash, roles, createdAt],
        onConstraint,
      );
    });
    return {
      id: user.id,
      username: user.username,
      email,
      passwordHash: user.passwordHash,
      roles,
      disabled: false,
      emailVerified: false,
      createdAt,
      updatedAt: createdAt,
      appMetadata: {},
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

  async listUsers(options: { limit: number; after?: string; prefix?: string }): Promise<User[]> {
    const floor = Math.floor(options.limit);
    if (!(floor > 0)) return [];
    const limit = Number.isSafeInteger(floor) ? floor : null;
    if (options.prefix !== undefined) {
      const forms = prefixForms(options.prefix, usernameKey);
      const { rows } = await this.#query('listing users', SQL.listUsersMatching, [
        forms.key,
        forms.email,
        options.after ?? null,
        limit,
      ]);
      return rows.map(toUser);
    }
    const { rows } =
      options.after === undefined
        ? await this.#query('listing users', SQL.listUsers, [limit])
        : await this.#query('listing users', SQL.listUsersAfter, [options.after, limit]);
    return rows.map(toUser);
  }

  async setUserRoles(id: string, roles: readonly string[], now: number): Promise<boolean> {
    const result = await this.#query('updating a user', SQL.setRoles, [
      [...roles],
      ms(now, 'now'),
      id,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async updatePasswordHash(id: string, passwordHash: string, now: number): Promise<void> {
    await this.#query('updating a password hash', SQL.setPasswordHash, [
      passwordHash,
      ms(now, 'now'),
      id,
    ]);
  }

  async replacePasswordHash(id: string, from: string, to: string, now: number): Promise<boolean> {
    const result = await this.#query('updating a password hash', SQL.replacePasswordHash, [
      to,
      ms(now, 'now'),
      id,
      from,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async setUserDisabled(id: string, disabled: boolean, now: number): Promise<boolean> {
    const result = await this.#query('updating a user', SQL.setDisabled, [
      disabled,
      ms(now, 'now'),
      id,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async setUserAppMetadata(
    id: string,
    metadata: Readonly<Record<string, unknown>>,
    now: number,
  ): Promise<boolean> {
    const result = await this.#query('updating a user', SQL.setAppMetadata, [
      JSON.stringify(metadata),
      ms(now, 'now'),
      id,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async deleteUser(id: string, options: { reserveUntil?: number } = {}): Promise<boolean> {
    if (options.reserveUntil === undefined) {
      // ON DELETE CASCADE removes the user's refresh tokens in the same statement.
      const result = await this.#query('deleting a user', SQL.deleteUser, [id]);
      return (result.rowCount ?? 0) > 0;
    }
    this.#check();
    const until = ms(options.reserveUntil, 'reserveUntil');
    return this.#transaction('deleting a user', async (query) => {
      const found = (await query(SQL.userById, [id])).rows[0];
      if (!found) return false;
      const namesOf = (row: Row) => {
        const key = String(row['username_key']);
        // Rows migrated before skeletons existed may lack one: computed, as createUser would.
        const skeleton = String(row['username_skeleton'] ?? usernameSkeleton(key));
        return [`key ${key}`, `skeleton ${skeleton}`, `email ${String(row['email'])}`];
      };
      const locked = namesOf(found);
      await lockNames(query, locked);
      const deleted = (await query(SQL.deleteUserReturning, [id])).rows[0];
      if (!deleted) return false;
      const names = namesOf(deleted);
      // The email changed between the read and the delete: its name is locked too (later, so out
      // of order: a deadlock here is detected by PostgreSQL and fails this call, never hangs).
      await lockNames(
        query,
        names.filter((name) => !locked.includes(name)),
      );
      const split = names.map((name) => name.split(' ', 1)[0]!);
      await query(SQL.reserveNames, [
        split,
        names.map((name, i) => name.slice(split[i]!.length + 1)),
        names.map(() => until),
      ]);
      return true;
    });
  }

  async deleteExpiredReservations(now: number): Promise<number> {
    const result = await this.#query(
      'deleting expired reservations',
      SQL.deleteExpiredReservations,
      [ms(now, 'now')],
    );
    return result.rowCount ?? 0;
  }

  async markEmailVerified(id: string, email: string, now: number): Promise<boolean> {
    const result = await this.#query('verifying an email', SQL.markEmailVerified, [
      ms(now, 'now'),
      id,
      email.toLowerCase(),
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async changeEmail(id: string, from: string, to: string, now: number): Promise<boolean> {
    const result = await this.#query(
      'changing an email',
      SQL.changeEmail,
      [to.toLowerCase(), ms(now, 'now'), id, from.toLowerCase()],
      (error) =>
        error.constraint === CONSTRAINTS.email
          ? new ConflictError('email')
          : new Error('PostgreSQL store: the email change violates a constraint', {
              cause: error,
            }),
    );
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
        token.client?.ip ?? null,
        token.client?.device ?? null,
        token.scope ?? null,
        msOrNull(token.authTime ?? null, 'authTime'),
        amrText(token.amr),
        token.jkt ?? null,
      ],
      postgresTokenConstraint,
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
    const [result] = (await this.#query(doing, SQL.rotate, values, postgresTokenConstraint)).rows;
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

  async listSessions(userId: string, now: number): Promise<Session[]> {
    const { rows } = await this.#query('listing sessions', SQL.sessions, [userId, ms(now, 'now')]);
    return rows.map(toSession);
  }

  async revokeSession(
    userId: string,
    familyId: string,
    now: number,
    reason: RevocationReason = 'logout',
  ): Promise<boolean> {
    this.#check();
    const at = ms(now, 'now');
    const why = checkReason(reason);
    return this.#transaction('revoking refresh tokens', async (query) => {
      // As revokeUserTokens: waits for the user's rotations in flight, then sees their successors.
      if ((await query(SQL.lockUser, [userId])).rowCount === 0) return false;
      return ((await query(SQL.revokeSession, [at, familyId, userId, why])).rowCount ?? 0) > 0;
    });
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

  async createOneTimeToken(
    token: NewOneTimeToken,
    options: { replace?: boolean } = {},
  ): Promise<void> {
    this.#check();
    const values = [
      token.tokenHash,
      token.purpose,
      token.userId,
      token.payload,
      ms(token.createdAt, 'createdAt'),
      ms(token.expiresAt, 'expiresAt'),
    ];
    const onConstraint: OnConstraint = (error) =>
      new Error(
        error.constraint === CONSTRAINTS.oneTimeTokenUser
          ? 'PostgreSQL store: the one-time token names no existing user'
          : 'PostgreSQL store: the one-time token violates a constraint',
        { cause: error },
      );
    await this.#transaction('storing a one-time token', async (query) => {
      if (options.replace) await query(SQL.dropUnusedOneTime, [token.userId, token.purpose]);
      await query(SQL.insertOneTime, values, onConstraint);
    });
  }

  async findOneTimeToken(tokenHash: string): Promise<OneTimeToken | null> {
    const { rows } = await this.#query('reading a one-time token', SQL.oneTimeByHash, [tokenHash]);
    return rows[0] ? toOneTimeToken(rows[0]) : null;
  }

  async consumeOneTimeToken(
    tokenHash: string,
    purpose: OneTimePurpose,
    now: number,
  ): Promise<ConsumeResult> {
    const doing = 'consuming a one-time token';
    const at = ms(now, 'now');
    const [row] = (await this.#query(doing, SQL.consumeOneTime, [at, tokenHash, purpose])).rows;
    if (row) return { status: 'consumed', token: toOneTimeToken(row) };
    // A new statement: it sees the winner's commit (the UPDATE waited for its row lock).
    const [found] = (await this.#query(doing, SQL.oneTimeByHash, [tokenHash])).rows;
    return unconsumed(found ? toOneTimeToken(found) : null, purpose, now);
  }

  async deleteExpiredOneTimeTokens(now: number): Promise<number> {
    const result = await this.#query('deleting expired one-time tokens', SQL.deleteExpiredOneTime, [
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

  async createClient(client: Client): Promise<boolean> {
    const result = await this.#query('storing a client', SQL.insertClient, [
      client.id,
      client.name,
      client.secretHash,
      [...client.scopes],
      [...client.grantTypes],
      client.authMethod,
      client.jwks,
      client.jwksUri,
      ms(client.createdAt, 'createdAt'),
      msOrNull(client.secretRotatedAt, 'secretRotatedAt'),
    ]);
    return result.rowCount === 1;
  }

  async findClient(id: string): Promise<Client | null> {
    const [row] = (await this.#query('reading a client', SQL.clientById, [id])).rows;
    return row ? toClient(row) : null;
  }

  async listClients(): Promise<Client[]> {
    return (await this.#query('listing clients', SQL.listClients)).rows.map(toClient);
  }

  async deleteClient(id: string): Promise<boolean> {
    return ((await this.#query('deleting a client', SQL.deleteClient, [id])).rowCount ?? 0) > 0;
  }

  async setClientSecret(id: string, secretHash: string, now: number): Promise<boolean> {
    const result = await this.#query('replacing a client secret', SQL.setClientSecret, [
      secretHash,
      ms(now, 'now'),
      id,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async useClientAssertion(
    clientId: string,
    jti: string,
    expiresAt: number,
    now: number,
  ): Promise<boolean> {
    this.#check();
    const at = ms(now, 'now');
    const until = ms(expiresAt, 'expiresAt');
    // Expired records go first, in the same transaction, so that the insert sees only live ones;
    // of racers inserting one jti, the primary key lets one in and the others (waiting for its
    // commit) insert nothing.
    return this.#transaction('recording a client assertion', async (query) => {
      await query(SQL.deleteExpiredAssertions, [at]);
      return (await query(SQL.useAssertion, [clientId, jti, until])).rowCount === 1;
    });
  }

  async findTotpFactor(userId: string): Promise<TotpFactor | null> {
    const { rows } = await this.#query('reading a TOTP factor', SQL.totpByUser, [userId]);
    return rows[0] ? toTotpFactor(rows[0]) : null;
  }

  async saveTotpFactor(factor: {
    userId: string;
    secret: string;
    createdAt: number;
  }): Promise<boolean> {
    const result = await this.#query('storing a TOTP factor', SQL.saveTotp, [
      factor.userId,
      factor.secret,
      ms(factor.createdAt, 'createdAt'),
    ]);
    return result.rowCount === 1;
  }

  async confirmTotpFactor(
    userId: string,
    secret: string,
    step: number,
    now: number,
  ): Promise<boolean> {
    const result = await this.#query('confirming a TOTP factor', SQL.confirmTotp, [
      ms(now, 'now'),
      ms(step, 'step'),
      userId,
      secret,
    ]);
    return result.rowCount === 1;
  }

  async useTotpStep(userId: string, step: number): Promise<boolean> {
    const result = await this.#query('using a TOTP code', SQL.useTotpStep, [
      ms(step, 'step'),
      userId,
    ]);
    return result.rowCount === 1;
  }

  async deleteTotpFactor(userId: string): Promise<boolean> {
    const result = await this.#query('deleting a TOTP factor', SQL.deleteTotp, [userId]);
    return (result.rowCount ?? 0) > 0;
  }

  async replaceRecoveryCodes(
    userId: string,
    codeHashes: readonly string[],
    now: number,
  ): Promise<void> {
    this.#check();
    const at = ms(now, 'now');
    await this.#transaction('storing recovery codes', async (query) => {
      await query(SQL.deleteRecoveryCodes, [userId]);
      if (codeHashes.length > 0)
        await query(SQL.insertRecoveryCodes, [userId, [...codeHashes], at]);
    });
  }

  async useRecoveryCode(userId: string, codeHash: string, now: number): Promise<boolean> {
    const result = await this.#query('using a recovery code', SQL.useRecoveryCode, [
      ms(now, 'now'),
      userId,
      codeHash,
    ]);
    return result.rowCount === 1;
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    const { rows } = await this.#query('counting recovery codes', SQL.countRecoveryCodes, [userId]);
    return num(rows[0]?.['n'] ?? 0);
  }

  async createMfaChallenge(challenge: NewMfaChallenge): Promise<void> {
    await this.#query('storing a log-in challenge', SQL.insertChallenge, [
      challenge.tokenHash,
      challenge.userId,
      JSON.stringify([...challenge.amr]),
      ms(challenge.authTime, 'authTime'),
      ms(challenge.expiresAt, 'expiresAt'),
    ]);
  }

  async findMfaChallenge(tokenHash: string): Promise<MfaChallenge | null> {
    const { rows } = await this.#query('reading a log-in challenge', SQL.challengeByHash, [
      tokenHash,
    ]);
    return rows[0] ? toMfaChallenge(rows[0]) : null;
  }

  async consumeMfaChallenge(tokenHash: string, now: number): Promise<boolean> {
    const result = await this.#query('spending a log-in challenge', SQL.consumeChallenge, [
      ms(now, 'now'),
      tokenHash,
    ]);
    return result.rowCount === 1;
  }

  async deleteExpiredMfaChallenges(now: number): Promise<number> {
    const result = await this.#query(
      'deleting expired log-in challenges',
      SQL.deleteExpiredChallenges,
      [ms(now, 'now')],
    );
    return result.rowCount ?? 0;
  }

  async createPasskey(passkey: NewPasskey): Promise<boolean> {
    const onConstraint: OnConstraint = (error) =>
      new Error(
        error.constraint === CONSTRAINTS.passkeyUser
          ? 'PostgreSQL store: the passkey names no existing user'
          : 'PostgreSQL store: the passkey violates a constraint',
        { cause: error },
      );
    const result = await this.#query(
      'storing a passkey',
      PASSKEY_SQL.insert,
      [
        passkey.id,
        passkey.userId,
        passkey.publicKey,
        ms(passkey.signCount, 'signCount'),
        [...passkey.transports],
        passkey.name,
        passkey.backupEligible,
        passkey.backedUp,
        ms(passkey.createdAt, 'createdAt'),
      ],
      onConstraint,
    );
    return result.rowCount === 1;
  }

  async findPasskey(id: string): Promise<Passkey | null> {
    const { rows } = await this.#query('reading a passkey', PASSKEY_SQL.byId, [id]);
    return rows[0] ? toPasskey(rows[0]) : null;
  }

  async listPasskeys(userId: string): Promise<Passkey[]> {
    const { rows } = await this.#query('listing passkeys', PASSKEY_SQL.ofUser, [userId]);
    return rows.map(toPasskey);
  }

  async renamePasskey(userId: string, id: string, name: string, _now: number): Promise<boolean> {
    const result = await this.#query('renaming a passkey', PASSKEY_SQL.rename, [name, userId, id]);
    return (result.rowCount ?? 0) > 0;
  }

  async deletePasskey(userId: string, id: string): Promise<boolean> {
    const result = await this.#query('deleting a passkey', PASSKEY_SQL.delete, [userId, id]);
    return (result.rowCount ?? 0) > 0;
  }

  async usePasskey(
    id: string,
    counter: { from: number; to: number },
    backedUp: boolean,
    now: number,
  ): Promise<boolean> {
    const result = await this.#query('recording a passkey log-in', PASSKEY_SQL.use, [
      ms(counter.to, 'counter.to'),
      backedUp,
      ms(now, 'now'),
      id,
      ms(counter.from, 'counter.from'),
    ]);
    return result.rowCount === 1;
  }

  async createWebAuthnChallenge(challenge: WebAuthnChallenge): Promise<void> {
    this.#check();
    const onConstraint: OnConstraint = (error) =>
      new Error(
        error.constraint === CONSTRAINTS.webauthnChallengeUser
          ? 'PostgreSQL store: the webauthn challenge names no existing user'
          : 'PostgreSQL store: the webauthn challenge violates a constraint',
        { cause: error },
      );
    const values = [
      challenge.challengeHash,
      challenge.ceremony,
      challenge.userId,
      ms(challenge.createdAt, 'createdAt'),
      ms(challenge.expiresAt, 'expiresAt'),
    ];
    await this.#transaction('storing a webauthn challenge', async (query) => {
      await query(PASSKEY_SQL.dropExpiredChallenges, [values[3]]);
      await query(PASSKEY_SQL.insertChallenge, values, onConstraint);
    });
  }

  async consumeWebAuthnChallenge(
    challengeHash: string,
    ceremony: WebAuthnCeremony,
    now: number,
  ): Promise<WebAuthnChallenge | null> {
    const { rows } = await this.#query(
      'consuming a webauthn challenge',
      PASSKEY_SQL.consumeChallenge,
      [challengeHash, ceremony, ms(now, 'now')],
    );
    return rows[0] ? toWebAuthnChallenge(rows[0]) : null;
  }

  async appendAuditEvent(event: AuditEvent): Promise<void> {
    await this.#query(
      'appending an audit event',
      SQL.insertAuditEvent,
      [
        event.id,
        ms(event.at, 'at'),
        event.type,
        event.actor,
        event.subject,
        event.ip,
        detailsText(event.details),
      ],
      (error) =>
        new Error('PostgreSQL store: an audit event with this id already exists', {
          cause: error,
        }),
    );
  }

  async listAuditEvents(query: AuditQuery): Promise<AuditEvent[]> {
    const limit = auditLimit(query.limit);
    if (limit === 0) return [];
    const { rows } = await this.#query('listing audit events', SQL.listAuditEvents, [
      query.type ?? null,
      query.subject ?? null,
      query.since === undefined ? null : ms(query.since, 'since'),
      query.until === undefined ? null : ms(query.until, 'until'),
      query.before ?? null,
      limit,
    ]);
    return rows.map((row) => toAuditEvent(row, num));
  }

  async deleteAuditEventsBefore(before: number): Promise<number> {
    const result = await this.#query('deleting old audit events', SQL.deleteAuditEventsBefore, [
      ms(before, 'before'),
    ]);
    return result.rowCount ?? 0;
  }
}
