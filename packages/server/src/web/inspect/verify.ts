/// <reference lib="dom" />
// Verifying a decoded token's signature in the page, with WebCrypto: the debugger's verdict. The
// rules follow laissez/jwt: no `alg: none`, only the library's algorithms, no `b64`/`crit`
// extensions, the key must fit the algorithm, ECDSA signatures are r‖s (RFC 7518 §3.4).

import type { Algorithm } from '@laissez/jwt';
import { isAlgorithm } from '@laissez/jwt/facts';
import { ALGS, type AlgInfo, SUPPORTED_ALGORITHMS } from './algorithms.ts';
import { decodeBase64Loose } from './base64url.ts';
import type { DecodedToken } from './decode.ts';
import { jwkKeys } from './jwk.ts';
import { detectKeyFormat, hmacKey, type InspectedKey, type KeyFormat, pemKey } from './keys.ts';
import { InspectRefusal, refuse } from './refusal.ts';

export type VerdictStatus = 'verified' | 'invalid' | 'error';

export interface Verdict {
  status: VerdictStatus;
  /** One sentence: the verdict. */
  title: string;
  /** What key was used, or why none could be. */
  detail: string;
  /** Problems that do not change the verdict (a weak secret, a private key pasted). */
  warnings: string[];
}

/**
 * Verifies the token's signature with the key text, entirely with `subtle` (WebCrypto).
 * Never throws: every outcome is a verdict.
 */
export async function verifyToken(
  token: DecodedToken,
  keyText: string,
  format: KeyFormat = 'auto',
  subtle: SubtleCrypto = globalThis.crypto.subtle,
): Promise<Verdict> {
  const warnings: string[] = [];
  try {
    const alg = checkHeader(token.header);
    const info = ALGS[alg];
    if (keyText.trim() === '') refuse('Enter a key to verify the signature.');
    const chosen = format === 'auto' ? detectKeyFormat(keyText) : format;
    const candidates = await prepareKeys(token, alg, info, keyText, chosen, subtle);
    if (info.family === 'ecdsa' && token.signature.length !== info.coord! * 2) {
      return {
        status: 'invalid',
        title: 'Invalid signature',
        detail: `An ${alg} signature is ${info.coord! * 2} bytes (r and s side by side, RFC 7518 §3.4); this one is ${token.signature.length}${token.signature[0] === 0x30 ? ', and looks DER-encoded, which JWS does not use' : ''}.`,
        warnings,
      };
    }
    const data = new TextEncoder().encode(`${token.segments[0]}.${token.segments[1]}`);
    const params = verifyParams(info, candidates[0]!.key);
    for (const candidate of candidates) {
      if (await subtle.verify(params, candidate.key, token.signature, data)) {
        return {
          status: 'verified',
          title: 'Signature verified',
          detail: `${alg} (${info.label}) with ${candidate.description}.`,
          warnings: [...warnings, ...candidate.warnings],
        };
      }
    }
    const hints = candidates.flatMap((c) => c.warnings);
    if (chosen === 'secret' && keyText !== keyText.trim()) {
      hints.push(
        'The secret starts or ends with a space or a line break, and those count: check that they belong.',
      );
    }
    if (chosen === 'secret' && /^[A-Za-z0-9+/_-]{16,}={0,2}$/.test(keyText.trim())) {
      hints.push(
        'If this secret is base64-encoded bytes, choose "Secret (base64 or base64url bytes)".',
      );
    }
    return {
      status: 'invalid',
      title: 'Invalid signature',
      detail: `The signature does not match ${alg} with ${candidates.length === 1 ? candidates[0]!.description : `any of the ${candidates.length} keys that fit`}: the token was altered, or signed with another key.`,
      warnings: [...warnings, ...hints],
    };
  } catch (error) {
    if (error instanceof InspectRefusal) {
      return { status: 'error', title: 'Cannot verify', detail: error.message, warnings };
    }
    return {
      status: 'error',
      title: 'Cannot verify',
      detail: `The key could not be used: ${(error as Error).message || String(error)}`,
      warnings,
    };
  }
}

/** The header checks of laissez/jwt that decide whether verifying is even possible. */
function checkHeader(header: Record<string, unknown>): Algorithm {
  const { alg } = header;
  if (typeof alg !== 'string') refuse('The header has no "alg" string.');
  const name = alg as string;
  if (name.toLowerCase() === 'none') {
    refuse(
      'The header says alg "none": an unsigned token. Anyone can write one, so it is never accepted.',
    );
  }
  if (!isAlgorithm(name)) {
    return refuse(
      `The algorithm ${JSON.stringify(name.slice(0, 20))} is not supported; laissez knows ${SUPPORTED_ALGORITHMS.join(', ')}.`,
    );
  }
  if (header.b64 !== undefined) {
    refuse('The header has "b64" (RFC 7797 unencoded payload), which laissez does not accept.');
  }
  if (header.crit !== undefined) {
    refuse(
      'The header marks extensions critical ("crit"); this debugger understands none, so the token must be refused (RFC 7515 §4.1.11).',
    );
  }
  return name;
}

function verifyParams(
  info: AlgInfo,
  key: CryptoKey,
): AlgorithmIdentifier | RsaPssParams | EcdsaParams {
  switch (info.family) {
    case 'hmac':
      return { name: 'HMAC' };
    case 'rsa':
      return { name: 'RSASSA-PKCS1-v1_5' };
    case 'pss':
      return { name: 'RSA-PSS', saltLength: info.bytes };
    case 'ecdsa':
      return { name: 'ECDSA', hash: info.hash! };
    case 'eddsa':
      return { name: key.algorithm.name };
  }
}

async function prepareKeys(
  token: DecodedToken,
  alg: string,
  info: AlgInfo,
  keyText: string,
  format: Exclude<KeyFormat, 'auto'>,
  subtle: SubtleCrypto,
): Promise<InspectedKey[]> {
  switch (format) {
    case 'secret':
    case 'secret-base64': {
      if (info.family !== 'hmac') {
        refuse(
          `${alg} is verified with a public key (PEM or JWK), not a secret. Choose the public key's format.`,
        );
      }
      const bytes =
        format === 'secret'
          ? new TextEncoder().encode(keyText)
          : (decodeBase64Loose(keyText) ?? refuse('The secret is not valid base64 or base64url.'));
      const what = format === 'secret' ? 'a text secret' : 'a base64-encoded secret';
      return [await hmacKey(bytes, info, alg, what, subtle)];
    }
    case 'pem':
      return [await pemKey(keyText, alg, info, subtle)];
    case 'jwk':
      return jwkKeys(token, keyText, alg, info, subtle);
  }
}
