/**
 * `laissez/store`: the storage contract of the auth server, for picking a built-in store or
 * writing one of your own. `Store` and its records; the errors a store throws (`ConflictError`
 * on a taken username or email, `StoreUnavailableError` when its database cannot serve, which
 * the server answers with 503); the pure helpers the built-in stores use, so that another store
 * decides exactly as they do; and the built-in stores' openers. The conformance suite every
 * store passes is `laissez/store/testing`. How to write a store: docs/stores.md.
 * @example
 * import { openPostgresStore } from 'laissez/store';
 * import { createAuthServer } from 'laissez/server';
 * const store = openPostgresStore({ connectionString: process.env.DATABASE_URL! });
 * const app = await createAuthServer({ issuer: 'https://auth.example', store });
 */

export type { AuditEvent, AuditQuery } from './audit.ts';
export {
  openPostgresStore,
  type PostgresPoolOptions,
  type PostgresStoreOptions,
} from './postgres.ts';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite.ts';
export {
  CLIENT_AUTH_METHODS,
  type Client,
  type ClientAuthMethod,
  ConflictError,
  type ConsumeResult,
  checkReason,
  type MfaChallenge,
  type NewMfaChallenge,
  type NewOneTimeToken,
  type NewPasskey,
  type NewRefreshToken,
  type NewUser,
  ONE_TIME_PURPOSES,
  type OneTimePurpose,
  type OneTimeToken,
  type Passkey,
  REVOCATION_REASONS,
  type RefreshToken,
  type RevocationReason,
  type RotateResult,
  type Session,
  type SessionClient,
  type SigningKey,
  type Store,
  StoreUnavailableError,
  type TotpFactor,
  type User,
  unconsumed,
  unrotatable,
  WEBAUTHN_CEREMONIES,
  type WebAuthnCeremony,
  type WebAuthnChallenge,
} from './types.ts';
export {
  prefixNames,
  type UserNames,
  userNames,
  usernameKey,
  usernameSkeleton,
} from './username-key.ts';
