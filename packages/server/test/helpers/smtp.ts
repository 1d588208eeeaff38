// A real SMTP server in a process of its own (the `smtp-server` package) on 127.0.0.1, port 0,
// for tests: it prints its port, then one JSON line per message it accepted. `SMTP_REJECT=n`
// makes it refuse the first n messages (451, a temporary failure) to test retries.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The raw RFC 5322 message. */
  raw: string;
}

export interface SmtpProcess {
  port: number;
  url: string;
  received: ReceivedMail[];
  /** Resolves with the n-th message (1-based) once it has arrived. */
  nth(n: number, timeoutMs?: number): Promise<ReceivedMail>;
  stop(): Promise<void>;
}

const SERVER = new URL('./smtp-server-process.ts', import.meta.url).pathname;

export async function startSmtp(options: { reject?: number } = {}): Promise<SmtpProcess> {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, SMTP_REJECT: String(options.reject ?? 0) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const received: ReceivedMail[] = [];
  const waiters: (() => void)[] = [];
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the SMTP process exited (${code})`)));
    lines.on('line', (line) => {
      const event = JSON.parse(line) as { port?: number; mail?: ReceivedMail };
      if (event.port !== undefined) resolve(event.port);
      if (event.mail) {
        received.push(event.mail);
        for (const wake of waiters.splice(0)) wake();
      }
    });
  });
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    received,
    async nth(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`no message ${n} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100).unref();
        });
      }
      return received[n - 1]!;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    },
  };
}

/** The decoded text/plain part of a message the outbox or nodemailer wrote. */
export function textOf(raw: string): string {
  const unfolded = raw.replace(/\r\n/g, '\n');
  const part =
    /Content-Type: text\/plain[^\n]*\n(?:[^\n]+\n)*?Content-Transfer-Encoding: (\S+)\n\n([\s\S]*?)\n--/i.exec(
      unfolded,
    );
  if (!part) return unfolded;
  const [, encoding, body] = part as unknown as [string, string, string];
  if (/base64/i.test(encoding))
    return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (/quoted-printable/i.test(encoding)) {
    return body
      .replace(/=\n/g, '')
      .replace(/(=[0-9A-F]{2})+/gi, (m) =>
        Buffer.from(m.replace(/=/g, ''), 'hex').toString('utf8'),
      );
  }
  return body;
}

/** The first http(s) link in a message's text. */
export function linkOf(raw: string): string {
  const link = /https?:\/\/[^\s<>"]+/.exec(textOf(raw))?.[0];
  if (!link) throw new Error('the message holds no link');
  return link;
}
