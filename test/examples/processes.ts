// Real processes for the example tests: the laissez auth server, the notes API and the CLI, each
// started with a clean environment and stopped (and waited for) by the caller.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const LAISSEZ = fileURLToPath(new URL('../../bin/laissez.ts', import.meta.url));
export const NOTES_API = fileURLToPath(
  new URL('../../examples/notes-api/server.ts', import.meta.url),
);

/** Variables that configure one of the processes: none leaks in from the test's environment. */
const OWN_SETTINGS = /^(LAISSEZ_|AUTH_|NOTES_)|^(PORT|HOST|JWKS_COOLDOWN)$/;

/** The test's environment without any setting of ours, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_COMPILE_CACHE: join(tmpdir(), 'laissez-cli-test-cache'),
  };
  for (const key of Object.keys(env)) if (OWN_SETTINGS.test(key)) delete env[key];
  return { ...env, ...extra };
}

export interface Service {
  readonly child: ChildProcess;
  /** The URL from the process's "listening on" line. */
  readonly url: string;
  stderr(): string;
  /** SIGTERM, then waits for the exit (SIGKILL if it takes more than 10 s); the exit code. */
  stop(): Promise<number | null>;
}

async function stopChild(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit') as Promise<[number | null]>;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    const [code] = await exited;
    return code;
  } finally {
    clearTimeout(timer);
  }
}

/** Spawns `node script ...args` and waits for the line `name: listening on URL` on stdout. */
export async function startService(
  script: string,
  args: string[],
  options: { name: string; env: NodeJS.ProcessEnv; cwd?: string; nodeArgs?: string[] },
): Promise<Service> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const banner = new RegExp(`^${options.name}: listening on (\\S+)$`, 'm');
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${options.name} did not start within 30 s: ${err}`)),
        30_000,
      );
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        const match = banner.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${options.name} exited with ${code} before listening: ${err}`));
      });
    });
    return { child, url, stderr: () => err, stop: () => stopChild(child) };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

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

/** Runs the laissez CLI to completion. */
export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = cleanEnv(),
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [LAISSEZ, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
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
