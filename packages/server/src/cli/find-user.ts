// The user a command names: by id, username or email (`laissez users disable odin`).
import type { Store, User } from '../store/types.ts';
import { CommandFailed } from './io.ts';

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
