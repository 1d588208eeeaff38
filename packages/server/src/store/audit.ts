// The audit log's records, as the store keeps them: append-only security events (who did what to
// whom, from where, when), listed newest first with filters and a cursor, and deleted only by age
// (the retention sweep). The events' meaning belongs to the auth domain (src/auth/audit.ts); to
// the store a type is an opaque short string and `details` a small JSON object.

/** One security event. */
export interface AuditEvent {
  /** Made by the caller (random); the cursor of `listAuditEvents`. */
  readonly id: string;
  /** When it happened, ms since 1970. */
  readonly at: number;
  /** What happened, e.g. `login.failed`, `admin.roles_set`. */
  readonly type: string;
  /** Who did it: a user id, or `cli`, `system`, `anonymous`. */
  readonly actor: string;
  /**
   * Whom it concerns: a user id, or null. Not a foreign key: the events of a deleted user stay
   * (their log is what an investigation needs).
   */
  readonly subject: string | null;
  /** The client address, or null (the CLI, a timer). */
  readonly ip: string | null;
  /** A small JSON object (never a password, a token or a hash), or null. */
  readonly details: Readonly<Record<string, unknown>> | null;
}

/** Which events `listAuditEvents` returns, newest first (by `at`, then id). */
export interface AuditQuery {
  /** At most this many (a positive integer). */
  limit: number;
  /** Only events after this one in that order (older): the id of the last event of a page. */
  before?: string;
  type?: string;
  subject?: string;
  /** Only events at or after this time (ms). */
  since?: number;
  /** Only events before this time (ms). */
  until?: number;
}

/** The `details` column's text: JSON of the object, or null. */
export function detailsText(details: AuditEvent['details']): string | null {
  return details === null ? null : JSON.stringify(details);
}

/** An audit_events row as the record, with the store's reader of number columns. */
export function toAuditEvent(
  row: Readonly<Record<string, unknown>>,
  num: (value: unknown) => number,
): AuditEvent {
  const text = row['details'];
  let details: AuditEvent['details'] = null;
  if (typeof text === 'string') {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      details = parsed as Record<string, unknown>;
    }
  }
  const orNull = (value: unknown) => (value === null || value === undefined ? null : String(value));
  return {
    id: String(row['id']),
    at: num(row['at']),
    type: String(row['type']),
    actor: String(row['actor']),
    subject: orNull(row['subject']),
    ip: orNull(row['ip']),
    details,
  };
}

/** The bounds a store enforces on a query, the same in every store: a whole positive limit. */
export function auditLimit(limit: number): number {
  const floor = Math.floor(limit);
  return floor > 0 ? Math.min(floor, 10_000) : 0;
}

/** The audit log: appended, listed, deleted by age. */
export interface AuditStore {
  /** Appends a security event to the audit log. Events are never changed afterwards. */
  appendAuditEvent(event: AuditEvent): Promise<void>;
  /** Events newest first (`at`, then id, descending), filtered; see `AuditQuery`. */
  listAuditEvents(query: AuditQuery): Promise<AuditEvent[]>;
  /** Deletes the events older than `before` (ms; `at < before`): retention. Returns how many. */
  deleteAuditEventsBefore(before: number): Promise<number>;
}
