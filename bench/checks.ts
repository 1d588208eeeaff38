// npm run bench:checks — what the registration checks cost per call: the common-password list
// (after its one-time load, timed apart) and the look-alike checks (RFC 8265 key, UTS #39 skeleton,
// one-script rule). Target: under 1 ms per call each (issue 14). Rounds interleave the cases.
//
// Options (flags or environment): --rounds N (BENCH_ROUNDS, default 7), --slice MS
// (BENCH_SLICE_MS, default 300), --quick (3 rounds of 100 ms), --no-write.
import {
  checkPasswordStrength,
  commonPasswords,
} from '../packages/server/src/auth/password-policy.ts';
import { checkUsername } from '../packages/server/src/auth/username.ts';
import { usernameKey, usernameSkeleton } from '../packages/server/src/store/username-key.ts';
import { benchFlags, loadAverage, machineLine, machineMeta, report, round2 } from './lib/common.ts';
import { type BenchCase, median, relativeMad, runRounds } from './lib/measure.ts';

const flags = benchFlags(['rounds', 'slice']);
const settings = {
  rounds: flags.int('rounds', 'BENCH_ROUNDS', flags.quick ? 3 : 7),
  sliceMs: flags.int('slice', 'BENCH_SLICE_MS', flags.quick ? 100 : 300),
};
const GOAL_US = 1000;

const loadBefore = loadAverage();
const loadStart = performance.now();
await commonPasswords();
const loadMs = performance.now() - loadStart;

const names = ['odin_the_wanderer', 'Ｏｄｉｎ', '日本語ひらがな', 'Москва_1', 'straße.42'];
let i = 0;
const cases: BenchCase[] = [
  {
    id: 'password list + rules',
    async: true,
    run: () =>
      checkPasswordStrength(`a sturdy passphrase ${i++}`, {
        username: 'odin',
        email: 'odin@example.com',
      }),
  },
  {
    id: 'username checks + key + skeleton',
    async: false,
    run: () => usernameSkeleton(usernameKey(checkUsername(names[i++ % names.length]!))),
  },
];
const samples = await runRounds(cases, {
  rounds: settings.rounds,
  sliceMs: settings.sliceMs,
  warmupMs: settings.sliceMs,
});

const perCall = cases.map((c) => {
  // ops/s per round → µs per call per round.
  const us = samples.get(c.id)!.map((opsPerSec) => 1e6 / opsPerSec);
  const m = median(us);
  return {
    check: c.id,
    microseconds: round2(m),
    spreadPercent: round2(relativeMad(us)),
    result: m < GOAL_US ? 'PASS' : 'MISS',
  };
});
const result = {
  meta: {
    ...machineMeta(),
    settings: { ...settings, goalMicroseconds: GOAL_US },
    loadAverage: { before: loadBefore, after: loadAverage() },
  },
  listLoadMs: Math.round(loadMs),
  perCall,
};
report({
  name: 'checks',
  title: 'Registration checks (`npm run bench:checks`)',
  bullets: [
    machineLine(result.meta, `load average ${loadBefore.join(' / ')} before`),
    `${settings.rounds} interleaved rounds of ${settings.sliceMs} ms per case after a warm-up; median µs per call; spread = median absolute deviation of the rounds`,
  ],
  table: {
    headers: ['check', `µs per call (goal < ${GOAL_US})`, 'spread', 'result'],
    right: new Set([1, 2]),
    rows: [
      ...perCall.map((p) => [
        p.check,
        p.microseconds.toFixed(2),
        `±${p.spreadPercent.toFixed(1)}%`,
        p.result,
      ]),
      ['one-time load of the 100,000-password list (ms)', String(result.listLoadMs), '', ''],
    ],
  },
  json: result,
  write: flags.write,
});
