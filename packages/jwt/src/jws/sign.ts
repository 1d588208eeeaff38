import { ALGORITHM_INFO, isAlgorithm } from '../lib/algorithms.ts';
import { encode } from '../lib/base64url.ts';
import { type SignFn, signerFor } from '../lib/crypto.ts';
import { assertKeyFits, type PreparedKey, prepareKey } from '../lib/keys.ts';
import { checkOptions, optionNames } from '../lib/options.ts';
import type { Algorithm, KeyInput } from '../types.ts';

export interface CompactSignOptions {
  key: KeyInput;
  algorithm: Algorithm;
  /** More protected header parameters; the header is `{ alg, ...header }`. */
  header?: Record<string, unknown>;
  allowWeakKey?: boolean;
}

const RESERVED = new Set(['alg', 'crit', 'b64']);
const OPTION_NAMES = optionNames<CompactSignOptions>({
  key: true,
  algorithm: true,
  header: true,
  allowWeakKey: true,
});

/** Validates the algorithm and key for signing; shared by `signCompact` and `createSigner`. */
export function prepareSigning(
  key: KeyInput,
  algorithm: unknown,
  allowWeakKey: unknown,
): { alg: Algorithm; prepared: PreparedKey; sign: SignFn } {
  if (!isAlgorithm(algorithm)) {
    throw new TypeError(
      String(algorithm).toLowerCase() === 'none'
        ? "algorithm 'none' is not supported: an unsigned token can be forged by anyone"
        : `algorithm is required and must be one of ${Object.keys(ALGORITHM_INFO).join(', ')}`,
    );
  }
  if (key === undefined || key === null) {
    throw new TypeError('key is required: a secret, a private key (PEM, JWK, KeyObject)');
  }
  const prepared = prepareKey(key, 'sign');
  assertKeyFits(prepared, algorithm, allowWeakKey === true);
  return { alg: algorithm, prepared, sign: signerFor(ALGORITHM_INFO[algorithm], prepared.key) };
}

/** Checks extra header parameters: a plain object without the ones laissez sets itself. */
export function checkExtraHeader(
  header: unknown,
  reserved: ReadonlySet<string> = RESERVED,
): Record<string, unknown> {
  if (header === undefined) return {};
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new TypeError('header must be an object of extra header parameters');
  }
  for (const name of Object.keys(header)) {
    if (reserved.has(name)) {
      throw new TypeError(`header.${name} is set by laissez and cannot be given here`);
    }
  }
  return header as Record<string, unknown>;
}

/**
 * Signs any payload as a compact JWS (RFC 7515 §7.1). For JWTs use `createSigner`.
 * @example
 * const jws = signCompact('hello', { key: privateJwk, algorithm: 'EdDSA' });
 */
export function signCompact(payload: string | Uint8Array, options: CompactSignOptions): string {
  if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) {
    throw new TypeError('payload must be a string or bytes');
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options are required: { key, algorithm }');
  }
  checkOptions('signCompact', options, OPTION_NAMES);
  const { alg, sign } = prepareSigning(options.key, options.algorithm, options.allowWeakKey);
  const header = { alg, ...checkExtraHeader(options.header) };
  const input = `${encode(JSON.stringify(header))}.${encode(payload)}`;
  return `${input}.${sign(input)}`;
}
