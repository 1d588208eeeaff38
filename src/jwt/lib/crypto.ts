// Every call into node:crypto for signatures goes through this module. The rules, measured on Node 24:
// pass a bare KeyObject (a Buffer key or a `{ key, dsaEncoding }` object is 2-4x slower), so ECDSA
// signatures are converted between the JWS r||s form and DER here rather than by OpenSSL options.
import { constants, createHmac, type KeyObject, sign, timingSafeEqual, verify } from 'node:crypto';
import type { AlgorithmInfo } from './algorithms.ts';
import { derToRaw, rawToDer } from './ecdsa.ts';

/** A signing function for one key and one algorithm: signing input in, base64url signature out. */
export type SignFn = (input: string) => string;
/** A checking function for one key and one algorithm; never throws. */
export type CheckFn = (input: string, signature: string) => boolean;

export function signerFor(info: AlgorithmInfo, key: KeyObject): SignFn {
  const { hash } = info;
  switch (info.family) {
    case 'hmac':
      return (input) => createHmac(hash!, key).update(input).digest('base64url');
    case 'rsa':
    case 'eddsa':
      return (input) => sign(hash, Buffer.from(input), key).toString('base64url');
    case 'pss': {
      const options = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: info.hashBytes };
      return (input) => sign(hash, Buffer.from(input), options).toString('base64url');
    }
    case 'ecdsa':
      return (input) =>
        derToRaw(sign(hash, Buffer.from(input), key), info.coordBytes!).toString('base64url');
  }
}

export function checkerFor(info: AlgorithmInfo, key: KeyObject): CheckFn {
  const { hash } = info;
  switch (info.family) {
    case 'hmac': {
      // The expected signature is canonical base64url, so equality also proves the token's is.
      const length = Math.ceil((info.hashBytes * 4) / 3);
      return (input, signature) => {
        if (signature.length !== length) return false;
        const expected = createHmac(hash!, key).update(input).digest('base64url');
        return timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(signature, 'latin1'));
      };
    }
    case 'rsa':
    case 'eddsa':
      return (input, signature) =>
        safe(() => verify(hash, Buffer.from(input), key, bytes(signature)));
    case 'pss': {
      const options = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: info.hashBytes };
      return (input, signature) =>
        safe(() => verify(hash, Buffer.from(input), options, bytes(signature)));
    }
    case 'ecdsa': {
      const size = info.coordBytes!;
      return (input, signature) =>
        safe(() => {
          const raw = bytes(signature);
          // RFC 7518 §3.4: exactly r||s; DER or any other length is not a JWS signature.
          return (
            raw.length === 2 * size && verify(hash, Buffer.from(input), key, rawToDer(raw, size))
          );
        });
    }
  }
}

const CANONICAL = /^[A-Za-z0-9_-]*$/;
function bytes(signature: string): Buffer {
  if (!CANONICAL.test(signature) || (signature.length & 3) === 1) throw new Error('not base64url');
  const raw = Buffer.from(signature, 'base64url');
  if (raw.toString('base64url') !== signature) throw new Error('not canonical');
  return raw;
}

// A crypto call that throws during verification (a malformed signature, an odd key) means
// "invalid signature", never a crash.
function safe(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}
