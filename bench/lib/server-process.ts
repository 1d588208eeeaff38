// Runs an auth server in its own process for benchmarks: prints its URL on stdout, then serves
// until it is sent SIGTERM or its parent's IPC channel closes. Options come as JSON in argv[2].
// bench/lib/scale-server.ts imports it after instrumenting the `pg` driver.
import { createAuthServer } from '../../packages/server/src/server/index.ts';
import { serveUntilStopped } from './common.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const app = await createAuthServer({
  issuer: 'http://localhost:3000',
  logger: false,
  ...options,
} as never);
serveUntilStopped(await app.listen({ port: 0, host: '127.0.0.1' }), () => app.close(), 2000);
