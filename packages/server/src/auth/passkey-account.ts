// The passkey flows as the server's routes call them: a signed-in user's own passkeys (behind
// the account budget) and the passwordless log-in (behind the per-address log-in budget), which
// starts a session like a password log-in does. Built by AuthService over its sessions and
// budgets; the ceremonies themselves are passkeys.ts's.
import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import type { User } from '../store/types.ts';
import { clientKeyOf } from './addresses.ts';
import { sessionClient } from './client-info.ts';
import { AuthServiceError } from './errors.ts';
import type { Limit } from './limits.ts';
import { type PasskeyInfo, type Passkeys, toPasskeyInfo } from './passkeys.ts';
import type { AccessClaims, LogInGrant, RequestContext, TokenSet } from './sessions.ts';

export interface PasskeyAccountOptions {
  passkeys: Passkeys;
  /** The user behind verified claims (AuthService.currentUser). */
  currentUser: (claims: AccessClaims) => Promise<User>;
  /** Counts one request against a budget; 429 once spent (LoginGuard.count). */
  count: (key: string, limit: Limit) => Promise<void>;
  accountPerUser: Limit;
  loginPerIp: Limit;
  /**
   * Starts a session for a user who proved who they are, and how: the grant's `amr` (RFC 8176)
   * goes into the access tokens and stays with the refresh-token family (Sessions.start).
   */
  startSession: (user: User, grant: LogInGrant) => Promise<TokenSet>;
  /** Log-in is refused until the email is verified (as for passwords). */
  requireVerifiedEmail: boolean;
}

export class PasskeyAccount {
  readonly #o: PasskeyAccountOptions;

  constructor(options: PasskeyAccountOptions) {
    this.#o = options;
  }

  /** The ceremonies: for a second step after the password, `verifyForUser`. */
  get ceremonies(): Passkeys {
    return this.#o.passkeys;
  }

  async #user(claims: AccessClaims): Promise<User> {
    const user = await this.#o.currentUser(claims);
    await this.#o.count(`account:u:${user.id}`, this.#o.accountPerUser);
    return user;
  }

  async registrationOptions(claims: AccessClaims): Promise<PublicKeyCredentialCreationOptionsJSON> {
    return this.#o.passkeys.registrationOptions(await this.#user(claims));
  }

  async register(claims: AccessClaims, response: unknown, name: unknown): Promise<PasskeyInfo> {
    const user = await this.#user(claims);
    return toPasskeyInfo(await this.#o.passkeys.register(user, response, name));
  }

  async list(claims: AccessClaims): Promise<PasskeyInfo[]> {
    const user = await this.#user(claims);
    return (await this.#o.passkeys.list(user.id)).map(toPasskeyInfo);
  }

  async rename(claims: AccessClaims, id: string, name: unknown): Promise<void> {
    await this.#o.passkeys.rename((await this.#user(claims)).id, id, name);
  }

  async remove(claims: AccessClaims, id: string): Promise<void> {
    await this.#o.passkeys.remove((await this.#user(claims)).id, id);
  }

  /**
   * Options for a passwordless log-in. Each stores a challenge: counted per address, like
   * log-in attempts, so that no client fills the table (expired ones go as new ones come).
   */
  async loginOptions(ip: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    await this.#o.count(`passkey:options:ip:${clientKeyOf(ip)}`, this.#o.loginPerIp);
    return this.#o.passkeys.loginOptions();
  }

  /**
   * A passwordless log-in: the assertion verified, then a session as for a password log-in, its
   * tokens saying `amr: ["hwk" | "swk", "mfa"]`. No further factor is asked, TOTP on or not: the
   * log-in options require user verification, so the one gesture already proved two factors
   * (possession of the key, and the PIN or biometric the authenticator checked).
   */
  async login(input: {
    response: unknown;
    ip: string;
    userAgent?: unknown;
    scope?: unknown;
    request?: RequestContext;
  }): Promise<{ user: User; tokens: TokenSet; amr: string[] }> {
    await this.#o.count(`passkey:login:ip:${clientKeyOf(input.ip)}`, this.#o.loginPerIp);
    const { user, amr } = await this.#o.passkeys.login(input.response);
    if (this.#o.requireVerifiedEmail && !user.emailVerified) {
      throw new AuthServiceError(
        'email_not_verified',
        'verify your email first: follow the link in the mail we sent, or ask for another',
      );
    }
    const tokens = await this.#o.startSession(user, {
      ...(input.scope !== undefined ? { scope: input.scope } : {}),
      ...(input.request ? { request: input.request } : {}),
      client: sessionClient(input.ip, input.userAgent),
      amr,
    });
    return { user, tokens, amr };
  }
}
