// npm run bench:revocation — revocation pushed to verifiers (issue 19). Three verifier processes
// (bench/lib/revocation-verifier.ts) hold the revocation list in memory, fed by Redis. For each of
// many sessions, one at a time: the driver revokes it (createRevocationList.revoke) and asks each
// verifier with the session's token, over keep-alive HTTP, until it answers 401; the latency is
// from the start of revoke() to that first 401, per verifier. Then protected req/s on one verifier
// with the feed (/on) against the same route without a revocation check (/off), in interleaved
// rounds, as the median of the per-round ratios.
// Goals: p99 revoke → refused <= 50 ms on loopback; req/s on ÷ off >= 0.95.
// Writes bench/results/revocation-latest.{json,md}.
//
// Options: --revocations N (default 200), --rounds N (default 5), --duration S (seconds per slice,
// default 2), --connections N (default 32), --quick (50 revocations, 2 rounds of 1 s), --no-write. Redis at REDIS_URL (default redis://127.0.0.1:6379);
// the keys are under a random prefix, deleted at the end.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createSigner } from '@laissez/jwt';
import autocannon from 'autocannon';
import { closeClient, connectRedis } from '../packages/middleware/src/redis/client.ts';
import {
  createRevocationList,
  revocationKeys,
} from '../packages/middleware/src/redis/revocation.ts';
import {
  benchFlags,
  loadAverage,
  machineLine,
  machineMeta,
  markdownTable,
  percentile,
  round2,
  textTable,
} from './lib/common.ts';
import { median } from './lib/measure.ts';
import { spawnScript } from './lib/spawn.ts';

const flags = benchFlags(['revocations', 'rounds', 'duration', 'connections']);
const revocations = flags.int('revocations', undefined, flags.quick ? 50 : 200);
const rounds = flags.int('rounds', undefined, flags.quick ? 2 : 5);
const duration = flags.number('duration', undefined, flags.quick ? 1 : 2);
const connections = flags.int('connections', undefined, 32);
const loadBefore = loadAverage();
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `laissez-bench:${randomBytes(6).toString('hex')}:`;
const secret = randomBytes(32).toString('base64url');
const sign = createSigner({
  key: secret,
  algorithm: 'HS256',
  typ: 'at+jwt',
  audience: 'api',
  expiresIn: 900,
});
const LATENCY_GOAL = 50;
const RATIO_GOAL = 0.95;

const VERIFIER = fileURLToPath(new URL('./lib/revocation-verifier.ts', import.meta.url));
const verifiers = await Promise.all(
  [1, 2, 3].map((n) =>
    spawnScript(VERIFIER, [], {
      name: `verifier ${n}`,
      env: { BENCH_REVOCATION: JSON.stringify({ url, prefix, secret }) },
    }),
  ),
);
const list = createRevocationList({ url, prefix, timeout: 2000 });
const admin = connectRedis(url);

/** Asks `base`/on with `token` until it answers 401; when that answer came (performance.now()). */
async function firstRefusal(base: string, token: string): Promise<number> {
  for (;;) {
    const response = await fetch(`${base}/on`, { headers: { authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    if (response.status === 401) return performance.now();
    if (response.status !== 200) throw new Error(`${base}: ${response.status}`);
  }
}

try {
  // Latency: revoke → first 401, at each verifier.
  const latencies: number[][] = [[], [], []];
  for (let i = 0; i < revocations + 10; i++) {
    const token = sign({ sub: 'u', sid: randomBytes(9).toString('base64url') });
    const sid = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid;
    // Each verifier answers 200 first, so the loops below start on a live session.
    for (const v of verifiers) {
      const r = await fetch(`${v.url}/on`, { headers: { authorization: `Bearer ${token}` } });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`${v.url}: ${r.status} before the revocation`);
    }
    const started = performance.now();
    const refused = Promise.all(verifiers.map((v) => firstRefusal(v.url, token)));
    await list.revoke(sid, Date.now() + 60_000);
    const ends = await refused;
    // The first 10 warm up the processes.
    if (i >= 10) for (const [j, end] of ends.entries()) latencies[j]!.push(end - started);
  }
  const all = Float64Array.from(latencies.flat()).sort();
  const perVerifier = latencies.map((l) => {
    const s = Float64Array.from(l).sort();
    return { p50: percentile(s, 0.5), p99: percentile(s, 0.99), max: s[s.length - 1]! };
  });
  const p50 = percentile(all, 0.5);
  const p99 = percentile(all, 0.99);

  // Throughput: /on against /off on the first verifier, interleaved.
  const token = sign({ sub: 'u', sid: randomBytes(9).toString('base64url') });
  const slice = async (route: 'on' | 'off', seconds: number) => {
    const result = await autocannon({
      url: `${verifiers[0]!.url}/${route}`,
      connections,
      duration: seconds,
      headers: { authorization: `Bearer ${token}` },
    });
    if (result.non2xx > 0 || result.errors > 0) {
      throw new Error(`${route}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
    }
    return result.requests.total / result.duration;
  };
  process.stderr.write(`warming up; then ${rounds} rounds of ${duration} s per route\n`);
  await slice('on', 1);
  await slice('off', 1);
  const on: number[] = [];
  const off: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      on.push(await slice('on', duration));
      off.push(await slice('off', duration));
    } else {
      off.push(await slice('off', duration));
      on.push(await slice('on', duration));
    }
    process.stderr.write(`round ${round + 1}/${rounds}\n`);
  }
  const ratio = median(on.map((x, i) => x / off[i]!));

  const meta = machineMeta();
  const result = {
    ...meta,
    revocations,
    rounds,
    duration,
    connections,
    latencyMs: {
      p50: round2(p50),
      p99: round2(p99),
      perVerifier: perVerifier.map((v) => ({
        p50: round2(v.p50),
        p99: round2(v.p99),
        max: round2(v.max),
      })),
    },
    reqPerSec: { on: Math.round(median(on)), off: Math.round(median(off)) },
    ratio: round2(ratio),
    goals: {
      latencyP99Ms: LATENCY_GOAL,
      ratio: RATIO_GOAL,
      met: p99 <= LATENCY_GOAL && ratio >= RATIO_GOAL,
    },
  };
  const headers = ['measure', 'value', 'goal'];
  const rows = [
    ['revoke → refused, p50 (ms, 3 verifiers)', round2(p50).toFixed(2), ''],
    ['revoke → refused, p99 (ms, 3 verifiers)', round2(p99).toFixed(2), `<= ${LATENCY_GOAL}`],
    ...perVerifier.map((v, i) => [
      `  verifier ${i + 1}: p50 / p99 / max (ms)`,
      `${round2(v.p50).toFixed(2)} / ${round2(v.p99).toFixed(2)} / ${round2(v.max).toFixed(2)}`,
      '',
    ]),
    ['protected req/s, revocation on', String(result.reqPerSec.on), ''],
    ['protected req/s, revocation off', String(result.reqPerSec.off), ''],
    ['on ÷ off (median of rounds)', round2(ratio).toFixed(2), `>= ${RATIO_GOAL}`],
  ];
  const load = loadBefore.map((n) => n.toFixed(2)).join(' / ');
  const line = `${revocations} revocations, one at a time; ${rounds} interleaved rounds of ${duration} s, ${connections} connections; load average ${load} before`;
  process.stdout.write(
    `\nRevocation pushed to three verifiers, ${machineLine(meta)}\n${line}\n\n${textTable({ headers, rows, right: new Set([1]) })}\n\ngoals ${result.goals.met ? 'met' : 'NOT met'}\n`,
  );
  if (flags.write) {
    const dir = fileURLToPath(new URL('./results/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}revocation-latest.json`, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(
      `${dir}revocation-latest.md`,
      [
        `# bench:revocation (${meta.date})`,
        '',
        `${machineLine(meta)}. ${line}. Redis on loopback.`,
        '',
        ...markdownTable({ headers, rows, right: new Set([1]) }),
        '',
        `Goals ${result.goals.met ? 'met' : 'NOT met'}.`,
        '',
      ].join('\n'),
    );
  }
} finally {
  await Promise.all(verifiers.map((v) => v.stop()));
  await list.close();
  const keys = revocationKeys(prefix);
  await admin.del([keys.set, keys.feed, keys.seq]).catch(() => {});
  await closeClient(admin);
}
