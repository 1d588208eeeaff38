/// <reference lib="dom" />
// JWKs and JWK Sets (RFC 7517) for the debugger: the key the token's kid names, or every key that
// fits its algorithm; only the public members are imported into WebCrypto.

import { PRIVATE_JWK_MEMBERS } from '@laissez/jwt/facts';
import type { AlgInfo } from './algorithms.ts';
import { decodeBase64url } from './base64url.ts';
import type { DecodedToken } from './decode.ts';
import { hmacKey, type InspectedKey, importParams, rsaWarnings } from './keys.ts';
import { refuse } from './refusal.ts';

export async function jwkKeys(
  token: DecodedToken,
  text: string,
  alg: string,
  info: AlgInfo,
  subtle: SubtleCrypto,
): Promise<InspectedKey[]> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    refuse('The key is not valid JSON.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    refuse('A JWK is a JSON object (or a JWK Set: {"keys": [...]}).');
  }
  const record = value as Record<string, unknown>;
  if (!Array.isArray(record.keys)) return [await jwkKey(record, alg, info, subtle, 'a JWK')];
  const all = record.keys.filter(
    (k): k is Record<string, unknown> => k !== null && typeof k === 'object' && !Array.isArray(k),
  );
  const kid = token.header.kid;
  let chosen = all;
  if (typeof kid === 'string') {
    chosen = all.filter((k) => k.kid === kid);
    if (chosen.length === 0) {
      refuse(`No key in the set has the token's kid ${JSON.stringify(kid.slice(0, 40))}.`);
    }
  }
  const fitting = chosen.filter((k) => jwkFits(k, alg, info));
  if (fitting.length === 0) refuse(`No key in the set fits ${alg} (${info.label}).`);
  return Promise.all(
    fitting.map((k) =>
      jwkKey(
        k,
        alg,
        info,
        subtle,
        typeof k.kid === 'string' ? `the JWK "${k.kid.slice(0, 40)}"` : 'a JWK from the set',
      ),
    ),
  );
}

function jwkFits(jwk: Record<string, unknown>, alg: string, info: AlgInfo): boolean {
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  switch (info.family) {
    case 'hmac':
      return jwk.kty === 'oct';
    case 'rsa':
    case 'pss':
      return jwk.kty === 'RSA';
    case 'ecdsa':
      return jwk.kty === 'EC' && info.curves!.includes(String(jwk.crv));
    case 'eddsa':
      return jwk.kty === 'OKP' && info.curves!.includes(String(jwk.crv));
  }
}

async function jwkKey(
  jwk: Record<string, unknown>,
  alg: string,
  info: AlgInfo,
  subtle: SubtleCrypto,
  description: string,
): Promise<InspectedKey> {
  const { kty, crv } = jwk;
  if (typeof kty !== 'string') refuse('The JWK has no "kty".');
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    refuse(`The JWK is for ${String(jwk.alg).slice(0, 20)}; the token says ${alg}.`);
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') {
    refuse(`The JWK's "use" is ${JSON.stringify(String(jwk.use).slice(0, 20))}, not "sig".`);
  }
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) {
    refuse('The JWK\'s "key_ops" does not allow "verify".');
  }
  const warnings: string[] = [];
  if (kty === 'oct') {
    if (info.family !== 'hmac') {
      refuse(
        `The token is signed with ${alg} (${info.label}), but this JWK is a secret (oct) key.`,
      );
    }
    const bytes =
      typeof jwk.k === 'string' ? decodeBase64url(jwk.k) : refuse('The oct JWK has no "k".');
    if (!bytes) refuse('The JWK\'s "k" is not valid base64url.');
    const prepared = await hmacKey(bytes!, info, alg, `${description} (oct)`, subtle);
    return prepared;
  }
  if (PRIVATE_JWK_MEMBERS.some((m) => m in jwk)) {
    warnings.push(
      'This JWK holds a private key: only its public part was used. A private key should never be pasted anywhere.',
    );
  }
  let publicJwk: Record<string, unknown>;
  let type: string;
  let curve: string | undefined;
  switch (kty) {
    case 'RSA':
      publicJwk = { kty, n: jwk.n, e: jwk.e };
      type = 'RSA';
      break;
    case 'EC':
      publicJwk = { kty, crv, x: jwk.x, y: jwk.y };
      type = 'EC';
      curve = String(crv);
      break;
    case 'OKP':
      publicJwk = { kty, crv, x: jwk.x };
      type = String(crv);
      break;
    default:
      return refuse(`The JWK type ${JSON.stringify(kty.slice(0, 10))} is not supported.`);
  }
  const params = importParams(alg, info, type, curve);
  const key = await subtle.importKey('jwk', publicJwk as JsonWebKey, params, false, ['verify']);
  return {
    key,
    description: `${description} (${type === 'EC' ? `EC ${curve}` : type})`,
    warnings: [...warnings, ...rsaWarnings(key)],
  };
}
