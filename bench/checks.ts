// npm run bench:checks — what the registration checks cost per call: the common-password list
// (after its one-time load, timed apart) and the look-alike checks (RFC 8265 key, UTS #39 skeleton,
// one-script rule). Target: under 1 ms per call each (issue 14). Rounds interleave the cases.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { checkPasswordStrength, commonPasswords } from '../src/auth/password-policy.ts';
import { checkUsername } from '../src/auth/username.ts';
import { usernameKey, usernameSkeleton } from '../src/store/username-key.ts';
import { median, timeAsync, timeSync } from './lib/measure.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const sliceMs = Number(process.env.BENCH_SLICE_MS ?? 300);

const loadStart = performance.now();
await commonPasswords();
const loadMs = performance.now() - loadStart;

const names = ['odin_the_wanderer', 'Ｏｄｉｎ', '日本語ひらがな', 'Москва_1', 'straße.42'];
let i = 0;
const cases = {
  'password list + rules (µs/call)': {
    async: true,
    run: () =>
      checkPasswordStrength(`a sturdy passphrase ${i++}`, {
        username: 'odin',
        email: 'odin@example.com',
      }),
  },
  'username checks + key + skeleton (µs/call)': {
    async: false,
    run: () => {
      const name = names[i++ % names.length]!;
      return usernameSkeleton(usernameKey(checkUsername(name)));
    },
  },
} as const;
const figures = new Map<string, number[]>();
for (let r = 0; r < rounds; r++) {
  for (const [id, c] of Object.entries(cases)) {
    const slice = c.async ? await timeAsync(c.run, 100, sliceMs) : timeSync(c.run, 100, sliceMs);
    figures.set(id, [...(figures.get(id) ?? []), (slice.ms * 1000) / slice.ops]);
  }
}
const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  rounds,
  sliceMs,
  listLoadMs: Math.round(loadMs),
  perCallMicroseconds: Object.fromEntries([...figures].map(([id, v]) => [id, median(v)])),
};
const md = [
  `# bench:checks (${result.date})`,
  '',
  `Node ${result.node}, ${result.cpu}; ${rounds} interleaved rounds of ${sliceMs} ms; median per call.`,
  '',
  '| check | µs per call (target < 1000) |',
  '| --- | --- |',
  ...[...figures].map(
    ([id, v]) => `| ${id.replace(/ \(µs\/call\)/, '')} | ${median(v).toFixed(2)} |`,
  ),
  `| one-time load of the 100,000-password list (ms) | ${result.listLoadMs} |`,
  '',
].join('\n');
const out = new URL('./results/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('checks-latest.json', out), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(new URL('checks-latest.md', out), md);
process.stdout.write(`${md}\n`);
