import { createPrivateKey, createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import type { Algorithm, Jwk, KeyInput } from '../types.ts';
import { ALGORITHM_INFO } from './algorithms.ts';
import { isCanonical } from './base64url.ts';
import { JwtError } from './errors.ts';
import { PRIVATE_JWK_MEMBERS } from './jwk-members.ts';

export type Usage = 'sign' | 'verify';

/** A key turned into a KeyObject once, with what its JWK said about it. */
export interface PreparedKey {
  readonly key: KeyObject;
  /** The JWK's `alg`: when present, the only algorithm this key may be used with. */
  readonly alg: string | undefined;
  readonly kid: string | undefined;
}

/** Turns any accepted key form into a KeyObject fit for `usage` (a private key verifies by its public half). */
export function prepareKey(input: KeyInput, usage: Usage): PreparedKey {
  if (input instanceof KeyObject)
    return { key: forUsage(input, usage), alg: undefined, kid: undefined };
  if (typeof input === 'string')
    return { key: fromString(input, usage), alg: undefined, kid: undefined };
  if (input instanceof Uint8Array) {
    if (input.byteLength === 0) throw new JwtError('ERR_KEY_INVALID', 'the secret is empty');
    // PEM or JWK text read from a file (readFileSync gives bytes) is that key, never a secret:
    // otherwise a public key file could become an HMAC secret (algorithm confusion).
    if (looksLikeKeyText(input)) {
      return {
        key: fromString(Buffer.from(input).toString('utf8'), usage),
        alg: undefined,
        kid: undefined,
      };
    }
    return { key: createSecretKey(Buffer.from(input)), alg: undefined, kid: undefined };
  }
  if (input !== null && typeof input === 'object' && typeof (input as Jwk).kty === 'string') {
    const jwk = input as Jwk;
    return { key: forUsage(jwkToKeyObject(jwk), usage), alg: jwk.alg, kid: jwk.kid };
  }
  throw new JwtError(
    'ERR_KEY_INVALID',
    'no usable key: pass a secret (string or bytes), a PEM string, a JWK object or a KeyObject',
  );
}

/** True when bytes start (after whitespace) with a PEM armour line, or are a JWK as JSON text. */
function looksLikeKeyText(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || (bytes[i]! >= 0x09 && bytes[i]! <= 0x0d))) i++;
  const text = Buffer.from(bytes.subarray(i));
  if (text[0] === 0x7b) return text.includes('"kty"'); // a JWK as JSON text
  return text.toString('latin1', 0, 10) === '-----BEGIN';
}

function forUsage(key: KeyObject, usage: Usage): KeyObject {
  if (usage === 'verify' && key.type === 'private') return createPublicKey(key);
  if (usage === 'sign' && key.type === 'public') {
    throw new JwtError('ERR_KEY_INVALID', 'a public key cannot sign; pass the private key');
  }
  return key;
}

function fromString(text: string, usage: Usage): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) {
    if (trimmed.includes('ENCRYPTED')) {
      throw new JwtError('ERR_KEY_INVALID', 'the PEM key is encrypted; decrypt it first');
    }
    try {
      return forUsage(
        / PRIVATE KEY-----/.test(trimmed) ? createPrivateKey(trimmed) : createPublicKey(trimmed),
        usage,
      );
    } catch (error) {
      if (error instanceof JwtError) throw error;
      throw new JwtError(
        'ERR_KEY_INVALID',
        'the PEM text could not be parsed as a key or certificate (SPKI, PKCS#8, PKCS#1, SEC1, X.509)',
      );
    }
  }
  if (text.length === 0) throw new JwtError('ERR_KEY_INVALID', 'the secret is empty');
  if (trimmed.startsWith('{') && trimmed.includes('"kty"')) {
    throw new JwtError(
      'ERR_KEY_INVALID',
      'this string looks like a JWK, not a secret: pass the parsed JWK object (JSON.parse) instead',
    );
  }
  return createSecretKey(Buffer.from(text, 'utf8'));
}

/** RFC 7517 JWK → KeyObject. Refuses keys marked for encryption. */
export function jwkToKeyObject(jwk: Jwk): KeyObject {
  if (jwk.use !== undefined && jwk.use !== 'sig') {
    throw new JwtError('ERR_KEY_INVALID', `the JWK is for use "${String(jwk.use)}", not "sig"`);
  }
  if (
    jwk.key_ops !== undefined &&
    !(Array.isArray(jwk.key_ops) && jwk.key_ops.some((op) => op === 'sign' || op === 'verify'))
  ) {
    throw new JwtError('ERR_KEY_INVALID', 'the JWK key_ops allow neither "sign" nor "verify"');
  }
  try {
    switch (jwk.kty) {
      case 'oct': {
        if (typeof jwk.k !== 'string' || jwk.k.length === 0) {
          throw new JwtError('ERR_KEY_INVALID', 'the oct JWK has no "k"');
        }
        if (!isCanonical(jwk.k)) {
          throw new JwtError('ERR_KEY_INVALID', 'the oct JWK "k" is not canonical base64url');
        }
        return createSecretKey(Buffer.from(jwk.k, 'base64url'));
      }
      case 'RSA':
      case 'EC':
      case 'OKP': {
        const isPrivate = typeof jwk.d === 'string';
        const key = isPrivate
          ? createPrivateKey({ key: jwk, format: 'jwk' })
          : createPublicKey({ key: jwk, format: 'jwk' });
        if (jwk.kty === 'OKP' && jwk.crv !== 'Ed25519' && jwk.crv !== 'Ed448') {
          throw new JwtError('ERR_KEY_INVALID', `OKP curve ${String(jwk.crv)} cannot sign`);
        }
        return key;
      }
      default:
        throw new JwtError(
          'ERR_KEY_INVALID',
          `JWK kty ${JSON.stringify(jwk.kty)} is not supported`,
        );
    }
  } catch (error) {
    if (error instanceof JwtError) throw error;
    throw new JwtError('ERR_KEY_INVALID', `the ${String(jwk.kty)} JWK is not a valid key`);
  }
}

/** True when a JWK holds private or secret material. */
export function isPrivateJwk(jwk: Jwk): boolean {
  return PRIVATE_JWK_MEMBERS.some((member) => jwk[member] !== undefined);
}

const KIND: Record<string, string> = {
  hmac: 'a secret (string or bytes, or an oct JWK)',
  rsa: 'an RSA key',
  pss: 'an RSA or RSA-PSS key',
  ecdsa: 'an EC key on',
  eddsa: 'an OKP key',
};

function describe(key: KeyObject): string {
  if (key.type === 'secret') return 'a secret';
  const type = key.asymmetricKeyType ?? 'unknown';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return `${key.type === 'private' ? 'a private' : 'a public'} ${type}${curve ? ` (${curve})` : ''} key`;
}

/**
 * Checks once that a key may be used with an algorithm: the key type fits the family and curve, a
 * JWK's `alg` matches, HMAC secrets are at least the hash size (RFC 7518 §3.2) unless `allowWeak`,
 * RSA moduli are at least 2048 bits (RFC 7518 §3.3, §3.5).
 */
export function assertKeyFits(prepared: PreparedKey, alg: Algorithm, allowWeak: boolean): void {
  const { key } = prepared;
  const info = ALGORITHM_INFO[alg];
  if (prepared.alg !== undefined && prepared.alg !== alg) {
    throw new JwtError(
      'ERR_KEY_ALG_MISMATCH',
      `the key is bound to ${prepared.alg} by its JWK "alg" and cannot be used with ${alg}`,
    );
  }
  const mismatch = () =>
    new JwtError(
      'ERR_KEY_ALG_MISMATCH',
      `${alg} needs ${KIND[info.family]}${info.curve ? ` ${curveName(info.curve)}` : ''}${info.okp ? ` (${info.okp.join(' or ')})` : ''}, but got ${describe(key)}`,
    );
  switch (info.family) {
    case 'hmac': {
      if (key.type !== 'secret') throw mismatch();
      const size = key.symmetricKeySize ?? 0;
      if (size === 0) throw new JwtError('ERR_KEY_INVALID', 'the secret is empty');
      if (size < info.hashBytes && !allowWeak) {
        throw new JwtError(
          'ERR_KEY_WEAK',
          `the ${alg} secret is ${size * 8} bits; RFC 7518 §3.2 requires at least ${info.hashBytes * 8}. Use a longer random secret (laissez keys generate --alg ${alg}), or opt in with allowWeakKey`,
        );
      }
      return;
    }
    case 'rsa':
    case 'pss': {
      const type = key.asymmetricKeyType;
      if (!(type === 'rsa' || (type === 'rsa-pss' && info.family === 'pss'))) throw mismatch();
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < 2048) {
        throw new JwtError(
          'ERR_KEY_WEAK',
          `the RSA key is ${bits} bits; at least 2048 are required`,
        );
      }
      const details = key.asymmetricKeyDetails;
      if (type === 'rsa-pss' && details?.hashAlgorithm && details.hashAlgorithm !== info.hash) {
        throw new JwtError(
          'ERR_KEY_ALG_MISMATCH',
          `the RSA-PSS key is restricted to ${details.hashAlgorithm}; ${alg} uses ${info.hash}`,
        );
      }
      return;
    }
    case 'ecdsa':
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== info.curve) {
        throw mismatch();
      }
      return;
    case 'eddsa':
      if (!info.okp!.includes(key.asymmetricKeyType as 'ed25519')) throw mismatch();
      return;
  }
}

function curveName(curve: string): string {
  return curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : 'P-521';
}
