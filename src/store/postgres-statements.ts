// The PostgreSQL store's statements, and how its rows read: BIGINT milliseconds as numbers,
// BOOLEAN flags, roles as arrays; times written are checked to be integers.
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

export const { toUser, toRefreshToken, toSigningKey } = rowMappers({
  num,
  flag: (value) => value === true,
  roles: parseRoles,
});

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
