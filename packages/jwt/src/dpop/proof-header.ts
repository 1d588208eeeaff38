// The header half of a DPoP proof check (RFC 9449 §4.3 steps 3 to 5 and 7): typ, the algorithm
// allow-list, crit, and the public jwk the proof is signed with, imported once per key. A client
// signs every proof with the same key and header, so a header segment that passed is remembered
// (bounded) and a repeat costs one map lookup; verify.ts checks the signature and the claims.
import { createPublicKey, hash, type KeyObject } from 'node:crypto';
import { ALGORITHM_INFO } from '../lib/algorithms.ts';
import { type CheckFn, checkerFor } from '../lib/crypto.ts';
import { JwtError } from '../lib/errors.ts';
import { PRIVATE_JWK_MEMBERS } from '../lib/jwk-members.ts';
import { assertKeyFits } from '../lib/keys.ts';
import type { Algorithm, Jwk } from '../types.ts';
import { thumbprintInput } from './thumbprint.ts';

/** Keys of recent proofs, imported once each (a client signs every request with the same key). */
const KEY_CACHE_SIZE = 1000;
/**
 * Checked proof headers, by their raw base64url segment: a client's proofs all carry the same
 * header, so a repeat costs one map lookup instead of a base64 decode, a JSON parse, the header
 * checks and the RFC 7638 thumbprint. Bounded in entries and in the length of a segment kept
 * (an RSA-4096 key's header is some 950 characters), so at most about 2 MB.
 */
const HEADER_CACHE_SIZE = 1000;
const HEADER_CACHE_MAX_LENGTH = 2048;

interface ProofKeyEntry {
  readonly key: KeyObject;
  readonly jkt: string;
  readonly checks: Map<Algorithm, CheckFn>;
}

/** A header segment that passed every header check: its parse, its key and the signature check. */
export interface ProofHeaderEntry {
  readonly header: Readonly<Record<string, unknown>>;
  readonly key: ProofKeyEntry;
  readonly check: CheckFn;
}

/** Sets `key` in a map kept to `max` entries, dropping the oldest first. */
export function rememberBounded<K, V>(map: Map<K, V>, max: number, key: K, value: V): void {
  if (map.size >= max) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

export const invalidProof = (message: string, claim?: string) =>
  new JwtError('ERR_DPOP_PROOF_INVALID', message, claim);

/** One base64url part of a proof (`start` to `end`), which must be a JSON object. */
export function parseProofPart(proof: string, start: number, end: number, what: string) {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(proof.slice(start, end), 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidProof(`the DPoP proof ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** The proof keys met so far, by their RFC 7638 thumbprint input: imported and hashed once. */
function proofKeys(): (jwk: unknown) => ProofKeyEntry {
  const keys = new Map<string, ProofKeyEntry>();
  return (jwk) => {
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) {
      throw invalidProof('the DPoP proof header has no "jwk" (the public key)', 'jwk');
    }
    // RFC 9449 §4.3 step 7: the jwk must not hold a private key.
    if (PRIVATE_JWK_MEMBERS.some((member) => (jwk as Jwk)[member] !== undefined)) {
      throw invalidProof('the DPoP proof "jwk" holds private key material', 'jwk');
    }
    const input = thumbprintInput(jwk as Jwk);
    if (input === undefined) {
      throw invalidProof('the DPoP proof "jwk" is not a public EC, OKP or RSA key', 'jwk');
    }
    let entry = keys.get(input);
    if (entry !== undefined) return entry;
    let key: KeyObject;
    try {
      // Only the members that define the key: the proof's other members (use, key_ops) say nothing.
      key = createPublicKey({ key: JSON.parse(input) as Jwk, format: 'jwk' });
    } catch {
      throw invalidProof('the DPoP proof "jwk" is not a valid public key', 'jwk');
    }
    // RFC 7638 §3: the SHA-256 of that same input, computed once per key.
    const jkt = hash('sha256', input, 'base64url');
    entry = { key, jkt, checks: new Map() };
    rememberBounded(keys, KEY_CACHE_SIZE, input, entry);
    return entry;
  };
}

/**
 * The header check of one verifier: `seen` holds the segments that passed (look there first, it
 * is the common case), `check` runs steps 3 to 5 and 7 on a segment not seen (or no longer
 * remembered) and remembers it when it passes.
 */
export function proofHeaderChecker(algorithms: readonly Algorithm[]): {
  readonly seen: Map<string, ProofHeaderEntry>;
  check(segment: string, proof: string, dot1: number): ProofHeaderEntry;
} {
  const allowed = new Set<string>(algorithms);
  const keyOf = proofKeys();
  const seen = new Map<string, ProofHeaderEntry>();
  const check = (segment: string, proof: string, dot1: number): ProofHeaderEntry => {
    const header = parseProofPart(proof, 0, dot1, 'header');
    // Step 4: typ (RFC 7515 §4.1.9 lets "application/" be left out, and media types ignore case).
    if (typeof header['typ'] !== 'string' || header['typ'].toLowerCase() !== 'dpop+jwt') {
      throw invalidProof('the DPoP proof "typ" must be "dpop+jwt"', 'typ');
    }
    const alg = header['alg'];
    if (typeof alg !== 'string' || !allowed.has(alg)) {
      throw invalidProof(
        `the DPoP proof algorithm is not accepted (use ${algorithms.join(', ')})`,
        'alg',
      );
    }
    // RFC 7515 §4.1.11: no extension is understood here, so any crit is refused.
    if (header['crit'] !== undefined) {
      throw invalidProof(
        'the DPoP proof marks a header parameter critical that is not understood',
        'crit',
      );
    }
    const key = keyOf(header['jwk']);
    let signature = key.checks.get(alg as Algorithm);
    if (signature === undefined) {
      try {
        assertKeyFits({ key: key.key, alg: undefined, kid: undefined }, alg as Algorithm, false);
      } catch {
        throw invalidProof(`the DPoP proof "jwk" does not fit ${alg}`, 'jwk');
      }
      signature = checkerFor(ALGORITHM_INFO[alg as Algorithm], key.key);
      key.checks.set(alg as Algorithm, signature);
    }
    // Frozen: the same object is handed to every caller whose proof carries this segment.
    const entry: ProofHeaderEntry = { header: Object.freeze(header), key, check: signature };
    // Only a header that passed is kept: the same bytes always decode to the same checked header.
    if (segment.length <= HEADER_CACHE_MAX_LENGTH) {
      rememberBounded(seen, HEADER_CACHE_SIZE, segment, entry);
    }
    return entry;
  };
  return { seen, check };
}
