/// <reference lib="dom" />
// The "Your sessions" panel: the account's live sessions from GET /auth/sessions, each with a
// button that ends it (this device's own too, which logs this page out).

import { api, client, describe, status } from './demo.ts';
import { byId, formatDate, h, relative, say } from './dom.ts';

interface SessionInfo {
  id: string;
  created_at: string;
  last_used_at: string;
  ip: string | null;
  device: string | null;
  current: boolean;
}

const sessionList = byId('sessions');
const sessionsResult = byId('sessions-result');

export async function loadSessions(): Promise<void> {
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
