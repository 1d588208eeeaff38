// Just enough DER (ITU-T X.690) to read which key a PEM holds: the algorithm and curve of a
// SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), the SubjectPublicKeyInfo inside an X.509 certificate,
// and a PKCS#1 RSAPublicKey (RFC 8017 §A.1.1) wrapped as one, which is what WebCrypto imports.
// Lengths are bounds-checked: a truncated or malformed key is a refusal, never a read past the end.

import type { Bytes } from './base64url.ts';
import { refuse } from './refusal.ts';

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
export function spkiType(der: Uint8Array): { type: string; curve?: string } {
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
export function certificateSpki(der: Bytes): Bytes {
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
export function pkcs1ToSpki(pkcs1: Bytes): Bytes {
  const algorithm = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
  ];
  const bitString = [0x03, ...derLength(pkcs1.length + 1), 0x00];
  const content = algorithm.length + bitString.length + pkcs1.length;
  const out = new Uint8Array([0x30, ...derLength(content), ...algorithm, ...bitString, ...pkcs1]);
  return out;
}
