// `laissez audit`: the audit log of security events, newest first, from the server's database.
import type { AuditEvent } from '../store/types.ts';
import { DATA_DIR_HELP, parseStoreCommandLine, withStore } from './data.ts';
import { findUser } from './find-user.ts';
import {
  type Command,
  EXIT,
  expectPositionals,
  limitFlag,
  UsageError,
  writeJson,
  writeOut,
} from './io.ts';

/** A time from the command line: a date, an RFC 3339 date-time, or a duration ago (`24h`, `7d`). */
function timeFlag(text: string, flag: string, now: number): number {
  const ago = /^(\d{1,6})([smhd])$/.exec(text);
  if (ago) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
      ago[2] as 's' | 'm' | 'h' | 'd'
    ];
    return now - Number(ago[1]) * unit;
  }
  const at = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text)
    ? Date.parse(text)
    : Number.NaN;
  if (!Number.isFinite(at)) {
    throw new UsageError(
      `${flag} must be a date (2026-01-31), a date-time (2026-01-31T12:00:00Z) or a time ago (24h, 7d)`,
    );
  }
  return at;
}

function eventLine(event: AuditEvent): string {
  const details = event.details ? ` ${JSON.stringify(event.details)}` : '';
  return `${new Date(event.at).toISOString()}  ${event.type.padEnd(22)}  actor=${event.actor}  subject=${event.subject ?? '-'}  ip=${event.ip ?? '-'}${details}`;
}

/** `laissez audit`: the audit log, newest first. */
export const AUDIT: Command = {
  summary: 'read the audit log of security events',
  help: `Usage: laissez audit [--type T] [--user U] [--since D] [--until D] [--limit N] [--json]

Prints security events, newest first: registrations, log-ins and failures, lock-outs, sessions
ended, refresh-token reuse, key rotations and every administrator's action, each with its actor
(a user id, or cli, system, anonymous), its subject (a user id), the client address and a few
details (never a password, a token or a hash). Events older than the server's --audit-retention
(90 days by default) are deleted.

Options:
  --type T      only this type, e.g. login.failed, admin.roles_set
  --user U      only events about this user (id, username or email)
  --since D     from this time: a date, an RFC 3339 date-time, or a time ago (24h, 7d)
  --until D     before this time (same forms)
  --limit N     at most N events (default 100, at most 10000)
${DATA_DIR_HELP}
  --json        one JSON array
  -h, --help

Exit codes: 0 listed, 1 no such user, 2 usage error.

Examples:
  laissez audit --type login.failed --since 24h
  laissez audit --user alice --json`,
  async run(args, context) {
    const { values, positionals } = parseStoreCommandLine(args, {
      type: { type: 'string' },
      user: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
    });
    expectPositionals(positionals, 0, '');
    const limit = limitFlag(values.limit);
    const now = context.io.now();
    const since = values.since === undefined ? undefined : timeFlag(values.since, '--since', now);
    const until = values.until === undefined ? undefined : timeFlag(values.until, '--until', now);
    return withStore(values['data-dir'], context, async (store) => {
      const subject =
        values.user === undefined ? undefined : (await findUser(store, values.user)).id;
      const events = await store.listAuditEvents({
        limit,
        ...(values.type !== undefined ? { type: values.type } : {}),
        ...(subject !== undefined ? { subject } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
      });
      if (values.json) {
        writeJson(
          context.io,
          events.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
        );
      } else if (events.length === 0) {
        writeOut(context.io, 'no events');
      } else {
        for (const event of events) writeOut(context.io, eventLine(event));
      }
      return EXIT.OK;
    });
  },
};
