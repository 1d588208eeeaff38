import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { ALGORITHM_INFO, isAlgorithm } from '../lib/algorithms.ts';
import { JwtError } from '../lib/errors.ts';
import { jwkToKeyObject, prepareKey } from '../lib/keys.ts';
import { checkOptions, optionNames } from '../lib/options.ts';
import type { Algorithm, Jwk, Jwks, KeyInput } from '../types.ts';

/**
 * Imports a JSON Web Key (RFC 7517) as a KeyObject: private when it has private members.
 * @example const key = importJwk({ kty: 'OKP', crv: 'Ed25519', x: '…' });
 */
export function importJwk(jwk: Jwk): KeyObject {
  if (jwk === null || typeof jwk !== 'object' || typeof jwk.kty !== 'string') {
    throw new JwtError('ERR_KEY_INVALID', 'a JWK is an object with a "kty" member');
  }
  return jwkToKeyObject(jwk);
}

export interface ExportJwkOptions {
  kid?: string;
  alg?: Algorithm;
  use?: 'sig';
  /** Include private or secret material. Without it the public half is exported. */
  private?: boolean;
}

const EXPORT_OPTION_NAMES = optionNames<ExportJwkOptions>({
  kid: true,
  alg: true,
  use: true,
  private: true,
});

function asKeyObject(key: KeyInput): KeyObject {
  if (typeof key === 'object' && key !== null && 'kty' in key) return importJwk(key as Jwk);
  if (typeof key === 'string' || key instanceof Uint8Array) {
    // Strings and bytes keep their private or secret nature here; prepareKey('sign') refuses public keys.
    try {
      return prepareKey(key, 'sign').key;
    } catch {
      return prepareKey(key, 'verify').key;
    }
  }
  return key as KeyObject;
}

/**
 * Exports a key as a JWK: the public half by default, private or secret material only with
 * `private: true`.
 * @example const publicJwk = exportJwk(privateKey, { kid: 'k1', alg: 'ES256', use: 'sig' });
 */
export function exportJwk(key: KeyInput, options: ExportJwkOptions = {}): Jwk {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object: { kid, alg, use, private }');
  }
  checkOptions('exportJwk', options, EXPORT_OPTION_NAMES);
  const object = asKeyObject(key);
  let material: KeyObject;
  if (object.type === 'secret') {
    if (options.private !== true) {
      throw new JwtError(
        'ERR_KEY_INVALID',
        'an HMAC secret has no public half; pass private: true to export it',
      );
    }
    material = object;
  } else {
    material =
      object.type === 'private' && options.private !== true ? createPublicKey(object) : object;
  }
  const jwk = material.export({ format: 'jwk' }) as Jwk;
  if (options.kid !== undefined) jwk.kid = options.kid;
  if (options.alg !== undefined) {
    if (!isAlgorithm(options.alg))
      throw new TypeError(`alg ${String(options.alg)} is not supported`);
    jwk.alg = options.alg;
  }
  if (options.use !== undefined) jwk.use = options.use;
  return jwk;
}

// RFC 7638 §3.2: the required members of each key type, in lexicographic order.
const REQUIRED: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
  oct: ['k', 'kty'],
};

/**
 * The RFC 7638 JWK thumbprint (SHA-256, base64url) of a key's public members (or an oct key's k).
 * @example calculateThumbprint(publicJwk) // 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
 */
export function calculateThumbprint(key: KeyInput): string {
  const object = asKeyObject(key);
  const jwk = (object.type === 'private' ? createPublicKey(object) : object).export({
    format: 'jwk',
  }) as Jwk;
  const members = REQUIRED[jwk.kty];
  if (!members)
    throw new JwtError('ERR_KEY_INVALID', `no thumbprint is defined for kty ${jwk.kty}`);
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** A key with the kid and alg it is published under. */
export interface JwksEntry {
  key: KeyInput;
  kid?: string;
  alg?: Algorithm;
}

const ENTRY_NAMES = optionNames<JwksEntry>({ key: true, kid: true, alg: true });

/**
 * Builds a JWKS document (RFC 7517 §5) of public keys: private halves are reduced to public,
 * HMAC secrets are refused, `kid` defaults to the RFC 7638 thumbprint, `use` is "sig".
 * @example res.json(createJwks([{ key: privateKey, kid: 'k1', alg: 'ES256' }]))
 */
export function createJwks(keys: Array<KeyInput | JwksEntry>): Jwks {
  if (!Array.isArray(keys)) throw new TypeError('keys must be an array');
  return {
    keys: keys.map((entry) => {
      const isEntry =
        entry !== null && typeof entry === 'object' && 'key' in entry && !('kty' in entry);
      // An entry with a misspelt name (`algorithm` for `alg`) would be published without it.
      if (isEntry) checkOptions('createJwks', entry, ENTRY_NAMES);
      const input = isEntry ? (entry as JwksEntry).key : (entry as KeyInput);
      const jwkIn =
        !isEntry && typeof input === 'object' && input !== null && 'kty' in input
          ? (input as Jwk)
          : undefined;
      const object = asKeyObject(input);
      if (object.type === 'secret') {
        throw new JwtError('ERR_KEY_INVALID', 'an HMAC secret must never be published in a JWKS');
      }
      const alg = isEntry ? (entry as JwksEntry).alg : (jwkIn?.alg as Algorithm | undefined);
      const kid = (isEntry ? (entry as JwksEntry).kid : jwkIn?.kid) ?? calculateThumbprint(object);
      return exportJwk(object, { kid, use: 'sig', ...(alg ? { alg } : {}) });
    }),
  };
}

/** The options of `generateKey`. */
export interface GenerateKeyOptions {
  /** The key's kid. Default: the RFC 7638 thumbprint of the public key (a random id for secrets). */
  kid?: string;
  /** RSA modulus length in bits, at least 2048. Default 2048. */
  modulusLength?: number;
}

const GENERATE_OPTION_NAMES = optionNames<GenerateKeyOptions>({ kid: true, modulusLength: true });

/**
 * Generates a key for an algorithm, as JWKs: a random secret of the hash size for HS*, otherwise
 * a key pair (RSA 2048, the algorithm's curve, Ed25519 or Ed448). `kid` defaults to the public
 * key's thumbprint (a random id for secrets).
 */
export function generateKey(
  alg: Algorithm,
  options: GenerateKeyOptions = {},
): { privateJwk: Jwk; publicJwk: Jwk | undefined } {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object: { kid, modulusLength }');
  }
  checkOptions('generateKey', options, GENERATE_OPTION_NAMES);
  if (!isAlgorithm(alg))
    throw new TypeError(`alg must be one of ${Object.keys(ALGORITHM_INFO).join(', ')}`);
  const info = ALGORITHM_INFO[alg];
  if (info.family === 'hmac') {
    const kid = options.kid ?? randomBytes(8).toString('base64url');
    return {
      privateJwk: {
        kty: 'oct',
        kid,
        alg,
        use: 'sig',
        k: randomBytes(info.hashBytes).toString('base64url'),
      },
      publicJwk: undefined,
    };
  }
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  if (info.family === 'rsa' || info.family === 'pss') {
    const modulusLength = options.modulusLength ?? 2048;
    if (!Number.isInteger(modulusLength) || modulusLength < 2048) {
      throw new TypeError('modulusLength must be at least 2048');
    }
    pair = generateKeyPairSync('rsa', { modulusLength });
  } else if (info.family === 'ecdsa') {
    pair = generateKeyPairSync('ec', { namedCurve: info.curve! });
  } else if (alg === 'Ed448') {
    pair = generateKeyPairSync('ed448');
  } else {
    pair = generateKeyPairSync('ed25519');
  }
  const kid = options.kid ?? calculateThumbprint(pair.publicKey);
  return {
    privateJwk: exportJwk(pair.privateKey, { kid, alg, use: 'sig', private: true }),
    publicJwk: exportJwk(pair.publicKey, { kid, alg, use: 'sig' }),
  };
}
