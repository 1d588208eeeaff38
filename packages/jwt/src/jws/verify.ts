import { checkOptions, optionNames } from '../lib/options.ts';
import type { JwtHeader, KeyResolver, VerifierOptions } from '../types.ts';
import { assertSignature, createCore } from './core.ts';

export interface VerifiedJws {
  header: JwtHeader;
  /** The payload bytes, authentic. */
  payload: Buffer;
}

export type CompactVerifierOptions = Pick<
  VerifierOptions,
  'key' | 'algorithms' | 'crit' | 'maxTokenLength' | 'allowWeakKey'
>;

const OPTION_NAMES = optionNames<CompactVerifierOptions>({
  key: true,
  algorithms: true,
  crit: true,
  maxTokenLength: true,
  allowWeakKey: true,
});

/**
 * Prepares a verifier of compact JWS with any payload (RFC 7515 §7.1). For JWTs use
 * `createVerifier`, which also checks claims.
 * @example
 * const verify = createCompactVerifier({ key: publicJwk, algorithms: ['EdDSA'] });
 * const { payload } = verify(jws); // Buffer
 */
export function createCompactVerifier(
  options: CompactVerifierOptions & { key: KeyResolver },
): (token: string) => Promise<VerifiedJws>;
export function createCompactVerifier(
  options: CompactVerifierOptions,
): (token: string) => VerifiedJws;
export function createCompactVerifier(
  options: CompactVerifierOptions,
): ((token: string) => VerifiedJws) | ((token: string) => Promise<VerifiedJws>) {
  if (options !== null && typeof options === 'object') {
    checkOptions('createCompactVerifier', options, OPTION_NAMES);
  }
  const core = createCore(options);
  if (core.resolver) {
    return async (token: string) => {
      const parts = core.split(token);
      const { header } = core.header(token, parts);
      assertSignature(await core.resolveCheck(header), token, parts);
      return { header, payload: Buffer.from(token.slice(parts.dot1 + 1, parts.dot2), 'base64url') };
    };
  }
  return (token: string) => {
    const parts = core.split(token);
    const { header, check } = core.header(token, parts);
    assertSignature(check!, token, parts);
    return { header, payload: Buffer.from(token.slice(parts.dot1 + 1, parts.dot2), 'base64url') };
  };
}
