/// <reference lib="dom" />
// What the panels of the / page share (app.ts starts it): the server's settings from the page's
// <meta> tags, the token of a mailed link, the one laissez/client instance and the log of its
// requests, the signed-in and signed-out views, and the helpers that send a request or a form and
// put the server's refusal in words. Each panel is a sibling module; none of them imports app.ts.

import { AuthError, createClient } from '@laissez/client';
import { byId, h, say } from './dom.ts';

const setting = (name: string) =>
  document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content === 'on';
export const cookieMode = setting('laissez-cookies');
export const signInLinks = setting('laissez-sign-in-links');
export const verifyEmail = setting('laissez-verify-email');

/**
 * The token of a mailed link (`/reset-password#token=…`, `/sign-in#token=…`), read once from the
 * URL's fragment, which the browser never sends to a server; the fragment is then dropped from the
 * address bar and the page's history (replaceState), so the token is in no URL the page requests,
 * no Referer, and no entry that Back or another person at the machine could bring back.
 */
function linkToken(): string | null {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (location.hash !== '') history.replaceState(null, '', location.pathname);
  return token !== null && token.length > 0 && token.length <= 128 ? token : null;
}
export const landing = location.pathname;
export const mailedToken =
  landing === '/reset-password' || landing === '/sign-in' ? linkToken() : null;

/** The page's status line: what just happened, for everyone (an aria-live region). */
export const status = byId('status');
const signedOut = byId('signed-out');
const signedIn = byId('signed-in');
const resetPanel = byId('reset');
const log = byId('log');

// The server answers 401 invalid_grant both without a session (no cookie: a body-less restore())
// and for a refresh token it refuses (expired, revoked, replayed).
const REFRESH_NOTES: Record<number, string> = {
  200: 'new access token',
  401: 'no session, or the refresh token was refused',
};

/** The requests the client makes, shown in the page: method, path and status, never a token. */
async function loggedFetch(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  const entry = h('li', '', `${request.method} ${pathname} …`);
  log.prepend(entry);
  while (log.children.length > 12) log.lastElementChild?.remove();
  try {
    const response = await fetch(request);
    const note = pathname.endsWith('/auth/refresh') ? REFRESH_NOTES[response.status] : undefined;
    entry.textContent = `${request.method} ${pathname} → ${response.status}${note ? ` (${note})` : ''}`;
    entry.dataset.status = String(response.status);
    return response;
  } catch (error) {
    entry.textContent = `${request.method} ${pathname} → network error`;
    throw error;
  }
}

// DPoP where WebCrypto is (secure contexts: https, localhost): every request carries a proof by a
// non-extractable key in IndexedDB, and a server that binds tokens makes them useless elsewhere.
const dpop = typeof globalThis.crypto?.subtle?.sign === 'function';
export const client = createClient({
  refreshToken: cookieMode ? 'cookie' : 'memory',
  fetch: loggedFetch,
  dpop,
});

export function showSignedIn(): void {
  signedOut.hidden = true;
  resetPanel.hidden = true;
  signedIn.hidden = false;
}

/** The signed-out view; every panel of the signed-in one is emptied, so nothing of it lingers. */
export function showSignedOut(): void {
  signedIn.hidden = true;
  signedOut.hidden = false;
  byId('profile').replaceChildren();
  byId('sessions').replaceChildren();
  byId('passkeys').replaceChildren();
  byId('totp-setup').hidden = true;
  byId('recovery-codes').replaceChildren();
  byId('recovery').hidden = true;
  byId('verify-banner').hidden = true;
}

export function describe(error: unknown): string {
  if (error instanceof AuthError) return error.description;
  return `The server could not be reached (${(error as Error).message}).`;
}

/** A request with the access token; the answer's JSON (none for 204), or its `AuthError`. */
export async function api(path: string, method: string, body?: object): Promise<unknown> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const response = await client.fetch(path, init);
  if (!response.ok) throw await refusal(response);
  return response.status === 204 ? undefined : response.json();
}

/** A request without a session (the links in mails): JSON in, the answer's JSON out. */
export async function post(path: string, body: object): Promise<unknown> {
  const response = await loggedFetch(
    new Request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
    }),
  );
  if (!response.ok) throw await refusal(response);
  return response.status === 204 ? undefined : response.json();
}

async function refusal(response: Response): Promise<AuthError> {
  const body = (await response.json().catch(() => ({}))) as {
    error?: string;
    error_description?: string;
  };
  return new AuthError(
    response.status,
    body.error ?? 'http_error',
    body.error_description ?? `the server answered ${response.status}`,
  );
}

/** Runs a form's submission with its button disabled; errors go to `errorTarget`. */
export function onSubmit(
  form: HTMLFormElement,
  errorTarget: HTMLElement,
  handler: (data: FormData) => Promise<void>,
): void {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    say(errorTarget, '');
    const button = form.querySelector('button');
    if (button) button.disabled = true;
    try {
      await handler(new FormData(form));
    } catch (error) {
      say(errorTarget, describe(error), 'error');
    } finally {
      if (button) button.disabled = false;
    }
  });
}
