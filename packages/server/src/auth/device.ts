// Device tokens, after OWASP's "Slow Down Online Guessing Attacks with Device Cookies": a client
// that logged in to an account is given a token naming the account and a random nonce, with a MAC
// only the server can make. Presented with a later log-in to the same account, it lets the attempt
// spend that device's own failure budget instead of the budget shared by unknown clients, so a
// stranger who locks the account for unknown clients does not lock the owner out.
//
// The MAC key is derived (HKDF, RFC 5869) from the account's stored password hash: a per-account
// secret every instance already shares through the store, which needs no new setting, and which
// changes with the password, so a password change or reset untrusts every device at once. Knowing
// it takes the database, which would give far more than a guessing budget.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/** How long a device token is trusted, seconds. Each successful log-in issues a fresh one. */
export const DEVICE_TOKEN_TTL = 90 * 24 * 3600;

/** The longest device token accepted (user ids of up to 200 characters). */
export const DEVICE_TOKEN_MAX = 400;

const VERSION = 'd1';
const TOKEN =
  /^d1\.([A-Za-z0-9_-]{1,270})\.([0-9]{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

function mac(passwordHash: string, userId: string, body: string): Buffer {
  const key = hkdfSync(
    'sha256',
    Buffer.from(passwordHash, 'utf8'),
    Buffer.from('laissez device token', 'utf8'),
    Buffer.from(userId, 'utf8'),
    32,
  );
  return createHmac('sha256', Buffer.from(key)).update(body).digest();
}

/** A new device token for `user`, valid DEVICE_TOKEN_TTL seconds from `now` (ms). */
export function issueDeviceToken(user: { id: string; passwordHash: string }, now: number): string {
  const id = Buffer.from(user.id, 'utf8').toString('base64url');
  const expires = Math.floor(now / 1000) + DEVICE_TOKEN_TTL;
  const nonce = randomBytes(16).toString('base64url');
  const body = `${VERSION}.${id}.${expires}.${nonce}`;
  return `${body}.${mac(user.passwordHash, user.id, body).toString('base64url')}`;
}

/**
 * The nonce of a device token that `user` was given and that is still valid at `now` (ms), or
 * undefined for anything else (malformed, expired, another account's, made before the password
 * last changed, forged): such a client is simply not a known device.
 */
export function readDeviceToken(
  token: unknown,
  user: { id: string; passwordHash: string },
  now: number,
): string | undefined {
  if (typeof token !== 'string' || token.length > DEVICE_TOKEN_MAX) return undefined;
  const match = TOKEN.exec(token);
  if (!match) return undefined;
  const [, id, expires, nonce, tag] = match as unknown as [string, string, string, string, string];
  if (Buffer.from(id, 'base64url').toString('utf8') !== user.id) return undefined;
  if (Number(expires) * 1000 <= now) return undefined;
  const expected = mac(user.passwordHash, user.id, token.slice(0, token.lastIndexOf('.')));
  const given = Buffer.from(tag, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return nonce;
}
