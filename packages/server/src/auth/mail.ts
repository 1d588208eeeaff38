// The mail port of the auth domain: what the account flows send (verification, reset, sign-in and
// change-of-address links, notices), built from plain-text and simple HTML templates, and how it
// goes out: a `MailTransport` (`send(message)`) behind a `Mailer` that retries with a bounded
// backoff and reports a mail it could not send, never dropping one silently. Two transports ship:
// SMTP (src/auth/mail-smtp.ts, nodemailer) and the embedded outbox below, one file per message.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** One mail, ready to go: RFC 5322 fields as text, both bodies rendered. */
export interface MailMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The link the mail carries, if any: the outbox prints it on the log. */
  link?: string;
  /** Which template made it (for logs and tests; never a secret). */
  kind: MailKind;
}

/** The port: delivers one message or throws. */
export interface MailTransport {
  send(message: MailMessage): Promise<void>;
  close?(): Promise<void>;
}

export type MailKind =
  | 'verify_email'
  | 'already_registered'
  | 'reset_password'
  | 'sign_in'
  | 'change_email'
  | 'email_change_requested'
  | 'email_taken_notice'
  | 'security_notice';

export interface MailerOptions {
  transport: MailTransport;
  /** The From header, e.g. `Example <no-reply@example.com>`. */
  from: string;
  /** Attempts per mail, the first included. Default 4. */
  attempts?: number;
  /** The first retry waits this long (ms), doubling up to `maxBackoff`. Default 500. */
  backoff?: number;
  /** Default 8000 ms. */
  maxBackoff?: number;
  /** A mail that could not be sent after every attempt (an error log: never silently dropped). */
  onFailure?: (message: MailMessage, error: unknown) => void;
  /** Each mail sent (a log line, a metric). */
  onSent?: (message: MailMessage) => void;
}

/** Thrown by `Mailer.deliver` when every attempt failed. */
export class MailDeliveryError extends Error {
  override name = 'MailDeliveryError';
}

/**
 * Sends mail through a transport with retries. `deliver` waits for the outcome (a flow that can
 * tell its caller); `enqueue` does not (a flow whose answer must not depend on whether a mail was
 * sent: an unknown address sends none), and reports a failure through `onFailure`.
 */
export class Mailer {
  readonly #o: Required<Omit<MailerOptions, 'onSent'>> & Pick<MailerOptions, 'onSent'>;
  readonly #pending = new Set<Promise<void>>();

  constructor(options: MailerOptions) {
    this.#o = {
      attempts: 4,
      backoff: 500,
      maxBackoff: 8000,
      onFailure: () => {},
      ...options,
    };
    if (!Number.isSafeInteger(this.#o.attempts) || this.#o.attempts < 1)
      throw new TypeError('attempts must be a whole number >= 1');
  }

  get from(): string {
    return this.#o.from;
  }

  /** Sends `message`, retrying; rejects with MailDeliveryError after the last attempt. */
  async deliver(message: MailMessage): Promise<void> {
    let wait = this.#o.backoff;
    let last: unknown;
    for (let attempt = 1; attempt <= this.#o.attempts; attempt++) {
      try {
        await this.#o.transport.send(message);
        this.#o.onSent?.(message);
        return;
      } catch (error) {
        last = error;
        if (attempt < this.#o.attempts) {
          await sleep(wait);
          wait = Math.min(wait * 2, this.#o.maxBackoff);
        }
      }
    }
    this.#o.onFailure(message, last);
    throw new MailDeliveryError(`the ${message.kind} mail could not be sent`, { cause: last });
  }

  /** Sends in the background; a failure is reported through `onFailure` (deliver does that). */
  enqueue(message: MailMessage): void {
    const sending = this.deliver(message).catch(() => {});
    this.#pending.add(sending);
    void sending.finally(() => this.#pending.delete(sending));
  }

  /** Waits for the mails in flight (so a shutdown loses none), then closes the transport. */
  async close(): Promise<void> {
    await Promise.all(this.#pending);
    await this.#o.transport.close?.();
  }
}

/**
 * The embedded outbox: each message is written to `dir` as one RFC 5322 file (`.eml`, 0600, the
 * directory 0700: the links in it are credentials), and its link is handed to `log` so that every
 * flow works on a fresh machine with no mail server. For development and single-machine use.
 */
export function outboxTransport(options: {
  dir: string;
  log?: (message: MailMessage, file: string) => void;
}): MailTransport {
  const { dir } = options;
  let ready: Promise<void> | undefined;
  return {
    async send(message) {
      ready ??= mkdir(dir, { recursive: true, mode: 0o700 }).then(() => chmod(dir, 0o700));
      await ready;
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(6).toString('hex')}.eml`;
      const file = join(dir, name);
      await writeFile(file, toRfc5322(message), { mode: 0o600, flag: 'wx' });
      options.log?.(message, file);
    },
  };
}

/** A header value with no line breaks (header injection) and non-ASCII as RFC 2047 words. */
function header(value: string): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(flat)
    ? flat
    : `=?UTF-8?B?${Buffer.from(flat, 'utf8').toString('base64')}?=`;
}

/** A multipart/alternative message (RFC 2046 §5.1.4): text first, HTML preferred. */
export function toRfc5322(message: MailMessage): string {
  const boundary = `laissez-${randomBytes(12).toString('hex')}`;
  const part = (type: string, body: string) =>
    [
      `--${boundary}`,
      `Content-Type: ${type}; charset=utf-8`,
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from(body, 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n'),
    ].join('\r\n');
  return [
    `From: ${header(message.from)}`,
    `To: ${header(message.to)}`,
    `Subject: ${header(message.subject)}`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    part('text/plain', message.text),
    part('text/html', message.html),
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

export interface TemplateContext {
  /** The product's name in subjects and greetings. */
  product: string;
  /** The link the mail carries, if any. */
  link?: string;
  /** How long the link works, in words ("24 hours"). */
  validFor?: string;
  /** The other address in a change-of-address mail. */
  address?: string;
  /** What happened, in a security notice ("A recovery code was used to sign in."). */
  notice?: string;
}

/** Paragraphs of a template; `{link}` stands alone on its own line. */
const TEMPLATES: Record<MailKind, (c: TemplateContext) => { subject: string; lines: string[] }> = {
  verify_email: (c) => ({
    subject: `Confirm your email for ${c.product}`,
    lines: [
      `Confirm that this is your email address for ${c.product} by opening this link:`,
      '{link}',
      `The link works once, for ${c.validFor}. If you did not create an account, ignore this mail.`,
    ],
  }),
  already_registered: (c) => ({
    subject: `You already have a ${c.product} account`,
    lines: [
      `Someone (perhaps you) tried to create a ${c.product} account with this email address, which already has one.`,
      'If it was you, log in instead, or reset your password if you forgot it. If not, ignore this mail: nothing was changed.',
    ],
  }),
  reset_password: (c) => ({
    subject: `Reset your ${c.product} password`,
    lines: [
      `Someone (perhaps you) asked to reset the password of your ${c.product} account. To choose a new one, open this link:`,
      '{link}',
      `The link works once, for ${c.validFor}. Setting a new password ends every session of the account. If you did not ask, ignore this mail.`,
    ],
  }),
  sign_in: (c) => ({
    subject: `Your ${c.product} sign-in link`,
    lines: [
      `Open this link to sign in to ${c.product}:`,
      '{link}',
      `The link works once, for ${c.validFor}. If you did not ask for it, ignore this mail.`,
    ],
  }),
  change_email: (c) => ({
    subject: `Confirm your new email for ${c.product}`,
    lines: [
      `Someone (perhaps you) asked to use this address for their ${c.product} account. To confirm, open this link:`,
      '{link}',
      `The link works once, for ${c.validFor}. If you did not ask, ignore this mail: nothing changes.`,
    ],
  }),
  email_change_requested: (c) => ({
    subject: `Your ${c.product} email is about to change`,
    lines: [
      `Someone signed in to your ${c.product} account asked to change its email address to ${c.address}.`,
      'The change happens only when a link sent to that address is opened. If it was not you, change your password now: your account may be in someone else’s hands.',
    ],
  }),
  security_notice: (c) => ({
    subject: `A security change on your ${c.product} account`,
    lines: [
      c.notice ?? 'The security settings of your account changed.',
      'If it was you, nothing more is needed. If not, change your password now and review your second factors and sessions: your account may be in someone else’s hands.',
    ],
  }),
  email_taken_notice: (c) => ({
    subject: `About your ${c.product} account`,
    lines: [
      `Someone asked to move another ${c.product} account to this address, which already belongs to an account. Nothing was changed.`,
    ],
  }),
};

/** Renders a template: plain text, and HTML with every value escaped. */
export function renderMail(
  kind: MailKind,
  context: TemplateContext,
): { subject: string; text: string; html: string } {
  const { subject, lines } = TEMPLATES[kind](context);
  const link = context.link ?? '';
  const text = `${lines.map((l) => (l === '{link}' ? link : l)).join('\n\n')}\n\n— ${context.product}\n`;
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">',
    ...lines.map((l) =>
      l === '{link}'
        ? `<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>`
        : `<p>${escapeHtml(l)}</p>`,
    ),
    `<p>— ${escapeHtml(context.product)}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}
