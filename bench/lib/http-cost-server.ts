// The server of `npm run bench:http-cost`: one Fastify app whose routes run the same handler behind
// different onRequest hooks. Each hook is also timed here, in a tight loop on one request object,
// so the driver can set what a hook costs inside a server under load against its cost alone.
import { hash } from 'node:crypto';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type onRequestHookHandler,
} from 'fastify';
import { createVerifier } from '../../src/jwt/index.ts';
import { laissez } from '../../src/middleware/fastify.ts';
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
// Where one SHA-256 input is written: the header as latin1 bytes, as laissez's HMAC does.
let scratch = Buffer.alloc(1024);
let sink = 0;

function sha256(text: string): number {
  if (scratch.length < text.length) scratch = Buffer.alloc(text.length);
  const written = scratch.write(text, 0, 'latin1');
  return hash('sha256', scratch.subarray(0, written), 'binary').length;
}

function payloadExp(authorization: string): number {
  const dot1 = authorization.indexOf('.');
  const dot2 = authorization.indexOf('.', dot1 + 1);
  const json = Buffer.from(authorization.slice(dot1 + 1, dot2), 'base64url').toString();
  return (JSON.parse(json) as { exp: number }).exp;
}
const hooks: Record<Exclude<CostRoute, 'unprotected' | 'laissez' | 'cache'>, Hook> = {
  noop: (_request, _reply, done) => done(),
  // Arithmetic on registers only: no memory, no allocation, no native call.
  spin: (_request, _reply, done) => {
    let x = 0;
    for (let i = 0; i < config.spin; i++) x = (x * 31 + i) | 0;
    sink ^= x;
    done();
  },
  // One hash of the header: an HMAC is two (RFC 2104), so no HS256 check can cost less.
  sha256: (request, _reply, done) => {
    sink ^= sha256(request.headers.authorization!);
    done();
  },
  // The payload as any verifier reads it: base64url decoded, then JSON.parse.
  payload: (request, _reply, done) => {
    sink ^= payloadExp(request.headers.authorization!);
    done();
  },
  // Both: less than any HS256 verification does (two hashes, the header, the claims).
  floor: (request, _reply, done) => {
    const header = request.headers.authorization!;
    sink ^= sha256(header) ^ payloadExp(header);
    done();
  },
  // The JWT core alone, on the header's token.
  verify: (request, _reply, done) => {
    sink ^= verifier(request.headers.authorization!.slice(7)).header.alg.length;
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
