// The password of a new user, for `laissez users add`: from a prompt on a terminal (no echo,
// asked twice) or the first line of standard input; never from a flag, which ends up in shell
// history and the process list.
import { createInterface } from 'node:readline';
import { type Io, UsageError } from './io.ts';

/** Reads one line from a terminal without echoing it. */
async function promptHidden(io: Io, question: string): Promise<string> {
  const input = io.stdin as NodeJS.ReadStream;
  io.stderr.write(question);
  input.setRawMode?.(true);
  input.resume();
  input.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let text = '';
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') {
            input.off('data', onData);
            io.stderr.write('\n');
            resolve(text);
            return;
          }
          if (ch === '\u0003') {
            input.off('data', onData);
            reject(new UsageError('cancelled'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
          else text += ch;
        }
      };
      input.on('data', onData);
    });
  } finally {
    input.setRawMode?.(false);
    input.pause();
  }
}

/** The new user's password: `--password-stdin` (first line), or a prompt on a terminal. */
export async function readPassword(io: Io, fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    const lines = createInterface({ input: io.stdin, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      lines.close();
      return line;
    }
    throw new UsageError('standard input held no password (--password-stdin reads its first line)');
  }
  if (!(io.stdin as { isTTY?: boolean }).isTTY) {
    throw new UsageError(
      'no terminal to ask for the password: pipe it in with --password-stdin (never as a flag)',
    );
  }
  const first = await promptHidden(io, 'Password: ');
  const again = await promptHidden(io, 'Password again: ');
  if (first !== again) throw new UsageError('the two passwords differ; nothing was changed');
  return first;
}
