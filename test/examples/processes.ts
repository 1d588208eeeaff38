// Real processes for the example tests: the laissez auth server on a port named in advance, the
// notes API, and the HTTP and token helpers the example tests share. Starting and stopping
// processes is test/helpers/processes.ts.

import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { cleanEnv, LAISSEZ, type Service, startService } from '../helpers/processes.ts';

export const NOTES_API = fileURLToPath(
  new URL('../../examples/notes-api/server.ts', import.meta.url),
);

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface AuthServer extends Service {
  /** `iss` of its tokens: the default, http://localhost:<port>. */
  readonly issuer: string;
  readonly jwksUrl: string;
}

/**
 * Starts `laissez serve` on a free loopback port, named in advance so that the default issuer
 * (http://localhost:<port>) is the real one; tries another port if that one was taken meanwhile.
 */
export async function startAuthServer(
  dataDir: string,
  settings: Record<string, string>,
): Promise<AuthServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      const service = await startService(
        LAISSEZ,
        ['serve', '--port', String(port), '--data-dir', dataDir],
        { name: 'laissez', env: cleanEnv(settings) },
      );
      return {
        ...service,
        issuer: `http://localhost:${port}`,
        jwksUrl: `${service.url}/.well-known/jwks.json`,
      };
    } catch (error) {
      if (attempt === 3 || !/is in use/.test(String(error))) throw error;
    }
  }
}

/** Calls `probe` until it returns a value (not undefined), at most `timeout` ms. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeout = 10_000, interval = 250 } = {},
): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await delay(interval);
  }
}

export interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

/** An HTTP request with an optional JSON body and bearer token; the reply's JSON, if any. */
export async function request(
  url: string,
  options: { method?: string; token?: string; json?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method: options.method ?? (options.json === undefined ? 'GET' : 'POST'),
    headers,
    ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
  };
}

/** The JOSE header of a compact token (not verified). */
export function headerOf(token: string): { alg: string; typ?: string; kid?: string } {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8'));
}

/** The token with its payload changed and its signature kept: what a forger would try. */
export function withClaims(token: string, change: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = { ...JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), ...change };
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

/** The token with one character of its signature changed. */
export function withBadSignature(token: string): string {
  const cut = token.lastIndexOf('.') + 1;
  const first = token[cut] === 'A' ? 'B' : 'A';
  return `${token.slice(0, cut)}${first}${token.slice(cut + 1)}`;
}
