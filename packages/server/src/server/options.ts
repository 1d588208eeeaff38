// The auth server's options in one place: one row per setting (its `createAuthServer` name, its
// flag and environment variable, its default, how command-line text is parsed, how the value is
// checked, its help text), and one resolver that applies every default and every check once and
// returns a frozen result. `createAuthServer` and `laissez serve` (src/server/config.ts) both go
// through `resolveOptions`; `laissez serve --help` and docs/server.md's settings table are made
// from (or tested equal to) the same rows, so the three cannot drift apart.
import { join } from 'node:path';
import { checkOptions, optionNames } from '@laissez/jwt/options';
import type { KekSource } from '../auth/kek.ts';
import type { SigningAlgorithm } from '../auth/keyring.ts';
import type { CounterStore, RateLimits } from '../auth/limits.ts';
import type { MailTransport } from '../auth/mail.ts';
import type { Argon2Params } from '../auth/password.ts';
import type { RoleScopes } from '../auth/scopes.ts';
import type { RevocationSink, SecurityEventSink } from '../auth/service.ts';
import type { ClaimsFunction } from '../auth/tokens.ts';
import type { Store } from '../store/types.ts';
import { proxyTrust, type TrustFunction, type TrustProxy } from './connections.ts';
import { originWithinRpId } from './setting-rules.ts';
import { SETTINGS, settingOf } from './settings.ts';

export interface AuthServerOptions {
  /** A store; default: SQLite at `<dataDir>/laissez.db`. */
  store?: Store;
  /** Where the embedded database lives. Default `./data`. */
  dataDir?: string;
  /** A `postgres://` URL: the PostgreSQL store instead of the embedded SQLite one. */
  databaseUrl?: string;
  /**
   * The key-encryption key that encrypts the signing keys in the store: base64url of 32 random
   * bytes, or the bytes. Never stored in the database. Every instance on one database needs the
   * same one. Default: the file `keyEncryptionKeyFile`.
   */
  keyEncryptionKey?: string | Uint8Array;
  /**
   * A file holding the key-encryption key (base64url text). Default: `<dataDir>/laissez.kek`,
   * created 0600 on first start, with the embedded store; PostgreSQL (`databaseUrl`) or a
   * `store` without `dataDir` need `keyEncryptionKey` or this file (which must exist).
   */
  keyEncryptionKeyFile?: string;
  /** Signing algorithm for access tokens. Default HS256 (a generated 256-bit secret). */
  alg?: SigningAlgorithm;
  /** `iss` of access tokens: a URL. */
  issuer: string;
  /** `aud` of access tokens. Default `api`. */
  audience?: string;
  /** Seconds. Default 900 (15 min). */
  accessTtl?: number;
  /** Seconds, absolute from log-in; longer than `accessTtl`. Default 30 days. */
  refreshTtl?: number;
  /** Seconds a spent refresh token may still be exchanged (racing tabs). Default 10. */
  reuseGrace?: number;
  /** Seconds the username and email of a deleted account stay reserved. Default 30 days. */
  nameReservation?: number;
  /** Deliver tokens in HttpOnly cookies too. Default false. */
  cookies?: boolean;
  /** The `Secure` cookie attribute. Default true (browsers allow it on http://localhost). */
  cookieSecure?: boolean;
  /** Origins allowed to make cookie-authenticated requests besides the server's own. */
  allowedOrigins?: string[];
  /**
   * Grant types of `POST /oauth/token`: `client_credentials` (registered clients, RFC 6749 §4.4)
   * and `refresh_token` (laissez's own refresh families, RFC 6749 §6). Empty: no token endpoint.
   * Default both.
   */
  oauthGrantTypes?: Array<'client_credentials' | 'refresh_token'>;
  /** `POST /oauth/revoke` (RFC 7009). Default true. */
  oauthRevocation?: boolean;
  /** `POST /oauth/introspect` (RFC 7662), for registered clients. Default true. */
  oauthIntrospection?: boolean;
  /**
   * DPoP proofs at `/auth/login`, `/auth/refresh` and `/oauth/token` must carry a nonce this
   * server made (RFC 9449 §8), sent in `DPoP-Nonce`; it bounds a proof made ahead of time by a
   * thief with the key. Default false.
   */
  dpopNonce?: boolean;
  /** TLS: PEM certificate and key. Adds HSTS. */
  https?: { cert: string | Buffer; key: string | Buffer };
  /**
   * Trust X-Forwarded-* from proxies in front (for client IPs and protocol): a hop count (the
   * nearest n peers are proxies), the proxies' addresses/CIDRs, or true (believe the whole
   * header). Default false.
   */
  trustProxy?: TrustProxy;
  /** Ms within which the request line and headers must arrive. Default 10 s. */
  headersTimeout?: number;
  /** Ms within which the whole request, body included, must arrive. Default 30 s. */
  requestTimeout?: number;
  /** Ms an idle keep-alive connection stays open. Default 5 s. */
  keepAliveTimeout?: number;
  /**
   * Open connections one client address may hold (0: no cap); trusted proxies are not counted.
   * Default 128.
   */
  maxConnectionsPerIp?: number;
  /** Fastify/pino logger options, or false. Default: info level, tokens redacted. */
  logger?: boolean | { level?: string };
  /** Largest request body in bytes. Default 16 KiB. */
  bodyLimit?: number;
  rateLimits?: RateLimits;
  counters?: CounterStore;
  /**
   * A `redis://` URL: rate-limit counters and lock-outs shared by every instance, and ended
   * sessions published to a revocation list resource servers can check (docs/scale-out.md).
   */
  redisUrl?: string;
  /**
   * Where ended sessions are announced (default: Redis when `redisUrl` is set, else nowhere).
   * When it can also answer `isRevoked(sid)` (a revocation list), this server's own routes refuse
   * access tokens of ended sessions with it, as resource servers do.
   */
  revocations?: RevocationSink;
  /**
   * Where security events go (a second factor or passkey added or removed, a recovery code used,
   * a cloned authenticator): an audit log, mail to the owner. Default: dropped.
   */
  events?: SecurityEventSink;
  passwordParams?: Argon2Params;
  /**
   * New passwords are also checked against this k-anonymity range service (GET `<url>/<first 5
   * hex of SHA-1>`); unreachable or slower than `timeout` ms (default 2000, at most 30000):
   * allowed, and a warning is logged.
   */
  breachedPasswords?: { url: string; timeout?: number };
  /** The clock in ms (tests). */
  now?: () => number;
  /**
   * How often to re-read signing keys written by other instances, ms. Default 30 s, at most 60 s
   * (a rotated-out key is kept 60 s past the last token it could sign).
   */
  keyReloadInterval?: number;
  /**
   * Seconds a rotated-in signing key is published in the JWKS before it signs (default 300), so
   * that every instance and every resource server knows it first. Longer than the reload interval
   * (or 0). The JWKS max-age is this less the reload interval, at most 300 s.
   */
  keyPublishDelay?: number;
  /** `smtp://` or `smtps://` URL: mail goes out over SMTP. Default: the outbox in `dataDir`. */
  smtpUrl?: string;
  /** The From of every mail. Default `laissez <no-reply@localhost>`. */
  mailFrom?: string;
  /** The product's name in mails. Default `laissez`. */
  productName?: string;
  /** Where links in mails point. Default: the issuer. */
  publicUrl?: string;
  /**
   * The WebAuthn relying party id passkeys are bound to (W3C WebAuthn §5.1.3). Default: the host
   * of `publicUrl`.
   */
  rpId?: string;
  /**
   * The origins of the pages that register and use passkeys (each within `rpId`). Default: the
   * origin of `publicUrl`.
   */
  rpOrigins?: string[];
  /** Registration mails a verification link and answers 202 alike for new and taken emails. */
  verifyEmail?: boolean;
  /** Log-in is refused until the email is verified (needs `verifyEmail`). */
  requireVerifiedEmail?: boolean;
  /** Sign-in links by mail (passwordless). Default false. */
  signInLinks?: boolean;
  /** A mail transport instead of SMTP or the outbox (tests, other providers). */
  mailTransport?: MailTransport;
  /**
   * Returns the app's extra claims for each access token, given `{ user, session, request,
   * client_id, scope }` (sync or async, within `claimsTimeout`). Reserved claims are refused.
   * docs/server.md, "Tokens".
   */
  claims?: ClaimsFunction;
  /** A module whose default export is the claims function (the command line's way); loaded once. */
  claimsModule?: string;
  /** Ms the claims function has; slower: no token (503). Default 1000. */
  claimsTimeout?: number;
  /** Size budget of an access token in bytes; a bigger one is refused at issue. Default 1024. */
  accessTokenMaxBytes?: number;
  /** Scopes each role allows: `{ user: ['notes:read'], admin: ['admin'] }`. Default: no scopes. */
  roleScopes?: RoleScopes;
  /** `client_id` of the access tokens of log-ins (RFC 9068 §2.2). Default `laissez`. */
  firstPartyClientId?: string;
  /** Seconds security events stay in the audit log. Default 90 days. */
  auditRetention?: number;
  /**
   * A bearer token (32 to 256 characters) that a Prometheus scraper sends to read `/metrics`.
   * Default: none, and no `/metrics` route.
   */
  metricsToken?: string;
}

export type OptionName = keyof AuthServerOptions;

/** Every option with its default applied and every check passed; frozen. */
export interface ResolvedOptions {
  readonly store: Store | undefined;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  /** Where the key-encryption key comes from (resolved from the two KEK options). */
  readonly kek: KekSource;
  readonly alg: SigningAlgorithm;
  readonly issuer: string;
  readonly audience: string;
  readonly accessTtl: number;
  readonly refreshTtl: number;
  readonly reuseGrace: number;
  readonly nameReservation: number;
  readonly cookies: boolean;
  readonly cookieSecure: boolean;
  readonly allowedOrigins: readonly string[];
  readonly oauthGrantTypes: readonly ('client_credentials' | 'refresh_token')[];
  readonly oauthRevocation: boolean;
  readonly oauthIntrospection: boolean;
  readonly dpopNonce: boolean;
  readonly https: Readonly<{ cert: string | Buffer; key: string | Buffer }> | undefined;
  /** The trust function built from `trustProxy`, or false. */
  readonly trustProxy: TrustFunction | false;
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly keepAliveTimeout: number;
  readonly maxConnectionsPerIp: number;
  readonly logger: false | Readonly<{ level: string }>;
  readonly bodyLimit: number;
  readonly rateLimits: RateLimits | undefined;
  readonly counters: CounterStore | undefined;
  readonly redisUrl: string | undefined;
  readonly revocations: RevocationSink | undefined;
  readonly events: SecurityEventSink | undefined;
  readonly passwordParams: Argon2Params | undefined;
  readonly breachedPasswords: Readonly<{ url: string; timeout: number }> | undefined;
  readonly now: () => number;
  readonly keyReloadInterval: number;
  readonly keyPublishDelay: number;
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  readonly productName: string;
  readonly publicUrl: string;
  readonly rpId: string;
  readonly rpOrigins: readonly string[];
  readonly verifyEmail: boolean;
  readonly requireVerifiedEmail: boolean;
  readonly signInLinks: boolean;
  readonly mailTransport: MailTransport | undefined;
  readonly claims: ClaimsFunction | undefined;
  readonly claimsModule: string | undefined;
  readonly claimsTimeout: number;
  readonly accessTokenMaxBytes: number;
  readonly roleScopes: RoleScopes | undefined;
  readonly firstPartyClientId: string;
  readonly auditRetention: number;
  readonly metricsToken: string | undefined;
}

/**
 * How an entry point names things in its messages: the library by option names and its units
 * (`keyReloadInterval`, `60000 ms`), the command line by flag and variable and what was typed
 * (`--key-reload / LAISSEZ_KEY_RELOAD`, `60s`, `(got "5m")`).
 */
export interface Naming {
  /** The setting, as the subject of a message. */
  name(option: string): string;
  /** The setting in a rule between two settings: `keyReloadInterval (ms)`, `--key-reload (30s)`. */
  brief(option: string): string;
  /** The short form alone: `https.cert`, `--tls-cert`. */
  short(option: string): string;
  /** An amount in the option's unit as this entry point writes it. */
  amount(option: string, value: number): string;
  /** What was given, for the end of a message: ` (got 5)`, ` (got "5m")`; '' for a secret. */
  got(option: string, value: unknown): string;
  /** The file or text given on the command line, quoted after the name (` "cert.pem"`); ''. */
  given(option: string): string;
  fail(message: string): Error;
}

/**
 * The option names `createAuthServer` accepts, checked by the compiler against
 * `AuthServerOptions` (a test checks that each has its row in SETTINGS).
 */
export const OPTION_NAMES = optionNames<AuthServerOptions>({
  store: true,
  dataDir: true,
  databaseUrl: true,
  keyEncryptionKey: true,
  keyEncryptionKeyFile: true,
  alg: true,
  issuer: true,
  audience: true,
  accessTtl: true,
  refreshTtl: true,
  reuseGrace: true,
  nameReservation: true,
  cookies: true,
  cookieSecure: true,
  allowedOrigins: true,
  oauthGrantTypes: true,
  oauthRevocation: true,
  oauthIntrospection: true,
  dpopNonce: true,
  https: true,
  trustProxy: true,
  headersTimeout: true,
  requestTimeout: true,
  keepAliveTimeout: true,
  maxConnectionsPerIp: true,
  logger: true,
  bodyLimit: true,
  rateLimits: true,
  counters: true,
  redisUrl: true,
  revocations: true,
  events: true,
  passwordParams: true,
  breachedPasswords: true,
  now: true,
  keyReloadInterval: true,
  keyPublishDelay: true,
  smtpUrl: true,
  mailFrom: true,
  productName: true,
  publicUrl: true,
  rpId: true,
  rpOrigins: true,
  verifyEmail: true,
  requireVerifiedEmail: true,
  signInLinks: true,
  mailTransport: true,
  claims: true,
  claimsModule: true,
  claimsTimeout: true,
  accessTokenMaxBytes: true,
  roleScopes: true,
  firstPartyClientId: true,
  auditRetention: true,
  metricsToken: true,
});

/** The library's default of an option: its `value`, else its parsed default text. */
function defaultOf(option: string): unknown {
  const row = settingOf(option);
  if (!row) return undefined;
  if (row.value !== undefined) return row.value;
  if (row.derived || row.default === '' || !row.parse) return undefined;
  return row.parse(row.default, option);
}

const DEFAULTS: ReadonlyMap<string, unknown> = new Map(
  SETTINGS.map((row) => [row.option as string, defaultOf(row.option)]),
);

/** The library's naming: option names, units, TypeErrors. */
export const LIBRARY_NAMING: Naming = {
  name: (option) => option,
  short: (option) => option,
  brief: (option) => {
    const unit = settingOf(option)?.unit;
    return unit ? `${option} (${unit})` : option;
  },
  amount: (option, value) => {
    const unit = settingOf(option)?.unit;
    return unit ? `${value} ${unit}` : String(value);
  },
  got: (option, value) => (settingOf(option)?.secret ? '' : ` (got ${shown(value)})`),
  given: () => '',
  fail: (message) => new TypeError(`createAuthServer: ${message}`),
};

function shown(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 60)}…` : json;
}

/**
 * Checks `input` once and returns every option resolved: defaults applied, each value checked,
 * the rules between settings checked, the key-encryption key's source chosen. Throws
 * `naming.fail(message)` (a TypeError for the library) naming the option at fault.
 */
export function resolveOptions(
  input: AuthServerOptions,
  naming: Naming = LIBRARY_NAMING,
): ResolvedOptions {
  if (typeof input !== 'object' || input === null) {
    throw naming.fail('the options must be an object with at least issuer');
  }
  checkOptions('createAuthServer', input, OPTION_NAMES);
  const given = input as unknown as Record<string, unknown>;
  if (given['issuer'] === undefined) throw naming.fail(`${naming.name('issuer')} is required`);
  const value = (option: string): unknown => given[option] ?? DEFAULTS.get(option);
  for (const option of OPTION_NAMES) {
    const v = given[option];
    if (v !== undefined) settingOf(option)?.check?.(v, naming, option);
  }
  const breached = input.breachedPasswords
    ? Object.freeze({
        url: input.breachedPasswords.url,
        timeout:
          input.breachedPasswords.timeout ?? (DEFAULTS.get('breachedPasswords.timeout') as number),
      })
    : undefined;
  if (breached) {
    for (const part of ['url', 'timeout'] as const) {
      const option = `breachedPasswords.${part}`;
      settingOf(option)?.check?.(breached[part], naming, option);
    }
  }
  const resolved: ResolvedOptions = {
    store: input.store,
    dataDir: value('dataDir') as string,
    databaseUrl: input.databaseUrl,
    kek: kekSourceOf(input, naming),
    alg: value('alg') as SigningAlgorithm,
    issuer: input.issuer,
    audience: value('audience') as string,
    accessTtl: value('accessTtl') as number,
    refreshTtl: value('refreshTtl') as number,
    reuseGrace: value('reuseGrace') as number,
    nameReservation: value('nameReservation') as number,
    cookies: value('cookies') as boolean,
    cookieSecure: value('cookieSecure') as boolean,
    allowedOrigins: Object.freeze([...((value('allowedOrigins') as string[] | undefined) ?? [])]),
    oauthGrantTypes: Object.freeze([
      ...new Set(value('oauthGrantTypes') as ResolvedOptions['oauthGrantTypes']),
    ]),
    oauthRevocation: value('oauthRevocation') as boolean,
    oauthIntrospection: value('oauthIntrospection') as boolean,
    dpopNonce: value('dpopNonce') as boolean,
    https: input.https
      ? Object.freeze({ cert: input.https.cert, key: input.https.key })
      : undefined,
    trustProxy: proxyTrust(input.trustProxy),
    headersTimeout: value('headersTimeout') as number,
    requestTimeout: value('requestTimeout') as number,
    keepAliveTimeout: value('keepAliveTimeout') as number,
    maxConnectionsPerIp: value('maxConnectionsPerIp') as number,
    logger: loggerOf(value('logger') as AuthServerOptions['logger']),
    bodyLimit: value('bodyLimit') as number,
    rateLimits: input.rateLimits,
    counters: input.counters,
    redisUrl: input.redisUrl,
    revocations: input.revocations,
    events: input.events,
    passwordParams: input.passwordParams,
    breachedPasswords: breached,
    now: value('now') as () => number,
    keyReloadInterval: value('keyReloadInterval') as number,
    keyPublishDelay: value('keyPublishDelay') as number,
    smtpUrl: input.smtpUrl,
    mailFrom: value('mailFrom') as string,
    productName: value('productName') as string,
    publicUrl: input.publicUrl ?? input.issuer,
    rpId: input.rpId ?? new URL(input.publicUrl ?? input.issuer).hostname,
    rpOrigins: Object.freeze([
      ...(input.rpOrigins ?? [new URL(input.publicUrl ?? input.issuer).origin]),
    ]),
    verifyEmail: value('verifyEmail') as boolean,
    requireVerifiedEmail: value('requireVerifiedEmail') as boolean,
    signInLinks: value('signInLinks') as boolean,
    mailTransport: input.mailTransport,
    claims: input.claims,
    claimsModule: input.claimsModule,
    claimsTimeout: value('claimsTimeout') as number,
    accessTokenMaxBytes: value('accessTokenMaxBytes') as number,
    roleScopes: input.roleScopes,
    firstPartyClientId: value('firstPartyClientId') as string,
    auditRetention: value('auditRetention') as number,
    metricsToken: input.metricsToken,
  };
  checkRules(resolved, naming);
  return Object.freeze(resolved);
}

function loggerOf(logger: AuthServerOptions['logger']): ResolvedOptions['logger'] {
  if (logger === false) return false;
  const level = (typeof logger === 'object' && logger.level) || 'info';
  return level === 'silent' ? false : Object.freeze({ level });
}

/** The rules between settings, each checked once for both entry points. */
function checkRules(r: ResolvedOptions, n: Naming): void {
  if (r.refreshTtl <= r.accessTtl) {
    throw n.fail(
      `${n.brief('refreshTtl')} must be longer than ${n.brief('accessTtl')}: a session would end before its first access token`,
    );
  }
  // Every instance must have published a new key (reloaded its ring) before any signs with it.
  if (r.keyPublishDelay > 0 && r.keyPublishDelay * 1000 <= r.keyReloadInterval) {
    throw n.fail(
      `${n.brief('keyPublishDelay')} must be longer than ${n.brief('keyReloadInterval')}, or 0: every instance must have published a new key before it signs`,
    );
  }
  if (r.requireVerifiedEmail && !r.verifyEmail) {
    throw n.fail(
      `${n.name('requireVerifiedEmail')} needs ${n.name('verifyEmail')}: without verification mails no account could ever log in`,
    );
  }
  if (r.smtpUrl !== undefined && r.mailTransport !== undefined) {
    throw n.fail(
      `${n.name('smtpUrl')} and ${n.name('mailTransport')} both say how mail goes: keep one`,
    );
  }
  if (r.claims !== undefined && r.claimsModule !== undefined) {
    throw n.fail(
      `${n.name('claims')} and ${n.name('claimsModule')} both give the claims function: keep one`,
    );
  }
  // WebAuthn §7.1 step 9: a browser binds a passkey to an RP ID that is its page's host or a
  // parent domain of it; an origin outside the RP ID could never register or use one.
  for (const origin of r.rpOrigins) {
    if (!originWithinRpId(origin, r.rpId)) {
      throw n.fail(
        `${n.name('rpOrigins')} must be within ${n.name('rpId')} (${r.rpId}): ${origin} is not`,
      );
    }
  }
  if (r.headersTimeout > r.requestTimeout) {
    throw n.fail(
      `${n.brief('headersTimeout')} must not be longer than ${n.brief('requestTimeout')}`,
    );
  }
}

/**
 * Where the key-encryption key comes from. The embedded database keeps it in a file beside
 * itself, created on first start; a shared database (PostgreSQL, or a `store` without `dataDir`)
 * must be told, so that every instance uses the same key and none makes one of its own.
 */
function kekSourceOf(options: AuthServerOptions, n: Naming): KekSource {
  if (options.keyEncryptionKey !== undefined && options.keyEncryptionKeyFile !== undefined) {
    throw n.fail(
      `${n.name('keyEncryptionKey')} and ${n.name('keyEncryptionKeyFile')} both give the key-encryption key: keep one`,
    );
  }
  if (options.keyEncryptionKey !== undefined) {
    return {
      kind: 'text',
      value: options.keyEncryptionKey,
      label: 'keyEncryptionKey (LAISSEZ_KEY_ENCRYPTION_KEY)',
    };
  }
  if (options.keyEncryptionKeyFile !== undefined) {
    return {
      kind: 'file',
      path: options.keyEncryptionKeyFile,
      label: 'the key-encryption key file (--key-encryption-key-file)',
      own: false,
    };
  }
  const shared = options.store ? options.dataDir === undefined : options.databaseUrl !== undefined;
  if (shared) {
    throw n.fail(
      `a key-encryption key is needed for the signing keys in a shared database: set ${n.name('keyEncryptionKey')} (base64url of 32 random bytes) or ${n.name('keyEncryptionKeyFile')}, the same on every instance`,
    );
  }
  return {
    kind: 'file',
    path: join(options.dataDir ?? (DEFAULTS.get('dataDir') as string), 'laissez.kek'),
    label: 'the key-encryption key file',
    own: true,
  };
}
