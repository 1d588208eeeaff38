// The shape of the built-in stores: each is assembled from one part per concern of the `Store`
// contract (users, refresh tokens, one-time tokens, clients, passkeys, signing keys, second
// factors, audit), made by functions over the store's connection (sqlite-users.ts,
// postgres-users.ts, …). This class gives the store every method of its parts, so that
// SqliteStore and PostgresStore stay one class each with the whole contract on it, while each
// concern's code lives in a file of its own.
import type { AuditEvent, AuditQuery, AuditStore } from './audit.ts';
import type { Client, ClientStore } from './clients.ts';
import type {
  ConsumeResult,
  NewOneTimeToken,
  OneTimePurpose,
  OneTimeToken,
  OneTimeTokenStore,
} from './one-time-tokens.ts';
import type {
  NewPasskey,
  Passkey,
  PasskeyStore,
  WebAuthnCeremony,
  WebAuthnChallenge,
} from './passkeys.ts';
import type {
  NewRefreshToken,
  RefreshToken,
  RefreshTokenStore,
  RevocationReason,
  RotateResult,
  Session,
} from './refresh-tokens.ts';
import type {
  MfaChallenge,
  NewMfaChallenge,
  SecondFactorStore,
  TotpFactor,
} from './second-factors.ts';
import type { SigningKey, SigningKeyStore } from './signing-keys.ts';
import type { Store } from './types.ts';
import type { NewUser, User, UserStore } from './users.ts';

/** One part per concern, each over the store's connection. */
export interface StoreParts {
  readonly users: UserStore;
  readonly refreshTokens: Required<RefreshTokenStore>;
  readonly oneTimeTokens: OneTimeTokenStore;
  readonly clients: ClientStore;
  readonly passkeys: PasskeyStore;
  readonly signingKeys: SigningKeyStore;
  readonly secondFactors: SecondFactorStore;
  readonly audit: AuditStore;
}

/**
 * A `Store` whose methods are its parts': a subclass opens the connection, makes the parts over
 * it, and adds `migrate()` and `close()`.
 */
export abstract class AssembledStore implements Store {
  readonly #parts: StoreParts;

  constructor(parts: StoreParts) {
    this.#parts = parts;
  }

  abstract migrate(): Promise<void>;
  abstract close(): Promise<void>;

  // UserStore (users.ts)
  createUser(user: NewUser): Promise<User> {
    return this.#parts.users.createUser(user);
  }

  findUserById(id: string): Promise<User | null> {
    return this.#parts.users.findUserById(id);
  }

  findUserByUsername(username: string): Promise<User | null> {
    return this.#parts.users.findUserByUsername(username);
  }

  findUserByEmail(email: string): Promise<User | null> {
    return this.#parts.users.findUserByEmail(email);
  }

  listUsers(options: { limit: number; after?: string; prefix?: string }): Promise<User[]> {
    return this.#parts.users.listUsers(options);
  }

  setUserRoles(id: string, roles: readonly string[], now: number): Promise<boolean> {
    return this.#parts.users.setUserRoles(id, roles, now);
  }

  updatePasswordHash(id: string, passwordHash: string, now: number): Promise<void> {
    return this.#parts.users.updatePasswordHash(id, passwordHash, now);
  }

  replacePasswordHash(id: string, from: string, to: string, now: number): Promise<boolean> {
    return this.#parts.users.replacePasswordHash(id, from, to, now);
  }

  setUserDisabled(id: string, disabled: boolean, now: number): Promise<boolean> {
    return this.#parts.users.setUserDisabled(id, disabled, now);
  }

  setUserAppMetadata(
    id: string,
    metadata: Readonly<Record<string, unknown>>,
    now: number,
  ): Promise<boolean> {
    return this.#parts.users.setUserAppMetadata(id, metadata, now);
  }

  markEmailVerified(id: string, email: string, now: number): Promise<boolean> {
    return this.#parts.users.markEmailVerified(id, email, now);
  }

  changeEmail(id: string, from: string, to: string, now: number): Promise<boolean> {
    return this.#parts.users.changeEmail(id, from, to, now);
  }

  deleteUser(id: string, options?: { reserveUntil?: number }): Promise<boolean> {
    return this.#parts.users.deleteUser(id, options);
  }

  deleteExpiredReservations(now: number): Promise<number> {
    return this.#parts.users.deleteExpiredReservations(now);
  }

  // RefreshTokenStore (refresh-tokens.ts)
  createRefreshToken(token: NewRefreshToken): Promise<void> {
    return this.#parts.refreshTokens.createRefreshToken(token);
  }

  findRefreshToken(tokenHash: string): Promise<RefreshToken | null> {
    return this.#parts.refreshTokens.findRefreshToken(tokenHash);
  }

  findRefreshTokenWithUser(
    tokenHash: string,
  ): Promise<{ token: RefreshToken; user: User | null } | null> {
    return this.#parts.refreshTokens.findRefreshTokenWithUser(tokenHash);
  }

  rotateRefreshToken(
    tokenHash: string,
    successor: NewRefreshToken,
    now: number,
  ): Promise<RotateResult> {
    return this.#parts.refreshTokens.rotateRefreshToken(tokenHash, successor, now);
  }

  revokeFamily(familyId: string, now: number, reason?: RevocationReason): Promise<number> {
    return this.#parts.refreshTokens.revokeFamily(familyId, now, reason);
  }

  listLiveFamilies(userId: string, now: number): Promise<string[]> {
    return this.#parts.refreshTokens.listLiveFamilies(userId, now);
  }

  listSessions(userId: string, now: number): Promise<Session[]> {
    return this.#parts.refreshTokens.listSessions(userId, now);
  }

  revokeSession(
    userId: string,
    familyId: string,
    now: number,
    reason?: RevocationReason,
  ): Promise<boolean> {
    return this.#parts.refreshTokens.revokeSession(userId, familyId, now, reason);
  }

  revokeUserTokens(userId: string, now: number, reason?: RevocationReason): Promise<number> {
    return this.#parts.refreshTokens.revokeUserTokens(userId, now, reason);
  }

  deleteExpiredRefreshTokens(now: number): Promise<number> {
    return this.#parts.refreshTokens.deleteExpiredRefreshTokens(now);
  }

  // OneTimeTokenStore (one-time-tokens.ts)
  createOneTimeToken(token: NewOneTimeToken, options?: { replace?: boolean }): Promise<void> {
    return this.#parts.oneTimeTokens.createOneTimeToken(token, options);
  }

  findOneTimeToken(tokenHash: string): Promise<OneTimeToken | null> {
    return this.#parts.oneTimeTokens.findOneTimeToken(tokenHash);
  }

  consumeOneTimeToken(
    tokenHash: string,
    purpose: OneTimePurpose,
    now: number,
  ): Promise<ConsumeResult> {
    return this.#parts.oneTimeTokens.consumeOneTimeToken(tokenHash, purpose, now);
  }

  deleteExpiredOneTimeTokens(now: number): Promise<number> {
    return this.#parts.oneTimeTokens.deleteExpiredOneTimeTokens(now);
  }

  // ClientStore (clients.ts)
  createClient(client: Client): Promise<boolean> {
    return this.#parts.clients.createClient(client);
  }

  findClient(id: string): Promise<Client | null> {
    return this.#parts.clients.findClient(id);
  }

  listClients(): Promise<Client[]> {
    return this.#parts.clients.listClients();
  }

  deleteClient(id: string): Promise<boolean> {
    return this.#parts.clients.deleteClient(id);
  }

  setClientSecret(id: string, secretHash: string, now: number): Promise<boolean> {
    return this.#parts.clients.setClientSecret(id, secretHash, now);
  }

  useClientAssertion(
    clientId: string,
    jti: string,
    expiresAt: number,
    now: number,
  ): Promise<boolean> {
    return this.#parts.clients.useClientAssertion(clientId, jti, expiresAt, now);
  }

  // PasskeyStore (passkeys.ts)
  createPasskey(passkey: NewPasskey): Promise<boolean> {
    return this.#parts.passkeys.createPasskey(passkey);
  }

  findPasskey(id: string): Promise<Passkey | null> {
    return this.#parts.passkeys.findPasskey(id);
  }

  listPasskeys(userId: string): Promise<Passkey[]> {
    return this.#parts.passkeys.listPasskeys(userId);
  }

  renamePasskey(userId: string, id: string, name: string, now: number): Promise<boolean> {
    return this.#parts.passkeys.renamePasskey(userId, id, name, now);
  }

  deletePasskey(userId: string, id: string): Promise<boolean> {
    return this.#parts.passkeys.deletePasskey(userId, id);
  }

  usePasskey(
    id: string,
    counter: { from: number; to: number },
    backedUp: boolean,
    now: number,
  ): Promise<boolean> {
    return this.#parts.passkeys.usePasskey(id, counter, backedUp, now);
  }

  createWebAuthnChallenge(challenge: WebAuthnChallenge): Promise<void> {
    return this.#parts.passkeys.createWebAuthnChallenge(challenge);
  }

  consumeWebAuthnChallenge(
    challengeHash: string,
    ceremony: WebAuthnCeremony,
    now: number,
  ): Promise<WebAuthnChallenge | null> {
    return this.#parts.passkeys.consumeWebAuthnChallenge(challengeHash, ceremony, now);
  }

  // SigningKeyStore (signing-keys.ts)
  listSigningKeys(): Promise<SigningKey[]> {
    return this.#parts.signingKeys.listSigningKeys();
  }

  addSigningKey(key: SigningKey): Promise<void> {
    return this.#parts.signingKeys.addSigningKey(key);
  }

  retireKeysBefore(key: { kid: string; activatesAt: number }, retiresAt: number): Promise<void> {
    return this.#parts.signingKeys.retireKeysBefore(key, retiresAt);
  }

  withdrawKeysBefore(key: { kid: string; activatesAt: number }, retiresAt: number): Promise<void> {
    return this.#parts.signingKeys.withdrawKeysBefore(key, retiresAt);
  }

  replaceSigningKeyMaterial(
    changes: readonly { kid: string; from: string; to: string }[],
  ): Promise<number> {
    return this.#parts.signingKeys.replaceSigningKeyMaterial(changes);
  }

  deleteRetiredKeys(now: number): Promise<number> {
    return this.#parts.signingKeys.deleteRetiredKeys(now);
  }

  // SecondFactorStore (second-factors.ts)
  findTotpFactor(userId: string): Promise<TotpFactor | null> {
    return this.#parts.secondFactors.findTotpFactor(userId);
  }

  saveTotpFactor(factor: { userId: string; secret: string; createdAt: number }): Promise<boolean> {
    return this.#parts.secondFactors.saveTotpFactor(factor);
  }

  confirmTotpFactor(userId: string, secret: string, step: number, now: number): Promise<boolean> {
    return this.#parts.secondFactors.confirmTotpFactor(userId, secret, step, now);
  }

  useTotpStep(userId: string, step: number): Promise<boolean> {
    return this.#parts.secondFactors.useTotpStep(userId, step);
  }

  deleteTotpFactor(userId: string): Promise<boolean> {
    return this.#parts.secondFactors.deleteTotpFactor(userId);
  }

  replaceRecoveryCodes(userId: string, codeHashes: readonly string[], now: number): Promise<void> {
    return this.#parts.secondFactors.replaceRecoveryCodes(userId, codeHashes, now);
  }

  useRecoveryCode(userId: string, codeHash: string, now: number): Promise<boolean> {
    return this.#parts.secondFactors.useRecoveryCode(userId, codeHash, now);
  }

  countRecoveryCodes(userId: string): Promise<number> {
    return this.#parts.secondFactors.countRecoveryCodes(userId);
  }

  createMfaChallenge(challenge: NewMfaChallenge): Promise<void> {
    return this.#parts.secondFactors.createMfaChallenge(challenge);
  }

  findMfaChallenge(tokenHash: string): Promise<MfaChallenge | null> {
    return this.#parts.secondFactors.findMfaChallenge(tokenHash);
  }

  consumeMfaChallenge(tokenHash: string, now: number): Promise<boolean> {
    return this.#parts.secondFactors.consumeMfaChallenge(tokenHash, now);
  }

  deleteExpiredMfaChallenges(now: number): Promise<number> {
    return this.#parts.secondFactors.deleteExpiredMfaChallenges(now);
  }

  // AuditStore (audit.ts)
  appendAuditEvent(event: AuditEvent): Promise<void> {
    return this.#parts.audit.appendAuditEvent(event);
  }

  listAuditEvents(query: AuditQuery): Promise<AuditEvent[]> {
    return this.#parts.audit.listAuditEvents(query);
  }

  deleteAuditEventsBefore(before: number): Promise<number> {
    return this.#parts.audit.deleteAuditEventsBefore(before);
  }
}
