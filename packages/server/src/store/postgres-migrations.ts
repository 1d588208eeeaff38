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
 * The constraint names are part of the store: `postgres-*.ts` map unique violations to
 * `ConflictError` by them (`CONSTRAINTS` below). They are spelt out in the SQL rather than
 * interpolated, so that no edit elsewhere can change the text of a shipped step.
 */

import { planUsernameKeys, planUsernameSkeletons } from './username-key.ts';

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

/** The constraint names that the store's parts (`postgres-users.ts`, …) recognise in violations. */
export const CONSTRAINTS = {
  userId: 'users_pkey',
  username: 'users_username_key_unique',
  usernameSkeleton: 'users_username_skeleton_unique',
  email: 'users_email_unique',
  tokenHash: 'refresh_tokens_pkey',
  tokenUser: 'refresh_tokens_user_id_fkey',
  kid: 'signing_keys_pkey',
  oneTimeToken: 'one_time_tokens_pkey',
  oneTimeTokenUser: 'one_time_tokens_user_id_fkey',
  totpUser: 'totp_factors_user_id_fkey',
  recoveryUser: 'recovery_codes_user_id_fkey',
  challengeUser: 'mfa_challenges_user_id_fkey',
  passkeyUser: 'passkeys_user_id_fkey',
  webauthnChallengeUser: 'webauthn_challenges_user_id_fkey',
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
    backfill: async (query) => {
      const { rows } = await query('SELECT id, username_key FROM users ORDER BY created_at, id');
      const plan = planUsernameSkeletons(
        rows.map((row) => ({ id: String(row['id']), key: String(row['username_key']) })),
      ).filter((p) => p.skeleton !== null);
      // One statement for all rows (unnest of two arrays), not one round trip per user.
      await query(
        `UPDATE users SET username_skeleton = p.skeleton
         FROM unnest($1::text[], $2::text[]) AS p (id, skeleton)
         WHERE users.id = p.id`,
        [plan.map((p) => p.id), plan.map((p) => p.skeleton)],
      );
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
        kind       TEXT COLLATE "C" NOT NULL,
        value      TEXT COLLATE "C" NOT NULL,
        expires_at BIGINT NOT NULL,
        CONSTRAINT reserved_names_pkey PRIMARY KEY (kind, value),
        CONSTRAINT reserved_names_kind CHECK (kind IN ('key', 'skeleton', 'email'))
      );
      CREATE INDEX reserved_names_expires_at ON reserved_names (expires_at);
    `,
  },
  {
    // Links sent by mail (verify, reset, sign in, change email): only the SHA-256 of each token is
    // kept, as for refresh tokens, so a copy of the database cannot be used to follow one.
    name: 'verified emails and one-time tokens',
    sql: `
      ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT false;
      CREATE TABLE one_time_tokens (
        token_hash TEXT COLLATE "C" NOT NULL,
        purpose    TEXT COLLATE "C" NOT NULL,
        user_id    TEXT COLLATE "C" NOT NULL,
        payload    TEXT,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at    BIGINT,
        CONSTRAINT one_time_tokens_pkey PRIMARY KEY (token_hash),
        CONSTRAINT one_time_tokens_user_id_fkey FOREIGN KEY (user_id)
          REFERENCES users (id) ON DELETE CASCADE
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
        id                TEXT COLLATE "C" NOT NULL,
        name              TEXT   NOT NULL,
        secret_hash       TEXT,
        scopes            TEXT[] NOT NULL DEFAULT '{}',
        grant_types       TEXT[] NOT NULL DEFAULT '{}',
        auth_method       TEXT   NOT NULL,
        jwks              TEXT,
        jwks_uri          TEXT,
        created_at        BIGINT NOT NULL,
        secret_rotated_at BIGINT,
        CONSTRAINT oauth_clients_pkey PRIMARY KEY (id)
      );
      CREATE INDEX oauth_clients_created_at ON oauth_clients (created_at, id);
      CREATE TABLE oauth_client_assertions (
        client_id  TEXT COLLATE "C" NOT NULL,
        jti        TEXT COLLATE "C" NOT NULL,
        expires_at BIGINT NOT NULL,
        CONSTRAINT oauth_client_assertions_pkey PRIMARY KEY (client_id, jti)
      );
      CREATE INDEX oauth_client_assertions_expires_at ON oauth_client_assertions (expires_at);
    `,
  },
  {
    // Tokens that carry the app (docs/tokens.md, "Tokens"): per-user JSON set by administrators
    // (always an object), and on every refresh token the scope granted at log-in and the log-in
    // time, which rotations inherit, so that a refresh never widens the scope.
    name: 'app metadata; granted scope and log-in time of refresh-token families',
    sql: `
      ALTER TABLE users ADD COLUMN app_metadata JSONB NOT NULL DEFAULT '{}'::jsonb;
      ALTER TABLE users ADD CONSTRAINT users_app_metadata_object
        CHECK (jsonb_typeof(app_metadata) = 'object');
      ALTER TABLE refresh_tokens ADD COLUMN scope TEXT, ADD COLUMN auth_time BIGINT;
    `,
  },
  {
    // Second factors (RFC 6238 TOTP, recovery codes, the log-in's second step) and how each
    // refresh-token family's user got in (RFC 8176 amr as JSON text), kept across rotations.
    // When they got in is the family's auth_time, added by the step before.
    name: 'second factors; amr of refresh-token families',
    sql: `
      ALTER TABLE refresh_tokens ADD COLUMN amr TEXT;

      CREATE TABLE totp_factors (
        user_id      TEXT COLLATE "C" NOT NULL,
        secret       TEXT   NOT NULL,
        created_at   BIGINT NOT NULL,
        confirmed_at BIGINT,
        last_step    BIGINT,
        CONSTRAINT totp_factors_pkey PRIMARY KEY (user_id),
        CONSTRAINT totp_factors_user_id_fkey FOREIGN KEY (user_id)
          REFERENCES users (id) ON DELETE CASCADE
      );

      CREATE TABLE recovery_codes (
        user_id    TEXT COLLATE "C" NOT NULL,
        code_hash  TEXT COLLATE "C" NOT NULL,
        created_at BIGINT NOT NULL,
        used_at    BIGINT,
        CONSTRAINT recovery_codes_pkey PRIMARY KEY (user_id, code_hash),
        CONSTRAINT recovery_codes_user_id_fkey FOREIGN KEY (user_id)
          REFERENCES users (id) ON DELETE CASCADE
      );

      CREATE TABLE mfa_challenges (
        token_hash TEXT COLLATE "C" NOT NULL,
        user_id    TEXT COLLATE "C" NOT NULL,
        amr        TEXT   NOT NULL,
        auth_time  BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at    BIGINT,
        CONSTRAINT mfa_challenges_pkey PRIMARY KEY (token_hash),
        CONSTRAINT mfa_challenges_user_id_fkey FOREIGN KEY (user_id)
          REFERENCES users (id) ON DELETE CASCADE
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
        id              TEXT COLLATE "C" NOT NULL,
        user_id         TEXT COLLATE "C" NOT NULL,
        public_key      TEXT    NOT NULL,
        sign_count      BIGINT  NOT NULL DEFAULT 0,
        transports      TEXT[]  NOT NULL DEFAULT '{}',
        name            TEXT    NOT NULL,
        backup_eligible BOOLEAN NOT NULL DEFAULT false,
        backed_up       BOOLEAN NOT NULL DEFAULT false,
        created_at      BIGINT  NOT NULL,
        last_used_at    BIGINT,
        CONSTRAINT passkeys_pkey PRIMARY KEY (id),
        CONSTRAINT passkeys_user_id_fkey FOREIGN KEY (user_id)
          REFERENCES users (id) ON DELETE CASCADE
      );
      CREATE INDEX passkeys_user_id ON passkeys (user_id, created_at, id);
      CREATE TABLE webauthn_challenges (
        challenge_hash TEXT COLLATE "C" NOT NULL,
        ceremony       TEXT   NOT NULL CHECK (ceremony IN ('register', 'login')),
        user_id        TEXT COLLATE "C",
        created_at     BIGINT NOT NULL,
        expires_at     BIGINT NOT NULL,
        CONSTRAINT webauthn_challenges_pkey PRIMARY KEY (challenge_hash),
        CONSTRAINT webauthn_challenges_user_id_fkey FOREIGN KEY (user_id)
          REFERENCES users (id) ON DELETE CASCADE
      );
      CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at);
    `,
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
  {
    // DPoP (RFC 9449 §5): the thumbprint of the key a public client's refresh-token family is
    // bound to, inherited by every rotation (docs/hardening.md, "Stolen tokens (DPoP)").
    name: 'DPoP key binding of refresh-token families',
    sql: `
      ALTER TABLE refresh_tokens ADD COLUMN jkt TEXT;
    `,
  },
];
