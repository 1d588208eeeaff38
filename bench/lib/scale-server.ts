// One auth server instance of `npm run bench:scale`, in its own process:
// `node bench/lib/scale-server.ts '<createAuthServer options as JSON>'`. Like
// bench/lib/server-process.ts (it prints its URL on stdout and serves until SIGTERM), plus one
// instrument: it counts the statements the `pg` driver sends (each one a round trip to
// PostgreSQL, BEGIN and COMMIT included) and reports the count over the IPC channel, so that the
// benchmark can say how many round trips a log-in and a refresh take. Counting is one integer
// increment per statement.
import pg from 'pg';
import { createAuthServer } from '../../src/server/index.ts';
import type { ScaleStatsReply, ScaleStatsRequest } from './scale-types.ts';

let statements = 0;
const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const query = proto.query;
proto.query = function (this: unknown, ...args: unknown[]) {
  statements++;
  return query.apply(this, args);
};

const options = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const app = await createAuthServer({
  issuer: 'http://localhost:3000',
  logger: false,
  ...options,
} as never);
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${url}\n`);

process.on('message', (message: ScaleStatsRequest) => {
  if (message?.type !== 'stats') return;
  process.send?.({ type: 'stats', statements } satisfies ScaleStatsReply);
});

let closing = false;
const stop = () => {
  if (closing) return;
  closing = true;
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
  // Keep-alive connections may hold close() open; the benchmark is over either way.
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
