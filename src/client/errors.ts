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
    const body = (await response.json()) as { error?: unknown; error_description?: unknown };
    if (typeof body.error === 'string') code = body.error;
    if (typeof body.error_description === 'string') description = body.error_description;
  } catch {
    // Not JSON: keep the status.
  }
  return new AuthError(response.status, code, description);
}
