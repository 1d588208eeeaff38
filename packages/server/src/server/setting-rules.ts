// The parsers (command-line text to the library's value) and checks (of the library's value)
// that the rows of the settings table (src/server/settings.ts) are made of.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { parseDuration } from '@laissez/jwt';
import { checkOptions } from '@laissez/jwt/options';
import { KeyEncryptionKey } from '../auth/kek.ts';
import { RETIRE_LEEWAY } from '../auth/keyring.ts';
import { proxyTrust, type TrustProxy } from './connections.ts';
import { readNamedFile } from './named-file.ts';
import type { Naming } from './options.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// Parsers of command-line text. They throw a bare Error with the message; the caller makes it a
// ConfigError.

export function duration(unit: 's' | 'ms', zero: 'zero' | 'positive') {
  return (text: string, name: string): number => {
    let s: number;
    try {
      s = parseDuration(text, name);
    } catch {
      s = Number.NaN;
    }
    if (!(s > 0 || (zero === 'zero' && s === 0))) {
      throw new Error(
        `${name} must be a duration like 30s, 15m, 12h or 30d${zero === 'zero' ? ', or 0' : ''} (got ${JSON.stringify(text)})`,
      );
    }
    return unit === 'ms' ? s * 1000 : s;
  };
}

export function onOff(text: string, name: string): boolean {
  if (/^(1|true|on|yes)$/i.test(text)) return true;
  if (/^(0|false|off|no|)$/i.test(text)) return false;
  throw new Error(`${name} must be on or off (got ${JSON.stringify(text)})`);
}

export const text = (value: string): string | undefined => value || undefined;

export function wholeNumber(value: string, name: string): number {
  if (!/^\d{1,9}$/.test(value)) {
    throw new Error(`${name} must be a whole number (got ${JSON.stringify(value)})`);
  }
  return Number(value);
}

/**
 * `--trust-proxy`: a hop count, on/off, or proxy addresses/CIDRs. The library check
 * (`proxyTrust`) then decides what the value means.
 */
export function trustProxyText(value: string, name: string): TrustProxy {
  if (/^\d+$/.test(value)) return Number(value);
  if (/^(1|true|on|yes|0|false|off|no|)$/i.test(value)) return onOff(value, name);
  return value.split(',').map((e) => e.trim());
}

/** Reads a TLS file, naming the setting and the file when it cannot. */
export function tlsFile(kind: 'cert' | 'key') {
  return (file: string, name: string): Buffer => {
    const pem = readNamedFile(file, name, (message) => new Error(message));
    const problem = kind === 'cert' ? certificateProblem(pem) : keyProblem(pem);
    if (problem) throw new Error(`${name} ${JSON.stringify(file)} ${problem}`);
    return pem;
  };
}

export function certificateProblem(pem: string | Buffer): string | undefined {
  try {
    new X509Certificate(pem);
    return undefined;
  } catch {
    const looksLikeKey = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem.toString());
    return `is not a PEM certificate${looksLikeKey ? ' but a private key: are --tls-cert and --tls-key swapped?' : ''}`;
  }
}

export function keyProblem(pem: string | Buffer): string | undefined {
  try {
    createPrivateKey(pem);
    return undefined;
  } catch {
    return 'is not a PEM private key (an encrypted key is not supported)';
  }
}

// Checks of library values. Each names the option as the entry point does.

export function integerSetting(min: number, max: number) {
  return (value: unknown, n: Naming, option: string): void => {
    const why =
      typeof value !== 'number' || !Number.isInteger(value)
        ? `a whole number${n.amount(option, 1).replace(/^1/, ' of')}`
        : value < min
          ? `at least ${n.amount(option, min)}`
          : value > max
            ? `at most ${n.amount(option, max)}`
            : undefined;
    if (why) throw n.fail(`${n.name(option)} must be ${why}${n.got(option, value)}`);
  };
}

export function httpUrl(protocols: RegExp, example: string, plain = false) {
  return (value: unknown, n: Naming, option: string): void => {
    let url: URL | undefined;
    try {
      url = new URL(value as string);
    } catch {}
    if (!url || !protocols.test(url.protocol) || (plain && (url.search || url.hash))) {
      throw n.fail(`${n.name(option)} must be ${example}${n.got(option, value)}`);
    }
  };
}

export function oneOf(list: readonly string[]) {
  return (value: unknown, n: Naming, option: string): void => {
    if (!list.includes(value as string)) {
      throw n.fail(`${n.name(option)} must be one of ${list.join(', ')}${n.got(option, value)}`);
    }
  };
}

/** A list whose every entry is one of `allowed` (an empty list is allowed: all off). */
export function someOf(allowed: readonly string[]) {
  return (value: unknown, n: Naming, option: string): void => {
    if (!Array.isArray(value) || !value.every((v) => allowed.includes(v as string))) {
      throw n.fail(
        `${n.name(option)} must be a list of ${allowed.join(', ')} (or empty)${n.got(option, value)}`,
      );
    }
  };
}

export function kind(
  type: 'boolean' | 'string' | 'function' | 'object' | 'non-empty string' | 'key',
) {
  const ok = (value: unknown): boolean => {
    if (type === 'non-empty string') return typeof value === 'string' && value !== '';
    if (type === 'key') return typeof value === 'string' || value instanceof Uint8Array;
    return typeof value === type && value !== null;
  };
  const what =
    type === 'key' ? 'base64url text or bytes' : `a${type === 'object' ? 'n' : ''} ${type}`;
  return (value: unknown, n: Naming, option: string): void => {
    if (!ok(value)) throw n.fail(`${n.name(option)} must be ${what}`);
  };
}

export function origins(value: unknown, n: Naming, option: string): void {
  if (!Array.isArray(value)) throw n.fail(`${n.name(option)} must be a list of origins`);
  for (const origin of value) {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {}
    if (!url || url.origin !== origin) {
      throw n.fail(
        `${n.name(option)} entries must be origins like https://app.example.com (got ${JSON.stringify(String(origin).slice(0, 100))})`,
      );
    }
  }
}

// A rotated-out key keeps verifying 60 s past the last token it could have signed; an instance
// that has not reloaded yet may still sign with it, so a reload must come within that minute.
export function keyReload(value: unknown, n: Naming, option: string): void {
  if (typeof value !== 'number' || !(value > 0) || value > RETIRE_LEEWAY) {
    throw n.fail(
      `${n.name(option)} must be at most ${n.amount(option, RETIRE_LEEWAY)}, over 0${n.got(option, value)}: an instance may sign with a rotated-out key until it reloads, and that key is kept only ${RETIRE_LEEWAY / 1000} s past its tokens`,
    );
  }
}

export const DAY_SECONDS = 24 * 3600;

/** The certificate and key of `https`: both, PEM, and a pair. */
export function checkTls(value: unknown, n: Naming): void {
  const given = (value ?? {}) as { cert?: string | Buffer; key?: string | Buffer };
  if (typeof value !== 'object' || value === null) throw n.fail('https must be { cert, key }');
  checkTlsPair(given.cert, given.key, n);
  checkOptions('createAuthServer', value, ['cert', 'key'], 'https.');
  const cert = certificateProblem(given.cert as string | Buffer);
  if (cert) throw n.fail(`${n.name('https.cert')}${n.given('https.cert')} ${cert}`);
  const key = keyProblem(given.key as string | Buffer);
  if (key) throw n.fail(`${n.name('https.key')}${n.given('https.key')} ${key}`);
  const x509 = new X509Certificate(given.cert as string | Buffer);
  if (!x509.checkPrivateKey(createPrivateKey(given.key as string | Buffer))) {
    throw n.fail(
      `${n.name('https.key')}${n.given('https.key')} is not the key of the certificate in ${n.short('https.cert')}${n.given('https.cert')}`,
    );
  }
}

/** A certificate without its key, or a key without its certificate, is a mistake. */
export function checkTlsPair(cert: unknown, key: unknown, n: Naming): void {
  if (!cert !== !key || !cert) {
    throw n.fail(
      `${n.short('https.cert')} and ${n.short('https.key')} go together: give both or neither`,
    );
  }
}

/** `--port`: the command line's own. */
export function port(text: string, name: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new Error(`${name} must be 0 to 65535 (got ${JSON.stringify(text)})`);
  }
  return Number(text);
}

/** Comma-separated entries, blanks dropped. */
export function list(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

/** LAISSEZ_KEY_ENCRYPTION_KEY: checked now, so that a malformed key stops the start (exit 2). */
export function keyEncryptionKeyText(text: string, name: string): string | undefined {
  if (!text) return undefined;
  try {
    KeyEncryptionKey.parse(text, name);
  } catch (error) {
    // The message names the setting, never the text (a secret).
    throw new Error((error as Error).message);
  }
  return text;
}

export function trustProxyCheck(value: unknown, n: Naming, option: string): void {
  // proxyTrust is what the server runs: a hop count 0 to 16, true/false, addresses or CIDRs.
  try {
    proxyTrust(value as TrustProxy);
  } catch {
    throw n.fail(
      `${n.name(option)} must be on, off, a hop count 1 to 16, or proxy addresses/CIDRs like 10.0.0.0/8${n.got(option, value)}`,
    );
  }
}

/** `--log-level`: `silent` turns the logger off. */
export function logLevel(text: string, name: string): false | { level: string } {
  if (!(LOG_LEVELS as readonly string[]).includes(text)) {
    throw new Error(`${name} must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return text === 'silent' ? false : { level: text };
}

export function loggerCheck(value: unknown, n: Naming, option: string): void {
  if (typeof value === 'boolean') return;
  const level = (value as { level?: unknown } | null)?.level;
  if (
    typeof value !== 'object' ||
    value === null ||
    (level !== undefined && !(LOG_LEVELS as readonly unknown[]).includes(level))
  ) {
    throw n.fail(
      `${n.name(option)} must be false, true or { level } with level one of ${LOG_LEVELS.join(', ')}`,
    );
  }
}

export function breachedPasswordsCheck(value: unknown, n: Naming, option: string): void {
  kind('object')(value, n, option);
  checkOptions('createAuthServer', value as object, ['url', 'timeout'], 'breachedPasswords.');
}

/** A From mailbox: `name@host` or `Name <name@host>`, on one line. */
export function mailbox(value: unknown, n: Naming, option: string): void {
  const ok =
    typeof value === 'string' &&
    value.length <= 254 &&
    /^(?:[^<>\r\n\p{C}]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/u.test(value);
  if (!ok) {
    throw n.fail(
      `${n.name(option)} must be an address like no-reply@example.com or "Example <no-reply@example.com>"${n.got(option, value)}`,
    );
  }
}

/** Text of 1 to `max` characters on one line. */
export function shortText(max: number) {
  return (value: unknown, n: Naming, option: string): void => {
    if (typeof value !== 'string' || value === '' || value.length > max || /[\p{C}]/u.test(value))
      throw n.fail(`${n.name(option)} must be 1 to ${max} characters on one line`);
  };
}

/**
 * A WebAuthn RP ID (W3C WebAuthn §5.1.3, "RP ID"): a valid domain string (HTML's "host" without
 * a port), lower-case ASCII labels; an IP address is no RP ID, browsers refuse it.
 */
export function rpIdCheck(value: unknown, n: Naming, option: string): void {
  const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
  const ok =
    typeof value === 'string' &&
    value.length <= 253 &&
    new RegExp(`^${label}(?:\\.${label})*$`).test(value) &&
    !/^[0-9.]+$/.test(value);
  if (!ok) {
    throw n.fail(
      `${n.name(option)} must be a domain such as example.com or localhost, lower-case, no scheme, port or IP address${n.got(option, value)}`,
    );
  }
}

/** Whether `origin`'s host is the RP ID or a subdomain of it (WebAuthn §5.1.3, §7.1 step 9). */
export function originWithinRpId(origin: string, rpId: string): boolean {
  const host = new URL(origin).hostname;
  return host === rpId || host.endsWith(`.${rpId}`);
}
