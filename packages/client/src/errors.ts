// The auth server's error answers ({error, error_description}, RFC 6749 §5.2) as `AuthError`s.

/** An error answer from the auth server: `code` is its `error`, `description` its explanation. */
export class AuthError extends Error {
  readonly status: number;
  readonly code: string;
  readonly description: string;
  constructor(status: number, code: string, description: string) {
    super(`${code}: ${description}`);
    this.name = 'AuthError';
    this.status = status;
    this.code = code;
    this.description = description;
  }
}

/** A second factor the account has on (`GET /auth/mfa`, and the `factors` of `mfa_required`). */
export type Factor = 'totp' | 'passkey' | 'recovery_code';

/**
 * `401 mfa_required`: the password (or sign-in link) was right and the account has a second
 * factor. Finish the log-in with `client.verifySecondFactor({ mfaToken, ... })` within `expiresIn`
 * seconds; `factors` says which the account has.
 */
export class MfaRequiredError extends AuthError {
  readonly mfaToken: string;
  readonly factors: readonly Factor[];
  readonly expiresIn: number;
  constructor(description: string, mfaToken: string, factors: Factor[], expiresIn: number) {
    super(401, 'mfa_required', description);
    this.name = 'MfaRequiredError';
    this.mfaToken = mfaToken;
    this.factors = Object.freeze([...factors]);
    this.expiresIn = expiresIn;
  }
}

/** The JSON body of an `ok` answer; otherwise throws its `AuthError`. */
export async function readJson(response: Response): Promise<unknown> {
  if (!response.ok) await throwFor(response);
  return response.json();
}

export async function throwFor(response: Response): Promise<never> {
  throw await errorOf(response);
}

/** The `AuthError` a refusal stands for; a body that is not the server's keeps the status only. */
export async function errorOf(response: Response): Promise<AuthError> {
  let code = 'http_error';
  let description = `the server answered ${response.status}`;
  try {
    const body = (await response.json()) as Record<string, unknown>;
    if (typeof body['error'] === 'string') code = body['error'];
    if (typeof body['error_description'] === 'string') description = body['error_description'];
    const token = body['mfa_token'];
    if (code === 'mfa_required' && response.status === 401 && typeof token === 'string') {
      const factors = Array.isArray(body['factors'])
        ? body['factors'].filter((f): f is Factor => typeof f === 'string')
        : [];
      const expiresIn = typeof body['expires_in'] === 'number' ? body['expires_in'] : 300;
      return new MfaRequiredError(description, token, factors, expiresIn);
    }
  } catch {
    // Not JSON: keep the status.
  }
  return new AuthError(response.status, code, description);
}
