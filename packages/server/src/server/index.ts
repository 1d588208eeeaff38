/**
 * `laissez/server`: the auth server as a Fastify instance you can listen on, mount or extend.
 * @example
 * const app = await createAuthServer({ issuer: 'https://auth.example', dataDir: './data' });
 * await app.listen({ port: 3000 });
 */

export {
  openPostgresStore,
  type PostgresPoolOptions,
  type PostgresStoreOptions,
} from '../store/postgres.ts';
export { openSqliteStore, type SqliteStoreOptions } from '../store/sqlite.ts';
export type { Store } from '../store/types.ts';
export { type AuthServerOptions, createAuthServer } from './app.ts';
export { ConfigError, loadConfig, SETTINGS, type ServeConfig } from './config.ts';
export { ERROR_CATALOGUE, type ErrorCode, HttpError } from './errors.ts';
export { ACCESS_COOKIE, REFRESH_COOKIE } from './routes.ts';
