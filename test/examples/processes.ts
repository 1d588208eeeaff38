// Real processes for the example tests: the laissez auth server on a port named in advance, the
// notes API, and the HTTP and token helpers the example tests share. Starting and stopping
// processes is test/helpers/processes.ts.

import { spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../packages/server/test/helpers/ports.ts';
import {
  cleanEnv,
  LAISSEZ,
  type Result,
  type Service,
  startService,
} from '../../packages/server/test/helpers/processes.ts';

export const NOTES_API = fileURLToPath(
  new URL('../../examples/notes-api/server.ts', import.meta.url),
);

/** The second service: gets a client-credentials token and reads the notes API's stats. */
export const STATS_REPORTER = fileURLToPath(
  new URL('../../examples/notes-api/stats-reporter.ts', import.meta.url),
);

/** Runs a Node script to its exit with `env` on top of a clean environment. */
export function runScript(file: string, env: Record<string, string>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { env: cleanEnv(env), stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
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

/**
 * An HTTP request with an optional JSON or form body, and a bearer token or Basic credentials
 * (`[id, secret]`, form-encoded as RFC 6749 §2.3.1 has it); the reply's JSON, if any.
 */
export async function request(
  url: string,
  options: {
    method?: string;
    token?: string;
    json?: unknown;
    form?: Record<string, string>;
    basic?: [string, string];
  } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  if (options.basic !== undefined) {
    const [id, secret] = options.basic.map(encodeURIComponent);
    headers['authorization'] = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  }
  let body: string | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  }
  const response = await fetch(url, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body !== undefined ? { body } : {}),
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
