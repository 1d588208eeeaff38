// npm run bench:sessions — what "a JWT saves a trip to the database" is worth, measured: one
// protected route, GET /me → {"name": …}, answered by a JWT verified locally (HS256 and EdDSA), a
// JWT plus a user lookup in PostgreSQL, a JWT plus a revocation check in Redis, and an opaque
// session id in a cookie looked up in Redis or in PostgreSQL, next to a baseline without any
// check. Each way is its own Fastify process
// (bench/lib/sessions-server.ts); autocannon drives them from this process over loopback, one at a
// time, in interleaved rounds; medians of the rounds are reported, with the bytes each request
// and answer take on the wire and where the CPU went. Writes bench/results/sessions-latest.{json,
// md,svg}. See bench/README.md and docs/sessions-vs-jwt.md.
//
// Options (flags or environment): --rounds N (BENCH_ROUNDS, default 7), --duration S
// (BENCH_DURATION, default 3), --warmup S (BENCH_WARMUP, default 1), --connections N
// (BENCH_CONNECTIONS, default 32), --retries N (BENCH_RETRIES, default 2), --variants a,b
// (BENCH_VARIANTS), --users N (rows in the users and sessions tables, default 10000),
// --database-url URL (BENCH_DATABASE_URL), --redis-url URL (BENCH_REDIS_URL), --wait-load L and
// --wait-max S (wait for a quieter machine first), --quick (3 rounds of 1 s), --no-write.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createSigner, generateKey } from '@laissez/jwt';
import { createClient } from '@redis/client';
import pg from 'pg';
import { createRevocationList } from '../packages/server/src/redis/index.ts';
import {
  assert,
  benchFlags,
  columnsFrom,
  coresLine,
  disturbanceLine,
  disturbanceOf,
  elapsedS,
  fmtInt,
  forgedTokens,
  loadAverage,
  loadLine,
  machineLine,
  machineMeta,
  packageVersion,
  pct,
  report,
  rotatingRounds,
  round1,
  round2,
} from './lib/common.ts';
import { load } from './lib/load.ts';
import { median, relativeMad } from './lib/measure.ts';
import {
  benchDatabase,
  CpuMeter,
  dropDatabase,
  postgresPids,
  waitForQuiet,
} from './lib/scale-proc.ts';
import { barChart } from './lib/sessions-svg.ts';
import {
  ROUTE,
  SESSION_COOKIE,
  SESSION_VARIANT_INFO,
  SESSION_VARIANTS,
  type SessionsConfig,
  type SessionVariant,
} from './lib/sessions-variants.ts';
import { type ServerProcess, spawnScript } from './lib/spawn.ts';

// ---------------------------------------------------------------------------------------------
// Settings

const flags = benchFlags([
  'rounds',
  'duration',
  'warmup',
  'connections',
  'retries',
  'variants',
  'users',
  'database-url',
  'redis-url',
  'wait-load',
  'wait-max',
]);
const quick = flags.quick;
const settings = {
  rounds: flags.int('rounds', 'BENCH_ROUNDS', quick ? 3 : 7),
  durationS: flags.number('duration', 'BENCH_DURATION', quick ? 1 : 3),
  warmupS: flags.number('warmup', 'BENCH_WARMUP', quick ? 0.5 : 1),
  connections: flags.int('connections', 'BENCH_CONNECTIONS', 32),
  retries: flags.count('retries', 'BENCH_RETRIES', 2),
  variants: flags.list('variants', 'BENCH_VARIANTS', SESSION_VARIANTS),
  users: flags.int('users', undefined, 10_000),
  adminUrl:
    flags.raw('database-url', 'BENCH_DATABASE_URL') ?? 'postgres://postgres@127.0.0.1:5432/test',
  redisUrl: flags.raw('redis-url', 'BENCH_REDIS_URL') ?? 'redis://127.0.0.1:6379',
  waitLoad: flags.raw('wait-load') === undefined ? null : flags.number('wait-load', undefined, 1.5),
  waitMaxS: flags.number('wait-max', undefined, 900),
  write: flags.write,
};
if (settings.users < settings.connections) throw new TypeError('--users must be ≥ --connections');
/** A slice is run again when other programs used more than this share of a core meanwhile. */
const RETRY_ABOVE = 0.25;
/** Revoked sessions put in the revocation list, so that it is not empty. */
const REVOKED = 1000;
/** Access-token lifetime, as the auth server's default. */
const ACCESS_TTL_S = 900;

const run = randomBytes(5).toString('hex');
const { database, url: databaseUrl } = benchDatabase(settings.adminUrl, run);
const redisPrefix = `laissez-bench-${run}:`;

// ---------------------------------------------------------------------------------------------
// Users, sessions and tokens

const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Margaret',
  'Ken',
  'Radia',
  'Linus',
  'Frances',
  'John',
  'Sophie',
  'Tim',
  'Katherine',
  'Dennis',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Hamilton',
  'Thompson',
  'Perlman',
  'Torvalds',
  'Allen',
  'McCarthy',
  'Wilson',
  'Berners-Lee',
  'Johnson',
  'Ritchie',
];

interface User {
  id: string;
  username: string;
  name: string;
  email: string;
  /** The refresh-token family an access token would name (`sid`). */
  sid: string;
  session: string;
}

const newId = (bytes: number) => randomBytes(bytes).toString('base64url');
const users: User[] = Array.from({ length: settings.users }, (_, i) => ({
  // Ids as the laissez auth server makes them: 9 random bytes, 12 characters.
  id: newId(9),
  username: `user_${i}`,
  name: `${FIRST[i % FIRST.length]} ${LAST[Math.floor(i / FIRST.length) % LAST.length]}`,
  email: `user_${i}@example.com`,
  sid: newId(9),
  // A session id: 32 random bytes, 43 characters.
  session: newId(32),
}));
/** The users the connections act as, spread over the table. */
const connectionUsers = Array.from(
  { length: settings.connections },
  (_, k) => users[Math.floor((k * settings.users) / settings.connections)]!,
);

const secret = newId(32);
const issuer = 'https://auth.example.com';
const audience = 'api';
// A kid as the laissez key ring makes it: 6 random bytes, 8 characters.
const kid = newId(6);
const ed = generateKey('EdDSA', { kid });
const common = { typ: 'at+jwt', issuer, audience, expiresIn: ACCESS_TTL_S } as const;
const signHs = createSigner({ key: secret, algorithm: 'HS256', ...common });
const signEd = createSigner({ key: ed.privateJwk, algorithm: 'EdDSA', kid, ...common });
/** The claims of a laissez access token (the auth server adds a 96-bit jti). */
const claimsOf = (u: User, withName: boolean) => ({
  sub: u.id,
  sid: u.sid,
  roles: ['user'],
  jti: newId(12),
  ...(withName ? { name: u.name } : {}),
});

/** The credential header a connection of a variant sends: [name, value]. */
function credential(variant: SessionVariant, u: User): [string, string] | undefined {
  switch (variant) {
    case 'baseline':
      return undefined;
    case 'jwt-hs256':
    case 'jwt-revocation':
      return ['authorization', `Bearer ${signHs(claimsOf(u, true))}`];
    case 'jwt-eddsa':
      return ['authorization', `Bearer ${signEd(claimsOf(u, true))}`];
    case 'jwt-pg':
      // The user is read from the database: the token carries no name, as the auth server's.
      return ['authorization', `Bearer ${signHs(claimsOf(u, false))}`];
    case 'session-redis':
    case 'session-pg':
      return ['cookie', `${SESSION_COOKIE}=${u.session}`];
  }
}

const credentials = new Map<SessionVariant, ([string, string] | undefined)[]>(
  settings.variants.map((v) => [v, connectionUsers.map((u) => credential(v, u))]),
);

// ---------------------------------------------------------------------------------------------
// Servers

interface Server extends ServerProcess {
  variant: SessionVariant;
}

const config: SessionsConfig = {
  secret,
  publicJwk: ed.publicJwk as Record<string, unknown>,
  issuer,
  audience,
  databaseUrl,
  redisUrl: settings.redisUrl,
  redisPrefix,
};
const serverScript = fileURLToPath(new URL('./lib/sessions-server.ts', import.meta.url));

async function startServer(variant: SessionVariant): Promise<Server> {
  const server = await spawnScript(serverScript, [variant], {
    name: `${variant} server`,
    env: { BENCH_SESSIONS_CONFIG: JSON.stringify(config) },
  });
  return { ...server, variant };
}

/** A user only the checks know: deleted from the table, revoked, or with an expired session. */
let deletedUser: User | undefined;
let revokedUser: User | undefined;
let expiredUser: User | undefined;

/** Before any timing: the right name with a valid credential, 401 for everything else. */
async function check(server: Server): Promise<void> {
  const v = server.variant;
  const get = async (header?: [string, string]) => {
    const response = await fetch(
      `${server.url}${ROUTE}`,
      header === undefined ? {} : { headers: { [header[0]]: header[1] } },
    );
    return { status: response.status, body: await response.text() };
  };
  if (v === 'baseline') {
    const ok = await get();
    assert(ok.status === 200 && JSON.parse(ok.body).name, `${v}: answered ${ok.status} ${ok.body}`);
    return;
  }
  for (const [k, header] of credentials.get(v)!.slice(0, 3).entries()) {
    const ok = await get(header);
    assert(ok.status === 200, `${v}: a valid credential got ${ok.status} ${ok.body.slice(0, 200)}`);
    const name = (JSON.parse(ok.body) as { name?: string }).name;
    assert(name === connectionUsers[k]!.name, `${v}: answered ${ok.body}, not the user's name`);
  }
  const refused = async (why: string, header?: [string, string]) => {
    const r = await get(header);
    assert(r.status === 401, `${v}: ${why} got ${r.status}, not 401`);
  };
  await refused('no credential');
  const [name, value] = credentials.get(v)![0]!;
  if (name === 'authorization') {
    const [badSignature, otherUser] = forgedTokens(value.slice('Bearer '.length));
    await refused('a changed signature', ['authorization', `Bearer ${badSignature}`]);
    await refused('a payload claiming another user', ['authorization', `Bearer ${otherUser}`]);
  } else {
    await refused('an unknown session id', ['cookie', `${SESSION_COOKIE}=${newId(32)}`]);
    await refused('a malformed session id', ['cookie', `${SESSION_COOKIE}=x`]);
    await refused('an expired session', credential(v, expiredUser!));
  }
  if (v === 'jwt-pg') await refused('a deleted user', credential(v, deletedUser!));
  if (v === 'jwt-revocation') await refused('a revoked session', credential(v, revokedUser!));
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Sample {
  round: number;
  variant: SessionVariant;
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  /** Mean bytes of an answer on the wire (status line, headers, body). */
  responseBytes: number;
  /** Cores' worth of CPU during the slice (1 = one core busy all along). */
  cores: { server: number; postgres: number; redis: number; driver: number; other: number | null };
  /** CPU microseconds per request of the server, of the PostgreSQL backends, of Redis. */
  usPerRequest: { server: number; postgres: number; redis: number };
  attempts: number;
}

let admin: pg.Client | undefined;
let redisPid: number | undefined;
const servers: Server[] = [];
/** Bytes of the request autocannon writes for each connection of a variant. */
const requestBytes = new Map<SessionVariant, number[]>();

async function slice(server: Server, seconds: number, round: number): Promise<Sample> {
  const v = server.variant;
  const headers = credentials.get(v)!;
  const sizes: number[] = [];
  const meter = new CpuMeter([
    { name: 'server', pids: () => [server.child.pid!] },
    { name: 'driver', pids: () => [process.pid] },
    { name: 'postgres', pids: async () => (await postgresPids(admin!, database)).backends },
    { name: 'redis', pids: () => (redisPid === undefined ? [] : [redisPid]) },
  ]);
  await meter.start();
  let next = 0;
  const run = await load(
    {
      url: `${server.url}${ROUTE}`,
      connections: settings.connections,
      pipelining: 1,
      duration: seconds,
      // Each connection is one user: its own token or session id.
      setupClient(client) {
        const header = headers[next++ % headers.length];
        if (header !== undefined) client.setHeaders({ [header[0]]: header[1] });
        const request = (client as unknown as { getRequestBuffer(): Buffer }).getRequestBuffer();
        sizes.push(request.length);
      },
    },
    v,
  );
  const reading = await meter.stop();
  requestBytes.set(v, sizes);
  const c = (name: string) => (reading.groups[name] ?? 0) / reading.wallUs;
  const known = c('server') + c('postgres') + c('redis') + c('driver');
  const requests = run.requests;
  return {
    round,
    variant: v,
    rps: run.rps,
    requests,
    p50: run.p50,
    p99: run.p99,
    responseBytes: round1(run.responseBytes),
    cores: {
      server: round2(c('server')),
      postgres: round2(c('postgres')),
      redis: round2(c('redis')),
      driver: round2(c('driver')),
      other:
        reading.machineBusyCores === null
          ? null
          : round2(Math.max(0, reading.machineBusyCores - known)),
    },
    usPerRequest: {
      server: round1((reading.groups['server'] ?? 0) / requests),
      postgres: round1((reading.groups['postgres'] ?? 0) / requests),
      redis: round1((reading.groups['redis'] ?? 0) / requests),
    },
    attempts: 1,
  };
}

// ---------------------------------------------------------------------------------------------
// Run

const started = performance.now();
let waitedForQuiet: boolean | null = null;
if (settings.waitLoad !== null) {
  waitedForQuiet = await waitForQuiet(settings.waitLoad, settings.waitMaxS);
}
const loadBefore = loadAverage();
process.stderr.write(
  `${settings.variants.length} servers, ${settings.rounds} rounds of ${settings.durationS} s after ` +
    `${settings.warmupS} s warm-up, ${settings.connections} connections: about ` +
    `${Math.round(settings.variants.length * (settings.warmupS + settings.rounds * settings.durationS) + 10)} s ` +
    `(load average ${loadBefore.join(' ')})\n`,
);

const samples: Sample[] = [];
const redis = createClient({ url: settings.redisUrl });
redis.on('error', () => {});
try {
  admin = new pg.Client({ connectionString: settings.adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    // Tables shaped like the laissez store's users, and a sessions table as session stores make
    // them: the id as primary key, the user, the expiry.
    await db.query(`
      CREATE TABLE users (
        id TEXT COLLATE "C" PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        email TEXT NOT NULL UNIQUE,
        roles TEXT[] NOT NULL DEFAULT '{user}',
        created_at BIGINT NOT NULL
      );
      CREATE TABLE sessions (
        id TEXT COLLATE "C" PRIMARY KEY,
        user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX sessions_user_id ON sessions (user_id);`);
    const now = Date.now();
    // The last three users are for the checks: one deleted, one revoked, one expired.
    const live = users.slice(0, users.length - 1);
    deletedUser = users[users.length - 1];
    revokedUser = users[users.length - 2];
    expiredUser = users[users.length - 3];
    await db.query(
      `INSERT INTO users (id, username, name, email, created_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])`,
      [
        live.map((u) => u.id),
        live.map((u) => u.username),
        live.map((u) => u.name),
        live.map((u) => u.email),
        live.map(() => now),
      ],
    );
    await db.query(
      `INSERT INTO sessions (id, user_id, created_at, expires_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])`,
      [
        live.map((u) => u.session),
        live.map((u) => u.id),
        live.map(() => now),
        live.map((u) => (u === expiredUser ? now - 1000 : now + 24 * 3600 * 1000)),
      ],
    );
    await db.query('VACUUM ANALYZE users');
    await db.query('VACUUM ANALYZE sessions');
  } finally {
    await db.end();
  }

  await redis.connect();
  redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]) || undefined;
  // The Redis sessions: the user as JSON, expiring with the session. The expired user has none.
  for (let i = 0; i < users.length; i += 1000) {
    await Promise.all(
      users
        .slice(i, i + 1000)
        .filter((u) => u !== expiredUser && u !== deletedUser)
        .map((u) =>
          redis.set(
            `${redisPrefix}sess:${u.session}`,
            JSON.stringify({
              id: u.id,
              username: u.username,
              name: u.name,
              email: u.email,
              roles: ['user'],
            }),
            { expiration: { type: 'EX', value: 3600 } },
          ),
        ),
    );
  }
  // The revocation list holds some ended sessions (and the checks' revoked user), as it would.
  const list = createRevocationList({ client: redis, prefix: `${redisPrefix}rev:` });
  const until = Date.now() + ACCESS_TTL_S * 1000;
  await Promise.all(
    [...Array.from({ length: REVOKED }, () => newId(9)), revokedUser!.sid].map((sid) =>
      list.revoke(sid, until),
    ),
  );

  servers.push(...(await Promise.all(settings.variants.map(startServer))));
  for (const server of servers) await check(server);
  process.stderr.write(
    `${database}: ${settings.users} users and sessions; every server answers the name to a valid credential and 401 otherwise\n`,
  );
  for (const server of servers) await slice(server, settings.warmupS, 0);
  process.stderr.write('warm-up done\n');
  samples.push(
    ...(await rotatingRounds({
      rounds: settings.rounds,
      cases: servers,
      retries: settings.retries,
      above: RETRY_ABOVE,
      run: (server, round) => slice(server, settings.durationS, round),
      otherOf: (s) => s.cores.other,
      describe: (server, s) =>
        `${server.variant.padEnd(15)} ${fmtInt.format(s.rps).padStart(7)} req/s  ` +
        `p99 ${s.p99.toFixed(2).padStart(6)} ms  cores: ${coresLine(s.cores)}`,
    })),
  );
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  if (redis.isOpen) {
    // Every key of this run, and only those.
    for await (const keys of redis.scanIterator({ MATCH: `${redisPrefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await redis.unlink(keys);
    }
    await redis.close().catch(() => {});
  }
  if (admin) await dropDatabase(admin, database);
}
const loadAfter = loadAverage();

// ---------------------------------------------------------------------------------------------
// Results

interface Summary {
  variant: SessionVariant;
  label: string;
  credential: string;
  lookup: string;
  rps: number;
  rpsSpreadPercent: number;
  /** Median over the rounds of req/s ÷ the HS256 JWT's req/s in the same round. */
  vsJwt: number | null;
  p50: number;
  p99: number;
  /** Bytes of the whole request autocannon sends (request line, Host, Connection, credential). */
  requestBytes: number;
  /** Bytes of the credential header line alone: `authorization: Bearer …\r\n` or `cookie: sid=…\r\n`. */
  credentialBytes: number;
  responseBytes: number;
  cores: Sample['cores'];
  usPerRequest: Sample['usPerRequest'];
}

const baseline = samples.filter((s) => s.variant === 'jwt-hs256');
const summaries: Summary[] = settings.variants.map((v) => {
  const list = samples.filter((s) => s.variant === v).sort((a, b) => a.round - b.round);
  const m = (f: (s: Sample) => number) => median(list.map(f));
  const creds = credentials.get(v)!;
  const info = SESSION_VARIANT_INFO[v];
  return {
    variant: v,
    label: info.label,
    credential: info.credential,
    lookup: info.lookup,
    rps: Math.round(m((s) => s.rps)),
    rpsSpreadPercent: round1(relativeMad(list.map((s) => s.rps))),
    vsJwt:
      baseline.length === 0
        ? null
        : round2(m((s) => s.rps / (baseline.find((b) => b.round === s.round)?.rps ?? Number.NaN))),
    p50: round2(m((s) => s.p50)),
    p99: round2(m((s) => s.p99)),
    requestBytes: round1(median(requestBytes.get(v) ?? [])),
    credentialBytes: round1(
      median(creds.map((c) => (c === undefined ? 0 : Buffer.byteLength(`${c[0]}: ${c[1]}\r\n`)))),
    ),
    responseBytes: round1(m((s) => s.responseBytes)),
    cores: {
      server: round2(m((s) => s.cores.server)),
      postgres: round2(m((s) => s.cores.postgres)),
      redis: round2(m((s) => s.cores.redis)),
      driver: round2(m((s) => s.cores.driver)),
      other: list.some((s) => s.cores.other === null) ? null : round2(m((s) => s.cores.other!)),
    },
    usPerRequest: {
      server: round1(m((s) => s.usPerRequest.server)),
      postgres: round1(m((s) => s.usPerRequest.postgres)),
      redis: round1(m((s) => s.usPerRequest.redis)),
    },
  };
});

const exampleToken = (v: SessionVariant) => {
  const value = credentials.get(v)?.[0]?.[1];
  return value?.startsWith('Bearer ') ? value.slice(7) : undefined;
};
const tokenInfo = (v: SessionVariant) => {
  const token = exampleToken(v);
  if (token === undefined) return undefined;
  const [h, p] = token.split('.') as [string, string];
  return {
    length: token.length,
    header: JSON.parse(Buffer.from(h, 'base64url').toString()),
    claims: Object.keys(JSON.parse(Buffer.from(p, 'base64url').toString())),
  };
};
const meta = {
  ...machineMeta(),
  versions: {
    laissez: packageVersion('package.json'),
    fastify: packageVersion('node_modules/fastify/package.json'),
    '@fastify/cookie': packageVersion('node_modules/@fastify/cookie/package.json'),
    pg: packageVersion('node_modules/pg/package.json'),
    '@redis/client': packageVersion('node_modules/@redis/client/package.json'),
    autocannon: packageVersion('node_modules/autocannon/package.json'),
  },
  settings: {
    rounds: settings.rounds,
    durationS: settings.durationS,
    warmupS: settings.warmupS,
    connections: settings.connections,
    pipelining: 1,
    retries: settings.retries,
    retryAboveOtherCores: RETRY_ABOVE,
    variants: settings.variants,
    users: settings.users,
    revokedSessionsInList: REVOKED,
    pgPoolMax: 10,
  },
  tokens: {
    'jwt-hs256': tokenInfo('jwt-hs256'),
    'jwt-eddsa': tokenInfo('jwt-eddsa'),
    'jwt-pg': tokenInfo('jwt-pg'),
    sessionId: '32 random bytes, base64url: 43 characters',
  },
  loadAverage: { before: loadBefore, after: loadAfter, waitedForQuiet },
  disturbance: disturbanceOf(
    samples.map((s) => s.cores.other),
    samples.filter((s) => s.attempts > 1).length,
  ),
  durationS: elapsedS(started),
};

const sessionHeaders = [
  'variant',
  'lookup',
  'req/s',
  '÷ JWT HS256',
  'p50 ms',
  'p99 ms',
  'request bytes',
  'credential header bytes',
  'response bytes',
  'server µs/req',
  'lookup µs/req',
  'server CPU',
  'postgres / redis CPU',
  'driver CPU',
];
const cells = summaries.map((s) => [
  s.label,
  s.lookup,
  `${fmtInt.format(s.rps)} ±${s.rpsSpreadPercent.toFixed(1)}%`,
  s.vsJwt === null ? 'n/a' : s.vsJwt.toFixed(2),
  s.p50.toFixed(2),
  s.p99.toFixed(2),
  fmtInt.format(s.requestBytes),
  fmtInt.format(s.credentialBytes),
  fmtInt.format(s.responseBytes),
  s.usPerRequest.server.toFixed(0),
  s.lookup === 'PostgreSQL'
    ? s.usPerRequest.postgres.toFixed(0)
    : s.lookup === 'Redis'
      ? s.usPerRequest.redis.toFixed(0)
      : '–',
  pct(s.cores.server),
  `${pct(s.cores.postgres)} / ${pct(s.cores.redis)}`,
  pct(s.cores.driver),
]);

// The chart: requests per second, and bytes each request carries to prove who it is.
const COLORS = { none: '#2da44e', Redis: '#cf222e', PostgreSQL: '#0969da' } as const;
const BASELINE_COLOR = '#8c959f';
const color = (s: Summary) =>
  s.variant === 'baseline'
    ? BASELINE_COLOR
    : (COLORS[s.lookup as keyof typeof COLORS] ?? BASELINE_COLOR);
const svg = barChart({
  title: 'GET /me: a JWT verified locally, or a lookup per request',
  subtitle: `${meta.date.slice(0, 10)} · Fastify, one process each · ${settings.connections} connections · ${meta.cores} cores (${meta.cpu}) · medians of ${settings.rounds} rounds · load average ${loadBefore[0]} before, ${loadAfter[0]} after`,
  legend: [
    ...(settings.variants.includes('baseline')
      ? [{ label: 'no check at all', color: BASELINE_COLOR }]
      : []),
    { label: 'JWT, no lookup', color: COLORS.none },
    { label: 'Redis per request', color: COLORS.Redis },
    { label: 'PostgreSQL per request', color: COLORS.PostgreSQL },
  ],
  panels: [
    {
      title: 'Requests per second (higher is better; p99 latency after the bar)',
      bars: summaries.map((s) => ({
        label: s.label,
        value: s.rps,
        note: `${fmtInt.format(s.rps)}/s · p99 ${s.p99.toFixed(1)} ms`,
        color: color(s),
      })),
    },
    {
      title: 'Bytes per request on the wire (the credential header; whole request after the bar)',
      bars: summaries.map((s) => ({
        label: s.label,
        value: s.credentialBytes,
        note: `${fmtInt.format(s.credentialBytes)} B · request ${fmtInt.format(s.requestBytes)} B`,
        color: color(s),
      })),
    },
    {
      title: 'CPU per request, microseconds: the server, plus PostgreSQL or Redis',
      bars: summaries.map((s) => {
        const lookup = s.usPerRequest.postgres + (s.lookup === 'Redis' ? s.usPerRequest.redis : 0);
        return {
          label: s.label,
          value: s.usPerRequest.server + lookup,
          note: `${fmtInt.format(s.usPerRequest.server)} µs${s.lookup === 'none' ? '' : ` + ${fmtInt.format(lookup)} µs in ${s.lookup}`}`,
          color: color(s),
        };
      }),
    },
  ],
  footnote:
    'All on one machine over loopback: between machines, each lookup also adds a network round trip (typically 0.1 to 1 ms) to the latency, though little CPU. ' +
    'Source: npm run bench:sessions (bench/sessions.ts); figures in bench/results/sessions-latest.json.',
});

report({
  name: 'sessions',
  title: 'JWT or session lookup (`npm run bench:sessions`)',
  bullets: [
    machineLine(meta),
    `${settings.rounds} interleaved rounds of ${settings.durationS} s per server after ${settings.warmupS} s warm-up; ` +
      `autocannon, ${settings.connections} connections (one user each), pipelining 1, from a second process over loopback; ` +
      `medians of the rounds; ± = median absolute deviation of the rounds' req/s`,
    loadLine(loadBefore, loadAfter, waitedForQuiet),
    disturbanceLine(meta.disturbance),
    'request bytes: the whole request autocannon writes (request line, Host, Connection: keep-alive, the credential); credential header bytes: the `authorization: Bearer …` or `cookie: sid=…` line alone, CRLF included; response bytes: status line, headers and body as received',
    'server µs/req: CPU time of the server process per request (/proc/<pid>/stat); lookup µs/req: CPU time of the PostgreSQL backends of the benchmark database, or of the redis-server process (shared with anything else using it), per request',
    'CPU columns: share of one core used during the slices',
  ],
  table: {
    headers: sessionHeaders,
    rows: cells,
    right: columnsFrom(sessionHeaders, 2),
  },
  sections: [
    {
      heading: 'What each variant does',
      lines: settings.variants.map(
        (v) => `**${SESSION_VARIANT_INFO[v].label}** (\`${v}\`): ${SESSION_VARIANT_INFO[v].how}.`,
      ),
      fileOnly: true,
    },
    { heading: 'Chart', intro: '![chart](sessions-latest.svg)', fileOnly: true },
  ],
  // Compact: the medians, not every slice of every round.
  json: { meta, summaries },
  write: settings.write,
  extra: { svg },
});
