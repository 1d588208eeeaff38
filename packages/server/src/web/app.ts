/// <reference lib="dom" />
// The / page: the log-in flow, end to end, with laissez/client. Cookie mode (the server's
// `--cookies on`) keeps the refresh token in an HttpOnly cookie, so a session survives reloads and
// is shared by tabs; without it the client keeps the refresh token in memory and a reload logs out.
//
// This module starts the page; each panel is a sibling module that wires its own elements when it
// is loaded: log-in.ts (log-in, its second step, registration), mail-links.ts (reset and sign-in
// links), account.ts (profile, password, deletion), token-view.ts (the access token), sessions.ts,
// second-factors.ts and passkeys.ts (the Security panel); demo.ts holds what they share.

import type { User } from '@laissez/client';
import { loadProfile } from './account.ts';
import {
  client,
  cookieMode,
  describe,
  landing,
  showSignedIn,
  showSignedOut,
  signInLinks,
  status,
} from './demo.ts';
import { byId, say } from './dom.ts';
import { showReset, signInWithLink } from './mail-links.ts';
import { renderDpopKey, renderToken } from './token-view.ts';

const apiResult = byId('api-result');

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
