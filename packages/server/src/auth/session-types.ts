// The shapes of a session's tokens and grants: what a log-in or refresh asks for (GrantInput,
// LogInGrant), what it answers (TokenSet), the claims of its access tokens (AccessClaims), and
// where ended sessions are announced (RevocationSink). Beside sessions.ts, which re-exports them,
// so that the callers of the auth domain can name them without the machinery.
import type { SessionClient } from '../store/types.ts';

/** Receives ended sessions (`sid`) and until when their access tokens could still be presented. */
export interface RevocationSink {
  revoke(sid: string, untilMs: number): Promise<void>;
}

export interface TokenSet {
  access_token: string;
  /** RFC 9449 §5: `DPoP` when the access token is bound to the key of the request's proof. */
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  refresh_token: string;
  refresh_expires_in: number;
  /** RFC 6749 §5.1: the granted scope, when the server grants scopes ('' for none). */
  scope?: string;
}

/** Claims of a verified access token. */
export interface AccessClaims {
  sub: string;
  sid: string;
  roles: string[];
  /** Whether the user had verified their email when the token was issued (OIDC Core §5.1). */
  email_verified?: boolean;
  jti: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string | string[];
  /** RFC 9068 §2.2: the client the token was issued to (the first-party client for log-ins). */
  client_id?: string;
  /** RFC 9068 §2.2.3: the granted scopes, space-separated; absent when none. */
  scope?: string;
  /** RFC 8176: how the user authenticated at the session's log-in; absent when not recorded. */
  amr?: string[];
  /** OpenID Connect Core §2: when the session's log-in happened, in seconds; absent when unknown. */
  auth_time?: number;
  [claim: string]: unknown;
}

/** Where a request for tokens came from, for the claims function. */
export interface RequestContext {
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/** A log-in's grant: the scope it asks for (absent: all its roles allow) and its request. */
export interface GrantInput {
  /** RFC 6749 §3.3: space-separated scope-tokens. */
  scope?: unknown;
  request?: RequestContext;
  /** The client that starts the session (address, device label), for the user's session list. */
  client?: SessionClient;
  /**
   * The thumbprint of the key of the request's valid DPoP proof (RFC 9449 §5), if any: the access
   * token is bound to it; at log-in the family too (the first-party client is public, and RFC
   * 9449 §5 binds a public client's refresh tokens), so that every refresh needs a proof by it.
   */
  jkt?: string | undefined;
}

/** A log-in's grant and how the user proved who they are. */
export interface LogInGrant extends GrantInput {
  /**
   * How (RFC 8176 `amr` values: `['pwd']`, `['pwd', 'otp', 'mfa']`); absent: the token says
   * nothing of how (a sign-in link, for which RFC 8176 registers no method).
   */
  amr?: readonly string[];
  /** When, in ms (the password step of a two-step log-in); default now. */
  authTime?: number;
}
