// The tabs of an origin in cookie mode share one refresh cookie: a Web Lock serialises their
// refreshes and a BroadcastChannel carries the outcome (docs/client.md, "Across tabs").

import type { SessionEndReason } from './events.ts';
import type { TokenScheme } from './tokens.ts';

/** What tabs tell each other (cookie mode). Never the refresh token, which no script can read. */
export type TabMessage =
  | { type: 'token'; token: string; expiresAt: number; lifetime: number; scheme: TokenScheme }
  | { type: 'end'; reason: SessionEndReason; sid: string | undefined };

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** Runs `task` holding the Web Lock `name`, or directly where Web Locks are missing. */
export function withLock<T>(name: string, task: () => Promise<T>): Promise<T> {
  const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;
  return locks ? locks.request(name, task) : task();
}

/** The channel `name`, or null where BroadcastChannel is missing. */
export function openChannel(
  name: string,
  receive: (message: TabMessage) => void,
): InstanceType<typeof BroadcastChannel> | null {
  if (typeof BroadcastChannel !== 'function') return null;
  const channel = new BroadcastChannel(name);
  channel.onmessage = (event: MessageEvent) => receive(event.data as TabMessage);
  // In Node, do not keep the process alive for it.
  (channel as { unref?: () => void }).unref?.();
  return channel;
}

/** Resolves after the tasks already queued (a message another tab posted) have run. */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
