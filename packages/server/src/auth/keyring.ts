// The key ring: signing keys live in the store so they survive restarts and are shared by every
// auth server on the same database. One key signs; older keys keep verifying until every token
// they signed has expired (retiresAt), then they are deleted. A rotated-in key is published first
// and signs only from its activatesAt, so that every auth server (reloading the ring) and every
// resource server (caching the JWKS) knows it before the first token it signs.
// The private halves are stored encrypted under a key-encryption key kept outside the database
// (src/auth/kek.ts); the ring holds them decrypted in memory only.
import { randomBytes } from 'node:crypto';
import {
  type Algorithm,
  createJwks,
  createSigner,
  createVerifier,
  generateKey,
  type Jwk,
  type Jwks,
  JwtError,
  type JwtPayload,
  type Signer,
  type SyncVerifier,
  type VerifiedJwt,
} from '@laissez/jwt';
import type { SigningKey, Store } from '../store/types.ts';
import { isSealed, type KeyEncryptionKey, KeyEncryptionKeyError, sealedUnder } from './kek.ts';

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
  /**
   * Seconds between a rotation and the new key's first signature; meanwhile it is only published.
   * Longer than the ring reload interval and the JWKS max-age. Default 300.
   */
  publishDelay?: number;
  now: () => number;
  /** Encrypts the private keys in the store; never stored there itself. */
  kek: KeyEncryptionKey;
}

/**
 * Leeway, in ms, added to a retired key's life beyond the last token it may have signed. An
 * instance that has not reloaded its ring may sign with a rotated-out key until it does, so the
 * reload interval may not be longer than this.
 */
export const RETIRE_LEEWAY = 60_000;

/**
 * The order every instance agrees on: a key that activates later comes after, and of two that
 * activate at once (two instances rotating at the same moment) the greater kid. The last key of
 * this order that has activated signs.
 */
function after(a: SigningKey, b: SigningKey): boolean {
  return a.activatesAt !== b.activatesAt ? a.activatesAt > b.activatesAt : a.kid > b.kid;
}

/** The key that signs now or will sign next: the last of the order. */
export function latestKey(keys: readonly SigningKey[]): SigningKey | undefined {
  let latest: SigningKey | undefined;
  for (const key of keys) if (!latest || after(key, latest)) latest = key;
  return latest;
}

/** The key that signs at `now`: the last of the order among those activated. */
export function signingKeyAt(keys: readonly SigningKey[], now: number): SigningKey | undefined {
  return latestKey(keys.filter((key) => key.activatesAt <= now));
}

export class KeyRing {
  readonly #store: Store;
  readonly #options: KeyRingOptions;
  #keys: SigningKey[] = [];
  /** The decrypted private JWKs by kid, with the stored text they came from. */
  #secrets = new Map<string, { stored: string; jwk: Jwk }>();
  #signer: Signer | undefined;
  #verifier: SyncVerifier | undefined;
  #jwks: Jwks = { keys: [] };
  #loadedAt = 0;
  #current: SigningKey | undefined;
  /** When a published key starts signing: the ring is rebuilt then. */
  #switchAt = Number.POSITIVE_INFINITY;

  private constructor(store: Store, options: KeyRingOptions) {
    this.#store = store;
    this.#options = options;
  }

  /**
   * Loads the ring. A new database gets a first key, and a newly configured algorithm a key of
   * its own; both sign at once (there is no earlier token a verifier could be missing it for).
   */
  static async open(store: Store, options: KeyRingOptions): Promise<KeyRing> {
    const ring = new KeyRing(store, options);
    await ring.reload();
    const latest = latestKey(ring.#keys);
    if (!latest || latest.alg !== options.alg) await ring.rotate({ immediate: true });
    return ring;
  }

  /** The key that signs now. */
  get current(): SigningKey {
    if (this.#options.now() >= this.#switchAt) this.#build();
    if (!this.#current) throw new Error('the key ring is empty');
    return this.#current;
  }

  /** `iss` of the tokens it signs. */
  get issuer(): string {
    return this.#options.issuer;
  }

  /** Seconds a rotated-in key is published before it signs. */
  get publishDelay(): number {
    return this.#options.publishDelay ?? 300;
  }

  /**
   * A secret of this server for `purpose`, derived from the key-encryption key (never stored, the
   * same on every instance sharing the KEK): what derives refresh-token successors.
   */
  deriveSecret(purpose: string): Buffer {
    return this.#options.kek.deriveKey(purpose);
  }

  get keys(): readonly SigningKey[] {
    return this.#keys;
  }

  /**
   * Re-reads the keys from the store (another server may have rotated) and drops expired ones.
   * Keys stored in plain text (by a laissez from before keys were encrypted) are encrypted in
   * place. A key that does not decrypt under the KEK fails the reload and the ring stays as it
   * was: a KeyEncryptionKeyError that names the setting.
   */
  async reload(): Promise<void> {
    await this.#store.deleteRetiredKeys(this.#options.now());
    const keys = await this.#store.listSigningKeys();
    const secrets = new Map<string, { stored: string; jwk: Jwk }>();
    const plaintext: { kid: string; from: string; to: string }[] = [];
    for (const key of keys) {
      const known = this.#secrets.get(key.kid);
      if (known?.stored === key.privateJwk) {
        secrets.set(key.kid, known);
        continue;
      }
      const text = isSealed(key.privateJwk) ? this.#options.kek.open(key) : key.privateJwk;
      let jwk: Jwk;
      try {
        jwk = JSON.parse(text) as Jwk;
      } catch {
        throw new KeyEncryptionKeyError(
          `signing key ${key.kid}: the stored private key is not a JWK`,
        );
      }
      secrets.set(key.kid, { stored: key.privateJwk, jwk });
      if (!isSealed(key.privateJwk)) {
        plaintext.push({
          kid: key.kid,
          from: key.privateJwk,
          to: this.#options.kek.seal(key, text),
        });
      }
    }
    if (plaintext.length > 0) {
      // Only rows still holding that plain text change: another instance migrating at the same
      // moment leaves one envelope per key, and both decrypt under the one KEK.
      await this.#store.replaceSigningKeyMaterial(plaintext);
      return this.reload();
    }
    this.#keys = keys;
    this.#secrets = secrets;
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

  /**
   * Adds a new signing key, published now and signing after `publishDelay` (at once with
   * `immediate`); the others retire once every token they may sign until then has expired.
   * After a leak, rotate with `immediate` and then `withdrawBefore` the new key.
   */
  async rotate(options: { immediate?: boolean } = {}): Promise<SigningKey> {
    const now = this.#options.now();
    const alg = this.#options.alg;
    const activatesAt = options.immediate ? now : now + this.publishDelay * 1000;
    // A short random kid keeps tokens small; 48 bits are plenty for a handful of live keys.
    const kid = randomBytes(6).toString('base64url');
    const { privateJwk, publicJwk } = generateKey(alg, { kid });
    const key: SigningKey = {
      kid,
      alg,
      privateJwk: this.#options.kek.seal({ kid, alg }, JSON.stringify(privateJwk)),
      publicJwk: publicJwk ? JSON.stringify(publicJwk) : null,
      createdAt: now,
      activatesAt,
      retiresAt: null,
    };
    await this.#store.addSigningKey(key);
    // Another instance may be rotating at this very moment (a new database opened by several
    // instances at once): every instance retires the others relative to the same winner, the last
    // live key in the shared order, so two new keys never retire each other.
    let winner = key;
    for (const other of await this.#store.listSigningKeys()) {
      if (other.retiresAt === null && after(other, winner)) winner = other;
    }
    await this.#store.retireKeysBefore(
      winner,
      winner.activatesAt + this.#options.accessTtl * 1000 + RETIRE_LEEWAY,
    );
    await this.reload();
    return key;
  }

  /**
   * Removes every key that comes before `key` in the signing order now, those already retiring
   * included (after a leak): their tokens, and any a thief signs with them, are refused from the
   * next reload on. Keys rotated in but not signing yet go too: they would otherwise take over
   * signing from `key` later. `key` must sign already: it is the one left.
   */
  async withdrawBefore(key: SigningKey): Promise<void> {
    const now = this.#options.now();
    if (key.activatesAt > now) throw new Error('withdrawBefore: the key does not sign yet');
    await this.#store.withdrawKeysBefore(key, now);
    await this.reload();
  }

  #build(): void {
    const { issuer, audience, now } = this.#options;
    const at = now();
    // The signing key: the latest activated one (a key of the ring is never in the future alone:
    // open() makes an immediate one, so the fallback is only for clocks set back).
    const current = signingKeyAt(this.#keys, at) ?? this.#keys[0]!;
    let switchAt = Number.POSITIVE_INFINITY;
    for (const key of this.#keys) {
      if (key.activatesAt > at && key.activatesAt < switchAt) switchAt = key.activatesAt;
    }
    this.#current = current;
    this.#switchAt = switchAt;
    // Tokens stay small (the default one is under 300 characters). The kid is in the header only
    // for asymmetric keys, which other services pick from the JWKS; an HMAC secret never leaves
    // this server, which tries its few live secrets in turn (one, or two during a rotation).
    const symmetric = current.alg.startsWith('HS');
    const secret = (key: SigningKey): Jwk => this.#secrets.get(key.kid)!.jwk;
    this.#signer = createSigner({
      key: secret(current),
      algorithm: current.alg as Algorithm,
      ...(symmetric ? {} : { kid: current.kid }),
      typ: 'at+jwt',
      issuer,
      audience,
      expiresIn: this.#options.accessTtl,
      now,
    });
    const verifyKeys = this.#keys.map((k) =>
      k.publicJwk === null ? secret(k) : (JSON.parse(k.publicJwk) as Jwk),
    );
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
    if (this.#options.now() >= this.#switchAt) this.#build();
    if (!this.#signer) throw new Error('the key ring is empty');
    // 96 random bits: unique among live tokens, and 6 characters shorter than a 128-bit id.
    return this.#signer({ ...claims, jti: randomBytes(12).toString('base64url') });
  }

  /** Verifies an access token (throws JwtError). */
  verify(token: string): ReturnType<SyncVerifier> {
    if (!this.#verifier) throw new Error('the key ring is empty');
    return this.#verifier(token);
  }

  /**
   * Verifies an access token like `verify`, except that a token signed by a key this instance has
   * not loaded yet (another instance rotated) triggers one reload of the ring, at most every few
   * seconds, and one more try. Synchronous for every other token, good or bad.
   */
  verifyReloading<P = JwtPayload>(token: string): VerifiedJwt<P> | Promise<VerifiedJwt<P>> {
    try {
      return this.verify(token) as VerifiedJwt<P>;
    } catch (error) {
      // A key not loaded yet: named by kid (ERR_KEY_NOT_FOUND), or an HMAC secret, never named,
      // made by another instance (the signature fits none of ours).
      if (
        !(error instanceof JwtError) ||
        !(
          error.code === 'ERR_KEY_NOT_FOUND' ||
          (error.code === 'ERR_JWS_SIGNATURE_INVALID' && this.current.alg.startsWith('HS'))
        )
      ) {
        throw error;
      }
      return this.reloadIfStale().then((reloaded) => {
        if (!reloaded) throw error;
        return this.verify(token) as VerifiedJwt<P>;
      });
    }
  }

  /** The public keys (asymmetric algorithms only; never an HMAC secret). */
  get jwks(): Jwks {
    return this.#jwks;
  }
}

/**
 * Re-encrypts every signing key from the KEK `from` to the KEK `to` (`laissez keys rewrap`). The
 * rows change in one transaction, each only if it still holds what was read; a key added
 * meanwhile (a rotation under way) is picked up by another round. Keys already under `to` are
 * left as they are, so a rewrap interrupted and run again finishes the job.
 */
export async function rewrapSigningKeys(
  store: Store,
  from: KeyEncryptionKey,
  to: KeyEncryptionKey,
): Promise<{ rewrapped: string[]; total: number }> {
  const rewrapped = new Set<string>();
  for (let round = 0; round < 5; round++) {
    const keys = await store.listSigningKeys();
    const changes: { kid: string; from: string; to: string }[] = [];
    for (const key of keys) {
      if (sealedUnder(key.privateJwk) === to.id) {
        to.open(key); // a check: a row under `to` that does not open is an error, not done
        continue;
      }
      const text = isSealed(key.privateJwk) ? from.open(key) : key.privateJwk;
      changes.push({ kid: key.kid, from: key.privateJwk, to: to.seal(key, text) });
    }
    if (changes.length === 0) return { rewrapped: [...rewrapped], total: keys.length };
    await store.replaceSigningKeyMaterial(changes);
    for (const change of changes) rewrapped.add(change.kid);
  }
  throw new Error('keys rewrap: the signing keys kept changing; run it again');
}
