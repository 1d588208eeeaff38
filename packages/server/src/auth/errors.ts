/**
 * The domain's errors. `code` is the snake_case error of the HTTP body; the server's catalogue
 * (src/server/errors.ts) gives each its status. Descriptions never reveal whether a user exists,
 * and never contain a password, a token or a hash.
 */
export type AuthErrorCode =
  | 'invalid_request'
  | 'weak_password'
  | 'username_taken'
  | 'email_taken'
  | 'invalid_credentials'
  | 'wrong_password'
  | 'session_not_found'
  | 'account_disabled'
  | 'email_not_verified'
  | 'invalid_link'
  | 'invalid_grant'
  // RFC 6749 §5.2, at log-in, refresh and the OAuth endpoints alike (src/auth/scopes.ts).
  | 'invalid_scope'
  | 'invalid_token'
  | 'too_many_requests'
  | 'not_found'
  | 'temporarily_unavailable'
  | 'mfa_required'
  | 'invalid_code'
  | 'factor_conflict'
  // Passkeys (src/auth/passkeys.ts).
  | 'invalid_passkey'
  | 'passkey_taken'
  | 'passkey_not_found'
  // RFC 9449 §5: a refresh of a DPoP-bound session without a proof.
  | 'invalid_dpop_proof'
  // RFC 6749 §5.2, at the OAuth endpoints (src/server/oauth.ts).
  | 'invalid_client'
  | 'unauthorized_client'
  | 'unsupported_grant_type';

export class AuthServiceError extends Error {
  override name = 'AuthServiceError';
  readonly code: AuthErrorCode;
  /** For invalid_request: the field at fault. */
  readonly field: string | undefined;
  /** For too_many_requests: seconds until a retry may succeed. */
  readonly retryAfter: number | undefined;
  /**
   * Members the HTTP body carries beside `error` and `error_description`: for mfa_required, the
   * `mfa_token`, its `expires_in` and the `factors` the user can complete the log-in with.
   */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: AuthErrorCode,
    description: string,
    extra: { field?: string; retryAfter?: number; details?: Record<string, unknown> } = {},
  ) {
    super(description);
    this.code = code;
    this.field = extra.field;
    this.retryAfter = extra.retryAfter;
    this.details = extra.details;
  }
}
