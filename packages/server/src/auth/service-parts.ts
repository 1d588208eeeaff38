// The parts AuthService (service.ts) is built from, and how they are wired to each other: the
// log-in guard and its counters, access tokens, refresh-token sessions, second factors and
// passkeys, account changes, and the mail flows. Apart from the facade so that the facade holds
// only its methods; nothing here is exported from the package.
import type { User } from '../store/types.ts';
import { AccountChanges, DEFAULT_NAME_RESERVATION } from './account-changes.ts';
import { AccountMail } from './account-mail.ts';
import { type AuditSink, NO_AUDIT } from './audit.ts';
import { auditedEvents, type SecurityEventSink } from './events.ts';
import { SecondFactors } from './factors.ts';
import { MemoryCounterStore } from './limits.ts';
import { LoginGuard } from './login.ts';
import { PasskeyAccount } from './passkey-account.ts';
import { Passkeys } from './passkeys.ts';
import { type Argon2Params, OWASP_ARGON2ID } from './password.ts';
import { checkRoleScopes } from './scopes.ts';
import type { AuthServiceOptions } from './service-options.ts';
import { type AccessClaims, Sessions } from './sessions.ts';
import { AccessTokens, FIRST_PARTY_CLIENT_ID } from './tokens.ts';

export interface ServiceParts {
  now: () => number;
  passwordParams: Argon2Params;
  defaultRoles: readonly string[];
  audit: AuditSink;
  logins: LoginGuard;
  tokens: AccessTokens;
  clientId: string;
  sessions: Sessions;
  factors: SecondFactors;
  account: AccountChanges;
  /** Undefined when the server has no mail. */
  mail: AccountMail | undefined;
  requireVerifiedEmail: boolean;
  passkeys: PasskeyAccount;
}

/**
 * Builds the parts from the service's options. `currentUser` is the facade's own check of a
 * signed-in user (live, not disabled), which the passkey routes share.
 */
export function buildServiceParts(
  options: AuthServiceOptions,
  currentUser: (claims: AccessClaims) => Promise<User>,
): ServiceParts {
  const audit = options.audit ?? NO_AUDIT;
  const now = options.now ?? Date.now;
  const passwordParams = options.passwordParams ?? OWASP_ARGON2ID;
  const defaultRoles = options.defaultRoles ?? ['user'];
  const logins = new LoginGuard({
    store: options.store,
    now,
    passwordParams,
    rateLimits: options.rateLimits,
    counters: options.counters ?? new MemoryCounterStore(),
    audit,
  });
  const tokens = new AccessTokens({
    keyRing: options.keyRing,
    claims: options.claims,
    claimsTimeout: options.claimsTimeout,
    maxBytes: options.accessTokenMaxBytes,
    onRefusal: options.onTokenRefusal,
    emailVerifiedClaim: options.mail?.verifyEmail ?? false,
  });
  const clientId = options.clientId ?? FIRST_PARTY_CLIENT_ID;
  const sessions = new Sessions({
    store: options.store,
    keyRing: options.keyRing,
    tokens,
    roleScopes:
      options.roleScopes === undefined
        ? undefined
        : checkRoleScopes(options.roleScopes, 'roleScopes'),
    clientId,
    accessTtl: options.accessTtl,
    refreshTtl: options.refreshTtl,
    reuseGrace: options.reuseGrace,
    now,
    revocations: options.revocations,
    onRevocationError: options.onRevocationError ?? (() => {}),
    audit,
  });
  // Security events go to the audit log, to the owner by mail (when the server has mail), and
  // to the caller's own sink. The mail flows are built below: the sink reads them when it fires.
  let mail: AccountMail | undefined;
  const events = auditedEvents(audit, {
    emit: async (event) => {
      await mail?.notifySecurityEvent(event);
      await options.events?.emit(event);
    },
  });
  const passkeys = relyingParty(options, now, events);
  const factors = new SecondFactors({
    store: options.store,
    now,
    deriveSecret: (purpose) => options.keyRing.deriveSecret(purpose),
    logins,
    passwordParams,
    totpIssuer: options.totpIssuer ?? 'laissez',
    events,
    passkeys,
  });
  const account = new AccountChanges({
    store: options.store,
    logins,
    sessions,
    passwordParams,
    breachedPasswords: options.breachedPasswords,
    nameReservation: options.nameReservation ?? DEFAULT_NAME_RESERVATION,
    now,
    audit,
  });
  const requireVerifiedEmail = options.mail?.requireVerifiedEmail ?? false;
  mail = options.mail
    ? new AccountMail({
        ...options.mail,
        store: options.store,
        now,
        passwordParams,
        defaultRoles,
        breachedPasswords: options.breachedPasswords,
        count: (key, limit) => logins.count(key, limit),
        registerPerIp: logins.limits.registerPerIp,
        endSessions: (userId) => sessions.logoutAll(userId),
        unlock: (userId) => logins.unlock(userId),
        audit,
      })
    : undefined;
  const passkeyAccount = new PasskeyAccount({
    passkeys,
    currentUser,
    count: (key, limit) => logins.count(key, limit),
    accountPerUser: logins.limits.accountPerUser,
    loginPerIp: logins.limits.loginPerIp,
    // The grant carries the passkey's amr (RFC 8176), kept with the refresh-token family.
    startSession: (user, grant) => sessions.start(user, grant),
    requireVerifiedEmail,
  });
  return {
    now,
    passwordParams,
    defaultRoles,
    audit,
    logins,
    tokens,
    clientId,
    sessions,
    factors,
    account,
    mail,
    requireVerifiedEmail,
    passkeys: passkeyAccount,
  };
}

/**
 * Passkeys' relying party. It defaults to the issuer's host and origin (a key ring always has an
 * issuer; a stand-in without one, in tests of other parts, gets a relying party no browser
 * matches).
 */
function relyingParty(
  options: AuthServiceOptions,
  now: () => number,
  events: SecurityEventSink,
): Passkeys {
  const issuerText: unknown = options.keyRing.issuer;
  const issuer = typeof issuerText === 'string' ? new URL(issuerText) : undefined;
  return new Passkeys({
    store: options.store,
    now,
    rpId: options.passkeys?.rpId ?? issuer?.hostname ?? 'localhost',
    rpOrigins: options.passkeys?.rpOrigins ?? (issuer ? [issuer.origin] : []),
    rpName: options.passkeys?.rpName ?? 'laissez',
    ...(options.passkeys?.onCloned ? { onCloned: options.passkeys.onCloned } : {}),
    events,
  });
}
