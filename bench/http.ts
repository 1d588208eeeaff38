// npm run bench:http — requests/s and p99 latency of an unprotected route and the same route
// behind a token check, for Fastify, Express and Hono with laissez and with the usual peers
// (@fastify/jwt, jsonwebtoken). Each server runs in its own process (bench/http-server.ts);
// autocannon drives it from this process over loopback, one server at a time, in interleaved
// rounds; medians of the rounds are reported. See bench/README.md.
//
// Options (flags or environment): --rounds N (BENCH_ROUNDS, default 7), --duration S
// (BENCH_DURATION, seconds per slice, default 3), --warmup S (BENCH_WARMUP, default 1),
// --connections N (BENCH_CONNECTIONS, default 32), --retries N (BENCH_RETRIES, default 1: runs
// again a slice during which other programs used over a quarter of a core), --wait S (BENCH_WAIT,
// default 30: before a slice, wait up to S seconds for other programs to calm down), --variants a,b
// (BENCH_VARIANTS), --quick (3 rounds of 1 s), --no-write (print only; leave bench/results alone).
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  assert,
  benchFlags,
  elapsedS,
  fmtInt,
  forgedTokens,
  machineCpu,
  machineLine,
  machineMeta,
  packageVersion,
  pct,
  quietestSlice,
  report,
  round2,
  round4,
  versionsLine,
} from './lib/common.ts';
import {
  benchmarkToken,
  type CpuReply,
  DEFAULT_VARIANTS,
  FASTIFY_GOAL,
  ROUTES,
  type Route,
  SUBJECT,
  UNPROTECTED_BODY,
  VARIANT_INFO,
  VARIANTS,
  type Variant,
} from './lib/http-variants.ts';
import { load } from './lib/load.ts';
import { median, relativeMad } from './lib/measure.ts';
import { type ServerProcess, spawnScript } from './lib/spawn.ts';

// ---------------------------------------------------------------------------------------------
// Settings

const flags = benchFlags([
  'rounds',
  'duration',
  'warmup',
  'connections',
  'retries',
  'wait',
  'variants',
]);
const quick = flags.quick;
const settings = {
  rounds: flags.int('rounds', 'BENCH_ROUNDS', quick ? 3 : 7),
  durationS: flags.number('duration', 'BENCH_DURATION', quick ? 1 : 3),
  warmupS: flags.number('warmup', 'BENCH_WARMUP', quick ? 0.5 : 1),
  connections: flags.int('connections', 'BENCH_CONNECTIONS', 32),
  pipelining: 1,
  retries: flags.count('retries', 'BENCH_RETRIES', 1),
  waitS: flags.count('wait', 'BENCH_WAIT', 30),
  variants: flags.list('variants', 'BENCH_VARIANTS', VARIANTS, DEFAULT_VARIANTS),
  write: flags.write,
};
const ROUTE_NAMES: readonly Route[] = ['unprotected', 'protected'];
/** A slice is run again when other programs used more than this share of a core meanwhile. */
const RETRY_ABOVE = 0.25;

// ---------------------------------------------------------------------------------------------
// The token: HS256 with a 32-byte random secret given to every library as the same string, and
// the claims an access token from an auth server carries.

const { config, token } = benchmarkToken();
const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
for (const claim of ['sub', 'roles', 'iss', 'aud', 'exp', 'iat', 'jti']) {
  if (!(claim in claims)) throw new Error(`the benchmark token has no ${claim}`);
}
const authorization = `Bearer ${token}`;

// ---------------------------------------------------------------------------------------------
// Servers

interface Server extends ServerProcess {
  variant: Variant;
  /** The server's CPU time so far, in microseconds (user + system). */
  cpu(): Promise<number>;
}

const serverScript = fileURLToPath(new URL('./http-server.ts', import.meta.url));

async function startServer(variant: Variant): Promise<Server> {
  const server = await spawnScript(serverScript, [variant], {
    name: `${variant} server`,
    env: { BENCH_HTTP_CONFIG: JSON.stringify(config) },
  });
  const waiting: ((micros: number) => void)[] = [];
  server.child.on('message', (message: CpuReply) => {
    if (message?.type === 'cpu') waiting.shift()?.(message.user + message.system);
  });
  return {
    ...server,
    variant,
    cpu() {
      return new Promise((resolve) => {
        waiting.push(resolve);
        server.child.send({ type: 'cpu' });
      });
    },
  };
}

/** Before any timing: each route answers what it should, and the protected one refuses forgeries. */
async function check(server: Server): Promise<void> {
  const name = server.variant;
  const get = (route: Route, auth?: string) =>
    fetch(
      `${server.url}${ROUTES[route]}`,
      auth === undefined ? {} : { headers: { authorization: auth } },
    );
  const open = await get('unprotected');
  assert(open.status === 200, `${name}: GET /unprotected answered ${open.status}`);
  assert(
    JSON.stringify(await open.json()) === JSON.stringify(UNPROTECTED_BODY),
    `${name}: GET /unprotected answered another body`,
  );
  const ok = await get('protected', authorization);
  const body = await ok.text();
  assert(
    ok.status === 200,
    `${name}: GET /protected refused the benchmark token (${ok.status} ${body.slice(0, 200)}); the figures would measure refusals`,
  );
  assert(
    JSON.stringify(JSON.parse(body)) === JSON.stringify({ hello: SUBJECT }),
    `${name}: GET /protected answered ${body.slice(0, 200)}`,
  );
  const none = await get('protected');
  await none.arrayBuffer();
  assert(none.status === 401, `${name}: GET /protected without a token answered ${none.status}`);
  for (const forged of forgedTokens(token)) {
    const refused = await get('protected', `Bearer ${forged}`);
    await refused.arrayBuffer();
    assert(refused.status === 401, `${name}: a forged token got ${refused.status}, not 401`);
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Sample {
  round: number;
  variant: Variant;
  route: Route;
  /** Completed requests per second. */
  rps: number;
  requests: number;
  /** Latency of the 2xx answers, in milliseconds (autocannon's per-request times, exact ranks). */
  p50: number;
  p99: number;
  max: number;
  /** Share of one core used by the server process and by this process (autocannon) during the slice. */
  serverCpu: number;
  /** Server CPU time per completed request, in microseconds: the cost, less sensitive to noise. */
  serverUsPerRequest: number;
  clientCpu: number;
  /**
   * Cores' worth of CPU used by everything else on the machine during the slice (other programs,
   * the kernel's share not billed to either process, steal): the disturbance. null off Linux.
   */
  otherCpu: number | null;
  /** How many times the slice was run (more than 1 when the machine was busy with other work). */
  attempts: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Before a slice, while every process of the benchmark is idle: waits (up to `maxS` seconds) until
 * other programs use less than RETRY_ABOVE of a core. Returns the seconds waited.
 */
async function waitForQuiet(maxS: number): Promise<number> {
  const startedAt = performance.now();
  let told = false;
  while ((performance.now() - startedAt) / 1000 < maxS) {
    const before = machineCpu();
    await sleep(200);
    const after = machineCpu();
    if (before === undefined || after === undefined) return 0;
    const busy = ((after.busy - before.busy) / (after.total - before.total || 1)) * cpus().length;
    if (busy <= RETRY_ABOVE) break;
    if (!told) process.stderr.write(`machine busy (${pct(busy)} of a core): waiting for quiet\n`);
    told = true;
  }
  return round2((performance.now() - startedAt) / 1000);
}

/** One autocannon run against a route. */
async function slice(
  server: Server,
  route: Route,
  seconds: number,
  round: number,
): Promise<Sample> {
  const cpuBefore = await server.cpu();
  const machineBefore = machineCpu();
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const run = await load(
    {
      url: `${server.url}${ROUTES[route]}`,
      connections: settings.connections,
      pipelining: settings.pipelining,
      duration: seconds,
      ...(route === 'protected' ? { headers: { authorization } } : {}),
    },
    `${server.variant} ${ROUTES[route]}`,
    route === 'protected' ? 'The token was refused.' : '',
  );
  const wallUs = (performance.now() - started) * 1000;
  const client = process.cpuUsage(clientBefore);
  const machineAfter = machineCpu();
  const serverUs = (await server.cpu()) - cpuBefore;
  const sample: Sample = {
    round,
    variant: server.variant,
    route,
    rps: run.rps,
    requests: run.requests,
    p50: run.p50,
    p99: run.p99,
    max: run.max,
    serverCpu: round2(serverUs / wallUs),
    serverUsPerRequest: round2(serverUs / run.requests),
    clientCpu: round2((client.user + client.system) / wallUs),
    otherCpu: null,
    attempts: 1,
  };
  if (machineBefore !== undefined && machineAfter !== undefined) {
    const busyCores =
      ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) *
      cpus().length;
    sample.otherCpu = round2(Math.max(0, busyCores - sample.serverCpu - sample.clientCpu));
  }
  return sample;
}

const started = performance.now();
const slicesPerRound = settings.variants.length * ROUTE_NAMES.length;
const estimate =
  slicesPerRound * (settings.warmupS + settings.rounds * settings.durationS) +
  settings.variants.length * 0.5;
process.stderr.write(
  `${settings.variants.length} servers × 2 routes, ${settings.rounds} round${settings.rounds === 1 ? '' : 's'} of ` +
    `${settings.durationS} s per route after ${settings.warmupS} s warm-up, ${settings.connections} connections: ` +
    `about ${Math.round(estimate)} s (more if busy slices are run again)\n`,
);

const servers: Server[] = [];
const samples: Sample[] = [];
let waitedS = 0;
try {
  // All servers start at once and stay up; only the one being measured gets traffic.
  servers.push(...(await Promise.all(settings.variants.map(startServer))));
  for (const server of servers) await check(server);
  process.stderr.write('every server answers 200 with the token and 401 to forgeries\n');
  for (const server of servers) {
    for (const route of ROUTE_NAMES) await slice(server, route, settings.warmupS, 0);
  }
  process.stderr.write('warm-up done\n');
  for (let round = 1; round <= settings.rounds; round++) {
    for (let k = 0; k < servers.length; k++) {
      // Rotate the servers each round, and alternate which route goes first.
      const server = servers[(k + round - 1) % servers.length]!;
      const routes = (k + round) % 2 === 0 ? ROUTE_NAMES : [...ROUTE_NAMES].reverse();
      for (const route of routes) {
        // A slice during which other programs took a good share of the CPU is run again (up to
        // --retries times); the quietest attempt is kept.
        const kept = await quietestSlice(
          settings.retries,
          RETRY_ABOVE,
          async () => {
            if (settings.waitS > 0) waitedS += await waitForQuiet(settings.waitS);
            return slice(server, route, settings.durationS, round);
          },
          (s) => s.otherCpu,
          (s, again) =>
            process.stderr.write(
              `round ${round}/${settings.rounds} ${server.variant.padEnd(22)} ${route.padEnd(11)} ` +
                `${fmtInt.format(s.rps).padStart(7)} req/s  p99 ${s.p99.toFixed(2).padStart(6)} ms  ` +
                `cpu server ${pct(s.serverCpu)} client ${pct(s.clientCpu)}` +
                `${s.otherCpu === null ? '' : ` other ${pct(s.otherCpu)}`}` +
                `${again ? ' (busy machine: again)' : ''}\n`,
            ),
        );
        samples.push(kept);
      }
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}

// ---------------------------------------------------------------------------------------------
// Results

interface RouteSummary {
  /** Median requests/s over the rounds, and the rounds' median absolute deviation (% of it). */
  rps: number;
  rpsSpreadPercent: number;
  /** Median over the rounds of each round's p50 and p99, in milliseconds. */
  p50: number;
  p99: number;
  serverCpu: number;
  clientCpu: number;
  serverUsPerRequest: number;
}

interface VariantSummary {
  variant: Variant;
  framework: string;
  auth: string;
  unprotected: RouteSummary;
  protected: RouteSummary;
  /** Median over the rounds of protected ÷ unprotected requests/s in the same round. */
  ratio: number;
  ratios: number[];
  /**
   * Median over the rounds of the server's CPU time per request, protected minus unprotected, in
   * microseconds: what the check costs the server, whatever the client and the machine did.
   */
  authUsPerRequest: number;
}

const of = (variant: Variant, route: Route) =>
  samples
    .filter((s) => s.variant === variant && s.route === route)
    .sort((a, b) => a.round - b.round);

function routeSummary(list: Sample[]): RouteSummary {
  const rps = list.map((s) => s.rps);
  return {
    rps: Math.round(median(rps)),
    rpsSpreadPercent: round2(relativeMad(rps)),
    p50: round2(median(list.map((s) => s.p50))),
    p99: round2(median(list.map((s) => s.p99))),
    serverCpu: round2(median(list.map((s) => s.serverCpu))),
    clientCpu: round2(median(list.map((s) => s.clientCpu))),
    serverUsPerRequest: round2(median(list.map((s) => s.serverUsPerRequest))),
  };
}

/** Per-round ratio of two series measured in the same rounds, then the median of those. */
function pairedRatios(a: Sample[], b: Sample[]): number[] {
  return a.map((s, i) => round4(s.rps / b[i]!.rps));
}

const summaries: VariantSummary[] = settings.variants.map((variant) => {
  const unprotected = of(variant, 'unprotected');
  const prot = of(variant, 'protected');
  const ratios = pairedRatios(prot, unprotected);
  return {
    variant,
    framework: VARIANT_INFO[variant].framework,
    auth: VARIANT_INFO[variant].auth,
    unprotected: routeSummary(unprotected),
    protected: routeSummary(prot),
    ratio: round4(median(ratios)),
    ratios,
    authUsPerRequest: round2(
      median(prot.map((s, i) => s.serverUsPerRequest - unprotected[i]!.serverUsPerRequest)),
    ),
  };
});
const summaryOf = (v: Variant) => summaries.find((s) => s.variant === v);

interface Comparison {
  label: string;
  /** Median over the rounds of laissez's protected req/s ÷ the peer's, same round. */
  ratio: number;
  ratios: number[];
}

const comparisons: Comparison[] = [];
for (const [mine, peer] of [
  ['fastify-laissez', 'fastify-jwt'],
  ['fastify-laissez-cache', 'fastify-jwt'],
  ['express-laissez', 'express-jsonwebtoken'],
  ['express-laissez-cache', 'express-jsonwebtoken'],
] as const) {
  if (!settings.variants.includes(mine) || !settings.variants.includes(peer)) continue;
  const ratios = pairedRatios(of(mine, 'protected'), of(peer, 'protected'));
  comparisons.push({
    label: `${VARIANT_INFO[mine].framework}: ${VARIANT_INFO[mine].auth} ÷ ${VARIANT_INFO[peer].auth}, protected req/s`,
    ratio: round4(median(ratios)),
    ratios,
  });
}

interface Target {
  label: string;
  goal: number;
  ratio: number | null;
  /** The peer's protected ÷ unprotected in this run, for reference. */
  peer: string;
  result: 'PASS' | 'MISS' | 'SKIP';
}

function target(variant: Variant, peer: Variant, goal: number): Target {
  const ratio = summaryOf(variant)?.ratio ?? null;
  const p = summaryOf(peer);
  return {
    label: `${VARIANT_INFO[variant].framework} + laissez protected ÷ unprotected`,
    goal,
    ratio,
    peer: p === undefined ? '' : `${VARIANT_INFO[peer].auth} here: ${p.ratio.toFixed(2)}`,
    result: ratio === null ? 'SKIP' : ratio >= goal ? 'PASS' : 'MISS',
  };
}
const targets = [
  target('fastify-laissez', 'fastify-jwt', FASTIFY_GOAL),
  target('express-laissez', 'express-jsonwebtoken', 0.75),
];

/** How busy the rest of the machine was while the rounds ran: the benchmark's own noise floor. */
const others = samples.flatMap((s) => (s.otherCpu === null ? [] : [s.otherCpu]));
const DISTURBED = 0.1;
const disturbance =
  others.length === 0
    ? null
    : {
        medianOtherCpu: round2(median(others)),
        maxOtherCpu: round2(Math.max(...others)),
        /** Slices during which other work used more than a tenth of a core. */
        disturbedSlices: others.filter((o) => o > DISTURBED).length,
        slices: others.length,
        /** Slices run again because the machine was busy, and the extra runs. */
        retriedSlices: samples.filter((s) => s.attempts > 1).length,
        extraRuns: samples.reduce((n, s) => n + s.attempts - 1, 0),
        /** Seconds spent waiting for the machine to be quiet before slices. */
        waitedS: Math.round(waitedS),
      };

const meta = {
  ...machineMeta(),
  versions: {
    laissez: packageVersion('package.json'),
    fastify: packageVersion('node_modules/fastify/package.json'),
    '@fastify/jwt': packageVersion('node_modules/@fastify/jwt/package.json'),
    express: packageVersion('node_modules/express/package.json'),
    jsonwebtoken: packageVersion('node_modules/jsonwebtoken/package.json'),
    hono: packageVersion('node_modules/hono/package.json'),
    '@hono/node-server': packageVersion('node_modules/@hono/node-server/package.json'),
    autocannon: packageVersion('node_modules/autocannon/package.json'),
  },
  settings: {
    rounds: settings.rounds,
    durationS: settings.durationS,
    warmupS: settings.warmupS,
    connections: settings.connections,
    pipelining: settings.pipelining,
    retries: settings.retries,
    waitS: settings.waitS,
    retryAboveOtherCpu: RETRY_ABOVE,
    variants: settings.variants,
  },
  token: {
    alg: 'HS256',
    typ: 'at+jwt',
    length: token.length,
    claims: Object.keys(claims),
    secret: '32 random bytes as a 43-character base64url string, the same for every library',
  },
  durationS: elapsedS(started),
  disturbance,
};

const fmtComparison = (c: Comparison) => `${c.label}: ${c.ratio.toFixed(2)}x`;
const fmtTarget = (t: Target) =>
  `${t.result} ${t.label}: ${t.ratio === null ? 'n/a' : t.ratio.toFixed(2)} (goal >= ${t.goal.toFixed(2)}${t.peer ? `; ${t.peer}` : ''})`;
const noise =
  disturbance === null
    ? 'other load on the machine: not measured (no /proc/stat)'
    : `other load on the machine during the slices: median ${pct(disturbance.medianOtherCpu)} of a core, ` +
      `max ${pct(disturbance.maxOtherCpu)}; ${disturbance.disturbedSlices} of ${disturbance.slices} kept slices above ${pct(DISTURBED)}; ` +
      `${disturbance.retriedSlices} slices run again (${disturbance.extraRuns} extra runs) because other load was above ${pct(RETRY_ABOVE)}; ` +
      `${Math.round(waitedS)} s spent waiting for quiet`;
if (disturbance !== null && disturbance.disturbedSlices > disturbance.slices / 4) {
  process.stderr.write('warning: other programs competed for the CPU; rerun on a quiet machine\n');
}
const withRps = (r: RouteSummary) => `${fmtInt.format(r.rps)} ±${r.rpsSpreadPercent.toFixed(1)}%`;
const pair = (a: string | number, b: string | number) => `${a} / ${b}`;
// Compact: the medians and spreads, not every slice of every round.
const compact = <T extends { ratios: number[] }>({ ratios: _, ...rest }: T) => rest;
report({
  name: 'http',
  title: 'HTTP benchmark (`npm run bench:http`)',
  bullets: [
    machineLine(meta),
    versionsLine(meta.versions),
    `${settings.rounds} interleaved round${settings.rounds === 1 ? '' : 's'} of ${settings.durationS} s per route after ` +
      `${settings.warmupS} s warm-up; autocannon, ${settings.connections} connections, pipelining 1, from a second process ` +
      `over loopback; medians of the rounds; ± = median absolute deviation of the rounds' req/s`,
    "p99: median over the rounds of each round's 99th percentile latency of the 2xx answers",
    "protected ÷ unprotected: median over the rounds of the two routes' req/s in the same round, same server",
    'server µs/req: CPU time of the server process per request, unprotected / protected (median of the rounds); check µs/req: the difference, paired by round',
    'server / client CPU: share of one core used by the server process and by autocannon during the unprotected / protected slices',
    noise,
  ],
  table: {
    headers: [
      'framework',
      'auth',
      'unprotected req/s',
      'p99 ms',
      'protected req/s',
      'p99 ms',
      'protected ÷ unprotected',
      'server µs/req',
      'check µs/req',
      'server CPU',
      'client CPU',
    ],
    right: new Set([2, 3, 4, 5, 6, 7, 8, 9, 10]),
    rows: summaries.map(({ unprotected: u, protected: p, ...s }) => [
      s.framework,
      s.auth,
      withRps(u),
      u.p99.toFixed(2),
      withRps(p),
      p.p99.toFixed(2),
      s.ratio.toFixed(2),
      pair(u.serverUsPerRequest.toFixed(1), p.serverUsPerRequest.toFixed(1)),
      s.authUsPerRequest.toFixed(1),
      pair(pct(u.serverCpu), pct(p.serverCpu)),
      pair(pct(u.clientCpu), pct(p.clientCpu)),
    ]),
  },
  sections: [
    ...(comparisons.length > 0
      ? [{ heading: 'laissez against the peers', lines: comparisons.map(fmtComparison) }]
      : []),
    { heading: 'Targets', lines: targets.map(fmtTarget) },
  ],
  json: { meta, summaries: summaries.map(compact), comparisons: comparisons.map(compact), targets },
  write: settings.write,
});
