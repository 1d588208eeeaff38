// The revocation feed against a real Redis: revocations pushed to verifier processes, a verifier
// that starts late loads them, one whose connection hangs fails closed after the bound and reloads
// what it missed, a gap in the stream is noticed, ended entries leave memory, and many revocations
// at once from several writers reach every verifier.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createSigner } from '../../../jwt/src/index.ts';
import { freezableProxy } from '../../../server/test/helpers/proxy.ts';
import { createAuthenticator } from '../../src/authenticator.ts';
import { closeClient, connectRedis } from '../../src/redis/client.ts';
import {
  checkSessions,
  createRevocationList,
  type RevocationList,
  RevocationUnavailableError,
  revocationKeys,
} from '../../src/redis/revocation.ts';
import {
  createRevocationFeed,
  type RevocationFeed,
  type RevocationFeedOptions,
} from '../../src/redis/revocation-feed.ts';
import { describeRedis, eventually, freePort, REDIS_URL, reports } from './helpers.ts';

const newSid = () => randomBytes(9).toString('base64url');
const MINUTE = 60_000;
const VERIFIER = fileURLToPath(new URL('./fixtures/feed-verifier.ts', import.meta.url));
const redisPort = Number(new URL(REDIS_URL).port || 6379);
const redisHost = new URL(REDIS_URL).hostname;

describeRedis('revocation feed', ({ prefix, admin }) => {
  const keys = revocationKeys(prefix);
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });
  function feed(options: Partial<RevocationFeedOptions> = {}): RevocationFeed {
    const made = createRevocationFeed({
      url: REDIS_URL,
      prefix,
      onError: () => {},
      onRecover: () => {},
      ...options,
    } as RevocationFeedOptions);
    closers.push(() => made.close());
    return made;
  }
  function writer(): RevocationList {
    const list = createRevocationList({ url: REDIS_URL, prefix, timeout: 5000, onError: () => {} });
    closers.push(() => list.close());
    return list;
  }

  test('revoke → refused at three verifier processes', async () => {
    const secret = randomBytes(32).toString('base64url');
    const sign = createSigner({
      key: secret,
      algorithm: 'HS256',
      typ: 'at+jwt',
      audience: 'api',
      expiresIn: 900,
    });
    const children: ChildProcess[] = [];
    closers.push(async () => {
      for (const child of children) {
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          await new Promise((resolve) => child.once('exit', resolve));
        }
      }
    });
    const urls = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<string>((resolve, reject) => {
            const child = spawn(
              process.execPath,
              [VERIFIER, JSON.stringify({ url: REDIS_URL, prefix, secret })],
              { stdio: ['pipe', 'pipe', 'inherit'] },
            );
            children.push(child);
            let out = '';
            child.stdout!.on('data', (chunk: Buffer) => {
              out += chunk.toString();
              if (out.includes('\n')) resolve(out.trim());
            });
            child.once('exit', (code) => reject(new Error(`verifier exited with ${code}`)));
          }),
      ),
    );
    const status = async (url: string, token: string) =>
      (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status;
    const list = writer();
    const sids = Array.from({ length: 5 }, newSid);
    const tokens = sids.map((sid) => sign({ sub: 'u1', sid }));
    for (const url of urls) for (const token of tokens) assert.equal(await status(url, token), 200);
    for (const [i, sid] of sids.entries()) {
      await list.revoke(sid, Date.now() + MINUTE);
      for (const url of urls) {
        await eventually(
          async () => (await status(url, tokens[i]!)) === 401,
          `${url} refuses the revoked session`,
        );
      }
      // The others are untouched.
      for (const url of urls) {
        for (const token of tokens.slice(i + 1)) assert.equal(await status(url, token), 200);
      }
    }
  });

  test('a verifier that starts after revocations loads them (and not the ended ones)', async () => {
    const list = writer();
    const [kept, ended, other] = [newSid(), newSid(), newSid()];
    await list.revoke(kept, Date.now() + MINUTE);
    await list.revoke(ended, Date.now() + 50);
    await sleep(100);
    const late = feed();
    await late.ready();
    assert.equal(late.check(kept), true, 'a boolean at once, no promise');
    assert.equal(late.check(ended), false);
    assert.equal(await late.isRevoked(other), false);
    assert.equal(late.fresh, true);
  });

  test('checkSessions answers without a promise from a loaded feed', async () => {
    const local = feed();
    await local.ready();
    const sid = newSid();
    await local.revoke(sid, Date.now() + MINUTE);
    const check = checkSessions(local);
    assert.equal(check({ sid }), true);
    assert.equal(check({ sid: newSid() }), false);
    assert.equal(check({ sid: 'a\nb' }), true, 'no usable sid counts as revoked');
  });

  test('a connection that hangs: answers from its set within the bound, 503 after it, reloads what it missed', async () => {
    const proxy = await freezableProxy({ host: redisHost, port: redisPort });
    closers.push(() => proxy.close());
    const seen = reports();
    const away = feed({
      url: `redis://127.0.0.1:${proxy.port}`,
      timeout: 300,
      maxStale: 1500,
      onError: seen.onError,
      onRecover: seen.onRecover,
    });
    await away.ready();
    const list = writer();
    const before = newSid();
    await list.revoke(before, Date.now() + MINUTE);
    await eventually(() => away.check(before) === true, 'the feed sees a revocation');

    // What was reported before the freeze (on a loaded machine a slow answer can already count
    // as an outage, and its recovery): the outage under test is the one that follows.
    const errorsBefore = seen.errors.length;
    const recoveriesBefore = seen.recoveries;
    proxy.freeze();
    const during = newSid();
    await list.revoke(during, Date.now() + MINUTE);
    // Within the bound: the set it has (which has `before`, not yet `during`).
    assert.equal(away.check(before), true);
    assert.equal(away.check(during), false);
    // After it: fail closed.
    await eventually(() => !away.fresh, 'the feed is stale', 5000);
    assert.throws(() => away.check(during), RevocationUnavailableError);
    await assert.rejects(away.isRevoked(newSid()), RevocationUnavailableError);
    const authenticator = createAuthenticator({
      key: 'k'.repeat(32),
      algorithms: ['HS256'],
      audience: 'api',
      isRevoked: checkSessions(away),
      onUnavailable: () => {},
    });
    const token = createSigner({
      key: 'k'.repeat(32),
      algorithm: 'HS256',
      typ: 'at+jwt',
      audience: 'api',
      expiresIn: 900,
    })({ sub: 'u1', sid: newSid() });
    const outcome = await authenticator.authenticate({
      authorization: `Bearer ${token}`,
      cookie: undefined,
    });
    assert.equal(outcome.ok ? 200 : outcome.failure.status, 503);
    assert.equal(seen.errors.length - errorsBefore, 1, 'the outage is reported once');

    proxy.thaw();
    await eventually(() => away.fresh, 'the feed is back', 10_000);
    assert.equal(away.check(during), true, 'the revocation made while it was away is there');
    assert.equal(seen.recoveries - recoveriesBefore, 1);
    assert.ok(proxy.accepted >= 2, 'a new connection, so a full load');
  });

  test('a Redis that is not there: 503 (deny) or false (allow) within the timeout', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const deny = feed({ url, timeout: 200 });
    const started = Date.now();
    await assert.rejects(deny.isRevoked(newSid()), RevocationUnavailableError);
    assert.ok(Date.now() - started < 1000);
    const allow = feed({ url, timeout: 200, onUnavailable: 'allow' });
    assert.equal(await allow.isRevoked(newSid()), false);
    await assert.rejects(deny.revoke(newSid(), Date.now() + MINUTE), RevocationUnavailableError);
  });

  test('a gap in the stream (trimmed messages) makes it load the whole set again', async () => {
    const follower = feed();
    await follower.ready();
    // An entry written without its message, then a message numbered one past the next: the
    // follower cannot have seen the missing one, so it must reload.
    const hidden = newSid();
    const shown = newSid();
    const until = String(Date.now() + MINUTE);
    await admin().zAdd(keys.set, { score: Number(until), value: hidden });
    await admin().incr(keys.seq);
    const n = await admin().incr(keys.seq);
    await admin().zAdd(keys.set, { score: Number(until), value: shown });
    await admin().xAdd(keys.feed, '*', { sid: shown, until, n: String(n) });
    await eventually(() => follower.check(shown) === true, 'the message is applied');
    assert.equal(follower.check(hidden), true, 'the entry without a message was loaded');
  });

  test('memory: ended entries leave the set in memory and in Redis', async () => {
    const local = feed();
    await local.ready();
    const list = writer();
    const base = local.size;
    const sids = Array.from({ length: 200 }, newSid);
    const until = Date.now() + 2000;
    await Promise.all(sids.map((sid) => list.revoke(sid, until)));
    await eventually(() => local.size >= base + 200, 'all are held');
    await eventually(() => sids.every((sid) => local.check(sid) === false), 'all have ended');
    await eventually(() => local.size <= base, 'the sweep dropped them', 5000);
    await list.revoke(newSid(), Date.now() + MINUTE); // trims the set in Redis
    for (const sid of sids.slice(0, 10)) assert.equal(await admin().zScore(keys.set, sid), null);
  });

  test('concurrency: 300 revocations from three writers reach three feeds; each writer sees its own at once', async () => {
    const feeds = [feed(), feed(), feed()];
    await Promise.all(feeds.map((f) => f.ready()));
    const sids = Array.from({ length: 300 }, newSid);
    const untouched = Array.from({ length: 50 }, newSid);
    await Promise.all(
      sids.map(async (sid, i) => {
        const mine = feeds[i % 3]!;
        await mine.revoke(sid, Date.now() + MINUTE);
        assert.equal(mine.check(sid), true);
      }),
    );
    await eventually(
      () => feeds.every((f) => sids.every((sid) => f.check(sid) === true)),
      'every feed has every revocation',
    );
    for (const f of feeds) for (const sid of untouched) assert.equal(f.check(sid), false);
  });

  test('a shared client is duplicated for the feed, and left open by close()', async () => {
    const client = connectRedis(REDIS_URL);
    try {
      const shared = feed({ url: undefined, client });
      await shared.ready();
      const sid = newSid();
      await writer().revoke(sid, Date.now() + MINUTE);
      await eventually(() => shared.check(sid) === true, 'the feed sees it');
      await shared.close();
      assert.equal(await client.sendCommand(['PING']), 'PONG');
    } finally {
      await closeClient(client);
    }
  });

  test('refuses bad options', () => {
    assert.throws(() => createRevocationFeed({ url: REDIS_URL, maxStal: 5 } as never), /maxStale/);
    assert.throws(() => createRevocationFeed({ url: REDIS_URL, maxStale: 0 }), /maxStale/);
    assert.throws(() => createRevocationFeed({ url: 'http://x' }), /redis:\/\//);
    assert.throws(() => createRevocationFeed({} as never), /exactly one/);
    assert.throws(
      () => createRevocationFeed({ client: { sendCommand: () => {}, on: () => {} } } as never),
      /duplicates/,
    );
    assert.throws(() => createRevocationFeed({ url: REDIS_URL, onUnavailable: 'x' as never }));
  });
});
