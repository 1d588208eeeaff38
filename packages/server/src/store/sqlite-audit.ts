// The SQLite store's audit log (appended, listed newest first, deleted by age): the `Store`
// methods of audit.ts over the store's connection (sqlite-connection.ts): each method one
// synchronous call, or one BEGIN IMMEDIATE transaction where it reads before it writes.
import { type AuditStore, auditLimit, detailsText, toAuditEvent } from './audit.ts';
import type { SqliteConnection } from './sqlite-connection.ts';

export function sqliteAudit(c: SqliteConnection): AuditStore {
  return {
    async appendAuditEvent(event) {
      c.run(
        'appending an audit event',
        () =>
          c.s.insertAuditEvent.run(
            event.id,
            event.at,
            event.type,
            event.actor,
            event.subject,
            event.ip,
            detailsText(event.details),
          ),
        (error) =>
          new Error('SQLite store: an audit event with this id already exists', { cause: error }),
      );
    },

    async listAuditEvents(query) {
      const limit = auditLimit(query.limit);
      if (limit === 0) return [];
      const rows = c.run('listing audit events', () =>
        c.s.listAuditEvents.all({
          type: query.type ?? null,
          subject: query.subject ?? null,
          since: query.since ?? null,
          until: query.until ?? null,
          before: query.before ?? null,
          limit,
        }),
      );
      return rows.map((row) => toAuditEvent(row, Number));
    },

    async deleteAuditEventsBefore(before) {
      const result = c.run('deleting old audit events', () =>
        c.s.deleteAuditEventsBefore.run(before),
      );
      return Number(result.changes);
    },
  };
}
