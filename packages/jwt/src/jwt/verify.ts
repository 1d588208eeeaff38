import { assertSignature, createCore, type Parts } from '../jws/core.ts';
import { ExpiringLru } from '../lib/cache.ts';
import type { CheckFn } from '../lib/crypto.ts';
import { JwtError } from '../lib/errors.ts';
import { deepFreeze } from '../lib/freeze.ts';
import { checkOptions, optionNames } from '../lib/options.ts';
import type {
  AsyncVerifier,
  JwtHeader,
  JwtPayload,
  KeyResolver,
  SyncVerifier,
  VerifiedJwt,
  VerifierOptions,
} from '../types.ts';
import { checkClaims, claimRules } from './claims.ts';

const DEFAULT_CACHE_SIZE = 1000;
const OPTION_NAMES = optionNames<VerifierOptions>({
  key: true,
  algorithms: true,
  issuer: true,
  audience: true,
  subject: true,
  typ: true,
  requiredClaims: true,
  requireExp: true,
  maxAge: true,
  clockTolerance: true,
  now: true,
  maxTokenLength: true,
  crit: true,
  allowWeakKey: true,
  cache: true,
});
const CACHE_OPTION_NAMES = optionNames<{ max?: number }>({ max: true });
let scratch = Buffer.allocUnsafe(12 * 1024);

/** Parses the payload of an authentic token: it must be a JSON object (RFC 7519 §7.2 step 10). */
export function parsePayload(token: string, parts: Parts): JwtPayload {
  const length = parts.dot2 - parts.dot1 - 1;
  // Decoded into one reused buffer (parsing is synchronous): no allocation per token.
  if (scratch.length < length) scratch = Buffer.allocUnsafe(length);
  const written = scratch.write(token.slice(parts.dot1 + 1, parts.dot2), 0, 'base64url');
  const json = scratch.toString('utf8', 0, written);
  let payload: unknown;
  try {
    payload = JSON.parse(json);
  } catch {
    throw new JwtError('ERR_JWT_MALFORMED', 'the payload is not valid JSON');
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new JwtError('ERR_JWT_MALFORMED', 'the payload is not a JSON object');
  }
  return payload as JwtPayload;
}

function cacheSize(cache: VerifierOptions['cache']): number {
  if (cache === undefined || cache === false) return 0;
  if (cache === true) return DEFAULT_CACHE_SIZE;
  if (cache === null || typeof cache !== 'object') {
    throw new TypeError('cache must be true, false or { max }');
  }
  checkOptions('createVerifier', cache, CACHE_OPTION_NAMES, 'cache.');
  const max = cache.max ?? DEFAULT_CACHE_SIZE;
  if (!Number.isInteger(max) || max < 1)
    throw new TypeError('cache.max must be a positive integer');
  return max;
}

/**
 * Prepares a JWT verifier once; call it per token. Checks, in order: size, structure, header
 * (`alg` in the allow-list and fitting the key, `crit`), signature, and only then the claims.
 * With a static key or a JWKS the verifier is synchronous; with a resolver it returns a Promise.
 * @throws TypeError at setup for bad options; JwtError (`ERR_KEY_*`) for an unusable key.
 * @example
 * const verify = createVerifier({ key: secret, algorithms: ['HS256'], issuer: 'https://auth.example' });
 * const { payload } = verify(token); // throws JwtError with a stable .code
 */
export function createVerifier<P = JwtPayload>(
  options: VerifierOptions & { key: KeyResolver },
): AsyncVerifier<P>;
export function createVerifier<P = JwtPayload>(options: VerifierOptions): SyncVerifier<P>;
export function createVerifier<P = JwtPayload>(
  options: VerifierOptions,
): SyncVerifier<P> | AsyncVerifier<P> {
  if (options !== null && typeof options === 'object') {
    checkOptions('createVerifier', options, OPTION_NAMES);
  }
  const core = createCore(options);
  const rules = claimRules(options);
  const size = cacheSize(options.cache);
  const cache = size > 0 ? new ExpiringLru<VerifiedJwt<P>>(size) : undefined;
  const { now } = rules;

  const finish = (token: string, parts: Parts, header: JwtHeader): VerifiedJwt<P> => {
    const payload = parsePayload(token, parts);
    const until = checkClaims(header, payload, rules);
    const result = { header, payload: payload as P };
    // A cached result is handed to every caller of the same token: frozen all the way down.
    if (cache) cache.set(token, deepFreeze(result), until);
    return result;
  };

  if (core.resolver) {
    // A resolver's keys change (a JWKS drops a withdrawn key), so a cached result also remembers
    // the checker of the key that verified it, and a hit counts only while the resolver still
    // gives that same key for the token's header. A withdrawn key's tokens then fail at once
    // (ERR_KEY_NOT_FOUND), not at their `exp`. The checkers are kept per key object, so an
    // unchanged key gives the same one.
    const checked = cache ? new WeakMap<VerifiedJwt<P>, CheckFn>() : undefined;
    return async (token: string) => {
      const parts = core.split(token);
      let check: CheckFn | undefined;
      if (cache) {
        const hit = cache.get(token, now());
        if (hit) {
          // The same token has the same header: a key that changed is checked afresh below.
          check = await core.resolveCheck(hit.header);
          if (check === checked!.get(hit)) return hit;
        }
      }
      const { header } = core.header(token, parts);
      check ??= await core.resolveCheck(header);
      assertSignature(check, token, parts);
      const result = finish(token, parts, header);
      checked?.set(result, check);
      return result;
    };
  }
  if (cache) {
    return (token: string) => {
      if (typeof token === 'string' && token.length <= core.maxTokenLength) {
        const hit = cache.get(token, now());
        if (hit) return hit;
      }
      const parts = core.split(token);
      const { header, check } = core.header(token, parts);
      assertSignature(check!, token, parts);
      return finish(token, parts, header);
    };
  }
  return (token: string) => {
    const parts = core.split(token);
    const { header, check } = core.header(token, parts);
    assertSignature(check!, token, parts);
    return finish(token, parts, header);
  };
}

/**
 * Verifies one token. Prepares a verifier per call: for many tokens use `createVerifier`.
 */
export function verify<P = JwtPayload>(
  token: string,
  options: VerifierOptions & { key: KeyResolver },
): Promise<VerifiedJwt<P>>;
export function verify<P = JwtPayload>(token: string, options: VerifierOptions): VerifiedJwt<P>;
export function verify<P = JwtPayload>(
  token: string,
  options: VerifierOptions,
): VerifiedJwt<P> | Promise<VerifiedJwt<P>> {
  return createVerifier<P>(options)(token);
}
