// The shapes of the auth server's options (options.ts resolves them): what `createAuthServer`
// accepts, documented option by option, and what the resolver returns, every default applied.
import type { KekSource } from '../auth/kek.ts';
import type { SigningAlgorithm } from '../auth/keyring.ts';
import type { CounterStore, RateLimits } from '../auth/limits.ts';
import type { MailTransport } from '../auth/mail.ts';
import type { Argon2Params } from '../auth/password.ts';
import type { RoleScopes } from '../auth/scopes.ts';
import type { RevocationSink, SecurityEventSink } from '../auth/service.ts';
import type { ClaimsFunction } from '../auth/tokens.ts';
import type { Store } from '../store/types.ts';
import type { TrustFunction, TrustProxy } from './connections.ts';

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
   * docs/tokens.md, "Tokens".
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
