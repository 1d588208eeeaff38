// One server of `npm run bench:sessions`, in its own process:
// `node bench/lib/sessions-server.ts <variant>`, with the keys, the database URL and the Redis URL
// as JSON in the BENCH_SESSIONS_CONFIG environment variable. It listens on 127.0.0.1 (a free
// port), prints its URL on stdout, and exits on SIGTERM or when the driver goes away.
//
// Every variant is a Fastify app without a logger serving GET /me → {"name": <the user's name>},
// 401 when the request does not prove who it is. Each is written the plain way its tools are
// documented: the laissez Fastify plugin for tokens, @fastify/cookie for the session cookie,
// a `pg` pool of 10 connections (the same as the laissez PostgreSQL store's), one node-redis
// client (commands are pipelined over its one connection).
import cookie from '@fastify/cookie';
import type { Jwk } from '@laissez/jwt';
import { createClient } from '@redis/client';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import pg from 'pg';
import { laissez } from '../../packages/middleware/src/fastify.ts';
import {
  checkSessions,
  closeClient,
  connectRedis,
  createRevocationList,
} from '../../packages/server/src/redis/index.ts';
import { serveUntilStopped } from './common.ts';
import {
  ROUTE,
  SESSION_COOKIE,
  SESSION_ID,
  SESSION_VARIANTS,
  type SessionsConfig,
  type SessionVariant,
} from './sessions-variants.ts';

const variant = process.argv[2] as SessionVariant;
if (!SESSION_VARIANTS.includes(variant)) {
  throw new TypeError(`unknown variant ${variant} (one of ${SESSION_VARIANTS.join(', ')})`);
}
const config = JSON.parse(process.env.BENCH_SESSIONS_CONFIG ?? '{}') as SessionsConfig;
if (typeof config.secret !== 'string') {
  throw new TypeError('BENCH_SESSIONS_CONFIG must hold the configuration');
}

const app = Fastify({ logger: false });
const closers: (() => Promise<unknown>)[] = [];

/** A 401 like the laissez middleware's, for the session variants. */
function unauthorized(reply: FastifyReply): FastifyReply {
  return reply
    .code(401)
    .header('cache-control', 'no-store')
    .send({ error: 'unauthorized', error_description: 'log in first' });
}

switch (variant) {
  case 'baseline': {
    // A name as long as the users' (they are "<first> <last>" from the same lists).
    app.get(ROUTE, async () => ({ name: 'Grace Hopper' }));
    break;
  }
  case 'jwt-hs256':
  case 'jwt-eddsa': {
    await app.register(
      laissez,
      variant === 'jwt-hs256'
        ? {
            key: config.secret,
            algorithms: ['HS256'],
            issuer: config.issuer,
            audience: config.audience,
          }
        : {
            key: { keys: [config.publicJwk as Jwk] },
            algorithms: ['EdDSA'],
            issuer: config.issuer,
            audience: config.audience,
          },
    );
    app.get(ROUTE, { onRequest: app.authenticate }, async (request) => ({
      name: request.auth!.claims['name'],
    }));
    break;
  }
  case 'jwt-pg': {
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10 });
    closers.push(() => pool.end());
    await app.register(laissez, {
      key: config.secret,
      algorithms: ['HS256'],
      issuer: config.issuer,
      audience: config.audience,
    });
    app.get(ROUTE, { onRequest: app.authenticate }, async (request, reply) => {
      const { rows } = await pool.query<{ name: string }>('SELECT name FROM users WHERE id = $1', [
        request.auth!.subject,
      ]);
      // The user may have been deleted since the token was issued.
      if (rows.length === 0) return unauthorized(reply);
      return { name: rows[0]!.name };
    });
    break;
  }
  case 'jwt-revocation': {
    const client = connectRedis(config.redisUrl);
    closers.push(() => closeClient(client));
    // connectRedis connects in the background; serve once it is ready, so that the first requests
    // are not refused with 503 for want of a connection.
    if (!client.isReady) await new Promise((resolve) => client.once('ready', resolve));
    const revocations = createRevocationList({ client, prefix: `${config.redisPrefix}rev:` });
    await app.register(laissez, {
      key: config.secret,
      algorithms: ['HS256'],
      issuer: config.issuer,
      audience: config.audience,
      isRevoked: checkSessions(revocations),
    });
    app.get(ROUTE, { onRequest: app.authenticate }, async (request) => ({
      name: request.auth!.claims['name'],
    }));
    break;
  }
  case 'session-redis': {
    const client = createClient({ url: config.redisUrl });
    client.on('error', () => {});
    await client.connect();
    closers.push(() => client.close());
    await app.register(cookie);
    const sessionKey = (id: string) => `${config.redisPrefix}sess:${id}`;
    app.get(ROUTE, async (request: FastifyRequest, reply) => {
      const id = request.cookies[SESSION_COOKIE];
      if (id === undefined || !SESSION_ID.test(id)) return unauthorized(reply);
      // The key expires with the session (SET … EX), so a key found is a live session.
      const json = await client.get(sessionKey(id));
      if (json === null) return unauthorized(reply);
      const user = JSON.parse(json) as { name: string };
      return { name: user.name };
    });
    break;
  }
  case 'session-pg': {
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10 });
    closers.push(() => pool.end());
    await app.register(cookie);
    app.get(ROUTE, async (request: FastifyRequest, reply) => {
      const id = request.cookies[SESSION_COOKIE];
      if (id === undefined || !SESSION_ID.test(id)) return unauthorized(reply);
      const { rows } = await pool.query<{ name: string }>(
        `SELECT u.name FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = $1 AND s.expires_at > $2`,
        [id, Date.now()],
      );
      if (rows.length === 0) return unauthorized(reply);
      return { name: rows[0]!.name };
    });
    break;
  }
}

serveUntilStopped(await app.listen({ port: 0, host: '127.0.0.1' }), () =>
  Promise.allSettled([app.close(), ...closers.map((close) => close())]),
);
