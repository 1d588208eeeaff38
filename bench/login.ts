// npm run bench:login — log-ins per second at the default argon2id parameters against the raw
// argon2id ceiling of this machine, and GET /auth/me p99 latency while log-ins saturate the CPU
// against idle. The server runs in its own process (every rate limit raised out of reach, so it
// hashes rather than answers 429); autocannon drives it from this process. Rounds interleave the
// measures: each round times the raw ceiling and the HTTP log-ins one after the other (their order
// alternating), then /auth/me idle and under log-in load; the log-in ÷ ceiling ratio is taken per
// round and its median reported, so a change of the machine's speed during the run touches both
// sides of the ratio alike. Goal (issue 14): log-ins ≥ 0.85 of the ceiling. See bench/README.md.
//
// Options (flags or environment): --rounds N (BENCH_ROUNDS, default 5), --duration S
// (BENCH_DURATION, seconds per slice, default 5), --quick (3 rounds of 2 s), --no-write.
import { argon2, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OWASP_ARGON2ID } from '../packages/server/src/auth/password.ts';
import {
  assert,
  benchFlags,
  elapsedS,
  loadAverage,
  loadLine,
  machineLine,
  machineMeta,
  report,
  round2,
  round4,
} from './lib/common.ts';
import { type LoadRun, load } from './lib/load.ts';
import { median, relativeMad } from './lib/measure.ts';
import { spawnServer } from './lib/spawn.ts';

const flags = benchFlags(['rounds', 'duration']);
const settings = {
  rounds: flags.int('rounds', 'BENCH_ROUNDS', flags.quick ? 3 : 5),
  durationS: flags.number('duration', 'BENCH_DURATION', flags.quick ? 2 : 5),
  /** Hashes in flight: libuv's thread pool size, which the server process inherits too. */
  threads: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
};
const GOAL = 0.85;

/** Raw argon2id hashes per second with `threads` hashes in flight, at the server's parameters. */
async function rawCeiling(seconds: number): Promise<number> {
  const salt = randomBytes(16);
  const message = Buffer.from('correct horse battery');
  const one = () =>
    new Promise<void>((resolve, reject) =>
      argon2(
        'argon2id',
        {
          message,
          nonce: salt,
          parallelism: OWASP_ARGON2ID.parallelism,
          tagLength: 32,
          memory: OWASP_ARGON2ID.memory,
          passes: OWASP_ARGON2ID.passes,
        },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const worker = async () => {
    while (performance.now() < end) {
      await one();
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: settings.threads }, worker));
  return done / ((performance.now() - started) / 1000);
}

const started = performance.now();
const loadBefore = loadAverage();
const dataDir = mkdtempSync(join(tmpdir(), 'laissez-bench-'));
const server = await spawnServer({ dataDir });
const user = { username: 'bench', email: 'bench@example.com', password: 'bench password 123' };
const json = { 'content-type': 'application/json' };
const loginBody = JSON.stringify({ username: user.username, password: user.password });

interface Round {
  ceiling: number;
  logins: number;
  ratio: number;
  meIdle: { rps: number; p50: number; p99: number };
  meBusy: { rps: number; p50: number; p99: number; logins: number };
}
const rounds: Round[] = [];
try {
  // Before any timing: the account exists, its password logs in, a wrong one is refused (the
  // server does hash), and the token opens /auth/me.
  const registered = await fetch(`${server.url}/auth/register`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify(user),
  });
  assert(registered.ok, `registering the benchmark user: ${registered.status}`);
  const wrong = await fetch(`${server.url}/auth/login`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ username: user.username, password: 'not the password' }),
  });
  assert(wrong.status === 401, `a wrong password got ${wrong.status}, not 401`);
  const login = await fetch(`${server.url}/auth/login`, {
    method: 'POST',
    headers: json,
    body: loginBody,
  });
  const { access_token: token } = (await login.json()) as { access_token?: string };
  assert(login.status === 200 && token, `log-in failed (${login.status}): would measure errors`);
  const me = await fetch(`${server.url}/auth/me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert(me.status === 200, `GET /auth/me with the token answered ${me.status}`);

  const logins = (seconds: number) =>
    load(
      {
        url: `${server.url}/auth/login`,
        method: 'POST',
        headers: json,
        body: loginBody,
        // Twice the hashes in flight, so the thread pool never waits for the next request.
        connections: settings.threads * 2,
        duration: seconds,
      },
      'POST /auth/login',
    );
  const meLoad = (seconds: number) =>
    load(
      {
        url: `${server.url}/auth/me`,
        headers: { authorization: `Bearer ${token}` },
        connections: 4,
        duration: seconds,
      },
      'GET /auth/me',
    );

  // Warm-up: the JIT, the SQLite page cache, the thread pool's first hashes.
  await rawCeiling(1);
  await logins(1);
  await meLoad(1);
  process.stderr.write(
    `${settings.rounds} rounds of 4 slices of ${settings.durationS} s: about ${Math.round(settings.rounds * 4 * settings.durationS + 4)} s (load average ${loadBefore.join(' ')})\n`,
  );

  const d = settings.durationS;
  for (let r = 1; r <= settings.rounds; r++) {
    let ceiling = 0;
    let loginRps = 0;
    let idle: LoadRun | undefined;
    let busy: LoadRun | undefined;
    let busyLogins: LoadRun | undefined;
    const steps = {
      ceiling: async () => {
        ceiling = await rawCeiling(d);
      },
      logins: async () => {
        loginRps = (await logins(d)).rps;
      },
      idle: async () => {
        idle = await meLoad(d);
      },
      busy: async () => {
        [busyLogins, busy] = await Promise.all([logins(d), meLoad(d)]);
      },
    };
    // The ceiling and the log-ins back to back, then /auth/me idle and busy; each pair's order
    // alternates between rounds, so neither side always follows the same slice.
    const order =
      r % 2 === 1
        ? (['ceiling', 'logins', 'idle', 'busy'] as const)
        : (['logins', 'ceiling', 'busy', 'idle'] as const);
    for (const step of order) await steps[step]();
    assert(idle && busy && busyLogins, 'a slice did not run');
    const round: Round = {
      ceiling: round2(ceiling),
      logins: loginRps,
      ratio: round4(loginRps / ceiling),
      meIdle: { rps: idle.rps, p50: idle.p50, p99: idle.p99 },
      meBusy: { rps: busy.rps, p50: busy.p50, p99: busy.p99, logins: busyLogins.rps },
    };
    rounds.push(round);
    process.stderr.write(
      `round ${r}/${settings.rounds}: ceiling ${round.ceiling.toFixed(1)} hashes/s, log-ins ${round.logins.toFixed(1)}/s ` +
        `(${round.ratio.toFixed(2)}); /auth/me p99 ${idle.p99} ms idle, ${busy.p99} ms under log-ins\n`,
    );
  }
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
const loadAfter = loadAverage();

/** The median over the rounds of `f`, and the rounds' spread (median absolute deviation, %). */
const stat = (f: (r: Round) => number) => {
  const values = rounds.map(f);
  return { median: round2(median(values)), spreadPercent: round2(relativeMad(values)) };
};
const ratios = rounds.map((r) => r.ratio);
const ratio = round4(median(ratios));
const result = {
  meta: {
    ...machineMeta(),
    settings: { ...settings, argon2id: OWASP_ARGON2ID, goal: GOAL },
    loadAverage: { before: loadBefore, after: loadAfter },
    durationS: elapsedS(started),
  },
  ceilingHashesPerSecond: stat((r) => r.ceiling),
  loginsPerSecond: stat((r) => r.logins),
  /** Median over the rounds of log-ins ÷ ceiling in the same round; the lowest and highest round. */
  ratio: { median: ratio, min: Math.min(...ratios), max: Math.max(...ratios) },
  target: { goal: GOAL, result: ratio >= GOAL ? 'PASS' : 'MISS' },
  meIdle: {
    rps: stat((r) => r.meIdle.rps),
    p50: stat((r) => r.meIdle.p50),
    p99: stat((r) => r.meIdle.p99),
  },
  meUnderLogins: {
    rps: stat((r) => r.meBusy.rps),
    p50: stat((r) => r.meBusy.p50),
    p99: stat((r) => r.meBusy.p99),
    loginsPerSecond: stat((r) => r.meBusy.logins),
  },
};

const a = OWASP_ARGON2ID;
const spread = (s: { spreadPercent: number }) => `±${s.spreadPercent.toFixed(1)}%`;
const row = (label: string, s: { median: number; spreadPercent: number }, digits: number) => [
  label,
  s.median.toFixed(digits),
  spread(s),
];
report({
  name: 'login',
  title: 'Log-in benchmark (`npm run bench:login`)',
  bullets: [
    machineLine(result.meta),
    `${settings.rounds} interleaved rounds of ${settings.durationS} s per slice (ceiling and log-ins back to back, order alternating; then /auth/me idle and under log-ins); ` +
      `argon2id m=${a.memory} KiB t=${a.passes} p=${a.parallelism}; autocannon, ${settings.threads * 2} log-in connections, 4 for /auth/me; medians of the rounds; ` +
      'spread = median absolute deviation of the rounds (for the ratio: the lowest and highest round)',
    loadLine(loadBefore, loadAfter),
  ],
  table: {
    headers: ['measure', 'median', 'spread'],
    right: new Set([1, 2]),
    rows: [
      row(
        `raw argon2id ceiling, ${settings.threads} in flight (hashes/s)`,
        result.ceilingHashesPerSecond,
        1,
      ),
      row('POST /auth/login (log-ins/s)', result.loginsPerSecond, 1),
      [
        `log-ins ÷ ceiling, same round (goal ≥ ${GOAL})`,
        `${ratio.toFixed(2)} ${result.target.result}`,
        `${result.ratio.min.toFixed(2)} to ${result.ratio.max.toFixed(2)}`,
      ],
      row('GET /auth/me p99, idle (ms)', result.meIdle.p99, 2),
      row('GET /auth/me p99, log-ins saturating the CPU (ms)', result.meUnderLogins.p99, 2),
      row('GET /auth/me req/s, idle', result.meIdle.rps, 0),
      row('GET /auth/me req/s, under log-ins', result.meUnderLogins.rps, 0),
    ],
  },
  json: result,
  write: flags.write,
});
