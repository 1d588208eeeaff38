// RFC 7519 §4.1 claim checks, run only on payloads whose signature has already been verified.

import { parseDuration } from '../lib/duration.ts';
import { JwtError } from '../lib/errors.ts';
import type { JwtHeader, JwtPayload, VerifierOptions } from '../types.ts';

// The largest NumericDate a JavaScript Date can hold (8.64e15 ms): beyond it a "time" is garbage.
const MAX_NUMERIC_DATE = 8.64e12;

export interface ClaimRules {
  readonly requireExp: boolean;
  readonly tolerance: number;
  readonly maxAge: number | undefined;
  readonly issuer: ReadonlySet<string> | undefined;
  readonly audience: ReadonlySet<string> | undefined;
  readonly subject: string | undefined;
  readonly typ: string | undefined;
  readonly required: readonly string[];
  readonly now: () => number;
}

function stringSet(value: unknown, name: string): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === 'string' && v)) {
    throw new TypeError(`${name} must be a non-empty string or array of strings`);
  }
  return new Set(list as string[]);
}

/** RFC 7515 §4.1.9: `typ` compares case-insensitively, with `application/` optional. */
export function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice(12) : lower;
}

/** Validates the claim options once, at setup. */
export function claimRules(options: VerifierOptions): ClaimRules {
  const { requireExp = true, now = Date.now } = options;
  if (typeof requireExp !== 'boolean') throw new TypeError('requireExp must be a boolean');
  if (typeof now !== 'function')
    throw new TypeError('now must be a function returning milliseconds');
  if (options.subject !== undefined && typeof options.subject !== 'string') {
    throw new TypeError('subject must be a string');
  }
  if (options.typ !== undefined && (typeof options.typ !== 'string' || !options.typ)) {
    throw new TypeError('typ must be a non-empty string, e.g. "at+jwt"');
  }
  const required = options.requiredClaims ?? [];
  if (!Array.isArray(required) || !required.every((c) => typeof c === 'string')) {
    throw new TypeError('requiredClaims must be an array of claim names');
  }
  return {
    requireExp,
    tolerance:
      options.clockTolerance === undefined
        ? 0
        : parseDuration(options.clockTolerance, 'clockTolerance'),
    maxAge: options.maxAge === undefined ? undefined : parseDuration(options.maxAge, 'maxAge'),
    issuer: stringSet(options.issuer, 'issuer'),
    audience: stringSet(options.audience, 'audience'),
    subject: options.subject,
    typ: options.typ === undefined ? undefined : normalizeTyp(options.typ),
    required,
    now,
  };
}

function numericDate(payload: JwtPayload, claim: 'exp' | 'nbf' | 'iat'): number | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    value > MAX_NUMERIC_DATE
  ) {
    throw new JwtError(
      'ERR_JWT_CLAIM_INVALID',
      `the "${claim}" claim must be a NumericDate (seconds since 1970 as a number)`,
      claim,
    );
  }
  return value;
}

function optionalString(payload: JwtPayload, claim: 'iss' | 'sub' | 'jti'): void {
  const value = payload[claim];
  if (value !== undefined && typeof value !== 'string') {
    throw new JwtError('ERR_JWT_CLAIM_INVALID', `the "${claim}" claim must be a string`, claim);
  }
}

/**
 * The time claims against the clock (`now`, seconds): `exp`, `nbf`, `iat` and `maxAge`. Returns the
 * time (s) after which the token is no longer valid, or Infinity when nothing bounds it.
 */
function checkTimes(
  now: number,
  exp: number | undefined,
  nbf: number | undefined,
  iat: number | undefined,
  rules: ClaimRules,
): number {
  const { tolerance } = rules;
  let validUntil = Number.POSITIVE_INFINITY;
  if (exp === undefined) {
    if (rules.requireExp) {
      throw new JwtError(
        'ERR_JWT_CLAIM_MISSING',
        'the token has no "exp" claim; tokens must expire (set requireExp: false to accept it)',
        'exp',
      );
    }
  } else {
    // RFC 7519 §4.1.4: the token must not be accepted on or after exp.
    if (now >= exp + tolerance)
      throw new JwtError('ERR_JWT_EXPIRED', 'the token has expired', 'exp');
    validUntil = exp + tolerance;
  }
  if (nbf !== undefined && now + tolerance < nbf) {
    throw new JwtError(
      'ERR_JWT_NOT_YET_VALID',
      'the token is not valid yet ("nbf" is in the future)',
      'nbf',
    );
  }
  if (iat !== undefined && iat > now + tolerance) {
    throw new JwtError(
      'ERR_JWT_NOT_YET_VALID',
      'the token was issued in the future ("iat")',
      'iat',
    );
  }
  if (rules.maxAge !== undefined) {
    if (iat === undefined) {
      throw new JwtError(
        'ERR_JWT_CLAIM_MISSING',
        'the token has no "iat" claim, which maxAge needs',
        'iat',
      );
    }
    const end = iat + rules.maxAge + tolerance;
    if (now >= end) throw new JwtError('ERR_JWT_EXPIRED', 'the token is older than maxAge', 'iat');
    if (end < validUntil) validUntil = end;
  }
  return validUntil;
}

/** Who the token is from, for and about: `iss`, `aud` and `sub` against the expected ones. */
function checkParties(payload: JwtPayload, rules: ClaimRules): void {
  if (rules.issuer) {
    if (payload.iss === undefined)
      throw new JwtError('ERR_JWT_CLAIM_MISSING', 'the token has no "iss" claim', 'iss');
    if (!rules.issuer.has(payload.iss)) {
      throw new JwtError(
        'ERR_JWT_CLAIM_INVALID',
        'the "iss" claim is not an accepted issuer',
        'iss',
      );
    }
  }
  const { aud } = payload;
  if (
    aud !== undefined &&
    typeof aud !== 'string' &&
    !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))
  ) {
    throw new JwtError(
      'ERR_JWT_CLAIM_INVALID',
      'the "aud" claim must be a string or an array of strings',
      'aud',
    );
  }
  if (rules.audience) {
    if (aud === undefined)
      throw new JwtError('ERR_JWT_CLAIM_MISSING', 'the token has no "aud" claim', 'aud');
    const audience = rules.audience;
    if (typeof aud === 'string' ? !audience.has(aud) : !aud.some((a) => audience.has(a))) {
      throw new JwtError(
        'ERR_JWT_CLAIM_INVALID',
        'the "aud" claim does not name this audience',
        'aud',
      );
    }
  }
  if (rules.subject !== undefined) {
    if (payload.sub === undefined)
      throw new JwtError('ERR_JWT_CLAIM_MISSING', 'the token has no "sub" claim', 'sub');
    if (payload.sub !== rules.subject) {
      throw new JwtError(
        'ERR_JWT_CLAIM_INVALID',
        'the "sub" claim is not the expected subject',
        'sub',
      );
    }
  }
}

/** The header's `typ` and the claims the verifier requires. */
function checkTypAndRequired(header: JwtHeader, payload: JwtPayload, rules: ClaimRules): void {
  if (rules.typ !== undefined) {
    if (header.typ === undefined) {
      throw new JwtError(
        'ERR_JWT_CLAIM_MISSING',
        `the header has no "typ"; expected "${rules.typ}"`,
        'typ',
      );
    }
    // Tokens mostly carry the expected form already: compare before normalizing.
    if (header.typ !== rules.typ && normalizeTyp(header.typ) !== rules.typ) {
      throw new JwtError('ERR_JWT_CLAIM_INVALID', `the header "typ" is not "${rules.typ}"`, 'typ');
    }
  }
  for (const claim of rules.required) {
    // Own members only: "constructor" or "toString" are not claims a token has.
    if (!Object.hasOwn(payload, claim) || payload[claim] === undefined) {
      throw new JwtError(
        'ERR_JWT_CLAIM_MISSING',
        `the token has no "${claim}" claim, which is required`,
        claim,
      );
    }
  }
}

/**
 * Checks registered claims and the `typ` header; returns the time (ms) after which the result is
 * no longer valid (Infinity when nothing bounds it), which the verify cache uses.
 */
export function checkClaims(header: JwtHeader, payload: JwtPayload, rules: ClaimRules): number {
  const now = rules.now() / 1000;
  // Every claim's type first, so a malformed token is told so before any comparison.
  const exp = numericDate(payload, 'exp');
  const nbf = numericDate(payload, 'nbf');
  const iat = numericDate(payload, 'iat');
  optionalString(payload, 'iss');
  optionalString(payload, 'sub');
  optionalString(payload, 'jti');
  const validUntil = checkTimes(now, exp, nbf, iat, rules);
  checkParties(payload, rules);
  checkTypAndRequired(header, payload, rules);
  return validUntil * 1000;
}
