// The plumbing the benchmarks share (bench/lib): what would make a benchmark measure the wrong
// thing if it broke. The auth server a log-in benchmark spawns must never answer 429 (it would
// time refusals, not argon2id), an autocannon run must stop on any non-2xx answer, the forged
// tokens of the checks before timing must really be forgeries, and list flags refuse unknown
// names. Speed itself is measured by the benchmarks, never here.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { forgedTokens, pickList } from '../../bench/lib/common.ts';
import { load } from '../../bench/lib/load.ts';
import { BENCH_RATE_LIMITS, spawnServer } from '../../bench/lib/spawn.ts';
import { createSigner, createVerifier } from '../../packages/jwt/src/index.ts';
import { DEFAULT_RATE_LIMITS, resolveRateLimits } from '../../packages/server/src/auth/limits.ts';

describe('the auth server of the log-in benchmarks', () => {
  test('every rate-limit budget is raised out of reach, and the server accepts them', () => {
    const resolved = resolveRateLimits(BENCH_RATE_LIMITS);
    assert.deepEqual(Object.keys(resolved).sort(), Object.keys(DEFAULT_RATE_LIMITS).sort());
    for (const [name, limit] of Object.entries(resolved)) {
      assert.ok(limit.max >= 1e9, `${name} is ${limit.max}`);
    }
  });

  test('more failures from one address than any default budget still end in a log-in', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'laissez-bench-test-'));
    const server = await spawnServer({ dataDir });
    after(async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const post = (path: string, body: unknown) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const password = 'bench password 123';
    const registered = await post('/auth/register', {
      username: 'bench',
      email: 'bench@example.com',
      password,
    });
    assert.equal(registered.status, 201);
    // The smallest default failure budget is 5 per client and per device.
    const smallest = Math.min(...Object.values(DEFAULT_RATE_LIMITS).map((l) => l.max));
    for (let i = 0; i <= smallest; i++) {
      const wrong = await post('/auth/login', { username: 'bench', password: 'not it' });
      await wrong.arrayBuffer();
      assert.equal(wrong.status, 401, `failure ${i + 1}`);
    }
    const ok = await post('/auth/login', { username: 'bench', password });
    assert.equal(ok.status, 200);
    assert.equal(typeof ((await ok.json()) as { access_token?: unknown }).access_token, 'string');
  });
});

describe('load (one autocannon run)', () => {
  test('reports the 2xx answers, and stops on any other', async () => {
    let status = 200;
    const http = createServer((_request, response) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end('{}');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    after(() => http.close());
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
    const run = await load({ url, connections: 2, duration: 0.3 }, 'ok route');
    assert.ok(run.requests > 0 && run.rps > 0);
    assert.equal(run.latencies.length, run.requests);
    assert.ok(run.p50 <= run.p99 && run.p99 <= run.max);
    status = 401;
    await assert.rejects(
      load({ url, connections: 2, duration: 0.3 }, 'refusing route'),
      /refusing route: \d+ non-2xx answers .*"401".*stopping/,
    );
  });
});

describe('forgedTokens', () => {
  test('both forgeries are refused where the token verifies', async () => {
    const key = 'a'.repeat(43);
    const token = createSigner({ key, algorithm: 'HS256', expiresIn: 60 })({ sub: 'u1' });
    const verify = createVerifier({ key, algorithms: ['HS256'] });
    assert.equal((await verify(token)).payload.sub, 'u1');
    const forged = forgedTokens(token);
    assert.equal(forged.length, 2);
    for (const f of forged) {
      assert.notEqual(f, token);
      await assert.rejects(async () => verify(f));
    }
  });
});

describe('pickList', () => {
  const all = ['a', 'b', 'c'] as const;
  test('picks in the order of the list, `all`, or the fallback', () => {
    assert.deepEqual(pickList('--x', 'c,a', all), ['a', 'c']);
    assert.deepEqual(pickList('--x', 'all', all, ['a']), ['a', 'b', 'c']);
    assert.deepEqual(pickList('--x', undefined, all, ['b']), ['b']);
  });
  test('refuses an unknown name, with the known ones', () => {
    assert.throws(() => pickList('--x', 'a,d', all), /--x: unknown d \(one of a, b, c, or all\)/);
  });
});
