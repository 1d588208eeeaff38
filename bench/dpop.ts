// npm run bench:dpop — what DPoP (RFC 9449) costs a resource server (issue 19).
// 1. The per-request DPoP check of the middleware (the proof's parse, its ES256 signature, htm,
//    htu, iat, ath, the cnf.jkt binding and the in-memory replay cache) against its floor: one bare
//    ES256 verification (node:crypto, key imported once), which no proof check can go below.
//    Interleaved rounds in this process; goal: check ÷ floor <= 1.3.
// 2. Protected req/s on a laissez Fastify server (bench/lib/dpop-server.ts, its own process) with
//    DPoP (a bound token and a fresh proof per request) against Bearer, same key and verify cache,
//    in interleaved rounds; median of the per-round ratios. Proofs are made before each slice, so
//    the load generator signs nothing while it measures.
// Writes bench/results/dpop-latest.{json,md}.
//
// Options: --rounds N (micro rounds, default 7), --slice MS (default 300), --http-rounds N
// (default 5), --duration S (seconds per HTTP slice, default 2), --connections N (default 32),
// --quick (3 micro rounds of 100 ms, 2 HTTP rounds of 1 s), --no-write.
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createProofSigner, createSigner, type Jwk } from '@laissez/jwt';
import { prepareDpop } from '../packages/middleware/src/dpop.ts';
import { createMemoryReplayCache } from '../packages/middleware/src/replay.ts';
import { benchFlags, loadAverage, machineLine, machineMeta, report, round2 } from './lib/common.ts';
import { load } from './lib/load.ts';
import { type BenchCase, median, relativeMad, runRounds } from './lib/measure.ts';
import { spawnScript } from './lib/spawn.ts';

const flags = benchFlags(['rounds', 'slice', 'http-rounds', 'duration', 'connections']);
const settings = {
  rounds: flags.int('rounds', 'BENCH_ROUNDS', flags.quick ? 3 : 7),
  sliceMs: flags.int('slice', 'BENCH_SLICE_MS', flags.quick ? 100 : 300),
  httpRounds: flags.int('http-rounds', 'BENCH_HTTP_ROUNDS', flags.quick ? 2 : 5),
  duration: flags.int('duration', 'BENCH_DURATION', flags.quick ? 1 : 2),
  connections: flags.int('connections', 'BENCH_CONNECTIONS', 32),
};
const GOAL = 1.3;
const PUBLIC_URL = 'http://bench.local';

// The auth server's key (ES256, as a fleet of resource servers would verify) and the client's.
const server = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const sign = createSigner({
  key: server.privateKey,
  algorithm: 'ES256',
  typ: 'at+jwt',
  audience: 'api',
  expiresIn: 900,
});
const prove = createProofSigner({
  key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  algorithm: 'ES256',
});
const bound = sign({ sub: 'u', cnf: { jkt: prove.jkt } });
const bearer = sign({ sub: 'u' });
const boundClaims = JSON.parse(Buffer.from(bound.split('.')[1]!, 'base64url').toString());

/** `n` fresh proofs of GET `path` with the bound token (each accepted once). */
function proofs(n: number, path: string): string[] {
  const url = `${PUBLIC_URL}${path}`;
  return Array.from({ length: n }, () => prove({ method: 'GET', url, accessToken: bound }));
}

const loadBefore = loadAverage();

// 1. The check against the floor.
const layer = prepareDpop(
  'required',
  PUBLIC_URL,
  { replayCache: createMemoryReplayCache({ max: 2_000_000 }) },
  (error) => {
    throw error;
  },
);
// Enough fresh proofs for the warm-up and every round (a proof is accepted once); made up front.
const poolSize = Math.ceil((settings.rounds + 2) * settings.sliceMs * 40);
process.stderr.write(`making ${poolSize} proofs\n`);
const pool = proofs(poolSize, '/dpop');
let next = 0;
const floorProof = pool[0]!;
const dot = floorProof.lastIndexOf('.');
const floorInput = Buffer.from(floorProof.slice(0, dot));
const floorSignature = Buffer.from(floorProof.slice(dot + 1), 'base64url');
const floorKey = createPublicKey({ key: prove.jwk as Jwk, format: 'jwk' });
const cases: BenchCase[] = [
  {
    id: 'one ES256 verification (floor)',
    async: false,
    run: () =>
      verify('sha256', floorInput, { key: floorKey, dsaEncoding: 'ieee-p1363' }, floorSignature),
  },
  {
    id: 'DPoP check (proof + binding + replay)',
    async: false,
    run: () => {
      const dpop = pool[next++];
      if (dpop === undefined) throw new Error('out of fresh proofs: lower --rounds or --slice');
      const refused = layer.check(bound, boundClaims, { method: 'GET', url: '/dpop', dpop });
      if (refused !== undefined) throw new Error(`refused: ${JSON.stringify(refused)}`);
      return refused;
    },
  },
];
const samples = await runRounds(cases, {
  rounds: settings.rounds,
  sliceMs: settings.sliceMs,
  warmupMs: settings.sliceMs,
  onRound: (round) => process.stderr.write(`micro round ${round}/${settings.rounds}\n`),
});
const us = (id: string) => samples.get(id)!.map((opsPerSec) => 1e6 / opsPerSec);
const floorUs = us(cases[0]!.id);
const checkUs = us(cases[1]!.id);
const checkRatio = median(checkUs.map((c, i) => c / floorUs[i]!));

// 2. Protected req/s, DPoP against Bearer.
const jwk = createPublicKey(server.privateKey).export({ format: 'jwk' });
const child = await spawnScript(
  fileURLToPath(new URL('./lib/dpop-server.ts', import.meta.url)),
  [],
  {
    name: 'dpop server',
    env: { BENCH_DPOP: JSON.stringify({ jwk, publicUrl: PUBLIC_URL }) },
  },
);
let rps: { dpop: number[]; bearer: number[]; ratio: number };
try {
  let capacity = 20_000;
  const slice = async (route: 'dpop' | 'bearer', seconds: number) => {
    const common = {
      url: `${child.url}/${route}`,
      connections: settings.connections,
      duration: seconds,
    };
    if (route === 'bearer') {
      return (await load({ ...common, headers: { authorization: `Bearer ${bearer}` } }, route)).rps;
    }
    const fresh = proofs(Math.ceil(capacity * seconds * 1.5), '/dpop');
    let i = 0;
    const run = await load(
      {
        ...common,
        headers: { authorization: `DPoP ${bound}` },
        requests: [
          {
            method: 'GET',
            // A fresh proof per request; past the last one the server refuses and the run stops.
            setupRequest: (request) => ({
              ...request,
              headers: { ...request.headers, dpop: fresh[i++] ?? fresh[0]! },
            }),
          },
        ],
      },
      route,
      'more requests than proofs made for the slice',
    );
    capacity = Math.max(capacity, run.rps);
    return run.rps;
  };
  process.stderr.write(
    `HTTP warm-up; then ${settings.httpRounds} rounds of ${settings.duration} s per route\n`,
  );
  await slice('bearer', 1);
  await slice('dpop', 1);
  const dpop: number[] = [];
  const plain: number[] = [];
  for (let round = 0; round < settings.httpRounds; round++) {
    if (round % 2 === 0) {
      dpop.push(await slice('dpop', settings.duration));
      plain.push(await slice('bearer', settings.duration));
    } else {
      plain.push(await slice('bearer', settings.duration));
      dpop.push(await slice('dpop', settings.duration));
    }
    process.stderr.write(`HTTP round ${round + 1}/${settings.httpRounds}\n`);
  }
  rps = { dpop, bearer: plain, ratio: median(dpop.map((d, i) => d / plain[i]!)) };
} finally {
  await child.stop();
}

const meta = machineMeta();
const result = {
  meta: {
    ...meta,
    settings: { ...settings, goalRatio: GOAL },
    loadAverage: { before: loadBefore, after: loadAverage() },
  },
  perRequest: {
    floorMicroseconds: round2(median(floorUs)),
    floorSpreadPercent: round2(relativeMad(floorUs)),
    checkMicroseconds: round2(median(checkUs)),
    checkSpreadPercent: round2(relativeMad(checkUs)),
    ratio: round2(checkRatio),
    met: checkRatio <= GOAL,
  },
  reqPerSec: {
    dpop: Math.round(median(rps.dpop)),
    bearer: Math.round(median(rps.bearer)),
    ratio: round2(rps.ratio),
  },
};
report({
  name: 'dpop',
  title: 'DPoP at a resource server (`npm run bench:dpop`)',
  bullets: [
    machineLine(meta, `load average ${loadBefore.join(' / ')} before`),
    `per request: ${settings.rounds} interleaved rounds of ${settings.sliceMs} ms per case after a warm-up, in one process; median µs; spread = median absolute deviation of the rounds; ratio = median of the per-round ratios`,
    `HTTP: laissez/fastify in its own process, ES256 tokens, verify cache on; ${settings.httpRounds} interleaved rounds of ${settings.duration} s per route, ${settings.connections} connections (autocannon); a fresh proof per DPoP request, made before the slice`,
  ],
  table: {
    headers: ['measure', 'value', 'goal', 'result'],
    right: new Set([1]),
    rows: [
      [
        'one ES256 verification, the floor (µs)',
        `${result.perRequest.floorMicroseconds.toFixed(2)} ±${result.perRequest.floorSpreadPercent.toFixed(1)}%`,
        '',
        '',
      ],
      [
        'DPoP check per request (µs)',
        `${result.perRequest.checkMicroseconds.toFixed(2)} ±${result.perRequest.checkSpreadPercent.toFixed(1)}%`,
        '',
        '',
      ],
      [
        'check ÷ floor',
        result.perRequest.ratio.toFixed(2),
        `<= ${GOAL}`,
        result.perRequest.met ? 'PASS' : 'MISS',
      ],
      ['protected req/s, DPoP', String(result.reqPerSec.dpop), '', ''],
      ['protected req/s, Bearer', String(result.reqPerSec.bearer), '', ''],
      ['DPoP ÷ Bearer (req/s)', result.reqPerSec.ratio.toFixed(2), '', ''],
    ],
  },
  json: result,
  write: flags.write,
});
