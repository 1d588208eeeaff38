// The security-event port of the second factors: what they report that an audit log and the
// user's mail should hear of. AuthService hands every event to its audit sink (audit.ts, as an
// `mfa.…` event; see `auditedEvents`) and to the caller's own sink, if any. A failing sink never
// fails the request.
import type { AuditRecord, AuditSink } from './audit.ts';

/** One security event. Never holds a code, a secret, a token or a hash. */
export interface SecurityEvent {
  readonly type:
    | 'totp_enrolled'
    | 'totp_disabled'
    | 'recovery_codes_regenerated'
    /** A recovery code was spent at log-in: an audit entry, and a mail to the owner. */
    | 'recovery_code_used'
    /** Too many wrong second-factor codes for the account: its budget is spent. */
    | 'second_factor_locked'
    /** An administrator removed every second factor of the user (passkeys too). */
    | 'second_factors_reset'
    /** A passkey was registered to the account, or removed by its owner. */
    | 'passkey_added'
    | 'passkey_removed'
    /**
     * A passkey's signature counter did not grow (WebAuthn §6.1.1): two authenticators may hold
     * its private key. The assertion was refused; the owner should remove that passkey.
     */
    | 'passkey_cloned'
    /**
     * A second-factor code (TOTP or recovery) was refused: `reason` is `wrong` (no step or code
     * matched) or `replayed` (a TOTP code whose step was already spent, RFC 6238 §5.2). Audit only:
     * the lock (`second_factor_locked`) is what mails the owner.
     */
    | 'code_refused'
    /**
     * A passkey's assertion was refused (WebAuthn §7.2): `reason` is `origin`, `rp_id`,
     * `challenge`, `signature`, `user_handle`, `user_verification` or `malformed`. Audit only.
     */
    | 'passkey_refused';
  readonly userId: string;
  /** Milliseconds since 1970. */
  readonly at: number;
  /** For recovery_code_used: how many unused codes are left. */
  readonly remaining?: number;
  /** For the passkey events: the credential id (public, base64url; never key material). */
  readonly credentialId?: string;
  /** For code_refused and passkey_refused: why, in one word (never what was sent). */
  readonly reason?: string;
  /** For code_refused: which kind of code was refused. */
  readonly factor?: 'totp' | 'recovery_code';
}

export interface SecurityEventSink {
  emit(event: SecurityEvent): void | Promise<void>;
}

/**
 * Hands an event to the sink, never awaited into the answer: an audit or mail outage (a sink
 * that throws or rejects) does not fail the request that caused the event.
 */
export function report(
  sink: SecurityEventSink | undefined,
  event: Omit<SecurityEvent, 'at'>,
  now: number,
): void {
  if (!sink) return;
  Promise.resolve()
    .then(() => sink.emit({ ...event, at: now }))
    .catch(() => {});
}

/**
 * The audit record of an event, or null for `second_factors_reset`: the administrator or the CLI
 * that reset the factors records its own action, with itself as the actor.
 */
function auditRecordOf(event: SecurityEvent): AuditRecord | null {
  const own = { actor: event.userId, subject: event.userId };
  switch (event.type) {
    case 'totp_enrolled':
      return { ...own, type: 'mfa.totp_enrolled' };
    case 'totp_disabled':
      return { ...own, type: 'mfa.totp_disabled' };
    case 'recovery_codes_regenerated':
      return { ...own, type: 'mfa.recovery_codes_regenerated' };
    case 'recovery_code_used':
      return {
        ...own,
        type: 'mfa.recovery_code_used',
        ...(event.remaining === undefined ? {} : { details: { remaining: event.remaining } }),
      };
    // Spent by wrong codes: whoever typed them, it need not be the owner.
    case 'second_factor_locked':
      return { type: 'mfa.locked', actor: 'anonymous', subject: event.userId };
    case 'second_factors_reset':
      return null;
    // Sent by whoever holds the challenge or the session: not necessarily the owner.
    case 'code_refused':
      return {
        type: 'mfa.code_refused',
        actor: 'anonymous',
        subject: event.userId,
        details: {
          reason: event.reason ?? 'wrong',
          ...(event.factor === undefined ? {} : { factor: event.factor }),
        },
      };
    case 'passkey_refused':
      return {
        type: 'mfa.passkey_refused',
        actor: 'anonymous',
        subject: event.userId,
        details: {
          reason: event.reason ?? 'malformed',
          ...(event.credentialId === undefined ? {} : { credential_id: event.credentialId }),
        },
      };
    case 'passkey_added':
    case 'passkey_removed':
    case 'passkey_cloned':
      return {
        ...own,
        type: `mfa.${event.type}`,
        ...(event.credentialId === undefined
          ? {}
          : { details: { credential_id: event.credentialId } }),
      };
  }
}

/** One sink that records each event in the audit log, then hands it to `also` (if any). */
export function auditedEvents(audit: AuditSink, also?: SecurityEventSink): SecurityEventSink {
  return {
    async emit(event) {
      const record = auditRecordOf(event);
      if (record) await audit.record(record);
      await also?.emit(event);
    },
  };
}
