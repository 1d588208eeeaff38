// The server process of `npm run bench:dpop`: one Fastify app with the laissez plugin twice, on
// /dpop with `dpop: 'required'` (a DPoP-bound token and a fresh proof per request, the in-memory
// replay cache) and on /bearer with Bearer tokens only; the same ES256 key and verify cache on
// both, so the difference is the proof. Proofs name `http://bench.local` (publicUrl: the URL
// clients call, as behind a proxy), so the URL it listens on does not matter. Settings come as
// JSON in BENCH_DPOP: { jwk, publicUrl } (the tokens' public key, the URL proofs name). Prints its
// URL once listening.

import type { Jwk } from '@laissez/jwt';
import Fastify, { type FastifyInstance } from 'fastify';
import { laissez } from '../../packages/middleware/src/fastify.ts';
import { serveUntilStopped } from './common.ts';

const { jwk, publicUrl } = JSON.parse(process.env.BENCH_DPOP ?? '{}') as {
  jwk: Jwk;
  publicUrl: string;
};
const app = Fastify({ logger: false });
const options = { key: jwk, algorithms: ['ES256' as const], audience: 'api', cache: true };
const handler = async () => ({ hello: 'world' });
for (const dpop of [true, false]) {
  await app.register(async (scope: FastifyInstance) => {
    await scope.register(laissez, dpop ? { ...options, dpop: 'required', publicUrl } : options);
    scope.get(dpop ? '/dpop' : '/bearer', { onRequest: scope.authenticate }, handler);
  });
}
serveUntilStopped(await app.listen({ port: 0, host: '127.0.0.1' }), () => app.close());
