// The Redis DPoP replay cache across processes: two resource servers, each its own Node process
// with its own Redis connection; a proof accepted by one is refused by the other (RFC 9449 §11.1).
// And while Redis cannot answer, a proof is refused with 503 (fail closed), never let through.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { createProofSigner, createSigner } from '../../../jwt/src/index.ts';
import { createRedisReplayCache } from '../../../server/src/redis/index.ts';
import { describeRedis, REDIS_URL } from './helpers.ts';

const SECRET = 'resource-server-test-secret-0123456789';
const client = createProofSigner({
  key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  algorithm: 'ES256',
});
const token = createSigner({ key: SECRET, algorithm: 'HS256', typ: 'at+jwt', expiresIn: 900 })({
  sub: 'u1',
  cnf: { jkt: client.jkt },
});

async function start(prefix: string): Promise<{ child: ChildProcess; url: string }> {
  const fixture = new URL('../../../server/test/fixtures/dpop-server.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, [fixture, REDIS_URL, prefix, SECRET], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, url: chunk.toString().trim() };
}

describeRedis('DPoP replay cache in Redis', ({ prefix, admin }) => {
  let a: { child: ChildProcess; url: string };
  let b: { child: ChildProcess; url: string };
  before(async () => {
    [a, b] = await Promise.all([start(prefix), start(prefix)]);
  });
  after(() => {
    a?.child.kill('SIGTERM');
    b?.child.kill('SIGTERM');
  });

  test('a proof accepted by one process is refused by another, and by the first again', async () => {
    const proof = client({ method: 'GET', url: 'https://api.example/me', accessToken: token });
    const headers = { authorization: `DPoP ${token}`, dpop: proof };
    const first = await fetch(`${a.url}/me`, { headers });
    assert.equal(first.status, 200);
    const second = await fetch(`${b.url}/me`, { headers });
    assert.equal(second.status, 401);
    assert.equal(((await second.json()) as { error: string }).error, 'invalid_dpop_proof');
    assert.equal((await fetch(`${a.url}/me`, { headers })).status, 401);
    // The entry expires when the proof would be too old anyway (65 s), not later.
    const keys = await admin().keys(`${prefix}*`);
    assert.equal(keys.length, 1);
    const ttl = await admin().pTTL(keys[0]!);
    assert.ok(ttl > 55_000 && ttl <= 66_000, `ttl ${ttl}`);
  });

  test('two requests at once with one proof: exactly one passes', async () => {
    const proof = client({ method: 'GET', url: 'https://api.example/me', accessToken: token });
    const headers = { authorization: `DPoP ${token}`, dpop: proof };
    const statuses = await Promise.all(
      [a, b, a, b].map(async (s) => (await fetch(`${s.url}/me`, { headers })).status),
    );
    assert.deepEqual(statuses.sort(), [200, 401, 401, 401]);
  });

  test('Redis that cannot answer: firstUse rejects (the middleware answers 503)', async () => {
    // A port nothing listens on.
    const cache = createRedisReplayCache({
      url: 'redis://127.0.0.1:1',
      timeout: 100,
      onError: () => {},
    });
    await assert.rejects(async () => cache.firstUse('k', Date.now() + 60_000));
    await cache.close();
  });
});
