// HTTP below fetch: requests from a chosen loopback address (fetch cannot bind one), and raw bytes
// over a socket for what no client library will send (huge headers, broken syntax, slow bodies).
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Reply } from './server.ts';

/**
 * A JSON request over its own connection from `localAddress` (any 127.0.0.x is on loopback), so
 * the server sees distinct client addresses. `body` is JSON-encoded.
 */
export function callFrom<T = Record<string, unknown>>(
  localAddress: string,
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const url = new URL(path, base);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: url.pathname + url.search,
        localAddress,
        agent: false,
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') headers.set(name, value);
          }
          resolve({
            status: res.statusCode ?? 0,
            headers,
            body: (text ? JSON.parse(text) : {}) as T,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export interface RawAnswer {
  /** The status line's code, or 0 when the connection closed without an answer. */
  status: number;
  head: string;
  body: string;
}

/** Splits what a server wrote on a connection into status, head and body. */
export function parseRaw(text: string): RawAnswer {
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  return { status, head, body: end === -1 ? '' : text.slice(end + 4) };
}

/** Opens a connection (optionally from `localAddress`) and resolves once it is connected. */
export function open(base: string, localAddress?: string): Promise<Socket> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: url.hostname,
      port: Number(url.port),
      ...(localAddress ? { localAddress } : {}),
    });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server writes on `socket` until it closes the connection. */
export function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    // A reset after the answer (the server closed with our bytes unread) still ends the read.
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
  });
}

/** Sends `bytes` on a new connection and reads the answer up to the server's close. */
export async function exchange(base: string, bytes: string): Promise<RawAnswer> {
  const socket = await open(base);
  const answer = readAll(socket);
  socket.write(bytes);
  return parseRaw(await answer);
}
