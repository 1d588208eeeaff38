// npm run bench:scale — log-ins/s and refreshes/s with 1, 2 and 3 auth server instances (separate
// processes) sharing one PostgreSQL database, driven by autocannon from this process: one
// autocannon per instance, all running at once, the same number of connections each (the
// round-robin of a connection-level balancer, without a balancer process taking CPU). It also
// records where the CPU went (the servers, the PostgreSQL backends, the driver, everything else),
// how many statements each request sends to PostgreSQL, and what the backends were doing
// (sampled from pg_stat_activity). See bench/README.md.
//
// Options (flags or environment): --rounds N (BENCH_ROUNDS, default 7), --duration S
// (BENCH_DURATION, seconds per slice, default 4), --warmup S (BENCH_WARMUP, default 2),
// --instances 1,2,3 (BENCH_INSTANCES), --workloads login,refresh (BENCH_WORKLOADS),
// --login-connections N (per instance, default 8), --refresh-connections N (per instance,
// default 16), --retries N (BENCH_RETRIES, default 1), --database-url URL (BENCH_DATABASE_URL, an
// existing database to connect to; the benchmark creates and drops its own next to it),
// --wait-load L (wait up to --wait-max S, default 900, for the 1-minute load average to drop
// below L first), --quick (3 rounds of 2 s), --no-write (print only).

import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { generateKekText } from '../packages/server/src/auth/kek.ts';
import { OWASP_ARGON2ID } from '../packages/server/src/auth/password.ts';
import {
  benchFlags,
  columnsFrom,
  coresLine,
  disturbanceLine,
  disturbanceOf,
  elapsedS,
  fmtInt,
  loadAverage,
  loadLine,
  machineLine,
  machineMeta,
  packageVersion,
  percentile,
  pickList,
  positiveNumber,
  report,
  rotatingRounds,
  round1,
  round2,
} from './lib/common.ts';
import { median, relativeMad } from './lib/measure.ts';
import {
  activityOrder,
  BackendSampler,
  benchDatabase,
  CpuMeter,
  type CpuReading,
  dropDatabase,
  postgresPids,
  waitForQuiet,
} from './lib/scale-proc.ts';
import type { ScaleStatsReply } from './lib/scale-types.ts';
import { BENCH_RATE_LIMITS, type ServerProcess, spawnScript } from './lib/spawn.ts';

// ---------------------------------------------------------------------------------------------
// Settings

const flags = benchFlags([
  'rounds',
  'duration',
  'warmup',
  'instances',
  'workloads',
  'login-connections',
  'refresh-connections',
  'retries',
  'database-url',
  'wait-load',
  'wait-max',
]);

const WORKLOADS = ['login', 'refresh'] as const;
type Workload = (typeof WORKLOADS)[number];

function pickInstances(raw: string | undefined): number[] {
  if (raw === undefined || raw === '') return [1, 2, 3];
  const list = raw.split(',').map((s) => positiveNumber('--instances', s.trim(), 1, true));
  return [...new Set(list)].sort((a, b) => a - b);
}

const quick = flags.quick;
const settings = {
  rounds: flags.int('rounds', 'BENCH_ROUNDS', quick ? 3 : 7),
  durationS: flags.number('duration', 'BENCH_DURATION', quick ? 2 : 4),
  warmupS: flags.number('warmup', 'BENCH_WARMUP', quick ? 1 : 2),
  instances: pickInstances(flags.raw('instances', 'BENCH_INSTANCES')),
  workloads: pickList('--workloads', flags.raw('workloads', 'BENCH_WORKLOADS'), WORKLOADS),
  loginConnections: flags.int('login-connections', undefined, 8),
  refreshConnections: flags.int('refresh-connections', undefined, 16),
  retries: flags.count('retries', 'BENCH_RETRIES', 1),
  adminUrl:
    flags.raw('database-url', 'BENCH_DATABASE_URL') ?? 'postgres://postgres@127.0.0.1:5432/test',
  waitLoad: flags.raw('wait-load') === undefined ? null : flags.number('wait-load', undefined, 1.5),
  waitMaxS: flags.number('wait-max', undefined, 900),
  write: flags.write,
};
const maxInstances = Math.max(...settings.instances);
/** A slice is run again when other programs used more than this share of a core meanwhile. */
const RETRY_ABOVE = 0.25;
/** The server's default grace window for a spent refresh token, kept (see README). */
const REUSE_GRACE_S = 10;
const PASSWORD = 'bench password 123';

// ---------------------------------------------------------------------------------------------
// The database: a fresh one, dropped at the end.

const { database, url: databaseUrl } = benchDatabase(
  settings.adminUrl,
  randomBytes(5).toString('hex'),
);

// ---------------------------------------------------------------------------------------------
// Servers

interface Server extends ServerProcess {
  index: number;
  statements(): Promise<number>;
}

const serverScript = fileURLToPath(new URL('./lib/scale-server.ts', import.meta.url));
const serverOptions = {
  databaseUrl,
  // Every instance on the one database shares the key that encrypts its signing keys.
  keyEncryptionKey: generateKekText(),
  // Every limit raised: the benchmark measures log-ins, not 429s (all from 127.0.0.1).
  rateLimits: BENCH_RATE_LIMITS,
  alg: 'HS256',
  reuseGrace: REUSE_GRACE_S,
};

async function startServer(index: number): Promise<Server> {
  const server = await spawnScript(serverScript, [JSON.stringify(serverOptions)], {
    name: `auth server ${index}`,
  });
  const waiting: ((n: number) => void)[] = [];
  server.child.on('message', (message: ScaleStatsReply) => {
    if (message?.type === 'stats') waiting.shift()?.(message.statements);
  });
  return {
    ...server,
    index,
    statements() {
      return new Promise((resolve) => {
        waiting.push(resolve);
        server.child.send({ type: 'stats' });
      });
    },
  };
}

async function post(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

// ---------------------------------------------------------------------------------------------
// Refresh chains: each connection of the refresh load owns one session (one user's refresh
// token family) and always sends the token the previous answer gave it.

interface Chain {
  user: string;
  token: string;
  /** A request was sent and its answer not seen yet (cut off at the end of a slice). */
  pending: boolean;
  /** Statuses other than 200 seen by this chain in the current slice. */
  failures: number[];
}

const REFRESH_TOKEN_IN_BODY = /"refresh_token":"(rt_[A-Za-z0-9_-]{43})"/;

/**
 * At the end of a slice autocannon drops the requests in flight: their refresh may have rotated
 * the token on the server while the answer was lost. Such a chain sends its last token again at
 * once, well inside the server's 10 s grace window: it gets a valid token either way (a normal
 * rotation, or the grace path's new token in the same family), just as a client whose answer was
 * lost would. Returns how many chains were repaired.
 */
async function repairChains(chains: Chain[], server: Server): Promise<number> {
  const stale = chains.filter((c) => c.pending);
  await Promise.all(
    stale.map(async (chain) => {
      const { status, json } = await post(`${server.url}/auth/refresh`, {
        refresh_token: chain.token,
      });
      const token = (json as { refresh_token?: string } | null)?.refresh_token;
      if (status !== 200 || typeof token !== 'string') {
        throw new Error(`repairing a refresh chain failed: ${status} ${JSON.stringify(json)}`);
      }
      chain.token = token;
      chain.pending = false;
    }),
  );
  return stale.length;
}

// ---------------------------------------------------------------------------------------------
// The probe: requests one at a time on an idle instance, before the load. With nothing else in
// flight, the statement counter says exactly how many round trips to PostgreSQL one request takes,
// and the latency is that of an unloaded request.

interface Probe {
  requests: number;
  /** Statements sent to PostgreSQL per request (BEGIN and COMMIT included). */
  statements: number;
  /** Median latency of the requests, one at a time, in milliseconds. */
  medianMs: number;
}

async function probe(workload: Workload, server: Server, count: number): Promise<Probe> {
  const before = await server.statements();
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    if (workload === 'login') {
      const { status } = await post(`${server.url}/auth/login`, {
        username: loginUsersOf.get(server.index)![0],
        password: PASSWORD,
      });
      if (status !== 200) throw new Error(`probe log-in: ${status}`);
    } else {
      const chain = chainsOf.get(server.index)![0]!;
      const { status, json } = await post(`${server.url}/auth/refresh`, {
        refresh_token: chain.token,
      });
      const token = (json as { refresh_token?: string }).refresh_token;
      if (status !== 200 || typeof token !== 'string') throw new Error(`probe refresh: ${status}`);
      chain.token = token;
    }
    times.push(performance.now() - t);
  }
  const statements = (await server.statements()) - before;
  return {
    requests: count,
    statements: round2(statements / count),
    medianMs: round2(median(times)),
  };
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Sample {
  round: number;
  workload: Workload;
  instances: number;
  /** Completed 2xx requests per second, all instances together. */
  rps: number;
  requests: number;
  /** Requests per second completed by each instance. */
  perInstance: number[];
  p50: number;
  p99: number;
  /** Cores' worth of CPU used during the slice by each group (1 = one core busy all along). */
  cores: {
    servers: number;
    postgres: number;
    autovacuum: number;
    postgresShared: number;
    driver: number;
    other: number | null;
  };
  /** CPU microseconds per request of the servers, of the PostgreSQL backends, of the driver. */
  usPerRequest: { servers: number; postgres: number; driver: number };
  /** Average number of the database's backends per activity, sampled every 20 ms. */
  backends: Record<string, number>;
  /** Refresh chains re-synchronised after the slice (answers cut off at its end). */
  repaired: number;
  attempts: number;
}

let admin: pg.Client | undefined;
let samplerClient: pg.Client | undefined;
const servers: Server[] = [];
const chainsOf = new Map<number, Chain[]>();
const loginUsersOf = new Map<number, string[]>();

function cpuGroups(): CpuMeter {
  const pgPids = () => postgresPids(admin!, database);
  return new CpuMeter([
    { name: 'servers', pids: () => servers.map((s) => s.child.pid!).filter((p) => p > 0) },
    { name: 'driver', pids: () => [process.pid] },
    { name: 'postgres', pids: async () => (await pgPids()).backends },
    { name: 'autovacuum', pids: async () => (await pgPids()).autovacuum },
    { name: 'postgresShared', pids: async () => (await pgPids()).shared },
  ]);
}

function cores(reading: CpuReading, name: string): number {
  return (reading.groups[name] ?? 0) / reading.wallUs;
}

/** One autocannon per instance, all at once; resolves when every one has finished. */
async function drive(
  workload: Workload,
  active: Server[],
  seconds: number,
): Promise<{ results: autocannon.Result[]; latencies: number[] }> {
  const latencies: number[] = [];
  const runs = active.map(
    (server) =>
      new Promise<autocannon.Result>((resolve, reject) => {
        let options: autocannon.Options;
        if (workload === 'login') {
          const users = loginUsersOf.get(server.index)!;
          let next = 0;
          options = {
            url: `${server.url}/auth/login`,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username: users[0], password: PASSWORD }),
            connections: settings.loginConnections,
            duration: seconds,
            // Each connection logs its own user in, over and over.
            setupClient(client) {
              const username = users[next++ % users.length]!;
              client.setBody(JSON.stringify({ username, password: PASSWORD }));
            },
          };
        } else {
          const chains = chainsOf.get(server.index)!;
          let next = 0;
          options = {
            url: `${server.url}/auth/refresh`,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            connections: settings.refreshConnections,
            duration: seconds,
            setupClient(client) {
              const chain = chains[next++ % chains.length]!;
              client.setRequests([
                {
                  method: 'POST',
                  path: '/auth/refresh',
                  headers: { 'content-type': 'application/json' },
                  setupRequest(request) {
                    chain.pending = true;
                    return { ...request, body: `{"refresh_token":"${chain.token}"}` };
                  },
                  onResponse(status, body) {
                    const match = status === 200 ? REFRESH_TOKEN_IN_BODY.exec(body) : null;
                    if (match) {
                      chain.token = match[1]!;
                      chain.pending = false;
                    } else {
                      chain.failures.push(status);
                    }
                  },
                },
              ]);
            },
          };
        }
        const instance = autocannon(options, (error, r) => (error ? reject(error) : resolve(r)));
        instance.on('response', (_client, status, _bytes, time) => {
          if (status >= 200 && status < 300) latencies.push(time);
        });
      }),
  );
  return { results: await Promise.all(runs), latencies };
}

async function slice(
  workload: Workload,
  n: number,
  seconds: number,
  round: number,
): Promise<Sample> {
  const active = servers.slice(0, n);
  if (workload === 'refresh')
    for (const s of active) for (const c of chainsOf.get(s.index)!) c.failures = [];
  const meter = cpuGroups();
  const sampler = new BackendSampler(samplerClient!, database);
  await meter.start();
  sampler.start();
  const { results, latencies } = await drive(workload, active, seconds);
  const reading = await meter.stop();
  const { backends } = await sampler.stop();
  let repaired = 0;
  if (workload === 'refresh') {
    for (const s of active) repaired += await repairChains(chainsOf.get(s.index)!, s);
  }

  const wallS = reading.wallUs / 1e6;
  const requests = results.reduce((sum, r) => sum + r.requests.total, 0);
  const non2xx = results.reduce((sum, r) => sum + r.non2xx, 0);
  const errors = results.reduce((sum, r) => sum + r.errors, 0);
  if (non2xx > 0 || errors > 0 || requests === 0) {
    const codes = results.map((r) => JSON.stringify(r.statusCodeStats ?? {})).join(' ');
    const failures =
      workload === 'refresh'
        ? active.flatMap((s) => chainsOf.get(s.index)!.flatMap((c) => c.failures)).slice(0, 10)
        : [];
    throw new Error(
      `${workload} with ${n} instance(s): ${non2xx} non-2xx answers (${codes}), ${errors} errors, ` +
        `${requests} requests${failures.length ? `; chain statuses ${failures.join(',')}` : ''}. ` +
        'The figures would measure failures: stopping.',
    );
  }
  const sorted = Float64Array.from(latencies).sort();
  const servCores = cores(reading, 'servers');
  const pgCores = cores(reading, 'postgres');
  const avCores = cores(reading, 'autovacuum');
  const sharedCores = cores(reading, 'postgresShared');
  const driverCores = cores(reading, 'driver');
  const other =
    reading.machineBusyCores === null
      ? null
      : Math.max(
          0,
          reading.machineBusyCores - servCores - pgCores - avCores - sharedCores - driverCores,
        );
  return {
    round,
    workload,
    instances: n,
    rps: round2(requests / wallS),
    requests,
    perInstance: results.map((r) => round1(r.requests.total / wallS)),
    p50: round2(percentile(sorted, 0.5)),
    p99: round2(percentile(sorted, 0.99)),
    cores: {
      servers: round2(servCores),
      postgres: round2(pgCores),
      autovacuum: round2(avCores),
      postgresShared: round2(sharedCores),
      driver: round2(driverCores),
      other: other === null ? null : round2(other),
    },
    usPerRequest: {
      servers: round1((reading.groups['servers'] ?? 0) / requests),
      postgres: round1((reading.groups['postgres'] ?? 0) / requests),
      driver: round1((reading.groups['driver'] ?? 0) / requests),
    },
    backends,
    repaired,
    attempts: 1,
  };
}

// ---------------------------------------------------------------------------------------------
// Run

const started = performance.now();
let waitedForQuiet: boolean | null = null;
if (settings.waitLoad !== null)
  waitedForQuiet = await waitForQuiet(settings.waitLoad, settings.waitMaxS);
const loadBefore = loadAverage();
const slicesPerRound = settings.workloads.length * settings.instances.length;
process.stderr.write(
  `${settings.workloads.join(' and ')} with ${settings.instances.join(', ')} instance(s): ${settings.rounds} rounds of ` +
    `${settings.durationS} s per slice after ${settings.warmupS} s warm-up: about ` +
    `${Math.round(slicesPerRound * (settings.warmupS + settings.rounds * settings.durationS) + 15)} s ` +
    `(load average ${loadBefore.join(' ')})\n`,
);

const samples: Sample[] = [];
const probes: Partial<Record<Workload, Probe>> = {};
let setupNotes: Record<string, unknown> = {};
try {
  admin = new pg.Client({ connectionString: settings.adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  samplerClient = new pg.Client({ connectionString: settings.adminUrl });
  await samplerClient.connect();

  // The first instance migrates the new database and creates the signing key; the others then
  // find both.
  servers.push(await startServer(0));
  for (let i = 1; i < maxInstances; i++) servers.push(await startServer(i));
  const first = servers[0]!;

  // One user per connection: logins and refresh chains never share a user (a real load comes from
  // many users; rotations of one user's tokens would also queue on that user's row lock).
  const perInstance = Math.max(settings.loginConnections, settings.refreshConnections);
  const userCount = perInstance * maxInstances;
  const usernames = Array.from({ length: userCount }, (_, i) => `bench_user_${i}`);
  const t0 = performance.now();
  for (let i = 0; i < usernames.length; i += 8) {
    await Promise.all(
      usernames.slice(i, i + 8).map(async (username) => {
        const { status, json } = await post(`${first.url}/auth/register`, {
          username,
          email: `${username}@example.com`,
          password: PASSWORD,
        });
        if (status !== 201)
          throw new Error(`registering ${username}: ${status} ${JSON.stringify(json)}`);
      }),
    );
  }
  for (const server of servers) {
    const mine = usernames.slice(server.index * perInstance, (server.index + 1) * perInstance);
    loginUsersOf.set(server.index, mine.slice(0, settings.loginConnections));
    const chainUsers = mine.slice(0, settings.refreshConnections);
    const chains: Chain[] = [];
    for (let i = 0; i < chainUsers.length; i += 8) {
      chains.push(
        ...(await Promise.all(
          chainUsers.slice(i, i + 8).map(async (user) => {
            const { status, json } = await post(`${server.url}/auth/login`, {
              username: user,
              password: PASSWORD,
            });
            const token = (json as { refresh_token?: string }).refresh_token;
            if (status !== 200 || typeof token !== 'string')
              throw new Error(`log-in of ${user}: ${status} ${JSON.stringify(json)}`);
            return { user, token, pending: false, failures: [] } satisfies Chain;
          }),
        )),
      );
    }
    chainsOf.set(server.index, chains);
  }
  // Each instance refreshes a token issued by another one: they share the database, not memory.
  const crossChain = chainsOf.get(0)![0]!;
  const other = servers[servers.length - 1]!;
  const crossed = await post(`${other.url}/auth/refresh`, { refresh_token: crossChain.token });
  const crossedToken = (crossed.json as { refresh_token?: string }).refresh_token;
  if (crossed.status !== 200 || typeof crossedToken !== 'string')
    throw new Error(`a refresh on another instance failed: ${crossed.status}`);
  crossChain.token = crossedToken;
  setupNotes = {
    users: userCount,
    setupSeconds: round1((performance.now() - t0) / 1000),
  };
  process.stderr.write(
    `${maxInstances} instances up on ${database}; ${userCount} users registered and logged in ` +
      `(${setupNotes['setupSeconds']} s)\n`,
  );

  for (const workload of settings.workloads) {
    const p = await probe(workload, first, workload === 'login' ? 5 : 50);
    probes[workload] = p;
    process.stderr.write(
      `probe: one ${workload} at a time: ${p.statements} statements, ${p.medianMs} ms\n`,
    );
  }
  for (const workload of settings.workloads) {
    for (const n of settings.instances) await slice(workload, n, settings.warmupS, 0);
  }
  process.stderr.write('warm-up done\n');
  const cases = settings.workloads.flatMap((w) => settings.instances.map((n) => ({ w, n })));
  samples.push(
    ...(await rotatingRounds({
      rounds: settings.rounds,
      cases,
      retries: settings.retries,
      above: RETRY_ABOVE,
      run: ({ w, n }, round) => slice(w, n, settings.durationS, round),
      otherOf: (s) => s.cores.other,
      describe: ({ w, n }, s) =>
        `${w.padEnd(7)} ×${n}  ${fmtInt.format(s.rps).padStart(6)} req/s  ` +
        `p99 ${s.p99.toFixed(1).padStart(7)} ms  cores: ${coresLine(s.cores)}`,
    })),
  );
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  await samplerClient?.end().catch(() => {});
  if (admin) await dropDatabase(admin, database);
}
const loadAfter = loadAverage();

// ---------------------------------------------------------------------------------------------
// Results

interface Summary {
  workload: Workload;
  instances: number;
  rps: number;
  rpsSpreadPercent: number;
  /** req/s ÷ the machine's cores. */
  perMachineCore: number;
  /** req/s ÷ cores busy in the servers: what one core of auth server delivers. */
  perServerCore: number;
  /** req/s ÷ cores busy in the servers and the PostgreSQL backends together. */
  perServerAndDbCore: number;
  /** Median over the rounds of this case's req/s ÷ the 1-instance req/s of the same round. */
  vsOne: number | null;
  p50: number;
  p99: number;
  cores: Sample['cores'];
  usPerRequest: Sample['usPerRequest'];
  statementsPerRequest: number;
  backends: Record<string, number>;
}

const med = (xs: number[]) => median(xs);
const summaries: Summary[] = [];
for (const w of settings.workloads) {
  const base = samples.filter((s) => s.workload === w && s.instances === settings.instances[0]);
  for (const n of settings.instances) {
    const list = samples
      .filter((s) => s.workload === w && s.instances === n)
      .sort((a, b) => a.round - b.round);
    const c = (k: keyof Sample['cores']) => round2(med(list.map((s) => s.cores[k] ?? Number.NaN)));
    const rps = med(list.map((s) => s.rps));
    const serverCores = med(list.map((s) => s.cores.servers));
    const pgCores = med(list.map((s) => s.cores.postgres));
    // Average backends per activity: the median over rounds of each activity (0 when absent).
    const activities = [...new Set(list.flatMap((s) => Object.keys(s.backends)))];
    const backends: Record<string, number> = {};
    for (const a of activities) backends[a] = round2(med(list.map((s) => s.backends[a] ?? 0)));
    summaries.push({
      workload: w,
      instances: n,
      rps: round1(rps),
      rpsSpreadPercent: round1(relativeMad(list.map((s) => s.rps))),
      perMachineCore: round1(rps / cpus().length),
      perServerCore: round1(med(list.map((s) => s.rps / Math.max(1e-9, s.cores.servers)))),
      perServerAndDbCore: round1(
        med(list.map((s) => s.rps / Math.max(1e-9, s.cores.servers + s.cores.postgres))),
      ),
      vsOne:
        n === settings.instances[0]
          ? 1
          : round2(
              med(
                list.map((s) => s.rps / (base.find((b) => b.round === s.round)?.rps ?? Number.NaN)),
              ),
            ),
      p50: round2(med(list.map((s) => s.p50))),
      p99: round2(med(list.map((s) => s.p99))),
      cores: {
        servers: round2(serverCores),
        postgres: round2(pgCores),
        autovacuum: c('autovacuum'),
        postgresShared: c('postgresShared'),
        driver: c('driver'),
        other: list.some((s) => s.cores.other === null) ? null : c('other'),
      },
      usPerRequest: {
        servers: round1(med(list.map((s) => s.usPerRequest.servers))),
        postgres: round1(med(list.map((s) => s.usPerRequest.postgres))),
        driver: round1(med(list.map((s) => s.usPerRequest.driver))),
      },
      statementsPerRequest: probes[w]?.statements ?? Number.NaN,
      backends,
    });
  }
}

const meta = {
  ...machineMeta(),
  postgres: await (async () => {
    const c = new pg.Client({ connectionString: settings.adminUrl });
    try {
      await c.connect();
      const { rows } = await c.query<{ name: string; setting: string }>(
        `SELECT name, setting FROM pg_settings WHERE name IN
         ('server_version', 'synchronous_commit', 'fsync', 'shared_buffers', 'max_connections')`,
      );
      return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
    } catch {
      return null;
    } finally {
      await c.end().catch(() => {});
    }
  })(),
  versions: {
    laissez: packageVersion('package.json'),
    fastify: packageVersion('node_modules/fastify/package.json'),
    pg: packageVersion('node_modules/pg/package.json'),
    autocannon: packageVersion('node_modules/autocannon/package.json'),
  },
  settings: {
    rounds: settings.rounds,
    durationS: settings.durationS,
    warmupS: settings.warmupS,
    instances: settings.instances,
    workloads: settings.workloads,
    connectionsPerInstance: {
      login: settings.loginConnections,
      refresh: settings.refreshConnections,
    },
    retries: settings.retries,
    retryAboveOtherCores: RETRY_ABOVE,
    balancing:
      'one autocannon per instance, all in this process at once, the same number of keep-alive connections each',
    server: {
      options: { ...serverOptions, databaseUrl: 'postgres://…/laissez_bench_<random>' },
      rateLimits:
        'raised to 1e9 per window so that nothing is refused (all the load comes from 127.0.0.1)',
      argon2id: OWASP_ARGON2ID,
      pgPoolMax: 10,
      threadpool: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    },
  },
  setup: setupNotes,
  probes,
  loadAverage: { before: loadBefore, after: loadAfter, waitedForQuiet },
  disturbance: disturbanceOf(
    samples.map((s) => s.cores.other),
    samples.filter((s) => s.attempts > 1).length,
  ),
  durationS: elapsedS(started),
};

const scaleHeaders = [
  'workload',
  'instances',
  'req/s',
  '× vs 1',
  'per machine core',
  'per server core',
  'per core, servers + postgres',
  'p50 ms',
  'p99 ms',
  'servers (cores)',
  'postgres (cores)',
  'driver (cores)',
  'other (cores)',
  'server µs/req',
  'postgres µs/req',
  'SQL stmts/req',
];
const cells = summaries.map((s) => [
  s.workload === 'login' ? 'log-in' : 'refresh',
  String(s.instances),
  `${s.rps.toFixed(1)} ±${s.rpsSpreadPercent.toFixed(1)}%`,
  s.vsOne === null ? '' : s.vsOne.toFixed(2),
  s.perMachineCore.toFixed(1),
  s.perServerCore.toFixed(1),
  s.perServerAndDbCore.toFixed(1),
  s.p50.toFixed(1),
  s.p99.toFixed(1),
  s.cores.servers.toFixed(2),
  s.cores.postgres.toFixed(2),
  s.cores.driver.toFixed(2),
  s.cores.other === null ? 'n/a' : s.cores.other.toFixed(2),
  fmtInt.format(s.usPerRequest.servers),
  fmtInt.format(s.usPerRequest.postgres),
  s.statementsPerRequest.toFixed(2),
]);

// What the PostgreSQL backends were doing: average number of backends per activity.
// Rare activities (a data file extended, a WAL segment initialised) round to 0.00 backends: they
// stay in the JSON, out of the table.
const activities = [...new Set(summaries.flatMap((s) => Object.keys(s.backends)))]
  .filter((a) => Math.max(...summaries.map((s) => s.backends[a] ?? 0)) >= 0.01)
  .sort(activityOrder);
const waitCells = summaries.map((s) => [
  s.workload === 'login' ? 'log-in' : 'refresh',
  String(s.instances),
  ...activities.map((a) => (s.backends[a] ?? 0).toFixed(2)),
]);

const probeLine = `probe, one request at a time on an idle instance: ${settings.workloads
  .map(
    (w) =>
      `${w === 'login' ? 'log-in' : 'refresh'} ${probes[w]?.medianMs} ms (median of ${probes[w]?.requests}), ${probes[w]?.statements} SQL statements`,
  )
  .join('; ')}`;
const waitHeaders = ['workload', 'instances', ...activities];
report({
  name: 'scale',
  title: 'Scale-out benchmark (`npm run bench:scale`)',
  bullets: [
    machineLine(meta, `PostgreSQL ${meta.postgres?.['server_version'] ?? '?'}`),
    `${settings.rounds} interleaved rounds of ${settings.durationS} s per case after ${settings.warmupS} s warm-up; ` +
      `one autocannon per instance, all at once from this process (${settings.loginConnections} connections per instance for log-ins, ` +
      `${settings.refreshConnections} for refreshes); medians of the rounds; ± = median absolute deviation of the rounds' req/s`,
    `auth servers: HS256, argon2id m=${OWASP_ARGON2ID.memory} KiB t=${OWASP_ARGON2ID.passes} p=${OWASP_ARGON2ID.parallelism}, rate limits raised to 1e9 per window, reuse grace ${REUSE_GRACE_S} s (the default), pg pool 10 per instance, one PostgreSQL database`,
    loadLine(loadBefore, loadAfter, waitedForQuiet),
    disturbanceLine(meta.disturbance),
    'cores: CPU time of each group during the slice ÷ wall time (1.00 = one core busy all along), from /proc/<pid>/stat; servers = the auth server processes, postgres = the backends of the benchmark database, driver = autocannon in the driver process, other = the rest of the machine (other programs, PostgreSQL’s shared processes, the kernel)',
    'per machine core: req/s ÷ the machine’s cores; per server core: req/s ÷ cores used by the auth servers; per core, servers + postgres: req/s ÷ cores used by the auth servers and the PostgreSQL backends together (each the median of the rounds’ ratios)',
    'SQL stmts/req: statements an auth server sends to PostgreSQL per request, BEGIN and COMMIT included (each one a round trip), counted in the probe: requests one at a time on an idle instance before the load',
    probeLine,
  ],
  table: { headers: scaleHeaders, rows: cells, right: columnsFrom(scaleHeaders, 1) },
  sections: [
    {
      heading: 'What the PostgreSQL backends were doing',
      intro:
        'Average number of the benchmark database’s client backends in each activity, sampled from `pg_stat_activity` every 20 ms (median of the rounds). Each instance’s pool holds up to 10 connections.',
      table: { headers: waitHeaders, rows: waitCells, right: columnsFrom(waitHeaders, 1) },
    },
  ],
  // Compact: the medians, not every slice of every round.
  json: { meta, summaries },
  write: settings.write,
});
