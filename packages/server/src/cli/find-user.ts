// The user a command names: by id, username or email (`laissez users disable odin`), and the
// frame of the commands that act on one.
import type { Store, User } from '../store/types.ts';
import { dataDirOf, openDataStore } from './data.ts';
import {
  CommandFailed,
  type Context,
  EXIT,
  expectPositionals,
  parseCommandLine,
  UsageError,
} from './io.ts';

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
