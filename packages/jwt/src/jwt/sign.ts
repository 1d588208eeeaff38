import { randomBytes } from 'node:crypto';
import { checkExtraHeader, prepareSigning } from '../jws/sign.ts';
import { encode } from '../lib/base64url.ts';
import { parseDuration } from '../lib/duration.ts';
import { checkOptions, optionNames } from '../lib/options.ts';
import type { Signer, SignerOptions } from '../types.ts';

const RESERVED_HEADER = new Set(['alg', 'kid', 'typ', 'crit', 'b64']);
const MAX_NUMERIC_DATE = 8.64e12;
const OPTION_NAMES = optionNames<SignerOptions>({
  key: true,
  algorithm: true,
  kid: true,
  typ: true,
  header: true,
  expiresIn: true,
  notBefore: true,
  issuer: true,
  audience: true,
  subject: true,
  jti: true,
  noTimestamp: true,
  requireExp: true,
  allowWeakKey: true,
  now: true,
});

function optionalString(value: unknown, name: string): string | undefined {
  if (value !== undefined && (typeof value !== 'string' || value === '')) {
    throw new TypeError(`${name} must be a non-empty string`);
  }
  return value as string | undefined;
}

/**
 * Prepares a JWT signer once: the key is imported and checked against the algorithm, the header
 * is encoded, the options are validated. Then `signer(payload)` returns a compact JWT.
 * @throws TypeError at setup for bad options; JwtError (`ERR_KEY_*`) for an unusable key.
 * @example
 * const signer = createSigner({ key: secret, algorithm: 'HS256', expiresIn: '15m', issuer: 'https://auth.example' });
 * const token = signer({ sub: 'user_123', roles: ['user'] });
 */
export function createSigner(options: SignerOptions): Signer {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options are required: { key, algorithm }');
  }
  checkOptions('createSigner', options, OPTION_NAMES);
  const { alg, sign } = prepareSigning(options.key, options.algorithm, options.allowWeakKey);
  const kid = optionalString(options.kid, 'kid');
  const typ = options.typ === null ? undefined : (optionalString(options.typ, 'typ') ?? 'JWT');
  const header = {
    alg,
    ...(typ === undefined ? {} : { typ }),
    ...(kid === undefined ? {} : { kid }),
    ...checkExtraHeader(options.header, RESERVED_HEADER),
  };
  const prefix = `${encode(JSON.stringify(header))}.`;

  const expiresIn =
    options.expiresIn === undefined ? undefined : parseDuration(options.expiresIn, 'expiresIn');
  const notBefore =
    options.notBefore === undefined ? undefined : parseDuration(options.notBefore, 'notBefore');
  const issuer = optionalString(options.issuer, 'issuer');
  const subject = optionalString(options.subject, 'subject');
  const { audience } = options;
  if (
    audience !== undefined &&
    !(typeof audience === 'string' && audience) &&
    !(
      Array.isArray(audience) &&
      audience.length > 0 &&
      audience.every((a) => typeof a === 'string' && a)
    )
  ) {
    throw new TypeError('audience must be a non-empty string or array of strings');
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function')
    throw new TypeError('now must be a function returning milliseconds');
  const requireExp = options.requireExp ?? true;
  const withIat = options.noTimestamp !== true;
  const withJti = options.jti === true;

  // Claims that options set are appended as JSON text; a payload that sets one too is a mistake.
  const fixed: string[] = [];
  if (issuer !== undefined) fixed.push(`"iss":${JSON.stringify(issuer)}`);
  if (subject !== undefined) fixed.push(`"sub":${JSON.stringify(subject)}`);
  if (audience !== undefined) fixed.push(`"aud":${JSON.stringify(audience)}`);
  const fixedText = fixed.join(',');
  const owned = [
    ...(issuer !== undefined ? ['iss'] : []),
    ...(subject !== undefined ? ['sub'] : []),
    ...(audience !== undefined ? ['aud'] : []),
    ...(expiresIn !== undefined ? ['exp'] : []),
    ...(notBefore !== undefined ? ['nbf'] : []),
    ...(withJti ? ['jti'] : []),
  ];

  return (payload: Record<string, unknown> = {}) => {
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      throw new TypeError('the payload must be a plain object of claims');
    }
    for (const claim of owned) {
      if (payload[claim] !== undefined) {
        throw new TypeError(
          `payload.${claim} conflicts with the signer's option for it; set it in one place`,
        );
      }
    }
    let iat = payload.iat;
    if (iat !== undefined) checkDate(iat, 'iat');
    else iat = Math.floor(now() / 1000);
    if (payload.exp !== undefined) checkDate(payload.exp, 'exp');
    if (payload.nbf !== undefined) checkDate(payload.nbf, 'nbf');
    if (requireExp && expiresIn === undefined && payload.exp === undefined) {
      throw new TypeError(
        'the token would never expire: set expiresIn, or exp in the payload (or requireExp: false)',
      );
    }
    let extra = fixedText;
    const add = (text: string) => {
      extra = extra ? `${extra},${text}` : text;
    };
    if (withIat && payload.iat === undefined) add(`"iat":${iat}`);
    if (expiresIn !== undefined) add(`"exp":${(iat as number) + expiresIn}`);
    if (notBefore !== undefined) add(`"nbf":${(iat as number) + notBefore}`);
    if (withJti) add(`"jti":"${randomBytes(16).toString('base64url')}"`);

    let json: string;
    try {
      json = JSON.stringify(payload);
    } catch (error) {
      throw new TypeError(`the payload cannot be serialized as JSON: ${(error as Error).message}`);
    }
    if (typeof json !== 'string' || json.charCodeAt(0) !== 123 /* { */) {
      throw new TypeError('the payload must serialize to a JSON object');
    }
    if (extra) json = json.length === 2 ? `{${extra}}` : `${json.slice(0, -1)},${extra}}`;
    const input = prefix + encode(json);
    return `${input}.${sign(input)}`;
  };
}

function checkDate(value: unknown, claim: string): void {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    value > MAX_NUMERIC_DATE
  ) {
    throw new TypeError(`payload.${claim} must be a NumericDate (seconds since 1970)`);
  }
}

/** Signs one JWT. Prepares a signer per call: for many tokens use `createSigner`. */
export function sign(payload: Record<string, unknown>, options: SignerOptions): string {
  return createSigner(options)(payload);
}
