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
 * it, and adds `migrate()` and `close()`. The methods stay `async`, as they were on each store,
 * so that every call gives a promise, whatever goes wrong.
 */
export abstract class AssembledStore implements Store {
  readonly #parts: StoreParts;

  constructor(parts: StoreParts) {
    this.#parts = parts;
  }

  abstract migrate(): Promise<void>;
  abstract close(): Promise<void>;

  // UserStore (users.ts)
  async createUser(user: NewUser): Promise<User> {
    return this.#parts.users.createUser(user);
  }

  async findUserById(id: string): Promise<User | null> {
    return this.#parts.users.findUserById(id);
  }

  async findUserByUsername(username: string): Promise<User | null> {
    return this.#parts.users.findUserByUsername(username);
  }

  async findUserByEmail(email: string): Promise<User | null> {
    return this.#parts.users.findUserByEmail(email);
  }

  async listUsers(options: { limit: number; after?: string; prefix?: string }): Promise<User[]> {
    return this.#parts.users.listUsers(options);
  }

  async setUserRoles(id: string, roles: readonly string[], now: number): Promise<boolean> {
    return this.#parts.users.setUserRoles(id, roles, now);
  }

  async updatePasswordHash(id: string, passwordHash: string, now: number): Promise<void> {
    return this.#parts.users.updatePasswordHash(id, passwordHash, now);
  }

  async replacePasswordHash(id: string, from: string, to: string, now: number): Promise<boolean> {
    return this.#parts.users.replacePasswordHash(id, from, to, now);
  }

  async setUserDisabled(id: string, disabled: boolean, now: number): Promise<boolean> {
    return this.#parts.users.setUserDisabled(id, disabled, now);
  }

  async setUserAppMetadata(
    id: string,
    metadata: Readonly<Record<string, unknown>>,
    now: number,
  ): Promise<boolean> {
    return this.#parts.users.setUserAppMetadata(id, metadata, now);
  }

  async markEmailVerified(id: string, email: string, now: number): Promise<boolean> {
    return this.#parts.users.markEmailVerified(id, email, now);
  }

  async changeEmail(id: string, from: string, to: string, now: number): Promise<boolean> {
    return this.#parts.users.changeEmail(id, from, to, now);
  }

  async deleteUser(id: string, options?: { reserveUntil?: number }): Promise<boolean> {
    return this.#parts.users.deleteUser(id, options);
  }

  async deleteExpiredReservations(now: number): Promise<number> {
    return this.#parts.users.deleteExpiredReservations(now);
  }

  // RefreshTokenStore (refresh-tokens.ts)
  async createRefreshToken(token: NewRefreshToken): Promise<void> {
    return this.#parts.refreshTokens.createRefreshToken(token);
  }

  async findRefreshToken(tokenHash: string): Promise<RefreshToken | null> {
    return this.#parts.refreshTokens.findRefreshToken(tokenHash);
  }

  async findRefreshTokenWithUser(
    tokenHash: string,
  ): Promise<{ token: RefreshToken; user: User | null } | null> {
    return this.#parts.refreshTokens.findRefreshTokenWithUser(tokenHash);
  }

  async rotateRefreshToken(
    tokenHash: string,
    successor: NewRefreshToken,
    now: number,
  ): Promise<RotateResult> {
    return this.#parts.refreshTokens.rotateRefreshToken(tokenHash, successor, now);
  }

  async revokeFamily(familyId: string, now: number, reason?: RevocationReason): Promise<number> {
    return this.#parts.refreshTokens.revokeFamily(familyId, now, reason);
  }

  async listLiveFamilies(userId: string, now: number): Promise<string[]> {
    return this.#parts.refreshTokens.listLiveFamilies(userId, now);
  }

  async listSessions(userId: string, now: number): Promise<Session[]> {
    return this.#parts.refreshTokens.listSessions(userId, now);
  }

  async revokeSession(
    userId: string,
    familyId: string,
    now: number,
    reason?: RevocationReason,
  ): Promise<boolean> {
    return this.#parts.refreshTokens.revokeSession(userId, familyId, now, reason);
  }

  async revokeUserTokens(userId: string, now: number, reason?: RevocationReason): Promise<number> {
    return this.#parts.refreshTokens.revokeUserTokens(userId, now, reason);
  }

  async deleteExpiredRefreshTokens(now: number): Promise<number> {
    return this.#parts.refreshTokens.deleteExpiredRefreshTokens(now);
  }

  // OneTimeTokenStore (one-time-tokens.ts)
  async createOneTimeToken(token: NewOneTimeToken, options?: { replace?: boolean }): Promise<void> {
    return this.#parts.oneTimeTokens.createOneTimeToken(token, options);
  }

  async findOneTimeToken(tokenHash: string): Promise<OneTimeToken | null> {
    return this.#parts.oneTimeTokens.findOneTimeToken(tokenHash);
  }

  async consumeOneTimeToken(
    tokenHash: string,
    purpose: OneTimePurpose,
    now: number,
  ): Promise<ConsumeResult> {
    return this.#parts.oneTimeTokens.consumeOneTimeToken(tokenHash, purpose, now);
  }

  async deleteExpiredOneTimeTokens(now: number): Promise<number> {
    return this.#parts.oneTimeTokens.deleteExpiredOneTimeTokens(now);
  }

  // ClientStore (clients.ts)
  async createClient(client: Client): Promise<boolean> {
    return this.#parts.clients.createClient(client);
  }

  async findClient(id: string): Promise<Client | null> {
    return this.#parts.clients.findClient(id);
  }

  async listClients(): Promise<Client[]> {
    return this.#parts.clients.listClients();
  }

  async deleteClient(id: string): Promise<boolean> {
    return this.#parts.clients.deleteClient(id);
  }

  async setClientSecret(id: string, secretHash: string, now: number): Promise<boolean> {
    return this.#parts.clients.setClientSecret(id, secretHash, now);
  }

  async useClientAssertion(
    clientId: string,
    jti: string,
    expiresAt: number,
    now: number,
  ): Promise<boolean> {
    return this.#parts.clients.useClientAssertion(clientId, jti, expiresAt, now);
  }

  // PasskeyStore (passkeys.ts)
  async createPasskey(passkey: NewPasskey): Promise<boolean> {
    return this.#parts.passkeys.createPasskey(passkey);
  }

  async findPasskey(id: string): Promise<Passkey | null> {
    return this.#parts.passkeys.findPasskey(id);
  }

  async listPasskeys(userId: string): Promise<Passkey[]> {
    return this.#parts.passkeys.listPasskeys(userId);
  }

  async renamePasskey(userId: string, id: string, name: string, now: number): Promise<boolean> {
    return this.#parts.passkeys.renamePasskey(userId, id, name, now);
  }

  async deletePasskey(userId: string, id: string): Promise<boolean> {
    return this.#parts.passkeys.deletePasskey(userId, id);
  }

  async usePasskey(
    id: string,
    counter: { from: number; to: number },
    backedUp: boolean,
    now: number,
  ): Promise<boolean> {
    return this.#parts.passkeys.usePasskey(id, counter, backedUp, now);
  }

  async createWebAuthnChallenge(challenge: WebAuthnChallenge): Promise<void> {
    return this.#parts.passkeys.createWebAuthnChallenge(challenge);
  }

  async consumeWebAuthnChallenge(
    challengeHash: string,
    ceremony: WebAuthnCeremony,
    now: number,
  ): Promise<WebAuthnChallenge | null> {
    return this.#parts.passkeys.consumeWebAuthnChallenge(challengeHash, ceremony, now);
  }

  // SigningKeyStore (signing-keys.ts)
  async listSigningKeys(): Promise<SigningKey[]> {
    return this.#parts.signingKeys.listSigningKeys();
  }

  async addSigningKey(key: SigningKey): Promise<void> {
    return this.#parts.signingKeys.addSigningKey(key);
  }

  async retireKeysBefore(
    key: { kid: string; activatesAt: number },
    retiresAt: number,
  ): Promise<void> {
    return this.#parts.signingKeys.retireKeysBefore(key, retiresAt);
  }

  async withdrawKeysBefore(
    key: { kid: string; activatesAt: number },
    retiresAt: number,
  ): Promise<void> {
    return this.#parts.signingKeys.withdrawKeysBefore(key, retiresAt);
  }

  async replaceSigningKeyMaterial(
    changes: readonly { kid: string; from: string; to: string }[],
  ): Promise<number> {
    return this.#parts.signingKeys.replaceSigningKeyMaterial(changes);
  }

  async deleteRetiredKeys(now: number): Promise<number> {
    return this.#parts.signingKeys.deleteRetiredKeys(now);
  }

  // SecondFactorStore (second-factors.ts)
  async findTotpFactor(userId: string): Promise<TotpFactor | null> {
    return this.#parts.secondFactors.findTotpFactor(userId);
  }

  async saveTotpFactor(factor: {
    userId: string;
    secret: string;
    createdAt: number;
  }): Promise<boolean> {
    return this.#parts.secondFactors.saveTotpFactor(factor);
  }

  async confirmTotpFactor(
    userId: string,
    secret: string,
    step: number,
    now: number,
  ): Promise<boolean> {
    return this.#parts.secondFactors.confirmTotpFactor(userId, secret, step, now);
  }

  async useTotpStep(userId: string, step: number): Promise<boolean> {
    return this.#parts.secondFactors.useTotpStep(userId, step);
  }

  async deleteTotpFactor(userId: string): Promise<boolean> {
    return this.#parts.secondFactors.deleteTotpFactor(userId);
  }

  async replaceRecoveryCodes(
    userId: string,
    codeHashes: readonly string[],
    now: number,
  ): Promise<void> {
    return this.#parts.secondFactors.replaceRecoveryCodes(userId, codeHashes, now);
  }

  async useRecoveryCode(userId: string, codeHash: string, now: number): Promise<boolean> {
    return this.#parts.secondFactors.useRecoveryCode(userId, codeHash, now);
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    return this.#parts.secondFactors.countRecoveryCodes(userId);
  }

  async createMfaChallenge(challenge: NewMfaChallenge): Promise<void> {
    return this.#parts.secondFactors.createMfaChallenge(challenge);
  }

  async findMfaChallenge(tokenHash: string): Promise<MfaChallenge | null> {
    return this.#parts.secondFactors.findMfaChallenge(tokenHash);
  }

  async consumeMfaChallenge(tokenHash: string, now: number): Promise<boolean> {
    return this.#parts.secondFactors.consumeMfaChallenge(tokenHash, now);
  }

  async deleteExpiredMfaChallenges(now: number): Promise<number> {
    return this.#parts.secondFactors.deleteExpiredMfaChallenges(now);
  }

  // AuditStore (audit.ts)
  async appendAuditEvent(event: AuditEvent): Promise<void> {
    return this.#parts.audit.appendAuditEvent(event);
  }

  async listAuditEvents(query: AuditQuery): Promise<AuditEvent[]> {
    return this.#parts.audit.listAuditEvents(query);
  }

  async deleteAuditEventsBefore(before: number): Promise<number> {
    return this.#parts.audit.deleteAuditEventsBefore(before);
  }
}
