// The one catalogue of HTTP errors: code, status and what it means. Every error body is
// `{ error, error_description }` (RFC 6749 §5.2 shape). docs/server.md documents each code and a
// test keeps the two in step.

import type { AuthFailure } from '@laissez/middleware';
import type { AuthErrorCode } from '../auth/errors.ts';

interface CatalogueEntry {
  readonly status: number;
  readonly meaning: string;
}

/**
 * What the catalogue must hold: an entry for every code the auth domain throws (AuthErrorCode)
 * and every code the bearer middleware answers (AuthFailure['error']), checked by the compiler:
 * a code added there without an entry here fails `npm run typecheck`. The string index lets the
 * server's own codes (not_found, payload_too_large…) in beside them.
 */
type Catalogue = Readonly<Record<AuthErrorCode | AuthFailure['error'], CatalogueEntry>> &
  Readonly<Record<string, CatalogueEntry>>;

export const ERROR_CATALOGUE = {
  invalid_request: {
    status: 400,
    meaning:
      'A field is missing, of the wrong type or out of bounds, or the body is not valid JSON.',
  },
  weak_password: {
    status: 400,
    meaning:
      'The new password is too common, built from the username or email, repetitive, or known breached.',
  },
  invalid_link: {
    status: 400,
    meaning:
      'A link sent by mail (verification, reset, sign-in, change of email) is malformed, unknown, replaced by a newer one, meant for another purpose, already used or expired; the description says which.',
  },
  invalid_credentials: {
    status: 401,
    meaning:
      'The username, email or password is not right (the same answer whether or not the user exists).',
  },
  invalid_grant: {
    status: 401,
    meaning:
      'The refresh token, or the mfa_token of a second step, is unknown, spent, revoked or expired: log in again. 400 at POST /oauth/token (RFC 6749 §5.2).',
  },
  mfa_required: {
    status: 401,
    meaning:
      'The password is right but the account has a second factor: the body carries `mfa_token` (single-use, 5 minutes), `expires_in` and `factors`; finish with POST /auth/mfa/verify.',
  },
  invalid_code: {
    status: 401,
    meaning:
      "The TOTP or recovery code is not right, or was used already (each counts against the account's second-factor budget).",
  },
  insufficient_user_authentication: {
    status: 401,
    meaning:
      'The access token is valid but the log-in behind it is not strong or recent enough for the route (RFC 9470): the WWW-Authenticate challenge names acr_values and/or max_age; log in again with a second factor.',
  },
  invalid_client: {
    status: 401,
    meaning:
      'OAuth endpoints: the client is unknown, its secret or assertion is wrong, or it used another authentication method than it is registered for (RFC 6749 §5.2; with WWW-Authenticate: Basic when it tried Basic).',
  },
  invalid_scope: {
    status: 400,
    meaning:
      "The scope asked for is malformed, or not allowed: not among the client's scopes (OAuth token endpoint), not allowed for the account's roles (log-in), or not granted to the session (refresh) (RFC 6749 §5.2).",
  },
  unauthorized_client: {
    status: 400,
    meaning:
      "OAuth token endpoint: the client is not allowed this grant type, or its id is the first-party client's (RFC 6749 §5.2).",
  },
  unsupported_grant_type: {
    status: 400,
    meaning:
      'OAuth token endpoint: the grant type is unknown or not enabled on this server (RFC 6749 §5.2).',
  },
  invalid_token: {
    status: 401,
    meaning:
      'The access token is missing, malformed, expired or not signed by this server, or its session has ended.',
  },
  invalid_dpop_proof: {
    status: 401,
    meaning:
      'The DPoP proof is missing, malformed, replayed, too old, signed by another key than the token is bound to, or made for another method, URL or token: 401 with a WWW-Authenticate: DPoP challenge where an access token is checked (RFC 9449 §7.1). At the token endpoints (POST /auth/login, /auth/refresh, /auth/mfa/verify, /oauth/token) a bad proof, or a refresh of a DPoP-bound session without one, is 400 with no challenge (RFC 9449 §5).',
  },
  use_dpop_nonce: {
    status: 401,
    meaning:
      'The server requires a nonce in the DPoP proof (--dpop-nonce), and the proof has none or a stale one: retry with the value of the DPoP-Nonce header of this answer. 401 with a WWW-Authenticate: DPoP challenge where an access token is checked (RFC 9449 §9); 400 at the token endpoints (POST /auth/login, /auth/refresh, /auth/mfa/verify, /oauth/token: RFC 9449 §8).',
  },
  invalid_passkey: {
    status: 401,
    meaning:
      "A passkey ceremony was refused (WebAuthn): its challenge is unknown, used, expired or made for another account, its origin or RP ID is not this server's, its signature does not verify, the passkey is not registered, or its signature counter went backwards (a cloned authenticator); the description says which.",
  },
  account_disabled: {
    status: 403,
    meaning:
      'The account is disabled (said only to someone who proved the password or holds a token).',
  },
  email_not_verified: {
    status: 403,
    meaning:
      'The password is right but the account has not verified its email, and the server requires it (--require-verified-email): follow the link in the verification mail, or ask for another (POST /auth/verify-email/resend).',
  },
  insufficient_scope: {
    status: 403,
    meaning:
      'The access token is valid but lacks the role or scope the route needs (RFC 6750 §3.1).',
  },
  wrong_password: {
    status: 403,
    meaning:
      'The current password sent to confirm a password change or an account deletion is not right (the access token itself is fine).',
  },
  invalid_origin: {
    status: 403,
    meaning:
      'A cookie-authenticated request came from an origin that is not allowed (CSRF defence).',
  },
  not_found: {
    status: 404,
    meaning:
      'No such route; in the admin API, no such user (or, for a password reset, no mail flow set up).',
  },
  session_not_found: {
    status: 404,
    meaning:
      "No live session of yours has this id (the same answer for an unknown, ended or another user's session).",
  },
  passkey_not_found: {
    status: 404,
    meaning:
      "You have no passkey with this id (the same answer for an unknown id and another user's passkey).",
  },
  request_timeout: {
    status: 408,
    meaning:
      "The request line and headers, or the whole request, did not arrive within the server's timeouts.",
  },
  factor_conflict: {
    status: 409,
    meaning:
      'The second factor is not in the state this needs: TOTP already on (turn it off first), no enrolment pending, or none on.',
  },
  username_taken: {
    status: 409,
    meaning:
      'The username, or a look-alike of it (same letters in another case, width or script), is already registered.',
  },
  email_taken: { status: 409, meaning: 'The email is already registered.' },
  passkey_taken: {
    status: 409,
    meaning: 'This passkey (its credential id) is registered already, to this account or another.',
  },
  payload_too_large: { status: 413, meaning: 'The body is larger than the server accepts.' },
  unsupported_media_type: { status: 415, meaning: 'The body is not application/json.' },
  too_many_requests: {
    status: 429,
    meaning: 'Too many attempts; Retry-After says when to try again.',
  },
  too_many_connections: {
    status: 429,
    meaning:
      'This client address already holds as many open connections as the server allows; the new one is closed.',
  },
  headers_too_large: {
    status: 431,
    meaning: 'The request line and headers are larger than 16 KiB.',
  },
  server_error: {
    status: 500,
    meaning: 'Something failed on the server; nothing about it is revealed.',
  },
  temporarily_unavailable: {
    status: 503,
    meaning:
      'The database or the revocation list cannot be reached, the server is shutting down, or the access token could not be built (the claims function failed, was too slow or returned a reserved or non-JSON claim, or the token was over its size budget: the server log says which; nothing was issued); Retry-After says when to try again (RFC 6749 §4.1.2.1).',
  },
} as const satisfies Catalogue;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error the server answers with a catalogued code. */
export class HttpError extends Error {
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;
  /** Members of the body beside `error` and `error_description` (mfa_required's challenge). */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /**
   * A status other than the catalogue's, for a code whose status depends on who answers: RFC 9449
   * has an authorization server answer `invalid_dpop_proof` (§5) and `use_dpop_nonce` (§8) with
   * 400, a resource server (§7.1, §9) with 401 (the catalogue's).
   */
  readonly #status: number | undefined;
  constructor(
    code: ErrorCode,
    description: string,
    headers: Record<string, string> = {},
    details?: Readonly<Record<string, unknown>>,
    status?: 400 | 401,
  ) {
    super(description);
    this.code = code;
    this.headers = headers;
    this.details = details;
    this.#status = status;
  }
  get status(): number {
    return this.#status ?? ERROR_CATALOGUE[this.code].status;
  }
}

/** The JSON schema of every error body, for the OpenAPI document. */
export const errorSchema = {
  type: 'object',
  required: ['error', 'error_description'],
  properties: {
    error: { type: 'string', enum: Object.keys(ERROR_CATALOGUE) },
    error_description: { type: 'string' },
  },
} as const;
