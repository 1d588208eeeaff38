/// <reference lib="dom" />
// The Security panel: the authenticator app (TOTP: enrol, confirm, turn off), recovery codes, and
// the passkeys (passkeys.ts), loaded together from GET /auth/mfa and GET /auth/passkeys.

import type { Factor, PasskeySummary } from '@laissez/client';
import { api, client, describe, onSubmit } from './demo.ts';
import { byId, h, say } from './dom.ts';
import { passkeysPanel } from './passkeys.ts';

const securityResult = byId('security-result');
const showPasskeys = passkeysPanel(loadSecurity);

/** The panel's state from the server: whether TOTP is on, and the passkeys. */
export async function loadSecurity(): Promise<void> {
  try {
    const { factors } = (await api('/auth/mfa', 'GET')) as { factors: Factor[] };
    const on = factors.includes('totp');
    byId('totp-state').textContent = on
      ? 'On: logging in with the password asks for a code from your app.'
      : 'Off: add an authenticator app, and logging in with the password asks for its code.';
    byId('totp-enrol').hidden = on || !byId('totp-setup').hidden;
    byId('totp-manage-form').hidden = !on;
    const { passkeys } = (await api('/auth/passkeys', 'GET')) as { passkeys: PasskeySummary[] };
    showPasskeys(passkeys);
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
