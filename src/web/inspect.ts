/// <reference lib="dom" />
// Decoding and verifying a JWS compact token in the page, with WebCrypto: the debugger's engine.
// No DOM and no network: it runs the same in a browser and in Node (where its tests run). The
// rules follow laissez/jwt: strict base64url, no `alg: none`, no `b64`/`crit` extensions, the key
// must fit the algorithm (no public key used as an HMAC secret), ECDSA signatures are r‖s.

export type Family = 'hmac' | 'rsa' | 'pss' | 'ecdsa' | 'eddsa';

interface AlgInfo {
  family: Family;
  /** WebCrypto hash name; null for EdDSA. */
  hash: 'SHA-256' | 'SHA-384' | 'SHA-512' | null;
  /** Hash output in bytes: the HMAC minimum secret (RFC 7518 §3.2) and the PSS salt (§3.5). */
  bytes: number;
  /** ECDSA: the curve and the size of r and of s. EdDSA: the curves the name allows. */
  curves?: readonly string[];
  coord?: number;
  label: string;
}

const ALGS: Record<string, AlgInfo> = {
  HS256: { family: 'hmac', hash: 'SHA-256', bytes: 32, label: 'HMAC with SHA-256' },
  HS384: { family: 'hmac', hash: 'SHA-384', bytes: 48, label: 'HMAC with SHA-384' },
  HS512: { family: 'hmac', hash: 'SHA-512', bytes: 64, label: 'HMAC with SHA-512' },
  RS256: { family: 'rsa', hash: 'SHA-256', bytes: 32, label: 'RSA PKCS#1 v1.5 with SHA-256' },
  RS384: { family: 'rsa', hash: 'SHA-384', bytes: 48, label: 'RSA PKCS#1 v1.5 with SHA-384' },
  RS512: { family: 'rsa', hash: 'SHA-512', bytes: 64, label: 'RSA PKCS#1 v1.5 with SHA-512' },
  PS256: { family: 'pss', hash: 'SHA-256', bytes: 32, label: 'RSA-PSS with SHA-256' },
  PS384: { family: 'pss', hash: 'SHA-384', bytes: 48, label: 'RSA-PSS with SHA-384' },
  PS512: { family: 'pss', hash: 'SHA-512', bytes: 64, label: 'RSA-PSS with SHA-512' },
  ES256: {
    family: 'ecdsa',
    hash: 'SHA-256',
    bytes: 32,
    curves: ['P-256'],
    coord: 32,
    label: 'ECDSA P-256 with SHA-256',
  },
  ES384: {
    family: 'ecdsa',
    hash: 'SHA-384',
    bytes: 48,
    curves: ['P-384'],
    coord: 48,
    label: 'ECDSA P-384 with SHA-384',
  },
  ES512: {
    family: 'ecdsa',
    hash: 'SHA-512',
    bytes: 64,
    curves: ['P-521'],
    coord: 66,
    label: 'ECDSA P-521 with SHA-512',
  },
  EdDSA: { family: 'eddsa', hash: null, bytes: 0, curves: ['Ed25519', 'Ed448'], label: 'EdDSA' },
  Ed25519: { family: 'eddsa', hash: null, bytes: 0, curves: ['Ed25519'], label: 'Ed25519' },
  Ed448: { family: 'eddsa', hash: null, bytes: 0, curves: ['Ed448'], label: 'Ed448' },
};

export const SUPPORTED_ALGORITHMS: readonly string[] = Object.keys(ALGS);

/** The largest token the debugger decodes, in characters. */
export const MAX_TOKEN_LENGTH = 256 * 1024;

// ---- base64url ----

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Bytes WebCrypto accepts (not backed by a SharedArrayBuffer). */
export type Bytes = Uint8Array<ArrayBuffer>;

/**
 * Strict base64url (RFC 7515 §2): its alphabet only, no padding, no length that cannot be, and
 * zero unused bits (so that each byte string has exactly one encoding, as laissez/jwt requires).
 * Returns null when the text is not canonical base64url.
 */
export function decodeBase64url(text: string): Bytes | null {
  if (!B64URL.test(text) || text.length % 4 === 1) return null;
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return encodeBase64url(bytes) === text ? bytes : null;
}

export function encodeBase64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Lenient base64 or base64url, padded or not, whitespace ignored (keys pasted from elsewhere). */
function decodeBase64Loose(text: string): Bytes | null {
  const clean = text.replace(/\s+/g, '').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  if (!B64URL.test(clean) || clean.length % 4 === 1) return null;
  const binary = atob(clean.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

// ---- decoding ----

export interface DecodedToken {
  /** The three segments as given. */
  readonly segments: readonly [string, string, string];
  readonly header: Record<string, unknown>;
  /** The payload: parsed JSON when it is JSON, else its text. */
  readonly payload: unknown;
  readonly payloadIsJson: boolean;
  readonly signature: Bytes;
  /** Notes on the input (a stripped `Bearer ` prefix). */
  readonly notes: string[];
}

export type DecodeResult = { ok: true; token: DecodedToken } | { ok: false; error: string };

/** Splits and decodes a compact JWS. Checks structure only: nothing here is verified. */
export function decodeToken(input: string): DecodeResult {
  const notes: string[] = [];
  let text = input.trim();
  if (text.length > MAX_TOKEN_LENGTH) {
    return { ok: false, error: `The token is over ${MAX_TOKEN_LENGTH / 1024} KiB.` };
  }
  if (/^bearer\s+/i.test(text)) {
    text = text.replace(/^bearer\s+/i, '');
    notes.push('The "Bearer " prefix was left out: it belongs to the header, not the token.');
  }
  if (text === '') return { ok: false, error: 'Paste a token.' };
  if (/\s/.test(text)) {
    return { ok: false, error: 'The token contains spaces or line breaks; a JWT has none.' };
  }
  const parts = text.split('.');
  if (parts.length === 5) {
    return {
      ok: false,
      error:
        'This is an encrypted token (JWE, five parts): its payload cannot be read without the decryption key.',
    };
  }
  if (parts.length !== 3) {
    return {
      ok: false,
      error: `A JWT has three parts separated by dots (header.payload.signature); this has ${parts.length}.`,
    };
  }
  const [h, p, s] = parts as [string, string, string];
  const headerBytes = decodeBase64url(h);
  if (!headerBytes || h === '') {
    return { ok: false, error: 'The header (first part) is not valid base64url.' };
  }
  let header: unknown;
  try {
    header = JSON.parse(utf8.decode(headerBytes));
  } catch {
    return { ok: false, error: 'The header (first part) is not valid UTF-8 JSON.' };
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    return { ok: false, error: 'The header is not a JSON object.' };
  }
  const payloadBytes = decodeBase64url(p);
  if (!payloadBytes) {
    return { ok: false, error: 'The payload (second part) is not valid base64url.' };
  }
  let payloadText: string;
  try {
    payloadText = utf8.decode(payloadBytes);
  } catch {
    return { ok: false, error: 'The payload (second part) is not valid UTF-8.' };
  }
  let payload: unknown = payloadText;
  let payloadIsJson = false;
  try {
    payload = JSON.parse(payloadText);
    payloadIsJson = true;
  } catch {
    notes.push('The payload is not JSON, so this is a JWS but not a JWT.');
  }
  const signature = decodeBase64url(s);
  if (!signature) {
    return { ok: false, error: 'The signature (third part) is not valid base64url.' };
  }
  return {
    ok: true,
    token: {
      segments: [h, p, s],
      header: header as Record<string, unknown>,
      payload,
      payloadIsJson,
      signature,
      notes,
    },
  };
}

// ---- times ----

export const TIME_CLAIMS = ['iat', 'nbf', 'exp', 'auth_time'] as const;
export type TimeClaim = (typeof TIME_CLAIMS)[number];

export const TIME_CLAIM_NAMES: Record<TimeClaim, string> = {
  iat: 'issued at',
  nbf: 'not before',
  exp: 'expires',
  auth_time: 'authenticated at',
};

export interface TimeFact {
  claim: TimeClaim;
  seconds: number;
  date: Date;
}

/** The NumericDate claims of a payload, and the ones that are present but not numbers. */
export function timeClaims(payload: unknown): { facts: TimeFact[]; invalid: TimeClaim[] } {
  const facts: TimeFact[] = [];
  const invalid: TimeClaim[] = [];
  if (payload === null || typeof payload !== 'object') return { facts, invalid };
  const record = payload as Record<string, unknown>;
  for (const claim of TIME_CLAIMS) {
    const value = record[claim];
    if (value === undefined) continue;
    const date = new Date(Number(value) * 1000);
    if (typeof value !== 'number' || !Number.isFinite(value) || Number.isNaN(date.getTime())) {
      invalid.push(claim);
    } else {
      facts.push({ claim, seconds: value, date });
    }
  }
  return { facts, invalid };
}

export type Validity =
  | { state: 'valid'; expiresInMs: number }
  | { state: 'expired'; agoMs: number }
  | { state: 'not-yet-valid'; inMs: number }
  | { state: 'no-exp' };

/** Whether the token's times hold at `now` (ms). Not a verification: anyone can write these. */
export function validity(payload: unknown, now: number): Validity {
  const { facts } = timeClaims(payload);
  const at = (claim: TimeClaim) => facts.find((f) => f.claim === claim)?.seconds;
  const exp = at('exp');
  const nbf = at('nbf');
  if (exp !== undefined && now >= exp * 1000) return { state: 'expired', agoMs: now - exp * 1000 };
  if (nbf !== undefined && now < nbf * 1000)
    return { state: 'not-yet-valid', inMs: nbf * 1000 - now };
  if (exp === undefined) return { state: 'no-exp' };
  return { state: 'valid', expiresInMs: exp * 1000 - now };
}

/** "3 min", "2 h 5 min", "4 s": a duration for people. */
export function humanDuration(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 && m < 10 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return d < 730 ? `${d} days` : `${Math.floor(d / 365)} years`;
}

// ---- keys ----

export type KeyFormat = 'auto' | 'secret' | 'secret-base64' | 'pem' | 'jwk';

export const KEY_FORMAT_NAMES: Record<KeyFormat, string> = {
  auto: 'Detect automatically',
  secret: 'Secret (text, UTF-8)',
  'secret-base64': 'Secret (base64 or base64url bytes)',
  pem: 'Public key or certificate (PEM)',
  jwk: 'JWK or JWK Set (JSON)',
};

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

class Refusal extends Error {}
function refuse(message: string): never {
  throw new Refusal(message);
}

/** A key ready for WebCrypto, with what the verdict says about it. */
interface PreparedKey {
  key: CryptoKey;
  description: string;
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
    const info = ALGS[alg]!;
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
    if (error instanceof Refusal) {
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
function checkHeader(header: Record<string, unknown>): string {
  const { alg } = header;
  if (typeof alg !== 'string') refuse('The header has no "alg" string.');
  const name = alg as string;
  if (name.toLowerCase() === 'none') {
    refuse(
      'The header says alg "none": an unsigned token. Anyone can write one, so it is never accepted.',
    );
  }
  if (!Object.hasOwn(ALGS, name)) {
    refuse(
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
): Promise<PreparedKey[]> {
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

async function hmacKey(
  bytes: Bytes,
  info: AlgInfo,
  alg: string,
  what: string,
  subtle: SubtleCrypto,
): Promise<PreparedKey> {
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

// ---- PEM and DER ----

interface Tlv {
  tag: number;
  /** Where the element starts (its tag), where its content starts, and where it ends. */
  start: number;
  body: number;
  end: number;
}

function readTlv(der: Uint8Array, offset: number): Tlv {
  const tag = der[offset];
  let length = der[offset + 1];
  if (tag === undefined || length === undefined) refuse('The key is truncated (DER).');
  let body = offset + 2;
  if (length! & 0x80) {
    const count = length! & 0x7f;
    if (count === 0 || count > 4) refuse('The key is not valid DER.');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[body + i] ?? 0);
    body += count;
  }
  const end = body + length!;
  if (end > der.length) refuse('The key is truncated (DER).');
  return { tag: tag!, start: offset, body, end };
}

function childrenOf(der: Uint8Array, parent: Tlv): Tlv[] {
  const children: Tlv[] = [];
  for (let at = parent.body; at < parent.end; ) {
    const child = readTlv(der, at);
    children.push(child);
    at = child.end;
  }
  return children;
}

function oidText(der: Uint8Array, tlv: Tlv): string {
  const bytes = der.subarray(tlv.body, tlv.end);
  const first = bytes[0] ?? 0;
  const arcs = [
    Math.min(2, Math.floor(first / 40)),
    first - Math.min(2, Math.floor(first / 40)) * 40,
  ];
  let value = 0;
  for (const byte of bytes.subarray(1)) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  return arcs.join('.');
}

const OIDS: Record<string, string> = {
  '1.2.840.113549.1.1.1': 'RSA',
  '1.2.840.113549.1.1.10': 'RSA-PSS',
  '1.2.840.10045.2.1': 'EC',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
  '1.3.101.110': 'X25519',
  '1.3.101.111': 'X448',
};
const CURVES: Record<string, string> = {
  '1.2.840.10045.3.1.7': 'P-256',
  '1.3.132.0.34': 'P-384',
  '1.3.132.0.35': 'P-521',
  '1.3.132.0.10': 'secp256k1',
};

/** The key type (and curve) a SubjectPublicKeyInfo names. */
function spkiType(der: Uint8Array): { type: string; curve?: string } {
  const spki = readTlv(der, 0);
  const [algorithm] = childrenOf(der, spki);
  if (spki.tag !== 0x30 || !algorithm || algorithm.tag !== 0x30) {
    refuse('The PEM does not hold a public key (SubjectPublicKeyInfo).');
  }
  const [oid, parameter] = childrenOf(der, algorithm!);
  if (oid?.tag !== 0x06) refuse('The public key names no algorithm.');
  const type = OIDS[oidText(der, oid!)] ?? 'unknown';
  if (type === 'EC') {
    const curve =
      parameter && parameter.tag === 0x06
        ? (CURVES[oidText(der, parameter)] ?? 'unknown')
        : 'unknown';
    return { type, curve };
  }
  return { type };
}

/** The SubjectPublicKeyInfo of an X.509 certificate: the 7th field of tbsCertificate, or 6th without a version. */
function certificateSpki(der: Bytes): Bytes {
  const certificate = readTlv(der, 0);
  const [tbs] = childrenOf(der, certificate);
  if (tbs?.tag !== 0x30) refuse('The certificate is not valid DER.');
  const fields = childrenOf(der, tbs!);
  const index = fields[0]?.tag === 0xa0 ? 6 : 5;
  const spki = fields[index];
  if (spki?.tag !== 0x30) refuse('The certificate holds no public key where expected.');
  return der.slice(spki!.start, spki!.end);
}

function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return [0x80 | bytes.length, ...bytes];
}

/** PKCS#1 RSAPublicKey → SubjectPublicKeyInfo (rsaEncryption), which WebCrypto imports. */
function pkcs1ToSpki(pkcs1: Bytes): Bytes {
  const algorithm = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
  ];
  const bitString = [0x03, ...derLength(pkcs1.length + 1), 0x00];
  const content = algorithm.length + bitString.length + pkcs1.length;
  const out = new Uint8Array([0x30, ...derLength(content), ...algorithm, ...bitString, ...pkcs1]);
  return out;
}

const PEM = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/;

async function pemKey(
  text: string,
  alg: string,
  info: AlgInfo,
  subtle: SubtleCrypto,
): Promise<PreparedKey> {
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
function importParams(
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

function rsaWarnings(key: CryptoKey): string[] {
  const bits = (key.algorithm as { modulusLength?: number }).modulusLength;
  return bits !== undefined && bits < 2048
    ? [`Weak key: the RSA key is ${bits} bits; laissez requires at least 2048 (RFC 7518 §3.3).`]
    : [];
}

// ---- JWK ----

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

async function jwkKeys(
  token: DecodedToken,
  text: string,
  alg: string,
  info: AlgInfo,
  subtle: SubtleCrypto,
): Promise<PreparedKey[]> {
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
): Promise<PreparedKey> {
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
  if (PRIVATE_MEMBERS.some((m) => m in jwk)) {
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
