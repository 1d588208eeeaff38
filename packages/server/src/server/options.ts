// The auth server's options in one place: one row per setting (its `createAuthServer` name, its
// flag and environment variable, its default, how command-line text is parsed, how the value is
// checked, its help text), and one resolver that applies every default and every check once and
// returns a frozen result. `createAuthServer` and `laissez serve` (src/server/config.ts) both go
// through `resolveOptions`; `laissez serve --help` and docs/server.md's settings table are made
// from (or tested equal to) the same rows, so the three cannot drift apart.
//
// The options' shapes (AuthServerOptions, ResolvedOptions) are in option-types.ts.
import { join } from 'node:path';
import { checkOptions, optionNames } from '@laissez/jwt/options';
import type { KekSource } from '../auth/kek.ts';
import type { SigningAlgorithm } from '../auth/keyring.ts';
import { proxyTrust } from './connections.ts';
import type { AuthServerOptions, ResolvedOptions } from './option-types.ts';
import { originWithinRpId } from './setting-rules.ts';
import { SETTINGS, settingOf } from './settings.ts';

export type { AuthServerOptions, OptionName, ResolvedOptions } from './option-types.ts';

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
