import { DEFAULT_MAX_TOKEN_LENGTH } from '../jws/core.ts';
import { decodeStrict, isCanonical } from '../lib/base64url.ts';
import { JwtError } from '../lib/errors.ts';
import { checkOptions } from '../lib/options.ts';
import { parsePayload } from './verify.ts';

/** What `decodeUnverified` returns: anyone could have written it. */
export interface UnverifiedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

const OPTION_NAMES = ['maxTokenLength'] as const;

/**
 * Reads a JWT's header and payload WITHOUT checking its signature or claims: for display and
 * debugging, never for a decision. Structure is still checked (coded errors).
 * @example
 * const { header, payload } = decodeUnverified(token); // do not trust these values
 */
export function decodeUnverified(
  token: string,
  options: { maxTokenLength?: number } = {},
): UnverifiedJwt {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object: { maxTokenLength }');
  }
  checkOptions('decodeUnverified', options, OPTION_NAMES);
  const max = options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH;
  if (typeof token !== 'string')
    throw new JwtError('ERR_JWT_MALFORMED', 'the token must be a string');
  if (token.length > max) {
    throw new JwtError(
      'ERR_JWT_TOO_LARGE',
      `the token is ${token.length} characters; the limit is ${max}`,
    );
  }
  const parts = token.split('.');
  if (parts.length !== 3) {
    throw new JwtError(
      'ERR_JWT_MALFORMED',
      'a compact JWT has exactly three parts: header.payload.signature',
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(decodeStrict(parts[0]!, 'header').toString('utf8'));
  } catch (error) {
    if (error instanceof JwtError) throw error;
    throw new JwtError('ERR_JWT_MALFORMED', 'the header is not valid JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new JwtError('ERR_JWT_MALFORMED', 'the header is not a JSON object');
  }
  if (!isCanonical(parts[1]!)) {
    throw new JwtError('ERR_JWT_MALFORMED', 'the payload is not canonical base64url');
  }
  if (!isCanonical(parts[2]!)) {
    throw new JwtError('ERR_JWT_MALFORMED', 'the signature is not canonical base64url');
  }
  const dot1 = parts[0]!.length;
  const payload = parsePayload(token, { dot1, dot2: dot1 + 1 + parts[1]!.length });
  return { header: header as Record<string, unknown>, payload };
}
