// DPoP in the browser (RFC 9449), with WebCrypto only: one ECDSA P-256 key per auth server, made
// non-extractable, kept in IndexedDB so that it outlives the page (a refresh-token family bound to
// it stays usable after a reload and in the other tabs of the origin), and a proof signed with it
// for every request. A script on the page can still ask the browser to sign with the key while the
// page is open, as it can call `auth.fetch`; what it cannot do is take the private key away, so a
// stolen token is useless elsewhere (docs/client.md, "DPoP").
//
// Where IndexedDB is unavailable (some private modes, Node, a blocked database) the key is made in
// memory for the life of the page: proofs still work, but the session dies with the page.

import { normalizeHtu } from './shared/htu.ts';

/** A P-256 public key as it goes in each proof's `jwk` header: only the defining members. */
export interface PublicJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
}

/** The client's key for one auth server. */
export interface DpopKey {
  readonly privateKey: CryptoKey;
  readonly jwk: PublicJwk;
  /** RFC 7638 SHA-256 thumbprint: the `jkt` of the tokens bound to this key. */
  readonly jkt: string;
  /** Kept in IndexedDB (survives a reload), or held in memory only. */
  readonly storage: 'indexeddb' | 'memory';
}

/** One request a proof is made for. */
export interface ProofFor {
  method: string;
  url: string;
  /** The access token sent with it: adds `ath`. */
  accessToken?: string;
  /** The last DPoP-Nonce of that server. */
  nonce?: string;
}

const DB_NAME = 'laissez-dpop';
const STORE = 'keys';
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** A base64url P-256 coordinate: 32 bytes. */
const COORDINATE = /^[A-Za-z0-9_-]{43}$/;
/**
 * RFC 9449 §8.1: `nonce = 1*NQCHAR`; and a bound of our own, since it is sent back in every proof.
 * A header outside this is ignored, as if the server had sent none.
 */
const NONCE = /^[\x21\x23-\x5b\x5d-\x7e]{1,512}$/;

/** Keys made in memory, one per server, shared by the clients of this page. */
const memoryKeys = new Map<string, Promise<DpopKey>>();

const encoder = new TextEncoder();

function base64url(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = '';
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const jsonPart = (value: object) => base64url(encoder.encode(JSON.stringify(value)));

/** RFC 7638 §3.2: the required EC members in lexicographic order, hashed with SHA-256. */
async function thumbprint(jwk: PublicJwk): Promise<string> {
  const input = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return base64url(await crypto.subtle.digest('SHA-256', encoder.encode(input)));
}

/** What is kept in IndexedDB: the CryptoKey objects themselves (structured clone keeps them
 * non-extractable) and the public JWK. */
interface StoredKey {
  privateKey: CryptoKey;
  jwk: PublicJwk;
}

/** A record that is a usable key as this module made it; anything else is replaced. */
function usable(record: unknown): record is StoredKey {
  if (record === null || typeof record !== 'object') return false;
  const { privateKey, jwk } = record as Partial<StoredKey>;
  if (typeof CryptoKey !== 'function' || !(privateKey instanceof CryptoKey)) return false;
  const algorithm = privateKey.algorithm as EcKeyAlgorithm;
  return (
    privateKey.type === 'private' &&
    !privateKey.extractable &&
    algorithm.name === 'ECDSA' &&
    algorithm.namedCurve === 'P-256' &&
    privateKey.usages.includes('sign') &&
    jwk?.kty === 'EC' &&
    jwk.crv === 'P-256' &&
    COORDINATE.test(jwk.x) &&
    COORDINATE.test(jwk.y)
  );
}

/** A new key pair; the private half can sign and can never be exported. */
async function generate(): Promise<StoredKey> {
  const pair = await crypto.subtle.generateKey(EC, false, ['sign', 'verify']);
  // WebCrypto makes the public half of a pair extractable whatever is asked: it is public.
  const full = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
  return {
    privateKey: pair.privateKey,
    jwk: { kty: 'EC', crv: 'P-256', x: String(full.x), y: String(full.y) },
  };
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDatabase(): Promise<IDBDatabase> {
  const open = indexedDB.open(DB_NAME, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE);
  return request(open);
}

/**
 * The key of `server` from IndexedDB, made and stored when there is none (or what is there is not
 * a key this module made). Two tabs may make one at once: `add` lets only the first be stored, and
 * the other reads it back, so every tab of the origin signs with the same key.
 */
async function persistentKey(server: string): Promise<StoredKey> {
  const db = await openDatabase();
  try {
    const read = async () =>
      request(db.transaction(STORE, 'readonly').objectStore(STORE).get(server));
    const found = await read();
    if (usable(found)) return found;
    const made = await generate();
    const store = db.transaction(STORE, 'readwrite').objectStore(STORE);
    try {
      // A record that is not usable is replaced; a missing one added only if still missing.
      await request(found === undefined ? store.add(made, server) : store.put(made, server));
      return made;
    } catch (error) {
      if ((error as DOMException | null)?.name !== 'ConstraintError') throw error;
      const theirs = await read();
      if (usable(theirs)) return theirs;
      throw error;
    }
  } finally {
    db.close();
  }
}

async function withThumbprint(key: StoredKey, storage: DpopKey['storage']): Promise<DpopKey> {
  return Object.freeze({
    ...key,
    jwk: Object.freeze(key.jwk),
    jkt: await thumbprint(key.jwk),
    storage,
  });
}

/** The key this page signs proofs for `server` with: from IndexedDB, else in memory. */
export async function loadKey(server: string): Promise<DpopKey> {
  if (typeof indexedDB === 'object' && indexedDB !== null) {
    try {
      return await withThumbprint(await persistentKey(server), 'indexeddb');
    } catch {
      // Blocked, full, or a private mode that refuses it: fall back to a key for this page.
    }
  }
  let key = memoryKeys.get(server);
  if (key === undefined) {
    key = generate().then((made) => withThumbprint(made, 'memory'));
    memoryKeys.set(server, key);
    key.catch(() => memoryKeys.delete(server));
  }
  return key;
}

/** Removes the key of `server` from IndexedDB (and memory): the next proof uses a new key. */
export async function forgetKey(server: string): Promise<void> {
  memoryKeys.delete(server);
  if (typeof indexedDB !== 'object' || indexedDB === null) return;
  const db = await openDatabase();
  try {
    await request(db.transaction(STORE, 'readwrite').objectStore(STORE).delete(server));
  } finally {
    db.close();
  }
}

/** base64url(SHA-256(token)): the `ath` of a proof sent with `token` (RFC 9449 §4.2). */
export async function tokenHash(token: string): Promise<string> {
  return base64url(await crypto.subtle.digest('SHA-256', encoder.encode(token)));
}

/**
 * A proof for one request (RFC 9449 §4.2): `typ` dpop+jwt, ES256, the public JWK; `jti` (random,
 * 128 bits), `htm`, `htu` (without query and fragment, normalized as the verifier does), `iat`,
 * and `ath`/`nonce` when given. WebCrypto's ECDSA signature is r‖s, the JWS form (RFC 7518 §3.4).
 */
export async function makeProof(key: DpopKey, to: ProofFor, nowMs: number): Promise<string> {
  const htu = normalizeHtu(to.url);
  if (htu === undefined) throw new TypeError('a DPoP proof needs an absolute http(s) URL');
  const claims: Record<string, string | number> = {
    jti: base64url(crypto.getRandomValues(new Uint8Array(16))),
    htm: to.method,
    htu,
    iat: Math.floor(nowMs / 1000),
  };
  if (to.accessToken !== undefined) claims['ath'] = await tokenHash(to.accessToken);
  if (to.nonce !== undefined) claims['nonce'] = to.nonce;
  const input = `${jsonPart({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk })}.${jsonPart(claims)}`;
  const signature = await crypto.subtle.sign(SIGN, key.privateKey, encoder.encode(input));
  return `${input}.${base64url(signature)}`;
}

/** The `DPoP-Nonce` of an answer when it is one (RFC 9449 §8.1), else undefined. */
export function nonceOf(response: Response): string | undefined {
  const nonce = response.headers.get('dpop-nonce');
  return nonce !== null && NONCE.test(nonce) ? nonce : undefined;
}

/**
 * The DPoP side of one client: its key (loaded once, on first use), the last nonce each server
 * gave (RFC 9449 §8.2: a server may send a new one in any answer), and the proof header of a
 * request.
 */
export class DpopProofs {
  readonly #server: string;
  readonly #now: () => number;
  #key: Promise<DpopKey> | undefined;
  /** The last DPoP-Nonce per origin. */
  readonly #nonces = new Map<string, string>();

  constructor(server: string, now: () => number) {
    this.#server = server;
    this.#now = now;
  }

  key(): Promise<DpopKey> {
    if (this.#key === undefined) {
      const loading = loadKey(this.#server);
      this.#key = loading;
      // A failure is not kept: the next request tries again.
      loading.catch(() => {
        if (this.#key === loading) this.#key = undefined;
      });
    }
    return this.#key;
  }

  /** The `DPoP` header value for a request to `url`, carrying `accessToken` when given. */
  async proof(method: string, url: string, accessToken?: string): Promise<string> {
    const nonce = this.#nonces.get(new URL(url).origin);
    return makeProof(
      await this.key(),
      {
        method,
        url,
        ...(accessToken !== undefined ? { accessToken } : {}),
        ...(nonce !== undefined ? { nonce } : {}),
      },
      this.#now(),
    );
  }

  /** Keeps the nonce of an answer from `url`; true when it is a new one (worth a retry). */
  noteNonce(url: string, response: Response): boolean {
    const nonce = nonceOf(response);
    if (nonce === undefined) return false;
    const origin = new URL(url).origin;
    if (this.#nonces.get(origin) === nonce) return false;
    this.#nonces.set(origin, nonce);
    return true;
  }
}
