// Password hashing: argon2id from node:crypto (Node >= 24.7), stored as a PHC string
// `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` (standard base64 without padding, as PHC says).
// The work runs on libuv's thread pool, so hashing never blocks the event loop.
import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Argon2Params {
  /** Memory in KiB. OWASP: 19 MiB = 19456 KiB. */
  memory: number;
  /** Passes (t). OWASP: 2. */
  passes: number;
  /** Lanes (p). OWASP: 1. */
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet, argon2id minimum: m=19 MiB, t=2, p=1. */
export const OWASP_ARGON2ID: Readonly<Argon2Params> = Object.freeze({
  memory: 19456,
  passes: 2,
  parallelism: 1,
});

const SALT_BYTES = 16;
const TAG_BYTES = 32;
const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Passwords are accepted exactly as typed, within these bounds (in characters). */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;

function derive(
  password: string,
  salt: Buffer,
  params: Argon2Params,
  tagLength: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    argon2(
      'argon2id',
      {
        message: Buffer.from(password, 'utf8'),
        nonce: salt,
        parallelism: params.parallelism,
        tagLength,
        memory: params.memory,
        passes: params.passes,
      },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');

/** Hashes a password into a PHC string. */
export async function hashPassword(
  password: string,
  params: Argon2Params = OWASP_ARGON2ID,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const tag = await derive(password, salt, params, TAG_BYTES);
  return `$argon2id$v=19$m=${params.memory},t=${params.passes},p=${params.parallelism}$${b64(salt)}$${b64(tag)}`;
}

export interface VerifyResult {
  ok: boolean;
  /** True when the hash was made with other parameters than the current ones: rehash on log-in. */
  needsRehash: boolean;
}

/** Checks a password against a PHC string in constant time. A malformed hash never matches. */
export async function verifyPassword(
  password: string,
  phc: string,
  params: Argon2Params = OWASP_ARGON2ID,
): Promise<VerifyResult> {
  const match = PHC.exec(phc);
  if (!match) return { ok: false, needsRehash: false };
  const stored: Argon2Params = {
    memory: Number(match[1]),
    passes: Number(match[2]),
    parallelism: Number(match[3]),
  };
  const salt = Buffer.from(match[4]!, 'base64');
  const expected = Buffer.from(match[5]!, 'base64');
  // Bounds on what a stored hash may ask for, so a corrupted row cannot make a log-in cost minutes.
  if (
    stored.memory > 4 * 1024 * 1024 ||
    stored.passes > 64 ||
    stored.parallelism > 16 ||
    expected.length < 16
  ) {
    return { ok: false, needsRehash: false };
  }
  const actual = await derive(password, salt, stored, expected.length);
  const ok = timingSafeEqual(actual, expected);
  const needsRehash =
    stored.memory !== params.memory ||
    stored.passes !== params.passes ||
    stored.parallelism !== params.parallelism ||
    expected.length !== TAG_BYTES;
  return { ok, needsRehash };
}

/**
 * A hash of a random password, made once: log-in checks against it when there is no such user,
 * so the answer takes the same time whether the user exists or not.
 */
export function createDummyHash(params: Argon2Params = OWASP_ARGON2ID): Promise<string> {
  return hashPassword(randomBytes(18).toString('base64url'), params);
}
