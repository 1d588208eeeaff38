/**
 * The schema of the embedded SQLite store, as an ordered list of steps. Step `i` brings the
 * database to version `i + 1`; `schema_migrations` records every version applied. Append new
 * steps at the end and never edit one that has shipped: a database remembers which steps it ran,
 * not what they said.
 *
 * Times are integer milliseconds since 1970; booleans are 0/1; roles are a JSON array of strings.
 */

export interface Migration {
  /** A short description, for error messages and the people reading this file. */
  readonly name: string;
  readonly sql: string;
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
];
