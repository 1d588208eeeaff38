// `laissez users import`: many users from a JSON Lines file, checked and hashed as by
// POST /auth/register, several at a time, inserted in the file's order, with progress.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { AuthServiceError } from '../auth/errors.ts';
import { OWASP_ARGON2ID } from '../auth/password.ts';
import { insertUserAccount, prepareUserAccount } from '../auth/service.ts';
import type { Store } from '../store/types.ts';
import { DATA_DIR_HELP, parseStoreCommandLine, withStore } from './data.ts';
import {
  type Command,
  type Context,
  EXIT,
  oneOperand,
  UsageError,
  writeErr,
  writeJson,
  writeOut,
} from './io.ts';

/** Hashing runs on libuv's thread pool (4 threads by default): keep it busy, no more. */
const IMPORT_CONCURRENCY = 4;

/** A line refused, by its number and reason (never its password). */
type Refused = { line: number; error: string; message: string };

/**
 * Adds the users of `input`, one JSON object a line, to `store`: hashed several at a time,
 * inserted in the file's order. Progress goes to stderr when `tty`.
 */
async function importLines(
  store: Store,
  input: NodeJS.ReadableStream,
  context: Context,
  tty: boolean,
): Promise<{ added: number; refused: Refused[] }> {
  const refused: Refused[] = [];
  let added = 0;
  let seen = 0;
  const progress = () => {
    if (tty) context.io.stderr.write(`\rimporting: ${added} added, ${refused.length} refused`);
  };
  // Hashes run side by side, but inserts keep the file's order (each line waits for the one
  // before it), so of two lines with one username the first wins.
  let inserted: Promise<void> = Promise.resolve();
  const addOne = (lineNumber: number, text: string): Promise<void> => {
    const turn = inserted;
    let done!: () => void;
    inserted = new Promise<void>((resolve) => {
      done = resolve;
    });
    return check(lineNumber, text, turn).finally(() => {
      done();
      progress();
    });
  };
  const check = async (lineNumber: number, text: string, turn: Promise<void>) => {
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {}
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      refused.push({ line: lineNumber, error: 'invalid_json', message: 'not a JSON object' });
      return;
    }
    const r = record as Record<string, unknown>;
    const roles = r['roles'] ?? ['user'];
    try {
      if (!Array.isArray(roles) || !roles.every((x) => typeof x === 'string')) {
        throw new AuthServiceError('invalid_request', 'roles must be an array of strings', {
          field: 'roles',
        });
      }
      const prepared = await prepareUserAccount({
        username: r['username'],
        email: r['email'],
        password: r['password'],
        roles,
        passwordParams: OWASP_ARGON2ID,
        now: context.io.now(),
      });
      await turn;
      await insertUserAccount(store, prepared);
      added++;
    } catch (error) {
      if (!(error instanceof AuthServiceError)) throw error;
      refused.push({ line: lineNumber, error: error.code, message: error.message });
    }
  };
  try {
    const running = new Set<Promise<void>>();
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const text of lines) {
      seen++;
      if (text.trim() === '') continue;
      const job = addOne(seen, text).finally(() => running.delete(job));
      running.add(job);
      if (running.size >= IMPORT_CONCURRENCY) await Promise.race(running);
    }
    await Promise.all(running);
  } finally {
    if (tty) context.io.stderr.write('\n');
  }
  return { added, refused };
}

export const IMPORT_USERS: Command = {
  summary: 'add many users from a JSON Lines file, with progress',
  help: `Usage: laissez users import <file | -> [--json]

Adds users from JSON Lines: one object per line, {"username", "email", "password", "roles"?}
(roles default to ["user"]). Each is checked and hashed as by POST /auth/register, four at a time.
A line that is refused is reported by its line number and reason (never its password) and the
rest go on. Progress goes to stderr on a terminal.

Options:
${DATA_DIR_HELP}
  --json      print {"added", "refused": [{"line", "error", "message"}]} at the end
  -h, --help

Exit codes: 0 every line added, 1 some lines refused, 2 usage error.

Example:
  laissez users import users.jsonl --data-dir /var/lib/laissez`,
  async run(args, context) {
    const { values, positionals } = parseStoreCommandLine(args, {});
    const file = oneOperand(
      positionals,
      'one file (or - for standard input)',
      'say which file to import (or - for stdin)',
    );
    let input: NodeJS.ReadableStream = context.io.stdin;
    if (file !== '-') {
      const stream = createReadStream(file);
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', (error: NodeJS.ErrnoException) =>
          reject(new UsageError(`cannot read ${file}: ${error.code ?? 'error'}`)),
        );
      });
      input = stream;
    }
    const tty = (context.io.stderr as { isTTY?: boolean }).isTTY === true;
    const { added, refused } = await withStore(
      values['data-dir'],
      context,
      (store) => importLines(store, input, context, tty),
      { create: true },
    );
    refused.sort((a, b) => a.line - b.line);
    if (values.json) {
      writeJson(context.io, { added, refused });
    } else {
      writeOut(
        context.io,
        `added ${added} user${added === 1 ? '' : 's'}, refused ${refused.length}`,
      );
      for (const r of refused) writeErr(context.io, `line ${r.line}: ${r.error}: ${r.message}`);
    }
    return refused.length === 0 ? EXIT.OK : EXIT.REJECTED;
  },
};
