// Real processes for the tests: the laissez CLI run to completion, and servers (`laissez serve`,
// the notes API) started in the background. Each gets a clean environment; the caller stops
// (and waits for) what it started.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The CLI from the sources, through the launcher that `npm start` and the installed command run. */
export const LAISSEZ = fileURLToPath(new URL('../../bin/laissez.mjs', import.meta.url));

/** Variables that configure one of our processes: none leaks in from the test's environment. */
const OWN_SETTINGS = /^(LAISSEZ_|AUTH_|NOTES_)|^(PORT|HOST|JWKS_COOLDOWN|DATABASE_URL|REDIS_URL)$/;

/** The test's environment without any setting of ours, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Every process after the first reuses the compiled, type-stripped modules.
    NODE_COMPILE_CACHE: join(tmpdir(), 'laissez-cli-test-cache'),
    NO_COLOR: '1',
  };
  for (const key of Object.keys(env)) if (OWN_SETTINGS.test(key)) delete env[key];
  return { ...env, ...extra };
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `laissez ...args` to its exit, with `input` on stdin and `env` on top of a clean environment. */
export function laissez(
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAISSEZ, ...args], {
      env: cleanEnv(options.env),
      stdio: 'pipe',
    });
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

export interface Service {
  readonly child: ChildProcess;
  /** The URL from the process's "listening on" line. */
  readonly url: string;
  /** Everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then waits for the exit (SIGKILL if it takes more than 10 s); the exit code. */
  stop(): Promise<number | null>;
}

/** SIGTERM, then SIGKILL after 10 s; resolves to the exit code (null when killed by a signal). */
export async function stopChild(child: ChildProcess): Promise<number | null> {
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

/**
 * Spawns `node script ...args` and waits (up to 30 s) for the line `name: listening on URL` on
 * stdout. A process that exits or does not start in time is stopped and the error names its stderr.
 */
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
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const banner = new RegExp(`^${options.name}: listening on (\\S+)$`, 'm');
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${options.name} did not start within 30 s: ${err}`)),
        30_000,
      );
      const look = () => {
        const match = banner.exec(out);
        if (match) {
          clearTimeout(timer);
          child.stdout!.off('data', look);
          resolve(match[1]!);
        }
      };
      child.stdout!.on('data', look);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${options.name} exited with ${code} before listening: ${err}`));
      });
    });
    return {
      child,
      url,
      stdout: () => out,
      stderr: () => err,
      stop: () => stopChild(child),
    };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

/**
 * Starts `laissez serve ...args` with `settings` (environment variables) on a clean environment.
 * `script` runs another build of the CLI (e.g. dist/bin/laissez.js).
 */
export function serve(
  args: string[],
  settings: Record<string, string> = {},
  options: { script?: string; cwd?: string } = {},
): Promise<Service> {
  return startService(options.script ?? LAISSEZ, ['serve', ...args], {
    name: 'laissez',
    env: cleanEnv(settings),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
}
