// Signing keys at rest: the private half of every signing key (an EC/OKP/RSA private JWK, or an
// HMAC secret) is stored encrypted under a key-encryption key (KEK) that never enters the
// database, so that a dump or a backup of the database alone cannot mint tokens.
//
// The envelope is one line of text in the private_jwk column:
//
//   enc:v1:<kekId>:<iv>:<ciphertext and tag>        (each part base64url)
//
// AES-256-GCM (NIST SP 800-38D) with a random 96-bit IV per encryption (§8.2.2: a few keys per
// KEK are far below the 2^32 limit for random IVs) and the 128-bit tag appended. The additional
// authenticated data binds the envelope to its row (kid and alg) and its KEK, so a ciphertext
// moved to another row, or edited, fails to open instead of signing under another name.
// The AES key and the KEK's id are both derived from the KEK with HKDF-SHA256 (RFC 5869), so
// the id names a KEK in errors and envelopes without being the key or a plain hash of it.
import {
  createCipheriv,
  createDecipheriv,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fstatSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { Store } from '../store/types.ts';

/** A KEK is 32 random bytes (AES-256). */
export const KEK_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PREFIX = 'enc:v1:';

/** A KEK that is missing, malformed, or not the one the keys were encrypted under. */
export class KeyEncryptionKeyError extends Error {
  override name = 'KeyEncryptionKeyError';
}

/** True when the stored text is an envelope (not a plaintext JWK written by an older laissez). */
export function isSealed(privateJwk: string): boolean {
  return privateJwk.startsWith('enc:');
}

/** The id of the KEK an envelope was sealed under, or undefined for plaintext. */
export function sealedUnder(privateJwk: string): string | undefined {
  if (!privateJwk.startsWith(PREFIX)) return undefined;
  return privateJwk.slice(PREFIX.length).split(':')[0];
}

/** 32 fresh random bytes as base64url text: the form of LAISSEZ_KEY_ENCRYPTION_KEY and KEK files. */
export function generateKekText(): string {
  return randomBytes(KEK_BYTES).toString('base64url');
}

function derive(kek: Uint8Array, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), info, length));
}

function aad(kekId: string, key: { kid: string; alg: string }): Buffer {
  // JSON, not a joined string: a kid holding the separator cannot be confused with another row.
  return Buffer.from(JSON.stringify(['laissez signing key', 1, kekId, key.kid, key.alg]));
}

export class KeyEncryptionKey {
  /** A short name of this KEK (HKDF-derived), written in envelopes and error messages. */
  readonly id: string;
  /** The setting it came from, named in every error about it. */
  readonly source: string;
  readonly #aesKey: Buffer;
  /** The root of `deriveKey`: itself derived, so the KEK's bytes are not kept. */
  readonly #derivationRoot: Buffer;

  private constructor(bytes: Uint8Array, source: string) {
    this.#derivationRoot = derive(bytes, 'laissez derived keys v1', 32);
    this.#aesKey = derive(bytes, 'laissez signing-key encryption v1', 32);
    this.id = derive(bytes, 'laissez key-encryption-key id v1', 9).toString('base64url');
    this.source = source;
  }

  /** From 32 bytes. */
  static fromBytes(bytes: Uint8Array, source: string): KeyEncryptionKey {
    if (bytes.length !== KEK_BYTES) {
      throw new KeyEncryptionKeyError(
        `${source} must hold ${KEK_BYTES} bytes (got ${bytes.length})`,
      );
    }
    return new KeyEncryptionKey(bytes, source);
  }

  /**
   * From text: base64url (or base64) of 32 bytes, surrounding white space ignored. The message
   * never repeats the text: it may be a secret one character off.
   */
  static parse(text: string, source: string): KeyEncryptionKey {
    const trimmed = text.trim();
    if (!/^[A-Za-z0-9_-]{43}$|^[A-Za-z0-9+/]{43}=$/.test(trimmed)) {
      throw new KeyEncryptionKeyError(
        `${source} must be the base64url of ${KEK_BYTES} random bytes (43 characters), e.g. from \`laissez keys rewrap --new-key-file FILE\` or \`openssl rand -base64 32\``,
      );
    }
    return new KeyEncryptionKey(Buffer.from(trimmed, 'base64'), source);
  }

  /**
   * A 32-byte key for another purpose, derived from this KEK with HKDF-SHA256 (RFC 5869): a root
   * (`info` "laissez derived keys v1") then the purpose (`info` = purpose). Like the KEK, it is in
   * no database; no purpose reaches the signing-key encryption key or the id (derived from the
   * KEK itself under other `info`). It changes with the KEK (`laissez keys rewrap`).
   */
  deriveKey(purpose: string): Buffer {
    return derive(this.#derivationRoot, purpose, 32);
  }

  /** Encrypts the private JWK text of `key` into an envelope. */
  seal(key: { kid: string; alg: string }, plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#aesKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(this.id, key));
    const body = Buffer.concat([
      cipher.update(plaintext, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return `${PREFIX}${this.id}:${iv.toString('base64url')}:${body.toString('base64url')}`;
  }

  /**
   * Decrypts the envelope of `key`. A KEK other than the one it was sealed under, or an envelope
   * altered or moved to another row, is a KeyEncryptionKeyError naming the setting: never an
   * OpenSSL message, never any key material.
   */
  open(key: { kid: string; alg: string; privateJwk: string }): string {
    const parts = key.privateJwk.startsWith(PREFIX)
      ? key.privateJwk.slice(PREFIX.length).split(':')
      : [];
    const [kekId, ivText, bodyText] = parts;
    if (parts.length !== 3 || !kekId || !ivText || !bodyText) {
      throw new KeyEncryptionKeyError(
        `signing key ${key.kid}: the stored private key is not an envelope this version of laissez reads`,
      );
    }
    if (!sameText(kekId, this.id)) {
      throw new KeyEncryptionKeyError(
        `signing key ${key.kid} is encrypted under key-encryption key ${kekId}, but ${this.source} holds key ${this.id}: configure the key-encryption key the database was written with (after \`laissez keys rewrap\`, the new one)`,
      );
    }
    const iv = Buffer.from(ivText, 'base64url');
    const body = Buffer.from(bodyText, 'base64url');
    if (iv.length !== IV_BYTES || body.length < TAG_BYTES) {
      throw new KeyEncryptionKeyError(`signing key ${key.kid}: the stored envelope is truncated`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#aesKey, iv, {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(aad(kekId, key));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(body.subarray(0, body.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return plain.toString('utf8');
    } catch {
      throw new KeyEncryptionKeyError(
        `signing key ${key.kid}: the stored envelope does not authenticate under ${this.source} (the row was altered, or moved from another key)`,
      );
    }
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

// --- where the KEK comes from ------------------------------------------------------------------

/** Where to read the KEK: its text (an environment variable, an option) or a file. */
export type KekSource =
  | { kind: 'text'; value: string | Uint8Array; label: string }
  | {
      kind: 'file';
      path: string;
      label: string;
      /**
       * The default file of the embedded database: created (0600) when missing, and tightened to
       * 0600 when looser. A file the operator named is never created or changed: a looser one is
       * only warned about (it may sit on a read-only secret mount).
       */
      own: boolean;
    };

/** The mode bits group and others hold on a file: none for a secret. */
const LOOSE = 0o077;

function readKekFile(path: string, label: string, own: boolean): KeyEncryptionKey | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new KeyEncryptionKeyError(`cannot read ${label} ${path}: ${code ?? 'error'}`);
  }
  try {
    const mode = fstatSync(fd).mode & 0o777;
    if (mode & LOOSE) {
      if (own) {
        try {
          chmodSync(path, 0o600);
        } catch (error) {
          throw new KeyEncryptionKeyError(
            `${label} ${path} is readable by others (mode ${mode.toString(8)}) and cannot be made private: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
          );
        }
      } else {
        process.emitWarning(
          `${label} ${path} is readable by group or others (mode ${mode.toString(8)}): anyone who can read it and the database can sign tokens; chmod 600 it`,
          { code: 'LAISSEZ_KEK_FILE_MODE' },
        );
      }
    }
    return KeyEncryptionKey.parse(readFileSync(fd, 'utf8'), `${label} ${path}`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates a KEK file, 0600 whatever the umask, atomically: the key is written to a private
 * temporary file and then linked into place, which fails if the name exists. Of several
 * processes creating it at once, one wins and the others read its key: never half a file.
 */
export function createKekFile(path: string, label: string): KeyEncryptionKey {
  const temporary = join(dirname(path), `.${randomBytes(6).toString('hex')}.kek.tmp`);
  const text = generateKekText();
  try {
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, `${text}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(temporary, 0o600);
    try {
      linkSync(temporary, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const theirs = readKekFile(path, label, true);
      if (theirs) return theirs;
      throw error;
    }
  } catch (error) {
    if (error instanceof KeyEncryptionKeyError) throw error;
    throw new KeyEncryptionKeyError(
      `cannot create ${label} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  } finally {
    try {
      unlinkSync(temporary);
    } catch {}
  }
  return KeyEncryptionKey.parse(text, `${label} ${path}`);
}

/**
 * Loads the KEK. The default file of the embedded database is created when it is missing, but
 * only while no key in the store is encrypted yet: a missing file next to encrypted keys is a
 * lost or misplaced key, never a reason to make a new one.
 */
export async function loadKeyEncryptionKey(
  source: KekSource,
  store: Pick<Store, 'listSigningKeys'>,
): Promise<KeyEncryptionKey> {
  if (source.kind === 'text') {
    return typeof source.value === 'string'
      ? KeyEncryptionKey.parse(source.value, source.label)
      : KeyEncryptionKey.fromBytes(source.value, source.label);
  }
  const found = readKekFile(source.path, source.label, source.own);
  if (found) return found;
  const sealed = (await store.listSigningKeys()).filter((k) => isSealed(k.privateJwk));
  if (!source.own || sealed.length > 0) {
    throw new KeyEncryptionKeyError(
      sealed.length > 0
        ? `${source.label} ${source.path} does not exist, and the signing keys in the database are encrypted (under key-encryption key ${sealedUnder(sealed[0]!.privateJwk)}): restore the file from your backup (a backup of the database alone cannot sign, by design)`
        : `${source.label} ${source.path} does not exist`,
    );
  }
  return createKekFile(source.path, source.label);
}
