import type { KeyObject } from 'node:crypto';

/** Every JWS algorithm laissez signs and verifies (RFC 7518 §3.1, RFC 8037, RFC 9864). `none` is not one. */
export type Algorithm =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'
  | 'Ed25519'
  | 'Ed448';

/** A JSON Web Key (RFC 7517). Only the members laissez reads are typed; others pass through. */
export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
  crv?: string;
  x?: string;
  y?: string;
  d?: string;
  n?: string;
  e?: string;
  p?: string;
  q?: string;
  dp?: string;
  dq?: string;
  qi?: string;
  k?: string;
  x5c?: string[];
  [member: string]: unknown;
}

/** A JWK Set (RFC 7517 §5). */
export interface Jwks {
  keys: Jwk[];
}

/**
 * What laissez accepts as a key, turned into a `KeyObject` once:
 * - `string`: a PEM (SPKI, PKCS#8, PKCS#1, SEC1 or an X.509 certificate) when it starts with
 *   `-----BEGIN`, otherwise an HMAC secret (its UTF-8 bytes);
 * - `Uint8Array`: an HMAC secret;
 * - `KeyObject`: used as it is;
 * - `Jwk`: a JSON Web Key object.
 */
export type KeyInput = string | Uint8Array | KeyObject | Jwk;

/** The protected header of a verified or decoded JWS. */
export interface JwtHeader {
  alg: Algorithm;
  typ?: string;
  kid?: string;
  cty?: string;
  crit?: string[];
  [parameter: string]: unknown;
}

/** The registered claims of RFC 7519 §4.1; times are NumericDate seconds. */
export interface JwtPayload {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  jti?: string;
  [claim: string]: unknown;
}

/** What a verifier returns: the authentic header and payload. */
export interface VerifiedJwt<P = JwtPayload> {
  header: JwtHeader;
  payload: P;
}

/** Seconds as a number, or a string such as `'30s'`, `'15m'`, `'12h'`, `'7d'`, `'2w'`. */
export type Duration = number | string;

/** Finds the key for a token from its (not yet verified) header; used for key sets and JWKS. */
export type KeyResolver = (header: JwtHeader) => KeyInput | Promise<KeyInput>;

export interface SignerOptions {
  /** The signing key: an HMAC secret, a private key (PEM, JWK, KeyObject). */
  key: KeyInput;
  /** The algorithm; it must fit the key. Never guessed. */
  algorithm: Algorithm;
  /** `kid` header parameter. */
  kid?: string;
  /** `typ` header parameter; default `'JWT'`, `null` leaves it out. */
  typ?: string | null;
  /** More header parameters (not `alg`, `kid`, `typ`, `crit`, `b64`). */
  header?: Record<string, unknown>;
  /** Lifetime: `exp = iat + expiresIn`. */
  expiresIn?: Duration;
  /** `nbf = now + notBefore`. */
  notBefore?: Duration;
  issuer?: string;
  audience?: string | string[];
  subject?: string;
  /** Adds a random 128-bit `jti` to each token. */
  jti?: boolean;
  /** Leave out `iat` (it is added by default). */
  noTimestamp?: boolean;
  /** Default true: a token with no `exp` is refused at signing (TypeError). */
  requireExp?: boolean;
  /** Accept an HMAC secret shorter than the hash output (RFC 7518 §3.2). Default false. */
  allowWeakKey?: boolean;
  /** The clock in milliseconds, like `Date.now`. */
  now?: () => number;
}

export interface VerifierOptions {
  /** A key, a JWK Set (chosen by `kid`, then by `alg`), or a resolver (makes the verifier async). */
  key: KeyInput | Jwks | KeyResolver;
  /** The allow-list: a token whose `alg` is not here is refused before anything else is read. */
  algorithms: Algorithm[];
  /** Expected `iss` (one of). */
  issuer?: string | string[];
  /** Expected audience: the token's `aud` (string or array) must contain one of these. */
  audience?: string | string[];
  /** Expected `sub`. */
  subject?: string;
  /** Expected `typ` header, compared as RFC 7515 §4.1.9 says (case-insensitive, `application/` optional). */
  typ?: string;
  /** Claims that must be present. */
  requiredClaims?: string[];
  /** Default true: a token with no `exp` is refused. */
  requireExp?: boolean;
  /** Refuse a token whose `iat` is older than this (requires `iat`). */
  maxAge?: Duration;
  /** Leeway for `exp`, `nbf`, `iat` and `maxAge`. Default 0. */
  clockTolerance?: Duration;
  /** The clock in milliseconds, like `Date.now`. */
  now?: () => number;
  /** Longest token accepted, in characters. Default 16384. */
  maxTokenLength?: number;
  /** Header parameters that the caller understands when a token lists them in `crit`. */
  crit?: string[];
  /** Accept an HMAC secret shorter than the hash output. Default false. */
  allowWeakKey?: boolean;
  /** Opt-in cache of verified tokens, keyed by the whole token; never outlives `exp`. */
  cache?: boolean | { max?: number };
}

export type SyncVerifier<P = JwtPayload> = (token: string) => VerifiedJwt<P>;
export type AsyncVerifier<P = JwtPayload> = (token: string) => Promise<VerifiedJwt<P>>;
export type Signer = (payload?: Record<string, unknown>) => string;

export type { JwtErrorCode } from './lib/errors.ts';
