// The statements of passkeys and WebAuthn challenges, for both stores (the same columns; SQLite
// takes `?` and JSON text for the transports, PostgreSQL `$n` and a text array).
import type { DatabaseSync, StatementSync } from 'node:sqlite';

export function preparePasskeyStatements(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    insert: p(
      `INSERT INTO passkeys (id, user_id, public_key, sign_count, transports, name, backup_eligible, backed_up, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ),
    byId: p('SELECT * FROM passkeys WHERE id = ?'),
    ofUser: p('SELECT * FROM passkeys WHERE user_id = ? ORDER BY created_at, id'),
    rename: p('UPDATE passkeys SET name = ? WHERE user_id = ? AND id = ?'),
    delete: p('DELETE FROM passkeys WHERE user_id = ? AND id = ?'),
    /** Compare-and-set on the counter: one statement, so one writer moves it. */
    use: p(
      `UPDATE passkeys SET sign_count = ?, backed_up = ?, last_used_at = ?
       WHERE id = ? AND sign_count = ?`,
    ),
    dropExpiredChallenges: p('DELETE FROM webauthn_challenges WHERE expires_at <= ?'),
    insertChallenge: p(
      `INSERT INTO webauthn_challenges (challenge_hash, ceremony, user_id, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?)`,
    ),
    /** DELETE … RETURNING under SQLite's write lock: exactly one caller gets the row. */
    consumeChallenge: p(
      `DELETE FROM webauthn_challenges
       WHERE challenge_hash = ? AND ceremony = ? AND expires_at > ? RETURNING *`,
    ),
  };
}

export type PasskeyStatements = ReturnType<typeof preparePasskeyStatements>;

export const PASSKEY_SQL = {
  insert: `INSERT INTO passkeys (id, user_id, public_key, sign_count, transports, name, backup_eligible, backed_up, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
  byId: 'SELECT * FROM passkeys WHERE id = $1',
  ofUser: 'SELECT * FROM passkeys WHERE user_id = $1 ORDER BY created_at, id',
  rename: 'UPDATE passkeys SET name = $1 WHERE user_id = $2 AND id = $3',
  delete: 'DELETE FROM passkeys WHERE user_id = $1 AND id = $2',
  /** Row-locked by the UPDATE: a racer waits, then finds the counter moved and updates nothing. */
  use: `UPDATE passkeys SET sign_count = $1, backed_up = $2, last_used_at = $3
     WHERE id = $4 AND sign_count = $5`,
  dropExpiredChallenges: 'DELETE FROM webauthn_challenges WHERE expires_at <= $1',
  insertChallenge: `INSERT INTO webauthn_challenges (challenge_hash, ceremony, user_id, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5)`,
  /** Row-locked by the DELETE: of racers one deletes (and gets) the row, the others nothing. */
  consumeChallenge: `DELETE FROM webauthn_challenges
     WHERE challenge_hash = $1 AND ceremony = $2 AND expires_at > $3 RETURNING *`,
} as const;
