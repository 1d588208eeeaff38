// Checking DPoP proofs (RFC 9449 §4.3), in the order that keeps attacker-chosen input away from
// anything costly: size → structure → header (typ, alg allow-list, crit, a public jwk) → signature
// by that jwk → claims (htm, htu, iat window, ath, nonce). Nothing of the payload is read before
// the signature passed. What the verifier cannot know alone (has this jti been seen? is the token
// bound to this key?) is returned for the caller: `jti` for the replay check, `jkt` for `cnf.jkt`.
import { createPublicKey, hash, type KeyObject } from 'node:crypto';
import { ALGORITHM_INFO, checkAlgorithmList } from '../lib/algorithms.ts';
import { isCanonicalRange } from '../lib/base64url.ts';
import { type CheckFn, checkerFor } from '../lib/crypto.ts';
import { parseDuration } from '../lib/duration.ts';
import { JwtError } from '../lib/errors.ts';
import { PRIVATE_JWK_MEMBERS } from '../lib/jwk-members.ts';
import { assertKeyFits } from '../lib/keys.ts';
import { checkOptions, optionNames } from '../lib/options.ts';
import type { Algorithm, Duration, Jwk } from '../types.ts';
import { normalizeHtu } from './htu.ts';
import { accessTokenHash } from './proof.ts';
import { thumbprintInput } from './thumbprint.ts';

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
/** Normalized `htu`s (both sides of the step 9 comparison), by the URL string; bounded likewise. */
const HTU_CACHE_SIZE = 1000;
const HTU_CACHE_MAX_LENGTH = 2048;

interface KeyEntry {
  readonly key: KeyObject;
  readonly jkt: string;
  readonly checks: Map<Algorithm, CheckFn>;
}

/** A header segment that passed every header check: its parse, its key and the signature check. */
interface HeaderEntry {
  readonly header: Readonly<Record<string, unknown>>;
  readonly key: KeyEntry;
  readonly check: CheckFn;
}

/** Sets `key` in a map kept to `max` entries, dropping the oldest first. */
function remember<K, V>(map: Map<K, V>, max: number, key: K, value: V): void {
  if (map.size >= max) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

const invalid = (message: string, claim?: string) =>
  new JwtError('ERR_DPOP_PROOF_INVALID', message, claim);

function parseObject(proof: string, start: number, end: number, what: string) {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(proof.slice(start, end), 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(`the DPoP proof ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
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
  const allowed = new Set<string>(algorithms);
  const maxAge = parseDuration(options.maxAge ?? 60, 'maxAge');
  const tolerance = parseDuration(options.clockTolerance ?? 5, 'clockTolerance');
  const maxLength = options.maxProofLength ?? 8192;
  if (!Number.isSafeInteger(maxLength) || maxLength < 100) {
    throw new TypeError('maxProofLength must be a whole number of characters, at least 100');
  }
  const now = options.now ?? Date.now;
  const keys = new Map<string, KeyEntry>();

  const keyOf = (jwk: unknown): KeyEntry => {
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) {
      throw invalid('the DPoP proof header has no "jwk" (the public key)', 'jwk');
    }
    // RFC 9449 §4.3 step 7: the jwk must not hold a private key.
    if (PRIVATE_JWK_MEMBERS.some((member) => (jwk as Jwk)[member] !== undefined)) {
      throw invalid('the DPoP proof "jwk" holds private key material', 'jwk');
    }
    const input = thumbprintInput(jwk as Jwk);
    if (input === undefined) {
      throw invalid('the DPoP proof "jwk" is not a public EC, OKP or RSA key', 'jwk');
    }
    let entry = keys.get(input);
    if (entry !== undefined) return entry;
    let key: KeyObject;
    try {
      // Only the members that define the key: the proof's other members (use, key_ops) say nothing.
      key = createPublicKey({ key: JSON.parse(input) as Jwk, format: 'jwk' });
    } catch {
      throw invalid('the DPoP proof "jwk" is not a valid public key', 'jwk');
    }
    // RFC 7638 §3: the SHA-256 of that same input, computed once per key.
    const jkt = hash('sha256', input, 'base64url');
    entry = { key, jkt, checks: new Map() };
    remember(keys, KEY_CACHE_SIZE, input, entry);
    return entry;
  };

  const headers = new Map<string, HeaderEntry>();
  /** Steps 3 to 5 and 7 for a header segment never seen (or no longer remembered). */
  const checkHeader = (segment: string, proof: string, dot1: number): HeaderEntry => {
    const header = parseObject(proof, 0, dot1, 'header');
    // Step 4: typ (RFC 7515 §4.1.9 lets "application/" be left out, and media types ignore case).
    if (typeof header['typ'] !== 'string' || header['typ'].toLowerCase() !== 'dpop+jwt') {
      throw invalid('the DPoP proof "typ" must be "dpop+jwt"', 'typ');
    }
    const alg = header['alg'];
    if (typeof alg !== 'string' || !allowed.has(alg)) {
      throw invalid(
        `the DPoP proof algorithm is not accepted (use ${algorithms.join(', ')})`,
        'alg',
      );
    }
    // RFC 7515 §4.1.11: no extension is understood here, so any crit is refused.
    if (header['crit'] !== undefined) {
      throw invalid(
        'the DPoP proof marks a header parameter critical that is not understood',
        'crit',
      );
    }
    const key = keyOf(header['jwk']);
    let check = key.checks.get(alg as Algorithm);
    if (check === undefined) {
      try {
        assertKeyFits({ key: key.key, alg: undefined, kid: undefined }, alg as Algorithm, false);
      } catch {
        throw invalid(`the DPoP proof "jwk" does not fit ${alg}`, 'jwk');
      }
      check = checkerFor(ALGORITHM_INFO[alg as Algorithm], key.key);
      key.checks.set(alg as Algorithm, check);
    }
    // Frozen: the same object is handed to every caller whose proof carries this segment.
    const entry: HeaderEntry = { header: Object.freeze(header), key, check };
    // Only a header that passed is kept: the same bytes always decode to the same checked header.
    if (segment.length <= HEADER_CACHE_MAX_LENGTH) {
      remember(headers, HEADER_CACHE_SIZE, segment, entry);
    }
    return entry;
  };

  const htus = new Map<string, string | undefined>();
  /** normalizeHtu, remembered per string (a server sees few URLs; a client's proofs repeat them). */
  const htuOf = (url: string | URL): string | undefined => {
    if (typeof url !== 'string') return normalizeHtu(url);
    let normalized = htus.get(url);
    if (normalized === undefined && !htus.has(url)) {
      normalized = normalizeHtu(url);
      if (url.length <= HTU_CACHE_MAX_LENGTH) remember(htus, HTU_CACHE_SIZE, url, normalized);
    }
    return normalized;
  };

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
    const { header, key: entry, check } = headers.get(segment) ?? checkHeader(segment, proof, dot1);
    // Step 6: the signature, by the key in the header, before any claim is read.
    if (!check(proof, dot2)) throw invalid('the DPoP proof signature is not valid');

    const payload = parseObject(proof, dot1 + 1, dot2, 'payload');
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
    if (expected.nonce !== undefined) {
      const nonce = payload['nonce'];
      const good =
        typeof nonce === 'string' &&
        (typeof expected.nonce === 'string' ? nonce === expected.nonce : expected.nonce(nonce));
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
