// Passkeys (W3C WebAuthn Level 3, through @simplewebauthn/server): registration by a signed-in
// user, the user's list (rename, remove), passwordless log-in with a discoverable credential,
// and the check of an assertion for a given user that a log-in's second step uses. No HTTP, no
// SQL. Challenges are single-use and short-lived (passkey-challenges.ts); the expected origin and
// RP ID come from the server's settings, never from the request. What is refused, and how it is
// said: passkey-checks.ts.
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
import type { Passkey, Store, User } from '../store/types.ts';
import { AuthServiceError } from './errors.ts';
import { report, type SecurityEventSink } from './events.ts';
import {
  BASE64URL,
  PASSKEY_CHALLENGE_TTL,
  PasskeyChallenges,
  type TakenChallenge,
} from './passkey-challenges.ts';
import {
  CREDENTIAL_ID_MAX,
  checkPasskeyName,
  libraryReason,
  type PasskeyRefusal,
  passkeyNotFound,
  refusalOf,
  refusedPasskey,
} from './passkey-checks.ts';

export { PASSKEY_CHALLENGE_TTL } from './passkey-challenges.ts';
export { CREDENTIAL_ID_MAX, PASSKEY_NAME_MAX } from './passkey-checks.ts';

/** A user's passkeys at most: each costs a row and a line in every second-step prompt. */
export const PASSKEYS_PER_USER = 20;

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

/** What the library makes of an assertion it verified. */
type AssertionInfo = Awaited<ReturnType<typeof verifyAuthenticationResponse>>['authenticationInfo'];

/** What a verified assertion proved: whose passkey it was and how (RFC 8176 `amr`). */
export interface PasskeyProof {
  user: User;
  passkey: Passkey;
  amr: string[];
}

export class Passkeys {
  readonly #o: PasskeysOptions;
  readonly #challenges: PasskeyChallenges;

  constructor(options: PasskeysOptions) {
    this.#o = options;
    this.#challenges = new PasskeyChallenges(options.store, options.now);
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
      challenge: await this.#challenges.create('register', user.id),
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
    const label = checkPasskeyName(name ?? 'Passkey');
    const taken: TakenChallenge = { userId: undefined };
    let info: Awaited<ReturnType<typeof verifyRegistrationResponse>>['registrationInfo'];
    try {
      const verified = await verifyRegistrationResponse({
        response: response as RegistrationResponseJSON,
        expectedChallenge: this.#challenges.taker('register', taken),
        expectedOrigin: [...this.#o.rpOrigins],
        expectedRPID: this.#o.rpId,
        requireUserVerification: false,
      });
      info = verified.verified ? verified.registrationInfo : undefined;
    } catch (error) {
      throw refusedPasskey(`the passkey was not registered: ${libraryReason(error)}`);
    }
    // A challenge made for another account (or none) registers nothing.
    if (!info || taken.userId !== user.id) {
      throw refusedPasskey(
        'the passkey was not registered: the challenge is unknown, used or expired',
      );
    }
    const credential = info.credential;
    if (credential.id.length > CREDENTIAL_ID_MAX) {
      throw refusedPasskey('the passkey was not registered: its credential id is too long');
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
    const label = checkPasskeyName(name);
    if (!(await this.#o.store.renamePasskey(userId, id, label, this.#o.now())))
      throw passkeyNotFound();
  }

  async remove(userId: string, id: string): Promise<void> {
    if (!(await this.#o.store.deletePasskey(userId, id))) throw passkeyNotFound();
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
    return refusedPasskey(message);
  }

  /**
   * Options for `navigator.credentials.get()` without a user (WebAuthn §5.5): no
   * allowCredentials, so the browser offers the discoverable credentials it holds for the RP ID.
   */
  async loginOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return generateAuthenticationOptions({
      rpID: this.#o.rpId,
      challenge: await this.#challenges.create('login', null),
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
    if (passkeys.length === 0) throw refusedPasskey('this account has no passkey');
    return generateAuthenticationOptions({
      rpID: this.#o.rpId,
      allowCredentials: passkeys.map((p) => ({ id: p.id, transports: [...p.transports] })),
      challenge: await this.#challenges.create('login', user.id),
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
      await this.#challenges.spend(body);
      throw refusedPasskey('this passkey is not registered here (it may have been removed)');
    }
    const info = await this.#checkedAssertion(body, passkey, forUser);
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
      throw refusedPasskey(
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
      throw refusedPasskey(
        'the passkey was not accepted: it was used by another log-in at the same time',
      );
    }
    const user = forUser ?? (await store.findUserById(passkey.userId));
    if (!user) {
      throw refusedPasskey('this passkey is not registered here (it may have been removed)');
    }
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

  /**
   * The library's checks of an assertion of `passkey` (origin, RP ID, flags, signature) and ours
   * around them: the challenge made for this ceremony, the user handle naming the owner. Every
   * refusal is reported (`passkey_refused`). The counter is the caller's to check.
   */
  async #checkedAssertion(
    body: AuthenticationResponseJSON | null,
    passkey: Passkey,
    forUser: User | null,
  ): Promise<AssertionInfo> {
    const taken: TakenChallenge = { userId: undefined };
    let challengeOk: boolean | undefined;
    const take = this.#challenges.taker('login', taken);
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
        // Counter 0 here: the check of WebAuthn §7.2 step 22 is ours (#verify), so that a clone is
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
        `the passkey was not accepted: ${libraryReason(error)}`,
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
    return result.authenticationInfo;
  }
}
