// Runs the `laissez` CLI as a real process, the way the CLI tests do.
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/laissez.ts', import.meta.url));

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `laissez ...args` with `input` on stdin. No setting leaks in from the environment the tests
 * run in (LAISSEZ_*, DATABASE_URL, REDIS_URL); `env` adds the ones a test wants.
 */
export function laissez(
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<Result> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Every run after the first reuses the compiled, type-stripped modules.
    NODE_COMPILE_CACHE: join(tmpdir(), 'laissez-cli-test-cache'),
    NO_COLOR: '1',
  };
  for (const key of Object.keys(env)) {
    if (key.startsWith('LAISSEZ_') || key === 'REDIS_URL' || key === 'DATABASE_URL')
      delete env[key];
  }
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: 'pipe' });
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
    child.stdin.end(options.input ?? '');
  });
}
