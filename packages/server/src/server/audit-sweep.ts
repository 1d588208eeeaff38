// The audit log's retention: events older than `auditRetention` are deleted once at start and
// then every hour, by every instance (the delete is idempotent: two instances sweeping at once
// delete each event once between them).
import type { Store } from '../store/types.ts';

/** How often old events are deleted. An event outlives its retention by at most this. */
export const AUDIT_SWEEP_INTERVAL_MS = 3_600_000;

export interface AuditSweepOptions {
  store: Store;
  retentionMs: number;
  now: () => number;
  onError: (error: unknown) => void;
  /** Default AUDIT_SWEEP_INTERVAL_MS. */
  intervalMs?: number;
}

/** Starts the sweep; `stop()` clears the timer and waits for a sweep in progress. */
export function startAuditSweep(options: AuditSweepOptions): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const sweep = () => {
    running = options.store.deleteAuditEventsBefore(options.now() - options.retentionMs).then(
      () => {},
      (error: unknown) => options.onError(error),
    );
  };
  sweep();
  const timer = setInterval(sweep, options.intervalMs ?? AUDIT_SWEEP_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
