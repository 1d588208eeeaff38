// connectRedis against a real redis-server that is not there at first, then starts: an outage is
// reported once, then summarized at most once per errorInterval, and its end is reported.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeClient, connectRedis, type RedisClient } from '../../../server/src/redis/index.ts';
import { describeRedis, eventually, type TempRedis, tempRedis } from './helpers.ts';

describeRedis('connectRedis: outages in the logs', () => {
  let redis: TempRedis | undefined;
  const clients: RedisClient[] = [];
  after(async () => {
    await Promise.all(clients.map((client) => closeClient(client)));
    await redis?.stop();
  });

  test('one call when it starts, a summary per interval with the count, one when it ends', async () => {
    redis = await tempRedis();
    await redis.stop(); // its port, with nothing listening for now
    const calls: { count: number; downMs: number }[] = [];
    const restored: number[] = [];
    let errors = 0;
    const client = connectRedis(redis.url, {
      errorInterval: 1000,
      onError: (_error, outage) => calls.push(outage),
      onRestored: (downMs) => restored.push(downMs),
    });
    clients.push(client);
    client.on('error', () => errors++);
    await sleep(2600);
    // Reconnection attempts: 50, 100, 200, 400, 800, 1600 ms apart (plus jitter): 5 or more errors.
    assert.ok(errors >= 5, `only ${errors} errors`);
    assert.ok(calls.length >= 2 && calls.length <= 3, JSON.stringify(calls));
    assert.deepEqual(calls[0], { count: 1, downMs: 0 });
    for (const call of calls.slice(1)) assert.ok(call.downMs >= 1000, JSON.stringify(calls));
    // Every error is counted in exactly one call (those since the last call wait for the next).
    const counted = calls.reduce((sum, call) => sum + call.count, 0);
    assert.ok(counted <= errors && counted >= errors - 3, `${counted} of ${errors}`);
    assert.deepEqual(restored, []);
    await redis.start();
    await eventually(() => restored.length === 1, 'the client reconnects');
    assert.ok(restored[0]! >= 2600, String(restored[0]));
    assert.equal(await client.ping(), 'PONG');
  });

  test('errorInterval 0 reports every error; a bad interval is a TypeError', async () => {
    const calls: number[] = [];
    let errors = 0;
    const client = connectRedis('redis://127.0.0.1:1', {
      errorInterval: 0,
      onError: (_error, { count }) => calls.push(count),
    });
    clients.push(client);
    client.on('error', () => errors++);
    await sleep(500);
    assert.ok(errors >= 2);
    assert.equal(calls.length, errors);
    assert.ok(calls.every((count) => count === 1));
    assert.throws(
      () => connectRedis('redis://127.0.0.1:1', { errorInterval: -1 }),
      /errorInterval must be 0 or more milliseconds/,
    );
    assert.throws(
      () => connectRedis('redis://127.0.0.1:1', { onRestore: () => {} } as never),
      /^TypeError: connectRedis: unknown option "onRestore"; did you mean "onRestored"\?$/,
    );
  });
});
