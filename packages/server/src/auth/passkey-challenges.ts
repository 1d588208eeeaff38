// The challenges of the passkey ceremonies (WebAuthn §13.4.3): made here (32 random bytes), handed
// to the browser and kept in the store by their SHA-256 only, single-use and short-lived, so that
// an assertion is accepted once, on whatever instance it reaches.
import { randomBytes } from 'node:crypto';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { Store, WebAuthnCeremony } from '../store/types.ts';
import { sha256 } from './hash.ts';

/** Seconds a ceremony's challenge lives: long enough for a prompt, short for a replay. */
export const PASSKEY_CHALLENGE_TTL = 300;

const CHALLENGE_BYTES = 32;
/** The alphabet of a challenge and of a credential id as the browser sends them. */
export const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Who a taken challenge was made for: `undefined` until one is taken, null for no user. */
export interface TakenChallenge {
  userId: string | null | undefined;
}

export class PasskeyChallenges {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(store: Store, now: () => number) {
    this.#store = store;
    this.#now = now;
  }

  /**
   * A fresh challenge, stored for one ceremony by the SHA-256 of its base64url form: what
   * clientDataJSON carries back (WebAuthn §5.8.1).
   */
  async create(
    ceremony: WebAuthnCeremony,
    userId: string | null,
  ): Promise<Uint8Array<ArrayBuffer>> {
    const challenge = Buffer.from(randomBytes(CHALLENGE_BYTES)) as Buffer<ArrayBuffer>;
    const now = this.#now();
    await this.#store.createWebAuthnChallenge({
      challengeHash: sha256(challenge.toString('base64url')),
      ceremony,
      userId,
      createdAt: now,
      expiresAt: now + PASSKEY_CHALLENGE_TTL * 1000,
    });
    return challenge;
  }

  /**
   * Takes the challenge the browser signed, once: the library calls this with the challenge from
   * clientDataJSON; `taken` receives the stored record (its user).
   */
  taker(ceremony: WebAuthnCeremony, taken: TakenChallenge) {
    return async (challenge: string): Promise<boolean> => {
      if (challenge.length > 128 || !BASE64URL.test(challenge)) return false;
      const record = await this.#store.consumeWebAuthnChallenge(
        sha256(challenge),
        ceremony,
        this.#now(),
      );
      taken.userId = record?.userId;
      return record !== null;
    };
  }

  /** Spends the challenge an assertion carries, whatever becomes of the assertion. */
  async spend(body: AuthenticationResponseJSON | null): Promise<void> {
    try {
      const text = Buffer.from(body?.response?.clientDataJSON ?? '', 'base64url').toString('utf8');
      const challenge = (JSON.parse(text) as { challenge?: unknown }).challenge;
      if (typeof challenge === 'string')
        await this.taker('login', { userId: undefined })(challenge);
    } catch {
      // Not JSON, or no challenge: nothing to spend.
    }
  }
}
