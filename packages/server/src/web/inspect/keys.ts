/// <reference lib="dom" />
// Keys for the debugger: what format the pasted text is, and turning a secret or a PEM into a
// WebCrypto key fit for the token's algorithm, with the checks of laissez/jwt: the key type must fit
// the algorithm (a public key is never an HMAC secret: the algorithm-confusion attack), HMAC secrets
// at least the hash size (RFC 7518 §3.2) and RSA moduli at least 2048 bits (§3.3) or a warning.

import type { AlgInfo } from './algorithms.ts';
import { type Bytes, decodeBase64Loose } from './base64url.ts';
import { certificateSpki, pkcs1ToSpki, spkiType } from './der.ts';
import { refuse } from './refusal.ts';

export type KeyFormat = 'auto' | 'secret' | 'secret-base64' | 'pem' | 'jwk';

export const KEY_FORMAT_NAMES: Record<KeyFormat, string> = {
  auto: 'Detect automatically',
  secret: 'Secret (text, UTF-8)',
  'secret-base64': 'Secret (base64 or base64url bytes)',
  pem: 'Public key or certificate (PEM)',
  jwk: 'JWK or JWK Set (JSON)',
};

/** Which format `auto` takes the key text to be. */
export function detectKeyFormat(text: string): Exclude<KeyFormat, 'auto'> {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) return 'pem';
  if (trimmed.startsWith('{')) {
    try {
      const value = JSON.parse(trimmed) as Record<string, unknown>;
      if (value && typeof value === 'object' && ('kty' in value || 'keys' in value)) return 'jwk';
    } catch {
      // Not JSON: a secret that starts with a brace.
    }
  }
  return 'secret';
}

/** A key ready for WebCrypto, with what the verdict says about it. */
export interface InspectedKey {
  key: CryptoKey;
  description: string;
  warnings: string[];
}

export async function hmacKey(
  bytes: Bytes,
  info: AlgInfo,
  alg: string,
  what: string,
  subtle: SubtleCrypto,
): Promise<InspectedKey> {
  if (bytes.length === 0) refuse('The secret is empty.');
  const warnings: string[] = [];
  if (bytes.length < info.bytes) {
    warnings.push(
      `Weak secret: ${bytes.length} bytes (${bytes.length * 8} bits). ${alg} needs at least ${info.bytes} bytes (${info.bytes * 8} bits, RFC 7518 §3.2). A short secret can be guessed offline from a single token; laissez refuses it unless allowWeakKey is set.`,
    );
  }
  const key = await subtle.importKey('raw', bytes, { name: 'HMAC', hash: info.hash! }, false, [
    'verify',
  ]);
  return { key, description: `${what} of ${bytes.length} bytes`, warnings };
}

// ---- PEM ----

const PEM = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/;

export async function pemKey(
  text: string,
  alg: string,
  info: AlgInfo,
  subtle: SubtleCrypto,
): Promise<InspectedKey> {
  if (info.family === 'hmac') {
    refuse(
      `${alg} is verified with a shared secret, not a public key. (A verifier that took a public key as an HMAC secret could be fooled by anyone holding that public key: the algorithm-confusion attack.)`,
    );
  }
  const match = PEM.exec(text);
  if (!match)
    refuse('This is not PEM: expected "-----BEGIN PUBLIC KEY-----" … "-----END PUBLIC KEY-----".');
  const label = match![1]!;
  const der = decodeBase64Loose(match![2]!);
  if (!der || der.length === 0) refuse('The PEM body is not valid base64.');
  const warnings: string[] = [];
  let spki: Bytes;
  let description: string;
  switch (label) {
    case 'PUBLIC KEY':
      spki = der!;
      description = 'a public key (PEM)';
      break;
    case 'CERTIFICATE':
      spki = certificateSpki(der!);
      description = "a certificate's public key (PEM)";
      warnings.push(
        'Only the public key in the certificate was used: its validity dates, issuer and chain were not checked.',
      );
      break;
    case 'RSA PUBLIC KEY':
      spki = pkcs1ToSpki(der!);
      description = 'an RSA public key (PKCS#1 PEM)';
      break;
    default:
      if (label.includes('PRIVATE')) {
        refuse(
          'This is a private key. Verifying needs only the public key; a private key should stay where it is used and never be pasted anywhere.',
        );
      }
      return refuse(`A PEM "${label.slice(0, 30)}" is not a public key or a certificate.`);
  }
  const { type, curve } = spkiType(spki);
  const params = importParams(alg, info, type, curve);
  const key = await subtle.importKey('spki', spki, params, false, ['verify']);
  return { key, description, warnings: [...warnings, ...rsaWarnings(key)] };
}

/** WebCrypto import parameters for a key of `type` (and `curve`) under `alg`, or a refusal. */
export function importParams(
  alg: string,
  info: AlgInfo,
  type: string,
  curve: string | undefined,
): AlgorithmIdentifier | RsaHashedImportParams | EcKeyImportParams {
  const kind = type === 'EC' ? `an EC ${curve} key` : `an ${type} key`;
  const mismatch = () =>
    refuse(`The token is signed with ${alg} (${info.label}), but this is ${kind}.`);
  switch (info.family) {
    case 'rsa':
    case 'pss':
      if (type === 'RSA-PSS') {
        return refuse(
          'RSA-PSS-only public keys (id-RSASSA-PSS) cannot be imported by WebCrypto; export the key as rsaEncryption (or as a JWK).',
        );
      }
      if (type !== 'RSA') return mismatch();
      return {
        name: info.family === 'rsa' ? 'RSASSA-PKCS1-v1_5' : 'RSA-PSS',
        hash: info.hash!,
      };
    case 'ecdsa':
      if (type !== 'EC' || !info.curves!.includes(curve ?? '')) return mismatch();
      return { name: 'ECDSA', namedCurve: curve! };
    case 'eddsa':
      if (!info.curves!.includes(type)) return mismatch();
      return { name: type };
    default:
      return mismatch();
  }
}

export function rsaWarnings(key: CryptoKey): string[] {
  const bits = (key.algorithm as { modulusLength?: number }).modulusLength;
  return bits !== undefined && bits < 2048
    ? [`Weak key: the RSA key is ${bits} bits; laissez requires at least 2048 (RFC 7518 §3.3).`]
    : [];
}
