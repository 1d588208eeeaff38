// Passkeys (W3C WebAuthn Level 3, through @simplewebauthn/server): registration by a signed-in
// user, the user's list (rename, remove), passwordless log-in with a discoverable credential,
// and the check of an assertion for a given user that a log-in's second step uses. No HTTP, no
// SQL.
//
// Challenges are made here (32 random bytes), handed to the browser and kept in the store by
// their SHA-256 only, single-use and short-lived (WebAuthn §13.4.3): an assertion is accepted
// once, on whatever instance it reaches. The expected origin and RP ID come from the server's
// settings, never from the request.
import { randomBytes } from 'node:crypto';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { Passkey, Store, User, WebAuthnCeremony } from '../store/types.ts';
import { AuthServiceError } from './errors.ts';
import { report, type SecurityEventSink } from './events.ts';
import { sha256 } from './hash.ts';

/** Seconds a ceremony's challenge lives: long enough for a prompt, short for a replay. */
export const PASSKEY_CHALLENGE_TTL = 300;
/** A user's passkeys at most: each costs a row and a line in every second-step prompt. */
export const PASSKEYS_PER_USER = 20;
/** A passkey's name, in characters. */
export const PASSKEY_NAME_MAX = 64;
/** WebAuthn §5.4.3: a credential id is at most 1023 bytes; base64url of that is 1364. */
export const CREDENTIAL_ID_MAX = 1364;

const CHALLENGE_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * RFC 8176 §2 values a passkey log-in gets. A passkey synced between devices (backup eligible,
 * the BE flag) is a key that software copies: `swk`; one bound to its authenticator: `hwk`. The
 * authenticator verified its user (the UV flag: a PIN or biometric, WebAuthn §6.1) on top of the
 * key it holds: two factors in one gesture, so `mfa` too (NIST SP 800-63B §5.1.9, a multi-factor
 * cryptographic authenticator). Passwordless log-in requires user verification, so it always
 * says `mfa`.
 */
export function passkeyAmr(passkey: { backupEligible: boolean }, userVerified: boolean): string[] {
  return [passkey.backupEligible ? 'swk' : 'hwk', ...(userVerified ? ['mfa'] : [])];
}

/** A passkey as its owner sees it (nothing in it is secret, but the public key stays inside). */
export interface PasskeyInfo {
  id: string;
  name: string;
  transports: readonly string[];
  backed_up: boolean;
  created_at: string;
  last_used_at: string | null;
}

export function toPasskeyInfo(passkey: Passkey): PasskeyInfo {
  return {
    id: passkey.id,
    name: passkey.name,
    transports: passkey.transports,
    backed_up: passkey.backedUp,
    created_at: new Date(passkey.createdAt).toISOString(),
    last_used_at: passkey.lastUsedAt === null ? null : new Date(passkey.lastUsedAt).toISOString(),
  };
}

/** A cloned authenticator, as reported (WebAuthn §6.1.1, §7.2 step 22). */
export interface ClonedAuthenticator {
  userId: string;
  credentialId: string;
  storedCounter: number;
  receivedCounter: number;
}

export interface PasskeysOptions {
  store: Store;
  now: () => number;
  /** The RP ID passkeys are bound to (WebAuthn §5.1.3). */
  rpId: string;
  /** The origins of the pages that run the ceremonies. */
  rpOrigins: readonly string[];
  /** The name browsers show for this relying party. */
  rpName: string;
  /** Told of a counter that went backwards: the credential is refused, and this is logged. */
  onCloned?: (event: ClonedAuthenticator) => void;
  /**
   * Where passkey_added, passkey_removed, passkey_cloned and passkey_refused go (events.ts).
   * Default: dropped.
   */
  events?: SecurityEventSink | undefined;
}

/** What a verified assertion proved: whose passkey it was and how (RFC 8176 `amr`). */
export interface PasskeyProof {
  user: User;
  passkey: Passkey;
  amr: string[];
}

const refused = (why: string) => new AuthServiceError('invalid_passkey', why);

export class Passkeys {
  readonly #o: PasskeysOptions;

  constructor(options: PasskeysOptions) {
    this.#o = options;
  }

  /**
   * A fresh challenge, stored for one ceremony by the SHA-256 of its base64url form: what
   * clientDataJSON carries back (WebAuthn §5.8.1).
   */
  async #challenge(
    ceremony: WebAuthnCeremony,
    userId: string | null,
  ): Promise<Uint8Array<ArrayBuffer>> {
    const challenge = Buffer.from(randomBytes(CHALLENGE_BYTES)) as Buffer<ArrayBuffer>;
    const now = this.#o.now();
    await this.#o.store.createWebAuthnChallenge({
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
  #taker(ceremony: WebAuthnCeremony, taken: { userId: string | null | undefined }) {
    return async (challenge: string): Promise<boolean> => {
      if (challenge.length > 128 || !BASE64URL.test(challenge)) return false;
      const record = await this.#o.store.consumeWebAuthnChallenge(
        sha256(challenge),
        ceremony,
        this.#o.now(),
      );
      taken.userId = record?.userId;
      return record !== null;
    };
  }

  /** Options for `navigator.credentials.create()` (WebAuthn §5.4), for a signed-in user. */
  async registrationOptions(user: User): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.#o.store.listPasskeys(user.id);
    if (existing.length >= PASSKEYS_PER_USER) {
      throw new AuthServiceError(
        'invalid_request',
        `an account has at most ${PASSKEYS_PER_USER} passkeys: remove one first`,
      );
    }
    return generateRegistrationOptions({
      rpName: this.#o.rpName,
      rpID: this.#o.rpId,
      userName: user.username,
      userDisplayName: user.username,
      // The user handle (WebAuthn §14.6.1): the user id, which says nothing about the person.
      userID: new TextEncoder().encode(user.id),
      challenge: await this.#challenge('register', user.id),
      timeout: PASSKEY_CHALLENGE_TTL * 1000,
      attestationType: 'none',
      // The same authenticator is not registered twice for one account.
      excludeCredentials: existing.map((p) => ({ id: p.id, transports: [...p.transports] })),
      // Discoverable (a passkey): passwordless log-in finds the account from the credential.
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
  }

  /** Verifies a registration (WebAuthn §7.1) and stores the passkey under `name`. */
  async register(user: User, response: unknown, name: unknown): Promise<Passkey> {
    const label = checkName(name ?? 'Passkey');
    const taken: { userId: string | null | undefined } = { userId: undefined };
    let info: Awaited<ReturnType<typeof verifyRegistrationResponse>>['registrationInfo'];
    try {
      const verified = await verifyRegistrationResponse({
        response: response as RegistrationResponseJSON,
        expectedChallenge: this.#taker('register', taken),
        expectedOrigin: [...this.#o.rpOrigins],
        expectedRPID: this.#o.rpId,
        requireUserVerification: false,
      });
      info = verified.verified ? verified.registrationInfo : undefined;
    } catch (error) {
      throw refused(`the passkey was not registered: ${reason(error)}`);
    }
    // A challenge made for another account (or none) registers nothing.
    if (!info || taken.userId !== user.id) {
      throw refused('the passkey was not registered: the challenge is unknown, used or expired');
    }
    const credential = info.credential;
    if (credential.id.length > CREDENTIAL_ID_MAX) {
      throw refused('the passkey was not registered: its credential id is too long');
    }
    const passkey = {
      id: credential.id,
      userId: user.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      signCount: credential.counter,
      transports: (credential.transports ?? []).filter((t) => t.length <= 32).slice(0, 8),
      name: label,
      backupEligible: info.credentialDeviceType === 'multiDevice',
      backedUp: info.credentialBackedUp,
      createdAt: this.#o.now(),
    };
    if ((await this.#o.store.listPasskeys(user.id)).length >= PASSKEYS_PER_USER) {
      throw new AuthServiceError(
        'invalid_request',
        `an account has at most ${PASSKEYS_PER_USER} passkeys: remove one first`,
      );
    }
    if (!(await this.#o.store.createPasskey(passkey))) {
      throw new AuthServiceError('passkey_taken', 'this passkey is registered already');
    }
    this.#emit('passkey_added', user.id, passkey.id);
    return { ...passkey, lastUsedAt: null };
  }

  list(userId: string): Promise<Passkey[]> {
    return this.#o.store.listPasskeys(userId);
  }

  async rename(userId: string, id: string, name: unknown): Promise<void> {
    const label = checkName(name);
    if (!(await this.#o.store.renamePasskey(userId, id, label, this.#o.now()))) throw notFound();
  }

  async remove(userId: string, id: string): Promise<void> {
    if (!(await this.#o.store.deletePasskey(userId, id))) throw notFound();
    this.#emit('passkey_removed', userId, id);
  }

  #emit(
    type: 'passkey_added' | 'passkey_removed' | 'passkey_cloned',
    userId: string,
    credentialId: string,
  ): void {
    report(this.#o.events, { type, userId, credentialId }, this.#o.now());
  }

  /** The refusal of a registered passkey's assertion, reported (`passkey_refused`: why). */
  #refusedAssertion(passkey: Passkey, why: PasskeyRefusal, message: string): AuthServiceError {
    report(
      this.#o.events,
      { type: 'passkey_refused', userId: passkey.userId, credentialId: passkey.id, reason: why },
      this.#o.now(),
    );
    return refused(message);
  }

  /**
   * Options for `navigator.credentials.get()` without a user (WebAuthn §5.5): no
   * allowCredentials, so the browser offers the discoverable credentials it holds for the RP ID.
   */
  async loginOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return generateAuthenticationOptions({
      rpID: this.#o.rpId,
      challenge: await this.#challenge('login', null),
      timeout: PASSKEY_CHALLENGE_TTL * 1000,
      userVerification: 'required',
    });
  }

  /**
   * Options for the second step of a log-in: the user's own passkeys (allowCredentials), the
   * challenge bound to the user. Empty `allowCredentials` is refused: there is nothing to ask.
   */
  async secondFactorOptions(user: User): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const passkeys = await this.#o.store.listPasskeys(user.id);
    if (passkeys.length === 0) throw refused('this account has no passkey');
    return generateAuthenticationOptions({
      rpID: this.#o.rpId,
      allowCredentials: passkeys.map((p) => ({ id: p.id, transports: [...p.transports] })),
      challenge: await this.#challenge('login', user.id),
      timeout: PASSKEY_CHALLENGE_TTL * 1000,
      userVerification: 'preferred',
    });
  }

  /**
   * Verifies a passwordless log-in's assertion (WebAuthn §7.2): the discoverable credential names
   * the account. The caller starts the session with the proof's `amr`.
   */
  login(response: unknown): Promise<PasskeyProof> {
    return this.#verify(response, null);
  }

  /**
   * Verifies an assertion made with one of `user`'s passkeys against a challenge of
   * `secondFactorOptions(user)`: a log-in's second step after the password (the caller adds
   * `pwd` to the proof's `amr`).
   */
  verifyForUser(user: User, response: unknown): Promise<PasskeyProof> {
    return this.#verify(response, user);
  }

  async #verify(response: unknown, forUser: User | null): Promise<PasskeyProof> {
    const body = response as AuthenticationResponseJSON | null;
    const id = typeof body === 'object' && body !== null ? body.id : undefined;
    if (typeof id !== 'string' || id.length > CREDENTIAL_ID_MAX || !BASE64URL.test(id)) {
      throw new AuthServiceError('invalid_request', 'the assertion has no valid credential id', {
        field: 'id',
      });
    }
    const { store } = this.#o;
    const passkey = await store.findPasskey(id);
    // Unknown, or another account's in a second step: one answer, telling nothing more.
    if (!passkey || (forUser !== null && passkey.userId !== forUser.id)) {
      // The challenge is still spent when it is the browser's (single-use whatever happens).
      await this.#spend(body);
      throw refused('this passkey is not registered here (it may have been removed)');
    }
    const taken: { userId: string | null | undefined } = { userId: undefined };
    let challengeOk: boolean | undefined;
    const take = this.#taker('login', taken);
    let result: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      result = await verifyAuthenticationResponse({
        response: body as AuthenticationResponseJSON,
        expectedChallenge: async (challenge: string) => {
          challengeOk = await take(challenge);
          return challengeOk;
        },
        expectedOrigin: [...this.#o.rpOrigins],
        expectedRPID: this.#o.rpId,
        // Counter 0 here: the check of WebAuthn §7.2 step 22 is ours, below, so that a clone is
        // told apart from a bad signature, refused and reported.
        credential: {
          id: passkey.id,
          publicKey: Buffer.from(passkey.publicKey, 'base64url'),
          counter: 0,
          transports: [...passkey.transports],
        },
        requireUserVerification: forUser === null,
      });
    } catch (error) {
      throw this.#refusedAssertion(
        passkey,
        challengeOk === false ? 'challenge' : refusalOf(error),
        `the passkey was not accepted: ${reason(error)}`,
      );
    }
    // The challenge must be one made for this ceremony: no user (passwordless), or this user.
    const expectedUser = forUser?.id ?? null;
    if (taken.userId !== expectedUser) {
      throw this.#refusedAssertion(
        passkey,
        'challenge',
        'the passkey was not accepted: the challenge is unknown, used or expired',
      );
    }
    // WebAuthn §7.2 step 21: the signature over authenticatorData and the client data's hash.
    if (!result.verified) {
      throw this.#refusedAssertion(
        passkey,
        'signature',
        'the passkey was not accepted: its signature does not verify',
      );
    }
    const info = result.authenticationInfo;
    // WebAuthn §7.2 step 6: the user handle, when given, names the credential's owner.
    const handle = body?.response?.userHandle;
    if (
      handle !== undefined &&
      handle !== null &&
      Buffer.from(handle, 'base64url').toString('utf8') !== passkey.userId
    ) {
      throw this.#refusedAssertion(
        passkey,
        'user_handle',
        'the passkey was not accepted: its user handle names another account',
      );
    }
    const stored = passkey.signCount;
    const received = info.newCounter;
    // WebAuthn §6.1.1 and §7.2 step 22: once either counter is nonzero it must grow. A counter
    // that does not means two authenticators hold one private key: a clone.
    if ((stored !== 0 || received !== 0) && received <= stored) {
      this.#o.onCloned?.({
        userId: passkey.userId,
        credentialId: passkey.id,
        storedCounter: stored,
        receivedCounter: received,
      });
      this.#emit('passkey_cloned', passkey.userId, passkey.id);
      throw refused(
        'the passkey was refused: its signature counter went backwards, so the authenticator may have been cloned; sign in another way and remove this passkey',
      );
    }
    // Compare-and-set: of two log-ins that read one counter, one moves it; the other is refused.
    const now = this.#o.now();
    if (
      !(await store.usePasskey(
        passkey.id,
        { from: stored, to: received },
        info.credentialBackedUp,
        now,
      ))
    ) {
      throw refused('the passkey was not accepted: it was used by another log-in at the same time');
    }
    const user = forUser ?? (await store.findUserById(passkey.userId));
    if (!user) throw refused('this passkey is not registered here (it may have been removed)');
    if (user.disabled) throw new AuthServiceError('account_disabled', 'this account is disabled');
    return {
      user,
      passkey: {
        ...passkey,
        signCount: received,
        backedUp: info.credentialBackedUp,
        lastUsedAt: now,
      },
      amr: passkeyAmr(passkey, info.userVerified),
    };
  }

  /** Spends the challenge an assertion carries, whatever becomes of the assertion. */
  async #spend(body: AuthenticationResponseJSON | null): Promise<void> {
    try {
      const text = Buffer.from(body?.response?.clientDataJSON ?? '', 'base64url').toString('utf8');
      const challenge = (JSON.parse(text) as { challenge?: unknown }).challenge;
      if (typeof challenge === 'string')
        await this.#taker('login', { userId: undefined })(challenge);
    } catch {
      // Not JSON, or no challenge: nothing to spend.
    }
  }
}

function checkName(name: unknown): string {
  if (typeof name !== 'string') {
    throw new AuthServiceError('invalid_request', 'name must be a string', { field: 'name' });
  }
  const text = name.normalize('NFC').trim();
  // Control characters would reach pages and logs as they are.
  if (text.length === 0 || [...text].length > PASSKEY_NAME_MAX || /\p{Cc}/u.test(text)) {
    throw new AuthServiceError(
      'invalid_request',
      `name must be 1 to ${PASSKEY_NAME_MAX} characters, without control characters`,
      { field: 'name' },
    );
  }
  return text;
}

const notFound = () =>
  new AuthServiceError('passkey_not_found', 'you have no passkey with this id');

/**
 * Why the library refused, in a few words: its messages name the check (origin, RP ID, type,
 * signature…) and carry values the client sent itself, never a secret; cut to stay short.
 */
function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : 'malformed';
  return message.replace(/[\p{Cc}]/gu, ' ').slice(0, 200);
}

/** Why an assertion of a registered passkey was refused, as `passkey_refused` says it. */
type PasskeyRefusal =
  | 'origin'
  | 'rp_id'
  | 'challenge'
  | 'signature'
  | 'user_handle'
  | 'user_verification'
  | 'malformed';

/**
 * The check the library's error names (WebAuthn §7.2 steps 13, 15, 16/17): by its error code
 * for the origin and the RP ID hash; the flags by their message; the rest is a malformed
 * assertion (a signature that cannot even be parsed included).
 */
function refusalOf(error: unknown): PasskeyRefusal {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'UNEXPECTED_ORIGIN') return 'origin';
  if (code === 'UNEXPECTED_RP_ID') return 'rp_id';
  const message = error instanceof Error ? error.message : '';
  // A cross-origin response (an iframe's top origin, WebAuthn §5.8.1): an origin refused too.
  if (/\btop origin\b/.test(message)) return 'origin';
  if (/^User (not present|verification required)/.test(message)) return 'user_verification';
  return 'malformed';
}
