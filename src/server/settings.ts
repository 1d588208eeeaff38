// The settings table of the auth server: one row per setting, read by `createAuthServer`'s
// resolver (src/server/options.ts), by `laissez serve` (src/server/config.ts) and its `--help`,
// and tested equal to docs/server.md's "Configuration" table.
import { SIGNING_ALGORITHMS } from '../auth/keyring.ts';
import type { Naming, OptionName } from './options.ts';
import {
  breachedPasswordsCheck,
  checkTls,
  DAY_SECONDS,
  duration,
  httpUrl,
  integerSetting,
  keyEncryptionKeyText,
  keyReload,
  kind,
  list,
  loggerCheck,
  logLevel,
  mailbox,
  oneOf,
  onOff,
  origins,
  port,
  shortText,
  someOf,
  text,
  tlsFile,
  trustProxyCheck,
  trustProxyText,
  wholeNumber,
} from './setting-rules.ts';
import { clientIdCheck, roleScopesCheck, roleScopesText } from './token-settings.ts';

/**
 * One setting. `option` is its `createAuthServer` name (`https.cert` for a part of an object
 * option); `port` and `host` are the command line's own. A row without `flag` and `env` exists
 * only in the library; a row with `env` alone only in the environment.
 */
export interface Setting {
  option: OptionName | `${OptionName}.${string}` | 'port' | 'host';
  /** The flag without its dashes. */
  flag?: string;
  env?: string;
  /** The default as `--help` and the docs show it ('' none). Parsed, it is the library default. */
  default: string;
  /** The default is worked out from other settings (the issuer, the KEK file): not parsed. */
  derived?: true;
  /** The library default of a library-only option. */
  value?: unknown;
  /** The unit of a number in the library ('s' or 'ms'); command-line text is a duration. */
  unit?: 's' | 'ms';
  /** A secret: never quoted back in a message. */
  secret?: true;
  help: string;
  /** Command-line or environment text to the library's value; `name` names it in the error. */
  parse?(text: string, name: string): unknown;
  /** The library value's check, shared by both entry points (the default is not checked). */
  check?(value: unknown, naming: Naming, option: string): void;
}

/**
 * The settings, in the order `--help` and docs/server.md list them. Library-only options come
 * last; they have no flag nor variable (objects, functions, or tuning left to code).
 */
export const SETTINGS: readonly Setting[] = [
  // The command line's own: where to listen (the library leaves that to `app.listen`).
  {
    option: 'port',
    flag: 'port',
    env: 'PORT',
    default: '3000',
    help: 'TCP port (0 picks a free one)',
    parse: port,
  },
  {
    option: 'host',
    flag: 'host',
    env: 'HOST',
    default: '127.0.0.1',
    help: 'address to listen on (0.0.0.0 for every interface)',
    parse: (t) => t,
  },
  {
    option: 'dataDir',
    flag: 'data-dir',
    env: 'LAISSEZ_DATA_DIR',
    default: './data',
    help: 'where the embedded SQLite database lives',
    parse: (t) => t,
    check: kind('string'),
  },
  {
    option: 'redisUrl',
    flag: 'redis-url',
    env: 'REDIS_URL',
    default: '',
    secret: true,
    help: 'redis://host:6379: shared rate limits and the session revocation list',
    parse: text,
    check: httpUrl(/^rediss?:$/, 'a redis:// (or rediss://) URL, e.g. redis://127.0.0.1:6379'),
  },
  {
    option: 'databaseUrl',
    flag: 'database-url',
    env: 'DATABASE_URL',
    default: '',
    secret: true,
    help: 'postgres://user:password@host:5432/db: use PostgreSQL instead of SQLite',
    parse: text,
    check: httpUrl(
      /^postgres(ql)?:$/,
      'a postgres:// URL, e.g. postgres://laissez@127.0.0.1:5432/laissez',
    ),
  },
  {
    option: 'keyEncryptionKeyFile',
    flag: 'key-encryption-key-file',
    env: 'LAISSEZ_KEY_ENCRYPTION_KEY_FILE',
    default: '<data-dir>/laissez.kek',
    derived: true,
    help: 'the key that encrypts the signing keys (SQLite: made on first start; PostgreSQL: needed, or LAISSEZ_KEY_ENCRYPTION_KEY)',
    parse: text,
    check: kind('string'),
  },
  {
    // The key itself only from the environment: a command line is visible to every user (ps).
    option: 'keyEncryptionKey',
    env: 'LAISSEZ_KEY_ENCRYPTION_KEY',
    default: '',
    secret: true,
    help: 'the key-encryption key itself (base64url of 32 bytes), instead of the file; environment only, never a flag',
    parse: keyEncryptionKeyText,
    check: kind('key'),
  },
  {
    option: 'issuer',
    flag: 'issuer',
    env: 'LAISSEZ_ISSUER',
    default: 'http(s)://localhost:<port>',
    derived: true,
    help: '"iss" of access tokens',
    parse: (t) => t,
    check: httpUrl(/^[a-z][a-z0-9+.-]*:$/, 'a URL such as https://auth.example.com'),
  },
  {
    option: 'audience',
    flag: 'audience',
    env: 'LAISSEZ_AUDIENCE',
    default: 'api',
    help: '"aud" of access tokens',
    parse: (t) => t,
    check: kind('non-empty string'),
  },
  {
    option: 'alg',
    flag: 'alg',
    env: 'LAISSEZ_ALG',
    default: 'HS256',
    help: `signing algorithm: ${SIGNING_ALGORITHMS.join(', ')}`,
    parse: (t) => t,
    check: oneOf(SIGNING_ALGORITHMS),
  },
  {
    option: 'accessTtl',
    flag: 'access-ttl',
    env: 'LAISSEZ_ACCESS_TTL',
    default: '15m',
    unit: 's',
    help: 'access-token lifetime',
    parse: duration('s', 'positive'),
    check: integerSetting(1, 365 * DAY_SECONDS),
  },
  {
    option: 'refreshTtl',
    flag: 'refresh-ttl',
    env: 'LAISSEZ_REFRESH_TTL',
    default: '30d',
    unit: 's',
    help: 'refresh-token lifetime, absolute from log-in',
    parse: duration('s', 'positive'),
    check: integerSetting(1, 10 * 365 * DAY_SECONDS),
  },
  {
    option: 'reuseGrace',
    flag: 'reuse-grace',
    env: 'LAISSEZ_REUSE_GRACE',
    default: '10s',
    unit: 's',
    help: 'how long a spent refresh token still works (racing tabs)',
    parse: duration('s', 'zero'),
    check: integerSetting(0, DAY_SECONDS),
  },
  {
    option: 'nameReservation',
    flag: 'name-reservation',
    env: 'LAISSEZ_NAME_RESERVATION',
    default: '30d',
    unit: 's',
    help: 'how long the username and email of a deleted account stay reserved',
    parse: duration('s', 'zero'),
    check: integerSetting(0, 10 * 365 * DAY_SECONDS),
  },
  {
    option: 'keyPublishDelay',
    flag: 'key-publish-delay',
    env: 'LAISSEZ_KEY_PUBLISH_DELAY',
    default: '5m',
    unit: 's',
    help: 'a rotated-in key is in the JWKS this long before it signs',
    parse: duration('s', 'zero'),
    check: integerSetting(0, 30 * DAY_SECONDS),
  },
  {
    option: 'keyReloadInterval',
    flag: 'key-reload',
    env: 'LAISSEZ_KEY_RELOAD',
    default: '30s',
    unit: 'ms',
    help: 'how often to re-read keys rotated by `laissez keys rotate` or another instance',
    parse: duration('ms', 'positive'),
    check: keyReload,
  },
  {
    option: 'firstPartyClientId',
    flag: 'first-party-client-id',
    env: 'LAISSEZ_FIRST_PARTY_CLIENT_ID',
    default: 'laissez',
    help: '"client_id" of the access tokens of log-ins (RFC 9068 §2.2)',
    parse: (t) => t,
    check: clientIdCheck,
  },
  {
    option: 'roleScopes',
    flag: 'role-scopes',
    env: 'LAISSEZ_ROLE_SCOPES',
    default: '',
    help: 'scopes each role allows, e.g. "user=notes:read notes:write;admin=admin" (none: tokens carry no scope)',
    parse: roleScopesText,
    check: roleScopesCheck,
  },
  {
    option: 'claimsModule',
    flag: 'claims-module',
    env: 'LAISSEZ_CLAIMS_MODULE',
    default: '',
    help: "a module whose default export returns each access token's extra claims (loaded once at start)",
    parse: text,
    check: kind('non-empty string'),
  },
  {
    option: 'claimsTimeout',
    flag: 'claims-timeout',
    env: 'LAISSEZ_CLAIMS_TIMEOUT',
    default: '1s',
    unit: 'ms',
    help: 'how long the claims function has; slower: no token, 503 temporarily_unavailable',
    parse: duration('ms', 'positive'),
    check: integerSetting(1, 30_000),
  },
  {
    option: 'accessTokenMaxBytes',
    flag: 'access-token-max-bytes',
    env: 'LAISSEZ_ACCESS_TOKEN_MAX_BYTES',
    default: '1024',
    help: 'size budget of an access token; a bigger one is refused at issue (503), never sent',
    parse: wholeNumber,
    check: integerSetting(256, 16_384),
  },
  {
    option: 'cookies',
    flag: 'cookies',
    env: 'LAISSEZ_COOKIES',
    default: 'off',
    help: 'on: also deliver tokens in HttpOnly cookies',
    parse: onOff,
    check: kind('boolean'),
  },
  {
    option: 'allowedOrigins',
    flag: 'allowed-origins',
    env: 'LAISSEZ_ALLOWED_ORIGINS',
    default: '',
    help: 'comma-separated origins allowed to use the cookies',
    parse: list,
    check: origins,
  },
  {
    option: 'oauthGrantTypes',
    flag: 'oauth-grant-types',
    env: 'LAISSEZ_OAUTH_GRANT_TYPES',
    default: 'client_credentials,refresh_token',
    help: 'grant types of POST /oauth/token (client_credentials, refresh_token); empty: no token endpoint',
    parse: list,
    check: someOf(['client_credentials', 'refresh_token']),
  },
  {
    option: 'oauthRevocation',
    flag: 'oauth-revocation',
    env: 'LAISSEZ_OAUTH_REVOCATION',
    default: 'on',
    help: 'POST /oauth/revoke (RFC 7009): clients revoke tokens',
    parse: onOff,
    check: kind('boolean'),
  },
  {
    option: 'oauthIntrospection',
    flag: 'oauth-introspection',
    env: 'LAISSEZ_OAUTH_INTROSPECTION',
    default: 'on',
    help: 'POST /oauth/introspect (RFC 7662): registered clients ask whether a token is active',
    parse: onOff,
    check: kind('boolean'),
  },
  {
    option: 'https.cert',
    flag: 'tls-cert',
    env: 'LAISSEZ_TLS_CERT',
    default: '',
    help: 'PEM certificate file: serve HTTPS (with HSTS)',
    parse: tlsFile('cert'),
  },
  {
    option: 'https.key',
    flag: 'tls-key',
    env: 'LAISSEZ_TLS_KEY',
    default: '',
    help: 'PEM private key file for --tls-cert',
    parse: tlsFile('key'),
  },
  {
    option: 'trustProxy',
    flag: 'trust-proxy',
    env: 'LAISSEZ_TRUST_PROXY',
    default: 'off',
    help: 'X-Forwarded-* from proxies in front: a hop count (1), their addresses/CIDRs, or on (any)',
    parse: trustProxyText,
    check: trustProxyCheck,
  },
  {
    option: 'breachedPasswords.url',
    flag: 'breached-password-url',
    env: 'LAISSEZ_BREACHED_PASSWORD_URL',
    default: '',
    help: 'a k-anonymity range API (Pwned Passwords format) to refuse breached new passwords',
    parse: (t) => t,
    check: httpUrl(
      /^https?:$/,
      'an http(s) URL without query, e.g. https://api.pwnedpasswords.com/range',
      true,
    ),
  },
  {
    option: 'breachedPasswords.timeout',
    flag: 'breached-password-timeout',
    env: 'LAISSEZ_BREACHED_PASSWORD_TIMEOUT',
    default: '2s',
    unit: 'ms',
    help: 'how long to wait for it; slower or unreachable: the password is allowed and a warning logged',
    parse: duration('ms', 'positive'),
    check: integerSetting(1, 30_000),
  },
  {
    option: 'logger',
    flag: 'log-level',
    env: 'LAISSEZ_LOG_LEVEL',
    default: 'info',
    help: 'fatal, error, warn, info, debug, trace or silent',
    parse: logLevel,
    check: loggerCheck,
  },
  {
    option: 'headersTimeout',
    flag: 'headers-timeout',
    env: 'LAISSEZ_HEADERS_TIMEOUT',
    default: '10s',
    unit: 'ms',
    help: 'a request line and headers slower than this get 408 and the connection is closed',
    parse: duration('ms', 'positive'),
    check: integerSetting(1, 600_000),
  },
  {
    option: 'requestTimeout',
    flag: 'request-timeout',
    env: 'LAISSEZ_REQUEST_TIMEOUT',
    default: '30s',
    unit: 'ms',
    help: 'a whole request (body included) slower than this gets 408 and the connection is closed',
    parse: duration('ms', 'positive'),
    check: integerSetting(1, 600_000),
  },
  {
    option: 'keepAliveTimeout',
    flag: 'idle-timeout',
    env: 'LAISSEZ_IDLE_TIMEOUT',
    default: '5s',
    unit: 'ms',
    help: 'an idle keep-alive connection is closed after this',
    parse: duration('ms', 'positive'),
    check: integerSetting(1, 600_000),
  },
  {
    option: 'maxConnectionsPerIp',
    flag: 'max-connections-per-ip',
    env: 'LAISSEZ_MAX_CONNECTIONS_PER_IP',
    default: '128',
    help: 'open connections one client address may hold (0: no cap; trusted proxies are not counted)',
    parse: wholeNumber,
    check: integerSetting(0, 999_999),
  },
  {
    option: 'smtpUrl',
    flag: 'smtp-url',
    env: 'SMTP_URL',
    default: '',
    secret: true,
    help: 'smtp://user:pass@host:587 (or smtps://…:465): send mail; without it mail goes to <data-dir>/outbox and its link to the log',
    parse: text,
    check: httpUrl(
      /^smtps?:$/,
      'an smtp:// (or smtps://) URL, e.g. smtp://user:pass@mail.example.com:587',
    ),
  },
  {
    option: 'mailFrom',
    flag: 'mail-from',
    env: 'LAISSEZ_MAIL_FROM',
    default: 'laissez <no-reply@localhost>',
    help: 'the From of every mail',
    parse: (t) => t,
    check: mailbox,
  },
  {
    option: 'productName',
    flag: 'product-name',
    env: 'LAISSEZ_PRODUCT_NAME',
    default: 'laissez',
    help: 'the name mails give the product',
    parse: (t) => t,
    check: shortText(100),
  },
  {
    option: 'publicUrl',
    flag: 'public-url',
    env: 'LAISSEZ_PUBLIC_URL',
    default: '<issuer>',
    derived: true,
    help: 'where links in mails point: the URL users reach this server at',
    parse: (t) => t,
    check: httpUrl(
      /^https?:$/,
      'an http(s) URL without query, e.g. https://auth.example.com',
      true,
    ),
  },
  {
    option: 'verifyEmail',
    flag: 'verify-email',
    env: 'LAISSEZ_VERIFY_EMAIL',
    default: 'off',
    help: 'on: registration mails a verification link and answers 202 alike for new and taken emails',
    parse: onOff,
    check: kind('boolean'),
  },
  {
    option: 'requireVerifiedEmail',
    flag: 'require-verified-email',
    env: 'LAISSEZ_REQUIRE_VERIFIED_EMAIL',
    default: 'off',
    help: 'on: log-in is refused (email_not_verified) until the email is verified; needs --verify-email',
    parse: onOff,
    check: kind('boolean'),
  },
  {
    option: 'signInLinks',
    flag: 'sign-in-links',
    env: 'LAISSEZ_SIGN_IN_LINKS',
    default: 'off',
    help: 'on: offer sign-in links by mail (passwordless)',
    parse: onOff,
    check: kind('boolean'),
  },
  {
    option: 'auditRetention',
    flag: 'audit-retention',
    env: 'LAISSEZ_AUDIT_RETENTION',
    default: '90d',
    unit: 's',
    help: 'how long security events stay in the audit log (older ones are deleted hourly)',
    parse: duration('s', 'positive'),
    check: integerSetting(60, 10 * 365 * DAY_SECONDS),
  },
  {
    // Environment only, like the key-encryption key: a command line is visible to every user.
    option: 'metricsToken',
    env: 'LAISSEZ_METRICS_TOKEN',
    default: '',
    secret: true,
    help: 'serve Prometheus metrics at /metrics to requests with "Authorization: Bearer <this>" (32 to 256 characters); unset: no /metrics',
    parse: text,
    check: (value, n, option) => {
      if (typeof value !== 'string' || value.length < 32 || value.length > 256) {
        throw n.fail(`${n.name(option)} must be a string of 32 to 256 characters`);
      }
    },
  },
  // Library only.
  {
    option: 'mailTransport',
    default: '',
    help: 'a mail transport ({ send(message) }) instead of SMTP or the outbox',
    check: kind('object'),
  },
  {
    option: 'store',
    default: '',
    help: 'a store instead of SQLite in dataDir',
    check: kind('object'),
  },
  {
    option: 'https',
    default: '',
    help: 'TLS certificate and private key (PEM)',
    check: checkTls,
  },
  {
    option: 'breachedPasswords',
    default: '',
    help: 'the k-anonymity range service new passwords are checked against',
    check: breachedPasswordsCheck,
  },
  {
    option: 'cookieSecure',
    default: '',
    value: true,
    help: 'the Secure cookie attribute',
    check: kind('boolean'),
  },
  {
    option: 'bodyLimit',
    default: '',
    value: 16 * 1024,
    help: 'largest request body in bytes',
    check: integerSetting(1, 16 * 1024 * 1024),
  },
  { option: 'rateLimits', default: '', help: 'rate limits per route', check: kind('object') },
  { option: 'counters', default: '', help: 'rate-limit counters', check: kind('object') },
  {
    option: 'revocations',
    default: '',
    help: 'where ended sessions are announced',
    check: kind('object'),
  },
  { option: 'passwordParams', default: '', help: 'argon2id parameters', check: kind('object') },
  {
    option: 'claims',
    default: '',
    help: "returns each access token's extra claims (instead of claimsModule)",
    check: kind('function'),
  },
  { option: 'now', default: '', value: Date.now, help: 'the clock in ms', check: kind('function') },
];

const ROWS = new Map(SETTINGS.map((row) => [row.option as string, row]));

/** The row of a setting by its option name (`accessTtl`, `https.cert`, `port`). */
export function settingOf(option: string): Setting | undefined {
  return ROWS.get(option);
}
