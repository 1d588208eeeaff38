/**
 * `laissez/server`: the auth server as a Fastify instance you can listen on, mount or extend.
 * @example
 * const app = await createAuthServer({ issuer: 'https://auth.example', dataDir: './data' });
 * await app.listen({ port: 3000 });
 */
export { type AuthServerOptions, createAuthServer } from './app.ts';
export { ConfigError, loadConfig, SETTINGS, type ServeConfig } from './config.ts';
export { ERROR_CATALOGUE, type ErrorCode, HttpError } from './errors.ts';
export { ACCESS_COOKIE, REFRESH_COOKIE } from './routes.ts';
