// The algorithms the debugger verifies, derived from laissez/jwt's own table
// (src/jwt/lib/algorithms.ts, which has no node: import and is served to the page as it is): the
// same names, families, hashes, curves and sizes, so that the page cannot drift from the library.
// Only the spelling changes, from node:crypto's names to WebCrypto's and JWK's.

import type { Algorithm } from '@laissez/jwt';
import { ALGORITHM_INFO, ALGORITHMS, type AlgorithmInfo, type Family } from '@laissez/jwt/facts';

export type { Family };

export interface AlgInfo {
  family: Family;
  /** WebCrypto hash name; null for EdDSA. */
  hash: 'SHA-256' | 'SHA-384' | 'SHA-512' | null;
  /** Hash output in bytes: the HMAC minimum secret (RFC 7518 §3.2) and the PSS salt (§3.5). */
  bytes: number;
  /** ECDSA: the curve and the size of r and of s. EdDSA: the curves the name allows. */
  curves?: readonly string[];
  coord?: number;
  label: string;
}

/** node:crypto digest names → WebCrypto's (WebCrypto §"SHA"). */
const WEBCRYPTO_HASH = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' } as const;

/** node:crypto curve names → the JWK "crv" (RFC 7518 §6.2.1.1), which WebCrypto's namedCurve also uses. */
const JWK_CURVE = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' } as const;

/** node:crypto OKP key types → the JWK "crv" (RFC 8037 §2), also WebCrypto's algorithm name. */
const OKP_CURVE = { ed25519: 'Ed25519', ed448: 'Ed448' } as const;

const FAMILY_LABEL: Record<Family, string> = {
  hmac: 'HMAC',
  rsa: 'RSA PKCS#1 v1.5',
  pss: 'RSA-PSS',
  ecdsa: 'ECDSA',
  eddsa: '',
};

function describe(alg: Algorithm, info: AlgorithmInfo): AlgInfo {
  const hash = info.hash === null ? null : WEBCRYPTO_HASH[info.hash];
  const curves = info.curve
    ? [JWK_CURVE[info.curve]]
    : info.okp
      ? info.okp.map((type) => OKP_CURVE[type])
      : undefined;
  const label =
    info.family === 'eddsa'
      ? alg
      : `${FAMILY_LABEL[info.family]}${curves ? ` ${curves.join('/')}` : ''} with ${hash}`;
  return {
    family: info.family,
    hash,
    bytes: info.hashBytes,
    ...(curves ? { curves } : {}),
    ...(info.coordBytes !== undefined ? { coord: info.coordBytes } : {}),
    label,
  };
}

/** Every algorithm laissez/jwt supports, as the debugger uses it. */
export const ALGS: Readonly<Record<Algorithm, AlgInfo>> = Object.freeze(
  Object.fromEntries(ALGORITHMS.map((alg) => [alg, describe(alg, ALGORITHM_INFO[alg])])) as Record<
    Algorithm,
    AlgInfo
  >,
);

export const SUPPORTED_ALGORITHMS: readonly string[] = ALGORITHMS;
