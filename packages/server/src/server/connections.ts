// The connection layer under the routes: whose address a request comes from (trusted proxies),
// how long a client may take to send a request, how many connections one address may hold, the
// answers written before any route runs, and request URLs as the log records them.
import { type Server, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import proxyAddr from '@fastify/proxy-addr';
import { clientKeyOf } from '../auth/addresses.ts';
import { ERROR_CATALOGUE, type ErrorCode } from './errors.ts';

/** Which X-Forwarded-For hops to believe: a boolean, a hop count, or proxy addresses/CIDRs. */
export type TrustProxy = boolean | number | string | string[];

/** Decides whether the hop `hop` (0: the socket's peer) at `address` is a trusted proxy. */
export type TrustFunction = (address: string, hop: number) => boolean;

const MAX_HOPS = 16;

/**
 * The trust function for Fastify's `trustProxy`, or false. Fastify 5.12 made a numeric
 * `trustProxy` trust no hop at all (it cannot check the peer's address), so with `--trust-proxy 1`
 * every request carried the proxy's own address and every client shared one rate-limit bucket.
 * A hop count here keeps its meaning: the nearest `n` hops are proxies, and the client address is
 * the entry they appended (X-Forwarded-For is a list each proxy appends to; the entries to its
 * left were written by whoever sent it and prove nothing). That is only sound when the server
 * cannot be reached except through those proxies; a list of the proxies' addresses is sound
 * anywhere, since a peer outside the list is itself the client.
 */
export function proxyTrust(option: TrustProxy | undefined): TrustFunction | false {
  if (option === undefined || option === false) return false;
  if (option === true) return () => true;
  if (typeof option === 'string' && /^\d+$/.test(option.trim())) return proxyTrust(Number(option));
  if (typeof option === 'number') {
    if (!Number.isInteger(option) || option < 0 || option > MAX_HOPS) {
      throw new TypeError(`trustProxy as a hop count must be an integer 0 to ${MAX_HOPS}`);
    }
    if (option === 0) return false;
    return (_address, hop) => hop < option;
  }
  const entries = (typeof option === 'string' ? option.split(',') : option).map((e) => e.trim());
  try {
    return proxyAddr.compile(entries);
  } catch (error) {
    throw new TypeError(
      `trustProxy must be a boolean, a hop count or proxy addresses/CIDRs like 10.0.0.0/8: ${(error as Error).message}`,
    );
  }
}

/** Timeouts of the HTTP server, in ms (Node's names). */
export interface Timeouts {
  /** The request line and headers must arrive within this. */
  headersTimeout: number;
  /** The whole request, body included, must arrive within this. */
  requestTimeout: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeout: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = {
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
};

/** Open connections one client address may hold at once (0: no cap). */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 128;

/** Checks the timeouts once, at setup, and fills in the defaults. */
export function timeoutsOf(given: Partial<Timeouts>): Timeouts {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...given };
  for (const [name, value] of Object.entries(timeouts)) {
    if (!Number.isInteger(value) || value < 1 || value > 600_000) {
      throw new TypeError(`${name} must be a whole number of ms, 1 to 600000 (got ${value})`);
    }
  }
  if (timeouts.headersTimeout > timeouts.requestTimeout) {
    throw new TypeError('headersTimeout must not be longer than requestTimeout (ms)');
  }
  return timeouts;
}

/**
 * Node checks its header and request timeouts on an interval (30 s by default), so a timeout
 * fires up to that much late; checking at half the shortest timeout, at most once a second,
 * keeps a slow client's hold within 1.5 times the configured figure.
 */
export function checkingInterval(timeouts: Timeouts): number {
  return Math.max(10, Math.min(1000, Math.floor(timeouts.headersTimeout / 2)));
}

/**
 * A complete HTTP/1.1 answer with the API's error body, for the places where no Fastify reply
 * exists (a connection refused before parsing, a request the parser rejected). It closes the
 * connection: what follows on it cannot be trusted to be framed right.
 */
export function rawErrorAnswer(
  code: ErrorCode,
  description: string,
  headers: Record<string, string> = {},
): string {
  const { status } = ERROR_CATALOGUE[code];
  const body = JSON.stringify({ error: code, error_description: description });
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'cache-control: no-store',
    'x-content-type-options: nosniff',
    'connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * The answer to an error Node's HTTP parser raised before any route ran (the `clientError`
 * event), as `[code, description]`: a request that took too long (RFC 9110 §15.5.9), headers
 * over Node's 16 KiB (RFC 6585 §5), or bytes that are not HTTP/1.1 (RFC 9112).
 */
export function clientErrorOf(
  error: NodeJS.ErrnoException,
  timeouts: Timeouts,
): [ErrorCode, string] {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return [
      'request_timeout',
      `the request did not arrive in time: headers within ${timeouts.headersTimeout / 1000} s, the whole request within ${timeouts.requestTimeout / 1000} s`,
    ];
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return ['headers_too_large', 'the request line and headers are larger than 16 KiB'];
  }
  return ['invalid_request', 'the request is not valid HTTP/1.1'];
}

/**
 * Writes the answer to a parser error on `socket` and closes it. The error's `rawPacket` holds
 * the request's raw bytes (its Authorization header, its query): it is never logged.
 */
export function answerClientError(socket: Socket, answer: string): void {
  // Node's own check: once a response has begun on this connection, a second one cannot be
  // written into it (a pipelined request failed behind an answered one).
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !current?.headersSent) socket.end(answer);
  socket.destroySoon();
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * Caps the connections one client address may hold open at once, so that one address cannot use
 * up the process's file descriptors (each connection is one). A connection over the cap is
 * answered 429 at once and closed, before the HTTP parser sees it; a TLS one is just closed (no
 * answer can be written before the handshake). Peers `exempt` says are trusted proxies are not
 * counted: every client behind them shares their address, and the proxy must cap per client.
 */
export function capConnectionsPerAddress(
  server: Server,
  max: number,
  exempt: (address: string) => boolean,
): void {
  if (max === 0) return;
  const open = new Map<string, number>();
  const answer = rawErrorAnswer(
    'too_many_connections',
    `this address has ${max} connections open, the most it may; reuse or close one`,
    { 'retry-after': '1' },
  );
  const tls = server instanceof TlsServer;
  // Node's HTTP server parses every connection its 'connection' listeners receive; taking them
  // over lets a refused connection never reach the parser.
  const listeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress ?? '';
    if (!exempt(peer)) {
      const address = clientKeyOf(peer);
      const count = open.get(address) ?? 0;
      if (count >= max) {
        socket.on('error', () => undefined);
        if (tls) {
          socket.destroy();
          return;
        }
        // Read and drop what the client sends, so that closing does not reset the connection
        // before it has read the answer.
        socket.resume();
        socket.end(answer);
        setTimeout(() => socket.destroy(), 1000).unref();
        return;
      }
      open.set(address, count + 1);
      socket.once('close', () => {
        const left = (open.get(address) ?? 1) - 1;
        if (left > 0) open.set(address, left);
        else open.delete(address);
      });
    }
    for (const listener of listeners) listener.call(server, socket);
  });
}

const QUERY_NAME = /^[\w.-]{1,32}$/;

// A path segment no route of laissez has: longer than any route's or asset's segment (the
// longest is 20 characters). A token put in the path by a mistaken client (`/auth/<refresh
// token>`, a proxy rewriting `?access_token=` into the path) is at least 46 characters.
const LONG_SEGMENT = /[^/?]{33,}/g;

/** The path with every segment longer than 32 characters replaced (the query left as it is). */
function redactPath(url: string): string {
  const mark = url.indexOf('?');
  const path = mark === -1 ? url : url.slice(0, mark);
  const redacted = path.replace(LONG_SEGMENT, '[redacted]');
  return mark === -1 ? redacted : `${redacted}${url.slice(mark)}`;
}

/**
 * A request URL as the log records it: the path, and each query parameter's name with its value
 * replaced. A query can carry a token (`?access_token=`, RFC 6750 §2.3), a code or a password,
 * and a log is read by more people than the tokens are meant for. A part that is not `name=value`
 * with a short plain name is replaced whole (a bare `?<token>` is a value too).
 */
export function redactUrl(given: string): string {
  const url = redactPath(given);
  const mark = url.indexOf('?');
  if (mark === -1) return url;
  const query = url
    .slice(mark + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const name = part.slice(0, eq);
      return eq !== -1 && QUERY_NAME.test(name) ? `${name}=[redacted]` : '[redacted]';
    });
  return `${url.slice(0, mark)}?${query.join('&')}`;
}
