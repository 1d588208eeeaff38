// The PostgreSQL store's audit log (appended, listed newest first, deleted by age): the `Store`
// methods of audit.ts over the store's pool (postgres-pool.ts): each method one statement, or one
// transaction where it needs several; races are settled by the database (see postgres.ts).
import { type AuditStore, auditLimit, detailsText, toAuditEvent } from './audit.ts';
import type { PostgresConnection } from './postgres-pool.ts';
import { ms, num, SQL } from './postgres-statements.ts';

export function postgresAudit(c: PostgresConnection): AuditStore {
  return {
    async appendAuditEvent(event) {
      await c.query(
        'appending an audit event',
        SQL.insertAuditEvent,
        [
          event.id,
          ms(event.at, 'at'),
          event.type,
          event.actor,
          event.subject,
          event.ip,
          detailsText(event.details),
        ],
        (error) =>
          new Error('PostgreSQL store: an audit event with this id already exists', {
            cause: error,
          }),
      );
    },

    async listAuditEvents(query) {
      const limit = auditLimit(query.limit);
      if (limit === 0) return [];
      const { rows } = await c.query('listing audit events', SQL.listAuditEvents, [
        query.type ?? null,
        query.subject ?? null,
        query.since === undefined ? null : ms(query.since, 'since'),
        query.until === undefined ? null : ms(query.until, 'until'),
        query.before ?? null,
        limit,
      ]);
      return rows.map((row) => toAuditEvent(row, num));
    },

    async deleteAuditEventsBefore(before) {
      const result = await c.query('deleting old audit events', SQL.deleteAuditEventsBefore, [
        ms(before, 'before'),
      ]);
      return result.rowCount ?? 0;
    },
  };
}
