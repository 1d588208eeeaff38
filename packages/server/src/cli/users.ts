// `laissez users add|list|disable|enable|delete|import|reset-mfa`: administer the auth server's users in its
// database, with the same validation and password hashing as `POST /auth/register`. Passwords are
// read from a prompt (no echo) or standard input, never from a flag: flags end up in shell history
// and in the process list (password-prompt.ts). `import` is users-import.ts, `set-metadata`
// users-metadata.ts; the frame of the commands naming one user is find-user.ts's.

import { AuthServiceError } from '../auth/errors.ts';
import { resetSecondFactors } from '../auth/factors.ts';
import { OWASP_ARGON2ID } from '../auth/password.ts';
import { createUserAccount, toPublicUser } from '../auth/service.ts';
import { ADMIN_COMMANDS } from './admin.ts';
import {
  DATA_DIR_HELP,
  dataDirOf,
  parseStoreCommandLine,
  STORE_FLAGS_HELP,
  withStore,
} from './data.ts';
import { endSessions } from './end-sessions.ts';
import { namedUserHelp, onNamedUser } from './find-user.ts';
import {
  type Command,
  type CommandGroup,
  colourEnabled,
  EXIT,
  expectPositionals,
  limitFlag,
  listFlag,
  painter,
  UsageError,
  writeErr,
  writeJson,
  writeOut,
} from './io.ts';
import { readPassword } from './password-prompt.ts';
import { recordCli } from './record.ts';
import { IMPORT_USERS } from './users-import.ts';
import { SET_METADATA } from './users-metadata.ts';

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
    const { values, positionals } = parseStoreCommandLine(args, {
      username: { type: 'string' },
      email: { type: 'string' },
      role: { type: 'string' },
      'password-stdin': { type: 'boolean' },
    });
    expectPositionals(positionals, 0, '');
    const { username, email } = values;
    if (username === undefined) throw new UsageError('missing --username');
    if (email === undefined) throw new UsageError('missing --email');
    const roles = values.role === undefined ? ['user'] : listFlag(values.role, '--role');
    // Checked before the password prompt: a mistake there must not cost a typed password.
    const dataDir = dataDirOf(values['data-dir'], context.io.env);
    const password = await readPassword(context.io, values['password-stdin'] === true);
    return withStore(
      dataDir,
      context,
      async (store) => {
        try {
          const user = await createUserAccount(store, {
            username,
            email,
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
        }
      },
      { create: true },
    );
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
${STORE_FLAGS_HELP}

Exit codes: 0 listed, 2 usage error.`,
  async run(args, context) {
    const { values, positionals } = parseStoreCommandLine(args, {
      limit: { type: 'string' },
      after: { type: 'string' },
    });
    expectPositionals(positionals, 0, '');
    const limit = limitFlag(values.limit);
    return withStore(values['data-dir'], context, async (store) => {
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
    });
  },
};

function stateCommand(disable: boolean): Command {
  const verb = disable ? 'disable' : 'enable';
  return {
    summary: disable
      ? 'disable a user and revoke their refresh tokens'
      : 'enable a disabled user again',
    help: namedUserHelp(
      verb,
      disable
        ? `Disables the user: log-in, refresh and /auth/me refuse them, and every refresh token they hold
is revoked at once. Access tokens already issued stay valid at resource servers until they expire
(15 minutes by default): that is what stateless means.`
        : 'Enables a disabled user again. Their old refresh tokens stay revoked: they log in again.',
    ),
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
  help: namedUserHelp(
    'delete',
    `Deletes the user and every refresh token they hold. The username and email become free again.
Access tokens already issued stay valid at resource servers until they expire; /auth/me refuses
them at once.`,
    '0 deleted, 1 no such user, 2 usage error',
  ),
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
  help: namedUserHelp(
    'reset-mfa',
    `Removes the user's TOTP factor, recovery codes and passkeys, for an owner who lost their device: their
next log-in needs the password only, and they can enrol again. Their sessions are kept.`,
  ),
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

/** `laissez users …` */
export const USERS_COMMANDS: CommandGroup = {
  add,
  list,
  disable: stateCommand(true),
  enable: stateCommand(false),
  'reset-mfa': resetMfa,
  delete: remove,
  import: IMPORT_USERS,
  'set-metadata': SET_METADATA,
  ...ADMIN_COMMANDS,
};
