// The revocation list against a real Redis: entries in one sorted set (sid → when it ends) that
// end with the session's last access token, concurrent use from several connections, the local cache, and the
// failure policy when Redis is not there or stops answering.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSigner } from '../../../jwt/src/index.ts';
import { createAuthenticator } from '../../src/authenticator.ts';
import { closeClient, connectRedis } from '../../src/redis/client.ts';
import {
  checkSessions,
  createRevocationList,
  isValidSid,
  type RevocationList,
  type RevocationListOptions,
  RevocationUnavailableError,
  revocationKeys,
} from '../../src/redis/revocation.ts';
import {
  describeRedis,
  eventually,
  freePort,
  REDIS_URL,
  reports,
  type TempRedis,
  tempRedis,
  warm,
} from './helpers.ts';

const newSid = () => randomBytes(9).toString('base64url');
const MINUTE = 60_000;

describeRedis('revocation list', ({ prefix, admin }) => {
  const keys = revocationKeys(prefix);
  /** When the entry of `sid` ends, as Redis holds it; null without one. */
  const ends = async (sid: string) => {
    const score = await admin().zScore(keys.set, sid);
    return score === null ? null : Number(score);
  };
  const lists: RevocationList[] = [];
  after(async () => {
    await Promise.all(lists.map((list) => list.close()));
  });
  function open(options: Partial<RevocationListOptions> = {}): RevocationList {
    const list = createRevocationList({
      url: REDIS_URL,
      prefix,
      timeout: 5000,
      onError: () => {},
      onRecover: () => {},
      ...options,
    } as RevocationListOptions);
    lists.push(list);
    return list;
  }

  test('a revoked session is revoked, others are not; the entry is the sid and its end', async () => {
    const list = open();
    const sid = newSid();
    assert.equal(await list.isRevoked(sid), false);
    const until = Date.now() + 10 * MINUTE;
    await list.revoke(sid, until);
    assert.equal(await list.isRevoked(sid), true);
    assert.equal(await list.isRevoked(newSid()), false);
    assert.equal(await ends(sid), until);
    // The set itself expires with its last entry.
    assert.ok(Number(await admin().sendCommand(['PEXPIRETIME', keys.set])) >= until);
  });

  test('an entry lives until the time given, then is gone', async () => {
    const list = open();
    const sid = newSid();
    await list.revoke(sid, Date.now() + 300);
    assert.equal(await list.isRevoked(sid), true);
    const left = (await ends(sid))! - Date.now();
    assert.ok(left > 0 && left <= 300, `ends in ${left} ms`);
    await eventually(async () => !(await list.isRevoked(sid)), 'the entry has expired');
    // The next revocation trims the entries that have ended.
    await list.revoke(newSid(), Date.now() + MINUTE);
    assert.equal(await ends(sid), null);
  });

  test('a later revocation extends the entry, an earlier one never shortens it', async () => {
    const list = open();
    const sid = newSid();
    const first = Date.now() + 10 * MINUTE;
    await list.revoke(sid, first);
    await list.revoke(sid, Date.now() + 1000);
    assert.equal(await ends(sid), first);
    const later = first + MINUTE;
    await list.revoke(sid, later + 0.4); // rounded up to a whole millisecond
    assert.equal(await ends(sid), later + 1);
    // An entry without an end (set by hand) is kept for ever.
    const forever = newSid();
    await admin().zAdd(keys.set, { score: Number.POSITIVE_INFINITY, value: forever });
    await list.revoke(forever, Date.now() + MINUTE);
    assert.equal(await ends(forever), Number.POSITIVE_INFINITY);
    assert.equal(await list.isRevoked(forever), true);
    await admin().zRem(keys.set, forever);
  });

  test('a time already past records nothing', async () => {
    const list = open();
    const sid = newSid();
    await list.revoke(sid, Date.now() - 1000);
    assert.equal(await ends(sid), null);
    assert.equal(await list.isRevoked(sid), false);
  });

  test('concurrent revocations and checks from three connections agree', async () => {
    const three = [open(), open(), open()];
    const revoked = Array.from({ length: 60 }, newSid);
    const untouched = Array.from({ length: 60 }, newSid);
    const until = Date.now() + 10 * MINUTE;
    await Promise.all([
      ...revoked.map(async (sid, i) => {
        await three[i % 3]!.revoke(sid, until);
        // Once revoke() has resolved, every connection sees it.
        const seen = await Promise.all(three.map((list) => list.isRevoked(sid)));
        assert.deepEqual(seen, [true, true, true], sid);
      }),
      ...untouched.map(async (sid, i) => {
        assert.equal(await three[i % 3]!.isRevoked(sid), false, sid);
      }),
    ]);
    // Racing revocations of one session with different ends: the latest end wins.
    const sid = newSid();
    const racing = Array.from({ length: 30 }, (_, i) => until + i * 1000);
    await Promise.all(racing.map((end, i) => three[i % 3]!.revoke(sid, end)));
    assert.equal(await ends(sid), racing.at(-1));
  });

  test('cacheMs: an answer is reused for that long; a local revocation is seen at once', async () => {
    let clock = Date.now();
    const cached = open({ cacheMs: 1000, now: () => clock });
    const other = open();
    const sid = newSid();
    assert.equal(await cached.isRevoked(sid), false);
    await other.revoke(sid, Date.now() + 10 * MINUTE);
    assert.equal(await cached.isRevoked(sid), false, 'the cached answer, up to cacheMs old');
    clock += 1001;
    assert.equal(await cached.isRevoked(sid), true);

    const mine = newSid();
    assert.equal(await cached.isRevoked(mine), false);
    await cached.revoke(mine, Date.now() + 10 * MINUTE);
    assert.equal(await cached.isRevoked(mine), true, 'seen at once');
    // Without a cache, every answer comes from Redis.
    const plain = open();
    const third = newSid();
    assert.equal(await plain.isRevoked(third), false);
    await other.revoke(third, Date.now() + 10 * MINUTE);
    assert.equal(await plain.isRevoked(third), true);
  });

  test('cacheMax bounds the cache: the oldest answer goes first', async () => {
    const clock = Date.now();
    const cached = open({ cacheMs: 60_000, cacheMax: 2, now: () => clock });
    const other = open();
    const [a, b, c] = [newSid(), newSid(), newSid()];
    for (const sid of [a, b, c]) assert.equal(await cached.isRevoked(sid), false);
    for (const sid of [a, b, c]) await other.revoke(sid, Date.now() + 10 * MINUTE);
    assert.equal(await cached.isRevoked(a), true, 'a was evicted, so Redis was asked');
    assert.equal(await cached.isRevoked(c), false, 'c is still cached');
  });

  test('a shared client: close() leaves it open', async () => {
    const client = connectRedis(REDIS_URL);
    try {
      const list = open({ url: undefined, client });
      const sid = newSid();
      await list.revoke(sid, Date.now() + MINUTE);
      await list.close();
      assert.notEqual(await client.sendCommand(['ZSCORE', keys.set, sid]), null);
    } finally {
      await closeClient(client);
    }
  });

  test('with the middleware: a revoked session is 401, an unknown list state 503', async () => {
    const secret = randomBytes(32).toString('base64url');
    const sign = createSigner({
      key: secret,
      algorithm: 'HS256',
      typ: 'at+jwt',
      audience: 'api',
      expiresIn: 900,
    });
    const list = open();
    const authenticator = createAuthenticator({
      key: secret,
      algorithms: ['HS256'],
      audience: 'api',
      isRevoked: checkSessions(list),
      onUnavailable: () => {},
    });
    const check = async (token: string) => {
      const outcome = await authenticator.authenticate({
        authorization: `Bearer ${token}`,
        cookie: undefined,
      });
      return outcome.ok ? 200 : outcome.failure.status;
    };
    const live = newSid();
    const ended = newSid();
    await list.revoke(ended, Date.now() + MINUTE);
    assert.equal(await check(sign({ sub: 'u1', sid: live })), 200);
    assert.equal(await check(sign({ sub: 'u1', sid: ended })), 401);
    // No usable sid: it cannot be checked, so it is refused as a token, not as an outage.
    assert.equal(await check(sign({ sub: 'u1' })), 401);
    assert.equal(await check(sign({ sub: 'u1', sid: 'a\nb' })), 401);
    assert.equal(await check(sign({ sub: 'u1', sid: 42 })), 401);

    const down = createRevocationList({
      url: `redis://127.0.0.1:${await freePort()}`,
      timeout: 250,
      onError: () => {},
    });
    lists.push(down);
    const unreachable = createAuthenticator({
      key: secret,
      algorithms: ['HS256'],
      audience: 'api',
      isRevoked: checkSessions(down),
      onUnavailable: () => {},
    });
    const outcome = await unreachable.authenticate({
      authorization: `Bearer ${sign({ sub: 'u1', sid: live })}`,
      cookie: undefined,
    });
    assert.equal(outcome.ok ? 200 : outcome.failure.status, 503, 'fails closed');
  });

  test('refuses bad session ids, times and options', async () => {
    const list = open();
    const bad: unknown[] = [
      '',
      'x'.repeat(257),
      'a\nb',
      'a\u0000',
      'a\u007f',
      'a\u0085',
      '\ud800',
      42,
      null,
      undefined,
      { toString: () => 'x' },
    ];
    for (const sid of bad) {
      assert.equal(isValidSid(sid), false, JSON.stringify(sid));
      await assert.rejects(list.isRevoked(sid as string), TypeError);
      await assert.rejects(list.revoke(sid as string, Date.now() + MINUTE), TypeError);
    }
    for (const sid of ['x'.repeat(256), 'Zm9v-_12', 'ünï côdé', '*?[]']) {
      assert.equal(isValidSid(sid), true, sid);
    }
    for (const until of [Number.NaN, Number.POSITIVE_INFINITY, '1', undefined]) {
      await assert.rejects(list.revoke(newSid(), until as number), TypeError);
    }
    assert.throws(() => createRevocationList({}), TypeError);
    assert.throws(() => createRevocationList({ url: 'localhost:6379' }), TypeError);
    assert.throws(() => createRevocationList({ url: REDIS_URL, cacheMs: -1 }), TypeError);
    // From plain JavaScript a misspelt option would silently keep its default.
    assert.throws(
      () => createRevocationList({ url: REDIS_URL, onUnavailabel: 'allow' } as never),
      /^TypeError: createRevocationList: unknown option "onUnavailabel"; did you mean "onUnavailable"\?$/,
    );
    assert.throws(
      () => createRevocationList({ url: REDIS_URL, onUnavailable: 'open' as 'allow' }),
      TypeError,
    );
  });
});

describeRedis('revocation list when Redis is not there', ({ prefix }) => {
  let url = '';
  const lists: RevocationList[] = [];
  before(async () => {
    url = `redis://127.0.0.1:${await freePort()}`;
  });
  after(async () => {
    await Promise.all(lists.map((list) => list.close()));
  });
  const open = (options: Partial<RevocationListOptions>) => {
    const list = createRevocationList({ url, prefix, timeout: 250, ...options });
    lists.push(list);
    return list;
  };

  test("'deny' (the default): isRevoked rejects with RevocationUnavailableError, quickly", async () => {
    const seen = reports();
    const list = open({ onError: seen.onError, onRecover: seen.onRecover });
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      await assert.rejects(list.isRevoked(newSid()), RevocationUnavailableError);
      assert.ok(Date.now() - started < 2000, 'bounded, not hanging');
    }
    await sleep(300);
    assert.equal(seen.errors.length, 1);
  });

  test("'allow': isRevoked answers false and the outage is reported once", async () => {
    const seen = reports();
    const list = open({ onUnavailable: 'allow', onError: seen.onError, onRecover: seen.onRecover });
    for (let i = 0; i < 3; i++) assert.equal(await list.isRevoked(newSid()), false);
    await sleep(300);
    assert.equal(seen.errors.length, 1);
  });

  test('revoke rejects with RevocationUnavailableError whatever the policy', async () => {
    for (const onUnavailable of ['deny', 'allow'] as const) {
      const list = open({ onUnavailable, onError: () => {} });
      const started = Date.now();
      await assert.rejects(
        list.revoke(newSid(), Date.now() + MINUTE),
        (error: unknown) =>
          error instanceof RevocationUnavailableError &&
          /revocation list is unavailable/.test(error.message),
      );
      assert.ok(Date.now() - started < 2000, 'bounded, not hanging');
    }
  });

  test('a cached answer is still used; a local revocation is seen even if Redis missed it', async () => {
    const list = open({ onUnavailable: 'allow', cacheMs: 60_000, onError: () => {} });
    const sid = newSid();
    await assert.rejects(list.revoke(sid, Date.now() + MINUTE), RevocationUnavailableError);
    assert.equal(await list.isRevoked(sid), true);
  });
});

describeRedis('revocation list with a Redis that stops answering', () => {
  let redis: TempRedis | undefined;
  const lists: RevocationList[] = [];
  before(async () => {
    redis = await tempRedis();
  });
  after(async () => {
    redis?.thaw();
    await Promise.all(lists.map((list) => list.close()));
    await redis?.stop();
  });
  const open = (options: Partial<RevocationListOptions>) => {
    if (!redis) throw new Error('no temporary redis-server');
    const list = createRevocationList({ url: redis.url, timeout: 250, ...options });
    lists.push(list);
    return list;
  };

  test("'deny' and 'allow' answer within the timeout, then recover", async () => {
    const temp = redis!;
    const denyReports = reports();
    const deny = open({ onError: denyReports.onError, onRecover: denyReports.onRecover });
    const allow = open({ onUnavailable: 'allow', onError: () => {}, onRecover: () => {} });
    const sid = newSid();
    // The short timeout is for the freeze below; a loaded machine may be slow to start with.
    await warm(() => deny.revoke(sid, Date.now() + MINUTE));
    await warm(async () => assert.equal(await allow.isRevoked(sid), true));
    const errors = denyReports.errors.length;
    const recoveries = denyReports.recoveries;

    temp.freeze();
    try {
      let started = Date.now();
      await assert.rejects(deny.isRevoked(sid), RevocationUnavailableError);
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
      started = Date.now();
      const answers = await Promise.allSettled(
        Array.from({ length: 20 }, () => deny.isRevoked(sid)),
      );
      assert.ok(answers.every((a) => a.status === 'rejected'));
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
      started = Date.now();
      assert.equal(await allow.isRevoked(sid), false, "'allow' accepts while it cannot know");
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
      started = Date.now();
      await assert.rejects(deny.revoke(newSid(), Date.now() + MINUTE), RevocationUnavailableError);
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
      assert.equal(denyReports.errors.length, errors + 1);
    } finally {
      temp.thaw();
    }
    await eventually(async () => {
      try {
        return await deny.isRevoked(sid);
      } catch {
        return false;
      }
    }, 'the list answers again');
    assert.equal(denyReports.recoveries, recoveries + 1);
    // Each list notices the recovery with its own probe, which runs in the background: 'allow'
    // answers false until then, and true once it has seen Redis again.
    await eventually(async () => await allow.isRevoked(sid), "'allow' checks Redis again");
    assert.equal(await allow.isRevoked(sid), true);
  });

  test('a Redis that restarts empty forgets revocations (no persistence here)', async () => {
    const temp = redis!;
    const list = open({ timeout: 5000, onError: () => {}, onRecover: () => {} });
    const sid = newSid();
    await list.revoke(sid, Date.now() + MINUTE);
    await temp.stop();
    await assert.rejects(list.isRevoked(sid), RevocationUnavailableError);
    await temp.start();
    await eventually(async () => {
      try {
        await list.isRevoked(sid);
        return true;
      } catch {
        return false;
      }
    }, 'the list answers again');
    assert.equal(await list.isRevoked(sid), false);
  });
});
