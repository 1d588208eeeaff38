// The SQLite store's statements, prepared once after migrating, and how its rows read: INTEGER
// 0/1 flags and roles as JSON text.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { passkeyMappers } from './passkey-rows.ts';
import { preparePasskeyStatements } from './passkey-statements.ts';
import { rowMappers } from './rows.ts';
import { StoreUnavailableError } from './types.ts';

function parseRoles(text: unknown): string[] {
  const roles: unknown = JSON.parse(String(text ?? '[]'));
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) {
    throw new StoreUnavailableError('SQLite store: a user row holds malformed roles');
  }
  return roles;
}

function parseObject(text: unknown): Record<string, unknown> {
  const value: unknown = JSON.parse(String(text ?? '{}'));
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new StoreUnavailableError('SQLite store: a user row holds malformed app metadata');
  }
  return value as Record<string, unknown>;
}

const READERS = {
  num: (value: unknown) => Number(value),
  flag: (value: unknown) => Number(value) !== 0,
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

export function prepareStatements(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    passkeys: preparePasskeyStatements(db),
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
    replacePasswordHash: p(
      'UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?',
    ),
    /** Which of a new user's names are reserved past `now`; usernames first. */
    reservedNames: p(
      `SELECT kind FROM reserved_names
       WHERE expires_at > ? AND ((kind = 'key' AND value = ?) OR (kind = 'skeleton' AND value = ?)
         OR (kind = 'email' AND value = ?))
       ORDER BY kind = 'email'`,
    ),
    reserveName: p(
      `INSERT INTO reserved_names (kind, value, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (kind, value) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
    ),
    deleteExpiredReservations: p('DELETE FROM reserved_names WHERE expires_at <= ?'),
    setDisabled: p('UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?'),
    setAppMetadata: p('UPDATE users SET app_metadata = ?, updated_at = ? WHERE id = ?'),
    deleteUser: p('DELETE FROM users WHERE id = ?'),
    markEmailVerified: p(
      'UPDATE users SET email_verified = 1, updated_at = ? WHERE id = ? AND email = ?',
    ),
    changeEmail: p(
      'UPDATE users SET email = ?, email_verified = 1, updated_at = ? WHERE id = ? AND email = ?',
    ),
    insertOneTime: p(
      `INSERT INTO one_time_tokens (token_hash, purpose, user_id, payload, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    dropUnusedOneTime: p(
      'DELETE FROM one_time_tokens WHERE user_id = ? AND purpose = ? AND used_at IS NULL',
    ),
    oneTimeByHash: p('SELECT * FROM one_time_tokens WHERE token_hash = ?'),
    consumeOneTime: p(
      `UPDATE one_time_tokens SET used_at = ?
       WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
       RETURNING *`,
    ),
    deleteExpiredOneTime: p('DELETE FROM one_time_tokens WHERE expires_at <= ?'),

    insertToken: p(
      `INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at, scope, auth_time, amr, jkt)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertFirstToken: p(
      `INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at, client_ip, client_device, scope, auth_time, amr, jkt)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    /** A family's first token carries the client; its newest token tells when it was last used. */
    sessions: p(
      `SELECT family_id, MIN(created_at) AS created_at, MAX(created_at) AS last_used_at,
              MAX(client_ip) AS client_ip, MAX(client_device) AS client_device
       FROM refresh_tokens
       WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?
       GROUP BY family_id ORDER BY last_used_at DESC, family_id`,
    ),
    revokeSession: p(
      `UPDATE refresh_tokens SET revoked_at = ?, revoked_reason = ?
       WHERE family_id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?`,
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

    insertClient: p(
      `INSERT INTO oauth_clients (id, name, secret_hash, scopes, grant_types, auth_method, jwks, jwks_uri, created_at, secret_rotated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ),
    clientById: p('SELECT * FROM oauth_clients WHERE id = ?'),
    listClients: p('SELECT * FROM oauth_clients ORDER BY created_at, id'),
    deleteClient: p('DELETE FROM oauth_clients WHERE id = ?'),
    setClientSecret: p(
      'UPDATE oauth_clients SET secret_hash = ?, secret_rotated_at = ? WHERE id = ?',
    ),
    deleteExpiredAssertions: p('DELETE FROM oauth_client_assertions WHERE expires_at <= ?'),
    // Nothing is written when the jti is recorded already (a replay).
    useAssertion: p(
      `INSERT INTO oauth_client_assertions (client_id, jti, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (client_id, jti) DO NOTHING`,
    ),

    totpByUser: p('SELECT * FROM totp_factors WHERE user_id = ?'),
    saveTotp: p(
      `INSERT INTO totp_factors (user_id, secret, created_at) VALUES (?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at,
         last_step = NULL
       WHERE totp_factors.confirmed_at IS NULL`,
    ),
    confirmTotp: p(
      `UPDATE totp_factors SET confirmed_at = ?, last_step = ?
       WHERE user_id = ? AND secret = ? AND confirmed_at IS NULL`,
    ),
    useTotpStep: p(
      `UPDATE totp_factors SET last_step = ?
       WHERE user_id = ? AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < ?)`,
    ),
    deleteTotp: p('DELETE FROM totp_factors WHERE user_id = ?'),
    deleteRecoveryCodes: p('DELETE FROM recovery_codes WHERE user_id = ?'),
    insertRecoveryCode: p(
      'INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)',
    ),
    useRecoveryCode: p(
      `UPDATE recovery_codes SET used_at = ?
       WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
    ),
    countRecoveryCodes: p(
      'SELECT count(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL',
    ),
    insertChallenge: p(
      `INSERT INTO mfa_challenges (token_hash, user_id, amr, auth_time, expires_at)
       VALUES (?, ?, ?, ?, ?)`,
    ),
    challengeByHash: p('SELECT * FROM mfa_challenges WHERE token_hash = ?'),
    consumeChallenge: p(
      `UPDATE mfa_challenges SET used_at = ?
       WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`,
    ),
    deleteExpiredChallenges: p('DELETE FROM mfa_challenges WHERE expires_at <= ?'),

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
