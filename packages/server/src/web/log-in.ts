/// <reference lib="dom" />
// The "Log in" and "Register" panels: a log-in by password or passkey, its second step when the
// server answers 401 mfa_required, and registration. `loggedIn` is where every log-in ends, the
// mailed sign-in link's too (mail-links.ts).

import { AuthError, type Factor, MfaRequiredError } from '@laissez/client';
import { loadProfile } from './account.ts';
import { client, describe, onSubmit, showSignedIn, status } from './demo.ts';
import { byId, say } from './dom.ts';
import { describePasskeyError } from './passkeys.ts';
import { renderToken, resetRefreshCount } from './token-view.ts';

const loginForm = byId('login-form', HTMLFormElement);
const registerForm = byId('register-form', HTMLFormElement);
const loginError = byId('login-error');
const registerError = byId('register-error');

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
export async function loggedIn(message: string): Promise<void> {
  resetRefreshCount();
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

export function askSecondFactor(challenge: MfaRequiredError): void {
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
  // A TOTP code is six digits; a recovery code is longer and has letters (docs/accounts.md, "Second factors").
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
