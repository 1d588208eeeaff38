// What `npm run bench:http` measures, shared by the driver (bench/http.ts) and the server script
// (bench/http-server.ts). Nothing here imports a framework, so the driver stays light.
import { createSigner } from '@laissez/jwt';

/** Every server the benchmark can start: a framework with one way of checking tokens. */
export const VARIANTS = [
  'fastify-laissez',
  'fastify-jwt',
  'express-laissez',
  'express-jsonwebtoken',
  'hono-laissez',
  'fastify-laissez-cache',
  'express-laissez-cache',
  'hono-laissez-cache',
] as const;

export type Variant = (typeof VARIANTS)[number];

/** Run when no `--variants` is given: the five of the issue, and the cache on the two targets. */
export const DEFAULT_VARIANTS: readonly Variant[] = VARIANTS.filter(
  (variant) => variant !== 'hono-laissez-cache',
);

export interface VariantInfo {
  framework: 'Fastify' | 'Express' | 'Hono';
  /** How the protected route checks the token. */
  auth: string;
}

export const VARIANT_INFO: Record<Variant, VariantInfo> = {
  'fastify-laissez': { framework: 'Fastify', auth: 'laissez' },
  'fastify-jwt': { framework: 'Fastify', auth: '@fastify/jwt' },
  'express-laissez': { framework: 'Express', auth: 'laissez' },
  'express-jsonwebtoken': { framework: 'Express', auth: 'jsonwebtoken' },
  'hono-laissez': { framework: 'Hono', auth: 'laissez' },
  'fastify-laissez-cache': { framework: 'Fastify', auth: 'laissez + cache' },
  'express-laissez-cache': { framework: 'Express', auth: 'laissez + cache' },
  'hono-laissez-cache': { framework: 'Hono', auth: 'laissez + cache' },
};

/** bench:http's target for Fastify + laissez: protected ÷ unprotected (issue #4). */
export const FASTIFY_GOAL = 0.85;

/** The two routes of every server: the same handler, once without and once behind the check. */
export const ROUTES = { unprotected: '/unprotected', protected: '/protected' } as const;
export type Route = keyof typeof ROUTES;

/** What the unprotected route answers; the protected one answers `{ hello: <sub> }`. */
export const UNPROTECTED_BODY = { hello: 'world' };

/** Given to each server as JSON in the BENCH_HTTP_CONFIG environment variable. */
export interface ServerConfig {
  /** The HS256 secret, a string, the same for every library. */
  secret: string;
  issuer: string;
  audience: string;
}

/** The subject of the benchmark token. */
export const SUBJECT = 'u1';

/**
 * A fresh HS256 secret, 32 random bytes as a base64url string given to every library, and the
 * benchmark token signed with it, carrying the claims of an access token from the auth server.
 */
export function benchmarkToken(): { config: ServerConfig; token: string } {
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
  const config: ServerConfig = { secret, issuer: 'https://auth.example', audience: 'api' };
  const token = createSigner({
    key: secret,
    algorithm: 'HS256',
    typ: 'at+jwt',
    issuer: config.issuer,
    audience: config.audience,
    expiresIn: 3600,
    jti: true,
  })({ sub: SUBJECT, roles: ['user'] });
  return { config, token };
}

/** Messages between the driver and a server over the IPC channel. */
export interface CpuRequest {
  type: 'cpu';
}
export interface CpuReply {
  type: 'cpu';
  /** process.cpuUsage() of the server, microseconds. */
  user: number;
  system: number;
}
