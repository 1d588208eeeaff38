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
import type { DatabaseSync } from 'node:sqlite';
import { checkOptions, optionNames } from '@laissez/jwt/options';
import { auditLimit, detailsText, prefixForms, toAuditEvent } from './audit.ts';
import { openDatabase } from './sqlite-connection.ts';
import {
  isConstraintError,
  isSqliteError,
  type SqliteError,
  sqliteTokenConstraint,
  sqliteUnavailable,
} from './sqlite-errors.ts';
import { MIGRATIONS } from './sqlite-migrations.ts';
import {
  prepareStatements,
  type Statements,
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
} from './sqlite-statements.ts';
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

/** A family's amr as JSON text, or NULL when not recorded. */
function amrText(amr: readonly string[] | undefined): string | null {
  return amr === undefined ? null : JSON.stringify([...amr]);
}

export function openSqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(options);
}

export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  #statements: Statements | null = null;
  #closed = false;

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
    this.#db = openDatabase(path, busyTimeout);
  }

  /** Runs `fn`, turning SQLite failures into the store's errors; constraint errors go to `onConstraint`. */
  #run<T>(doing: string, fn: () => T, onConstraint?: (error: SqliteError) => Error): T {
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
  #transaction<T>(fn: () => T): T {
    const db = this.#db;
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

  get #s(): Statements {
    if (this.#statements) return this.#statements;
    if (this.#closed) throw new StoreUnavailableError('SQLite store: the store is closed');
    throw new Error('SQLite store: call migrate() before using the store');
  }

  async migrate(): Promise<void> {
    const db = this.#db;
    const known = MIGRATIONS.length;
    this.#run('migrating', () => {
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
        const applied = this.#transaction(() => {
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
      this.#statements ??= prepareStatements(db);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements = null;
    this.#db.close();
  }

  async createUser(user: NewUser): Promise<User> {
    const email = user.email.toLowerCase();
    const roles = [...user.roles];
    const key = usernameKey(user.username);
    const skeleton = usernameSkeleton(key);
    this.#run(
      'creating a user',
      () =>
        // One transaction with the write lock: a deletion reserving these names cannot slip in
        // between the check and the insert.
        this.#transaction(() => {
          const reserved = this.#s.reservedNames.get(user.createdAt, key, skeleton, email);
          if (reserved)
            throw new ConflictError(reserved['kind'] === 'email' ? 'email' : 'username');
          this.#s.insertUser.run(
            user.id,
            user.username,
            key,
            skeleton,
            email,
            user.passwordHash,
            JSON.stringify(roles),
            user.createdAt,
            user.createdAt,
          );
        }),
      (error) => {
        if (/\busers\.username_(key|skeleton)\b/.test(error.message))
          return new ConflictError('username');
        if (/\busers\.email\b/.test(error.message)) return new ConflictError('email');
        if (/\busers\.id\b/.test(error.message)) {
          return new Error('SQLite store: a user with this id already exists', { cause: error });
        }
        return new Error('SQLite store: the user violates a constraint', { cause: error });
      },
    );
    return {
      id: user.id,
      username: user.username,
      email,
      passwordHash: user.passwordHash,
      roles,
      disabled: false,
      emailVerified: false,
      createdAt: user.createdAt,
      updatedAt: user.createdAt,
      appMetadata: {},
    };
  }

  async findUserById(id: string): Promise<User | null> {
    const row = this.#run('reading a user', () => this.#s.userById.get(id));
    return row ? toUser(row) : null;
  }

  async findUserByUsername(username: string): Promise<User | null> {
    const row = this.#run('reading a user', () =>
      this.#s.userByUsername.get(usernameKey(username)),
    );
    return row ? toUser(row) : null;
  }

  async findUserByEmail(email: string): Promise<User | null> {
    const row = this.#run('reading a user', () => this.#s.userByEmail.get(email.toLowerCase()));
    return row ? toUser(row) : null;
  }

  async listUsers(options: { limit: number; after?: string; prefix?: string }): Promise<User[]> {
    const limit = Math.floor(options.limit);
    // SQLite reads a negative LIMIT as "no limit"; NaN must not become that either.
    if (!(limit > 0)) return [];
    const { after, prefix } = options;
    const rows = this.#run('listing users', () => {
      if (prefix !== undefined) {
        const forms = prefixForms(prefix, usernameKey);
        const named = { key: forms.key, email: forms.email, limit };
        return after === undefined
          ? this.#s.listUsersMatching.all(named)
          : this.#s.listUsersMatchingAfter.all({ ...named, after });
      }
      return after === undefined
        ? this.#s.listUsers.all(limit)
        : this.#s.listUsersAfter.all(after, limit);
    });
    return rows.map(toUser);
  }

  async setUserRoles(id: string, roles: readonly string[], now: number): Promise<boolean> {
    const result = this.#run('updating a user', () =>
      this.#s.setRoles.run(JSON.stringify([...roles]), now, id),
    );
    return Number(result.changes) > 0;
  }

  async updatePasswordHash(id: string, passwordHash: string, now: number): Promise<void> {
    this.#run('updating a password hash', () => this.#s.setPasswordHash.run(passwordHash, now, id));
  }

  async replacePasswordHash(id: string, from: string, to: string, now: number): Promise<boolean> {
    const result = this.#run('updating a password hash', () =>
      this.#s.replacePasswordHash.run(to, now, id, from),
    );
    return Number(result.changes) > 0;
  }

  async setUserDisabled(id: string, disabled: boolean, now: number): Promise<boolean> {
    const result = this.#run('updating a user', () =>
      this.#s.setDisabled.run(disabled ? 1 : 0, now, id),
    );
    return Number(result.changes) > 0;
  }

  async setUserAppMetadata(
    id: string,
    metadata: Readonly<Record<string, unknown>>,
    now: number,
  ): Promise<boolean> {
    const text = JSON.stringify(metadata);
    const result = this.#run('updating a user', () => this.#s.setAppMetadata.run(text, now, id));
    return Number(result.changes) > 0;
  }

  async markEmailVerified(id: string, email: string, now: number): Promise<boolean> {
    const result = this.#run('verifying an email', () =>
      this.#s.markEmailVerified.run(now, id, email.toLowerCase()),
    );
    return Number(result.changes) > 0;
  }

  async changeEmail(id: string, from: string, to: string, now: number): Promise<boolean> {
    const result = this.#run(
      'changing an email',
      () => this.#s.changeEmail.run(to.toLowerCase(), now, id, from.toLowerCase()),
      (error) =>
        /\busers\.email\b/.test(error.message)
          ? new ConflictError('email')
          : new Error('SQLite store: the email change violates a constraint', { cause: error }),
    );
    return Number(result.changes) > 0;
  }

  async deleteUser(id: string, options: { reserveUntil?: number } = {}): Promise<boolean> {
    const { reserveUntil } = options;
    if (reserveUntil === undefined) {
      // ON DELETE CASCADE (foreign_keys = ON) removes the user's refresh tokens in the same statement.
      const result = this.#run('deleting a user', () => this.#s.deleteUser.run(id));
      return Number(result.changes) > 0;
    }
    return this.#run('deleting a user', () =>
      this.#transaction(() => {
        const row = this.#s.userById.get(id);
        if (!row) return false;
        this.#s.deleteUser.run(id);
        const key = String(row['username_key']);
        // Rows migrated before skeletons existed may lack one: it is computed, as createUser would.
        const skeleton = row['username_skeleton'] ?? usernameSkeleton(key);
        this.#s.reserveName.run('key', key, reserveUntil);
        this.#s.reserveName.run('skeleton', String(skeleton), reserveUntil);
        this.#s.reserveName.run('email', String(row['email']), reserveUntil);
        return true;
      }),
    );
  }

  async deleteExpiredReservations(now: number): Promise<number> {
    const result = this.#run('deleting expired reservations', () =>
      this.#s.deleteExpiredReservations.run(now),
    );
    return Number(result.changes);
  }

  async createRefreshToken(token: NewRefreshToken): Promise<void> {
    this.#run(
      'storing a refresh token',
      () =>
        this.#s.insertFirstToken.run(
          token.tokenHash,
          token.familyId,
          token.userId,
          token.createdAt,
          token.expiresAt,
          token.client?.ip ?? null,
          token.client?.device ?? null,
          token.scope ?? null,
          token.authTime ?? null,
          amrText(token.amr),
          token.jkt ?? null,
        ),
      sqliteTokenConstraint,
    );
  }

  async findRefreshToken(tokenHash: string): Promise<RefreshToken | null> {
    const row = this.#run('reading a refresh token', () => this.#s.tokenByHash.get(tokenHash));
    return row ? toRefreshToken(row) : null;
  }

  async findRefreshTokenWithUser(
    tokenHash: string,
  ): Promise<{ token: RefreshToken; user: User | null } | null> {
    // In-process and synchronous: two lookups cost no round trip, and nothing of this process
    // runs between them.
    return this.#run('reading a refresh token', () => {
      const row = this.#s.tokenByHash.get(tokenHash);
      if (!row) return null;
      const token = toRefreshToken(row);
      const owner = this.#s.userById.get(token.userId);
      return { token, user: owner ? toUser(owner) : null };
    });
  }

  async rotateRefreshToken(
    tokenHash: string,
    successor: NewRefreshToken,
    now: number,
  ): Promise<RotateResult> {
    const s = this.#s;
    return this.#run(
      'rotating a refresh token',
      () =>
        this.#transaction((): RotateResult => {
          const row = s.tokenByHash.get(tokenHash);
          if (!row) return { status: 'missing' };
          const token = toRefreshToken(row);
          const refused = unrotatable(token, now);
          if (refused) return refused;
          // The write lock is ours since BEGIN IMMEDIATE, so this cannot miss; the conditions
          // stay anyway, so that the update alone decides who spent the token.
          const spent = s.spendToken.run(now, successor.tokenHash, tokenHash);
          if (Number(spent.changes) !== 1) {
            const again = s.tokenByHash.get(tokenHash);
            return again
              ? { status: 'spent', token: toRefreshToken(again) }
              : { status: 'missing' };
          }
          s.insertToken.run(
            successor.tokenHash,
            successor.familyId,
            successor.userId,
            successor.createdAt,
            successor.expiresAt,
            // The family's scope, log-in time, methods and DPoP key, from the spent token: never
            // the caller's.
            token.scope,
            token.authTime,
            amrText(token.amr),
            token.jkt,
          );
          return {
            status: 'rotated',
            token: { ...token, usedAt: now, replacedBy: successor.tokenHash },
          };
        }),
      sqliteTokenConstraint,
    );
  }

  async revokeFamily(
    familyId: string,
    now: number,
    reason: RevocationReason = 'logout',
  ): Promise<number> {
    const why = checkReason(reason);
    const result = this.#run('revoking refresh tokens', () =>
      this.#s.revokeFamily.run(now, why, familyId),
    );
    return Number(result.changes);
  }

  async listLiveFamilies(userId: string, now: number): Promise<string[]> {
    return this.#run('listing sessions', () => this.#s.liveFamilies.all(userId, now)).map((row) =>
      String(row['family_id']),
    );
  }

  async listSessions(userId: string, now: number): Promise<Session[]> {
    return this.#run('listing sessions', () => this.#s.sessions.all(userId, now)).map(toSession);
  }

  async revokeSession(
    userId: string,
    familyId: string,
    now: number,
    reason: RevocationReason = 'logout',
  ): Promise<boolean> {
    const why = checkReason(reason);
    const result = this.#run('revoking refresh tokens', () =>
      this.#s.revokeSession.run(now, why, familyId, userId, now),
    );
    return Number(result.changes) > 0;
  }

  async revokeUserTokens(
    userId: string,
    now: number,
    reason: RevocationReason = 'logout_all',
  ): Promise<number> {
    const why = checkReason(reason);
    const result = this.#run('revoking refresh tokens', () =>
      this.#s.revokeUser.run(now, why, userId),
    );
    return Number(result.changes);
  }

  async deleteExpiredRefreshTokens(now: number): Promise<number> {
    const result = this.#run('deleting expired refresh tokens', () =>
      this.#s.deleteExpiredTokens.run(now),
    );
    return Number(result.changes);
  }

  async createOneTimeToken(
    token: NewOneTimeToken,
    options: { replace?: boolean } = {},
  ): Promise<void> {
    const s = this.#s;
    this.#run(
      'storing a one-time token',
      () =>
        this.#transaction(() => {
          if (options.replace) s.dropUnusedOneTime.run(token.userId, token.purpose);
          s.insertOneTime.run(
            token.tokenHash,
            token.purpose,
            token.userId,
            token.payload,
            token.createdAt,
            token.expiresAt,
          );
        }),
      (error) =>
        new Error(
          /FOREIGN KEY/i.test(error.message)
            ? 'SQLite store: the one-time token names no existing user'
            : 'SQLite store: the one-time token violates a constraint',
          { cause: error },
        ),
    );
  }

  async findOneTimeToken(tokenHash: string): Promise<OneTimeToken | null> {
    const row = this.#run('reading a one-time token', () => this.#s.oneTimeByHash.get(tokenHash));
    return row ? toOneTimeToken(row) : null;
  }

  async consumeOneTimeToken(
    tokenHash: string,
    purpose: OneTimePurpose,
    now: number,
  ): Promise<ConsumeResult> {
    const s = this.#s;
    // One conditional UPDATE: SQLite runs it under the write lock, so of any number of callers
    // (in this process or another) exactly one finds used_at still NULL.
    return this.#run('consuming a one-time token', () => {
      const row = s.consumeOneTime.get(now, tokenHash, purpose, now);
      if (row) return { status: 'consumed', token: toOneTimeToken(row) };
      const found = s.oneTimeByHash.get(tokenHash);
      return unconsumed(found ? toOneTimeToken(found) : null, purpose, now);
    });
  }

  async deleteExpiredOneTimeTokens(now: number): Promise<number> {
    const result = this.#run('deleting expired one-time tokens', () =>
      this.#s.deleteExpiredOneTime.run(now),
    );
    return Number(result.changes);
  }

  async listSigningKeys(): Promise<SigningKey[]> {
    return this.#run('listing signing keys', () => this.#s.listKeys.all()).map(toSigningKey);
  }

  async addSigningKey(key: SigningKey): Promise<void> {
    this.#run(
      'storing a signing key',
      () =>
        this.#s.insertKey.run(
          key.kid,
          key.alg,
          key.privateJwk,
          key.publicJwk,
          key.createdAt,
          key.activatesAt,
          key.retiresAt,
        ),
      (error) =>
        /\bsigning_keys\.kid\b/.test(error.message)
          ? new Error('SQLite store: a signing key with this kid already exists', { cause: error })
          : new Error('SQLite store: the signing key violates a constraint', { cause: error }),
    );
  }

  async retireKeysBefore(key: { kid: string; activatesAt: number }, retiresAt: number) {
    this.#run('retiring signing keys', () =>
      this.#s.retireBefore.run(retiresAt, key.activatesAt, key.activatesAt, key.kid),
    );
  }

  async withdrawKeysBefore(key: { kid: string; activatesAt: number }, retiresAt: number) {
    this.#run('withdrawing signing keys', () =>
      this.#s.withdrawBefore.run(
        retiresAt,
        retiresAt,
        key.activatesAt,
        key.activatesAt,
        key.kid,
        retiresAt,
      ),
    );
  }

  async replaceSigningKeyMaterial(
    changes: readonly { kid: string; from: string; to: string }[],
  ): Promise<number> {
    return this.#run('replacing signing key material', () =>
      this.#transaction(() => {
        let changed = 0;
        for (const { kid, from, to } of changes) {
          changed += Number(this.#s.replaceKeyMaterial.run(to, kid, from).changes);
        }
        return changed;
      }),
    );
  }

  async deleteRetiredKeys(now: number): Promise<number> {
    const result = this.#run('deleting retired signing keys', () =>
      this.#s.deleteRetiredKeys.run(now),
    );
    return Number(result.changes);
  }

  async createClient(client: Client): Promise<boolean> {
    const result = this.#run('storing a client', () =>
      this.#s.insertClient.run(
        client.id,
        client.name,
        client.secretHash,
        JSON.stringify([...client.scopes]),
        JSON.stringify([...client.grantTypes]),
        client.authMethod,
        client.jwks,
        client.jwksUri,
        client.createdAt,
        client.secretRotatedAt,
      ),
    );
    return Number(result.changes) === 1;
  }

  async findClient(id: string): Promise<Client | null> {
    const row = this.#run('reading a client', () => this.#s.clientById.get(id));
    return row ? toClient(row) : null;
  }

  async listClients(): Promise<Client[]> {
    return this.#run('listing clients', () => this.#s.listClients.all()).map(toClient);
  }

  async deleteClient(id: string): Promise<boolean> {
    const result = this.#run('deleting a client', () => this.#s.deleteClient.run(id));
    return Number(result.changes) > 0;
  }

  async setClientSecret(id: string, secretHash: string, now: number): Promise<boolean> {
    const result = this.#run('replacing a client secret', () =>
      this.#s.setClientSecret.run(secretHash, now, id),
    );
    return Number(result.changes) > 0;
  }

  async useClientAssertion(
    clientId: string,
    jti: string,
    expiresAt: number,
    now: number,
  ): Promise<boolean> {
    return this.#run('recording a client assertion', () =>
      this.#transaction(() => {
        this.#s.deleteExpiredAssertions.run(now);
        return Number(this.#s.useAssertion.run(clientId, jti, expiresAt).changes) === 1;
      }),
    );
  }

  async findTotpFactor(userId: string): Promise<TotpFactor | null> {
    const row = this.#run('reading a TOTP factor', () => this.#s.totpByUser.get(userId));
    return row ? toTotpFactor(row) : null;
  }

  async saveTotpFactor(factor: {
    userId: string;
    secret: string;
    createdAt: number;
  }): Promise<boolean> {
    // One statement: the upsert's WHERE leaves a confirmed factor as it is (no change).
    const result = this.#run('storing a TOTP factor', () =>
      this.#s.saveTotp.run(factor.userId, factor.secret, factor.createdAt),
    );
    return Number(result.changes) === 1;
  }

  async confirmTotpFactor(
    userId: string,
    secret: string,
    step: number,
    now: number,
  ): Promise<boolean> {
    const result = this.#run('confirming a TOTP factor', () =>
      this.#s.confirmTotp.run(now, step, userId, secret),
    );
    return Number(result.changes) === 1;
  }

  async useTotpStep(userId: string, step: number): Promise<boolean> {
    // The condition and the write are one statement: of racers with one code, one changes the row.
    const result = this.#run('using a TOTP code', () =>
      this.#s.useTotpStep.run(step, userId, step),
    );
    return Number(result.changes) === 1;
  }

  async deleteTotpFactor(userId: string): Promise<boolean> {
    const result = this.#run('deleting a TOTP factor', () => this.#s.deleteTotp.run(userId));
    return Number(result.changes) > 0;
  }

  async replaceRecoveryCodes(
    userId: string,
    codeHashes: readonly string[],
    now: number,
  ): Promise<void> {
    this.#run('storing recovery codes', () =>
      this.#transaction(() => {
        this.#s.deleteRecoveryCodes.run(userId);
        for (const hash of codeHashes) this.#s.insertRecoveryCode.run(userId, hash, now);
      }),
    );
  }

  async useRecoveryCode(userId: string, codeHash: string, now: number): Promise<boolean> {
    const result = this.#run('using a recovery code', () =>
      this.#s.useRecoveryCode.run(now, userId, codeHash),
    );
    return Number(result.changes) === 1;
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    const row = this.#run('counting recovery codes', () => this.#s.countRecoveryCodes.get(userId));
    return Number(row?.['n'] ?? 0);
  }

  async createMfaChallenge(challenge: NewMfaChallenge): Promise<void> {
    this.#run('storing a log-in challenge', () =>
      this.#s.insertChallenge.run(
        challenge.tokenHash,
        challenge.userId,
        JSON.stringify([...challenge.amr]),
        challenge.authTime,
        challenge.expiresAt,
      ),
    );
  }

  async findMfaChallenge(tokenHash: string): Promise<MfaChallenge | null> {
    const row = this.#run('reading a log-in challenge', () =>
      this.#s.challengeByHash.get(tokenHash),
    );
    return row ? toMfaChallenge(row) : null;
  }

  async consumeMfaChallenge(tokenHash: string, now: number): Promise<boolean> {
    const result = this.#run('spending a log-in challenge', () =>
      this.#s.consumeChallenge.run(now, tokenHash, now),
    );
    return Number(result.changes) === 1;
  }

  async deleteExpiredMfaChallenges(now: number): Promise<number> {
    const result = this.#run('deleting expired log-in challenges', () =>
      this.#s.deleteExpiredChallenges.run(now),
    );
    return Number(result.changes);
  }

  async createPasskey(passkey: NewPasskey): Promise<boolean> {
    const result = this.#run(
      'storing a passkey',
      () =>
        this.#s.passkeys.insert.run(
          passkey.id,
          passkey.userId,
          passkey.publicKey,
          passkey.signCount,
          JSON.stringify(passkey.transports),
          passkey.name,
          passkey.backupEligible ? 1 : 0,
          passkey.backedUp ? 1 : 0,
          passkey.createdAt,
        ),
      (error) =>
        new Error(
          /FOREIGN KEY/i.test(error.message)
            ? 'SQLite store: the passkey names no existing user'
            : 'SQLite store: the passkey violates a constraint',
          { cause: error },
        ),
    );
    return Number(result.changes) === 1;
  }

  async findPasskey(id: string): Promise<Passkey | null> {
    const row = this.#run('reading a passkey', () => this.#s.passkeys.byId.get(id));
    return row ? toPasskey(row) : null;
  }

  async listPasskeys(userId: string): Promise<Passkey[]> {
    return this.#run('listing passkeys', () => this.#s.passkeys.ofUser.all(userId)).map(toPasskey);
  }

  async renamePasskey(userId: string, id: string, name: string, _now: number): Promise<boolean> {
    const result = this.#run('renaming a passkey', () =>
      this.#s.passkeys.rename.run(name, userId, id),
    );
    return Number(result.changes) > 0;
  }

  async deletePasskey(userId: string, id: string): Promise<boolean> {
    const result = this.#run('deleting a passkey', () => this.#s.passkeys.delete.run(userId, id));
    return Number(result.changes) > 0;
  }

  async usePasskey(
    id: string,
    counter: { from: number; to: number },
    backedUp: boolean,
    now: number,
  ): Promise<boolean> {
    const result = this.#run('recording a passkey log-in', () =>
      this.#s.passkeys.use.run(counter.to, backedUp ? 1 : 0, now, id, counter.from),
    );
    return Number(result.changes) === 1;
  }

  async createWebAuthnChallenge(challenge: WebAuthnChallenge): Promise<void> {
    const s = this.#s.passkeys;
    this.#run(
      'storing a webauthn challenge',
      () =>
        this.#transaction(() => {
          s.dropExpiredChallenges.run(challenge.createdAt);
          s.insertChallenge.run(
            challenge.challengeHash,
            challenge.ceremony,
            challenge.userId,
            challenge.createdAt,
            challenge.expiresAt,
          );
        }),
      (error) =>
        new Error(
          /FOREIGN KEY/i.test(error.message)
            ? 'SQLite store: the webauthn challenge names no existing user'
            : 'SQLite store: the webauthn challenge violates a constraint',
          { cause: error },
        ),
    );
  }

  async consumeWebAuthnChallenge(
    challengeHash: string,
    ceremony: WebAuthnCeremony,
    now: number,
  ): Promise<WebAuthnChallenge | null> {
    const row = this.#run('consuming a webauthn challenge', () =>
      this.#s.passkeys.consumeChallenge.get(challengeHash, ceremony, now),
    );
    return row ? toWebAuthnChallenge(row) : null;
  }

  async appendAuditEvent(event: AuditEvent): Promise<void> {
    this.#run(
      'appending an audit event',
      () =>
        this.#s.insertAuditEvent.run(
          event.id,
          event.at,
          event.type,
          event.actor,
          event.subject,
          event.ip,
          detailsText(event.details),
        ),
      (error) =>
        new Error('SQLite store: an audit event with this id already exists', { cause: error }),
    );
  }

  async listAuditEvents(query: AuditQuery): Promise<AuditEvent[]> {
    const limit = auditLimit(query.limit);
    if (limit === 0) return [];
    const rows = this.#run('listing audit events', () =>
      this.#s.listAuditEvents.all({
        type: query.type ?? null,
        subject: query.subject ?? null,
        since: query.since ?? null,
        until: query.until ?? null,
        before: query.before ?? null,
        limit,
      }),
    );
    return rows.map((row) => toAuditEvent(row, Number));
  }

  async deleteAuditEventsBefore(before: number): Promise<number> {
    const result = this.#run('deleting old audit events', () =>
      this.#s.deleteAuditEventsBefore.run(before),
    );
    return Number(result.changes);
  }
}
