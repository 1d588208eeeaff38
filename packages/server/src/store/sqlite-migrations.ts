/**
 * The schema of the embedded SQLite store, as an ordered list of steps. Step `i` brings the
 * database to version `i + 1`; `schema_migrations` records every version applied. Append new
 * steps at the end and never edit one that has shipped: a database remembers which steps it ran,
 * not what they said.
 *
 * Times are integer milliseconds since 1970; booleans are 0/1; roles are a JSON array of strings.
 */
import type { DatabaseSync } from 'node:sqlite';
import { planUsernameKeys, planUsernameSkeletons } from './username-key.ts';

export interface Migration {
  /** A short description, for error messages and the people reading this file. */
  readonly name: string;
  readonly sql: string;
  /** Runs after `sql`, in the same transaction: for values SQL cannot compute. */
  readonly backfill?: (db: DatabaseSync) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    name: 'users, refresh tokens and signing keys',
    sql: `
      CREATE TABLE users (
        id            TEXT    PRIMARY KEY NOT NULL,
        username      TEXT    NOT NULL,
        username_key  TEXT    NOT NULL UNIQUE,
        email         TEXT    NOT NULL UNIQUE,
        password_hash TEXT    NOT NULL,
        roles         TEXT    NOT NULL DEFAULT '[]',
        disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
      );
      CREATE INDEX users_created_at ON users (created_at, id);

      CREATE TABLE refresh_tokens (
        token_hash  TEXT    PRIMARY KEY NOT NULL,
        family_id   TEXT    NOT NULL,
        user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        used_at     INTEGER,
        replaced_by TEXT,
        revoked_at  INTEGER
      );
      CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
      CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
      CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

      CREATE TABLE signing_keys (
        kid         TEXT    PRIMARY KEY NOT NULL,
        alg         TEXT    NOT NULL,
        private_jwk TEXT    NOT NULL,
        public_jwk  TEXT,
        created_at  INTEGER NOT NULL,
        retires_at  INTEGER
      );
    `,
  },
  {
    name: 'signing keys are published before they sign',
    sql: `
      ALTER TABLE signing_keys ADD COLUMN activates_at INTEGER;
      UPDATE signing_keys SET activates_at = created_at WHERE activates_at IS NULL;
    `,
  },
  {
    // RFC 8265 keys (full case folding, width mapping) replace the lower-cased ones, and the
    // UTS #39 skeleton gets a unique index: look-alike names are refused by the database itself.
    name: 'usernames keyed by RFC 8265 and unique by confusable skeleton',
    sql: `
      ALTER TABLE users ADD COLUMN username_skeleton TEXT;
      CREATE UNIQUE INDEX users_username_skeleton ON users (username_skeleton);
    `,
    backfill: (db) => {
      const rows = db.prepare('SELECT id, username FROM users ORDER BY created_at, id').all();
      // Placeholders first, so that no row's new key meets another row's old one on the way.
      db.exec(`UPDATE users SET username_key = ':' || id`);
      const set = db.prepare(
        'UPDATE users SET username_key = ?, username_skeleton = ? WHERE id = ?',
      );
      const plan = planUsernameKeys(
        rows.map((row) => ({ id: String(row['id']), username: String(row['username']) })),
      );
      for (const { id, key, skeleton } of plan) set.run(key, skeleton, id);
    },
  },
  {
    name: 'why a family was revoked; server secrets',
    sql: `
      ALTER TABLE refresh_tokens ADD COLUMN revoked_reason TEXT;
      CREATE TABLE server_secrets (
        name       TEXT    PRIMARY KEY NOT NULL,
        value      TEXT    NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
  {
    // The refresh-successor secret was kept here in plain text; it is now derived from the
    // key-encryption key (src/auth/refresh-token.ts), so that a dump of the database and a spent
    // refresh token do not name its successor. Dropping the table forgets the old secret.
    name: 'no server secrets in the database',
    sql: 'DROP TABLE server_secrets;',
  },
  {
    // The skeleton now folds compatibility forms (NFKD) and Latin small capitals, so rows keep a
    // skeleton computed the old way until recomputed: `adᵐin` registered earlier must block
    // `admin`. Cleared first, so that no row's new skeleton meets another row's old one.
    name: 'username skeletons recomputed with compatibility forms and small capitals folded',
    sql: 'UPDATE users SET username_skeleton = NULL;',
    backfill: (db) => {
      const rows = db.prepare('SELECT id, username_key FROM users ORDER BY created_at, id').all();
      const set = db.prepare('UPDATE users SET username_skeleton = ? WHERE id = ?');
      const plan = planUsernameSkeletons(
        rows.map((row) => ({ id: String(row['id']), key: String(row['username_key']) })),
      );
      for (const { id, skeleton } of plan) if (skeleton !== null) set.run(skeleton, id);
    },
  },
  {
    // Sessions per device: the client that started a family, on its first token (successors
    // leave these null; "last used" is the family's newest token). Names of deleted accounts are
    // reserved for a while (kind: the username's RFC 8265 key, its confusable skeleton, or the
    // email), so that registration refuses them like taken ones.
    name: 'session clients; reserved names of deleted accounts',
    sql: `
      ALTER TABLE refresh_tokens ADD COLUMN client_ip TEXT;
      ALTER TABLE refresh_tokens ADD COLUMN client_device TEXT;
      CREATE TABLE reserved_names (
        kind       TEXT    NOT NULL CHECK (kind IN ('key', 'skeleton', 'email')),
        value      TEXT    NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (kind, value)
      );
      CREATE INDEX reserved_names_expires_at ON reserved_names (expires_at);
    `,
  },
  {
    // Links sent by mail (verify, reset, sign in, change email): only the SHA-256 of each token is
    // kept, as for refresh tokens, so a copy of the database cannot be used to follow one.
    name: 'verified emails and one-time tokens',
    sql: `
      ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0
        CHECK (email_verified IN (0, 1));
      CREATE TABLE one_time_tokens (
        token_hash TEXT    PRIMARY KEY NOT NULL,
        purpose    TEXT    NOT NULL,
        user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        payload    TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at    INTEGER
      );
      CREATE INDEX one_time_tokens_user_purpose ON one_time_tokens (user_id, purpose);
      CREATE INDEX one_time_tokens_expires_at ON one_time_tokens (expires_at);
    `,
  },
  {
    // OAuth clients (RFC 6749 §2) and the client assertions already used (RFC 7523 §3, item 7:
    // a jti is accepted once), so that a replayed assertion fails on every instance.
    name: 'oauth clients and used client assertions',
    sql: `
      CREATE TABLE oauth_clients (
        id                TEXT    PRIMARY KEY NOT NULL,
        name              TEXT    NOT NULL,
        secret_hash       TEXT,
        scopes            TEXT    NOT NULL DEFAULT '[]',
        grant_types       TEXT    NOT NULL DEFAULT '[]',
        auth_method       TEXT    NOT NULL,
        jwks              TEXT,
        jwks_uri          TEXT,
        created_at        INTEGER NOT NULL,
        secret_rotated_at INTEGER
      );
      CREATE INDEX oauth_clients_created_at ON oauth_clients (created_at, id);
      CREATE TABLE oauth_client_assertions (
        client_id  TEXT    NOT NULL,
        jti        TEXT    NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (client_id, jti)
      );
      CREATE INDEX oauth_client_assertions_expires_at ON oauth_client_assertions (expires_at);
    `,
  },
  {
    // Tokens that carry the app (docs/tokens.md, "Tokens"): per-user JSON set by administrators,
    // and on every refresh token the scope granted at log-in and the log-in time, which
    // rotations inherit, so that a refresh never widens the scope.
    name: 'app metadata; granted scope and log-in time of refresh-token families',
    sql: `
      ALTER TABLE users ADD COLUMN app_metadata TEXT NOT NULL DEFAULT '{}';
      ALTER TABLE refresh_tokens ADD COLUMN scope TEXT;
      ALTER TABLE refresh_tokens ADD COLUMN auth_time INTEGER;
    `,
  },
  {
    // Second factors (RFC 6238 TOTP, recovery codes, the log-in's second step) and how each
    // refresh-token family's user got in (RFC 8176 amr), kept across rotations. When they got in
    // is the family's auth_time, added by the step before.
    name: 'second factors; amr of refresh-token families',
    sql: `
      ALTER TABLE refresh_tokens ADD COLUMN amr TEXT;

      CREATE TABLE totp_factors (
        user_id      TEXT    PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        secret       TEXT    NOT NULL,
        created_at   INTEGER NOT NULL,
        confirmed_at INTEGER,
        last_step    INTEGER
      );

      CREATE TABLE recovery_codes (
        user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        code_hash  TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        used_at    INTEGER,
        PRIMARY KEY (user_id, code_hash)
      );

      CREATE TABLE mfa_challenges (
        token_hash TEXT    PRIMARY KEY NOT NULL,
        user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        amr        TEXT    NOT NULL,
        auth_time  INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at    INTEGER
      );
      CREATE INDEX mfa_challenges_user_id ON mfa_challenges (user_id);
      CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at);
    `,
  },
  {
    // Passkeys (WebAuthn credential records, W3C WebAuthn §6.4) and the challenges of their
    // ceremonies (§13.4.3: made by the server, used once): only a challenge's SHA-256 is kept.
    name: 'passkeys and webauthn challenges',
    sql: `
      CREATE TABLE passkeys (
        id              TEXT    PRIMARY KEY NOT NULL,
        user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        public_key      TEXT    NOT NULL,
        sign_count      INTEGER NOT NULL DEFAULT 0,
        transports      TEXT    NOT NULL DEFAULT '[]',
        name            TEXT    NOT NULL,
        backup_eligible INTEGER NOT NULL DEFAULT 0 CHECK (backup_eligible IN (0, 1)),
        backed_up       INTEGER NOT NULL DEFAULT 0 CHECK (backed_up IN (0, 1)),
        created_at      INTEGER NOT NULL,
        last_used_at    INTEGER
      );
      CREATE INDEX passkeys_user_id ON passkeys (user_id, created_at, id);
      CREATE TABLE webauthn_challenges (
        challenge_hash TEXT    PRIMARY KEY NOT NULL,
        ceremony       TEXT    NOT NULL CHECK (ceremony IN ('register', 'login')),
        user_id        TEXT    REFERENCES users (id) ON DELETE CASCADE,
        created_at     INTEGER NOT NULL,
        expires_at     INTEGER NOT NULL
      );
      CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at);
    `,
  },
  {
    // Append-only security events. `subject` is no foreign key: a deleted user's events stay.
    name: 'the audit log',
    sql: `
      CREATE TABLE audit_events (
        id      TEXT    PRIMARY KEY NOT NULL,
        at      INTEGER NOT NULL,
        type    TEXT    NOT NULL,
        actor   TEXT    NOT NULL,
        subject TEXT,
        ip      TEXT,
        details TEXT
      );
      CREATE INDEX audit_events_at ON audit_events (at, id);
      CREATE INDEX audit_events_subject ON audit_events (subject, at);
      CREATE INDEX audit_events_type ON audit_events (type, at);
    `,
  },
  {
    // DPoP (RFC 9449 §5): the thumbprint of the key a public client's refresh-token family is
    // bound to, inherited by every rotation (docs/hardening.md, "Stolen tokens (DPoP)").
    name: 'DPoP key binding of refresh-token families',
    sql: `
      ALTER TABLE refresh_tokens ADD COLUMN jkt TEXT;
    `,
  },
];
