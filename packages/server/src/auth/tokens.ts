// How access tokens are built, for every grant: first-party log-ins and refreshes (sessions.ts)
// and, through `AuthService.accessTokens`, the OAuth endpoints (client credentials). An access
// token is a JWT (`typ: at+jwt`, RFC 9068 §2.1) with the claims the server sets (`iss`, `aud`,
// `exp`, `iat`, `jti` from the key ring; `sub`, `client_id`, `sid`, `roles`, `scope`, `amr`,
// `auth_time` and `cnf` from here)
// and the app's own claims from the claims function. The server's claims cannot be overridden;
// the token is measured against its size budget before it leaves; a claims function that fails,
// is slow or returns what cannot go in a token gets `temporarily_unavailable`: nothing is issued
// (and no refresh token is spent, because the access token is built first).
import type { User } from '../store/types.ts';
import { AuthServiceError } from './errors.ts';
import type { KeyRing } from './keyring.ts';
import { scopeText } from './scopes.ts';

/**
 * Claims the server sets or reserves: RFC 7519 §4.1 (`iss sub aud exp nbf iat jti`), RFC 9068
 * §2.2 (`client_id`, `scope`, `auth_time`, `acr`, `amr`), RFC 7800 (`cnf`), OpenID Connect's
 * `sid` and `azp`, RFC 8693 (`act`, `may_act`: delegation a claims function must not fake),
 * and laissez's own `roles`. A claims function that returns one is refused.
 */
export const RESERVED_CLAIMS: readonly string[] = Object.freeze([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'sid',
  'cnf',
  'scope',
  'client_id',
  'roles',
  'auth_time',
  'acr',
  'amr',
  'azp',
  'act',
  'may_act',
  'email_verified',
]);

/** The first-party client id: what `client_id` names in the tokens of log-ins (RFC 9068 §2.2). */
export const FIRST_PARTY_CLIENT_ID = 'laissez';
/** Default size budget of an access token, in bytes (its compact serialization). */
export const ACCESS_TOKEN_MAX_BYTES = 1024;
/** Default time a claims function has, in milliseconds. */
export const CLAIMS_TIMEOUT = 1000;
/** How deep the claims function's values may nest. */
const MAX_DEPTH = 16;

/** The user as a claims function sees it: public fields and the app metadata (copies). */
export interface ClaimsUser {
  id: string;
  username: string;
  email: string;
  roles: string[];
  /** ISO 8601. */
  created_at: string;
  app_metadata: Record<string, unknown>;
}

/** What a claims function is given. */
export interface ClaimsContext {
  /** The user the token is for; null for a service token (client credentials: no user). */
  user: ClaimsUser | null;
  /** The session (refresh-token family, the token's `sid`), with its log-in time; null without one. */
  session: { id: string; created_at: string } | null;
  /** The request that asked for the token (the client's address as the server sees it). */
  request: { ip: string | null; user_agent: string | null };
  /** The client the token is issued to (`client_id`): the first-party client for log-ins. */
  client_id: string;
  /** The granted scope, space-separated ('' for none). */
  scope: string;
}

/**
 * Returns the app's extra claims for a token (sync or async): a plain object of JSON values.
 * Reserved claims (`RESERVED_CLAIMS`) are refused.
 */
export type ClaimsFunction = (
  context: ClaimsContext,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** What a token is for. */
export interface AccessTokenRequest {
  /** `sub`: the user id, or the client id of a service token. */
  subject: string;
  /** `client_id`. */
  clientId: string;
  /** The granted scope (`scope`, omitted when empty). */
  scope: readonly string[];
  /** The user (their `roles` go in the token), or null for a service token. */
  user: User | null;
  /** The session (`sid`), with its log-in time in ms; null for none. */
  session: { id: string; createdAt: number } | null;
  /**
   * How and when the user authenticated, as the session recorded them: `amr` (RFC 8176) and
   * `auth_time` (ms here; seconds in the token, OpenID Connect Core §2). Each absent when not
   * recorded (service tokens, families from before they were kept): the token then says nothing.
   */
  auth?: { amr?: readonly string[]; authTime?: number };
  /** The request's context for the claims function. */
  request?: { ip?: string | undefined; userAgent?: string | undefined };
  /**
   * The RFC 7638 thumbprint of the client's DPoP key, when the request carried a valid proof: the
   * token is bound to it (`cnf: { jkt }`, RFC 9449 §6.1) and works only with proofs by that key.
   */
  jkt?: string | undefined;
}

/** Why a token was not built, for the server's log (never a claim's value). */
export interface TokenRefusal {
  reason: 'claims_failed' | 'claims_timeout' | 'claims_invalid' | 'too_large';
  message: string;
  /** What the claims function threw, for `claims_failed`. */
  error?: unknown;
}

export interface AccessTokenOptions {
  keyRing: KeyRing;
  claims?: ClaimsFunction | undefined;
  /** Milliseconds the claims function has. Default 1000. */
  claimsTimeout?: number | undefined;
  /** Largest access token in bytes. Default 1024. */
  maxBytes?: number | undefined;
  /** Told why a token was refused (the server logs it). */
  onRefusal?: ((refusal: TokenRefusal) => void) | undefined;
  /**
   * Users' tokens carry `email_verified` (servers that verify emails; elsewhere the claim would
   * say nothing and cost some 30 bytes on every request).
   */
  emailVerifiedClaim?: boolean | undefined;
}

const USER_AGENT_MAX = 512;

/** Builds and signs access tokens. */
export class AccessTokens {
  readonly #o: AccessTokenOptions;
  readonly #timeout: number;
  readonly #maxBytes: number;

  constructor(options: AccessTokenOptions) {
    this.#o = options;
    this.#timeout = options.claimsTimeout ?? CLAIMS_TIMEOUT;
    this.#maxBytes = options.maxBytes ?? ACCESS_TOKEN_MAX_BYTES;
  }

  /** The size budget, in bytes. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /**
   * The signed access token, or `temporarily_unavailable` (logged through `onRefusal`) when the
   * claims function fails, is slow or returns a reserved or non-JSON claim, or when the token is
   * over its size budget.
   */
  async issue(request: AccessTokenRequest): Promise<string> {
    const scope = scopeText(request.scope);
    const own: Record<string, unknown> = {
      sub: request.subject,
      client_id: request.clientId,
      ...(request.session ? { sid: request.session.id } : {}),
      ...(request.user ? { roles: [...request.user.roles] } : {}),
      ...(request.user && this.#o.emailVerifiedClaim
        ? { email_verified: request.user.emailVerified }
        : {}),
      ...(scope ? { scope } : {}),
      ...(request.auth?.amr !== undefined ? { amr: [...request.auth.amr] } : {}),
      ...(request.auth?.authTime !== undefined
        ? { auth_time: Math.floor(request.auth.authTime / 1000) }
        : {}),
      ...(request.jkt !== undefined ? { cnf: { jkt: request.jkt } } : {}),
    };
    const extra = this.#o.claims ? await this.#claimsFor(request, scope) : {};
    const token = this.#o.keyRing.sign({ ...own, ...extra });
    const size = Buffer.byteLength(token);
    if (size > this.#maxBytes) {
      throw this.#refuse({
        reason: 'too_large',
        message: `an access token of ${size} bytes was not issued: over the size budget of ${this.#maxBytes} bytes (accessTokenMaxBytes); return fewer or shorter claims, or raise the budget`,
      });
    }
    return token;
  }

  async #claimsFor(request: AccessTokenRequest, scope: string): Promise<Record<string, unknown>> {
    const { user, session } = request;
    const userAgent = request.request?.userAgent;
    const context: ClaimsContext = {
      user: user
        ? {
            id: user.id,
            username: user.username,
            email: user.email,
            roles: [...user.roles],
            created_at: new Date(user.createdAt).toISOString(),
            // A copy: whatever the function does to it changes nothing stored.
            app_metadata: structuredClone(user.appMetadata) as Record<string, unknown>,
          }
        : null,
      session: session
        ? { id: session.id, created_at: new Date(session.createdAt).toISOString() }
        : null,
      request: {
        ip: request.request?.ip ?? null,
        user_agent: userAgent === undefined ? null : userAgent.slice(0, USER_AGENT_MAX),
      },
      client_id: request.clientId,
      scope,
    };
    const fn = this.#o.claims as ClaimsFunction;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = Symbol('timeout');
    let result: unknown;
    try {
      result = await Promise.race([
        // A synchronous throw becomes a rejection here, like an asynchronous one.
        Promise.resolve().then(() => fn(context)),
        new Promise<typeof timedOut>((resolve) => {
          timer = setTimeout(() => resolve(timedOut), this.#timeout);
          timer.unref();
        }),
      ]);
    } catch (error) {
      throw this.#refuse({
        reason: 'claims_failed',
        message: 'the claims function threw; no access token was issued',
        error,
      });
    } finally {
      clearTimeout(timer);
    }
    if (result === timedOut) {
      throw this.#refuse({
        reason: 'claims_timeout',
        message: `the claims function did not answer within ${this.#timeout} ms (claimsTimeout); no access token was issued`,
      });
    }
    // Checked, then copied through JSON and checked again: what is signed is plain data, whatever
    // getters or proxies the result held (they may throw, or answer differently the second time).
    let problem: string;
    let claims: Record<string, unknown> = {};
    try {
      problem = claimsProblem(result);
      if (!problem) {
        claims = JSON.parse(JSON.stringify(result)) as Record<string, unknown>;
        problem = claimsProblem(claims);
      }
    } catch {
      problem = 'an object that could not be read as JSON';
    }
    if (problem) {
      throw this.#refuse({
        reason: 'claims_invalid',
        message: `the claims function returned ${problem}; no access token was issued`,
      });
    }
    return claims;
  }

  #refuse(refusal: TokenRefusal): AuthServiceError {
    this.#o.onRefusal?.(refusal);
    return new AuthServiceError(
      'temporarily_unavailable',
      'the access token could not be built; nothing was issued (the server log says why); try again later',
      { retryAfter: 5 },
    );
  }
}

/** What is wrong with a claims function's result, for the log (names, never values); or ''. */
export function claimsProblem(result: unknown): string {
  if (!isPlainObject(result)) return 'something other than a plain object of claims';
  for (const name of Object.keys(result)) {
    if (!name.isWellFormed()) return 'a claim name that is not well-formed Unicode';
    if (RESERVED_CLAIMS.includes(name)) {
      return `the reserved claim "${name}" (the server sets it; reserved: ${RESERVED_CLAIMS.join(' ')})`;
    }
    const problem = jsonProblem(result[name], 1);
    if (problem) return `a claim "${name.slice(0, 64)}" that ${problem}`;
  }
  return '';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Why a value cannot be a claim: only JSON's own values go in a token, exactly as given, so that
 * every verifier reads what the function returned (no `undefined` silently dropped, no Date or
 * class instance turned into something else, no NaN turned into null, no lone surrogate).
 */
export function jsonProblem(value: unknown, depth = 1): string {
  if (depth > MAX_DEPTH) return `nests deeper than ${MAX_DEPTH} levels`;
  switch (typeof value) {
    case 'string':
      return value.isWellFormed() ? '' : 'holds a lone surrogate (not well-formed Unicode)';
    case 'boolean':
      return '';
    case 'number':
      return Number.isFinite(value) ? '' : 'holds a number JSON cannot write (NaN or Infinity)';
    case 'object': {
      if (value === null) return '';
      if (Array.isArray(value)) {
        for (const item of value) {
          const problem = jsonProblem(item, depth + 1);
          if (problem) return problem;
        }
        return '';
      }
      if (!isPlainObject(value)) return 'holds an object that is not plain JSON (a class instance)';
      for (const [name, item] of Object.entries(value)) {
        if (!name.isWellFormed()) return 'holds a name that is not well-formed Unicode';
        const problem = jsonProblem(item, depth + 1);
        if (problem) return problem;
      }
      return '';
    }
    default:
      return `holds a ${typeof value}, which JSON cannot write`;
  }
}
