/**
 * `laissez/jwt`: a strict, fast JOSE/JWT library on node:crypto with zero dependencies.
 * Prepare a signer or verifier once (options and keys checked at setup), then call it per token.
 * @module
 */

export { normalizeHtu } from './dpop/htu.ts';
export type { ProofRequest, ProofSigner, ProofSignerOptions } from './dpop/proof.ts';
export { accessTokenHash, createProofSigner } from './dpop/proof.ts';
export type {
  ProofExpectation,
  ProofVerifier,
  ProofVerifierOptions,
  VerifiedProof,
} from './dpop/verify.ts';
export { createProofVerifier } from './dpop/verify.ts';
export type { ExportJwkOptions, JwksEntry } from './jwk/jwk.ts';
export { calculateThumbprint, createJwks, exportJwk, generateKey, importJwk } from './jwk/jwk.ts';
export type {
  RemoteJwks,
  RemoteJwksFetch,
  RemoteJwksOptions,
  RemoteJwksResponse,
} from './jwks/remote.ts';
export { createRemoteJwks, DEFAULT_COOLDOWN } from './jwks/remote.ts';
export type { CompactSignOptions } from './jws/sign.ts';
export { signCompact } from './jws/sign.ts';
export type { CompactVerifierOptions, VerifiedJws } from './jws/verify.ts';
export { createCompactVerifier } from './jws/verify.ts';
export type { UnverifiedJwt } from './jwt/decode.ts';
export { decodeUnverified } from './jwt/decode.ts';
export { createSigner, sign } from './jwt/sign.ts';
export { createVerifier, verify } from './jwt/verify.ts';
export { ALGORITHMS } from './lib/algorithms.ts';
export { parseDuration } from './lib/duration.ts';
export { describeJwtError, JWT_ERROR_CODES, JwtError } from './lib/errors.ts';
export type * from './types.ts';
