// Every call into node:crypto for signatures goes through this module. The rules, measured on Node 24:
// pass a bare KeyObject (a Buffer key or a `{ key, dsaEncoding }` object is 2-4x slower), so ECDSA
// signatures are converted between the JWS r||s form and DER here rather than by OpenSSL options.
import { constants, hash as digest, type KeyObject, sign, verify } from 'node:crypto';
import type { AlgorithmInfo } from './algorithms.ts';
import { derToRaw, rawToDer } from './ecdsa.ts';

/** A signing function for one key and one algorithm: signing input in, base64url signature out. */
export type SignFn = (input: string) => string;
/**
 * A checking function for one key and one algorithm; never throws. It gets the whole token and
 * the position of its second dot: the signing input is `token.slice(0, dot)`, the signature
 * `token.slice(dot + 1)` (HMAC reads both in place, without making the slices).
 */
export type CheckFn = (token: string, dot: number) => boolean;

export function signerFor(info: AlgorithmInfo, key: KeyObject): SignFn {
  const { hash } = info;
  switch (info.family) {
    case 'hmac': {
      const mac = hmacFor(hash!, info.hashBytes, key);
      return (input) => mac(input, input.length);
    }
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
      return (token, dot) => {
        if (token.length - dot - 1 !== length) return false;
        const expected = mac(token, dot);
        // Constant time: every character is compared, with no branch on the data. The strings
        // are fixed-length base64url, so this is cheaper than two Buffers and timingSafeEqual.
        let difference = 0;
        for (let i = 0, j = dot + 1; i < length; i++, j++) {
          difference |= expected.charCodeAt(i) ^ token.charCodeAt(j);
        }
        return difference === 0;
      };
    }
    case 'rsa':
    case 'eddsa':
      return (token, dot) => safe(() => verify(hash, input(token, dot), key, bytes(token, dot)));
    case 'pss': {
      const options = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: info.hashBytes };
      return (token, dot) =>
        safe(() => verify(hash, input(token, dot), options, bytes(token, dot)));
    }
    case 'ecdsa': {
      const size = info.coordBytes!;
      return (token, dot) =>
        safe(() => {
          const raw = bytes(token, dot);
          // RFC 7518 §3.4: exactly r||s; DER or any other length is not a JWS signature.
          return (
            raw.length === 2 * size && verify(hash, input(token, dot), key, rawToDer(raw, size))
          );
        });
    }
  }
}

/** The signing input as bytes: ASCII, as the structure checks made sure. */
function input(token: string, dot: number): Buffer {
  return Buffer.from(token.slice(0, dot), 'latin1');
}

// The signature part passed the structure checks (canonical base64url) before it gets here.
function bytes(token: string, dot: number): Buffer {
  return Buffer.from(token.slice(dot + 1), 'base64url');
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
function hmacFor(
  hash: string,
  hashBytes: number,
  key: KeyObject,
): (text: string, count: number) => string {
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
  // The MAC of the first `count` characters of `text` (a token up to its second dot, or a whole
  // signing input), read in place.
  return (text, count) => {
    if (block + count > inner.length) {
      const grown = Buffer.allocUnsafe(block + count * 2);
      inner.copy(grown, 0, 0, block);
      inner.fill(0);
      inner = grown;
      view = inner.subarray(0, block);
    }
    const length = block + inner.write(text, block, count, 'latin1');
    if (view.length !== length) view = inner.subarray(0, length);
    outer.write(digest(hash, view, 'binary'), block, 'latin1'); // 'binary' is latin1
    return digest(hash, outer, 'base64url');
  };
}
