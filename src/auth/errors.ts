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
  | 'account_disabled'
  | 'invalid_grant'
  | 'invalid_token'
  | 'too_many_requests'
  | 'not_found'
  | 'temporarily_unavailable';

export class AuthServiceError extends Error {
  override name = 'AuthServiceError';
  readonly code: AuthErrorCode;
  /** For invalid_request: the field at fault. */
  readonly field: string | undefined;
  /** For too_many_requests: seconds until a retry may succeed. */
  readonly retryAfter: number | undefined;

  constructor(
    code: AuthErrorCode,
    description: string,
    extra: { field?: string; retryAfter?: number } = {},
  ) {
    super(description);
    this.code = code;
    this.field = extra.field;
    this.retryAfter = extra.retryAfter;
  }
}
