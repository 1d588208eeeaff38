// The audit log from the command line: a change made by `laissez users …` or `laissez keys …`
// is recorded with the actor `cli`, as an administrator's change is with their user id.
import { type AuditRecord, storeAuditSink } from '../auth/audit.ts';
import type { Store } from '../store/types.ts';
import { CommandFailed, type Context } from './io.ts';

/** Appends one event with the actor `cli`; a failure to append fails the command (exit 1). */
export async function recordCli(
  store: Store,
  context: Context,
  event: Omit<AuditRecord, 'actor'>,
): Promise<void> {
  let failure: unknown;
  await storeAuditSink({
    store,
    now: context.io.now,
    onError: (error) => {
      failure = error;
    },
  }).record({ ...event, actor: 'cli' });
  if (failure !== undefined) {
    throw new CommandFailed(
      `the change was made but not written to the audit log (${(failure as Error).message})`,
    );
  }
}
