// The end of every session of a user from the CLI (`users disable`, `users delete`, `admin`
// commands): revoked in the database and, with REDIS_URL, published to the revocation list.
import type { Store } from '../store/types.ts';
import { durationFlag, type Io, warn } from './io.ts';

/**
 * How long a command waits for Redis, in milliseconds. A command runs once, in a fresh process that
 * has to connect first: the stores' 250 ms default is a per-request bound for servers.
 */
export const COMMAND_REDIS_TIMEOUT = 5000;

/**
 * Revokes every refresh token of the user and, with REDIS_URL set, publishes the sessions to the
 * revocation list (as the server's log-out-everywhere does), so resource servers that check it
 * refuse the user's access tokens at once. Returns how many refresh tokens were revoked.
 */
export async function endSessions(
  store: Store,
  userId: string,
  now: number,
  io: Io,
  reason: 'disabled' | 'logout_all' = 'disabled',
): Promise<number> {
  const redisUrl = io.env['REDIS_URL'];
  const sessions = redisUrl ? await store.listLiveFamilies(userId, now) : [];
  const revoked = await store.revokeUserTokens(userId, now, reason);
  if (redisUrl && sessions.length > 0) {
    const ttlText = io.env['LAISSEZ_ACCESS_TTL'] ?? '15m';
    const accessTtl = durationFlag(ttlText, 'LAISSEZ_ACCESS_TTL');
    const { createRevocationList } = await import('@laissez/middleware/redis');
    // A command runs once, so it waits for Redis longer than a request would (the list's 250 ms
    // default is a per-request bound); a failure is the one warning below, not the list's
    // server-side message about refusing requests.
    const list = createRevocationList({
      url: redisUrl,
      timeout: COMMAND_REDIS_TIMEOUT,
      onError: () => {},
    });
    try {
      const until = now + accessTtl * 1000 + 60_000;
      await Promise.all(sessions.map((sid) => list.revoke(sid, until)));
    } catch (error) {
      warn(io, `the sessions were not published to Redis (${(error as Error).message})`);
    } finally {
      await list.close();
    }
  }
  return revoked;
}
