// The key ring: signing keys live in the store so they survive restarts and are shared by every
// auth server on the same database. One key signs; older keys keep verifying until every token
// they signed has expired (retiresAt), then they are deleted.
import { randomBytes } from 'node:crypto';
import {
  type Algorithm,
  createJwks,
  createSigner,
  createVerifier,
  generateKey,
  type Jwk,
  type Jwks,
  type Signer,
  type SyncVerifier,
} from '../jwt/index.ts';
import type { SigningKey, Store } from '../store/types.ts';

/** The algorithms the auth server can sign access tokens with. */
export const SIGNING_ALGORITHMS = [
  'HS256',
  'EdDSA',
  'ES256',
  'RS256',
] as const satisfies readonly Algorithm[];
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export interface KeyRingOptions {
  alg: SigningAlgorithm;
  issuer: string;
  audience: string;
  /** Access-token lifetime in seconds: a retired key keeps verifying this long (plus leeway). */
  accessTtl: number;
  now: () => number;
}

export class KeyRing {
  readonly #store: Store;
  readonly #options: KeyRingOptions;
  #keys: SigningKey[] = [];
  #signer: Signer | undefined;
  #verifier: SyncVerifier | undefined;
  #jwks: Jwks = { keys: [] };
  #loadedAt = 0;

  private constructor(store: Store, options: KeyRingOptions) {
    this.#store = store;
    this.#options = options;
  }

  /** Loads the ring, making a first key (or a key of a newly configured algorithm). */
  static async open(store: Store, options: KeyRingOptions): Promise<KeyRing> {
    const ring = new KeyRing(store, options);
    await ring.reload();
    const active = ring.#keys.find((k) => k.retiresAt === null);
    if (!active || active.alg !== options.alg) await ring.rotate();
    return ring;
  }

  /** The key that signs now. */
  get current(): SigningKey {
    const key = this.#keys.find((k) => k.retiresAt === null) ?? this.#keys[0];
    if (!key) throw new Error('the key ring is empty');
    return key;
  }

  get keys(): readonly SigningKey[] {
    return this.#keys;
  }

  /** Re-reads the keys from the store (another server may have rotated) and drops expired ones. */
  async reload(): Promise<void> {
    await this.#store.deleteRetiredKeys(this.#options.now());
    this.#keys = await this.#store.listSigningKeys();
    this.#loadedAt = Date.now();
    // An empty ring (a new database) is built by open(), which rotates in a first key.
    if (this.#keys.length > 0) this.#build();
  }

  /** Reloads unless a reload happened in the last few seconds; true when it reloaded. */
  async reloadIfStale(coolDownMs = 5000): Promise<boolean> {
    // Real time, not the injected clock: the cool-down protects the database, not token logic.
    if (Date.now() - this.#loadedAt < coolDownMs) return false;
    await this.reload();
    return true;
  }

  /** Adds a new signing key; the others retire once every token they signed has expired. */
  async rotate(): Promise<SigningKey> {
    const now = this.#options.now();
    const alg = this.#options.alg;
    // A short random kid keeps tokens small; 48 bits are plenty for a handful of live keys.
    const kid = randomBytes(6).toString('base64url');
    const { privateJwk, publicJwk } = generateKey(alg, { kid });
    const key: SigningKey = {
      kid,
      alg,
      privateJwk: JSON.stringify(privateJwk),
      publicJwk: publicJwk ? JSON.stringify(publicJwk) : null,
      createdAt: now,
      retiresAt: null,
    };
    await this.#store.addSigningKey(key);
    await this.#store.retireOtherKeys(kid, now + (this.#options.accessTtl + 60) * 1000);
    await this.reload();
    return key;
  }

  #build(): void {
    const { issuer, audience, now } = this.#options;
    const current = this.current;
    // Tokens stay small (the default one is under 300 characters). The kid is in the header only
    // for asymmetric keys, which other services pick from the JWKS; an HMAC secret never leaves
    // this server, which tries its few live secrets in turn (one, or two during a rotation).
    const symmetric = current.alg.startsWith('HS');
    this.#signer = createSigner({
      key: JSON.parse(current.privateJwk) as Jwk,
      algorithm: current.alg as Algorithm,
      ...(symmetric ? {} : { kid: current.kid }),
      typ: 'at+jwt',
      issuer,
      audience,
      expiresIn: this.#options.accessTtl,
      now,
    });
    const verifyKeys = this.#keys.map((k) => JSON.parse(k.publicJwk ?? k.privateJwk) as Jwk);
    this.#verifier = createVerifier({
      key: { keys: verifyKeys },
      algorithms: [...new Set(this.#keys.map((k) => k.alg as Algorithm))],
      issuer,
      audience,
      typ: 'at+jwt',
      requiredClaims: ['sub', 'jti'],
      now,
    });
    const published = verifyKeys.filter((jwk) => jwk.kty !== 'oct');
    this.#jwks = createJwks(published);
  }

  /** Signs an access token for these claims. */
  sign(claims: Record<string, unknown>): string {
    if (!this.#signer) throw new Error('the key ring is empty');
    // 96 random bits: unique among live tokens, and 6 characters shorter than a 128-bit id.
    return this.#signer({ ...claims, jti: randomBytes(12).toString('base64url') });
  }

  /** Verifies an access token (throws JwtError). */
  verify(token: string): ReturnType<SyncVerifier> {
    if (!this.#verifier) throw new Error('the key ring is empty');
    return this.#verifier(token);
  }

  /** The public keys (asymmetric algorithms only; never an HMAC secret). */
  get jwks(): Jwks {
    return this.#jwks;
  }
}
