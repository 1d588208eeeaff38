/// <reference lib="dom" />
// The / page: the log-in flow, end to end, with laissez/client. Cookie mode (the server's
// `--cookies on`) keeps the refresh token in an HttpOnly cookie, so a session survives reloads and
// is shared by tabs; without it the client keeps the refresh token in memory and a reload logs out.

import {
  AuthError,
  createClient,
  type Factor,
  MfaRequiredError,
  type PasskeySummary,
  type SessionEndEvent,
  type User,
} from '@laissez/client';
import { byId, formatDate, h, relative, renderJson, renderTokenParts, say } from './dom.ts';
import { decodeToken } from './inspect/decode.ts';
import { humanDuration } from './inspect/times.ts';

const setting = (name: string) =>
  document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content === 'on';
const cookieMode = setting('laissez-cookies');
const signInLinks = setting('laissez-sign-in-links');
const verifyEmail = setting('laissez-verify-email');

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
const landing = location.pathname;
const mailedToken = landing === '/reset-password' || landing === '/sign-in' ? linkToken() : null;

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
const resetPanel = byId('reset');
const verifyBanner = byId('verify-banner');
const sessionList = byId('sessions');
const sessionsResult = byId('sessions-result');
const securityResult = byId('security-result');
const passkeyList = byId('passkeys');

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
  resetPanel.hidden = true;
  signedIn.hidden = false;
}

function showSignedOut(): void {
  signedIn.hidden = true;
  signedOut.hidden = false;
  profile.replaceChildren();
  sessionList.replaceChildren();
  passkeyList.replaceChildren();
  byId('totp-setup').hidden = true;
  byId('recovery-codes').replaceChildren();
  byId('recovery').hidden = true;
  verifyBanner.hidden = true;
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
    ...(user.email_verified === undefined
      ? []
      : [['Email verified', user.email_verified ? 'yes' : 'not yet'] as [string, string]]),
    ['User id', user.id],
    ['Registered', formatDate(new Date(user.created_at))],
  ];
  profile.replaceChildren(
    ...rows.flatMap(([term, value]) => [h('dt', '', term), h('dd', '', value)]),
  );
}

async function loadProfile(): Promise<void> {
  try {
    const user = await client.me();
    renderProfile(user);
    // The banner: on a server that verifies addresses (--verify-email), while this one is not.
    verifyBanner.hidden = !verifyEmail || user.email_verified !== false;
    byId('verify-email').textContent = verifyBanner.hidden ? '' : user.email;
    verifyBanner.dataset.email = user.email;
    await loadSessions();
    await loadSecurity();
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
    await loggedIn(`Logged in as ${name}.`);
  } catch (error) {
    if (error instanceof MfaRequiredError) {
      loginForm.reset();
      askSecondFactor(error);
      return;
    }
    say(loginError, describe(error), 'error');
    byId('login-password', HTMLInputElement).focus();
  } finally {
    if (button) button.disabled = false;
  }
});

/** After any log-in: the signed-in view, its token and profile. */
async function loggedIn(message: string): Promise<void> {
  refreshes = 0;
  mfaStep.hidden = true;
  pendingMfa = null;
  showSignedIn();
  renderToken();
  say(status, message);
  byId('profile-h').focus();
  await loadProfile();
}

// ---- the log-in's second step (401 mfa_required) ----

const mfaStep = byId('mfa-step');
const mfaForm = byId('mfa-form', HTMLFormElement);
const mfaError = byId('mfa-error');
/** The challenge of the log-in that asked for a second factor; single-use on the server. */
let pendingMfa: MfaRequiredError | null = null;

const FACTOR_HELP: Record<string, string> = {
  totp: 'the 6-digit code from your authenticator app',
  recovery_code: 'one of your recovery codes',
  passkey: 'a passkey',
};

function askSecondFactor(challenge: MfaRequiredError): void {
  pendingMfa = challenge;
  const typed = challenge.factors.filter((f: Factor) => f !== 'passkey');
  byId('mfa-help').textContent =
    `The password is right, and this account has a second factor: use ${challenge.factors
      .map((f) => FACTOR_HELP[f] ?? f)
      .join(', or ')}. Within ${Math.round(challenge.expiresIn / 60)} minutes.`;
  mfaForm.querySelector<HTMLElement>('.field')!.hidden = typed.length === 0;
  byId('mfa-code', HTMLInputElement).required = typed.length > 0;
  mfaForm.querySelector<HTMLButtonElement>('button[type="submit"]')!.hidden = typed.length === 0;
  byId('mfa-passkey').hidden = !challenge.factors.includes('passkey');
  loginForm.hidden = true;
  mfaStep.hidden = false;
  say(mfaError, '');
  byId('mfa-h').focus();
}

function cancelSecondFactor(): void {
  pendingMfa = null;
  mfaForm.reset();
  mfaStep.hidden = true;
  loginForm.hidden = false;
}

/** Sends the second step; a spent or expired challenge sends the user back to the password. */
async function secondStep(
  proof: { code: string } | { recoveryCode: string } | { passkey: true },
): Promise<void> {
  if (pendingMfa === null) return;
  say(mfaError, '');
  try {
    await client.verifySecondFactor({ mfaToken: pendingMfa.mfaToken, ...proof });
    mfaForm.reset();
    loginForm.hidden = false;
    await loggedIn('Logged in with your second factor.');
  } catch (error) {
    if (error instanceof AuthError && error.code === 'invalid_grant') {
      cancelSecondFactor();
      say(loginError, `${describe(error)} Log in again.`, 'error');
      byId('login-name', HTMLInputElement).focus();
      return;
    }
    say(mfaError, describe(error), 'error');
    byId('mfa-code', HTMLInputElement).focus();
  }
}

onSubmit(mfaForm, mfaError, async (data) => {
  const given = String(data.get('code') ?? '').trim();
  // A TOTP code is six digits; a recovery code is longer and has letters (docs/server.md).
  await secondStep(
    /^\d{6}$/.test(given.replace(/\s+/g, '')) ? { code: given } : { recoveryCode: given },
  );
});
byId('mfa-passkey', HTMLButtonElement).addEventListener(
  'click',
  () => void secondStep({ passkey: true }),
);
byId('mfa-cancel', HTMLButtonElement).addEventListener('click', () => {
  cancelSecondFactor();
  byId('login-name', HTMLInputElement).focus();
});

byId('passkey-login', HTMLButtonElement).addEventListener('click', async (event) => {
  const button = event.currentTarget as HTMLButtonElement;
  say(loginError, '');
  button.disabled = true;
  try {
    await client.loginWithPasskey();
    await loggedIn('Logged in with a passkey.');
  } catch (error) {
    say(loginError, describePasskeyError(error), 'error');
  } finally {
    button.disabled = false;
  }
});

/** WebAuthn's own refusals (cancelled, no passkey here) in words, and the server's as usual. */
function describePasskeyError(error: unknown): string {
  if (error instanceof DOMException && error.name === 'NotAllowedError') {
    return 'No passkey was used: the request was cancelled or timed out.';
  }
  if (error instanceof DOMException && error.name === 'InvalidStateError') {
    return 'This authenticator already holds a passkey for this account.';
  }
  if (error instanceof TypeError) return error.message;
  return describe(error);
}

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
    say(
      status,
      user === null
        ? 'Check your mail: a link to confirm the address is on its way. Then log in.'
        : `Account created for ${user.username}. Log in with it.`,
    );
    byId('login-name', HTMLInputElement).value = registration.username;
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

/** A request with the access token; the answer's JSON (none for 204), or its `AuthError`. */
async function api(path: string, method: string, body?: object): Promise<unknown> {
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
async function post(path: string, body: object): Promise<unknown> {
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
function onSubmit(
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

interface SessionInfo {
  id: string;
  created_at: string;
  last_used_at: string;
  ip: string | null;
  device: string | null;
  current: boolean;
}

async function loadSessions(): Promise<void> {
  try {
    const { sessions } = (await api('/auth/sessions', 'GET')) as { sessions: SessionInfo[] };
    sessionList.replaceChildren(...sessions.map(renderSession));
  } catch (error) {
    if (client.authenticated) say(sessionsResult, describe(error), 'error');
  }
}

function renderSession(session: SessionInfo, index: number): HTMLElement {
  const headingId = `session-${index}-h`;
  const label = session.device ?? 'Unknown device';
  const heading = h('h3', '', label, session.current ? ' · this device' : '');
  heading.id = headingId;
  const rows: [string, string][] = [
    ['Address', session.ip ?? 'unknown'],
    ['Logged in', formatDate(new Date(session.created_at))],
    ['Last used', relative(new Date(session.last_used_at))],
  ];
  const details = h(
    'dl',
    '',
    ...rows.flatMap(([term, value]) => [h('dt', '', term), h('dd', '', value)]),
  );
  const end = h('button', 'secondary', 'End this session') as HTMLButtonElement;
  end.type = 'button';
  end.setAttribute('aria-describedby', headingId);
  end.addEventListener('click', () => void endSession(session, end));
  const item = h('li', '', heading, details, end);
  if (session.current) item.dataset.current = 'true';
  return item;
}

async function endSession(session: SessionInfo, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  try {
    await api(`/auth/sessions/${encodeURIComponent(session.id)}`, 'DELETE');
    if (session.current) {
      // This device's own session: the server has revoked it; forget it here (and in other tabs).
      await client.logout().catch(() => undefined);
      say(status, 'This session has ended: you are logged out on this device.');
      byId('login-h').focus();
      return;
    }
    say(sessionsResult, `Ended the session of ${session.device ?? 'an unknown device'}.`);
    await loadSessions();
  } catch (error) {
    say(sessionsResult, describe(error), 'error');
    button.disabled = false;
  }
}

byId('reload-sessions', HTMLButtonElement).addEventListener('click', () => void loadSessions());

byId('verify-resend', HTMLButtonElement).addEventListener('click', async () => {
  const result = byId('verify-result');
  try {
    await post('/auth/verify-email/resend', { email: verifyBanner.dataset.email ?? '' });
    say(result, 'A new link is on its way: check your mail.');
  } catch (error) {
    say(result, describe(error), 'error');
  }
});

const forgotForm = byId('forgot-form', HTMLFormElement);
onSubmit(forgotForm, byId('forgot-result'), async (data) => {
  await post('/auth/password-reset', { email: String(data.get('email') ?? '').trim() });
  forgotForm.reset();
  say(
    byId('forgot-result'),
    'Check your mail: if an account has this address, a link to choose a new password is on its way.',
  );
});

const signInLinkForm = byId('sign-in-link-form', HTMLFormElement);
onSubmit(signInLinkForm, byId('sign-in-link-result'), async (data) => {
  await post('/auth/sign-in-link', { email: String(data.get('email') ?? '').trim() });
  signInLinkForm.reset();
  say(
    byId('sign-in-link-result'),
    'Check your mail: if an account has this address, a link that logs you in is on its way.',
  );
});

const resetForm = byId('reset-form', HTMLFormElement);
onSubmit(resetForm, byId('reset-error'), async (data) => {
  const password = String(data.get('password') ?? '');
  if (password !== String(data.get('repeat') ?? '')) {
    say(byId('reset-error'), 'The two passwords differ: type the same one twice.', 'error');
    byId('reset-repeat', HTMLInputElement).focus();
    return;
  }
  if (mailedToken === null) return;
  await post('/auth/password-reset/confirm', { token: mailedToken, password });
  resetForm.reset();
  resetPanel.hidden = true;
  history.replaceState(null, '', '/');
  say(
    status,
    'Your password is changed, and every session of the account has ended. Log in with the new password.',
  );
  byId('login-h').focus();
});

const passwordForm = byId('password-form', HTMLFormElement);
onSubmit(passwordForm, byId('password-error'), async (data) => {
  const { ended_sessions: ended } = (await api('/auth/password', 'POST', {
    current_password: String(data.get('current') ?? ''),
    new_password: String(data.get('new') ?? ''),
  })) as { ended_sessions: number };
  passwordForm.reset();
  say(
    status,
    `Password changed. ${ended === 0 ? 'No other session was open' : `${ended} other session${ended === 1 ? '' : 's'} ended`}; this one stays.`,
  );
  await loadSessions();
});

const deleteForm = byId('delete-form', HTMLFormElement);
onSubmit(deleteForm, byId('delete-error'), async (data) => {
  await api('/auth/account', 'DELETE', { password: String(data.get('password') ?? '') });
  deleteForm.reset();
  // The server ended every session; forget this one here and in the other tabs.
  await client.logout().catch(() => undefined);
  say(status, 'Your account is deleted, and every session of it has ended.');
  byId('login-h').focus();
});

// ---- the Security panel: TOTP, recovery codes, passkeys ----

async function loadSecurity(): Promise<void> {
  try {
    const { factors } = (await api('/auth/mfa', 'GET')) as { factors: Factor[] };
    const on = factors.includes('totp');
    byId('totp-state').textContent = on
      ? 'On: logging in with the password asks for a code from your app.'
      : 'Off: add an authenticator app, and logging in with the password asks for its code.';
    byId('totp-enrol').hidden = on || !byId('totp-setup').hidden;
    byId('totp-manage-form').hidden = !on;
    const { passkeys } = (await api('/auth/passkeys', 'GET')) as { passkeys: PasskeySummary[] };
    passkeyList.replaceChildren(...passkeys.map(renderPasskey));
  } catch (error) {
    if (client.authenticated) say(securityResult, describe(error), 'error');
  }
}

function showRecoveryCodes(codes: string[]): void {
  byId('recovery-codes').replaceChildren(...codes.map((code) => h('li', '', h('code', '', code))));
  byId('recovery').hidden = false;
  byId('recovery-h').focus();
}

byId('recovery-done', HTMLButtonElement).addEventListener('click', () => {
  byId('recovery-codes').replaceChildren();
  byId('recovery').hidden = true;
  byId('security-h').focus();
});

byId('totp-enrol', HTMLButtonElement).addEventListener('click', async (event) => {
  const button = event.currentTarget as HTMLButtonElement;
  button.disabled = true;
  say(securityResult, '');
  try {
    const enrolment = (await api('/auth/mfa/totp', 'POST')) as { secret: string; qr: string };
    // The server's own SVG, as an image (CSP img-src data:): never parsed into the page.
    if (enrolment.qr.startsWith('data:image/svg+xml'))
      byId('totp-qr', HTMLImageElement).src = enrolment.qr;
    byId('totp-secret').textContent = enrolment.secret.replace(/(.{4})(?=.)/g, '$1 ');
    byId('totp-setup').hidden = false;
    button.hidden = true;
    byId('totp-confirm-code', HTMLInputElement).focus();
  } catch (error) {
    say(securityResult, describe(error), 'error');
  } finally {
    button.disabled = false;
  }
});

const totpConfirmForm = byId('totp-confirm-form', HTMLFormElement);
onSubmit(totpConfirmForm, byId('totp-confirm-error'), async (data) => {
  const { recovery_codes: codes } = (await api('/auth/mfa/totp/confirm', 'POST', {
    code: String(data.get('code') ?? '').trim(),
  })) as { recovery_codes: string[] };
  totpConfirmForm.reset();
  byId('totp-setup').hidden = true;
  byId('totp-qr', HTMLImageElement).removeAttribute('src');
  byId('totp-secret').textContent = '';
  say(securityResult, 'The authenticator app is on.');
  await loadSecurity();
  showRecoveryCodes(codes);
});

const totpManageForm = byId('totp-manage-form', HTMLFormElement);
totpManageForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const errorTarget = byId('totp-manage-error');
  say(errorTarget, '');
  const data = new FormData(totpManageForm);
  const given = String(data.get('code') ?? '').trim();
  const body = {
    password: String(data.get('password') ?? ''),
    ...(/^\d{6}$/.test(given) ? { code: given } : { recovery_code: given }),
  };
  const action = (event.submitter as HTMLButtonElement | null)?.value;
  try {
    if (action === 'disable') {
      await api('/auth/mfa/totp', 'DELETE', body);
      totpManageForm.reset();
      await loadSecurity();
      say(securityResult, 'The authenticator app is off, and its recovery codes no longer work.');
    } else {
      const { recovery_codes: codes } = (await api('/auth/mfa/recovery-codes', 'POST', body)) as {
        recovery_codes: string[];
      };
      totpManageForm.reset();
      say(securityResult, 'Ten new recovery codes: the old ones no longer work.');
      showRecoveryCodes(codes);
    }
  } catch (error) {
    say(errorTarget, describe(error), 'error');
  }
});

const passkeyForm = byId('passkey-form', HTMLFormElement);
passkeyForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const errorTarget = byId('passkey-error');
  say(errorTarget, '');
  const button = passkeyForm.querySelector('button');
  if (button) button.disabled = true;
  try {
    const name = String(new FormData(passkeyForm).get('name') ?? '').trim();
    const passkey = await client.addPasskey(name ? { name } : {});
    passkeyForm.reset();
    await loadSecurity();
    say(securityResult, `Passkey “${passkey.name}” added: you can log in with it.`);
  } catch (error) {
    say(errorTarget, describePasskeyError(error), 'error');
  } finally {
    if (button) button.disabled = false;
  }
});

function renderPasskey(passkey: PasskeySummary, index: number): HTMLElement {
  const headingId = `passkey-${index}-h`;
  const heading = h('h4', '', passkey.name);
  heading.id = headingId;
  const rows: [string, string][] = [
    ['Added', formatDate(new Date(passkey.created_at))],
    ['Last used', passkey.last_used_at ? relative(new Date(passkey.last_used_at)) : 'never'],
    ['Synced', passkey.backed_up ? 'yes' : 'no, kept on one device'],
  ];
  const details = h(
    'dl',
    '',
    ...rows.flatMap(([term, value]) => [h('dt', '', term), h('dd', '', value)]),
  );
  const rename = h('form', 'inline') as HTMLFormElement;
  const inputId = `passkey-${index}-name`;
  const label = h('label', '', 'New name');
  label.setAttribute('for', inputId);
  const input = h('input') as HTMLInputElement;
  input.id = inputId;
  input.name = 'name';
  input.required = true;
  input.maxLength = 64;
  input.value = passkey.name;
  const renameButton = h('button', 'secondary', 'Rename') as HTMLButtonElement;
  renameButton.type = 'submit';
  renameButton.setAttribute('aria-describedby', headingId);
  rename.append(label, input, renameButton);
  const id = encodeURIComponent(passkey.id);
  rename.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api(`/auth/passkeys/${id}`, 'PATCH', { name: input.value.trim() });
      const renamed = input.value.trim();
      await loadSecurity();
      say(securityResult, `Passkey renamed to “${renamed}”.`);
    } catch (error) {
      say(securityResult, describe(error), 'error');
    }
  });
  const remove = h('button', 'danger', 'Remove') as HTMLButtonElement;
  remove.type = 'button';
  remove.setAttribute('aria-describedby', headingId);
  remove.addEventListener('click', async () => {
    remove.disabled = true;
    try {
      await api(`/auth/passkeys/${id}`, 'DELETE');
      await loadSecurity();
      say(securityResult, `Passkey “${passkey.name}” removed.`);
    } catch (error) {
      say(securityResult, describe(error), 'error');
      remove.disabled = false;
    }
  });
  return h('li', '', heading, details, rename, remove);
}

/** `/reset-password`: the form for the new password, or why the link cannot be used. */
function showReset(): void {
  showSignedOut();
  if (mailedToken === null) {
    say(
      status,
      'This reset link has no token: open the link from the mail again, or ask for a new one below.',
      'error',
    );
    return;
  }
  resetPanel.hidden = false;
  byId('reset-h').focus();
}

/** `/sign-in`: posts the link's token; a session on success, the reason otherwise. */
async function signInWithLink(): Promise<void> {
  if (mailedToken === null) {
    showSignedOut();
    say(status, 'This sign-in link has no token: open the link from the mail again.', 'error');
    return;
  }
  say(status, 'Logging you in with the link…');
  try {
    await client.signInWithLink(mailedToken);
    history.replaceState(null, '', '/');
    await loggedIn('Logged in with the link from your mail.');
  } catch (error) {
    showSignedOut();
    if (error instanceof MfaRequiredError) {
      history.replaceState(null, '', '/');
      say(status, '');
      askSecondFactor(error);
      return;
    }
    say(status, `The sign-in link did not work: ${describe(error)}`, 'error');
  }
}

async function start(): Promise<void> {
  byId('sign-in-link').hidden = !signInLinks;
  if (landing === '/reset-password') {
    if (!cookieMode) showModeNote();
    showReset();
    return;
  }
  if (landing === '/sign-in') {
    if (!cookieMode) showModeNote();
    await signInWithLink();
    return;
  }
  if (!cookieMode) {
    showModeNote();
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

function showModeNote(): void {
  const mode = byId('mode');
  mode.hidden = false;
  mode.textContent =
    'This server runs without cookie mode, so the refresh token is kept in this page’s memory: ' +
    'reloading the page or opening another tab means logging in again. Start the server with ' +
    '--cookies on to keep it in an HttpOnly cookie that no script can read.';
}

void renderDpopKey()
  .catch(() => {
    // No key to show: the proofs' own failures surface with the requests.
  })
  .then(start)
  .finally(() => {
    document.documentElement.dataset.ready = 'true';
  });
