// The server of `npm run bench:http-cost`: one Fastify app whose routes run the same handler behind
// different onRequest hooks. Each hook is also timed here, in a tight loop on one request object,
// so the driver can set what a hook costs inside a server under load against its cost alone.
import { hash } from 'node:crypto';
import { createVerifier } from '@laissez/jwt';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type onRequestHookHandler,
} from 'fastify';
import { laissez } from '../../packages/middleware/src/fastify.ts';
import { serveUntilStopped } from './common.ts';
import type { CostConfig, CostMessage, CostRoute } from './http-cost-types.ts';

type Hook = (request: FastifyRequest, reply: FastifyReply, done: () => void) => void;

const config = JSON.parse(process.env.BENCH_COST_CONFIG ?? '{}') as CostConfig;
const app = Fastify({ logger: false });
// The options of bench:http's laissez variants, for the hook and for the core alone.
const options = {
  key: config.secret,
  algorithms: ['HS256' as const],
  issuer: config.issuer,
  audience: config.audience,
};
const handler = async () => ({ hello: 'world' });

/** The plugin's hook, registered in a context of its own so that two setups can sit side by side. */
async function pluginHook(cache: boolean): Promise<Hook> {
  let hook: onRequestHookHandler | undefined;
  await app.register(async (scope: FastifyInstance) => {
    await scope.register(laissez, { ...options, cache });
    hook = scope.authenticate;
    scope.get(cache ? '/cache' : '/laissez', { onRequest: hook }, handler);
  });
  return hook as unknown as Hook;
}

const verifier = createVerifier(options);
// The floor's parts do no more than laissez's own code: no allocation per call beyond the token
// cut from the header (which every check needs) and its payload part. The signing input is written
// as latin1 into one buffer in place and hashed through a view kept while the length stays the
// same; the payload is decoded into another buffer.
let input = Buffer.alloc(1024);
let view = input.subarray(0, 0);
let decoded = Buffer.alloc(1024);
let sink = 0;

/** One SHA-256 of the token's signing input (up to its second dot): half an HS256 check's hashing. */
function sha256(token: string): number {
  const dot2 = token.indexOf('.', token.indexOf('.') + 1);
  if (input.length < dot2) input = Buffer.alloc(dot2 * 2);
  const written = input.write(token, 0, dot2, 'latin1');
  if (view.length !== written || view.buffer !== input.buffer) view = input.subarray(0, written);
  return hash('sha256', view, 'binary').length;
}

/** The payload decoded from base64url and parsed, as any verifier must to read `exp`. */
function payloadExp(token: string): number {
  const dot1 = token.indexOf('.');
  const dot2 = token.indexOf('.', dot1 + 1);
  if (decoded.length < dot2 - dot1) decoded = Buffer.alloc((dot2 - dot1) * 2);
  const written = decoded.write(token.slice(dot1 + 1, dot2), 0, 'base64url');
  return (JSON.parse(decoded.toString('utf8', 0, written)) as { exp: number }).exp;
}

const tokenOf = (request: FastifyRequest) => request.headers.authorization!.slice(7);
const hooks: Record<Exclude<CostRoute, 'unprotected' | 'laissez' | 'cache'>, Hook> = {
  noop: (_request, _reply, done) => done(),
  // Arithmetic on registers only: no memory, no allocation, no native call.
  spin: (_request, _reply, done) => {
    let x = 0;
    for (let i = 0; i < config.spin; i++) x = (x * 31 + i) | 0;
    sink ^= x;
    done();
  },
  // One hash of the signing input: an HMAC is two (RFC 2104).
  sha256: (request, _reply, done) => {
    sink ^= sha256(tokenOf(request));
    done();
  },
  // The payload as any verifier reads it: base64url decoded, then JSON.parse.
  payload: (request, _reply, done) => {
    sink ^= payloadExp(tokenOf(request));
    done();
  },
  // Both: less than an HS256 verification does (two hashes, the header, the claims).
  floor: (request, _reply, done) => {
    const token = tokenOf(request);
    sink ^= sha256(token) ^ payloadExp(token);
    done();
  },
  // The JWT core alone, on the header's token.
  verify: (request, _reply, done) => {
    sink ^= verifier(tokenOf(request)).header.alg.length;
    done();
  },
};
const allHooks: Record<Exclude<CostRoute, 'unprotected'>, Hook> = {
  ...hooks,
  laissez: await pluginHook(false),
  cache: await pluginHook(true),
};
app.get('/unprotected', handler);
for (const [name, hook] of Object.entries(hooks)) app.get(`/${name}`, { onRequest: hook }, handler);

/** µs per call of each hook, alone: a tight loop on one request object with the given header. */
function loopCosts(authorization: string): Record<string, number> {
  const request = {
    headers: { authorization },
    raw: { rawHeaders: ['host', '127.0.0.1', 'authorization', authorization] },
  } as unknown as FastifyRequest;
  const reply = {} as FastifyReply;
  const done = () => {};
  const micros: Record<string, number> = {};
  for (const [name, hook] of Object.entries(allHooks)) {
    for (let i = 0; i < 20_000; i++) hook(request, reply, done);
    const started = performance.now();
    for (let i = 0; i < 100_000; i++) hook(request, reply, done);
    micros[name] = ((performance.now() - started) * 1000) / 100_000;
  }
  return micros;
}

process.on('message', (message: { type: string; authorization?: string }) => {
  if (message.type === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send?.({ type: 'cpu', user, system } satisfies CostMessage);
  } else if (message.type === 'loop') {
    process.send?.({
      type: 'loop',
      micros: loopCosts(message.authorization!),
    } satisfies CostMessage);
  }
});

const url = await app.listen({ port: 0, host: '127.0.0.1' });
serveUntilStopped(url, () => app.close());
if (sink === 42) console.log(''); // keeps the loops' results alive
