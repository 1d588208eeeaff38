// One mapping from table rows to the Store's records, shared by the SQLite and PostgreSQL stores.
// The column lists are the same in both schemas; what differs is how a column's value reads
// (SQLite's INTEGER 0/1 and JSON text, PostgreSQL's BOOLEAN and JSONB, and how strictly a number
// is checked), so each store passes its own readers.
import {
  type Client,
  type ClientAuthMethod,
  type MfaChallenge,
  type OneTimePurpose,
  type OneTimeToken,
  type RefreshToken,
  type RevocationReason,
  type Session,
  type SigningKey,
  StoreUnavailableError,
  type TotpFactor,
  type User,
} from './types.ts';
import { type UserNames, usernameSkeleton } from './username-key.ts';

/** An `amr` column: JSON text of an array of strings (both stores). */
function readAmr(value: unknown): string[] {
  let amr: unknown;
  try {
    amr = JSON.parse(String(value));
  } catch {
    amr = undefined;
  }
  if (!Array.isArray(amr) || !amr.every((m) => typeof m === 'string')) {
    throw new StoreUnavailableError('store: a row holds a malformed amr');
  }
  return amr;
}

type Row = Readonly<Record<string, unknown>>;

/** A family's amr as the column's JSON text, or NULL when not recorded (both stores). */
export function amrText(amr: readonly string[] | undefined): string | null {
  return amr === undefined ? null : JSON.stringify([...amr]);
}

/**
 * The names a users row holds, which its deletion reserves. Rows migrated before skeletons
 * existed may lack one: it is computed, as createUser would.
 */
export function rowNames(row: Row): UserNames {
  const key = String(row['username_key']);
  return {
    key,
    skeleton: String(row['username_skeleton'] ?? usernameSkeleton(key)),
    email: String(row['email']),
  };
}

/** How one store reads its column values. */
export interface ColumnReaders {
  /** A non-null number column. */
  num(value: unknown): number;
  /** A boolean column (users.disabled, users.email_verified). */
  flag(value: unknown): boolean;
  /** The users.roles column: an array of strings, or a StoreUnavailableError. */
  roles(value: unknown): string[];
  /** The users.app_metadata column: a JSON object, or a StoreUnavailableError. */
  object(value: unknown): Record<string, unknown>;
}

export interface RowMappers {
  toUser(row: Row): User;
  toRefreshToken(row: Row): RefreshToken;
  toSigningKey(row: Row): SigningKey;
  /** A row of the sessions query: family_id, created_at, last_used_at, client_ip, client_device. */
  toSession(row: Row): Session;
  toOneTimeToken(row: Row): OneTimeToken;
  toClient(row: Row): Client;
  toTotpFactor(row: Row): TotpFactor;
  toMfaChallenge(row: Row): MfaChallenge;
}

export function rowMappers(read: ColumnReaders): RowMappers {
  const numOrNull = (value: unknown) =>
    value === null || value === undefined ? null : read.num(value);
  const strOrNull = (value: unknown) =>
    value === null || value === undefined ? null : String(value);
  return {
    toUser: (row) => ({
      id: String(row['id']),
      username: String(row['username']),
      email: String(row['email']),
      passwordHash: String(row['password_hash']),
      roles: read.roles(row['roles']),
      disabled: read.flag(row['disabled']),
      emailVerified: read.flag(row['email_verified']),
      createdAt: read.num(row['created_at']),
      updatedAt: read.num(row['updated_at']),
      appMetadata: read.object(row['app_metadata']),
    }),
    toRefreshToken: (row) => ({
      tokenHash: String(row['token_hash']),
      familyId: String(row['family_id']),
      userId: String(row['user_id']),
      createdAt: read.num(row['created_at']),
      expiresAt: read.num(row['expires_at']),
      usedAt: numOrNull(row['used_at']),
      replacedBy: strOrNull(row['replaced_by']),
      revokedAt: numOrNull(row['revoked_at']),
      revokedReason: strOrNull(row['revoked_reason']) as RevocationReason | null,
      scope: strOrNull(row['scope']),
      authTime: numOrNull(row['auth_time']),
      // Present only when recorded: families from before amr was kept have none.
      ...(row['amr'] === null || row['amr'] === undefined ? {} : { amr: readAmr(row['amr']) }),
      jkt: strOrNull(row['jkt']),
    }),
    toSigningKey: (row) => ({
      kid: String(row['kid']),
      alg: String(row['alg']),
      privateJwk: String(row['private_jwk']),
      publicJwk: strOrNull(row['public_jwk']),
      createdAt: read.num(row['created_at']),
      // Keys stored before activates_at existed (an older SQLite file) were active at creation.
      activatesAt: numOrNull(row['activates_at']) ?? read.num(row['created_at']),
      retiresAt: numOrNull(row['retires_at']),
    }),
    toSession: (row) => ({
      id: String(row['family_id']),
      createdAt: read.num(row['created_at']),
      lastUsedAt: read.num(row['last_used_at']),
      ip: strOrNull(row['client_ip']),
      device: strOrNull(row['client_device']),
    }),
    toOneTimeToken: (row) => ({
      tokenHash: String(row['token_hash']),
      purpose: String(row['purpose']) as OneTimePurpose,
      userId: String(row['user_id']),
      payload: strOrNull(row['payload']),
      createdAt: read.num(row['created_at']),
      expiresAt: read.num(row['expires_at']),
      usedAt: numOrNull(row['used_at']),
    }),
    toClient: (row) => ({
      id: String(row['id']),
      name: String(row['name']),
      secretHash: strOrNull(row['secret_hash']),
      // Lists of strings, read as roles are (JSON text in SQLite, JSONB in PostgreSQL).
      scopes: read.roles(row['scopes']),
      grantTypes: read.roles(row['grant_types']),
      authMethod: String(row['auth_method']) as ClientAuthMethod,
      jwks: strOrNull(row['jwks']),
      jwksUri: strOrNull(row['jwks_uri']),
      createdAt: read.num(row['created_at']),
      secretRotatedAt: numOrNull(row['secret_rotated_at']),
    }),
    toTotpFactor: (row) => ({
      userId: String(row['user_id']),
      secret: String(row['secret']),
      createdAt: read.num(row['created_at']),
      confirmedAt: numOrNull(row['confirmed_at']),
      lastStep: numOrNull(row['last_step']),
    }),
    toMfaChallenge: (row) => ({
      tokenHash: String(row['token_hash']),
      userId: String(row['user_id']),
      amr: readAmr(row['amr']),
      authTime: read.num(row['auth_time']),
      expiresAt: read.num(row['expires_at']),
      usedAt: numOrNull(row['used_at']),
    }),
  };
}
