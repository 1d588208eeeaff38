import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RATE_LIMITS, type RateLimits } from '../../packages/server/src/auth/limits.ts';

/**
 * Every rate limit of the auth server raised out of reach (all the load comes from 127.0.0.1 and
 * one account), so that a benchmark measures log-ins, not 429s. Built from the server's own list
 * of budgets, so a budget added later is raised too.
 */
export const BENCH_RATE_LIMITS = Object.fromEntries(
  Object.keys(DEFAULT_RATE_LIMITS).map((name) => [name, { max: 1e9, window: 60 }]),
) as unknown as Required<RateLimits>;

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Sends SIGTERM and waits for the exit; nothing to do if the process has already ended. */
  stop(): Promise<void>;
}

/**
 * Starts a benchmark server script in a child process and waits for the URL it prints as its first
 * line. The child gets an IPC channel: for questions (CPU time, statistics) and so that it stops
 * when this process goes away (`serveUntilStopped`). `env` is added to this process's environment.
 */
export async function spawnScript(
  script: string,
  args: readonly string[],
  options: { name: string; env?: Record<string, string> },
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, ...options.env },
  });
  let buffer = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const newline = buffer.indexOf('\n');
      if (newline !== -1) resolve(buffer.slice(0, newline).trim());
    });
    child.once('exit', (code) => reject(new Error(`${options.name} exited with ${code}`)));
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/**
 * Starts `bench/lib/server-process.ts` (an auth server) in a child process and waits for its URL.
 * Its rate limits are BENCH_RATE_LIMITS unless `options` gives others.
 */
export function spawnServer(options: Record<string, unknown>): Promise<ServerProcess> {
  const script = fileURLToPath(new URL('./server-process.ts', import.meta.url));
  const withLimits = { rateLimits: BENCH_RATE_LIMITS, ...options };
  return spawnScript(script, [JSON.stringify(withLimits)], { name: 'server' });
}
