// What `npm run bench:sessions` measures, shared by the driver (bench/sessions.ts) and the server
// script (bench/lib/sessions-server.ts): one protected route, GET /me → {"name": …}, answered
// several ways, each by its own Fastify process.

export const SESSION_VARIANTS = [
  'baseline',
  'jwt-hs256',
  'jwt-eddsa',
  'jwt-pg',
  'jwt-revocation',
  'session-redis',
  'session-pg',
] as const;

export type SessionVariant = (typeof SESSION_VARIANTS)[number];

export interface SessionVariantInfo {
  /** A short label for tables and the chart. */
  label: string;
  /** How the request proves who it is. */
  credential: 'none' | 'Authorization: Bearer <JWT>' | 'Cookie: sid=<opaque id>';
  /** What the server asks another process for on each request. */
  lookup: 'none' | 'PostgreSQL' | 'Redis';
  /** One line on what the route does. */
  how: string;
}

export const SESSION_VARIANT_INFO: Record<SessionVariant, SessionVariantInfo> = {
  baseline: {
    label: 'no check (baseline)',
    credential: 'none',
    lookup: 'none',
    how: 'no credential and no check: the same route answering a fixed name, for what the framework alone costs',
  },
  'jwt-hs256': {
    label: 'JWT (HS256), verified locally',
    credential: 'Authorization: Bearer <JWT>',
    lookup: 'none',
    how: 'laissez/fastify verifies the token (HS256 secret); the name is a claim of the token',
  },
  'jwt-eddsa': {
    label: 'JWT (EdDSA), verified locally',
    credential: 'Authorization: Bearer <JWT>',
    lookup: 'none',
    how: 'laissez/fastify verifies the token against an Ed25519 public key (a JWKS object, picked by kid); the name is a claim',
  },
  'jwt-pg': {
    label: 'JWT (HS256) + user row from PostgreSQL',
    credential: 'Authorization: Bearer <JWT>',
    lookup: 'PostgreSQL',
    how: 'laissez/fastify verifies the token, then SELECT name FROM users WHERE id = <sub> (primary key)',
  },
  'jwt-revocation': {
    label: 'JWT (HS256) + revocation check in Redis',
    credential: 'Authorization: Bearer <JWT>',
    lookup: 'Redis',
    how: 'laissez/fastify with isRevoked: checkSessions(createRevocationList(…)), one EXISTS on the sid claim; the name is a claim',
  },
  'session-redis': {
    label: 'session id, user JSON from Redis',
    credential: 'Cookie: sid=<opaque id>',
    lookup: 'Redis',
    how: '@fastify/cookie reads the cookie; GET <prefix>sess:<id> returns the user as JSON',
  },
  'session-pg': {
    label: 'session id, row from PostgreSQL',
    credential: 'Cookie: sid=<opaque id>',
    lookup: 'PostgreSQL',
    how: '@fastify/cookie reads the cookie; SELECT u.name FROM sessions s JOIN users u … WHERE s.id = $1 AND s.expires_at > $2 (primary keys)',
  },
};

/** The route every server answers. */
export const ROUTE = '/me';
/** The session cookie's name. */
export const SESSION_COOKIE = 'sid';
/** A session id: 32 random bytes, base64url (256 bits, unguessable, so it needs no signature). */
export const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** Given to each server as JSON in the BENCH_SESSIONS_CONFIG environment variable. */
export interface SessionsConfig {
  /** The HS256 secret. */
  secret: string;
  /** The Ed25519 public key as a JWK (with its kid). */
  publicJwk: Record<string, unknown>;
  issuer: string;
  audience: string;
  databaseUrl: string;
  redisUrl: string;
  /** Prefix of every Redis key of this run. */
  redisPrefix: string;
}
