// The security-event port: what the auth domain reports that an audit log and the user's mail
// should hear of. A seam until the audit and mail ports land: the server passes none (events are
// dropped), a caller of AuthService may pass its own. A failing sink never fails the request.

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
    | 'passkey_cloned';
  readonly userId: string;
  /** Milliseconds since 1970. */
  readonly at: number;
  /** For recovery_code_used: how many unused codes are left. */
  readonly remaining?: number;
  /** For the passkey events: the credential id (public, base64url; never key material). */
  readonly credentialId?: string;
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
