// The shapes laissez/client speaks: what the auth server sends and what callers pass in.

/** A user as the server shows it. */
export interface User {
  id: string;
  username: string;
  email: string;
  roles: string[];
  created_at: string;
}

/** Log in with a username or an email, and the password. */
export type Credentials =
  | { username: string; email?: undefined; password: string }
  | { email: string; username?: undefined; password: string };

export interface Registration {
  username: string;
  email: string;
  password: string;
}

/** The access token and when this client considers it expired (ms since the epoch, local clock). */
export interface AccessToken {
  readonly token: string;
  readonly expiresAt: number;
  /** Seconds the server gave it (`expires_in`). */
  readonly lifetime: number;
}

/** The body of a token answer (`/auth/login`, `/auth/refresh`); not exported by laissez/client. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  refresh_expires_in?: number;
  /** Log-in only, server without cookie mode: docs/server.md, "Guessing passwords". */
  device_token?: string;
}
