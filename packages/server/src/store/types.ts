// The storage contract of laissez, `Store`, assembled from one part per concern (users, refresh
// tokens, one-time tokens, OAuth clients, passkeys, signing keys, second factors, audit), each in
// a file of its own with its records and the pure helpers every store shares; and the errors a
// store throws. Everything is re-exported here, so that importers need one path.
import type { AuditStore } from './audit.ts';
import type { ClientStore } from './clients.ts';
import type { OneTimeTokenStore } from './one-time-tokens.ts';
import type { PasskeyStore } from './passkeys.ts';
import type { RefreshTokenStore } from './refresh-tokens.ts';
import type { SecondFactorStore } from './second-factors.ts';
import type { SigningKeyStore } from './signing-keys.ts';
import type { UserStore } from './users.ts';

export type { AuditEvent, AuditQuery, AuditStore } from './audit.ts';
export * from './clients.ts';
export * from './one-time-tokens.ts';
export * from './passkeys.ts';
export * from './refresh-tokens.ts';
export * from './second-factors.ts';
export * from './signing-keys.ts';
export * from './users.ts';

/** Thrown by `createUser` when the username or the email is taken. */
export class ConflictError extends Error {
  override name = 'ConflictError';
  readonly field: 'username' | 'email';
  constructor(field: 'username' | 'email') {
    super(`the ${field} is already taken`);
    this.field = field;
  }
}

/** Thrown by a store that cannot reach its database (the server answers 503). */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/**
 * The storage contract of laissez, one interface per concern: users and their sessions, refresh
 * tokens, one-time tokens (mailed links), OAuth clients, passkeys, signing keys, second factors
 * and the audit log. The methods are all async (SQLite answers at once, PostgreSQL over the
 * network), and one conformance suite (`src/store/testing/`, published as `laissez/store/testing`)
 * is passed by every implementation.
 *
 * Times are milliseconds since 1970 (numbers). Ids are strings made by the caller.
 */
export interface Store
  extends UserStore,
    RefreshTokenStore,
    OneTimeTokenStore,
    ClientStore,
    PasskeyStore,
    SigningKeyStore,
    SecondFactorStore,
    AuditStore {
  /** Applies pending migrations. Idempotent; called once at start. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}
