// The reading side of the revocation feed (revocation-feed.ts): its own connection to Redis, the
// full load of the set with the stream's last id (one atomic script), then XREAD BLOCK after that
// id for as long as the connection lasts, and a fresh connection and a full load after any failure.
// What it reads goes to the feed's local set through `add`; `onLoad` and `onContact` tell the feed
// when Redis was last heard from, which is all the staleness rule needs.

import { createClient } from '@redis/client';
import {
  type ConnectionOptions,
  evalScript,
  type RedisConnection,
  script,
  withTimeout,
} from './client.ts';
import type { revocationKeys } from './revocation.ts';

// KEYS set, feed, seq; ARGV now. The live entries, the stream's last id and the counter of its
// last message, read in one script so that nothing can come between them (read-only: a replica can
// answer it).
const LOAD = script(`
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local id = '0-0'
if #last > 0 then id = last[1][1] end
local seq = redis.call('GET', KEYS[3]) or '0'
return {id, seq, redis.call('ZRANGE', KEYS[1], '(' .. ARGV[1], '+inf', 'BYSCORE', 'WITHSCORES')}
`);

/** Messages read from the stream at once. */
const READ_COUNT = 1000;
/** The longest wait between two connection attempts, ms. */
const MAX_BACKOFF = 2000;

/** The part of a node-redis client the feed uses for its own connection. */
export interface FeedConnection extends RedisConnection {
  connect(): Promise<unknown>;
  destroy(): void;
}

/**
 * How the feed opens its own connection: it blocks that connection in XREAD, so it needs one of its
 * own, a duplicate of the client given (its options, its address) or a client of the URL. Checked
 * once, at creation.
 */
export function feedConnector(options: ConnectionOptions, timeout: number): () => FeedConnection {
  if ((options.client === undefined) === (options.url === undefined)) {
    throw new TypeError('give exactly one of client and url');
  }
  if (options.url !== undefined) {
    const url = options.url;
    if (typeof url !== 'string' || !/^rediss?:\/\//i.test(url)) {
      throw new TypeError('the Redis URL must start with redis:// or rediss://');
    }
    return () =>
      createClient({
        url,
        disableOfflineQueue: true,
        socket: { connectTimeout: timeout, reconnectStrategy: false },
      }) as unknown as FeedConnection;
  }
  const client = options.client as RedisConnection & { duplicate?: unknown };
  if (typeof client?.sendCommand !== 'function' || typeof client.duplicate !== 'function') {
    throw new TypeError(
      'client must be a node-redis client (createClient() of @redis/client): the feed duplicates it for its own connection',
    );
  }
  const duplicate = client.duplicate as (overrides: object) => FeedConnection;
  return () => duplicate.call(client, { disableOfflineQueue: true });
}

/**
 * Drops a connection, also one still connecting: node-redis keeps a socket that was connecting
 * when its client was destroyed, which would hold the process open after close (a server that
 * never exits on SIGTERM). It is destroyed again as soon as it connects.
 */
function drop(conn: FeedConnection): void {
  const destroy = () => {
    try {
      conn.destroy();
    } catch {
      // Already gone.
    }
  };
  // node-redis emits both; RedisConnection types only the ones the stores listen to.
  const events = conn as unknown as { on(event: 'connect' | 'ready', listener: () => void): void };
  events.on('connect', destroy);
  events.on('ready', destroy);
  destroy();
}

type Message = { id: string; sid: unknown; until: number; n: number };

/** The messages of an XREAD reply, whichever RESP version the client speaks. */
function messagesOf(reply: unknown): Message[] {
  if (reply === null || reply === undefined) return [];
  let streams: unknown[];
  if (reply instanceof Map) streams = [...reply.values()];
  else if (Array.isArray(reply)) streams = reply.map((s) => (s as unknown[])[1]);
  else if (typeof reply === 'object') streams = Object.values(reply);
  else throw new TypeError('unexpected XREAD reply');
  const out: Message[] = [];
  for (const messages of streams) {
    for (const message of messages as [string, unknown][]) {
      const [id, raw] = message;
      const fields = new Map<string, string>();
      if (Array.isArray(raw)) {
        for (let i = 0; i + 1 < raw.length; i += 2) fields.set(String(raw[i]), String(raw[i + 1]));
      } else if (raw instanceof Map) {
        for (const [k, v] of raw) fields.set(String(k), String(v));
      } else if (raw !== null && typeof raw === 'object') {
        for (const [k, v] of Object.entries(raw)) fields.set(k, String(v));
      }
      out.push({
        id: String(id),
        sid: fields.get('sid'),
        until: Number(fields.get('until')),
        n: Number(fields.get('n')),
      });
    }
  }
  return out;
}

export interface FeedStreamSetup {
  connect: () => FeedConnection;
  keys: ReturnType<typeof revocationKeys>;
  /** Milliseconds for Redis to connect or to answer a load (a read: `block` more). */
  timeout: number;
  /** Milliseconds an XREAD waits for changes before it answers empty. */
  block: number;
  /** The clock of the entries' ends, ms since 1970. */
  now: () => number;
  /** Records an entry read (`sid` unchecked: from Redis, as written by any revoker). */
  add(sid: unknown, until: number): void;
  /** After every full load (the entries are in). */
  onLoad(): void;
  /** After every read that Redis answered, with changes or empty. */
  onContact(): void;
  /** Once when the feed is lost; `onRecover` once when it is loaded again after that. */
  onError(error: Error): void;
  onRecover(): void;
}

/** Starts following the feed; `stop` ends it (and drops its connection) for good. */
export function followRevocationFeed(setup: FeedStreamSetup): { stop(): void } {
  const { connect, keys, timeout, block, now, add } = setup;
  let lost = false;
  let closed = false;
  let lastId = '0-0';
  let lastSeq = 0;
  let current: FeedConnection | undefined;
  let wake: (() => void) | undefined;

  const report = (error: unknown) => {
    if (lost || closed) return;
    lost = true;
    try {
      setup.onError(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // A throwing reporter must not stop the feed.
    }
  };

  async function load(conn: FeedConnection): Promise<void> {
    const reply = (await withTimeout(
      evalScript(conn, LOAD, [keys.set, keys.feed, keys.seq], [String(now())]),
      timeout,
    )) as [unknown, unknown, unknown[]];
    const [id, seq, flat] = reply;
    for (let i = 0; i + 1 < flat.length; i += 2) add(String(flat[i]), Number(flat[i + 1]));
    lastId = String(id);
    lastSeq = Number(seq);
    setup.onLoad();
    if (lost) {
      lost = false;
      try {
        setup.onRecover();
      } catch {
        // As above.
      }
    }
  }

  /** Reads the next changes (or none within `block` ms); loads again on a gap in the numbering. */
  async function follow(conn: FeedConnection): Promise<void> {
    const reply = await withTimeout(
      conn.sendCommand([
        'XREAD',
        'COUNT',
        String(READ_COUNT),
        'BLOCK',
        String(block),
        'STREAMS',
        keys.feed,
        lastId,
      ]),
      block + timeout,
    );
    const messages = messagesOf(reply);
    for (const message of messages) {
      if (!(message.n <= lastSeq + 1)) {
        // Messages were trimmed from the stream before this process read them.
        await load(conn);
        return;
      }
      add(message.sid, message.until);
      lastId = message.id;
      if (message.n > lastSeq) lastSeq = message.n;
    }
    setup.onContact();
  }

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function run(): Promise<void> {
    let failures = 0;
    while (!closed) {
      const conn = connect();
      current = conn;
      // Without a listener, an `error` event would crash the process.
      conn.on('error', (error) => report(error));
      try {
        await withTimeout(conn.connect(), timeout);
        await load(conn);
        failures = 0;
        while (!closed) await follow(conn);
      } catch (error) {
        report(error);
      } finally {
        current = undefined;
        drop(conn);
      }
      if (closed) break;
      // A fresh connection and a full load after every failure, backing off up to 2 s.
      await pause(Math.min(50 * 2 ** Math.min(failures++, 6), MAX_BACKOFF) * Math.random());
    }
  }
  void run();

  return {
    stop() {
      closed = true;
      wake?.();
      if (current) drop(current);
    },
  };
}
