// Checking DPoP proofs (RFC 9449 §4.3), in the order that keeps attacker-chosen input away from
// anything costly: size → structure → header (typ, alg allow-list, crit, a public jwk) → signature
// by that jwk → claims (htm, htu, iat window, ath, nonce). Nothing of the payload is read before
// the signature passed. What the verifier cannot know alone (has this jti been seen? is the token
// bound to this key?) is returned for the caller: `jti` for the replay check, `jkt` for `cnf.jkt`.
// The header steps and the key cache are in proof-header.ts; this file runs the rest per proof.
import { ALGORITHM_INFO, checkAlgorithmList } from '../lib/algorithms.ts';
import { isCanonicalRange } from '../lib/base64url.ts';
import { parseDuration } from '../lib/duration.ts';
import { JwtError } from '../lib/errors.ts';
import { checkOptions, optionNames } from '../lib/options.ts';
import type { Algorithm, Duration } from '../types.ts';
import { normalizeHtu } from './htu.ts';
import { accessTokenHash } from './proof.ts';
import {
  invalidProof as invalid,
  parseProofPart,
  proofHeaderChecker,
  rememberBounded,
} from './proof-header.ts';

export interface ProofVerifierOptions {
  /**
   * The proof algorithms accepted. Default `['ES256', 'EdDSA', 'Ed25519']` (what browsers and the
   * laissez client make). Asymmetric only: an HMAC proof proves nothing (RFC 9449 §4.3 step 5).
   */
  algorithms?: Algorithm[];
  /** How old a proof may be (its `iat`). Default 60 seconds. */
  maxAge?: Duration;
  /** Leeway for clocks that differ, both ways. Default 5 seconds. */
  clockTolerance?: Duration;
  /** Longest proof accepted, in characters. Default 8192 (an RSA-4096 key in the header fits). */
  maxProofLength?: number;
  /** The clock in milliseconds (tests). */
  now?: () => number;
}

/** What a proof is checked against: the request it came with. */
export interface ProofExpectation {
  /** The request's method (`htm`). */
  method: string;
  /** The request's absolute URL, as the client saw it (`htu`; query and fragment ignored). */
  url: string | URL;
  /** The access token of the request, when it has one: the proof's `ath` must be its hash. */
  accessToken?: string;
  /**
   * The server nonce: a string, or a check of the proof's `nonce` (several may be valid at once).
   * When given, a proof without a valid nonce is `ERR_DPOP_NONCE_REQUIRED`.
   */
  nonce?: string | ((nonce: string) => boolean);
}

/** A proof that passed every check. */
export interface VerifiedProof {
  /** The RFC 7638 thumbprint of the proof's key: compare it with the token's `cnf.jkt`. */
  readonly jkt: string;
  /** The proof's unique id: refuse a second proof with the same one (see the replay caches). */
  readonly jti: string;
  /** The proof's `iat`, seconds. */
  readonly iat: number;
  /** Seconds since 1970 after which this proof is refused as too old: keep its jti until then. */
  readonly expiresAt: number;
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
}

export type ProofVerifier = (proof: string, expected: ProofExpectation) => VerifiedProof;

const OPTION_NAMES = optionNames<ProofVerifierOptions>({
  algorithms: true,
  maxAge: true,
  clockTolerance: true,
  maxProofLength: true,
  now: true,
});
const EXPECTATION_NAMES = optionNames<ProofExpectation>({
  method: true,
  url: true,
  accessToken: true,
  nonce: true,
});

const DEFAULT_ALGORITHMS: readonly Algorithm[] = ['ES256', 'EdDSA', 'Ed25519'];
/** Longest `jti` accepted: it is kept by the replay cache, so it is bounded. */
export const MAX_JTI_LENGTH = 256;
/**
 * Normalized `htu`s (both sides of the step 9 comparison), by the URL string: a server sees few
 * URLs and a client's proofs repeat them. Bounded in entries and in the length of a URL kept.
 */
const HTU_CACHE_SIZE = 1000;
const HTU_CACHE_MAX_LENGTH = 2048;

/** normalizeHtu, remembered per string (one cache per verifier). */
function htuCache(): (url: string | URL) => string | undefined {
  const htus = new Map<string, string | undefined>();
  return (url) => {
    if (typeof url !== 'string') return normalizeHtu(url);
    let normalized = htus.get(url);
    if (normalized === undefined && !htus.has(url)) {
      normalized = normalizeHtu(url);
      if (url.length <= HTU_CACHE_MAX_LENGTH) {
        rememberBounded(htus, HTU_CACHE_SIZE, url, normalized);
      }
    }
    return normalized;
  };
}

/** Step 10 (§8, §9): the server's nonce, when it asks for one. */
function checkNonce(nonce: unknown, expected: string | ((nonce: string) => boolean)): void {
  const good =
    typeof nonce === 'string' &&
    (typeof expected === 'string' ? nonce === expected : expected(nonce));
  if (!good) {
    throw new JwtError(
      'ERR_DPOP_NONCE_REQUIRED',
      nonce === undefined
        ? 'the server requires a nonce in the DPoP proof: use the DPoP-Nonce it sent'
        : 'the DPoP proof nonce is not current: use the DPoP-Nonce the server sent',
      'nonce',
    );
  }
}

/**
 * Prepares a DPoP proof verifier once; call it with each proof and the request it came with.
 * Throws `ERR_DPOP_PROOF_INVALID` (answer `invalid_dpop_proof`) or `ERR_DPOP_NONCE_REQUIRED`
 * (answer `use_dpop_nonce` with a fresh `DPoP-Nonce`).
 * @example
 * const verifyProof = createProofVerifier({ algorithms: ['ES256'] });
 * const { jkt, jti } = verifyProof(req.headers.dpop, { method: 'GET', url, accessToken });
 */
export function createProofVerifier(options: ProofVerifierOptions = {}): ProofVerifier {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('createProofVerifier options must be an object');
  }
  checkOptions('createProofVerifier', options, OPTION_NAMES);
  const algorithms = checkAlgorithmList(options.algorithms ?? DEFAULT_ALGORITHMS);
  const hmac = algorithms.find((alg) => ALGORITHM_INFO[alg].family === 'hmac');
  if (hmac !== undefined) {
    throw new TypeError(
      `${hmac} cannot sign a DPoP proof: only asymmetric algorithms (RFC 9449 §4.3)`,
    );
  }
  const maxAge = parseDuration(options.maxAge ?? 60, 'maxAge');
  const tolerance = parseDuration(options.clockTolerance ?? 5, 'clockTolerance');
  const maxLength = options.maxProofLength ?? 8192;
  if (!Number.isSafeInteger(maxLength) || maxLength < 100) {
    throw new TypeError('maxProofLength must be a whole number of characters, at least 100');
  }
  const now = options.now ?? Date.now;
  const headers = proofHeaderChecker(algorithms);
  const seen = headers.seen;
  const checkHeader = headers.check;
  const htuOf = htuCache();

  return (proof, expected) => {
    if (expected === null || typeof expected !== 'object') {
      throw new TypeError(
        'a proof is checked against its request: { method, url, accessToken?, nonce? }',
      );
    }
    checkOptions('DPoP proof check', expected, EXPECTATION_NAMES);
    if (typeof proof !== 'string' || proof === '') throw invalid('the DPoP proof is missing');
    if (proof.length > maxLength) throw invalid('the DPoP proof is too large');
    // RFC 9449 §4.3 step 2: a single well-formed JWS in compact form.
    const dot1 = proof.indexOf('.');
    const dot2 = dot1 === -1 ? -1 : proof.indexOf('.', dot1 + 1);
    if (
      dot2 === -1 ||
      proof.indexOf('.', dot2 + 1) !== -1 ||
      !isCanonicalRange(proof, 0, dot1) ||
      !isCanonicalRange(proof, dot1 + 1, dot2) ||
      !isCanonicalRange(proof, dot2 + 1, proof.length)
    ) {
      throw invalid('the DPoP proof is not a compact JWS (three base64url parts)');
    }
    const segment = proof.slice(0, dot1);
    const { header, key: entry, check } = seen.get(segment) ?? checkHeader(segment, proof, dot1);
    // Step 6: the signature, by the key in the header, before any claim is read.
    if (!check(proof, dot2)) throw invalid('the DPoP proof signature is not valid');

    const payload = parseProofPart(proof, dot1 + 1, dot2, 'payload');
    const { jti, htm, htu, iat } = payload;
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) {
      throw invalid(
        `the DPoP proof "jti" must be a string of 1 to ${MAX_JTI_LENGTH} characters`,
        'jti',
      );
    }
    // Step 8: the method, exactly (RFC 9110 §9.1: methods are case-sensitive).
    if (htm !== expected.method) {
      throw invalid('the DPoP proof was made for another HTTP method ("htm")', 'htm');
    }
    // Step 9: the URI without query and fragment, both sides normalized.
    const target = htuOf(expected.url);
    if (target === undefined)
      throw new TypeError('url must be the absolute http(s) URL of the request');
    if (typeof htu !== 'string' || htuOf(htu) !== target) {
      throw invalid('the DPoP proof was made for another URL ("htu")', 'htu');
    }
    // Step 11: iat within the window (§11.1: a short window bounds how long a stolen proof works).
    if (typeof iat !== 'number' || !Number.isFinite(iat)) {
      throw invalid('the DPoP proof "iat" must be a number of seconds', 'iat');
    }
    const seconds = now() / 1000;
    if (iat > seconds + tolerance) {
      throw invalid('the DPoP proof "iat" is in the future (check the client clock)', 'iat');
    }
    if (iat < seconds - maxAge - tolerance) {
      throw invalid('the DPoP proof is too old ("iat"): make a new proof for every request', 'iat');
    }
    // Step 12 (§4.2): the proof names the token it is sent with.
    if (expected.accessToken !== undefined) {
      if (payload['ath'] !== accessTokenHash(expected.accessToken)) {
        throw invalid('the DPoP proof "ath" does not match the access token', 'ath');
      }
    }
    // Step 10 (§8, §9): the server's nonce, when it asks for one.
    if (expected.nonce !== undefined) checkNonce(payload['nonce'], expected.nonce);
    return {
      jkt: entry.jkt,
      jti,
      iat,
      expiresAt: Math.ceil(iat + maxAge + tolerance),
      header,
      payload,
    };
  };
}
