// Runs an auth server in its own process for benchmarks: prints its URL on stdout, then serves
// until it is sent SIGTERM. Options come as JSON in argv[2].
import { createAuthServer } from '../../src/server/index.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const app = await createAuthServer({
  issuer: 'http://localhost:3000',
  logger: false,
  ...options,
} as never);
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${url}\n`);
process.on('SIGTERM', () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
