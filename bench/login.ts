// npm run bench:login — log-ins per second at the default argon2id parameters, against the raw
// argon2id ceiling of this machine measured in the same run; and /auth/me p99 latency while
// log-ins saturate the CPU, against idle. The server runs in its own process; autocannon drives it.
import { argon2, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { OWASP_ARGON2ID } from '../src/auth/password.ts';
import { spawnServer } from './lib/spawn.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

/** Raw argon2id hashes per second with `threads` hashes in flight (libuv's pool size). */
async function rawCeiling(durationMs: number): Promise<number> {
  const salt = randomBytes(16);
  const one = () =>
    new Promise<void>((resolve, reject) =>
      argon2(
        'argon2id',
        {
          message: Buffer.from('correct horse battery'),
          nonce: salt,
          parallelism: OWASP_ARGON2ID.parallelism,
          tagLength: 32,
          memory: OWASP_ARGON2ID.memory,
          passes: OWASP_ARGON2ID.passes,
        },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
  const end = performance.now() + durationMs;
  let done = 0;
  const worker = async () => {
    while (performance.now() < end) {
      await one();
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: threads }, worker));
  return done / ((performance.now() - started) / 1000);
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return autocannon({ ...options, duration: seconds });
}

const dataDir = mkdtempSync(join(tmpdir(), 'laissez-bench-'));
const server = await spawnServer({
  dataDir,
  rateLimits: {
    loginPerIp: { max: 1e9, window: 60 },
    loginFailuresPerAccount: { max: 1e9, window: 60 },
    registerPerIp: { max: 1e9, window: 60 },
  },
});
try {
  const user = { username: 'bench', email: 'bench@example.com', password: 'bench password 123' };
  await fetch(`${server.url}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(user),
  });
  const login = await fetch(`${server.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user.username, password: user.password }),
  });
  const { access_token: token } = (await login.json()) as { access_token: string };
  if (!token) throw new Error('log-in failed: the benchmark would measure errors');

  // The ceiling is measured while the server idles, in this process, with as many hashes in flight
  // as the server's thread pool runs at once.
  const ceiling = await rawCeiling(seconds * 1000);
  const loginRequest = {
    url: `${server.url}/auth/login`,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user.username, password: user.password }),
    connections: threads * 2,
  };
  const meRequest = {
    url: `${server.url}/auth/me`,
    headers: { authorization: `Bearer ${token}` },
    connections: 4,
  };

  const logins = await run(loginRequest);
  const idle = await run(meRequest);
  const [busyLogins, busy] = await Promise.all([run(loginRequest), run(meRequest)]);
  for (const [name, r] of [
    ['logins', logins],
    ['me idle', idle],
    ['me busy', busy],
    ['logins busy', busyLogins],
  ] as const) {
    if (r.non2xx > 0 || r.errors > 0)
      throw new Error(`${name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
  }

  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    seconds,
    threadpool: threads,
    argon2id: OWASP_ARGON2ID,
    rawHashesPerSecond: Math.round(ceiling * 10) / 10,
    loginsPerSecond: logins.requests.average,
    loginShareOfCeiling: logins.requests.average / ceiling,
    meIdle: {
      requestsPerSecond: idle.requests.average,
      p50: idle.latency.p50,
      p99: idle.latency.p99,
    },
    meUnderLoginLoad: {
      requestsPerSecond: busy.requests.average,
      p50: busy.latency.p50,
      p99: busy.latency.p99,
    },
  };
  const md = [
    `# bench:login (${result.date})`,
    '',
    `Node ${result.node}, ${result.cpu} × ${result.cores}, ${seconds} s per run, argon2id m=${OWASP_ARGON2ID.memory} KiB t=${OWASP_ARGON2ID.passes} p=${OWASP_ARGON2ID.parallelism}, thread pool ${threads}.`,
    '',
    '| measure | value |',
    '| --- | --- |',
    `| raw argon2id ceiling (hashes/s) | ${result.rawHashesPerSecond.toFixed(1)} |`,
    `| POST /auth/login (log-ins/s) | ${result.loginsPerSecond.toFixed(1)} |`,
    `| log-ins ÷ ceiling (target ≥ 0.85) | ${result.loginShareOfCeiling.toFixed(2)} ${result.loginShareOfCeiling >= 0.85 ? 'PASS' : 'MISS'} |`,
    `| GET /auth/me p99, idle (ms) | ${result.meIdle.p99} |`,
    `| GET /auth/me p99, log-ins saturating the CPU (ms) | ${result.meUnderLoginLoad.p99} |`,
    `| GET /auth/me req/s, idle / under load | ${Math.round(result.meIdle.requestsPerSecond)} / ${Math.round(result.meUnderLoginLoad.requestsPerSecond)} |`,
    '',
  ].join('\n');
  const out = new URL('./results/', import.meta.url);
  mkdirSync(out, { recursive: true });
  writeFileSync(new URL('login-latest.json', out), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(new URL('login-latest.md', out), md);
  process.stdout.write(`${md}\n`);
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
