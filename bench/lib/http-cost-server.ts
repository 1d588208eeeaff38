// The server of `npm run bench:http-cost`: one Fastify app whose routes run the same handler behind
// different onRequest hooks. Each hook is also timed here, in a tight loop on one request object,
// so the driver can set what a hook costs inside a server under load against its cost alone.
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
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
await app.register(laissez, options);
const verifier = createVerifier(options);
let sink = 0;
const hooks: Record<Exclude<CostRoute, 'unprotected'>, Hook> = {
  // Arithmetic on registers only: no memory, no allocation, no native call.
  spin: (_request, _reply, done) => {
    let x = 0;
    for (let i = 0; i < config.spin; i++) x = (x * 31 + i) | 0;
    sink ^= x;
    done();
  },
  // The JWT core alone, on the header's token.
  verify: (request, _reply, done) => {
    sink ^= verifier(request.headers.authorization!.slice(7)).header.alg.length;
    done();
  },
  laissez: app.authenticate as unknown as Hook,
};
const handler = async () => ({ hello: 'world' });
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
  for (const [name, hook] of Object.entries(hooks)) {
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
