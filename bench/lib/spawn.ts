import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

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

/** Starts `bench/lib/server-process.ts` (an auth server) in a child process and waits for its URL. */
export function spawnServer(options: Record<string, unknown>): Promise<ServerProcess> {
  const script = fileURLToPath(new URL('./server-process.ts', import.meta.url));
  return spawnScript(script, [JSON.stringify(options)], { name: 'server' });
}
