/// <reference lib="dom" />
// The passkeys of the Security panel: the list (rename, remove) and the form that adds one, and
// WebAuthn's refusals in words (the log-in panel's passkey button uses them too). The panel as a
// whole is reloaded by second-factors.ts, which hands its reload in: the list lives in that panel.

import type { PasskeySummary } from '@laissez/client';
import { api, client, describe } from './demo.ts';
import { byId, formatDate, h, relative, say } from './dom.ts';

const securityResult = byId('security-result');

/** WebAuthn's own refusals (cancelled, no passkey here) in words, and the server's as usual. */
export function describePasskeyError(error: unknown): string {
  if (error instanceof DOMException && error.name === 'NotAllowedError') {
    return 'No passkey was used: the request was cancelled or timed out.';
  }
  if (error instanceof DOMException && error.name === 'InvalidStateError') {
    return 'This authenticator already holds a passkey for this account.';
  }
  if (error instanceof TypeError) return error.message;
  return describe(error);
}

/**
 * Wires the form that adds a passkey, and returns how to show the list. `reload` reloads the
 * Security panel after a change (the TOTP state and this list, as one).
 */
export function passkeysPanel(reload: () => Promise<void>): (passkeys: PasskeySummary[]) => void {
  const passkeyList = byId('passkeys');
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
      await reload();
      say(securityResult, `Passkey “${passkey.name}” added: you can log in with it.`);
    } catch (error) {
      say(errorTarget, describePasskeyError(error), 'error');
    } finally {
      if (button) button.disabled = false;
    }
  });
  return (passkeys) =>
    passkeyList.replaceChildren(
      ...passkeys.map((passkey, index) => renderPasskey(passkey, index, reload)),
    );
}

function renderPasskey(
  passkey: PasskeySummary,
  index: number,
  reload: () => Promise<void>,
): HTMLElement {
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
      await reload();
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
      await reload();
      say(securityResult, `Passkey “${passkey.name}” removed.`);
    } catch (error) {
      say(securityResult, describe(error), 'error');
      remove.disabled = false;
    }
  });
  return h('li', '', heading, details, rename, remove);
}
