// Prometheus metrics (prom-client) for the security events of the auth server: log-ins, failures,
// lock-outs, refreshes, reuse detections, registrations and mail sent, plus the process's own.
//
// Off unless `metricsToken` (LAISSEZ_METRICS_TOKEN) is set; then `GET /metrics` answers only a
// request that sends that token as `Authorization: Bearer`. Why a static token rather than an
// admin's access token or a second listener: a scraper cannot log in and refresh every 15 minutes,
// Prometheus sends a bearer token from a file (`authorization.credentials_file`), and one port
// keeps the deployment one process behind one proxy. The counters tell an attacker which attacks
// work (lock-outs, failures), so they are not public.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';
import type { AuditRecord } from '../auth/audit.ts';
import { HttpError } from './errors.ts';

/** The counters, on a registry of this server's own (two servers in one process do not mix). */
export interface ServerMetrics {
  readonly registry: Registry;
  /** Counts one security event by its type. */
  observe(event: AuditRecord): void;
  /** Counts one refresh by outcome: `rotated` or `refused`. */
  refreshed(outcome: 'rotated' | 'refused'): void;
  /**
   * The mail flow's seam: counts one mail by `kind` (verification, reset, …) and `outcome`
   * (`sent`, `failed`). The mail sender calls it after each attempt.
   */
  mailSent(kind: string, outcome: 'sent' | 'failed'): void;
}

export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'laissez_process_' });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const logins = counter('laissez_logins_total', 'Successful log-ins');
  const failures = counter('laissez_login_failures_total', 'Refused log-ins', ['reason']);
  const lockouts = counter(
    'laissez_lockouts_total',
    'Failed log-ins that spent the last attempt of a budget (an account locked for some clients)',
  );
  const refreshes = counter('laissez_refreshes_total', 'Refresh-token exchanges', ['outcome']);
  const reuse = counter(
    'laissez_refresh_reuse_detected_total',
    'Spent refresh tokens presented again after the grace window (families revoked)',
  );
  const registrations = counter('laissez_registrations_total', 'New accounts');
  const mail = counter('laissez_mail_sent_total', 'Mail sent by the server', ['kind', 'outcome']);
  const admin = counter('laissez_admin_actions_total', 'Administrators’ actions', ['type']);
  return {
    registry,
    observe(event) {
      switch (event.type) {
        case 'login.succeeded':
          logins.inc();
          break;
        case 'login.failed':
          failures.inc({ reason: String(event.details?.['reason'] ?? 'password') });
          break;
        case 'login.locked':
          lockouts.inc();
          break;
        case 'refresh.reuse_detected':
          reuse.inc();
          break;
        case 'user.registered':
          registrations.inc();
          break;
        default:
          if (event.type.startsWith('admin.')) admin.inc({ type: event.type });
      }
    },
    refreshed: (outcome) => refreshes.inc({ outcome }),
    mailSent: (kind, outcome) => mail.inc({ kind, outcome }),
  };
}

/** Constant-time comparison of the presented bearer token with the configured one. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer ([\x21-\x7e]{1,256})$/i.exec(header ?? '')?.[1];
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Counts `POST /auth/refresh` by its answer: 200 rotated, 4xx refused (the domain's refusals are
 * invalid_grant). On the root instance, so that it sees the auth routes.
 */
export function countRefreshes(app: FastifyInstance, metrics: ServerMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url !== '/auth/refresh') return;
    if (reply.statusCode === 200) metrics.refreshed('rotated');
    else if (reply.statusCode >= 400 && reply.statusCode < 500) metrics.refreshed('refused');
  });
}

/** `GET /metrics` behind the metrics token. */
export async function metricsRoutes(
  app: FastifyInstance,
  options: { metrics: ServerMetrics; token: string },
): Promise<void> {
  const { metrics, token } = options;
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (!tokenMatches(request.headers.authorization, token)) {
      throw new HttpError(
        'invalid_token',
        'send the metrics token: Authorization: Bearer <token>',
        {
          'www-authenticate': 'Bearer realm="metrics"',
        },
      );
    }
    reply.header('cache-control', 'no-store').type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
