// `laissez users add|list|disable|enable|delete|import|reset-mfa`: administer the auth server's users in its
// database, with the same validation and password hashing as `POST /auth/register`. Passwords are
// read from a prompt (no echo) or standard input, never from a flag: flags end up in shell history
// and in the process list.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { AuthServiceError } from '../auth/errors.ts';
import { resetSecondFactors } from '../auth/factors.ts';
import { OWASP_ARGON2ID } from '../auth/password.ts';
import {
  createUserAccount,
  insertUserAccount,
  prepareUserAccount,
  toPublicUser,
} from '../auth/service.ts';
import type { Store, User } from '../store/types.ts';
import { ADMIN_COMMANDS } from './admin.ts';
import { DATA_DIR_HELP, dataDirOf, openDataStore } from './data.ts';
import { findUser } from './find-user.ts';
import {
  type Command,
  type CommandGroup,
  type Context,
  colourEnabled,
  durationFlag,
  EXIT,
  expectPositionals,
  type Io,
  listFlag,
  painter,
  parseCommandLine,
  UsageError,
  warn,
  writeErr,
  writeJson,
  writeOut,
} from './io.ts';
import { recordCli } from './record.ts';
import { SET_METADATA } from './users-metadata.ts';

/**
 * Revokes every refresh token of the user and, with REDIS_URL set, publishes the sessions to the
 * revocation list (as the server's log-out-everywhere does), so resource servers that check it
 * refuse the user's access tokens at once. Returns how many refresh tokens were revoked.
 */
export async function endSessions(
  store: Store,
  userId: string,
  now: number,
  io: Io,
  reason: 'disabled' | 'logout_all' = 'disabled',
): Promise<number> {
  const redisUrl = io.env['REDIS_URL'];
  const sessions = redisUrl ? await store.listLiveFamilies(userId, now) : [];
  const revoked = await store.revokeUserTokens(userId, now, reason);
  if (redisUrl && sessions.length > 0) {
    const ttlText = io.env['LAISSEZ_ACCESS_TTL'] ?? '15m';
    const accessTtl = durationFlag(ttlText, 'LAISSEZ_ACCESS_TTL');
    const { createRevocationList } = await import('@laissez/middleware/redis');
    const list = createRevocationList({ url: redisUrl });
    try {
      const until = now + accessTtl * 1000 + 60_000;
      await Promise.all(sessions.map((sid) => list.revoke(sid, until)));
    } catch (error) {
      warn(io, `the sessions were not published to Redis (${(error as Error).message})`);
    } finally {
      await list.close();
    }
  }
  return revoked;
}

/**
 * The frame of `users disable|enable|delete`: `--data-dir` and `--json`, one positional naming
 * the user (id, username or email), the store open around `action`.
 */
export async function onNamedUser(
  args: string[],
  context: Context,
  action: (store: Store, user: User, json: boolean) => Promise<void>,
): Promise<number> {
  const { values, positionals } = parseCommandLine(args, {
    'data-dir': { type: 'string' },
    json: { type: 'boolean' },
  });
  expectPositionals(positionals, 1, 'one user: an id, a username or an email');
  const who = positionals[0];
  if (who === undefined || who === '') {
    throw new UsageError('say which user: an id, a username or an email');
  }
  const store = await openDataStore(dataDirOf(values['data-dir'], context.io.env), {
    env: context.io.env,
  });
  try {
    await action(store, await findUser(store, who), values.json === true);
    return EXIT.OK;
  } finally {
    await store.close();
  }
}

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
async function readPassword(io: Io, fromStdin: boolean): Promise<string> {
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

/** An AuthServiceError as a CLI message; the value itself (perhaps a password) is never repeated. */
function refusal(error: AuthServiceError): string {
  return `${error.code}: ${error.message}`;
}

const add: Command = {
  summary: 'add a user (password from a prompt or stdin)',
  help: `Usage: laissez users add --username U --email E [--role R,S] [--password-stdin] [--json]

Adds a user to the auth server's database, with the same rules as POST /auth/register: a
username of 3 to 32 letters, digits, ".", "_" or "-"; an email address; a password of 8 to 1024
characters, hashed with argon2id. The database is created if the data directory has none yet.

The password is asked for twice on a terminal, without echo, or read from the first line of
standard input with --password-stdin. It is never taken as a flag.

Options:
  --username U
  --email E
  --role R,S          roles (default: user), e.g. --role user,admin
  --password-stdin    read the password from standard input
${DATA_DIR_HELP}
  --json              print the new user as JSON
  -h, --help

Exit codes: 0 added, 1 refused (taken, invalid), 2 usage error.

Examples:
  laissez users add --username odin --email odin@example.com --role user,admin
  printf '%s\\n' "$PASSWORD" | laissez users add --username odin --email odin@example.com --password-stdin`,
  async run(args, context) {
    const { values, positionals } = parseCommandLine(args, {
      username: { type: 'string' },
      email: { type: 'string' },
      role: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
    });
    expectPositionals(positionals, 0, '');
    if (values.username === undefined) throw new UsageError('missing --username');
    if (values.email === undefined) throw new UsageError('missing --email');
    const roles = values.role === undefined ? ['user'] : listFlag(values.role, '--role');
    const dataDir = dataDirOf(values['data-dir'], context.io.env);
    const password = await readPassword(context.io, values['password-stdin'] === true);
    const store = await openDataStore(dataDir, { create: true, env: context.io.env });
    try {
      const user = await createUserAccount(store, {
        username: values.username,
        email: values.email,
        password,
        roles,
        passwordParams: OWASP_ARGON2ID,
        now: context.io.now(),
      });
      if (values.json) writeJson(context.io, toPublicUser(user));
      else writeOut(context.io, `added ${user.username} <${user.email}> (id ${user.id})`);
      return EXIT.OK;
    } catch (error) {
      if (!(error instanceof AuthServiceError)) throw error;
      writeErr(context.io, `${context.name}: ${refusal(error)}`);
      return EXIT.REJECTED;
    } finally {
      await store.close();
    }
  },
};

const list: Command = {
  summary: 'list users',
  help: `Usage: laissez users list [--limit N] [--after ID] [--json]

Lists users in the order they registered, at most --limit (default 100) after the user id --after
(for paging). Password hashes are never shown.

Options:
  --limit N
  --after ID
${DATA_DIR_HELP}
  --json
  -h, --help

Exit codes: 0 listed, 2 usage error.`,
  async run(args, context) {
    const { values, positionals } = parseCommandLine(args, {
      limit: { type: 'string' },
      after: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
    });
    expectPositionals(positionals, 0, '');
    const limit = values.limit === undefined ? 100 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new UsageError('--limit must be a whole number from 1 to 10000');
    }
    const store = await openDataStore(dataDirOf(values['data-dir'], context.io.env), {
      env: context.io.env,
    });
    try {
      const users = await store.listUsers({
        limit,
        ...(values.after !== undefined ? { after: values.after } : {}),
      });
      const shown = users.map((u) => ({ ...toPublicUser(u), disabled: u.disabled }));
      if (values.json) {
        writeJson(context.io, shown);
        return EXIT.OK;
      }
      if (shown.length === 0) {
        writeOut(context.io, 'no users');
        return EXIT.OK;
      }
      const paint = painter(colourEnabled(context.io.stdout, context.io.env));
      const rows = shown.map((u) => [
        u.id,
        u.username,
        u.email,
        u.roles.join(','),
        u.disabled ? 'disabled' : 'active',
        u.created_at,
      ]);
      const header = ['ID', 'USERNAME', 'EMAIL', 'ROLES', 'STATE', 'CREATED'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      const line = (cells: string[]) =>
        cells
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd();
      writeOut(context.io, paint('bold', line(header)));
      for (const row of rows) {
        writeOut(context.io, row[4] === 'disabled' ? paint('dim', line(row)) : line(row));
      }
      return EXIT.OK;
    } finally {
      await store.close();
    }
  },
};

function stateCommand(disable: boolean): Command {
  const verb = disable ? 'disable' : 'enable';
  return {
    summary: disable
      ? 'disable a user and revoke their refresh tokens'
      : 'enable a disabled user again',
    help: `Usage: laissez users ${verb} <id | username | email> [--json]

${
  disable
    ? `Disables the user: log-in, refresh and /auth/me refuse them, and every refresh token they hold
is revoked at once. Access tokens already issued stay valid at resource servers until they expire
(15 minutes by default): that is what stateless means.`
    : 'Enables a disabled user again. Their old refresh tokens stay revoked: they log in again.'
}

Options:
${DATA_DIR_HELP}
  --json
  -h, --help

Exit codes: 0 done, 1 no such user, 2 usage error.`,
    run: (args, context) =>
      onNamedUser(args, context, async (store, user, json) => {
        const now = context.io.now();
        await store.setUserDisabled(user.id, disable, now);
        const revoked = disable ? await endSessions(store, user.id, now, context.io) : 0;
        await recordCli(store, context, {
          type: disable ? 'admin.user_disabled' : 'admin.user_enabled',
          subject: user.id,
          ...(disable ? { details: { revoked } } : {}),
        });
        if (json) {
          writeJson(context.io, {
            id: user.id,
            username: user.username,
            disabled: disable,
            revoked,
          });
        } else {
          writeOut(
            context.io,
            disable
              ? `disabled ${user.username}; revoked ${revoked} refresh token${revoked === 1 ? '' : 's'}`
              : `enabled ${user.username}`,
          );
        }
      }),
  };
}

const remove: Command = {
  summary: 'delete a user and their refresh tokens',
  help: `Usage: laissez users delete <id | username | email> [--json]

Deletes the user and every refresh token they hold. The username and email become free again.
Access tokens already issued stay valid at resource servers until they expire; /auth/me refuses
them at once.

Options:
${DATA_DIR_HELP}
  --json
  -h, --help

Exit codes: 0 deleted, 1 no such user, 2 usage error.`,
  run: (args, context) =>
    onNamedUser(args, context, async (store, user, json) => {
      const revoked = await endSessions(store, user.id, context.io.now(), context.io);
      await store.deleteUser(user.id);
      await recordCli(store, context, {
        type: 'account.deleted',
        subject: user.id,
        details: { revoked },
      });
      if (json) {
        writeJson(context.io, { id: user.id, username: user.username, deleted: true, revoked });
      } else {
        writeOut(context.io, `deleted ${user.username} (id ${user.id})`);
      }
    }),
};

const resetMfa: Command = {
  summary: "remove a user's second factors (TOTP, recovery codes, passkeys)",
  help: `Usage: laissez users reset-mfa <id | username | email> [--json]

Removes the user's TOTP factor, recovery codes and passkeys, for an owner who lost their device: their
next log-in needs the password only, and they can enrol again. Their sessions are kept.

Options:
${DATA_DIR_HELP}
  --json
  -h, --help

Exit codes: 0 done, 1 no such user, 2 usage error.`,
  run: (args, context) =>
    onNamedUser(args, context, async (store, user, json) => {
      const had = await resetSecondFactors(store, user.id, context.io.now());
      if (had) {
        await recordCli(store, context, { type: 'admin.second_factors_reset', subject: user.id });
      }
      if (json) {
        writeJson(context.io, { id: user.id, username: user.username, reset: had });
      } else {
        writeOut(
          context.io,
          had
            ? `removed the second factors of ${user.username}`
            : `${user.username} had no second factor`,
        );
      }
    }),
};

/** Hashing runs on libuv's thread pool (4 threads by default): keep it busy, no more. */
const IMPORT_CONCURRENCY = 4;

const importUsers: Command = {
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
    const { values, positionals } = parseCommandLine(args, {
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
    });
    expectPositionals(positionals, 1, 'one file (or - for standard input)');
    const file = positionals[0];
    if (file === undefined) throw new UsageError('say which file to import (or - for stdin)');
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
    const store = await openDataStore(dataDirOf(values['data-dir'], context.io.env), {
      create: true,
      env: context.io.env,
    });
    const tty = (context.io.stderr as { isTTY?: boolean }).isTTY === true;
    const refused: Array<{ line: number; error: string; message: string }> = [];
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
      await store.close();
      if (tty) context.io.stderr.write('\n');
    }
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

/** `laissez users …` */
export const USERS_COMMANDS: CommandGroup = {
  add,
  list,
  disable: stateCommand(true),
  enable: stateCommand(false),
  'reset-mfa': resetMfa,
  delete: remove,
  import: importUsers,
  'set-metadata': SET_METADATA,
  ...ADMIN_COMMANDS,
};
