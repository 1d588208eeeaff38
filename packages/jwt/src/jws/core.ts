// The part of verification that every compact JWS shares, in the order that keeps attacker-chosen
// input away from anything costly: size cap → structure → header (alg allow-list, crit) → key →
// signature. Nothing of the payload is read here; callers read it only after the signature passed.
import type { KeyObject } from 'node:crypto';
import { staticKeySet } from '../jwks/select.ts';
import { ALGORITHM_INFO, checkAlgorithmList, isAlgorithm } from '../lib/algorithms.ts';
import { decodeStrict, isCanonicalRange } from '../lib/base64url.ts';
import { type CheckFn, checkerFor } from '../lib/crypto.ts';
import { JwtError } from '../lib/errors.ts';
import { deepFreeze } from '../lib/freeze.ts';
import { assertKeyFits, prepareKey } from '../lib/keys.ts';
import { plainText } from '../lib/text.ts';
import type {
  Algorithm,
  Jwk,
  JwtHeader,
  KeyInput,
  KeyResolver,
  VerifierOptions,
} from '../types.ts';

export const DEFAULT_MAX_TOKEN_LENGTH = 16 * 1024;

// RFC 7515 §4.1 and RFC 7519 §5: names the specs define may not appear in crit (§4.1.11).
const REGISTERED = new Set([
  'alg',
  'jku',
  'jwk',
  'kid',
  'x5u',
  'x5c',
  'x5t',
  'x5t#S256',
  'typ',
  'cty',
  'crit',
  'enc',
  'zip',
]);
const HEADER_CACHE_SIZE = 64;

export interface HeaderEntry {
  readonly header: JwtHeader;
  /** Set when the key is known from the header alone (a static key or a key set). */
  readonly check: CheckFn | undefined;
}

export type CoreOptions = Pick<
  VerifierOptions,
  'key' | 'algorithms' | 'crit' | 'maxTokenLength' | 'allowWeakKey'
>;

/** Where the pieces of a compact token are: `header.payload.signature`. */
/** Where the dots are in a token whose three parts passed the structure checks (canonical base64url). */
export interface Parts {
  readonly dot1: number;
  readonly dot2: number;
}

export interface Core {
  readonly maxTokenLength: number;
  readonly resolver: KeyResolver | undefined;
  /** Size and structure; returns the dot positions. */
  split(token: unknown): Parts;
  header(token: string, parts: Parts): HeaderEntry;
  /** For resolvers: the checker of a resolved key for one alg. */
  resolveCheck(header: JwtHeader): Promise<CheckFn>;
}

function isJwks(value: unknown): value is { keys: Jwk[] } {
  return (
    value !== null &&
    typeof value === 'object' &&
    Array.isArray((value as { keys?: unknown }).keys) &&
    !('kty' in value)
  );
}

export function createCore(options: CoreOptions): Core {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options are required: { key, algorithms }');
  }
  const algorithms = checkAlgorithmList(options.algorithms);
  const allowed = new Set<string>(algorithms);
  const allowWeak = options.allowWeakKey === true;
  const maxTokenLength = options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH;
  if (!Number.isInteger(maxTokenLength) || maxTokenLength < 16) {
    throw new TypeError('maxTokenLength must be an integer of at least 16 characters');
  }
  if (
    options.crit !== undefined &&
    !(Array.isArray(options.crit) && options.crit.every((c) => typeof c === 'string'))
  ) {
    throw new TypeError('crit must be an array of header parameter names');
  }
  const understood = new Set(options.crit ?? []);
  const { key } = options;
  if (key === undefined || key === null) {
    throw new TypeError(
      'key is required: a secret, a public key (PEM, JWK, KeyObject), a JWKS or a resolver',
    );
  }

  let staticChecks: Map<Algorithm, CheckFn> | undefined;
  let fromSet: ((header: JwtHeader) => CheckFn) | undefined;
  let resolver: KeyResolver | undefined;
  if (typeof key === 'function') {
    resolver = key;
  } else if (isJwks(key)) {
    fromSet = staticKeySet(key.keys, algorithms, allowWeak);
  } else {
    const prepared = prepareKey(key as KeyInput, 'verify');
    staticChecks = new Map();
    for (const alg of algorithms) {
      assertKeyFits(prepared, alg, allowWeak);
      staticChecks.set(alg, checkerFor(ALGORITHM_INFO[alg], prepared.key));
    }
  }

  const headers = new Map<string, HeaderEntry>();

  return {
    maxTokenLength,
    resolver,
    split(token) {
      if (typeof token !== 'string') {
        throw new JwtError('ERR_JWT_MALFORMED', 'the token must be a string');
      }
      if (token.length > maxTokenLength) {
        throw new JwtError(
          'ERR_JWT_TOO_LARGE',
          `the token is ${token.length} characters; the limit is ${maxTokenLength} (maxTokenLength)`,
        );
      }
      const dot1 = token.indexOf('.');
      const dot2 = dot1 === -1 ? -1 : token.indexOf('.', dot1 + 1);
      if (dot2 === -1) {
        throw new JwtError(
          'ERR_JWT_MALFORMED',
          'a compact JWS has three parts: header.payload.signature',
        );
      }
      if (token.indexOf('.', dot2 + 1) !== -1) {
        throw new JwtError(
          'ERR_JWT_MALFORMED',
          token.split('.').length === 5
            ? 'encrypted tokens (JWE) are not supported; a compact JWS has three parts'
            : 'a compact JWS has exactly three parts: header.payload.signature',
        );
      }
      if (dot1 === 0) throw new JwtError('ERR_JWT_MALFORMED', 'the header is empty');
      // The whole structure is checked before any signature: the signing input is then ASCII.
      if (!isCanonicalRange(token, dot1 + 1, dot2)) {
        throw new JwtError(
          'ERR_JWT_MALFORMED',
          'the payload is not canonical base64url (RFC 7515 §2: URL-safe alphabet, no padding, no whitespace)',
        );
      }
      if (!isCanonicalRange(token, dot2 + 1, token.length)) {
        throw new JwtError(
          'ERR_JWT_MALFORMED',
          'the signature is not canonical base64url (RFC 7515 §2: URL-safe alphabet, no padding, no whitespace)',
        );
      }
      return { dot1, dot2 };
    },
    header(token, parts) {
      const segment = token.slice(0, parts.dot1);
      let entry = headers.get(segment);
      if (entry === undefined) {
        // Shared by every token with this header: frozen, so a caller cannot change it for others.
        const header = deepFreeze(parseHeader(segment, allowed, understood));
        entry = {
          header,
          check: staticChecks
            ? staticChecks.get(header.alg)
            : fromSet
              ? fromSet(header)
              : undefined,
        };
        // Validated headers repeat across tokens: cache a few so the hot path skips JSON.parse.
        // First in, first out, so headers crafted to fill it cannot keep real ones out for good.
        if (headers.size >= HEADER_CACHE_SIZE) headers.delete(headers.keys().next().value!);
        headers.set(segment, entry);
      }
      return entry;
    },
    resolveCheck: resolver
      ? createResolverChecks(resolver, allowWeak)
      : () => Promise.reject(new Error('no resolver')),
  };
}

function parseHeader(segment: string, allowed: Set<string>, understood: Set<string>): JwtHeader {
  const json = decodeStrict(segment, 'header').toString('utf8');
  let header: unknown;
  try {
    header = JSON.parse(json);
  } catch {
    throw new JwtError('ERR_JWT_MALFORMED', 'the header is not valid JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new JwtError('ERR_JWT_MALFORMED', 'the header is not a JSON object');
  }
  const h = header as Record<string, unknown>;
  const { alg } = h;
  if (typeof alg !== 'string') {
    throw new JwtError('ERR_JWT_MALFORMED', 'the header has no "alg" string');
  }
  if (!allowed.has(alg)) {
    throw new JwtError(
      'ERR_JWS_ALG_NOT_ALLOWED',
      alg.toLowerCase() === 'none'
        ? 'unsigned tokens (alg "none") are never accepted'
        : `the token's alg${isAlgorithm(alg) ? ` ${alg}` : ''} is not in the allowed algorithms (${[...allowed].join(', ')})`,
    );
  }
  for (const name of ['kid', 'typ', 'cty'] as const) {
    if (h[name] !== undefined && typeof h[name] !== 'string') {
      throw new JwtError('ERR_JWT_MALFORMED', `the header "${name}" must be a string`);
    }
  }
  // RFC 7797: an unencoded payload changes what is signed; it is refused whether or not crit names it.
  if (h.b64 !== undefined) {
    throw new JwtError(
      'ERR_JWS_CRIT_UNSUPPORTED',
      'unencoded payloads (RFC 7797 "b64") are not supported',
    );
  }
  if (h.crit !== undefined) {
    // RFC 7515 §4.1.11: crit is a non-empty list of names present in the header that the recipient
    // understands; anything else makes the JWS invalid.
    const { crit } = h;
    if (!Array.isArray(crit) || crit.length === 0 || !crit.every((c) => typeof c === 'string')) {
      throw new JwtError(
        'ERR_JWT_MALFORMED',
        'the header "crit" must be a non-empty array of strings',
      );
    }
    for (const name of crit as string[]) {
      if (REGISTERED.has(name) || !(name in h)) {
        throw new JwtError(
          'ERR_JWT_MALFORMED',
          `the header "crit" lists "${safeName(name)}", which it may not`,
        );
      }
      if (!understood.has(name)) {
        throw new JwtError(
          'ERR_JWS_CRIT_UNSUPPORTED',
          `the header marks "${safeName(name)}" critical and this verifier does not understand it (RFC 7515 §4.1.11); list it in the crit option if you check it`,
        );
      }
    }
  }
  return h as JwtHeader;
}

// Token text is attacker-chosen: it reaches a message only when short and plain.
function safeName(name: string): string {
  return plainText(name, 32) ?? '(unprintable)';
}

function createResolverChecks(resolver: KeyResolver, allowWeak: boolean) {
  // Prepared keys are remembered by identity (objects) or value (strings), so a resolver that
  // returns the same key each time costs one import, not one per token.
  const byObject = new WeakMap<object, Map<Algorithm, CheckFn>>();
  const byString = new Map<string, Map<Algorithm, CheckFn>>();
  return async (header: JwtHeader): Promise<CheckFn> => {
    const input = await resolver(header);
    if (input === undefined || input === null) {
      throw new JwtError('ERR_KEY_NOT_FOUND', 'no key was found for this token');
    }
    let checks = typeof input === 'string' ? byString.get(input) : byObject.get(input as object);
    if (checks === undefined) {
      checks = new Map();
      if (typeof input === 'string') {
        if (byString.size >= 64) byString.clear();
        byString.set(input, checks);
      } else {
        byObject.set(input as object, checks);
      }
    }
    let check = checks.get(header.alg);
    if (check === undefined) {
      const prepared = prepareKey(input as KeyInput | KeyObject, 'verify');
      assertKeyFits(prepared, header.alg, allowWeak);
      check = checkerFor(ALGORITHM_INFO[header.alg], prepared.key);
      checks.set(header.alg, check);
    }
    return check;
  };
}

/** Refuses a bad signature with the one code for it. */
export function assertSignature(check: CheckFn, token: string, parts: Parts): void {
  if (!check(token, parts.dot2)) {
    throw new JwtError('ERR_JWS_SIGNATURE_INVALID', 'the signature does not match the key');
  }
}
