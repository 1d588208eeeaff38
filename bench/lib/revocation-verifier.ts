// A verifier process of `npm run bench:revocation`: one Fastify app with the laissez plugin twice,
// on /on with the revocation feed (checkSessions of createRevocationFeed) and on /off without any
// revocation check, so that the driver can compare them on the same server. Settings come as JSON
// in BENCH_REVOCATION: { url, prefix, secret }. Prints its URL once the feed has loaded.
import Fastify, { type FastifyInstance } from 'fastify';
import { laissez } from '../../packages/middleware/src/fastify.ts';
import { checkSessions } from '../../packages/middleware/src/redis/revocation.ts';
import { createRevocationFeed } from '../../packages/middleware/src/redis/revocation-feed.ts';
import { serveUntilStopped } from './common.ts';

const { url, prefix, secret } = JSON.parse(process.env.BENCH_REVOCATION ?? '{}') as Record<
  string,
  string
>;
const feed = createRevocationFeed({ url: url!, prefix: prefix! });
const app = Fastify({ logger: false });
const options = { key: secret!, algorithms: ['HS256' as const], audience: 'api' };
const handler = async () => ({ hello: 'world' });
for (const on of [true, false]) {
  await app.register(async (scope: FastifyInstance) => {
    await scope.register(laissez, on ? { ...options, isRevoked: checkSessions(feed) } : options);
    scope.get(on ? '/on' : '/off', { onRequest: scope.authenticate }, handler);
  });
}
await feed.ready();
serveUntilStopped(await app.listen({ port: 0, host: '127.0.0.1' }), async () => {
  await app.close();
  await feed.close();
});
