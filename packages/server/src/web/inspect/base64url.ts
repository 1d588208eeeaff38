// base64url in the page. Whether a text is canonical base64url (RFC 7515 §2) is decided by
// laissez/jwt's own check, so the debugger accepts exactly the tokens the library reads; the bytes
// are then decoded with atob, because the library's decoder is node's Buffer.

import { isCanonical } from '@laissez/jwt/facts';

/** Bytes WebCrypto accepts (not backed by a SharedArrayBuffer). */
export type Bytes = Uint8Array<ArrayBuffer>;

const B64URL = /^[A-Za-z0-9_-]*$/;

function bytesOf(base64url: string): Bytes {
  const binary = atob(base64url.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Strict base64url (RFC 7515 §2): its alphabet only, no padding, no length that cannot be, and
 * zero unused bits (so that each byte string has exactly one encoding, as laissez/jwt requires).
 * Returns null when the text is not canonical base64url.
 */
export function decodeBase64url(text: string): Bytes | null {
  return isCanonical(text) ? bytesOf(text) : null;
}

/** Lenient base64 or base64url, padded or not, whitespace ignored (keys pasted from elsewhere). */
export function decodeBase64Loose(text: string): Bytes | null {
  const clean = text.replace(/\s+/g, '').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  if (!B64URL.test(clean) || clean.length % 4 === 1) return null;
  return bytesOf(clean);
}
