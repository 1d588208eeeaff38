// npm run bench:jwt — sign and verify throughput per algorithm for laissez against fast-jwt, jose
// and jsonwebtoken, in one process. Each case is checked once (a signed token verifies, a verifier
// returns the payload and refuses a forged signature), warmed up, then timed in interleaved
// rounds; the median ops/s of the rounds is reported. See bench/README.md.
//
// Options (flags or environment): --rounds N (BENCH_ROUNDS, default 7), --slice MS
// (BENCH_SLICE_MS, default 200), --warmup MS (BENCH_WARMUP_MS, default 250), --algs HS256,ES256
// (BENCH_ALGS), --libs laissez,fast-jwt (BENCH_LIBS), --quick (3 rounds of 100 ms, core
// algorithms), --no-write (print only; leave bench/results alone).
import { createSecretKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { createSigner as fastSigner, createVerifier as fastVerifier } from 'fast-jwt';
import { jwtVerify, SignJWT } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import {
  assert,
  benchFlags,
  elapsedS,
  fmtInt,
  forgedTokens,
  machineLine,
  machineMeta,
  packageVersion,
  report,
  round2,
  round4,
  versionsLine,
} from './lib/common.ts';
import { type BenchCase, consumeSink, median, relativeMad, runRounds } from './lib/measure.ts';

type Alg = 'HS256' | 'HS512' | 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA';
type Library = 'laissez' | 'fast-jwt' | 'jose' | 'jsonwebtoken';
type Operation = 'sign' | 'verify' | 'verify (cache hit)' | 'verify (cache hit, new string)';

const ALL_ALGS: readonly Alg[] = ['HS256', 'HS512', 'RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];
const CORE_ALGS: readonly Alg[] = ['HS256', 'RS256', 'ES256', 'EdDSA'];
const LIBRARIES: readonly Library[] = ['laissez', 'fast-jwt', 'jose', 'jsonwebtoken'];
const OPERATIONS: readonly Operation[] = [
  'sign',
  'verify',
  'verify (cache hit)',
  'verify (cache hit, new string)',
];
const CACHE_OPERATIONS: readonly Operation[] = [
  'verify (cache hit)',
  'verify (cache hit, new string)',
];
/** The libraries that have a verify cache; the others get no cache rows. */
const CACHING: readonly Library[] = ['laissez', 'fast-jwt'];
/** Which library each operation is compared with. */
const BASELINE: Library = 'fast-jwt';

/** The claims every library signs; each adds `iat` and `exp` (one hour) itself. */
const PAYLOAD = { sub: 'user_123', roles: ['user'], iss: 'https://auth.example', aud: 'api' };
const LIFETIME_S = 3600;

// ---------------------------------------------------------------------------------------------
// Settings

const flags = benchFlags(['rounds', 'slice', 'warmup', 'algs', 'libs']);
const quick = flags.quick;
const settings = {
  rounds: flags.int('rounds', 'BENCH_ROUNDS', quick ? 3 : 7),
  sliceMs: flags.int('slice', 'BENCH_SLICE_MS', quick ? 100 : 200),
  warmupMs: flags.int('warmup', 'BENCH_WARMUP_MS', quick ? 100 : 250),
  algorithms: flags.list('algs', 'BENCH_ALGS', ALL_ALGS, quick ? CORE_ALGS : ALL_ALGS),
  libraries: flags.list('libs', 'BENCH_LIBS', LIBRARIES),
  write: flags.write,
};
if (!settings.libraries.includes(BASELINE)) settings.libraries.push(BASELINE); // ratios need it

// ---------------------------------------------------------------------------------------------
// Keys: one per algorithm family, given to each library in the form it naturally takes.

interface Keys {
  /** HMAC secret string, or PKCS#8 PEM. */
  signPem: string;
  /** HMAC secret string, or SPKI PEM. */
  verifyPem: string;
  signKey: KeyObject;
  verifyKey: KeyObject;
}

function secretKeys(bytes: number): Keys {
  const secret = randomBytes(bytes).toString('base64url');
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  return { signPem: secret, verifyPem: secret, signKey: key, verifyKey: key };
}

function pairKeys(pair: { privateKey: KeyObject; publicKey: KeyObject }): Keys {
  return {
    signPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    verifyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    signKey: pair.privateKey,
    verifyKey: pair.publicKey,
  };
}

const rsa = () => pairKeys(generateKeyPairSync('rsa', { modulusLength: 2048 }));
const keyMakers: Record<Alg, () => Keys> = {
  HS256: () => secretKeys(32),
  HS512: () => secretKeys(64),
  RS256: rsa,
  PS256: rsa,
  ES256: () => pairKeys(generateKeyPairSync('ec', { namedCurve: 'P-256' })),
  ES384: () => pairKeys(generateKeyPairSync('ec', { namedCurve: 'P-384' })),
  EdDSA: () => pairKeys(generateKeyPairSync('ed25519')),
};

// ---------------------------------------------------------------------------------------------
// laissez is loaded dynamically so that the peers can still be measured while it is unfinished.

type Laissez = typeof import('@laissez/jwt');
let laissez: Laissez | undefined;
let laissezProblem = '';
if (settings.libraries.includes('laissez')) {
  try {
    const mod = (await import('@laissez/jwt')) as Partial<Laissez>;
    if (typeof mod.createSigner === 'function' && typeof mod.createVerifier === 'function') {
      laissez = mod as Laissez;
    } else {
      laissezProblem = 'src/jwt/index.ts does not export createSigner and createVerifier yet';
    }
  } catch (error) {
    laissezProblem = `import failed: ${(error as Error).message.split('\n')[0]}`;
  }
  if (laissez === undefined) process.stderr.write(`laissez skipped: ${laissezProblem}\n`);
}

// ---------------------------------------------------------------------------------------------
// Cases

type Signer = () => string | Promise<string>;
type Verifier = (token: string) => unknown;

interface Setup {
  sign: Partial<Record<Library, Signer>>;
  verify: Partial<Record<Library, Verifier>>;
  cached: Partial<Record<Library, Verifier>>;
  /** What a verifier's result holds the payload in. */
  payloadOf: Record<Library, (result: unknown) => Record<string, unknown>>;
}

const unwrap = (result: unknown) => (result as { payload: Record<string, unknown> }).payload;
const direct = (result: unknown) => result as Record<string, unknown>;
const PAYLOAD_OF: Record<Library, (result: unknown) => Record<string, unknown>> = {
  laissez: unwrap,
  'fast-jwt': direct,
  jose: unwrap,
  jsonwebtoken: direct,
};

/** Each library's natural fast setup, prepared once. */
function setUp(alg: Alg, keys: Keys): Setup {
  const setup: Setup = { sign: {}, verify: {}, cached: {}, payloadOf: PAYLOAD_OF };
  const libs = settings.libraries;
  if (libs.includes('laissez') && laissez !== undefined) {
    const l = laissez;
    const signer = l.createSigner({ key: keys.signPem, algorithm: alg, expiresIn: '1h' });
    const verifier = l.createVerifier({ key: keys.verifyPem, algorithms: [alg] });
    const cached = l.createVerifier({ key: keys.verifyPem, algorithms: [alg], cache: true });
    setup.sign.laissez = () => signer({ ...PAYLOAD });
    setup.verify.laissez = (token) => verifier(token);
    setup.cached.laissez = (token) => cached(token);
  }
  {
    const signer = fastSigner({ key: keys.signPem, algorithm: alg, expiresIn: '1h' });
    const verifier = fastVerifier({ key: keys.verifyPem, algorithms: [alg] });
    const cached = fastVerifier({ key: keys.verifyPem, algorithms: [alg], cache: true });
    setup.sign['fast-jwt'] = () => signer({ ...PAYLOAD });
    setup.verify['fast-jwt'] = (token) => verifier(token);
    setup.cached['fast-jwt'] = (token) => cached(token);
  }
  if (libs.includes('jose')) {
    setup.sign.jose = () =>
      new SignJWT({ ...PAYLOAD })
        .setProtectedHeader({ alg, typ: 'JWT' })
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(keys.signKey);
    setup.verify.jose = (token) => jwtVerify(token, keys.verifyKey, { algorithms: [alg] });
  }
  if (libs.includes('jsonwebtoken') && alg !== 'EdDSA') {
    setup.sign.jsonwebtoken = () =>
      jsonwebtoken.sign({ ...PAYLOAD }, keys.signPem, { algorithm: alg, expiresIn: '1h' });
    setup.verify.jsonwebtoken = (token) =>
      jsonwebtoken.verify(token, keys.verifyPem, { algorithms: [alg] });
  }
  return setup;
}

interface Row {
  operation: Operation;
  algorithm: Alg;
  library: Library;
  note: string;
  /** Median ops/s, or null when the case was not measured (see `status`). */
  opsPerSec: number | null;
  /** Median absolute deviation of the rounds, % of the median. */
  madPercent: number | null;
  /** Median ratio to the baseline of the same operation and algorithm. */
  ratio: number | null;
  /** 'ok', 'n/a' (the library has no such algorithm or cache), 'skipped' or 'failed: ...'. */
  status: string;
}

function noteFor(op: Operation, lib: Library): string {
  if (lib === 'jose') return 'async, awaited per call';
  if (op === 'verify (cache hit)') return 'cache: true, same string each call';
  if (op === 'verify (cache hit, new string)') return "cache: true, 'Bearer …'.slice(7) each call";
  return '';
}

function checkClaims(payload: Record<string, unknown> | undefined, expected?: object): void {
  assert(payload !== null && typeof payload === 'object', 'no payload returned');
  assert(payload.sub === PAYLOAD.sub, `sub is ${String(payload.sub)}`);
  assert(payload.iss === PAYLOAD.iss && payload.aud === PAYLOAD.aud, 'iss/aud differ');
  assert(Array.isArray(payload.roles) && payload.roles[0] === 'user', 'roles differ');
  assert(typeof payload.iat === 'number' && typeof payload.exp === 'number', 'no iat/exp');
  assert(payload.exp - payload.iat === LIFETIME_S, `exp - iat is ${payload.exp - payload.iat}`);
  if (expected !== undefined) {
    assert(JSON.stringify(payload) === JSON.stringify(expected), 'payload differs from the token');
  }
}

async function refuses(verify: Verifier, token: string): Promise<boolean> {
  try {
    await verify(token);
    return false;
  } catch {
    return true;
  }
}

/** A signer must produce a token that two other verifiers accept with the right claims. */
async function checkSigner(alg: Alg, keys: Keys, sign: Signer): Promise<void> {
  const token = await sign();
  assert(typeof token === 'string' && token.split('.').length === 3, 'not a compact JWS');
  const viaJose = await jwtVerify(token, keys.verifyKey, { algorithms: [alg] });
  assert(viaJose.protectedHeader.alg === alg, `header alg is ${viaJose.protectedHeader.alg}`);
  checkClaims(viaJose.payload);
  const viaFast = fastVerifier({ key: keys.verifyPem, algorithms: [alg] })(token);
  checkClaims(viaFast as Record<string, unknown>);
}

/** A verifier must return the token's payload, and refuse the same token with a forged signature. */
async function checkVerifier(
  verify: Verifier,
  payloadOf: (result: unknown) => Record<string, unknown>,
  token: string,
  expected: object,
): Promise<void> {
  checkClaims(payloadOf(await verify(token)), expected);
  const [badSignature, otherSubject] = forgedTokens(token);
  assert(await refuses(verify, badSignature), 'accepted a forged signature');
  assert(await refuses(verify, otherSubject), 'accepted a forged payload');
  checkClaims(payloadOf(await verify(token)), expected); // and again, as a cache hit
}

interface Planned {
  row: Row;
  bench?: BenchCase;
}

const planned: Planned[] = [];
const started = performance.now();

for (const alg of settings.algorithms) {
  const keys = keyMakers[alg]();
  const setup = setUp(alg, keys);
  // One token per algorithm, signed by the baseline, is what every verifier reads: same bytes.
  const token = await setup.sign[BASELINE]!();
  const expected = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
  // What a middleware does with `Authorization: Bearer <token>`: a new string per request, so a
  // cache keyed by the token string pays for hashing it each time.
  const authorization = `Bearer ${token}`;
  for (const op of OPERATIONS) {
    const cacheOp = CACHE_OPERATIONS.includes(op);
    for (const lib of settings.libraries) {
      if (cacheOp && !CACHING.includes(lib)) continue;
      const row: Row = {
        operation: op,
        algorithm: alg,
        library: lib,
        note: noteFor(op, lib),
        opsPerSec: null,
        madPercent: null,
        ratio: null,
        status: 'ok',
      };
      const item: Planned = { row };
      planned.push(item);
      if (lib === 'laissez' && laissez === undefined) {
        row.status = 'skipped';
        continue;
      }
      const id = `${op}|${alg}|${lib}`;
      const async = lib === 'jose';
      try {
        if (op === 'sign') {
          const sign = setup.sign[lib];
          if (sign === undefined) {
            row.status = 'n/a';
            continue;
          }
          await checkSigner(alg, keys, sign);
          item.bench = { id, async, run: sign };
        } else {
          const verify = (cacheOp ? setup.cached : setup.verify)[lib];
          if (verify === undefined) {
            row.status = 'n/a';
            continue;
          }
          await checkVerifier(verify, setup.payloadOf[lib], token, expected);
          item.bench =
            op === 'verify (cache hit, new string)'
              ? { id, async, run: () => verify(authorization.slice(7)) }
              : { id, async, run: () => verify(token) };
        }
      } catch (error) {
        row.status = `failed: ${(error as Error).message.split('\n')[0]}`;
        process.stderr.write(`${id} ${row.status}; not measured\n`);
      }
    }
  }
}

const benches = planned.flatMap((p) => (p.bench === undefined ? [] : [p.bench]));
const estimate = (benches.length * (settings.warmupMs + settings.rounds * settings.sliceMs)) / 1000;
process.stderr.write(
  `${benches.length} cases, ${settings.rounds} round${settings.rounds === 1 ? '' : 's'} of ${settings.sliceMs} ms, ` +
    `warm-up ${settings.warmupMs} ms: about ${Math.round(estimate)} s\n`,
);

const samples = await runRounds(benches, {
  rounds: settings.rounds,
  sliceMs: settings.sliceMs,
  warmupMs: settings.warmupMs,
  onRound: (r) => process.stderr.write(`round ${r}/${settings.rounds} done\n`),
});
void consumeSink();

// ---------------------------------------------------------------------------------------------
// Results

const rows = planned.map((p) => p.row);
for (const p of planned) {
  if (p.bench === undefined) continue;
  const s = samples.get(p.bench.id)!;
  p.row.opsPerSec = Math.round(median(s));
  p.row.madPercent = round2(relativeMad(s));
}
const find = (op: Operation, alg: Alg, lib: Library) =>
  rows.find((r) => r.operation === op && r.algorithm === alg && r.library === lib);
for (const row of rows) {
  const base = find(row.operation, row.algorithm, BASELINE);
  if (row.opsPerSec !== null && base?.opsPerSec) row.ratio = round4(row.opsPerSec / base.opsPerSec);
}

interface Target {
  label: string;
  goal: number;
  ratio: number | null;
  result: 'PASS' | 'MISS' | 'SKIP';
}

const targets: Target[] = [];
function target(label: string, op: Operation, alg: Alg, goal: number): void {
  const ratio = settings.algorithms.includes(alg)
    ? (find(op, alg, 'laissez')?.ratio ?? null)
    : null;
  const result = ratio === null ? 'SKIP' : ratio >= goal ? 'PASS' : 'MISS';
  targets.push({ label, goal, ratio, result });
}
target('HS256 verify vs fast-jwt (uncached)', 'verify', 'HS256', 1.6);
target('HS256 sign vs fast-jwt', 'sign', 'HS256', 1.5);
for (const alg of settings.algorithms) {
  target(`${alg} verify (cache hit) vs fast-jwt cache hit`, 'verify (cache hit)', alg, 1.2);
}
for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
  target(`${alg} verify vs fast-jwt (uncached)`, 'verify', alg, 1.0);
}

const meta = {
  ...machineMeta(),
  versions: {
    laissez:
      laissez === undefined ? `not measured (${laissezProblem})` : packageVersion('package.json'),
    'fast-jwt': packageVersion('node_modules/fast-jwt/package.json'),
    jose: packageVersion('node_modules/jose/package.json'),
    jsonwebtoken: packageVersion('node_modules/jsonwebtoken/package.json'),
  },
  settings: {
    rounds: settings.rounds,
    sliceMs: settings.sliceMs,
    warmupMs: settings.warmupMs,
    algorithms: settings.algorithms,
    libraries: settings.libraries,
  },
  durationS: elapsedS(started),
};

const fmtOps = (r: Row) => (r.opsPerSec === null ? r.status : fmtInt.format(r.opsPerSec));
const fmtMad = (r: Row) => (r.madPercent === null ? '' : `±${r.madPercent.toFixed(1)}%`);
const fmtRatio = (r: Row) => (r.ratio === null ? '' : `${r.ratio.toFixed(2)}x`);
const fmtTarget = (t: Target) =>
  `${t.result} ${t.label}: ${t.ratio === null ? 'n/a' : `${t.ratio.toFixed(2)}x`} (goal >= ${t.goal.toFixed(1)}x)`;

report({
  name: 'jwt',
  title: 'JWT benchmark (`npm run bench:jwt`)',
  bullets: [
    machineLine(meta),
    versionsLine(meta.versions),
    `${settings.rounds} interleaved round${settings.rounds === 1 ? '' : 's'} of ${settings.sliceMs} ms per case after ` +
      `${settings.warmupMs} ms warm-up; median ops/s; spread = median absolute deviation of the rounds`,
    '"vs fast-jwt": median ops/s divided by fast-jwt\'s for the same operation and algorithm (uncached fast-jwt for verify, its cache hit for cache hits); above 1 is faster',
  ],
  table: {
    headers: ['operation', 'alg', 'library', 'median ops/s', 'spread', 'vs fast-jwt', 'note'],
    right: new Set([3, 4, 5]),
    rows: rows.map((r) => [
      r.operation,
      r.algorithm,
      r.library,
      fmtOps(r),
      fmtMad(r),
      fmtRatio(r),
      r.note,
    ]),
    groupOf: (i) => `${rows[i]!.operation}|${rows[i]!.algorithm}`,
  },
  sections: [{ heading: 'Targets', lines: targets.map(fmtTarget) }],
  json: { meta, rows, targets },
  write: settings.write,
});
