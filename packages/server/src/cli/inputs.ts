// What the CLI reads: a token (argument or standard input), key files and secrets, bounded in size
// and never echoed in a message.

import type { Algorithm, Jwk, Jwks } from '@laissez/jwt';
import { ALGORITHMS } from '@laissez/jwt';
import { readNamedFile } from '../server/named-file.ts';
import { expectPositionals, type Io, quoteArg, UsageError, warn } from './io.ts';

const MAX_STDIN_BYTES = 1024 * 1024;
const MAX_KEY_FILE_BYTES = 1024 * 1024;

export async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.byteLength;
    if (size > MAX_STDIN_BYTES) {
      throw new UsageError('standard input is larger than 1 MiB; a token is much smaller');
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The token from the one positional argument, or from standard input when it is `-`. Surrounding
 * whitespace and an `Authorization` header's `Bearer ` prefix are removed.
 */
export async function readToken(positionals: string[], io: Io): Promise<string> {
  expectPositionals(positionals, 1, 'one token (or - to read it from standard input)');
  const arg = positionals[0];
  if (arg === undefined) {
    throw new UsageError(
      "missing token: pass it as an argument, or '-' to read it from standard input (echo $TOKEN | laissez token decode -)",
    );
  }
  let token = arg === '-' ? await readStdin(io.stdin) : arg;
  token = token.trim().replace(/^bearer\s+/i, '');
  if (token === '') {
    throw new UsageError(
      arg === '-' ? 'standard input held no token' : 'the token argument is empty',
    );
  }
  return token;
}

function readSmallFile(path: string, flag: string): Buffer {
  const data = readNamedFile(path, flag, (message) => new UsageError(message));
  if (data.byteLength > MAX_KEY_FILE_BYTES) {
    throw new UsageError(`${flag} ${JSON.stringify(path)} is larger than 1 MiB; is it a key?`);
  }
  return data;
}

/** What a `--key` file holds. */
export type KeyFile =
  | { kind: 'pem'; key: string }
  | { kind: 'jwk'; key: Jwk }
  | { kind: 'jwks'; key: Jwks };

/**
 * Reads a PEM, a JWK (a JSON object with `kty`), a JWKS (a JSON object with `keys`) or the whole
 * output of `laissez keys generate` (`{"private": …, "public": …}`): its private half to sign, its
 * public half (or, for an HMAC secret, the secret) to verify.
 */
export function readKeyFile(path: string, purpose: 'sign' | 'verify' = 'verify'): KeyFile {
  const text = readSmallFile(path, '--key').toString('utf8').trim();
  if (text.startsWith('-----BEGIN')) return { kind: 'pem', key: text };
  if (text.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // JSON.parse's message quotes the text around the fault: key material. Say where instead.
      throw new UsageError(
        `--key ${JSON.stringify(path)} starts like JSON but is not valid JSON; a JWK or JWKS file holds one JSON object`,
      );
    }
    const object = value as Record<string, unknown>;
    if (Array.isArray(object['keys'])) {
      const keys = object['keys'] as unknown[];
      if (keys.length === 0)
        throw new UsageError(`--key ${JSON.stringify(path)}: the JWKS is empty`);
      if (!keys.every((k) => k !== null && typeof k === 'object' && !Array.isArray(k))) {
        throw new UsageError(
          `--key ${JSON.stringify(path)}: every member of a JWKS "keys" must be a JWK object`,
        );
      }
      return { kind: 'jwks', key: value as Jwks };
    }
    if (typeof object['kty'] === 'string') return { kind: 'jwk', key: value as Jwk };
    const pair = keyPairHalf(object, purpose);
    if (pair) return { kind: 'jwk', key: pair };
    throw new UsageError(
      `--key ${JSON.stringify(path)} is JSON but neither a JWK (with "kty") nor a JWKS (with "keys")`,
    );
  }
  throw new UsageError(
    `--key ${JSON.stringify(path)} is neither a PEM (-----BEGIN …), a JWK nor a JWKS; for an HMAC secret use --secret-file`,
  );
}

/** The half of a `keys generate` pair that `purpose` needs, or undefined for another object. */
function keyPairHalf(object: Record<string, unknown>, purpose: 'sign' | 'verify'): Jwk | undefined {
  const isJwk = (v: unknown): v is Jwk =>
    v !== null && typeof v === 'object' && typeof (v as { kty?: unknown }).kty === 'string';
  const { private: secretHalf, public: publicHalf } = object;
  if (!isJwk(secretHalf)) return undefined;
  // An HMAC pair has no public half: the secret verifies too.
  if (purpose === 'verify' && publicHalf !== undefined) {
    if (!isJwk(publicHalf)) return undefined;
    return publicHalf;
  }
  return secretHalf;
}

/** Reads a secret file as bytes, without the line ending(s) that editors and `echo` add. */
export function readSecretFile(path: string): Uint8Array {
  const data = readSmallFile(path, '--secret-file');
  let end = data.byteLength;
  while (end > 0 && (data[end - 1] === 0x0a || data[end - 1] === 0x0d)) end--;
  if (end === 0) throw new UsageError(`--secret-file ${JSON.stringify(path)} is empty`);
  return data.subarray(0, end);
}

/** Where the key comes from, after the key flags have been checked. */
export type KeySource =
  | { kind: 'secret'; key: Uint8Array; from: string }
  | { kind: 'pem'; key: string }
  | { kind: 'jwk'; key: Jwk }
  | { kind: 'jwks'; key: Jwks };

/** The options that pick a key (KEY_FLAGS_HELP), and `--alg`, first in `token verify|sign`. */
export const KEY_OPTIONS = {
  secret: { type: 'string' },
  'secret-file': { type: 'string' },
  key: { type: 'string' },
  alg: { type: 'string' },
} as const;

export const KEY_FLAGS_HELP = `Key (exactly one; a secret is an HMAC key, used as UTF-8 bytes):
  --secret S          the HMAC secret. It ends up in your shell history and the process list:
                      prefer --secret-file or LAISSEZ_SECRET
  --secret-file FILE  read the HMAC secret from FILE (trailing newlines are removed)
  LAISSEZ_SECRET      environment variable, used when no key flag is given
  --key FILE          a PEM, a JWK (JSON object) or a JWKS (JSON with "keys")`;

/**
 * Picks the one key source among `--secret`, `--secret-file`, `--key` and `LAISSEZ_SECRET` (used
 * only when no flag is given).
 */
export function keySource(
  values: { secret?: string | undefined; 'secret-file'?: string | undefined; key?: string },
  io: Io,
  purpose: 'sign' | 'verify' = 'verify',
): KeySource {
  const given = (['secret', 'secret-file', 'key'] as const).filter((f) => values[f] !== undefined);
  if (given.length > 1) {
    throw new UsageError(
      `${given.map((f) => `--${f}`).join(' and ')} cannot be combined: pass exactly one key`,
    );
  }
  if (values.secret !== undefined) {
    if (values.secret === '') throw new UsageError('--secret is empty');
    return { kind: 'secret', key: Buffer.from(values.secret, 'utf8'), from: '--secret' };
  }
  if (values['secret-file'] !== undefined) {
    return { kind: 'secret', key: readSecretFile(values['secret-file']), from: '--secret-file' };
  }
  if (values.key !== undefined) return readKeyFile(values.key, purpose);
  const fromEnv = io.env['LAISSEZ_SECRET'];
  if (fromEnv !== undefined && fromEnv !== '') {
    return { kind: 'secret', key: Buffer.from(fromEnv, 'utf8'), from: 'LAISSEZ_SECRET' };
  }
  throw new UsageError(
    'missing key: pass --secret S, --secret-file FILE or LAISSEZ_SECRET for an HMAC secret, or --key FILE for a PEM, JWK or JWKS',
  );
}

/**
 * The algorithms to use when `--alg` is not given: HS256 for a secret; for a JWK, its `alg`; for
 * a JWKS, the `alg` of its keys when every key has one. A PEM never says: ask for `--alg`.
 */
export function defaultAlgorithms(source: KeySource): Algorithm[] {
  const known = new Set<string>(ALGORITHMS);
  const ask = (what: string) =>
    new UsageError(
      `${what}; pass --alg to say which algorithm it is for, e.g. --alg ES256 or --alg RS256`,
    );
  switch (source.kind) {
    case 'secret':
      return ['HS256'];
    case 'pem':
      throw ask('a PEM key does not name its algorithm');
    case 'jwk': {
      const alg = source.key.alg;
      if (alg === undefined) throw ask('the JWK has no "alg" member');
      if (!known.has(alg)) throw ask(`the JWK's "alg" ${quoteArg(String(alg))} is not supported`);
      return [alg as Algorithm];
    }
    case 'jwks': {
      const algs = source.key.keys.map((jwk) => jwk.alg);
      if (algs.some((alg) => alg === undefined)) throw ask('not every key in the JWKS has "alg"');
      const usable = [...new Set(algs as string[])].filter((alg) => known.has(alg));
      if (usable.length === 0) throw ask('no key in the JWKS has a supported "alg"');
      return usable as Algorithm[];
    }
  }
}

const HASH_BYTES: Partial<Record<Algorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/** The sizes in bytes of the HMAC secrets in a key source (a secret, or oct JWKs); none for others. */
function secretBytes(source: KeySource): number[] {
  if (source.kind === 'secret') return [source.key.byteLength];
  const octs = (
    source.kind === 'jwk' ? [source.key] : source.kind === 'jwks' ? source.key.keys : []
  ).filter((jwk) => jwk.kty === 'oct' && typeof jwk.k === 'string');
  return octs.map((jwk) => Buffer.from(jwk.k as string, 'base64url').byteLength);
}

/**
 * With `--allow-weak-key`, says on stderr when a secret really is shorter than the hash output
 * (RFC 7518 §3.2): how many bits it has and how many the algorithm needs. Sizes only, never bytes.
 */
export function warnIfWeak(source: KeySource, algorithms: Algorithm[], io: Io): void {
  const sizes = secretBytes(source);
  for (const alg of algorithms) {
    const needed = HASH_BYTES[alg];
    if (needed === undefined) continue;
    for (const size of sizes) {
      if (size > 0 && size < needed) {
        warn(
          io,
          `the ${alg} key is weak: ${size * 8} bits, ${needed * 8} needed (RFC 7518 §3.2). Accepted because of --allow-weak-key; use a random ${needed}-byte secret (laissez keys generate --alg ${alg})`,
        );
      }
    }
  }
}
