// The mail flows over real HTTP with a real SMTP server process on loopback: verification,
// registration without enumeration, password reset, sign-in links and change of email, with
// their tokens single-use, purpose-bound and expiring, and a reset confirmed twice at once won
// exactly once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';
import { linkOf, type SmtpProcess, startSmtp, textOf } from '../helpers/smtp.ts';

const PASSWORD = 'correct horse battery staple';
let clock = Date.now();
const now = () => clock;

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
/** The token of a link: its `token` query or fragment parameter. */
const tokenOf = (link: string) => /[?#]token=([^&]+)/.exec(link)![1]!;

async function serverWith(
  smtp: SmtpProcess,
  options: Record<string, unknown> = {},
): Promise<Running> {
  return start({
    smtpUrl: smtp.url,
    publicUrl: 'https://auth.example.test',
    productName: 'Acme',
    mailFrom: 'Acme <no-reply@acme.test>',
    passwordParams: FAST_ARGON2,
    now,
    ...options,
  });
}

describe('with --verify-email and --require-verified-email', () => {
  let smtp: SmtpProcess;
  let server: Running;
  before(async () => {
    smtp = await startSmtp();
    server = await serverWith(smtp, {
      verifyEmail: true,
      requireVerifiedEmail: true,
      signInLinks: true,
    });
  });
  after(async () => {
    await server.close();
    await smtp.stop();
  });
  const mailsTo = (address: string) => smtp.received.filter((m) => m.to.includes(address));
  async function nextMailTo(address: string, count: number) {
    const deadline = Date.now() + 10_000;
    while (mailsTo(address).length < count) {
      if (Date.now() > deadline) throw new Error(`no mail ${count} to ${address}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return mailsTo(address)[count - 1]!;
  }

  test('register → 202, a verification link; log-in refused until it is followed; once only', async () => {
    const body = { username: 'freya', email: 'Freya@Example.com', password: PASSWORD };
    const r = await call(server.url, 'POST', '/auth/register', { body });
    assert.equal(r.status, 202);
    assert.equal(r.body['status'], 'accepted');
    const mail = await nextMailTo('freya@example.com', 1);
    assert.match(mail.raw, /^Subject: Confirm your email for Acme/m);
    const link = linkOf(mail.raw);
    assert.match(link, /^https:\/\/auth\.example\.test\/auth\/verify-email\?token=lz1_/);
    const stored = await server.app.store.findUserByEmail('freya@example.com');
    assert.equal(stored?.emailVerified, false);
    // Only the hash is stored.
    assert.equal(await server.app.store.findOneTimeToken(tokenOf(link)), null);

    const refused = await call(server.url, 'POST', '/auth/login', {
      body: { username: 'freya', password: PASSWORD },
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body['error'], 'email_not_verified');

    const verified = await call<{ user: Record<string, unknown> }>(
      server.url,
      'GET',
      `/auth/verify-email?token=${tokenOf(link)}`,
    );
    assert.equal(verified.status, 200);
    assert.equal(verified.body.user['email_verified'], true);
    const again = await call(server.url, 'POST', '/auth/verify-email', {
      body: { token: tokenOf(link) },
    });
    assert.equal(again.status, 400);
    assert.deepEqual(again.body, {
      error: 'invalid_link',
      error_description: 'this link was already used; ask for a new one',
    });

    const login = await call<{ access_token: string }>(server.url, 'POST', '/auth/login', {
      body: { username: 'freya', password: PASSWORD },
    });
    assert.equal(login.status, 200);
    assert.equal(claimsOf(login.body.access_token)['email_verified'], true);
    const me = await call<{ user: Record<string, unknown> }>(server.url, 'GET', '/auth/me', {
      token: login.body.access_token,
    });
    assert.equal(me.body.user['email_verified'], true);
  });

  test('a taken email gets the same answer, and its owner a "you already have an account" mail', async () => {
    const first = await call(server.url, 'POST', '/auth/register', {
      body: { username: 'sif', email: 'sif@example.com', password: PASSWORD },
    });
    const second = await call(server.url, 'POST', '/auth/register', {
      body: { username: 'not_sif', email: 'SIF@example.com', password: PASSWORD },
    });
    assert.equal(first.status, 202);
    assert.equal(second.status, first.status);
    assert.deepEqual(second.body, first.body);
    assert.deepEqual([...second.headers.keys()].sort(), [...first.headers.keys()].sort());
    await nextMailTo('sif@example.com', 2);
    const subjects = mailsTo('sif@example.com').map((m) => /^Subject: (.*)$/m.exec(m.raw)?.[1]);
    assert.deepEqual(
      subjects.sort(),
      ['Confirm your email for Acme', 'You already have a Acme account'].sort(),
    );
    assert.equal(await server.app.store.findUserByUsername('not_sif'), null);
    // A taken username is still refused (usernames are public), whatever the email.
    const taken = await call(server.url, 'POST', '/auth/register', {
      body: { username: 'sif', email: 'freya@example.com', password: PASSWORD },
    });
    assert.equal(taken.status, 409);
    assert.equal(taken.body['error'], 'username_taken');
  });

  test('resend answers alike for every address and mails only an unverified account', async () => {
    await call(server.url, 'POST', '/auth/register', {
      body: { username: 'idun', email: 'idun@example.com', password: PASSWORD },
    });
    await nextMailTo('idun@example.com', 1);
    const answers = [];
    for (const email of ['idun@example.com', 'nobody@example.com', 'freya@example.com']) {
      const r = await call(server.url, 'POST', '/auth/verify-email/resend', { body: { email } });
      answers.push([r.status, r.body]);
    }
    assert.deepEqual(answers[1], answers[0]);
    assert.deepEqual(answers[2], answers[0]);
    assert.equal(answers[0]![0], 202);
    const mail = await nextMailTo('idun@example.com', 2);
    // The newer link replaces the older one.
    const older = linkOf(mailsTo('idun@example.com')[0]!.raw);
    const r = await call(server.url, 'POST', '/auth/verify-email', {
      body: { token: tokenOf(older) },
    });
    assert.equal(r.body['error'], 'invalid_link');
    assert.equal(
      (
        await call(server.url, 'POST', '/auth/verify-email', {
          body: { token: tokenOf(linkOf(mail.raw)) },
        })
      ).status,
      200,
    );
    assert.equal(mailsTo('nobody@example.com').length, 0);
    assert.equal(mailsTo('freya@example.com').length, 1);
  });

  test('password reset: same answer for every address; the link sets a password once, ends sessions', async () => {
    const login = await call<{ refresh_token: string }>(server.url, 'POST', '/auth/login', {
      body: { username: 'freya', password: PASSWORD },
    });
    const unknown = await call(server.url, 'POST', '/auth/password-reset', {
      body: { email: 'ghost@example.com' },
    });
    const known = await call(server.url, 'POST', '/auth/password-reset', {
      body: { email: 'freya@example.com' },
    });
    assert.equal(known.status, 202);
    assert.deepEqual([unknown.status, unknown.body], [known.status, known.body]);
    const mail = await nextMailTo('freya@example.com', 2);
    assert.match(mail.raw, /^Subject: Reset your Acme password/m);
    const link = linkOf(mail.raw);
    assert.match(link, /^https:\/\/auth\.example\.test\/reset-password#token=lz1_/);
    const token = tokenOf(link);

    // Under the password policy; a refused password leaves the link usable.
    const weak = await call(server.url, 'POST', '/auth/password-reset/confirm', {
      body: { token, password: 'freya@example.com' },
    });
    assert.equal(weak.status, 400);
    assert.equal(weak.body['error'], 'weak_password');
    // Another purpose's endpoint refuses it: a reset link is no sign-in link.
    const foreign = await call(server.url, 'POST', '/auth/sign-in-link/confirm', {
      body: { token },
    });
    assert.equal(foreign.status, 400);
    assert.equal(foreign.body['error'], 'invalid_link');
    assert.match(String(foreign.body['error_description']), /meant for something else/);

    const NEW = 'a brand new passphrase for freya';
    // Two confirmations at once: exactly one sets the password.
    const racing = await Promise.all(
      [0, 1].map(() =>
        call(server.url, 'POST', '/auth/password-reset/confirm', {
          body: { token, password: NEW },
        }),
      ),
    );
    assert.deepEqual(racing.map((r) => r.status).sort(), [204, 400]);
    assert.equal(racing.find((r) => r.status === 400)?.body['error'], 'invalid_link');

    const refresh = await call(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: login.body.refresh_token },
    });
    assert.equal(refresh.status, 401);
    const old = await call(server.url, 'POST', '/auth/login', {
      body: { username: 'freya', password: PASSWORD },
    });
    assert.equal(old.status, 401);
    const fresh = await call(server.url, 'POST', '/auth/login', {
      body: { username: 'freya', password: NEW },
    });
    assert.equal(fresh.status, 200);
  });

  test('an expired link is refused as such', async () => {
    await call(server.url, 'POST', '/auth/password-reset', { body: { email: 'sif@example.com' } });
    const mail = await nextMailTo('sif@example.com', 3);
    clock += 31 * 60_000;
    try {
      const r = await call(server.url, 'POST', '/auth/password-reset/confirm', {
        body: { token: tokenOf(linkOf(mail.raw)), password: 'another long passphrase' },
      });
      assert.deepEqual(r.body, {
        error: 'invalid_link',
        error_description: 'this link has expired; ask for a new one',
      });
    } finally {
      clock -= 31 * 60_000;
    }
    const malformed = await call(server.url, 'POST', '/auth/verify-email', {
      body: { token: 'nope' },
    });
    assert.equal(malformed.body['error'], 'invalid_link');
  });

  test('a sign-in link gives tokens like a log-in, once', async () => {
    const r = await call(server.url, 'POST', '/auth/sign-in-link', {
      body: { email: 'idun@example.com' },
    });
    assert.equal(r.status, 202);
    const mail = await nextMailTo('idun@example.com', 3);
    const token = tokenOf(linkOf(mail.raw));
    const tokens = await call<{ access_token: string; refresh_token: string }>(
      server.url,
      'POST',
      '/auth/sign-in-link/confirm',
      { body: { token } },
    );
    assert.equal(tokens.status, 200);
    assert.equal(claimsOf(tokens.body.access_token)['email_verified'], true);
    assert.match(tokens.body.refresh_token, /^rt_/);
    const again = await call(server.url, 'POST', '/auth/sign-in-link/confirm', { body: { token } });
    assert.equal(again.body['error'], 'invalid_link');
  });

  test('change email: password required, link to the new address, notice to the old, change on confirm', async () => {
    const login = await call<{ access_token: string }>(server.url, 'POST', '/auth/login', {
      body: { username: 'idun', password: PASSWORD },
    });
    const bearer = login.body.access_token;
    const wrong = await call(server.url, 'POST', '/auth/email', {
      token: bearer,
      body: { email: 'idun.new@example.com', password: 'not the password' },
    });
    assert.equal(wrong.status, 401);
    const asked = await call(server.url, 'POST', '/auth/email', {
      token: bearer,
      body: { email: 'Idun.New@example.com', password: PASSWORD },
    });
    assert.equal(asked.status, 202);
    const link = linkOf((await nextMailTo('idun.new@example.com', 1)).raw);
    const notice = await nextMailTo('idun@example.com', 4);
    assert.match(textOf(notice.raw), /idun\.new@example\.com/);
    assert.equal((await server.app.store.findUserByUsername('idun'))?.email, 'idun@example.com');

    // A taken address: the same answer; its owner gets a notice, no link. (Past the address's
    // mail budget, spent by earlier tests: 3 per 15 minutes.)
    clock += 16 * 60_000;
    const relogin = await call<{ access_token: string }>(server.url, 'POST', '/auth/login', {
      body: { username: 'idun', password: PASSWORD },
    });
    const taken = await call(server.url, 'POST', '/auth/email', {
      token: relogin.body.access_token,
      body: { email: 'freya@example.com', password: PASSWORD },
    });
    assert.deepEqual([taken.status, taken.body], [asked.status, asked.body]);
    const holderNotice = await nextMailTo('freya@example.com', 3);
    assert.match(holderNotice.raw, /^Subject: About your Acme account/m);
    assert.throws(() => linkOf(holderNotice.raw));

    const done = await call<{ user: Record<string, unknown> }>(
      server.url,
      'POST',
      '/auth/email/confirm',
      { body: { token: tokenOf(link) } },
    );
    assert.equal(done.status, 200);
    assert.equal(done.body.user['email'], 'idun.new@example.com');
    assert.equal(done.body.user['email_verified'], true);
  });

  test('the OpenAPI document lists every mail route', async () => {
    const doc = await call<{ paths: Record<string, unknown> }>(server.url, 'GET', '/openapi.json');
    for (const path of [
      '/auth/verify-email',
      '/auth/verify-email/resend',
      '/auth/password-reset',
      '/auth/password-reset/confirm',
      '/auth/sign-in-link',
      '/auth/sign-in-link/confirm',
      '/auth/email',
      '/auth/email/confirm',
    ]) {
      assert.ok(doc.body.paths[path], path);
    }
  });

  test('a sign-in link replaces the password only: with TOTP on it answers mfa_required, and the second step gives tokens', async () => {
    clock += 61 * 60_000; // past the mail budgets (address, account) spent above
    const login = await call<{ access_token: string }>(server.url, 'POST', '/auth/login', {
      body: { username: 'idun', password: PASSWORD },
    });
    assert.equal(login.status, 200);
    const token = login.body.access_token;
    const codeNow = (secret: string) =>
      TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: clock });
    const address = 'idun.new@example.com';
    const before = mailsTo(address).length;
    const enrol = await call<{ secret: string }>(server.url, 'POST', '/auth/mfa/totp', { token });
    assert.equal(enrol.status, 200);
    const on = await call(server.url, 'POST', '/auth/mfa/totp/confirm', {
      token,
      body: { code: codeNow(enrol.body.secret) },
    });
    assert.equal(on.status, 200);
    clock += 30_000; // the next TOTP step: a code is accepted once
    // The owner is told that TOTP was set up; the sign-in link is the mail after that notice.
    assert.match((await nextMailTo(address, before + 1)).raw, /TOTP\) was set up/);
    const count = before + 2;
    const asked = await call(server.url, 'POST', '/auth/sign-in-link', {
      body: { email: address },
    });
    assert.equal(asked.status, 202);
    const link = tokenOf(linkOf((await nextMailTo(address, count)).raw));
    const first = await call(server.url, 'POST', '/auth/sign-in-link/confirm', {
      body: { token: link },
    });
    assert.equal(first.status, 401, JSON.stringify(first.body));
    assert.equal(first.body['error'], 'mfa_required');
    assert.equal(first.body['access_token'], undefined);
    assert.match(first.body['mfa_token'] as string, /^mfa_/);
    const done = await call<{ access_token: string }>(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: first.body['mfa_token'], code: codeNow(enrol.body.secret) },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    // RFC 8176 has no method for a mailed link: the token says the second factor only.
    const claims = claimsOf(done.body.access_token);
    assert.deepEqual(claims['amr'], ['otp', 'mfa']);
    assert.equal(claims['auth_time'], Math.floor(clock / 1000)); // when the link was followed
  });
});

describe('defaults: verification off, no sign-in links, mail to the outbox', () => {
  let server: Running;
  before(async () => {
    server = await start({ passwordParams: FAST_ARGON2 });
  });
  after(() => server.close());

  test('register keeps 201 and 409 email_taken; sign-in links are not offered', async () => {
    const body = { username: 'loki', email: 'loki@example.com', password: PASSWORD };
    assert.equal((await call(server.url, 'POST', '/auth/register', { body })).status, 201);
    const again = await call(server.url, 'POST', '/auth/register', {
      body: { ...body, username: 'loki2' },
    });
    assert.equal(again.status, 409);
    assert.equal(again.body['error'], 'email_taken');
    const off = await call(server.url, 'POST', '/auth/sign-in-link', {
      body: { email: 'loki@example.com' },
    });
    assert.equal(off.status, 404);
  });

  test('a reset mail lands in <dataDir>/outbox as a 0600 file with the link', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    await call(server.url, 'POST', '/auth/password-reset', { body: { email: 'loki@example.com' } });
    const outbox = join(server.dataDir, 'outbox');
    const deadline = Date.now() + 20_000; // a hang detector: sending is asynchronous
    while (!(await import('node:fs')).existsSync(outbox) || readdirSync(outbox).length === 0) {
      if (Date.now() > deadline) throw new Error('no mail in the outbox');
      await new Promise((r) => setTimeout(r, 20));
    }
    const [file] = readdirSync(outbox);
    assert.equal(statSync(join(outbox, file!)).mode & 0o777, 0o600);
    assert.match(linkOf(readFileSync(join(outbox, file!), 'utf8')), /\/reset-password#token=lz1_/);
  });
});
