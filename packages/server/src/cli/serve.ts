// `laissez serve`: the auth server on its embedded SQLite store. `npm start` runs this.
// Settings come from flags, then the environment, then defaults (src/server/config.ts), and are
// all checked before anything listens. SIGINT and SIGTERM close it gracefully: in-flight requests
// finish, new ones get 503, the database is closed cleanly.

import { createServer } from 'node:net';
import type { ParseArgsOptionsConfig } from 'node:util';
import type { AuthServerOptions } from '../server/app.ts';
import {
  COMMAND_LINE_SETTINGS,
  ConfigError,
  defaultIssuer,
  loadConfig,
  settingName,
} from '../server/config.ts';
import { StoreUnavailableError } from '../store/types.ts';
import {
  type Command,
  EXIT,
  expectPositionals,
  parseCommandLine,
  UsageError,
  writeErr,
} from './io.ts';

const OPTIONS: ParseArgsOptionsConfig = Object.fromEntries(
  COMMAND_LINE_SETTINGS.filter((row) => row.flag !== undefined).map((row) => [
    row.flag,
    { type: 'string' },
  ]),
);

/** Every setting of the table (src/server/options.ts), one a line. */
function settingsTable(): string {
  const width = Math.max(...COMMAND_LINE_SETTINGS.map((row) => settingName(row).length));
  return COMMAND_LINE_SETTINGS.map((row) => {
    const name = settingName(row).padEnd(width);
    return `  ${name}  ${row.help}${row.default ? ` (default ${row.default})` : ''}`;
  }).join('\n');
}

/** A port that is free on `host` now (the OS picks it). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export const SERVE: Command = {
  summary: 'run the auth server (embedded SQLite store)',
  help: `Usage: laissez serve [options]

Runs the auth server: register, log in, refresh, log out, /auth/me and the JWKS. Its data (users,
refresh tokens, signing keys) lives in a SQLite file under the data directory, created on first
start. Every setting is a flag or an environment variable; a flag wins.

Settings:
${settingsTable()}

The signing keys are stored encrypted under the key-encryption key, which never enters the
database: back it up apart from the database, and give every instance on one database the same.

Stop it with Ctrl-C or SIGTERM: requests in flight finish first.

Exit codes: 0 stopped cleanly, 1 could not start (port taken, unreadable file), 2 bad setting.

Examples:
  laissez serve
  PORT=8080 LAISSEZ_ALG=EdDSA laissez serve --data-dir /var/lib/laissez
  laissez serve --tls-cert cert.pem --tls-key key.pem --port 8443`,
  async run(args, context) {
    const { values, positionals } = parseCommandLine(args, OPTIONS);
    expectPositionals(positionals, 0, '');
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig(values as Record<string, string | undefined>, context.io.env);
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(error.message);
      throw error;
    }
    if (config.port === 0 && config.issuerFromPort) {
      // The default issuer names the port, so "any free port" is chosen now, not at listen time:
      // tokens must never say http://localhost:0.
      config.port = await freePort(config.host);
      config.options.issuer = defaultIssuer(config.options.https !== undefined, config.port);
    }
    const { createAuthServer } = await import('../server/app.ts');
    const { KeyEncryptionKeyError } = await import('../auth/kek.ts');
    let app: Awaited<ReturnType<typeof createAuthServer>>;
    try {
      app = await createAuthServer(config.options);
    } catch (error) {
      // A missing or wrong key-encryption key is a setting to fix, not a crash.
      if (error instanceof KeyEncryptionKeyError) throw new UsageError(error.message);
      const why = startFailure(error, config.options);
      if (why === undefined) throw error;
      writeErr(context.io, `${context.name}: ${why}`);
      return EXIT.REJECTED;
    }
    try {
      await app.listen({ port: config.port, host: config.host });
    } catch (error) {
      await app.close();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        writeErr(
          context.io,
          `${context.name}: port ${config.port} is in use; choose another with --port or PORT`,
        );
        return EXIT.REJECTED;
      }
      throw error;
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const scheme = config.options.https ? 'https' : 'http';
    const shown = config.host.includes(':') ? `[${config.host}]` : config.host;
    // One machine-readable line on stdout, so that scripts (and tests) can find the port.
    context.io.stdout.write(`laissez: listening on ${scheme}://${shown}:${port}\n`);

    await new Promise<void>((resolve) => {
      let closing = false;
      const stop = (signal: NodeJS.Signals) => {
        if (closing) return;
        closing = true;
        writeErr(context.io, `laissez: ${signal}: closing`);
        app.close().then(resolve, (error: unknown) => {
          writeErr(context.io, `laissez: close failed: ${(error as Error).message}`);
          resolve();
        });
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return EXIT.OK;
  },
};

/** A URL with its password hidden, for messages. */
const withoutPassword = (url: string) => url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');

/** Why the server could not start, naming the setting at fault; undefined when unforeseen. */
function startFailure(error: unknown, options: AuthServerOptions): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof StoreUnavailableError && options.databaseUrl) {
    return `cannot reach the database at ${withoutPassword(options.databaseUrl)} (--database-url / DATABASE_URL): ${withoutPassword(message)}`;
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (!options.databaseUrl && (code === 'EACCES' || code === 'EROFS' || code === 'ENOTDIR')) {
    return `cannot open the database in ${JSON.stringify(options.dataDir ?? './data')} (--data-dir / LAISSEZ_DATA_DIR): ${code}`;
  }
  return undefined;
}
