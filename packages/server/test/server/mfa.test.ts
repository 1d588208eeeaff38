// Second factors over real HTTP on loopback, with a controllable clock: TOTP enrolment and
// confirmation, the log-in's second step, recovery codes, amr/auth_time kept across refreshes,
// and the attacks: a replayed code, too many wrong codes, a stolen mfa_token reused, another
// user's code, and racing requests.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { decodeUnverified } from '../../../jwt/src/index.ts';
import type { MailMessage } from '../../src/auth/mail.ts';
import { laissez } from '../helpers/processes.ts';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

type Body = Record<string, unknown>;

/** The server's clock: starts at a step boundary, moved by the tests. */
let clock = Math.floor(Date.UTC(2030, 0, 1) / 30_000) * 30_000 + 1000;
const codeAt = (secret: string, at = clock) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: at });
const nextStep = () => {
  clock += 30_000;
};

describe('second factors (TOTP, recovery codes, amr) over HTTP', () => {
  let server: Running;
  /** What the server mailed (its mail transport). */
  const mailed: MailMessage[] = [];
  before(async () => {
    server = await start({
      passwordParams: FAST_ARGON2,
      now: () => clock,
      mailTransport: { send: async (message) => void mailed.push(message) },
    });
  });
  after(() => server.close());

  let n = 0;
  /** A user logged in with a password, with TOTP on; its secret and recovery codes. */
  const enrolled = async () => {
    const user = {
      username: `mfa_user_${++n}`,
      email: `m${n}@example.com`,
      password: 'a long enough password 1',
    };
    assert.equal((await call(server.url, 'POST', '/auth/register', { body: user })).status, 201);
    const login = await call(server.url, 'POST', '/auth/login', {
      body: { username: user.username, password: user.password },
    });
    assert.equal(login.status, 200);
    const token = login.body.access_token as string;
    const start = await call(server.url, 'POST', '/auth/mfa/totp', { token });
    assert.equal(start.status, 200, JSON.stringify(start.body));
    const secret = start.body.secret as string;
    const confirm = await call(server.url, 'POST', '/auth/mfa/totp/confirm', {
      token,
      body: { code: codeAt(secret) },
    });
    assert.equal(confirm.status, 200, JSON.stringify(confirm.body));
    nextStep();
    return {
      user,
      token,
      secret,
      recovery: confirm.body.recovery_codes as string[],
      enrol: start.body,
    };
  };
  const passwordStep = async (user: { username: string; password: string }) => {
    const r = await call(server.url, 'POST', '/auth/login', {
      body: { username: user.username, password: user.password },
    });
    assert.equal(r.status, 401, JSON.stringify(r.body));
    assert.equal(r.body.error, 'mfa_required');
    return r.body.mfa_token as string;
  };

  test('enrol: secret, otpauth URI and an SVG QR code; the secret is sealed at rest', async () => {
    const { user, secret, recovery, enrol } = await enrolled();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.match(enrol.uri as string, /^otpauth:\/\/totp\/laissez:mfa_user_\d+\?.*secret=/);
    assert.match(enrol.qr as string, /^data:image\/svg\+xml;base64,/);
    assert.match(Buffer.from((enrol.qr as string).split(',')[1]!, 'base64').toString(), /<svg/);
    assert.equal(recovery.length, 10);
    assert.equal(new Set(recovery).size, 10);
    const stored = await server.app.store.findUserByUsername(user.username);
    const factor = await server.app.store.findTotpFactor(stored!.id);
    assert.ok(factor?.confirmedAt);
    assert.ok(!factor.secret.includes(secret), 'never the secret in plain text');
    assert.match(factor.secret, /^totp:v1:/);
  });

  test('log-in with TOTP on: 401 mfa_required, then verify → tokens with amr and auth_time kept by refresh', async () => {
    const { user, secret } = await enrolled();
    const loginAt = clock;
    const mfaToken = await passwordStep(user);
    assert.match(mfaToken, /^mfa_/);
    clock += 20_000;
    const done = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: mfaToken, code: codeAt(secret) },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const claims = decodeUnverified(done.body.access_token as string).payload as Body;
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(claims.auth_time, Math.floor(loginAt / 1000));
    clock += 60_000;
    const refreshed = await call(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: done.body.refresh_token },
    });
    assert.equal(refreshed.status, 200);
    const after = decodeUnverified(refreshed.body.access_token as string).payload as Body;
    assert.deepEqual(after.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(after.auth_time, Math.floor(loginAt / 1000));
    nextStep();
  });

  test('a password-only log-in says amr ["pwd"]', async () => {
    const user = {
      username: `plain_${++n}`,
      email: `p${n}@example.com`,
      password: 'a long enough password 2',
    };
    await call(server.url, 'POST', '/auth/register', { body: user });
    const r = await call(server.url, 'POST', '/auth/login', {
      body: { username: user.username, password: user.password },
    });
    const claims = decodeUnverified(r.body.access_token as string).payload as Body;
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(claims.auth_time, Math.floor(clock / 1000));
  });

  test('attack: a replayed code is refused, in the same step and after', async () => {
    const { user, secret } = await enrolled();
    const code = codeAt(secret);
    const first = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: await passwordStep(user), code },
    });
    assert.equal(first.status, 200);
    const again = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: await passwordStep(user), code },
    });
    assert.equal(again.status, 401);
    assert.equal(again.body.error, 'invalid_code');
    nextStep();
  });

  /** The user's `mfa.…` audit events of `type` (recorded without blocking the answer: polled). */
  const auditedFor = async (username: string, type: string, count: number) => {
    const stored = await server.app.store.findUserByUsername(username);
    let events: Awaited<ReturnType<typeof server.app.store.listAuditEvents>> = [];
    for (let i = 0; i < 100 && events.length < count; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 20));
      events = await server.app.store.listAuditEvents({ subject: stored!.id, type, limit: 20 });
    }
    return events;
  };

  test('audit: a replayed code and a wrong code each leave mfa.code_refused with the reason, never the code; no mail', async () => {
    const { user, secret, recovery } = await enrolled();
    const code = codeAt(secret);
    const first = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: await passwordStep(user), code },
    });
    assert.equal(first.status, 200);
    const mfaToken = await passwordStep(user);
    const replayed = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: mfaToken, code },
    });
    assert.equal(replayed.status, 401);
    assert.equal(replayed.body.error, 'invalid_code');
    // A code of no step in the window (the one before, this one, the next).
    const near = new Set([-30_000, 0, 30_000].map((d) => codeAt(secret, clock + d)));
    let wrong = '123456';
    while (near.has(wrong)) wrong = String((Number(wrong) + 1) % 1_000_000).padStart(6, '0');
    const refused = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: mfaToken, code: wrong },
    });
    assert.equal(refused.body.error, 'invalid_code');
    const badRecovery = recovery[0]!.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
    const refusedRecovery = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: mfaToken, recovery_code: badRecovery },
    });
    assert.equal(refusedRecovery.body.error, 'invalid_code');
    const events = await auditedFor(user.username, 'mfa.code_refused', 3);
    assert.deepEqual(
      events
        .map((e) => e.details)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      [
        { reason: 'replayed', factor: 'totp' },
        { reason: 'wrong', factor: 'recovery_code' },
        { reason: 'wrong', factor: 'totp' },
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    for (const event of events) {
      assert.equal(event.actor, 'anonymous');
      const text = JSON.stringify(event);
      for (const typed of [code, wrong, badRecovery]) assert.ok(!text.includes(typed));
    }
    // The owner is mailed for a lock, not for each refused code: only the set-up notice.
    await new Promise((r) => setTimeout(r, 50));
    const mine = mailed.filter((m) => m.to === user.email.toLowerCase());
    assert.ok(
      mine.every((m) => /\(TOTP\) was set up/.test(m.text)),
      mine.map((m) => m.text).join(),
    );
    nextStep();
  });

  test('attack: a stolen mfa_token cannot be used again once spent', async () => {
    const { user, secret } = await enrolled();
    const mfaToken = await passwordStep(user);
    const ok = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: mfaToken, code: codeAt(secret) },
    });
    assert.equal(ok.status, 200);
    nextStep();
    const reused = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: mfaToken, code: codeAt(secret) },
    });
    assert.equal(reused.status, 401);
    assert.equal(reused.body.error, 'invalid_grant');
    // And an expired one.
    const late = await passwordStep(user);
    clock += 301_000;
    const expired = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: late, code: codeAt(secret) },
    });
    assert.equal(expired.body.error, 'invalid_grant');
    nextStep();
  });

  test("attack: a code of another user's secret is refused", async () => {
    const a = await enrolled();
    const b = await enrolled();
    const r = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: await passwordStep(a.user), code: codeAt(b.secret) },
    });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_code');
    nextStep();
  });

  test('attack: too many wrong codes → 429 for the account, even with the right code', async () => {
    const { user, secret } = await enrolled();
    const mfaToken = await passwordStep(user);
    const right = codeAt(secret);
    const wrong = right === '000000' ? '000001' : '000000';
    for (let i = 0; i < 5; i++) {
      const r = await call(server.url, 'POST', '/auth/mfa/verify', {
        body: { mfa_token: mfaToken, code: wrong },
      });
      assert.equal(r.body.error, 'invalid_code');
    }
    const locked = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: mfaToken, code: right },
    });
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    // A new challenge does not reset the account's budget.
    const fresh = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: await passwordStep(user), code: right },
    });
    assert.equal(fresh.status, 429);
    clock += 16 * 60_000;
  });

  test('concurrency: ten requests with one code and one challenge → exactly one gets tokens', async () => {
    const { user, secret } = await enrolled();
    const mfaToken = await passwordStep(user);
    const code = codeAt(secret);
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        call(server.url, 'POST', '/auth/mfa/verify', { body: { mfa_token: mfaToken, code } }),
      ),
    );
    assert.equal(results.filter((r) => r.status === 200).length, 1);
    for (const r of results)
      if (r.status !== 200) assert.match(String(r.body.error), /^(invalid_code|invalid_grant)$/);
    nextStep();
  });

  test('recovery codes: each works once; regenerating needs the password and a code; the old ones stop', async () => {
    const { user, token, secret, recovery } = await enrolled();
    const used = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: await passwordStep(user), recovery_code: recovery[0] },
    });
    assert.equal(used.status, 200);
    // Using a recovery code is a mail to the owner (after the enrolment's own notice).
    const notices = async () => {
      for (let i = 0; i < 50 && !mailed.some((m) => /recovery code was used/.test(m.text)); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return mailed.filter((m) => m.to === user.email.toLowerCase());
    };
    const mine = await notices();
    assert.ok(mine.some((m) => /authenticator app \(TOTP\) was set up/.test(m.text)));
    const recoveryMail = mine.find((m) => /recovery code was used/.test(m.text));
    assert.ok(recoveryMail, 'a mail tells the owner that a recovery code was used');
    assert.match(recoveryMail.text, /9 unused codes are left/);
    assert.ok(!recoveryMail.text.includes(recovery[0]!), 'the code itself is never mailed');
    const twice = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: await passwordStep(user), recovery_code: recovery[0] },
    });
    assert.equal(twice.body.error, 'invalid_code');
    const badPassword = await call(server.url, 'POST', '/auth/mfa/recovery-codes', {
      token,
      body: { password: 'not it at all', code: codeAt(secret) },
    });
    assert.equal(badPassword.status, 401);
    const fresh = await call(server.url, 'POST', '/auth/mfa/recovery-codes', {
      token,
      body: { password: user.password, code: codeAt(secret) },
    });
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    nextStep();
    const old = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: await passwordStep(user), recovery_code: recovery[1] },
    });
    assert.equal(old.body.error, 'invalid_code');
    clock += 16 * 60_000;
  });

  test('disable: the password and a code; then the password alone logs in', async () => {
    const { user, token, secret } = await enrolled();
    const noCode = await call(server.url, 'DELETE', '/auth/mfa/totp', {
      token,
      body: { password: user.password },
    });
    assert.equal(noCode.status, 400);
    const off = await call(server.url, 'DELETE', '/auth/mfa/totp', {
      token,
      body: { password: user.password, code: codeAt(secret) },
    });
    assert.equal(off.status, 204);
    const r = await call(server.url, 'POST', '/auth/login', {
      body: { username: user.username, password: user.password },
    });
    assert.equal(r.status, 200);
  });

  test('enrolling again while TOTP is on is a 409; a wrong password at log-in says nothing of factors', async () => {
    const { user, token } = await enrolled();
    const again = await call(server.url, 'POST', '/auth/mfa/totp', { token });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'factor_conflict');
    const wrong = await call(server.url, 'POST', '/auth/login', {
      body: { username: user.username, password: 'not the password' },
    });
    assert.equal(wrong.body.error, 'invalid_credentials');
    assert.equal(wrong.body.mfa_token, undefined);
  });

  test('laissez users reset-mfa: the factors go, the password alone logs in again', async () => {
    const { user } = await enrolled();
    const r = await laissez(['users', 'reset-mfa', user.username, '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^removed the second factors of mfa_user_\d+$/m);
    const login = await call(server.url, 'POST', '/auth/login', {
      body: { username: user.username, password: user.password },
    });
    assert.equal(login.status, 200);
    const again = await laissez([
      'users',
      'reset-mfa',
      user.username,
      '--data-dir',
      server.dataDir,
      '--json',
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).reset, false);
  });

  /** A user with a passkey on record (the row a registration stores; no ceremony needed here). */
  const withPasskey = async () => {
    const user = {
      username: `pk_user_${++n}`,
      email: `pk${n}@example.com`,
      password: 'a long enough password 3',
    };
    const made = await call(server.url, 'POST', '/auth/register', { body: user });
    assert.equal(made.status, 201);
    const id = (made.body.user as { id: string }).id;
    const created = await server.app.store.createPasskey({
      id: `cred${n}`,
      userId: id,
      publicKey: 'pQECAyYgASFYIA',
      signCount: 0,
      transports: ['internal'],
      name: 'Laptop',
      backupEligible: false,
      backedUp: false,
      createdAt: clock,
    });
    assert.ok(created);
    return { user, id };
  };

  test('a passkey is a second factor: the password step answers mfa_required with factors ["passkey"]', async () => {
    const { user, id } = await withPasskey();
    assert.deepEqual(await server.app.auth.factorsOf(id), ['passkey']);
    const mfaToken = await passwordStep(user);
    const options = await call(server.url, 'POST', '/auth/mfa/passkey/options', {
      body: { mfa_token: mfaToken },
    });
    assert.equal(options.status, 200, JSON.stringify(options.body));
    assert.deepEqual(
      (options.body.allowCredentials as { id: string }[]).map((c) => c.id),
      [`cred${n}`],
    );
    const unknown = await call(server.url, 'POST', '/auth/mfa/passkey/options', {
      body: { mfa_token: `mfa_${'A'.repeat(43)}` },
    });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error, 'invalid_grant');
    const both = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: {
        mfa_token: mfaToken,
        code: '123456',
        credential: {
          id: 'abc',
          rawId: 'abc',
          type: 'public-key',
          response: {
            clientDataJSON: 'e30',
            authenticatorData: 'AA',
            signature: 'AA',
          },
        },
      },
    });
    assert.equal(both.status, 400, JSON.stringify(both.body));
    assert.equal(both.body.error, 'invalid_request');
  });

  test('the admin reset removes passkeys too (AuthService and laissez users reset-mfa)', async () => {
    const first = await withPasskey();
    const mfaToken = await passwordStep(first.user);
    assert.equal(await server.app.auth.resetSecondFactors(first.id), true);
    assert.deepEqual(await server.app.store.listPasskeys(first.id), []);
    assert.deepEqual(await server.app.auth.factorsOf(first.id), []);
    // The pending step has no passkey left to ask for.
    const options = await call(server.url, 'POST', '/auth/mfa/passkey/options', {
      body: { mfa_token: mfaToken },
    });
    assert.equal(options.status, 409);
    assert.equal(options.body.error, 'factor_conflict');
    const login = await call(server.url, 'POST', '/auth/login', {
      body: { username: first.user.username, password: first.user.password },
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));

    const second = await withPasskey();
    const r = await laissez([
      'users',
      'reset-mfa',
      second.user.username,
      '--data-dir',
      server.dataDir,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).reset, true);
    assert.deepEqual(await server.app.store.listPasskeys(second.id), []);
  });
});
