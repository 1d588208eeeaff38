/// <reference lib="dom" />
// The "Access token" panel: the token the client holds, decoded, its time to expiry and how many
// times it was refreshed, and the DPoP key it is bound to. The client's events drive it: a new
// token (a log-in, a refresh, another tab's), or the end of the session.

import type { SessionEndEvent } from '@laissez/client';
import { loadProfile } from './account.ts';
import { client, showSignedIn, showSignedOut, status } from './demo.ts';
import { byId, renderJson, renderTokenParts, say } from './dom.ts';
import { decodeToken } from './inspect/decode.ts';
import { humanDuration } from './inspect/times.ts';

const signedIn = byId('signed-in');
const tokenExpiry = byId('token-expiry');
const refreshCount = byId('refresh-count');
const tokenView = byId('token-view');
const tokenHeader = byId('token-header');
const tokenPayload = byId('token-payload');

let refreshes = 0;

/** A new log-in: the count of refreshes starts again. */
export function resetRefreshCount(): void {
  refreshes = 0;
}

/** The DPoP key's thumbprint (the `cnf.jkt` of bound tokens) and where it is kept. */
export async function renderDpopKey(): Promise<void> {
  const key = await client.dpopKey();
  if (key === null) return;
  byId('dpop-jkt').textContent = key.jkt;
  byId('dpop-note').textContent =
    key.storage === 'indexeddb'
      ? 'non-extractable P-256, kept in IndexedDB; its RFC 7638 thumbprint'
      : 'non-extractable P-256, in memory only (IndexedDB is unavailable); its RFC 7638 thumbprint';
  byId('dpop').hidden = false;
}

export function renderToken(): void {
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
