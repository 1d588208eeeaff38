/// <reference lib="dom" />
// The signed-in user's account: the profile (GET /auth/me) and the banner of an unverified
// address, log-out here or everywhere, the change of password and the deletion of the account.
// Loading the profile loads the panels below it too: the sessions and the Security panel.

import type { User } from '@laissez/client';
import { api, client, describe, onSubmit, post, status, verifyEmail } from './demo.ts';
import { byId, formatDate, h, say } from './dom.ts';
import { loadSecurity } from './second-factors.ts';
import { loadSessions } from './sessions.ts';

const profile = byId('profile');
const verifyBanner = byId('verify-banner');

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

export async function loadProfile(): Promise<void> {
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

byId('verify-resend', HTMLButtonElement).addEventListener('click', async () => {
  const result = byId('verify-result');
  try {
    await post('/auth/verify-email/resend', { email: verifyBanner.dataset.email ?? '' });
    say(result, 'A new link is on its way: check your mail.');
  } catch (error) {
    say(result, describe(error), 'error');
  }
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
