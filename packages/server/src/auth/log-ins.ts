// The ways a log-in ends in a session: the password (with no second factor on), the second step
// after it, and a sign-in link. Each asks for the second step when one is on, starts the refresh
// family and records `login.succeeded`; AuthService (service.ts) is their public face.
import type { User } from '../store/types.ts';
import { clientKeyOf } from './addresses.ts';
import { sessionClient } from './client-info.ts';
import { issueDeviceToken } from './device.ts';
import { AuthServiceError } from './errors.ts';
import type { LoginInput } from './login.ts';
import type { ClientContext } from './service-options.ts';
import type { ServiceParts } from './service-parts.ts';
import type { GrantInput, RequestContext, TokenSet } from './sessions.ts';

/** A password log-in (AuthService.login). */
export type PasswordLogIn = LoginInput & {
  /** The client's address as the session list shows it (not the rate-limit key). */
  clientIp?: string;
  /** The User-Agent header: only a short device label of it is kept (client-info.ts). */
  userAgent?: unknown;
  /** RFC 6749 §3.3: the scopes asked for; absent, every scope the user's roles allow. */
  scope?: unknown;
  /** The request, for the claims function (`ip` above is the rate-limit key). */
  request?: RequestContext;
  /** The key thumbprint of the request's valid DPoP proof: binds the token and the family. */
  jkt?: string | undefined;
};

/** A log-in's second step (AuthService.verifySecondFactor). */
export interface SecondStepLogIn {
  mfa_token?: unknown;
  code?: unknown;
  recovery_code?: unknown;
  credential?: unknown;
  /** RFC 6749 §3.3, as at /auth/login (the challenge does not keep the first step's). */
  scope?: unknown;
  /** The client's address as the session list shows it. */
  clientIp?: string;
  userAgent?: unknown;
  request?: RequestContext;
  /** RFC 9449: the thumbprint of the DPoP proof's key the tokens are bound to. */
  jkt?: string;
}

/** A finished log-in: the user, the tokens, and a fresh device token for the next ones. */
export interface LoggedIn {
  user: User;
  tokens: TokenSet;
  deviceToken: string;
}

type LogInParts = Pick<
  ServiceParts,
  'now' | 'audit' | 'logins' | 'sessions' | 'factors' | 'requireVerifiedEmail'
>;

export class LogIns {
  readonly #p: LogInParts;

  constructor(parts: LogInParts) {
    this.#p = parts;
  }

  /** See AuthService.login. */
  async password(input: PasswordLogIn): Promise<LoggedIn> {
    const { clientIp, userAgent, scope, request, jkt, ...credentials } = input;
    const { user, passwordHash } = await this.#p.logins.check(credentials);
    // Said only after the password proved right, so it tells nothing to a guesser.
    if (this.#p.requireVerifiedEmail && !user.emailVerified) {
      throw new AuthServiceError(
        'email_not_verified',
        'verify your email first: follow the link in the mail we sent, or ask for another',
      );
    }
    // A second factor on: no tokens yet, but a challenge (401 mfa_required) to finish with.
    const factors = await this.#p.factors.factorsOf(user.id);
    if (factors.length > 0) throw await this.#p.factors.challenge(user, factors, ['pwd']);
    // The scope is checked once the password is: what a user's roles allow is theirs to learn.
    const tokens = await this.#p.sessions.start(user, {
      ...(scope !== undefined ? { scope } : {}),
      ...(request ? { request } : {}),
      ...(jkt !== undefined ? { jkt } : {}),
      client: sessionClient(clientIp ?? credentials.ip, userAgent),
      amr: ['pwd'],
    });
    await this.#p.audit.record({
      type: 'login.succeeded',
      actor: user.id,
      subject: user.id,
      ip: credentials.ip === undefined ? null : clientKeyOf(credentials.ip),
      details: { method: 'password' },
    });
    return {
      user,
      tokens,
      deviceToken: issueDeviceToken({ id: user.id, passwordHash }, this.#p.now()),
    };
  }

  /** See AuthService.verifySecondFactor. */
  async secondStep(input: SecondStepLogIn): Promise<LoggedIn> {
    const { scope, clientIp, userAgent, request, jkt, ...proof } = input;
    const { user, amr, authTime } = await this.#p.factors.verify(proof);
    const tokens = await this.#p.sessions.start(user, {
      ...(scope !== undefined ? { scope } : {}),
      ...(request ? { request } : {}),
      ...(jkt !== undefined ? { jkt } : {}),
      client: sessionClient(clientIp, userAgent),
      amr,
      authTime,
    });
    // The log-in is done only now: the password (or link) step recorded nothing.
    await this.#p.audit.record({
      type: 'login.succeeded',
      actor: user.id,
      subject: user.id,
      ip: clientIp === undefined ? null : clientKeyOf(clientIp),
      details: { method: 'second_factor', amr: amr.join(' ') },
    });
    return { user, tokens, deviceToken: issueDeviceToken(user, this.#p.now()) };
  }

  /** See AuthService.startSession. */
  async link(user: User, grant: GrantInput, context: ClientContext): Promise<TokenSet> {
    const factors = await this.#p.factors.factorsOf(user.id);
    if (factors.length > 0) throw await this.#p.factors.challenge(user, factors, []);
    const tokens = await this.#p.sessions.start(user, grant);
    await this.#p.audit.record({
      type: 'login.succeeded',
      actor: user.id,
      subject: user.id,
      ip: context.ip ?? null,
      details: { method: 'link' },
    });
    return tokens;
  }
}
