// The single-use links of the account mail (account-mail.ts): a token made for a user and a
// purpose, stored hashed (SHA-256, as refresh tokens are) with its expiry, put in a link and a
// mail; and its consumption, exactly once, or precisely why not. Also the sending of one mail
// now, for the flows whose caller must learn that delivery failed.

import { randomBytes } from 'node:crypto';
import type { OneTimePurpose, Store, User } from '../store/types.ts';
import { AuthServiceError } from './errors.ts';
import { sha256 } from './hash.ts';
import type { Limit } from './limits.ts';
import {
  MailDeliveryError,
  type Mailer,
  type MailKind,
  type MailMessage,
  renderMail,
} from './mail.ts';

/** How long each kind of link works, seconds. */
export const LINK_TTL: Readonly<Record<OneTimePurpose, number>> = Object.freeze({
  verify_email: 24 * 3600,
  reset_password: 30 * 60,
  sign_in: 15 * 60,
  change_email: 24 * 3600,
});

/** What a link's token looks like: `lz1_` and 32 random bytes, base64url. */
const LINK_TOKEN = /^lz1_[A-Za-z0-9_-]{43}$/;

const words = (seconds: number) =>
  seconds >= 3600 ? `${seconds / 3600} hours` : `${seconds / 60} minutes`;

export const linkError = (description: string) => new AuthServiceError('invalid_link', description);

export interface AccountLinksOptions {
  store: Store;
  mailer: Mailer;
  now: () => number;
  /** Where links point: the server's public URL (no trailing slash needed). */
  publicUrl: string;
  product: string;
  /** Counts one request under `key` (429 once `limit` is spent): the log-in guard's counter. */
  count(key: string, limit: Limit): Promise<void>;
  /** The budget of link confirmations per client address. */
  confirmPerIp: Limit;
}

export class AccountLinks {
  readonly #o: AccountLinksOptions;
  readonly #base: string;

  constructor(options: AccountLinksOptions) {
    this.#o = options;
    this.#base = options.publicUrl.replace(/\/+$/, '');
  }

  /** Where each link lands (docs/accounts.md, "Mail"). */
  #link(purpose: OneTimePurpose, token: string): string {
    switch (purpose) {
      case 'verify_email':
        return `${this.#base}/auth/verify-email?token=${token}`;
      case 'change_email':
        return `${this.#base}/auth/email/confirm?token=${token}`;
      // Reset and sign-in links carry the token in the fragment, which browsers never send: a
      // page reads it and posts it, so neither a log nor a link-scanning proxy can spend it.
      case 'reset_password':
        return `${this.#base}/reset-password#token=${token}`;
      case 'sign_in':
        return `${this.#base}/sign-in#token=${token}`;
    }
  }

  /** Makes a token of `purpose` for `user` (replacing their older unused ones) and its mail. */
  async issue(user: User, purpose: OneTimePurpose, payload: string | null, to: string) {
    const token = `lz1_${randomBytes(32).toString('base64url')}`;
    const now = this.#o.now();
    await this.#o.store.createOneTimeToken(
      {
        tokenHash: sha256(token),
        purpose,
        userId: user.id,
        payload,
        createdAt: now,
        expiresAt: now + LINK_TTL[purpose] * 1000,
      },
      { replace: true },
    );
    const link = this.#link(purpose, token);
    return this.mail(purpose, to, { link, validFor: words(LINK_TTL[purpose]) });
  }

  /** A mail of `kind` to `to`, rendered (mail.ts). */
  mail(
    kind: MailKind,
    to: string,
    context: { link?: string; validFor?: string; address?: string; notice?: string },
  ) {
    return {
      from: this.#o.mailer.from,
      to,
      kind,
      ...renderMail(kind, { product: this.#o.product, ...context }),
      ...(context.link ? { link: context.link } : {}),
    };
  }

  /** Sends one mail now; a delivery that failed every retry is `temporarily_unavailable`. */
  async deliver(message: MailMessage, what = 'the mail'): Promise<void> {
    try {
      await this.#o.mailer.deliver(message);
    } catch (error) {
      if (error instanceof MailDeliveryError) {
        throw new AuthServiceError(
          'temporarily_unavailable',
          `${what} could not be sent; try again later`,
          { retryAfter: 60 },
        );
      }
      throw error;
    }
  }

  /** The token of a link as sent, or `invalid_link`. */
  tokenOf(value: unknown): string {
    if (typeof value !== 'string' || !LINK_TOKEN.test(value))
      throw linkError('this link is not valid (copy the whole link)');
    return value;
  }

  /**
   * Consumes a link of `purpose`, or says precisely why not; the owner must be active. `counted`:
   * the caller has counted this confirmation against the client's budget already.
   */
  async consume(
    input: { token: unknown; ip?: string },
    purpose: OneTimePurpose,
    counted = false,
  ): Promise<{ user: User; payload: string | null }> {
    const token = this.tokenOf(input.token);
    if (!counted && input.ip !== undefined)
      await this.#o.count(`link:ip:${input.ip}`, this.#o.confirmPerIp);
    const result = await this.#o.store.consumeOneTimeToken(sha256(token), purpose, this.#o.now());
    switch (result.status) {
      case 'missing':
        throw linkError(
          'this link is not valid: unknown, replaced by a newer one, or meant for something else',
        );
      case 'used':
        throw linkError('this link was already used; ask for a new one');
      case 'expired':
        throw linkError('this link has expired; ask for a new one');
    }
    const user = await this.#o.store.findUserById(result.token.userId);
    if (!user) throw linkError('this link is not valid');
    if (user.disabled) throw new AuthServiceError('account_disabled', 'this account is disabled');
    return { user, payload: result.token.payload };
  }
}
