/**
 * The schema of the PostgreSQL store, as an ordered list of steps. Step `i` brings the schema to
 * version `i + 1`; `schema_migrations` records every version applied. Append new steps at the end
 * and never edit one that has shipped: a database remembers which steps it ran, not what they said.
 *
 * The first step creates the whole schema of today (the SQLite store reached the same shape in two
 * steps). Times are BIGINT milliseconds since 1970, as in SQLite; booleans are BOOLEAN; roles are
 * TEXT[]. Ids, hashes and lookup keys use the "C" collation: equality is by bytes whatever the
 * database's locale, and ordering (user pages) is the same everywhere.
 *
 * The constraint names are part of the store: `postgres.ts` maps unique violations to
 * `ConflictError` by them (`CONSTRAINTS` below). They are spelt out in the SQL rather than
 * interpolated, so that no edit elsewhere can change the text of a shipped step.
 */

import { planUsernameKeys } from './username-key.ts';

/** A query on the migration's connection, inside its transaction. */
export type MigrationQuery = (
  text: string,
  values?: unknown[],
) => Promise<{ rows: Readonly<Record<string, unknown>>[] }>;

export interface Migration {
  /** A short description, for error messages and the people reading this file. */
  readonly name: string;
  /** One or more statements, run in the migration's transaction (no parameters). */
  readonly sql: string;
  /** Runs after `sql`, in the same transaction: for values SQL cannot compute. */
  readonly backfill?: (query: MigrationQuery) => Promise<void>;
}

/** The constraint names that `postgres.ts` recognises in unique and foreign-key violations. */
export const CONSTRAINTS = {
  userId: 'users_pkey',
  username: 'users_username_key_unique',
  usernameSkeleton: 'users_username_skeleton_unique',
  email: 'users_email_unique',
  tokenHash: 'refresh_tokens_pkey',
  tokenUser: 'refresh_tokens_user_id_fkey',
  kid: 'signing_keys_pkey',
} as const;

export const MIGRATIONS: readonly Migration[] = [
  {
    name: 'users, refresh tokens and signing keys',
    sql: `
      CREATE TABLE users (
        id            TEXT COLLATE "C" NOT NULL,
        username      TEXT    NOT NULL,
        username_key  TEXT COLLATE "C" NOT NULL,
        email         TEXT COLLATE "C" NOT NULL,
        password_hash TEXT    NOT NULL,
        roles         TEXT[]  NOT NULL DEFAULT '{}',
        disabled      BOOLEAN NOT NULL DEFAULT false,
        created_at    BIGINT  NOT NULL,
        updated_at    BIGINT  NOT NULL,
        CONSTRAINT users_pkey PRIMARY KEY (id),
        CONSTRAINT users_username_key_unique UNIQUE (username_key),
        CONSTRAINT users_email_unique UNIQUE (email),
        CONSTRAINT users_roles_no_nulls CHECK (array_position(roles, NULL) IS NULL)
      );
      CREATE INDEX users_created_at ON users (created_at, id);

      CREATE TABLE refresh_tokens (
        token_hash  TEXT COLLATE "C" NOT NULL,
        family_id   TEXT COLLATE "C" NOT NULL,
        user_id     TEXT COLLATE "C" NOT NULL,
        created_at  BIGINT NOT NULL,
        expires_at  BIGINT NOT NULL,
        used_at     BIGINT,
        replaced_by TEXT COLLATE "C",
        revoked_at  BIGINT,
        CONSTRAINT refresh_tokens_pkey PRIMARY KEY (token_hash),
        CONSTRAINT refresh_tokens_user_id_fkey FOREIGN KEY (user_id)
          REFERENCES users (id) ON DELETE CASCADE
      );
      CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
      CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
      CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

      -- seq records the order of insertion: the tie-break of "newest first" for keys created in
      -- the same millisecond (SQLite uses its rowid for that).
      CREATE TABLE signing_keys (
        kid          TEXT COLLATE "C" NOT NULL,
        seq          BIGINT GENERATED ALWAYS AS IDENTITY,
        alg          TEXT   NOT NULL,
        private_jwk  TEXT   NOT NULL,
        public_jwk   TEXT,
        created_at   BIGINT NOT NULL,
        activates_at BIGINT NOT NULL,
        retires_at   BIGINT,
        CONSTRAINT signing_keys_pkey PRIMARY KEY (kid)
      );
    `,
  },
  {
    // RFC 8265 keys (full case folding, width mapping) replace the lower-cased ones, and the
    // UTS #39 skeleton gets a unique constraint: look-alike names are refused by the database.
    name: 'usernames keyed by RFC 8265 and unique by confusable skeleton',
    sql: `
      ALTER TABLE users ADD COLUMN username_skeleton TEXT COLLATE "C";
      ALTER TABLE users
        ADD CONSTRAINT users_username_skeleton_unique UNIQUE (username_skeleton);
    `,
    backfill: async (query) => {
      const { rows } = await query('SELECT id, username FROM users ORDER BY created_at, id');
      // Placeholders first, so that no row's new key meets another row's old one on the way.
      await query(`UPDATE users SET username_key = ':' || id`);
      const plan = planUsernameKeys(
        rows.map((row) => ({ id: String(row['id']), username: String(row['username']) })),
      );
      // One statement for all rows (unnest of three arrays), not one round trip per user.
      await query(
        `UPDATE users SET username_key = p.key, username_skeleton = p.skeleton
         FROM unnest($1::text[], $2::text[], $3::text[]) AS p (id, key, skeleton)
         WHERE users.id = p.id`,
        [plan.map((p) => p.id), plan.map((p) => p.key), plan.map((p) => p.skeleton)],
      );
    },
  },
  {
    name: 'why a family was revoked; server secrets',
    sql: `
      ALTER TABLE refresh_tokens ADD COLUMN revoked_reason TEXT;
      CREATE TABLE server_secrets (
        name       TEXT COLLATE "C" NOT NULL,
        value      TEXT   NOT NULL,
        created_at BIGINT NOT NULL,
        CONSTRAINT server_secrets_pkey PRIMARY KEY (name)
      );
    `,
  },
  {
    // The refresh-successor secret was kept here in plain text; it is now derived from the
    // key-encryption key (src/auth/sessions.ts), so that a dump of the database and a spent
    // refresh token do not name its successor. Dropping the table forgets the old secret.
    name: 'no server secrets in the database',
    sql: 'DROP TABLE server_secrets;',
  },
  {
    // Append-only security events. `subject` is no foreign key: a deleted user's events stay.
    name: 'the audit log',
    sql: `
      CREATE TABLE audit_events (
        id      TEXT COLLATE "C" NOT NULL,
        at      BIGINT NOT NULL,
        type    TEXT COLLATE "C" NOT NULL,
        actor   TEXT COLLATE "C" NOT NULL,
        subject TEXT COLLATE "C",
        ip      TEXT,
        details TEXT,
        CONSTRAINT audit_events_pkey PRIMARY KEY (id)
      );
      CREATE INDEX audit_events_at ON audit_events (at, id);
      CREATE INDEX audit_events_subject ON audit_events (subject, at);
      CREATE INDEX audit_events_type ON audit_events (type, at);
    `,
  },
];
