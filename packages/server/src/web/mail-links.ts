/// <reference lib="dom" />
// The flows that go through the user's mail, on the signed-out side: asking for a reset link or a
// sign-in link, and the pages those links land on, `/reset-password` (choose a new password) and
// `/sign-in` (the link's token is posted for a session). The link's token is demo.ts's mailedToken.

import { MfaRequiredError } from '@laissez/client';
import { client, describe, mailedToken, onSubmit, post, showSignedOut, status } from './demo.ts';
import { byId, say } from './dom.ts';
import { askSecondFactor, loggedIn } from './log-in.ts';

const resetPanel = byId('reset');

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

/** `/reset-password`: the form for the new password, or why the link cannot be used. */
export function showReset(): void {
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
export async function signInWithLink(): Promise<void> {
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
