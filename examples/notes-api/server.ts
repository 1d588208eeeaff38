// Runs the notes API. Settings come from the environment:
//
//   AUTH_ISSUER     the auth server's URL, as in its tokens' "iss" (default http://localhost:3000)
//   AUTH_JWKS_URL   its public keys (default ${AUTH_ISSUER}/.well-known/jwks.json)
//   AUTH_AUDIENCE   expected "aud" (default api)
//   AUTH_ALGS       accepted algorithms, comma-separated (default EdDSA,ES256,RS256)
//   NOTES_PORT      or PORT: TCP port, 0 picks a free one (default 4000)
//   NOTES_DATA      SQLite file, or :memory: (default ./notes.db)
//   JWKS_COOLDOWN   ms between JWKS refetches for an unknown kid (default 30000)
//
// No secret: tokens are checked with the public keys the auth server publishes.

import { createServer } from 'node:http';
import { ALGORITHMS, type Algorithm } from 'laissez/jwt';
import { createNotesApp } from './app.ts';

/** Every algorithm but HMAC, whose key is a shared secret this service does not have. */
const PUBLIC_KEY_ALGORITHMS: readonly string[] = ALGORITHMS.filter((a) => !a.startsWith('HS'));

/** Exit 2 for a bad setting, 1 for a start that failed otherwise (as `laissez serve`). */
function fail(message: string, code = 2): never {
  process.stderr.write(`notes-api: ${message}\n`);
  process.exit(code);
}

function config(env: NodeJS.ProcessEnv) {
  const issuer = env['AUTH_ISSUER'] || 'http://localhost:3000';
  if (!URL.canParse(issuer)) fail(`AUTH_ISSUER must be a URL like http://localhost:3000`);
  const portText = env['NOTES_PORT'] || env['PORT'] || '4000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) fail('NOTES_PORT / PORT must be 0 to 65535');
  const algorithms = (env['AUTH_ALGS'] || 'EdDSA,ES256,RS256').split(',').map((a) => a.trim());
  for (const alg of algorithms) {
    if (!PUBLIC_KEY_ALGORITHMS.includes(alg)) {
      fail(
        `AUTH_ALGS: "${alg}" is not a public-key algorithm (one of ${PUBLIC_KEY_ALGORITHMS.join(', ')}); ` +
          'this service knows no secret, so run the auth server with LAISSEZ_ALG=EdDSA (or ES256, RS256)',
      );
    }
  }
  const cooldownText = env['JWKS_COOLDOWN'];
  if (cooldownText !== undefined && !/^\d+$/.test(cooldownText)) {
    fail('JWKS_COOLDOWN must be a number of milliseconds');
  }
  return {
    port,
    options: {
      issuer,
      ...(env['AUTH_JWKS_URL'] ? { jwksUri: env['AUTH_JWKS_URL'] } : {}),
      audience: env['AUTH_AUDIENCE'] || 'api',
      algorithms: algorithms as Algorithm[],
      database: env['NOTES_DATA'] || './notes.db',
      ...(cooldownText !== undefined ? { jwksCooldown: Number(cooldownText) } : {}),
    },
  };
}

const { port, options } = config(process.env);
let notes: ReturnType<typeof createNotesApp>;
try {
  notes = createNotesApp(options);
} catch (error) {
  // Bad options are a TypeError (e.g. a plain-http JWKS URL that is not on this machine).
  fail((error as Error).message, error instanceof TypeError ? 2 : 1);
}
const server = createServer(notes.app);

server.once('error', (error: NodeJS.ErrnoException) => {
  fail(error.code === 'EADDRINUSE' ? `port ${port} is in use; set NOTES_PORT` : error.message, 1);
});
server.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address() as { port: number };
  process.stdout.write(`notes-api: listening on http://127.0.0.1:${actual}\n`);
  process.stderr.write(`notes-api: trusting access tokens from ${options.issuer}\n`);
});

const stop = (signal: NodeJS.Signals) => {
  process.stderr.write(`notes-api: ${signal}: closing\n`);
  // Finishes the requests in flight, then closes idle keep-alive connections and the database.
  server.close(() => {
    notes.close();
    process.exit(0);
  });
  server.closeIdleConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
