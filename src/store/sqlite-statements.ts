// The SQLite store's statements, prepared once after migrating, and how its rows read: INTEGER
// 0/1 flags and roles as JSON text.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { rowMappers } from './rows.ts';
import { StoreUnavailableError } from './types.ts';

function parseRoles(text: unknown): string[] {
  const roles: unknown = JSON.parse(String(text ?? '[]'));
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) {
    throw new StoreUnavailableError('SQLite store: a user row holds malformed roles');
  }
  return roles;
}

export const { toUser, toRefreshToken, toSigningKey } = rowMappers({
  num: (value) => Number(value),
  flag: (value) => Number(value) !== 0,
  roles: parseRoles,
});

export function prepareStatements(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    insertUser: p(
      `INSERT INTO users (id, username, username_key, username_skeleton, email, password_hash, roles, disabled, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
    ),
    userById: p('SELECT * FROM users WHERE id = ?'),
    userByUsername: p('SELECT * FROM users WHERE username_key = ?'),
    userByEmail: p('SELECT * FROM users WHERE email = ?'),
    listUsers: p('SELECT * FROM users ORDER BY created_at, id LIMIT ?'),
    listUsersAfter: p(
      `SELECT * FROM users
       WHERE (created_at, id) > (SELECT created_at, id FROM users WHERE id = ?)
       ORDER BY created_at, id LIMIT ?`,
    ),
    // A prefix of the username key or of the email (substr counts characters, as length does).
    listUsersMatching: p(
      `SELECT * FROM users
       WHERE (substr(username_key, 1, length($key)) = $key OR substr(email, 1, length($email)) = $email)
       ORDER BY created_at, id LIMIT $limit`,
    ),
    listUsersMatchingAfter: p(
      `SELECT * FROM users
       WHERE (substr(username_key, 1, length($key)) = $key OR substr(email, 1, length($email)) = $email)
         AND (created_at, id) > (SELECT created_at, id FROM users WHERE id = $after)
       ORDER BY created_at, id LIMIT $limit`,
    ),
    setRoles: p('UPDATE users SET roles = ?, updated_at = ? WHERE id = ?'),
    setPasswordHash: p('UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?'),
    setDisabled: p('UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?'),
    deleteUser: p('DELETE FROM users WHERE id = ?'),

    insertToken: p(
      `INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?)`,
    ),
    tokenByHash: p('SELECT * FROM refresh_tokens WHERE token_hash = ?'),
    spendToken: p(
      `UPDATE refresh_tokens SET used_at = ?, replaced_by = ?
       WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL`,
    ),
    revokeFamily: p(
      `UPDATE refresh_tokens SET revoked_at = ?, revoked_reason = ?
       WHERE family_id = ? AND revoked_at IS NULL`,
    ),
    liveFamilies: p(
      `SELECT DISTINCT family_id FROM refresh_tokens
       WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY family_id`,
    ),
    revokeUser: p(
      `UPDATE refresh_tokens SET revoked_at = ?, revoked_reason = ?
       WHERE user_id = ? AND revoked_at IS NULL`,
    ),
    deleteExpiredTokens: p('DELETE FROM refresh_tokens WHERE expires_at <= ?'),

    listKeys: p('SELECT * FROM signing_keys ORDER BY created_at DESC, rowid DESC'),
    insertKey: p(
      `INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at, activates_at, retires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    retireBefore: p(
      `UPDATE signing_keys SET retires_at = ?
       WHERE retires_at IS NULL AND (activates_at < ? OR (activates_at = ? AND kid < ?))`,
    ),
    withdrawBefore: p(
      `UPDATE signing_keys SET retires_at = ?
       WHERE (retires_at IS NULL OR retires_at > ?)
         AND (activates_at < ? OR (activates_at = ? AND kid < ?) OR activates_at > ?)`,
    ),
    replaceKeyMaterial: p(
      'UPDATE signing_keys SET private_jwk = ? WHERE kid = ? AND private_jwk = ?',
    ),
    deleteRetiredKeys: p(
      'DELETE FROM signing_keys WHERE retires_at IS NOT NULL AND retires_at <= ?',
    ),

    insertAuditEvent: p(
      `INSERT INTO audit_events (id, at, type, actor, subject, ip, details)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    // One statement for every combination of filters: a NULL parameter is no filter. An unknown
    // cursor compares with NULL: no rows, as listUsers does.
    listAuditEvents: p(
      `SELECT * FROM audit_events
       WHERE ($type IS NULL OR type = $type)
         AND ($subject IS NULL OR subject = $subject)
         AND ($since IS NULL OR at >= $since)
         AND ($until IS NULL OR at < $until)
         AND ($before IS NULL OR (at, id) < (SELECT at, id FROM audit_events WHERE id = $before))
       ORDER BY at DESC, id DESC LIMIT $limit`,
    ),
    deleteAuditEventsBefore: p('DELETE FROM audit_events WHERE at < ?'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
