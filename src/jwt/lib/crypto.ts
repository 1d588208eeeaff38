// Every call into node:crypto for signatures goes through this module. The rules, measured on Node 24:
// pass a bare KeyObject (a Buffer key or a `{ key, dsaEncoding }` object is 2-4x slower), so ECDSA
// signatures are converted between the JWS r||s form and DER here rather than by OpenSSL options.
import { constants, hash as digest, type KeyObject, sign, verify } from 'node:crypto';
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
      return hmacFor(hash!, info.hashBytes, key);
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
      const mac = hmacFor(hash!, info.hashBytes, key);
      return (input, signature) => {
        if (signature.length !== length) return false;
        const expected = mac(input);
        // Constant time: every character is compared, with no branch on the data. The strings
        // are fixed-length base64url, so this is cheaper than two Buffers and timingSafeEqual.
        let difference = 0;
        for (let i = 0; i < length; i++) {
          difference |= expected.charCodeAt(i) ^ signature.charCodeAt(i);
        }
        return difference === 0;
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

// The signature part passed the structure checks (canonical base64url) before it gets here.
function bytes(signature: string): Buffer {
  return Buffer.from(signature, 'base64url');
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

/**
 * HMAC (RFC 2104) as two one-shot hashes: H((K ^ opad) || H((K ^ ipad) || input)). On Node 24 this
 * is much cheaper per token than `createHmac`, which builds a stream object each call. The input
 * must be ASCII (a JWS signing input is base64url, checked before any signature), so it is copied
 * into a reused buffer one byte per character. The inner digest comes back as a latin1 ('binary')
 * string (one character per byte, exact) and is written into the outer block: no Buffer is allocated
 * per call, which halves the cost again, and more so inside a busy server.
 */
function hmacFor(hash: string, hashBytes: number, key: KeyObject): SignFn {
  const block = hashBytes === 32 ? 64 : 128;
  let secret = key.export();
  if (secret.length > block) secret = digest(hash, secret, 'buffer');
  let inner = Buffer.alloc(block + 1024, 0x36);
  const outer = Buffer.alloc(block + hashBytes, 0x5c);
  for (let i = 0; i < secret.length; i++) {
    inner[i]! ^= secret[i]!;
    outer[i]! ^= secret[i]!;
  }
  secret.fill(0);
  // The view of `inner` that the last input filled: tokens of one service mostly share a length.
  let view = inner.subarray(0, block);
  return (input) => {
    if (block + input.length > inner.length) {
      const grown = Buffer.allocUnsafe(block + input.length * 2);
      inner.copy(grown, 0, 0, block);
      inner.fill(0);
      inner = grown;
      view = inner.subarray(0, block);
    }
    const length = block + inner.write(input, block, 'latin1');
    if (view.length !== length) view = inner.subarray(0, length);
    outer.write(digest(hash, view, 'binary'), block, 'latin1'); // 'binary' is latin1
    return digest(hash, outer, 'base64url');
  };
}
