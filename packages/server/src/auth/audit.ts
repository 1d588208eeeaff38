// The audit port of the auth domain: every security event (a log-in, a failure, a lock-out, a
// session ended, an administrator's action…) is handed to an `AuditSink` with one call. The
// server's sink appends it to the store's audit log (`laissez audit`, `GET /admin/audit`) and
// counts it in the metrics; a flow added later (password reset, email verification, a password
// change, an account deleted) records its events with the same call:
//
//   await audit.record({ type: 'password.reset_done', actor: user.id, subject: user.id, ip });
//
// An event never holds a password, a token, a hash or what was typed as a username that no
// account has (people type passwords there): only ids, addresses, counts and short reasons.
import { randomBytes } from 'node:crypto';
import type { AuditEvent, Store } from '../store/types.ts';

/** The event types, by area; docs/accounts.md ("Administration, audit and metrics") says when each is recorded. */
export const AUDIT_EVENT_TYPES = [
  'user.registered',
  'login.succeeded',
  'login.failed',
  'login.locked',
  'session.ended',
  'session.ended_all',
  'refresh.reuse_detected',
  'key.rotated',
  'admin.roles_set',
  'admin.user_disabled',
  'admin.user_enabled',
  'admin.sessions_ended',
  'admin.user_unlocked',
  'admin.password_reset_sent',
  'admin.app_metadata_set',
  'admin.second_factors_reset',
  // Second factors (factors.ts, through events.ts).
  'mfa.totp_enrolled',
  'mfa.totp_disabled',
  'mfa.recovery_codes_regenerated',
  'mfa.recovery_code_used',
  'mfa.locked',
  'mfa.passkey_added',
  'mfa.passkey_removed',
  'mfa.passkey_cloned',
  'mfa.code_refused',
  'mfa.passkey_refused',
  // The account flows (account-mail.ts, account-changes.ts).
  'password.reset_requested',
  'password.reset_done',
  'password.changed',
  'email.verified',
  'email.change_requested',
  'email.changed',
  'account.deleted',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** The actors that are not users. */
export type NonUserActor = 'cli' | 'system' | 'anonymous';

/** What a flow records; the sink adds the id and the time. */
export interface AuditRecord {
  type: AuditEventType;
  /** A user id, or `cli`, `system`, `anonymous`. */
  actor: string;
  /** The user concerned, when there is one. */
  subject?: string | null;
  /** The client's address (as the rate limits key it), when the event came over HTTP. */
  ip?: string | null;
  /** A few small values: ids, counts, reasons. Never a secret. */
  details?: Readonly<Record<string, string | number | boolean | null>>;
}

/** Where security events go. `record` never throws: a sink that fails reports it its own way. */
export interface AuditSink {
  record(event: AuditRecord): Promise<void>;
}

/** A sink that keeps nothing (an AuthService built without one). */
export const NO_AUDIT: AuditSink = { record: async () => {} };

/** Longest text of one details value, and most values: the log is for facts, not payloads. */
const DETAIL_TEXT_MAX = 200;
const DETAILS_MAX = 16;

/** A copy of `details` within bounds: long text cut, extra entries dropped. */
function boundedDetails(details: AuditRecord['details']): AuditEvent['details'] {
  if (details === undefined) return null;
  const out: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(details).slice(0, DETAILS_MAX)) {
    out[key.slice(0, 64)] = typeof value === 'string' ? value.slice(0, DETAIL_TEXT_MAX) : value;
  }
  return out;
}

export interface StoreAuditSinkOptions {
  store: Store;
  now: () => number;
  /** Told when an event cannot be appended; the action itself has happened. */
  onError: (error: unknown, event: AuditRecord) => void;
  /** Also shown every event (metrics). */
  observe?: (event: AuditRecord) => void;
}

/**
 * The audit log in the store. An append that fails (the database down) is reported to `onError`
 * and the action goes on: a log-in must not fail because its record could not be written, and
 * the failure is in the server's log instead.
 */
export function storeAuditSink(options: StoreAuditSinkOptions): AuditSink {
  return {
    async record(event) {
      try {
        options.observe?.(event);
      } catch {
        // Counting is best effort.
      }
      try {
        await options.store.appendAuditEvent({
          id: randomBytes(12).toString('base64url'),
          at: options.now(),
          type: event.type,
          actor: event.actor,
          subject: event.subject ?? null,
          ip: event.ip ?? null,
          details: boundedDetails(event.details),
        });
      } catch (error) {
        options.onError(error, event);
      }
    },
  };
}
