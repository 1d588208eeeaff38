// `laissez users set-roles|unlock|end-sessions` and `laissez audit`: what the admin API does
// (src/server/admin-routes.ts), from the command line, on the server's database. Each change is
// recorded in the audit log with the actor `cli`, as an administrator's would be with theirs.
import { checkRoles } from '../auth/admin.ts';
import { AuthServiceError } from '../auth/errors.ts';
import { STORE_FLAGS_HELP } from './data.ts';
import { COMMAND_REDIS_TIMEOUT, endSessions } from './end-sessions.ts';
import { namedUserHelp, onNamedUser } from './find-user.ts';
import {
  type Command,
  CommandFailed,
  type CommandGroup,
  listFlag,
  UsageError,
  writeJson,
  writeOut,
} from './io.ts';
import { recordCli } from './record.ts';

const setRoles: Command = {
  summary: "replace a user's roles (audited)",
  help: `Usage: laissez users set-roles <id | username | email> --role R,S [--json]

Replaces the user's roles, e.g. --role user,admin to make an administrator. A role is 1 to 32
lower-case letters, digits, "_", ":" or "-", starting with a letter; at most 16. The new roles
reach access tokens at the user's next log-in or refresh; tokens already issued keep theirs until
they expire. Recorded in the audit log (admin.roles_set, actor cli).

Options:
  --role R,S          the roles (replacing all of them)
${STORE_FLAGS_HELP}

Exit codes: 0 done, 1 no such user or a refused role, 2 usage error.

Example:
  laissez users set-roles alice --role user,admin`,
  async run(args, context) {
    const roleIndex = args.findIndex((a) => a === '--role' || a.startsWith('--role='));
    if (roleIndex < 0) throw new UsageError('missing --role (e.g. --role user,admin)');
    let rolesText = '';
    const rest = [...args];
    if (args[roleIndex] === '--role') {
      rolesText = args[roleIndex + 1] ?? '';
      rest.splice(roleIndex, 2);
    } else {
      rolesText = args[roleIndex]!.slice('--role='.length);
      rest.splice(roleIndex, 1);
    }
    const wanted = listFlag(rolesText, '--role');
    return onNamedUser(rest, context, async (store, user, json) => {
      let roles: string[];
      try {
        roles = checkRoles(wanted);
      } catch (error) {
        if (error instanceof AuthServiceError) throw new CommandFailed(error.message);
        throw error;
      }
      await store.setUserRoles(user.id, roles, context.io.now());
      await recordCli(store, context, {
        type: 'admin.roles_set',
        subject: user.id,
        details: { from: user.roles.join(','), to: roles.join(',') },
      });
      if (json) writeJson(context.io, { id: user.id, username: user.username, roles });
      else writeOut(context.io, `${user.username}: roles ${roles.join(',') || '(none)'}`);
    });
  },
};

const unlock: Command = {
  summary: 'lift the lock-out of an account after failed log-ins (with REDIS_URL; audited)',
  help: namedUserHelp(
    'unlock',
    `Lifts the lock-out of the account: the failure budget shared by clients without a device token is
reset, so the owner can log in again at once. The counters are where the servers keep them: in
Redis when the servers have REDIS_URL (give this command the same REDIS_URL), otherwise in the
memory of the one running server, which this command cannot reach: use the admin API there
(POST /admin/users/<id>/unlock). Recorded in the audit log (admin.user_unlocked, actor cli).`,
    '0 done, 1 no such user or no REDIS_URL, 2 usage error',
  ),
  run: (args, context) =>
    onNamedUser(args, context, async (store, user, json) => {
      const url = context.io.env['REDIS_URL'];
      if (!url) {
        throw new CommandFailed(
          "without REDIS_URL the lock-out counters are in the running server's memory: use POST /admin/users/<id>/unlock, or set REDIS_URL as the servers have it",
        );
      }
      const { RedisCounterStore } = await import('../redis/counters.ts');
      const { LoginGuard } = await import('../auth/login.ts');
      const counters = new RedisCounterStore({
        url,
        onUnavailable: 'closed',
        timeout: COMMAND_REDIS_TIMEOUT,
      });
      try {
        // The same keys as the server's log-in (LoginGuard.unlock), so nothing here can drift.
        const guard = new LoginGuard({
          store,
          now: context.io.now,
          passwordParams: { memory: 1024, passes: 1, parallelism: 1 },
          rateLimits: undefined,
          counters,
        });
        await guard.unlock(user.id);
      } finally {
        await counters.close();
      }
      await recordCli(store, context, { type: 'admin.user_unlocked', subject: user.id });
      if (json) writeJson(context.io, { id: user.id, username: user.username, unlocked: true });
      else writeOut(context.io, `unlocked ${user.username}`);
    }),
};

const endAll: Command = {
  summary: 'end every session of a user (audited)',
  help: namedUserHelp(
    'end-sessions',
    `Revokes every refresh token the user holds, as "log out everywhere" does, and with REDIS_URL
publishes the sessions to the revocation list, so resource servers that check it refuse the
user's access tokens at once. The account stays enabled: the user can log in again. Recorded in
the audit log (admin.sessions_ended, actor cli).`,
  ),
  run: (args, context) =>
    onNamedUser(args, context, async (store, user, json) => {
      const revoked = await endSessions(store, user.id, context.io.now(), context.io, 'logout_all');
      await recordCli(store, context, {
        type: 'admin.sessions_ended',
        subject: user.id,
        details: { revoked },
      });
      if (json) writeJson(context.io, { id: user.id, username: user.username, revoked });
      else {
        writeOut(
          context.io,
          `ended the sessions of ${user.username}; revoked ${revoked} refresh token${revoked === 1 ? '' : 's'}`,
        );
      }
    }),
};

/** `laissez users …` commands of administration, merged into USERS_COMMANDS. */
export const ADMIN_COMMANDS: CommandGroup = {
  'set-roles': setRoles,
  unlock,
  'end-sessions': endAll,
};
