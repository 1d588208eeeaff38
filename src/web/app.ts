/// <reference lib="dom" />
// The / page: the log-in flow, end to end, with laissez/client. Cookie mode (the server's
// `--cookies on`) keeps the refresh token in an HttpOnly cookie, so a session survives reloads and
// is shared by tabs; without it the client keeps the refresh token in memory and a reload logs out.

import { AuthError, createClient, type SessionEndEvent, type User } from '../client/index.ts';
import { byId, formatDate, h, renderJson, renderTokenParts, say } from './dom.ts';
import { decodeToken } from './inspect/decode.ts';
import { humanDuration } from './inspect/times.ts';

const cookieMode =
  document.querySelector<HTMLMetaElement>('meta[name="laissez-cookies"]')?.content === 'on';

const status = byId('status');
const signedOut = byId('signed-out');
const signedIn = byId('signed-in');
const loginForm = byId('login-form', HTMLFormElement);
const registerForm = byId('register-form', HTMLFormElement);
const loginError = byId('login-error');
const registerError = byId('register-error');
const profile = byId('profile');
const tokenExpiry = byId('token-expiry');
const refreshCount = byId('refresh-count');
const tokenView = byId('token-view');
const tokenHeader = byId('token-header');
const tokenPayload = byId('token-payload');
const apiResult = byId('api-result');
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
const client = createClient({
  refreshToken: cookieMode ? 'cookie' : 'memory',
  fetch: loggedFetch,
  dpop,
});
let refreshes = 0;

function showSignedIn(): void {
  signedOut.hidden = true;
  signedIn.hidden = false;
}

function showSignedOut(): void {
  signedIn.hidden = true;
  signedOut.hidden = false;
  profile.replaceChildren();
}

function describe(error: unknown): string {
  if (error instanceof AuthError) return error.description;
  return `The server could not be reached (${(error as Error).message}).`;
}

function renderProfile(user: User): void {
  const rows: [string, string][] = [
    ['Username', user.username],
    ['Email', user.email],
    ['Roles', user.roles.join(', ')],
    ['User id', user.id],
    ['Registered', formatDate(new Date(user.created_at))],
  ];
  profile.replaceChildren(
    ...rows.flatMap(([term, value]) => [h('dt', '', term), h('dd', '', value)]),
  );
}

async function loadProfile(): Promise<void> {
  try {
    renderProfile(await client.me());
  } catch (error) {
    if (client.authenticated)
      say(status, `Could not load the profile: ${describe(error)}`, 'error');
  }
}

/** The DPoP key's thumbprint (the `cnf.jkt` of bound tokens) and where it is kept. */
async function renderDpopKey(): Promise<void> {
  const key = await client.dpopKey();
  if (key === null) return;
  byId('dpop-jkt').textContent = key.jkt;
  byId('dpop-note').textContent =
    key.storage === 'indexeddb'
      ? 'non-extractable P-256, kept in IndexedDB; its RFC 7638 thumbprint'
      : 'non-extractable P-256, in memory only (IndexedDB is unavailable); its RFC 7638 thumbprint';
  byId('dpop').hidden = false;
}

function renderToken(): void {
  const access = client.accessToken;
  if (!access) {
    tokenView.replaceChildren();
    tokenHeader.replaceChildren();
    tokenPayload.replaceChildren();
    tokenExpiry.textContent = '—';
    return;
  }
  const decoded = decodeToken(access.token);
  if (decoded.ok) {
    renderTokenParts(decoded.token.segments, tokenView);
    renderJson(decoded.token.header, tokenHeader);
    renderJson(decoded.token.payload, tokenPayload);
  }
  tick();
}

/** The live part: time to expiry, and how many times the token was refreshed. */
function tick(): void {
  const access = client.accessToken;
  if (!access) return;
  const left = access.expiresAt - Date.now();
  tokenExpiry.dataset.kind = left > 0 ? 'good' : 'bad';
  tokenExpiry.textContent =
    left > 0 ? `Expires in ${humanDuration(left)}` : `Expired ${humanDuration(left)} ago`;
  refreshCount.textContent =
    refreshes === 0
      ? `lifetime ${humanDuration(access.lifetime * 1000)}; refreshed automatically before it ends`
      : `refreshed ${refreshes} time${refreshes === 1 ? '' : 's'} without logging in again`;
}
setInterval(tick, 500);

client.addEventListener('tokenchange', (event) => {
  if (event.cause === 'refresh' || event.cause === 'other-tab') refreshes++;
  if (event.cause === 'other-tab' && signedIn.hidden) {
    showSignedIn();
    say(status, 'Logged in from another tab.');
    void loadProfile();
  }
  renderToken();
});

client.addEventListener('sessionend', (event: SessionEndEvent) => {
  refreshes = 0;
  showSignedOut();
  renderToken();
  const messages: Record<SessionEndEvent['reason'], string> = {
    logout: 'Logged out: the refresh token is revoked and this page forgot the access token.',
    'logout-all': 'Logged out everywhere: every session of this account is revoked.',
    'refresh-failed': `Your session has ended (${event.error?.description ?? 'the refresh token was refused'}). Log in again.`,
  };
  say(
    status,
    event.fromOtherTab ? `${messages[event.reason]} (in another tab)` : messages[event.reason],
  );
});

loginForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(loginForm);
  const name = String(data.get('username') ?? '').trim();
  const password = String(data.get('password') ?? '');
  say(loginError, '');
  const button = loginForm.querySelector('button');
  if (button) button.disabled = true;
  try {
    await client.login(
      name.includes('@') ? { email: name, password } : { username: name, password },
    );
    loginForm.reset();
    refreshes = 0;
    showSignedIn();
    renderToken();
    say(status, `Logged in as ${name}.`);
    byId('profile-h').focus();
    await loadProfile();
  } catch (error) {
    say(loginError, describe(error), 'error');
    byId('login-password', HTMLInputElement).focus();
  } finally {
    if (button) button.disabled = false;
  }
});

registerForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(registerForm);
  const registration = {
    username: String(data.get('username') ?? '').trim(),
    email: String(data.get('email') ?? '').trim(),
    password: String(data.get('password') ?? ''),
  };
  say(registerError, '');
  const button = registerForm.querySelector('button');
  if (button) button.disabled = true;
  try {
    const user = await client.register(registration);
    registerForm.reset();
    say(status, `Account created for ${user.username}. Log in with it.`);
    byId('login-name', HTMLInputElement).value = user.username;
    byId('login-password', HTMLInputElement).focus();
  } catch (error) {
    say(registerError, describe(error), 'error');
  } finally {
    if (button) button.disabled = false;
  }
});

byId('reload-profile', HTMLButtonElement).addEventListener('click', () => void loadProfile());

byId('logout', HTMLButtonElement).addEventListener('click', async () => {
  try {
    await client.logout();
  } catch (error) {
    say(status, `Logged out here; the server said: ${describe(error)}`, 'error');
  }
  byId('login-h').focus();
});

byId('logout-all', HTMLButtonElement).addEventListener('click', async () => {
  try {
    const revoked = await client.logoutAll();
    say(status, `Logged out everywhere: ${revoked} session${revoked === 1 ? '' : 's'} revoked.`);
    byId('login-h').focus();
  } catch (error) {
    say(status, `Could not log out everywhere: ${describe(error)}`, 'error');
  }
});

byId('call-me', HTMLButtonElement).addEventListener('click', async () => {
  say(apiResult, 'Sending…');
  try {
    const response = await client.fetch('/auth/me');
    const body = (await response.json()) as {
      user?: User;
      error?: string;
      error_description?: string;
    };
    apiResult.dataset.status = String(response.status);
    if (response.ok && body.user) {
      say(apiResult, `${response.status} OK: you are ${body.user.username}.`);
    } else {
      say(
        apiResult,
        `${response.status} refused: ${body.error ?? 'error'}: ${body.error_description ?? ''}`,
        'error',
      );
    }
  } catch (error) {
    say(apiResult, describe(error), 'error');
  }
});

async function start(): Promise<void> {
  const mode = byId('mode');
  if (!cookieMode) {
    mode.hidden = false;
    mode.textContent =
      'This server runs without cookie mode, so the refresh token is kept in this page’s memory: ' +
      'reloading the page or opening another tab means logging in again. Start the server with ' +
      '--cookies on to keep it in an HttpOnly cookie that no script can read.';
    showSignedOut();
    return;
  }
  say(status, 'Looking for a session…');
  let restored = false;
  try {
    restored = await client.restore();
  } catch {
    restored = false;
  }
  if (restored) {
    showSignedIn();
    renderToken();
    say(status, 'Welcome back: the session was resumed from its cookie.');
    await loadProfile();
  } else {
    showSignedOut();
    say(status, '');
  }
}

void renderDpopKey()
  .catch(() => {
    // No key to show: the proofs' own failures surface with the requests.
  })
  .then(start)
  .finally(() => {
    document.documentElement.dataset.ready = 'true';
  });
