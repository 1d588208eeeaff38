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
    /** An administrator removed every second factor of the user. */
    | 'second_factors_reset';
  readonly userId: string;
  /** Milliseconds since 1970. */
  readonly at: number;
  /** For recovery_code_used: how many unused codes are left. */
  readonly remaining?: number;
}

export interface SecurityEventSink {
  emit(event: SecurityEvent): void | Promise<void>;
}
