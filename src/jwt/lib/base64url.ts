import { JwtError } from './errors.ts';

// RFC 7515 §2: base64url without padding. Node's decoder is lenient (it accepts `+`, `/`, `=` and
// skips whitespace), so canonical form is checked here before decoding.
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  VALUE['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i;
}

/** Encodes bytes or a UTF-8 string as base64url without padding. */
export function encode(input: Uint8Array | string): string {
  return (typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input)).toString(
    'base64url',
  );
}

/**
 * True when `s` is the one canonical base64url spelling of some bytes: only the URL-safe alphabet,
 * no padding, a length that is not 1 mod 4, and zero bits where the last character carries no data.
 */
export function isCanonical(s: string): boolean {
  return isCanonicalRange(s, 0, s.length);
}

/** The first character outside the base64url alphabet, searched from `lastIndex`. */
const OUTSIDE = /[^A-Za-z0-9_-]/g;

/**
 * `isCanonical(s.slice(start, end))` without making the slice: the verifier checks the parts of
 * every token in place.
 */
export function isCanonicalRange(s: string, start: number, end: number): boolean {
  const rest = (end - start) & 3;
  if (rest === 1) return false;
  OUTSIDE.lastIndex = start;
  // A hit moves lastIndex just past the offending character: inside the range means not canonical.
  if (OUTSIDE.test(s) && OUTSIDE.lastIndex <= end) return false;
  if (rest === 0) return true;
  const last = VALUE[s.charCodeAt(end - 1)]!;
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** Decodes canonical base64url; anything else is `ERR_JWT_MALFORMED` naming `what`. */
export function decodeStrict(s: string, what: string): Buffer {
  if (!isCanonical(s)) {
    throw new JwtError(
      'ERR_JWT_MALFORMED',
      `the ${what} is not canonical base64url (RFC 7515 §2: URL-safe alphabet, no padding, no whitespace)`,
    );
  }
  return Buffer.from(s, 'base64url');
}
