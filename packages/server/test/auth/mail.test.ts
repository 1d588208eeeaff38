// The mail port: SMTP through a real SMTP server process on loopback, retries with backoff and a
// report when every attempt failed, the embedded outbox (one 0600 file per message, 0700 dir),
// templates that escape what they are given.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  MailDeliveryError,
  Mailer,
  type MailMessage,
  outboxTransport,
  renderMail,
} from '../../src/auth/mail.ts';
import { smtpTransport } from '../../src/auth/mail-smtp.ts';
import { linkOf, startSmtp, textOf } from '../helpers/smtp.ts';

const message = (overrides: Partial<MailMessage> = {}): MailMessage => ({
  from: 'Acme <no-reply@acme.test>',
  to: 'odin@example.com',
  kind: 'sign_in',
  ...renderMail('sign_in', {
    product: 'Acme',
    link: 'http://127.0.0.1:1/sign-in#token=abc',
    validFor: '15 minutes',
  }),
  link: 'http://127.0.0.1:1/sign-in#token=abc',
  ...overrides,
});

describe('SMTP transport', () => {
  test('a mail reaches a real SMTP server with both bodies', async (t) => {
    const smtp = await startSmtp();
    t.after(() => smtp.stop());
    const mailer = new Mailer({
      transport: smtpTransport(smtp.url),
      from: 'Acme <no-reply@acme.test>',
    });
    await mailer.deliver(message());
    const got = await smtp.nth(1);
    assert.equal(got.from, 'no-reply@acme.test');
    assert.deepEqual(got.to, ['odin@example.com']);
    assert.match(got.raw, /^Subject: Your Acme sign-in link/m);
    assert.match(got.raw, /text\/html/);
    assert.equal(linkOf(got.raw), 'http://127.0.0.1:1/sign-in#token=abc');
    await mailer.close();
  });

  test('a temporary refusal is retried with backoff until the mail goes', async (t) => {
    const smtp = await startSmtp({ reject: 2 });
    t.after(() => smtp.stop());
    const sent: string[] = [];
    const mailer = new Mailer({
      transport: smtpTransport(smtp.url),
      from: 'no-reply@acme.test',
      backoff: 20,
      onSent: (m) => sent.push(m.kind),
    });
    await mailer.deliver(message());
    assert.equal(smtp.received.length, 1);
    assert.deepEqual(sent, ['sign_in']);
  });

  test('a server that stays down: deliver rejects after the last attempt, and it is reported', async () => {
    const failures: unknown[] = [];
    // A port nothing listens on (a server started and stopped).
    const smtp = await startSmtp();
    const url = smtp.url;
    await smtp.stop();
    const mailer = new Mailer({
      transport: smtpTransport(url, { timeout: 2000 }),
      from: 'no-reply@acme.test',
      attempts: 3,
      backoff: 10,
      onFailure: (m, error) => failures.push([m.kind, error]),
    });
    await assert.rejects(mailer.deliver(message()), MailDeliveryError);
    assert.equal(failures.length, 1);
    // enqueue never throws, and reports the same way.
    mailer.enqueue(message());
    await mailer.close();
    assert.equal(failures.length, 2);
  });
});

describe('embedded outbox', () => {
  const dir = mkdtempSync(join(tmpdir(), 'laissez-outbox-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('one file per message, 0600 in a 0700 directory, and the link handed to the log', async () => {
    const outbox = join(dir, 'outbox');
    const logged: string[] = [];
    const mailer = new Mailer({
      transport: outboxTransport({ dir: outbox, log: (m) => logged.push(m.link ?? '') }),
      from: 'no-reply@acme.test',
    });
    await mailer.deliver(message());
    await mailer.deliver(message({ to: 'thor@example.com' }));
    const files = readdirSync(outbox);
    assert.equal(files.length, 2);
    assert.equal(statSync(outbox).mode & 0o777, 0o700);
    for (const file of files) {
      assert.match(file, /\.eml$/);
      assert.equal(statSync(join(outbox, file)).mode & 0o777, 0o600);
    }
    const raw = readFileSync(join(outbox, files.sort()[0]!), 'utf8');
    assert.equal(linkOf(raw), 'http://127.0.0.1:1/sign-in#token=abc');
    assert.deepEqual(logged, [
      'http://127.0.0.1:1/sign-in#token=abc',
      'http://127.0.0.1:1/sign-in#token=abc',
    ]);
  });

  test('headers cannot be injected through a value with line breaks', async () => {
    const outbox = join(dir, 'inject');
    const mailer = new Mailer({ transport: outboxTransport({ dir: outbox }), from: 'a@b.test' });
    await mailer.deliver(message({ subject: 'Hi\r\nBcc: victim@example.com' }));
    const raw = readFileSync(join(outbox, readdirSync(outbox)[0]!), 'utf8');
    assert.doesNotMatch(raw, /^Bcc:/m);
  });
});

test('templates escape the product name and the address in HTML', () => {
  const mail = renderMail('email_change_requested', {
    product: '<b>Acme</b>',
    address: 'x"><script>@example.com',
  });
  assert.doesNotMatch(mail.html, /<script>|<b>Acme/);
  assert.match(mail.html, /&lt;b&gt;Acme/);
  assert.match(textOf(mail.text), /x"><script>@example.com/);
});
