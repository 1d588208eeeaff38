// Server configuration from flags and environment, validated once at start with messages that
// say what is wrong and how to fix it.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { KeyEncryptionKey } from '../auth/kek.ts';
import { RETIRE_LEEWAY, SIGNING_ALGORITHMS, type SigningAlgorithm } from '../auth/keyring.ts';
import { parseDuration } from '../jwt/index.ts';
import type { AuthServerOptions } from './app.ts';

export interface ServeConfig {
  port: number;
  host: string;
  options: AuthServerOptions;
  /** The issuer was not configured: it is derived from the port (`defaultIssuer`). */
  issuerFromPort: boolean;
}

/** The issuer when none is configured: `http(s)://localhost[:port]`. */
export function defaultIssuer(https: boolean, port: number): string {
  return `${https ? 'https' : 'http'}://localhost${port === 80 || port === 443 ? '' : `:${port}`}`;
}

/** One setting: its flag, its environment variable, its default and what it means. */
export const SETTINGS = [
  ['port', 'PORT', '3000', 'TCP port (0 picks a free one)'],
  ['host', 'HOST', '127.0.0.1', 'address to listen on (0.0.0.0 for every interface)'],
  ['data-dir', 'LAISSEZ_DATA_DIR', './data', 'where the embedded SQLite database lives'],
  [
    'redis-url',
    'REDIS_URL',
    '',
    'redis://host:6379: shared rate limits and the session revocation list',
  ],
  [
    'database-url',
    'DATABASE_URL',
    '',
    'postgres://user:password@host:5432/db: use PostgreSQL instead of SQLite',
  ],
  [
    'key-encryption-key-file',
    'LAISSEZ_KEY_ENCRYPTION_KEY_FILE',
    '<data-dir>/laissez.kek',
    'the key that encrypts the signing keys (SQLite: made on first start; PostgreSQL: needed, or LAISSEZ_KEY_ENCRYPTION_KEY)',
  ],
  ['issuer', 'LAISSEZ_ISSUER', 'http(s)://localhost:<port>', '"iss" of access tokens'],
  ['audience', 'LAISSEZ_AUDIENCE', 'api', '"aud" of access tokens'],
  ['alg', 'LAISSEZ_ALG', 'HS256', `signing algorithm: ${SIGNING_ALGORITHMS.join(', ')}`],
  ['access-ttl', 'LAISSEZ_ACCESS_TTL', '15m', 'access-token lifetime'],
  ['refresh-ttl', 'LAISSEZ_REFRESH_TTL', '30d', 'refresh-token lifetime, absolute from log-in'],
  [
    'reuse-grace',
    'LAISSEZ_REUSE_GRACE',
    '10s',
    'how long a spent refresh token still works (racing tabs)',
  ],
  [
    'key-publish-delay',
    'LAISSEZ_KEY_PUBLISH_DELAY',
    '5m',
    'a rotated-in key is in the JWKS this long before it signs',
  ],
  [
    'key-reload',
    'LAISSEZ_KEY_RELOAD',
    '30s',
    'how often to re-read keys rotated by `laissez keys rotate` or another instance',
  ],
  ['cookies', 'LAISSEZ_COOKIES', 'off', 'on: also deliver tokens in HttpOnly cookies'],
  [
    'allowed-origins',
    'LAISSEZ_ALLOWED_ORIGINS',
    '',
    'comma-separated origins allowed to use the cookies',
  ],
  ['tls-cert', 'LAISSEZ_TLS_CERT', '', 'PEM certificate file: serve HTTPS (with HSTS)'],
  ['tls-key', 'LAISSEZ_TLS_KEY', '', 'PEM private key file for --tls-cert'],
  [
    'trust-proxy',
    'LAISSEZ_TRUST_PROXY',
    'off',
    'X-Forwarded-* from proxies in front: a hop count (1), their addresses/CIDRs, or on (any)',
  ],
  [
    'breached-password-url',
    'LAISSEZ_BREACHED_PASSWORD_URL',
    '',
    'a k-anonymity range API (Pwned Passwords format) to refuse breached new passwords',
  ],
  [
    'breached-password-timeout',
    'LAISSEZ_BREACHED_PASSWORD_TIMEOUT',
    '2s',
    'how long to wait for it; slower or unreachable: the password is allowed and a warning logged',
  ],
  ['log-level', 'LAISSEZ_LOG_LEVEL', 'info', 'fatal, error, warn, info, debug, trace or silent'],
  [
    'headers-timeout',
    'LAISSEZ_HEADERS_TIMEOUT',
    '10s',
    'a request line and headers slower than this get 408 and the connection is closed',
  ],
  [
    'request-timeout',
    'LAISSEZ_REQUEST_TIMEOUT',
    '30s',
    'a whole request (body included) slower than this gets 408 and the connection is closed',
  ],
  [
    'idle-timeout',
    'LAISSEZ_IDLE_TIMEOUT',
    '5s',
    'an idle keep-alive connection is closed after this',
  ],
  [
    'max-connections-per-ip',
    'LAISSEZ_MAX_CONNECTIONS_PER_IP',
    '128',
    'open connections one client address may hold (0: no cap; trusted proxies are not counted)',
  ],
] as const;

/** Reads one TLS file, naming the flag and the file when it cannot. */
function readTlsFile(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (code ?? 'unreadable');
    throw new ConfigError(`${flag} ${JSON.stringify(file)} cannot be read: ${why}`);
  }
}

/**
 * The certificate and key for HTTPS, checked now so that a swapped, wrong or mismatched file is a
 * message naming the setting and the file, not an OpenSSL error when the server starts.
 */
function readTls(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const cert = readTlsFile('--tls-cert / LAISSEZ_TLS_CERT', certFile);
  const key = readTlsFile('--tls-key / LAISSEZ_TLS_KEY', keyFile);
  const looksLikeKey = (pem: Buffer) =>
    /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem.toString('latin1'));
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new ConfigError(
      `--tls-cert / LAISSEZ_TLS_CERT ${JSON.stringify(certFile)} is not a PEM certificate${
        looksLikeKey(cert) ? ' but a private key: are --tls-cert and --tls-key swapped?' : ''
      }`,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError(
      `--tls-key / LAISSEZ_TLS_KEY ${JSON.stringify(keyFile)} is not a PEM private key (an encrypted key is not supported)`,
    );
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new ConfigError(
      `--tls-key / LAISSEZ_TLS_KEY ${JSON.stringify(keyFile)} is not the key of the certificate in ${JSON.stringify(certFile)}`,
    );
  }
  return { cert, key };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function bool(value: string, name: string): boolean {
  if (/^(1|true|on|yes)$/i.test(value)) return true;
  if (/^(0|false|off|no|)$/i.test(value)) return false;
  throw new ConfigError(`${name} must be on or off (got "${value}")`);
}

/**
 * Which X-Forwarded-For entries to believe. `on` believes the whole header (only safe when the
 * proxy in front replaces it); a hop count or the proxies' addresses stop at the first entry not
 * added by a trusted proxy, so a client cannot choose its own IP for the rate limits.
 */
function trustProxyOf(value: string): boolean | number | string[] {
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops < 1 || hops > 16) throw new ConfigError('--trust-proxy hop count must be 1 to 16');
    return hops;
  }
  if (/^(1|true|on|yes|0|false|off|no|)$/i.test(value)) return bool(value, '--trust-proxy');
  const entries = value.split(',').map((e) => e.trim());
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const bitsOk =
      bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (family === 0 || !bitsOk || extra !== undefined) {
      throw new ConfigError(
        `--trust-proxy / LAISSEZ_TRUST_PROXY must be on, off, a hop count, or proxy addresses/CIDRs like 10.0.0.0/8 (got "${entry}")`,
      );
    }
  }
  return entries;
}

function seconds(value: string, name: string): number {
  try {
    const s = parseDuration(value, name);
    if (s <= 0) throw new TypeError('zero');
    return s;
  } catch {
    throw new ConfigError(`${name} must be a duration like 30s, 15m, 12h or 30d (got "${value}")`);
  }
}

/**
 * Builds the server configuration. `flags` (from the command line, without dashes) win over
 * `env`, which wins over the defaults.
 */
export function loadConfig(
  flags: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): ServeConfig {
  const get = (flag: string): string | undefined => {
    const setting = SETTINGS.find((s) => s[0] === flag)!;
    return flags[flag] ?? env[setting[1]] ?? undefined;
  };
  const portText = get('port') ?? '3000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535)
    throw new ConfigError(`--port / PORT must be 0 to 65535 (got "${portText}")`);
  const host = get('host') ?? '127.0.0.1';

  const alg = (get('alg') ?? 'HS256') as SigningAlgorithm;
  if (!SIGNING_ALGORITHMS.includes(alg)) {
    throw new ConfigError(
      `--alg / LAISSEZ_ALG must be one of ${SIGNING_ALGORITHMS.join(', ')} (got "${alg}")`,
    );
  }
  const accessTtl = seconds(get('access-ttl') ?? '15m', '--access-ttl / LAISSEZ_ACCESS_TTL');
  const refreshTtl = seconds(get('refresh-ttl') ?? '30d', '--refresh-ttl / LAISSEZ_REFRESH_TTL');
  if (refreshTtl <= accessTtl)
    throw new ConfigError('--refresh-ttl must be longer than --access-ttl');
  const graceText = get('reuse-grace') ?? '10s';
  let reuseGrace: number;
  try {
    reuseGrace = parseDuration(graceText, 'reuse-grace');
  } catch {
    throw new ConfigError(
      `--reuse-grace / LAISSEZ_REUSE_GRACE must be a duration like 10s, or 0 (got "${graceText}")`,
    );
  }

  const delayText = get('key-publish-delay') ?? '5m';
  let keyPublishDelay: number;
  try {
    keyPublishDelay = parseDuration(delayText, 'key-publish-delay');
  } catch {
    throw new ConfigError(
      `--key-publish-delay / LAISSEZ_KEY_PUBLISH_DELAY must be a duration like 5m, or 0 (got "${delayText}")`,
    );
  }
  const keyReload = seconds(get('key-reload') ?? '30s', '--key-reload / LAISSEZ_KEY_RELOAD');
  // A rotated-out key keeps verifying 60 s past the last token it could have signed; an instance
  // that has not reloaded yet may still sign with it, so a reload must come within that minute.
  if (keyReload * 1000 > RETIRE_LEEWAY) {
    throw new ConfigError(
      `--key-reload / LAISSEZ_KEY_RELOAD must be at most ${RETIRE_LEEWAY / 1000}s (got "${get('key-reload')}"): an instance may sign with a rotated-out key until it reloads, and that key is kept only ${RETIRE_LEEWAY / 1000} s past its tokens`,
    );
  }
  if (keyPublishDelay > 0 && keyPublishDelay <= keyReload) {
    throw new ConfigError(
      `--key-publish-delay (${delayText}) must be longer than --key-reload (${get('key-reload') ?? '30s'}), or 0: every instance must have published a new key before it signs`,
    );
  }

  const certFile = get('tls-cert');
  const keyFile = get('tls-key');
  if (Boolean(certFile) !== Boolean(keyFile))
    throw new ConfigError('--tls-cert and --tls-key go together: give both or neither');
  let https: AuthServerOptions['https'];
  if (certFile && keyFile) https = readTls(certFile, keyFile);
  const issuer = get('issuer') ?? defaultIssuer(https !== undefined, port);
  try {
    new URL(issuer);
  } catch {
    throw new ConfigError(
      `--issuer / LAISSEZ_ISSUER must be a URL such as https://auth.example.com (got "${issuer}")`,
    );
  }
  const databaseUrl = get('database-url') || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      '--database-url / DATABASE_URL must be a postgres:// URL, e.g. postgres://laissez@127.0.0.1:5432/laissez',
    );
  }
  // The key itself only from the environment: a command line is visible to every user (ps).
  const kekText = env['LAISSEZ_KEY_ENCRYPTION_KEY'] || undefined;
  const kekFile = get('key-encryption-key-file') || undefined;
  if (kekText !== undefined && kekFile !== undefined) {
    throw new ConfigError(
      'LAISSEZ_KEY_ENCRYPTION_KEY and --key-encryption-key-file / LAISSEZ_KEY_ENCRYPTION_KEY_FILE both give the key-encryption key: keep one',
    );
  }
  if (kekText !== undefined) {
    try {
      KeyEncryptionKey.parse(kekText, 'LAISSEZ_KEY_ENCRYPTION_KEY');
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
  }
  if (databaseUrl !== undefined && kekText === undefined && kekFile === undefined) {
    throw new ConfigError(
      'with --database-url / DATABASE_URL, set LAISSEZ_KEY_ENCRYPTION_KEY (base64url of 32 random bytes) or --key-encryption-key-file / LAISSEZ_KEY_ENCRYPTION_KEY_FILE: the key that encrypts the signing keys, never stored in the database, the same on every instance',
    );
  }
  const redisUrl = get('redis-url') || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError(
      '--redis-url / REDIS_URL must be a redis:// (or rediss://) URL, e.g. redis://127.0.0.1:6379',
    );
  }
  const breachedUrl = get('breached-password-url') || undefined;
  if (breachedUrl !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(breachedUrl);
    } catch {}
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.search || parsed.hash) {
      throw new ConfigError(
        '--breached-password-url / LAISSEZ_BREACHED_PASSWORD_URL must be an http(s) URL without query, e.g. https://api.pwnedpasswords.com/range',
      );
    }
  }
  const breachedTimeout = seconds(
    get('breached-password-timeout') ?? '2s',
    '--breached-password-timeout / LAISSEZ_BREACHED_PASSWORD_TIMEOUT',
  );
  if (breachedTimeout > 30) {
    throw new ConfigError(
      '--breached-password-timeout / LAISSEZ_BREACHED_PASSWORD_TIMEOUT must be at most 30s',
    );
  }
  const logLevel = get('log-level') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const headersTimeout = seconds(
    get('headers-timeout') ?? '10s',
    '--headers-timeout / LAISSEZ_HEADERS_TIMEOUT',
  );
  const requestTimeout = seconds(
    get('request-timeout') ?? '30s',
    '--request-timeout / LAISSEZ_REQUEST_TIMEOUT',
  );
  if (headersTimeout > requestTimeout) {
    throw new ConfigError('--headers-timeout must not be longer than --request-timeout');
  }
  const keepAliveTimeout = seconds(
    get('idle-timeout') ?? '5s',
    '--idle-timeout / LAISSEZ_IDLE_TIMEOUT',
  );
  for (const [name, value] of [
    ['--headers-timeout', headersTimeout],
    ['--request-timeout', requestTimeout],
    ['--idle-timeout', keepAliveTimeout],
  ] as const) {
    if (value > 600) throw new ConfigError(`${name} must be at most 10m`);
  }
  const capText = get('max-connections-per-ip') ?? '128';
  if (!/^\d{1,6}$/.test(capText)) {
    throw new ConfigError(
      `--max-connections-per-ip / LAISSEZ_MAX_CONNECTIONS_PER_IP must be a whole number, 0 for no cap (got "${capText}")`,
    );
  }
  const origins = (get('allowed-origins') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {}
    if (!parsed || parsed.origin !== origin) {
      throw new ConfigError(
        `--allowed-origins entries must be origins like https://app.example.com (got "${origin}")`,
      );
    }
  }

  return {
    port,
    host,
    issuerFromPort: get('issuer') === undefined,
    options: {
      dataDir: get('data-dir') ?? './data',
      ...(databaseUrl ? { databaseUrl } : {}),
      ...(kekText !== undefined ? { keyEncryptionKey: kekText } : {}),
      ...(kekFile !== undefined ? { keyEncryptionKeyFile: kekFile } : {}),
      ...(redisUrl ? { redisUrl } : {}),
      alg,
      issuer,
      audience: get('audience') ?? 'api',
      accessTtl,
      refreshTtl,
      reuseGrace,
      keyPublishDelay,
      keyReloadInterval: keyReload * 1000,
      cookies: bool(get('cookies') ?? 'off', '--cookies / LAISSEZ_COOKIES'),
      allowedOrigins: origins,
      trustProxy: trustProxyOf(get('trust-proxy') ?? 'off'),
      headersTimeout: headersTimeout * 1000,
      requestTimeout: requestTimeout * 1000,
      keepAliveTimeout: keepAliveTimeout * 1000,
      maxConnectionsPerIp: Number(capText),
      logger: logLevel === 'silent' ? false : { level: logLevel },
      ...(https ? { https } : {}),
      ...(breachedUrl
        ? { breachedPasswords: { url: breachedUrl, timeout: breachedTimeout * 1000 } }
        : {}),
    },
  };
}
