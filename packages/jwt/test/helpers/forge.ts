// Builds tokens by hand, below the library, so tests can present what an attacker could send.
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';

export const b64 = (value: string | Uint8Array | object): string =>
  Buffer.from(
    typeof value === 'string' || value instanceof Uint8Array ? value : JSON.stringify(value),
  ).toString('base64url');

/** An HS256 token over exactly the given segments (already encoded). */
export function hmacToken(
  header: string,
  payload: string,
  secret: Uint8Array | string,
  hash = 'sha256',
): string {
  const input = `${header}.${payload}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

/** An HS256 token over JSON header and payload values (any JSON, not only objects). */
export function hs256(header: unknown, payload: unknown, secret: Uint8Array | string): string {
  return hmacToken(b64(JSON.stringify(header)), b64(JSON.stringify(payload)), secret);
}

export const secret32 = randomBytes(32);
export const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const ec256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
export const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
export const ed25519 = generateKeyPairSync('ed25519');

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Changes one character of a string at `index` to another base64url character. */
export function flip(token: string, index: number): string {
  const c = token[index];
  const replacement = c === 'A' ? 'B' : 'A';
  return token.slice(0, index) + replacement + token.slice(index + 1);
}
