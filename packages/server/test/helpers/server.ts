// Starts a real auth server on a loopback port with its own data directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type AuthServerOptions, createAuthServer } from '../../src/server/index.ts';

/** Cheap argon2id parameters for tests that create many users; the flow tests use the defaults. */
export const FAST_ARGON2 = { memory: 1024, passes: 1, parallelism: 1 };

export interface Running {
  app: FastifyInstance;
  url: string;
  dataDir: string;
  close(options?: { keepData?: boolean }): Promise<void>;
}

export async function start(
  options: Partial<AuthServerOptions> = {},
  dataDir?: string,
): Promise<Running> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'laissez-server-'));
  let app: FastifyInstance | undefined;
  let address: string;
  try {
    app = await createAuthServer({
      issuer: 'http://localhost:3000',
      dataDir: dir,
      logger: false,
      ...options,
    });
    address = await app.listen({ port: 0, host: '127.0.0.1' });
  } catch (error) {
    await app?.close();
    if (!dataDir) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const running = app;
  return {
    app: running,
    url: address,
    dataDir: dir,
    async close({ keepData = false } = {}) {
      await running.close();
      if (!keepData) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** A JSON request; `body` may be a string to send raw. */
export async function call<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined && !('content-type' in headers))
    headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(base + path, {
    method,
    headers,
    ...(options.body !== undefined
      ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }
      : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text ? JSON.parse(text) : {}) as T,
  };
}
