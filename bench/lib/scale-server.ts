// One auth server instance of `npm run bench:scale`, in its own process:
// `node bench/lib/scale-server.ts '<createAuthServer options as JSON>'`. It is
// bench/lib/server-process.ts (it prints its URL on stdout and serves until SIGTERM), plus one
// instrument: it counts the statements the `pg` driver sends (each one a round trip to
// PostgreSQL, BEGIN and COMMIT included) and reports the count over the IPC channel, so that the
// benchmark can say how many round trips a log-in and a refresh take. Counting is one integer
// increment per statement.
import pg from 'pg';
import type { ScaleStatsReply, ScaleStatsRequest } from './scale-types.ts';

let statements = 0;
const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const query = proto.query;
proto.query = function (this: unknown, ...args: unknown[]) {
  statements++;
  return query.apply(this, args);
};

// The server itself, started only now that the driver is instrumented.
await import('./server-process.ts');

process.on('message', (message: ScaleStatsRequest) => {
  if (message?.type !== 'stats') return;
  process.send?.({ type: 'stats', statements } satisfies ScaleStatsReply);
});
