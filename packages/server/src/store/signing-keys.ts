// The signing keys of the auth server: the record and the part of the `Store` contract that
// adds, retires and deletes them.

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  /**
   * The private (or secret) JWK, encrypted: an envelope `enc:v1:…` written by the key ring
   * (src/auth/kek.ts) under a key-encryption key the store never sees. Opaque text to the store.
   * (Plain JSON in databases written before keys were encrypted, until the ring re-encrypts it.)
   */
  readonly privateJwk: string;
  /** The public JWK as JSON text; null for HMAC secrets. */
  readonly publicJwk: string | null;
  readonly createdAt: number;
  /**
   * When the key starts signing. Until then it is only published (in the JWKS), so that every
   * verifier can know it before the first token it signs. The key with the latest activatesAt
   * not in the future signs.
   */
  readonly activatesAt: number;
  /** Set when a newer key took over signing: the key keeps verifying until this time, then goes. */
  readonly retiresAt: number | null;
}

/** The signing keys, with their activation and retirement times. */
export interface SigningKeyStore {
  /** All signing keys, newest first. */
  listSigningKeys(): Promise<SigningKey[]>;
  addSigningKey(key: SigningKey): Promise<void>;
  /**
   * Marks as retiring at `retiresAt` every key not retiring yet that comes before `key` in the
   * signing order: an earlier `activatesAt`, or the same and a smaller `kid` (compared bytewise).
   * The last key of that order is never touched, so rotations racing each other (several
   * instances opening a new database) can never retire every key.
   */
  retireKeysBefore(key: { kid: string; activatesAt: number }, retiresAt: number): Promise<void>;
  /**
   * Like `retireKeysBefore`, but keys already retiring later than `retiresAt` are brought forward
   * to it too: after a leak every earlier key must go, whatever its tokens still need. Keys that
   * do not sign yet at `retiresAt` (`activatesAt` later: rotated in, only published) are
   * withdrawn as well, so that none of them takes over signing from `key` later.
   */
  withdrawKeysBefore(key: { kid: string; activatesAt: number }, retiresAt: number): Promise<void>;
  /**
   * Sets `privateJwk` to `to` on every listed key whose `privateJwk` is still `from`, in one
   * transaction: all the changes are written, or (on an error) none. Keys whose text changed
   * meanwhile, or that are gone, are skipped. Returns how many keys changed. Used to encrypt
   * keys stored in plain text and to re-encrypt every key under a new key-encryption key.
   */
  replaceSigningKeyMaterial(
    changes: readonly { kid: string; from: string; to: string }[],
  ): Promise<number>;
  /** Deletes keys whose retiresAt has passed. Returns how many. */
  deleteRetiredKeys(now: number): Promise<number>;
}
