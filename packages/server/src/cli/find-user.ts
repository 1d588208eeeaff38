// The user a command names: by id, username or email (`laissez users disable odin`), and the
// frame of the commands that act on one.
import type { Store, User } from '../store/types.ts';
import { parseStoreCommandLine, STORE_FLAGS_HELP, withStore } from './data.ts';
import { CommandFailed, type Context, EXIT, oneOperand } from './io.ts';

/** Finds a user by id, username or email (in that order); a usage error when there is none. */
export async function findUser(store: Store, who: string): Promise<User> {
  const user =
    (await store.findUserById(who)) ??
    (await store.findUserByUsername(who.normalize('NFC'))) ??
    (who.includes('@') ? await store.findUserByEmail(who.normalize('NFC').toLowerCase()) : null);
  if (!user) {
    throw new CommandFailed(`no user with the id, username or email ${JSON.stringify(who)}`);
  }
  return user;
}

/** The one positional argument naming a user; none, an empty one or more is a usage error. */
export function userOperand(positionals: string[]): string {
  return oneOperand(
    positionals,
    'one user: an id, a username or an email',
    'say which user: an id, a username or an email',
    false,
  );
}

/**
 * The help of a command that takes only the user it names, `--data-dir` and `--json`:
 * `description` between the usage line and the options.
 */
export function namedUserHelp(
  subcommand: string,
  description: string,
  exitCodes = '0 done, 1 no such user, 2 usage error',
): string {
  return `Usage: laissez users ${subcommand} <id | username | email> [--json]

${description}

Options:
${STORE_FLAGS_HELP}

Exit codes: ${exitCodes}.`;
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
  const { values, positionals } = parseStoreCommandLine(args, {});
  const who = userOperand(positionals);
  return withStore(values['data-dir'], context, async (store) => {
    await action(store, await findUser(store, who), values.json === true);
    return EXIT.OK;
  });
}
