// The codes of second factors, below the flows of factors.ts: a TOTP secret (RFC 6238, through
// the otpauth library) made, sealed at rest and checked against a code, and recovery codes made
// and hashed; the shape checks of a typed code. No store, no budgets: those are factors.ts's.
//
// Secrets at rest: a TOTP secret is sealed with AES-256-GCM under a key derived from the
// key-encryption key (HKDF, purpose `TOTP_PURPOSE`), the user's id bound as additional data, so
// a dump of the database (or a row moved to another user) yields no code. Recovery codes are
// stored as HMAC-SHA256 under another derived key: ~50 random bits each, which a plain hash of
// a dumped row would not protect from an offline search.
import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import type { User } from '../store/types.ts';
import { AuthServiceError } from './errors.ts';

/** The HKDF purposes of the keys derived from the key-encryption key. */
export const TOTP_PURPOSE = 'totp secret encryption v1';
export const RECOVERY_PURPOSE = 'recovery code hashing v1';

/** RFC 6238 §4: 30-second steps; 6 digits and SHA-1 are what every authenticator app reads. */
export const TOTP_PERIOD = 30;
const TOTP_DIGITS = 6;
/**
 * RFC 6238 §5.2: one step either side is accepted for clock drift and typing time, so a code is
 * good for up to 90 s; each step is accepted once per user (the store keeps the last one).
 */
const TOTP_WINDOW = 1;
/** RFC 4226 §4 R6: at least 128 bits of secret; 160 (20 bytes) as RFC 4226 recommends. */
const SECRET_BYTES = 20;
export const RECOVERY_CODE_COUNT = 10;

const CODE = /^[0-9]{6}$/;
/** Crockford-like alphabet without look-alikes (no 0/O, 1/I/L): typed from paper. */
const RECOVERY_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
const RECOVERY_CODE = /^[a-z0-9]{5}-?[a-z0-9]{5}$/;

export interface FactorCodesOptions {
  now: () => number;
  /** HKDF of the key-encryption key (KeyRing.deriveSecret). */
  deriveSecret: (purpose: string) => Buffer;
  /** The issuer shown in authenticator apps (`otpauth://totp/<issuer>:<user>`). */
  totpIssuer: string;
}

export class FactorCodes {
  readonly #o: FactorCodesOptions;
  #sealKey: Buffer | undefined;
  #codeKey: Buffer | undefined;

  constructor(options: FactorCodesOptions) {
    this.#o = options;
  }

  get #totpKey(): Buffer {
    this.#sealKey ??= this.#o.deriveSecret(TOTP_PURPOSE);
    return this.#sealKey;
  }

  get #recoveryKey(): Buffer {
    this.#codeKey ??= this.#o.deriveSecret(RECOVERY_PURPOSE);
    return this.#codeKey;
  }

  /** A new TOTP secret, base32. */
  newSecret(): string {
    return new Secret({ size: SECRET_BYTES }).base32;
  }

  seal(userId: string, secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#totpKey, iv);
    cipher.setAAD(Buffer.from(JSON.stringify(['laissez totp', 1, userId])));
    const body = Buffer.concat([
      cipher.update(secret, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return `totp:v1:${iv.toString('base64url')}:${body.toString('base64url')}`;
  }

  open(userId: string, sealed: string): string {
    const [, version, ivText, bodyText] = sealed.split(':');
    const fail = () =>
      new Error(
        'a stored TOTP secret does not open under the key-encryption key (altered, moved, or sealed under another key)',
      );
    if (version !== 'v1' || ivText === undefined || bodyText === undefined) throw fail();
    try {
      const body = Buffer.from(bodyText, 'base64url');
      const decipher = createDecipheriv(
        'aes-256-gcm',
        this.#totpKey,
        Buffer.from(ivText, 'base64url'),
      );
      decipher.setAAD(Buffer.from(JSON.stringify(['laissez totp', 1, userId])));
      decipher.setAuthTag(body.subarray(body.length - 16));
      return Buffer.concat([
        decipher.update(body.subarray(0, body.length - 16)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw fail();
    }
  }

  #totp(user: User, base32: string): TOTP {
    return new TOTP({
      issuer: this.#o.totpIssuer,
      label: user.username,
      algorithm: 'SHA1',
      digits: TOTP_DIGITS,
      period: TOTP_PERIOD,
      secret: Secret.fromBase32(base32),
    });
  }

  /** The otpauth:// URI (Key Uri Format) of the user's secret. */
  uri(user: User, base32: string): string {
    return this.#totp(user, base32).toString();
  }

  /** The RFC 6238 time step a code of the user's sealed secret is good for at now, or undefined. */
  stepOf(user: User, sealed: string, code: string): number | undefined {
    const totp = this.#totp(user, this.open(user.id, sealed));
    const timestamp = this.#o.now();
    const delta = totp.validate({ token: code, timestamp, window: TOTP_WINDOW });
    if (delta === null) return undefined;
    return totp.counter({ timestamp }) + delta;
  }

  /** A recovery code as stored: keyed, bound to its user, its dash and case ignored. */
  hashRecovery(userId: string, code: string): string {
    const normal = code.toLowerCase().replace('-', '');
    return createHmac('sha256', this.#recoveryKey)
      .update(`${userId}:${normal}`)
      .digest('base64url');
  }

  /** A new set of recovery codes, as shown to the user (`abcde-fghjk`). */
  newRecoveryCodes(): string[] {
    return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
      let text = '';
      // ~49 bits each (31^10): out of reach online behind the per-account budget.
      for (let i = 0; i < 10; i++) text += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
      return `${text.slice(0, 5)}-${text.slice(5)}`;
    });
  }
}

export function checkCode(code: unknown): string {
  if (typeof code !== 'string' || !CODE.test(code)) {
    throw new AuthServiceError('invalid_request', 'code must be the 6 digits the app shows', {
      field: 'code',
    });
  }
  return code;
}

export function checkRecoveryCode(code: unknown): string {
  const text = typeof code === 'string' ? code.trim().toLowerCase() : '';
  if (!RECOVERY_CODE.test(text)) {
    throw new AuthServiceError('invalid_request', 'recovery_code must be a code like abcde-fghjk', {
      field: 'recovery_code',
    });
  }
  return text;
}
