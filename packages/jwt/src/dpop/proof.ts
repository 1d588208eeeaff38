// Making DPoP proofs (RFC 9449 §4.2): a JWT signed by the client's own key, with the public half of
// that key in its header, naming one HTTP request (`htm`, `htu`) at one time (`iat`), once (`jti`),
// and, when a token is sent with it, that token (`ath`). The browser client (laissez/client) and
// the CLI produce exactly this format; the verifier (verify.ts) checks it.
import { createPublicKey, hash, randomBytes } from 'node:crypto';
import { prepareSigning } from '../jws/sign.ts';
import { ALGORITHM_INFO } from '../lib/algorithms.ts';
import { encode } from '../lib/base64url.ts';
import { checkOptions, optionNames } from '../lib/options.ts';
import type { Algorithm, Jwk, KeyInput } from '../types.ts';
import { normalizeHtu } from './htu.ts';
import { thumbprintOf } from './thumbprint.ts';

export interface ProofSignerOptions {
  /** The client's private key: EC (P-256 for ES256), OKP (Ed25519 for EdDSA), RSA. Never a secret. */
  key: KeyInput;
  /** The proof's algorithm; asymmetric only (RFC 9449 §4.2: "MUST NOT be none or a MAC"). */
  algorithm: Algorithm;
  /** The clock in milliseconds (tests). */
  now?: () => number;
}

/** One request a proof is made for. */
export interface ProofRequest {
  /** The HTTP method, e.g. `GET` (`htm`). */
  method: string;
  /** The absolute URL of the request; query and fragment are dropped (`htu`). */
  url: string | URL;
  /** The access token sent with the request: adds `ath` = base64url(SHA-256(token)). */
  accessToken?: string;
  /** The last `DPoP-Nonce` the server sent (`nonce`). */
  nonce?: string;
}

/** Makes a proof per request with one key, prepared once. */
export interface ProofSigner {
  (request: ProofRequest): string;
  /** The RFC 7638 thumbprint of the key: the `jkt` a bound token carries in `cnf`. */
  readonly jkt: string;
  /** The public key as it is put in every proof's `jwk` header. */
  readonly jwk: Readonly<Jwk>;
}

const OPTION_NAMES = optionNames<ProofSignerOptions>({ key: true, algorithm: true, now: true });
const REQUEST_NAMES = optionNames<ProofRequest>({
  method: true,
  url: true,
  accessToken: true,
  nonce: true,
});

/** RFC 9110 §9.1: a method is a token. */
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The `ath` of an access token (RFC 9449 §4.2): base64url of its SHA-256. */
export function accessTokenHash(accessToken: string): string {
  return hash('sha256', accessToken, 'base64url');
}

/**
 * Prepares a DPoP proof signer for one client key. The key and algorithm are checked here, once.
 * @example
 * const prove = createProofSigner({ key: privateJwk, algorithm: 'ES256' });
 * const proof = prove({ method: 'GET', url: 'https://api.example/notes', accessToken });
 * fetch(url, { headers: { authorization: `DPoP ${accessToken}`, dpop: proof } });
 */
export function createProofSigner(options: ProofSignerOptions): ProofSigner {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('createProofSigner needs options: { key, algorithm }');
  }
  checkOptions('createProofSigner', options, OPTION_NAMES);
  if (ALGORITHM_INFO[options.algorithm]?.family === 'hmac') {
    throw new TypeError(
      'a DPoP proof is signed with a private key the client holds: an HMAC algorithm cannot be used (RFC 9449 §4.2)',
    );
  }
  const { alg, prepared, sign } = prepareSigning(options.key, options.algorithm, false);
  if (prepared.key.type !== 'private') {
    throw new TypeError('a DPoP proof needs the private key of the client');
  }
  const now = options.now ?? Date.now;
  const full = createPublicKey(prepared.key).export({ format: 'jwk' }) as Jwk;
  // Only the members that define the public key: nothing else of the key is told to every server.
  const jwk: Jwk =
    full.kty === 'RSA'
      ? { kty: 'RSA', e: full.e!, n: full.n! }
      : full.kty === 'EC'
        ? { kty: 'EC', crv: full.crv!, x: full.x!, y: full.y! }
        : { kty: full.kty, crv: full.crv!, x: full.x! };
  const header = encode(JSON.stringify({ typ: 'dpop+jwt', alg, jwk }));
  const signer = (request: ProofRequest): string => {
    if (request === null || typeof request !== 'object') {
      throw new TypeError('a proof is made for a request: { method, url, accessToken?, nonce? }');
    }
    checkOptions('DPoP proof', request, REQUEST_NAMES);
    if (typeof request.method !== 'string' || !METHOD.test(request.method)) {
      throw new TypeError('method must be an HTTP method, e.g. "GET"');
    }
    const htu = normalizeHtu(request.url);
    if (htu === undefined) throw new TypeError('url must be an absolute http(s) URL');
    const claims: Record<string, unknown> = {
      jti: randomBytes(16).toString('base64url'),
      htm: request.method,
      htu,
      iat: Math.floor(now() / 1000),
    };
    if (request.accessToken !== undefined) {
      if (typeof request.accessToken !== 'string' || request.accessToken === '') {
        throw new TypeError('accessToken must be the access token sent with the request');
      }
      claims['ath'] = accessTokenHash(request.accessToken);
    }
    if (request.nonce !== undefined) {
      if (typeof request.nonce !== 'string' || request.nonce === '') {
        throw new TypeError('nonce must be the DPoP-Nonce the server sent');
      }
      claims['nonce'] = request.nonce;
    }
    const input = `${header}.${encode(JSON.stringify(claims))}`;
    return `${input}.${sign(input)}`;
  };
  return Object.defineProperties(signer, {
    jkt: { value: thumbprintOf(jwk)!, enumerable: true },
    jwk: { value: Object.freeze(jwk), enumerable: true },
  }) as ProofSigner;
}
