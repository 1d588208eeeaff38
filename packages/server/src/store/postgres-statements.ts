// The PostgreSQL store's statements, and how its rows read: BIGINT milliseconds as numbers,
// BOOLEAN flags, roles as arrays; times written are checked to be integers.
import { passkeyMappers } from './passkey-rows.ts';
import { rowMappers } from './rows.ts';
import { StoreUnavailableError } from './types.ts';

export function num(value: unknown): number {
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

function parseObject(value: unknown): Record<string, unknown> {
  // Rows read before the column existed (none after migrating) would lack it.
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new StoreUnavailableError('PostgreSQL store: a user row holds malformed app metadata');
  }
  return value as Record<string, unknown>;
}

const READERS = {
  num,
  flag: (value: unknown) => value === true,
  roles: parseRoles,
  object: parseObject,
};

export const {
  toUser,
  toRefreshToken,
  toSigningKey,
  toSession,
  toOneTimeToken,
  toClient,
  toTotpFactor,
  toMfaChallenge,
} = rowMappers(READERS);
export const { toPasskey, toWebAuthnChallenge } = passkeyMappers(READERS);

/** Times go to BIGINT columns: a fraction or NaN is a caller's mistake, not an outage. */
export function ms(value: number, what: string): number {
  if (!Number.isSafeInteger(value)) {
    throw new TypeError(`PostgreSQL store: ${what} must be an integer number of milliseconds`);
  }
  return value;
}

export function msOrNull(value: number | null, what: string): number | null {
  return value === null ? null : ms(value, what);
}

export const SQL = {
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
  // A prefix of the username key or of the email; an unknown `after` compares with NULL.
  listUsersMatching: `SELECT * FROM users
     WHERE (starts_with(username_key, $1) OR starts_with(email, $2))
       AND ($3::text IS NULL OR (created_at, id) > (SELECT created_at, id FROM users WHERE id = $3))
     ORDER BY created_at, id LIMIT $4`,
  setRoles: 'UPDATE users SET roles = $1, updated_at = $2 WHERE id = $3',
  setPasswordHash: 'UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3',
  replacePasswordHash:
    'UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3 AND password_hash = $4',
  /**
   * Serialises what may create or reserve one name (a username key, a skeleton, an email):
   * registration and deletion with reservation take it for each of their names, in sorted order,
   * before reading, so that a registration sees a reservation committed just before (a unique
   * index alone would let it in once the deleted row is gone). Per schema.
   */
  lockName: `SELECT pg_advisory_xact_lock(
       hashtextextended('laissez name ' || current_schema() || ' ' || $1::text, 0))`,
  /** Which of a new user's names are reserved past $1; usernames first. */
  reservedNames: `SELECT kind FROM reserved_names
     WHERE expires_at > $1 AND ((kind = 'key' AND value = $2) OR (kind = 'skeleton' AND value = $3)
       OR (kind = 'email' AND value = $4))
     ORDER BY kind = 'email' LIMIT 1`,
  deleteUserReturning:
    'DELETE FROM users WHERE id = $1 RETURNING username_key, username_skeleton, email',
  reserveNames: `INSERT INTO reserved_names (kind, value, expires_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
     ON CONFLICT (kind, value)
       DO UPDATE SET expires_at = GREATEST(reserved_names.expires_at, excluded.expires_at)`,
  deleteExpiredReservations: 'DELETE FROM reserved_names WHERE expires_at <= $1',
  setDisabled: 'UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3',
  setAppMetadata: 'UPDATE users SET app_metadata = $1::jsonb, updated_at = $2 WHERE id = $3',
  deleteUser: 'DELETE FROM users WHERE id = $1',
  markEmailVerified:
    'UPDATE users SET email_verified = true, updated_at = $1 WHERE id = $2 AND email = $3',
  changeEmail:
    'UPDATE users SET email = $1, email_verified = true, updated_at = $2 WHERE id = $3 AND email = $4',
  insertOneTime: `INSERT INTO one_time_tokens (token_hash, purpose, user_id, payload, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
  dropUnusedOneTime:
    'DELETE FROM one_time_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL',
  oneTimeByHash: 'SELECT * FROM one_time_tokens WHERE token_hash = $1',
  /** Row-locked by the UPDATE: of concurrent callers one sets used_at, the others then see it set. */
  consumeOneTime: `UPDATE one_time_tokens SET used_at = $1
     WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
     RETURNING *`,
  deleteExpiredOneTime: 'DELETE FROM one_time_tokens WHERE expires_at <= $1',

  insertToken: `INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at, client_ip, client_device, scope, auth_time, amr, jkt)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
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
   * took, with the spent token's scope, log-in time, amr and DPoP key (the family's: a refresh
   * never widens the scope). `owners` is 0 when the token or its user does not exist; the token's
   * columns are null when nothing was spent.
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
       INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at, scope, auth_time, amr, jkt)
       SELECT $3::text, $4::text, $5::text, $6::bigint, $7::bigint, spent.scope, spent.auth_time,
         spent.amr, spent.jkt
       FROM spent
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
  /** A family's first token carries the client; its newest token tells when it was last used. */
  sessions: `SELECT family_id, MIN(created_at) AS created_at, MAX(created_at) AS last_used_at,
       MAX(client_ip) AS client_ip, MAX(client_device) AS client_device
     FROM refresh_tokens
     WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
     GROUP BY family_id ORDER BY last_used_at DESC, family_id`,
  revokeSession: `UPDATE refresh_tokens SET revoked_at = $1, revoked_reason = $4
     WHERE family_id = $2 AND user_id = $3 AND revoked_at IS NULL AND expires_at > $1`,
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

  insertClient: `INSERT INTO oauth_clients (id, name, secret_hash, scopes, grant_types, auth_method, jwks, jwks_uri, created_at, secret_rotated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
  clientById: 'SELECT * FROM oauth_clients WHERE id = $1',
  listClients: 'SELECT * FROM oauth_clients ORDER BY created_at, id',
  deleteClient: 'DELETE FROM oauth_clients WHERE id = $1',
  setClientSecret:
    'UPDATE oauth_clients SET secret_hash = $1, secret_rotated_at = $2 WHERE id = $3',
  deleteExpiredAssertions: 'DELETE FROM oauth_client_assertions WHERE expires_at <= $1',
  /** Nothing is written when the jti is recorded already (a replay). */
  useAssertion: `INSERT INTO oauth_client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (client_id, jti) DO NOTHING`,

  totpByUser: 'SELECT * FROM totp_factors WHERE user_id = $1',
  /** An upsert whose WHERE leaves a confirmed factor as it is (no row: refused). */
  saveTotp: `INSERT INTO totp_factors (user_id, secret, created_at) VALUES ($1, $2, $3)
     ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret,
       created_at = excluded.created_at, last_step = NULL
     WHERE totp_factors.confirmed_at IS NULL`,
  confirmTotp: `UPDATE totp_factors SET confirmed_at = $1, last_step = $2
     WHERE user_id = $3 AND secret = $4 AND confirmed_at IS NULL`,
  /**
   * The second of two racers waits on the row lock, then re-checks the condition on the row's
   * new version (READ COMMITTED): `last_step < $1` is false by then, so it updates nothing.
   */
  useTotpStep: `UPDATE totp_factors SET last_step = $1
     WHERE user_id = $2 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $1)`,
  deleteTotp: 'DELETE FROM totp_factors WHERE user_id = $1',
  deleteRecoveryCodes: 'DELETE FROM recovery_codes WHERE user_id = $1',
  insertRecoveryCodes: `INSERT INTO recovery_codes (user_id, code_hash, created_at)
     SELECT $1, hash, $3 FROM unnest($2::text[]) AS hash`,
  useRecoveryCode: `UPDATE recovery_codes SET used_at = $1
     WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL`,
  countRecoveryCodes:
    'SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL',
  insertChallenge: `INSERT INTO mfa_challenges (token_hash, user_id, amr, auth_time, expires_at)
     VALUES ($1, $2, $3, $4, $5)`,
  challengeByHash: 'SELECT * FROM mfa_challenges WHERE token_hash = $1',
  consumeChallenge: `UPDATE mfa_challenges SET used_at = $1
     WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1`,
  deleteExpiredChallenges: 'DELETE FROM mfa_challenges WHERE expires_at <= $1',

  insertAuditEvent: `INSERT INTO audit_events (id, at, type, actor, subject, ip, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  // One statement for every combination of filters: a NULL parameter is no filter.
  listAuditEvents: `SELECT * FROM audit_events
     WHERE ($1::text IS NULL OR type = $1)
       AND ($2::text IS NULL OR subject = $2)
       AND ($3::bigint IS NULL OR at >= $3)
       AND ($4::bigint IS NULL OR at < $4)
       AND ($5::text IS NULL OR (at, id) < (SELECT at, id FROM audit_events WHERE id = $5))
     ORDER BY at DESC, id DESC LIMIT $6`,
  deleteAuditEventsBefore: 'DELETE FROM audit_events WHERE at < $1',
} as const;
