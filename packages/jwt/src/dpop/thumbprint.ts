// RFC 7638 thumbprints straight from a public JWK's members, for the per-request path of the DPoP
// verifier (no KeyObject export). `calculateThumbprint` (jwk/jwk.ts) gives the same answer for any
// key form; a test holds the two equal.
import { hash } from 'node:crypto';
import { isCanonical } from '../lib/base64url.ts';
import type { Jwk } from '../types.ts';

/** RFC 7638 §3.2: the required members of each asymmetric key type, in lexicographic order. */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/** Members holding key bytes: they must be canonical base64url, so one key has one thumbprint. */
const BYTES = new Set(['x', 'y', 'e', 'n']);

/**
 * The RFC 7638 §3 input (the required members in order, no whitespace) of a public JWK, or
 * undefined when the JWK is not an EC, OKP or RSA key with those members as canonical strings.
 */
export function thumbprintInput(jwk: Jwk): string | undefined {
  const members = REQUIRED[jwk.kty];
  if (members === undefined) return undefined;
  let out = '{';
  for (const name of members) {
    const value = jwk[name];
    if (typeof value !== 'string' || value === '' || value.length > 2048) return undefined;
    if (BYTES.has(name) ? !isCanonical(value) : !/^[A-Za-z0-9-]+$/.test(value)) return undefined;
    out += `${out.length > 1 ? ',' : ''}"${name}":"${value}"`;
  }
  return `${out}}`;
}

/** The RFC 7638 SHA-256 thumbprint of a public JWK, base64url; undefined as for `thumbprintInput`. */
export function thumbprintOf(jwk: Jwk): string | undefined {
  const input = thumbprintInput(jwk);
  return input === undefined ? undefined : hash('sha256', input, 'base64url');
}
