// One server of `npm run bench:http`, in its own process: `node bench/http-server.ts <variant>`,
// with the secret, issuer and audience as JSON in the BENCH_HTTP_CONFIG environment variable.
// It listens on 127.0.0.1 (a free port), prints its URL on stdout, answers CPU usage questions on
// the IPC channel, and exits on SIGTERM or when the driver goes away.
//
// Every variant serves GET /unprotected -> { hello: 'world' } and GET /protected, the same handler
// behind the token check -> { hello: <sub> }. Each is written the way the library's documentation
// shows it, with the framework's defaults (no logger). Each process loads only the modules of its
// own variant.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type {} from '../packages/middleware/src/express.ts'; // types of req.auth
import type {} from '../packages/middleware/src/fastify.ts'; // types of app.authenticate, request.auth
import type { LaissezEnv } from '../packages/middleware/src/hono.ts';
import { serveUntilStopped } from './lib/common.ts';
import {
  type CpuReply,
  type CpuRequest,
  ROUTES,
  type ServerConfig,
  UNPROTECTED_BODY,
  VARIANTS,
  type Variant,
} from './lib/http-variants.ts';

const variant = process.argv[2] as Variant;
if (!VARIANTS.includes(variant)) {
  throw new TypeError(`unknown variant ${variant} (one of ${VARIANTS.join(', ')})`);
}
const config = JSON.parse(process.env.BENCH_HTTP_CONFIG ?? '{}') as ServerConfig;
if (typeof config.secret !== 'string')
  throw new TypeError('BENCH_HTTP_CONFIG must hold the secret');
const cached = variant.endsWith('-cache');

/** The laissez options, the same for the three frameworks: what a resource server would set. */
const laissezOptions = {
  key: config.secret,
  algorithms: ['HS256' as const],
  issuer: config.issuer,
  audience: config.audience,
  ...(cached ? { cache: true } : {}),
};

/** Starts the variant's server; resolves to its URL and a function that closes it. */
async function start(): Promise<{ url: string; close: () => Promise<void> }> {
  switch (variant) {
    case 'fastify-laissez':
    case 'fastify-laissez-cache': {
      const { default: Fastify } = await import('fastify');
      const { laissez } = await import('../packages/middleware/src/fastify.ts');
      const app = Fastify({ logger: false });
      await app.register(laissez, laissezOptions);
      app.get(ROUTES.unprotected, async () => UNPROTECTED_BODY);
      app.get(ROUTES.protected, { onRequest: app.authenticate }, async (request) => ({
        hello: request.auth!.subject,
      }));
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      return { url, close: () => app.close() };
    }
    case 'fastify-jwt': {
      // The @fastify/jwt README's pattern: register with the secret, verify in an onRequest hook.
      const { default: Fastify } = await import('fastify');
      const { default: fastifyJwt } = await import('@fastify/jwt');
      const app = Fastify({ logger: false });
      await app.register(fastifyJwt, { secret: config.secret });
      const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
        try {
          await request.jwtVerify();
        } catch (error) {
          reply.send(error);
        }
      };
      app.get(ROUTES.unprotected, async () => UNPROTECTED_BODY);
      app.get(ROUTES.protected, { onRequest: authenticate }, async (request) => ({
        hello: (request.user as { sub: string }).sub,
      }));
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      return { url, close: () => app.close() };
    }
    case 'express-laissez':
    case 'express-laissez-cache':
    case 'express-jsonwebtoken': {
      const { default: express } = await import('express');
      const app = express();
      let auth: (req: Request, res: Response, next: NextFunction) => void;
      let subject: (req: Request, res: Response) => string;
      if (variant === 'express-jsonwebtoken') {
        // The usual hand-written middleware around jsonwebtoken, with the secret as a string.
        const { default: jsonwebtoken } = await import('jsonwebtoken');
        auth = (req, res, next) => {
          const header = req.headers.authorization;
          if (header === undefined || !header.startsWith('Bearer ')) {
            res.status(401).json({ error: 'unauthorized' });
            return;
          }
          try {
            res.locals.user = jsonwebtoken.verify(header.slice(7), config.secret, {
              algorithms: ['HS256'],
            });
          } catch {
            res.status(401).json({ error: 'invalid_token' });
            return;
          }
          next();
        };
        subject = (_req, res) => (res.locals.user as { sub: string }).sub;
      } else {
        const { laissez } = await import('../packages/middleware/src/express.ts');
        auth = laissez(laissezOptions);
        subject = (req) => req.auth!.subject;
      }
      app.get(ROUTES.unprotected, (_req, res) => {
        res.json(UNPROTECTED_BODY);
      });
      app.get(ROUTES.protected, auth, (req, res) => {
        res.json({ hello: subject(req, res) });
      });
      const server = app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      return {
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise((resolve) => server.close(() => resolve())),
      };
    }
    case 'hono-laissez':
    case 'hono-laissez-cache': {
      const { Hono } = await import('hono');
      const { serve } = await import('@hono/node-server');
      const { laissez } = await import('../packages/middleware/src/hono.ts');
      const app = new Hono<LaissezEnv>();
      app.get(ROUTES.unprotected, (c) => c.json(UNPROTECTED_BODY));
      app.get(ROUTES.protected, laissez(laissezOptions), (c) =>
        c.json({ hello: c.get('auth').subject }),
      );
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      return {
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise((resolve) => server.close(() => resolve())),
      };
    }
  }
}

const server = await start();
serveUntilStopped(server.url, server.close);

// The driver asks for this process's CPU time before and after each slice, to show which side
// of the loopback was the bottleneck.
process.on('message', (message: CpuRequest) => {
  if (message?.type !== 'cpu') return;
  const { user, system } = process.cpuUsage();
  process.send?.({ type: 'cpu', user, system } satisfies CpuReply);
});
