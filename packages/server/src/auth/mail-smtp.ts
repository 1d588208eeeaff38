// The SMTP transport of the mail port, over nodemailer: one connection per message (mail is rare
// here: a few per user, ever), bounded timeouts so that a dead server fails an attempt instead of
// hanging it, and the Mailer's retries around it.
import { createTransport } from 'nodemailer';
import type { MailTransport } from './mail.ts';

/**
 * An SMTP transport for `smtp://user:pass@host:587` (STARTTLS when the server offers it) or
 * `smtps://…:465` (TLS from the start), as nodemailer reads such URLs.
 */
export function smtpTransport(url: string, options: { timeout?: number } = {}): MailTransport {
  const timeout = options.timeout ?? 10_000;
  const parsed = new URL(url);
  const transporter = createTransport({
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : parsed.protocol === 'smtps:' ? 465 : 587,
    secure: parsed.protocol === 'smtps:',
    ...(parsed.username
      ? {
          auth: {
            user: decodeURIComponent(parsed.username),
            pass: decodeURIComponent(parsed.password),
          },
        }
      : {}),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    // No logging of the conversation: it holds the links, which are credentials.
    logger: false,
  });
  return {
    async send(message) {
      await transporter.sendMail({
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
      });
    },
    async close() {
      transporter.close();
    },
  };
}
