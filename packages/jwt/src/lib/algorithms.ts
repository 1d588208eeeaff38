import type { Algorithm } from '../types.ts';

export type Family = 'hmac' | 'rsa' | 'pss' | 'ecdsa' | 'eddsa';

export interface AlgorithmInfo {
  readonly family: Family;
  /** node:crypto digest name; null for EdDSA (the curve fixes the hash). */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** Hash output size in bytes: the HMAC minimum key size (RFC 7518 §3.2) and the PSS salt (§3.5). */
  readonly hashBytes: number;
  /** ECDSA: the curve (node name) and the size of r and of s in the JWS form (RFC 7518 §3.4). */
  readonly curve?: 'prime256v1' | 'secp384r1' | 'secp521r1';
  readonly coordBytes?: number;
  /** EdDSA: the key types the name allows. */
  readonly okp?: readonly ('ed25519' | 'ed448')[];
}

export const ALGORITHM_INFO: Readonly<Record<Algorithm, AlgorithmInfo>> = {
  HS256: { family: 'hmac', hash: 'sha256', hashBytes: 32 },
  HS384: { family: 'hmac', hash: 'sha384', hashBytes: 48 },
  HS512: { family: 'hmac', hash: 'sha512', hashBytes: 64 },
  RS256: { family: 'rsa', hash: 'sha256', hashBytes: 32 },
  RS384: { family: 'rsa', hash: 'sha384', hashBytes: 48 },
  RS512: { family: 'rsa', hash: 'sha512', hashBytes: 64 },
  PS256: { family: 'pss', hash: 'sha256', hashBytes: 32 },
  PS384: { family: 'pss', hash: 'sha384', hashBytes: 48 },
  PS512: { family: 'pss', hash: 'sha512', hashBytes: 64 },
  ES256: { family: 'ecdsa', hash: 'sha256', hashBytes: 32, curve: 'prime256v1', coordBytes: 32 },
  ES384: { family: 'ecdsa', hash: 'sha384', hashBytes: 48, curve: 'secp384r1', coordBytes: 48 },
  ES512: { family: 'ecdsa', hash: 'sha512', hashBytes: 64, curve: 'secp521r1', coordBytes: 66 },
  // RFC 8037 "EdDSA" names the family; RFC 9864 adds the fully specified "Ed25519" and "Ed448".
  EdDSA: { family: 'eddsa', hash: null, hashBytes: 0, okp: ['ed25519', 'ed448'] },
  Ed25519: { family: 'eddsa', hash: null, hashBytes: 0, okp: ['ed25519'] },
  Ed448: { family: 'eddsa', hash: null, hashBytes: 0, okp: ['ed448'] },
};

/** Every supported algorithm, in a stable order. */
export const ALGORITHMS: readonly Algorithm[] = Object.freeze(
  Object.keys(ALGORITHM_INFO) as Algorithm[],
);

export function isAlgorithm(value: unknown): value is Algorithm {
  return typeof value === 'string' && Object.hasOwn(ALGORITHM_INFO, value);
}

/** Checks an allow-list option once, at setup. */
export function checkAlgorithmList(value: unknown, name = 'algorithms'): Algorithm[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(
      `${name} is required: list the algorithms you accept, e.g. ['HS256'] or ['ES256'] (the token never chooses)`,
    );
  }
  for (const alg of value) {
    if (!isAlgorithm(alg)) {
      throw new TypeError(
        String(alg).toLowerCase() === 'none'
          ? `${name} may not contain 'none': an unsigned token can be forged by anyone`
          : `${name} contains ${JSON.stringify(alg)}, which is not supported; use one of ${ALGORITHMS.join(', ')}`,
      );
    }
  }
  return [...new Set(value as Algorithm[])];
}
