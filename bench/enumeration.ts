// npm run bench:enumeration — does POST /auth/register (with --verify-email) take the same time
// whether the email is new or taken, and does POST /auth/password-reset whether the address has
// an account or not? Alternating requests against one in-process server (default argon2id),
// SMTP off (the outbox): the medians and the difference, in ms. The answers are equal by test
// (test/server/account-mail.test.ts); this measures the time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthServer } from '../packages/server/src/server/index.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);
const dir = mkdtempSync(join(tmpdir(), 'laissez-bench-enum-'));
const app = await createAuthServer({
  issuer: 'http://localhost:3000',
  dataDir: dir,
  logger: false,
  verifyEmail: true,
  // Rate limits out of the way: this measures the work, not the limits.
  rateLimits: {
    loginPerIp: { max: 1e6, window: 60 },
    loginFailuresPerAccount: { max: 1e6, window: 60 },
    registerPerIp: { max: 1e6, window: 60 },
  },
});
const base = await app.listen({ port: 0, host: '127.0.0.1' });
const post = async (path: string, body: unknown) => {
  const started = performance.now();
  const r = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await r.text();
  return performance.now() - started;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const PASSWORD = 'correct horse battery staple';

// Distinct addresses per request: the per-address mail budget (3 per 15 min) would otherwise
// answer 429 early. One taken address per taken request, registered beforehand.
const taken: string[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const email = `taken${i}@example.com`;
  await app.store.createUser({
    id: `u${i}`,
    username: `taken_${i}`,
    email,
    passwordHash: 'x',
    roles: ['user'],
    createdAt: Date.now(),
  });
  taken.push(email);
}
const fresh: number[] = [];
const existing: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  fresh.push(
    await post('/auth/register', {
      username: `new_${i}`,
      email: `new${i}@example.com`,
      password: PASSWORD,
    }),
  );
  existing.push(
    await post('/auth/register', { username: `other_${i}`, email: taken[i], password: PASSWORD }),
  );
}
const resetKnown: number[] = [];
const resetUnknown: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  resetKnown.push(await post('/auth/password-reset', { email: `new${i}@example.com` }));
  resetUnknown.push(await post('/auth/password-reset', { email: `ghost${i}@example.com` }));
}
const line = (what: string, a: number[], b: number[]) =>
  console.log(
    `${what}: median ${median(a).toFixed(2)} ms vs ${median(b).toFixed(2)} ms (difference ${(median(a) - median(b)).toFixed(2)} ms, ${ROUNDS} each)`,
  );
line('register, new email vs taken email', fresh, existing);
line('password reset, account vs no account', resetKnown, resetUnknown);
await app.close();
rmSync(dir, { recursive: true, force: true });
