// Passkeys (WebAuthn credentials) and the challenges of WebAuthn ceremonies: the records and the
// part of the `Store` contract that keeps them.

/**
 * A WebAuthn credential (a passkey) registered by a user (W3C WebAuthn Level 3 §6.4 "credential
 * record"). Nothing in it is secret: the private key never leaves the authenticator.
 */
export interface Passkey {
  /** The credential id (base64url): the primary key, unique across every user. */
  readonly id: string;
  readonly userId: string;
  /** The credential public key: COSE_Key bytes (RFC 9053), base64url. */
  readonly publicKey: string;
  /**
   * The last signature counter seen (WebAuthn §6.1.1); 0 for authenticators that keep none.
   * A counter that does not grow past it means a cloned authenticator (§7.2 step 22).
   */
  readonly signCount: number;
  /** AuthenticatorTransport hints ('internal', 'hybrid', 'usb'…), given back to browsers. */
  readonly transports: readonly string[];
  /** The user's label for it ("Laptop", "Phone"). */
  readonly name: string;
  /** Backup eligible (BE flag, WebAuthn §6.1): a synced passkey rather than one bound to a device. */
  readonly backupEligible: boolean;
  /** Backed up (BS flag) when it was last used. */
  readonly backedUp: boolean;
  readonly createdAt: number;
  /** The last log-in with it, or null. */
  readonly lastUsedAt: number | null;
}

export type NewPasskey = Omit<Passkey, 'lastUsedAt'>;

/** What a WebAuthn challenge was made for; one of one ceremony is never accepted for another. */
export const WEBAUTHN_CEREMONIES = ['register', 'login'] as const;
export type WebAuthnCeremony = (typeof WEBAUTHN_CEREMONIES)[number];

/**
 * A challenge handed to a browser for one WebAuthn ceremony (WebAuthn §13.4.3: made and kept by
 * the server, used once). Only its SHA-256 is stored, like a one-time token.
 */
export interface WebAuthnChallenge {
  /** base64url SHA-256 of the challenge: the primary key. */
  readonly challengeHash: string;
  readonly ceremony: WebAuthnCeremony;
  /** The user it was made for (registration, a second factor); null for a passwordless log-in. */
  readonly userId: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** Passkeys and WebAuthn challenges. Deleting a user deletes their passkeys and challenges. */
export interface PasskeyStore {
  /**
   * Stores a passkey. False (and nothing stored) when a credential with this id is registered
   * already, to this user or another: the primary key decides, so of two racers registering one
   * credential exactly one gets true.
   */
  createPasskey(passkey: NewPasskey): Promise<boolean>;
  /** A passkey by its credential id; null when unknown. */
  findPasskey(id: string): Promise<Passkey | null>;
  /** The user's passkeys, oldest first (then by id). */
  listPasskeys(userId: string): Promise<Passkey[]>;
  /** Renames the user's passkey `id`; false for an unknown id or another user's passkey. */
  renamePasskey(userId: string, id: string, name: string, now: number): Promise<boolean>;
  /** Deletes the user's passkey `id`; false for an unknown id or another user's passkey. */
  deletePasskey(userId: string, id: string): Promise<boolean>;
  /**
   * Records a log-in with the passkey: its counter goes from `from` to `to` and `lastUsedAt` and
   * `backedUp` are set, only while the counter is still `from`, atomically: of two log-ins that
   * read the same counter exactly one moves it. False when it was not (gone, or moved meanwhile).
   */
  usePasskey(
    id: string,
    counter: { from: number; to: number },
    backedUp: boolean,
    now: number,
  ): Promise<boolean>;
  /**
   * Stores a WebAuthn challenge; challenges past their expiry are deleted in the same step, so
   * the table holds only live ones.
   */
  createWebAuthnChallenge(challenge: WebAuthnChallenge): Promise<void>;
  /**
   * Takes a live challenge of `ceremony` (deleting it): of any number of concurrent callers with
   * one challenge, exactly one gets it; the others, and a challenge unknown, expired or of the
   * other ceremony, get null.
   */
  consumeWebAuthnChallenge(
    challengeHash: string,
    ceremony: WebAuthnCeremony,
    now: number,
  ): Promise<WebAuthnChallenge | null>;
}
