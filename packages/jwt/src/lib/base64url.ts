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

/** The longest run of base64url characters starting at `lastIndex` (sticky: anchored there). */
const RUN = /[A-Za-z0-9_-]*/y;

/**
 * `isCanonical(s.slice(start, end))` without making the slice: the verifier checks the parts of
 * every token in place. `end` must be the end of `s` or the index of a character outside the
 * alphabet (a part's closing '.'); the answer is false otherwise.
 */
export function isCanonicalRange(s: string, start: number, end: number): boolean {
  const rest = (end - start) & 3;
  if (rest === 1) return false;
  RUN.lastIndex = start;
  RUN.test(s);
  // The run must reach exactly the end of the range: the part's end is a '.' or the token's end.
  if (RUN.lastIndex !== end) return false;
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
