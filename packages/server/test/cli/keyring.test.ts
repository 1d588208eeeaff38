// `laissez keys list` and `laissez keys rotate` run as processes against the database of a live
// auth server: the server picks the new key up without a restart, publishes it before it signs,
// and keeps verifying the tokens of the key it replaced.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeUnverified } from '../../../jwt/src/index.ts';
import { laissez } from '../helpers/processes.ts';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

interface ListedKey {
  kid: string;
  alg: string;
  state: 'signing' | 'published' | 'retiring';
  createdAt: string;
  activatesAt: string;
  retiresAt: string | null;
}

/** Polls until `check` returns a value, for at most `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const ACCESS_TTL = 600;
const USER = { username: 'rotor', email: 'rotor@example.com', password: 'rotor password 1' };

describe('keys list and keys rotate on a running server', () => {
  let server: Running;
  // A fresh access token: a log-in the first time, then refreshes (log-ins are rate-limited).
  let refreshToken: string | undefined;
  const login = async () => {
    const r = await call<{ access_token: string; refresh_token: string }>(
      server.url,
      'POST',
      refreshToken ? '/auth/refresh' : '/auth/login',
      {
        body: refreshToken
          ? { refresh_token: refreshToken }
          : { username: USER.username, password: USER.password },
      },
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    refreshToken = r.body.refresh_token;
    return r.body.access_token;
  };
  const kidOf = (token: string) => decodeUnverified(token).header.kid as string;
  const jwksKids = async () => {
    const r = await call<{ keys: Array<{ kid: string; d?: string }> }>(
      server.url,
      'GET',
      '/.well-known/jwks.json',
    );
    assert.ok(
      r.body.keys.every((k) => k.d === undefined),
      'public keys only',
    );
    return { kids: r.body.keys.map((k) => k.kid), cacheControl: r.headers.get('cache-control') };
  };
  const list = async () => {
    const r = await laissez(['keys', 'list', '--data-dir', server.dataDir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /"d"|"k"|private/, 'no key material');
    return JSON.parse(r.stdout) as ListedKey[];
  };

  before(async () => {
    server = await start({
      alg: 'ES256',
      accessTtl: ACCESS_TTL,
      keyPublishDelay: 4,
      keyReloadInterval: 200,
      passwordParams: FAST_ARGON2,
    });
    const r = await call(server.url, 'POST', '/auth/register', { body: USER });
    assert.equal(r.status, 201);
  });
  after(() => server.close());

  test('a rotated-in key is published first, signs after the delay, and the old one keeps verifying', async () => {
    const first = await login();
    const k1 = kidOf(first);
    const before = await list();
    assert.deepEqual(
      before.map((k) => [k.kid, k.alg, k.state]),
      [[k1, 'ES256', 'signing']],
    );
    // The JWKS may be cached no longer than a new key is published before it signs, less one
    // reload (a copy taken just before this instance loads a new key): 4 s - 0.2 s, whole seconds.
    assert.equal((await jwksKids()).cacheControl, 'public, max-age=3');

    const rotated = await laissez([
      'keys',
      'rotate',
      '--data-dir',
      server.dataDir,
      '--key-publish-delay',
      '4s',
      '--access-ttl',
      `${ACCESS_TTL}s`,
      '--json',
    ]);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.doesNotMatch(rotated.stdout, /"d"|"k"|private/);
    const { rotated: k2 } = JSON.parse(rotated.stdout) as { rotated: ListedKey };
    assert.equal(k2.state, 'published');
    assert.equal(k2.alg, 'ES256');
    const activatesAt = Date.parse(k2.activatesAt);
    assert.equal(activatesAt - Date.parse(k2.createdAt), 4000);

    // The running server loads it without a restart and publishes it next to the old key.
    await until('the new key in the JWKS', async () => {
      const { kids } = await jwksKids();
      return kids.includes(k2.kid) && kids.includes(k1) ? true : undefined;
    });

    // Every token signed before activatesAt carries the old kid; after it, the new one.
    const fresh = await until('a token signed by the new key', async () => {
      const token = await login();
      const { kid } = decodeUnverified(token).header;
      const signedAt = (decodeUnverified(token).payload.iat as number) * 1000;
      if (signedAt + 1000 <= activatesAt) assert.equal(kid, k1, 'no new key before its time');
      if (signedAt >= activatesAt + 1000) assert.equal(kid, k2.kid, 'the new key after its time');
      return kid === k2.kid ? token : undefined;
    });

    for (const token of [first, fresh]) {
      const me = await call(server.url, 'GET', '/auth/me', { token });
      assert.equal(me.status, 200, JSON.stringify(me.body));
    }
    const after = await list();
    const byKid = new Map(after.map((k) => [k.kid, k]));
    assert.equal(byKid.get(k2.kid)?.state, 'signing');
    assert.equal(byKid.get(k1)?.state, 'retiring');
    // The old key goes only once every token it may have signed has expired (+ 60 s leeway).
    assert.equal(Date.parse(byKid.get(k1)!.retiresAt!), activatesAt + ACCESS_TTL * 1000 + 60_000);
  });

  test('--immediate signs at once; the human output says what happened', async () => {
    const r = await laissez(['keys', 'rotate', '--data-dir', server.dataDir, '--immediate']);
    assert.equal(r.code, 0, r.stderr);
    const kid = /^new ES256 key (\S+): published and signing now$/m.exec(r.stdout)?.[1];
    assert.ok(kid, r.stdout);
    assert.match(r.stdout, /stays in the JWKS and verifies until \d{4}-/);
    assert.doesNotMatch(r.stdout, /withdrawn/, 'only --withdraw withdraws');
    await until('a token signed by the immediate key', async () =>
      kidOf(await login()) === kid ? true : undefined,
    );
    const keys = await list();
    assert.equal(keys.filter((k) => k.state === 'signing').length, 1);
    assert.equal(keys.find((k) => k.state === 'signing')?.kid, kid);
  });

  test('keys list prints a table without key material', async () => {
    const r = await laissez(['keys', 'list', '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const [header, ...rows] = r.stdout.trim().split('\n');
    assert.match(header!, /^KID\s+ALG\s+STATE\s+WHEN$/);
    assert.ok(
      rows.some((row) => /\sES256\s+signing\s+since \d{4}-/.test(row)),
      r.stdout,
    );
    assert.ok(
      rows.some((row) => /\sretiring\s+verifies until \d{4}-/.test(row)),
      r.stdout,
    );
  });

  test('--withdraw removes every other key at once: their tokens are refused, refresh still works', async () => {
    const oldToken = await login();
    const oldKid = kidOf(oldToken);
    const keysBefore = await list();
    assert.ok(keysBefore.length >= 2, 'a signing key and at least one retiring key');
    const r = await laissez([
      'keys',
      'rotate',
      '--data-dir',
      server.dataDir,
      '--withdraw',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /"d"|"k"|private/);
    const out = JSON.parse(r.stdout) as {
      rotated: ListedKey;
      keys: ListedKey[];
      withdrawn: string[];
    };
    assert.equal(out.rotated.state, 'signing', '--withdraw implies --immediate');
    // Every earlier key goes, the retiring ones too: only the new key is left.
    assert.deepEqual(out.withdrawn.sort(), keysBefore.map((k) => k.kid).sort());
    assert.deepEqual(
      out.keys.map((k) => k.kid),
      [out.rotated.kid],
    );
    // The running server reloads: the JWKS holds only the new key, the old token is refused.
    await until('the JWKS without the withdrawn keys', async () => {
      const { kids } = await jwksKids();
      return kids.length === 1 && kids[0] === out.rotated.kid ? true : undefined;
    });
    const refused = await call<{ error: string }>(server.url, 'GET', '/auth/me', {
      token: oldToken,
    });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, 'invalid_token');
    // The refresh token is not a signed JWT of the ring: it still gets a token of the new key.
    const fresh = await login();
    assert.notEqual(kidOf(fresh), oldKid);
    assert.equal(kidOf(fresh), out.rotated.kid);
    const me = await call(server.url, 'GET', '/auth/me', { token: fresh });
    assert.equal(me.status, 200);

    const human = await laissez(['keys', 'rotate', '--data-dir', server.dataDir, '--withdraw']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^new ES256 key \S+: published and signing now$/m);
    assert.match(
      human.stdout,
      new RegExp(`^key ${out.rotated.kid} withdrawn: its tokens are refused`, 'm'),
    );
    assert.doesNotMatch(human.stdout, /stays in the JWKS/);
  });
});

describe('keys rotate --withdraw with a new algorithm', () => {
  test('the key of the new --alg is the only one left', async () => {
    const server = await start({ alg: 'ES256', passwordParams: FAST_ARGON2 });
    try {
      // Two keys first: one signing, one retiring.
      const first = await laissez(['keys', 'rotate', '--data-dir', server.dataDir, '--immediate']);
      assert.equal(first.code, 0, first.stderr);
      const r = await laissez([
        'keys',
        'rotate',
        '--data-dir',
        server.dataDir,
        '--alg',
        'EdDSA',
        '--withdraw',
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as {
        rotated: ListedKey;
        keys: ListedKey[];
        withdrawn: string[];
      };
      assert.equal(out.rotated.alg, 'EdDSA');
      assert.equal(out.rotated.state, 'signing');
      assert.equal(out.withdrawn.length, 2);
      assert.deepEqual(
        out.keys.map((k) => [k.kid, k.alg, k.state]),
        [[out.rotated.kid, 'EdDSA', 'signing']],
      );
    } finally {
      await server.close();
    }
  });
});

describe('keys rotate --withdraw with a rotation still pending', () => {
  test('exactly one key is left: the emergency key, not the published one that would sign later', async () => {
    const server = await start({ alg: 'ES256', passwordParams: FAST_ARGON2 });
    try {
      const first = await laissez(['keys', 'rotate', '--data-dir', server.dataDir, '--json']);
      assert.equal(first.code, 0, first.stderr);
      const { rotated: pending } = JSON.parse(first.stdout) as { rotated: ListedKey };
      assert.equal(pending.state, 'published', 'rotated in, signing after the publish delay');

      const r = await laissez([
        'keys',
        'rotate',
        '--data-dir',
        server.dataDir,
        '--withdraw',
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as {
        rotated: ListedKey;
        keys: ListedKey[];
        withdrawn: string[];
      };
      assert.ok(out.withdrawn.includes(pending.kid), 'the pending key is withdrawn too');
      assert.deepEqual(
        out.keys.map((k) => [k.kid, k.state]),
        [[out.rotated.kid, 'signing']],
      );
      const listed = await laissez(['keys', 'list', '--data-dir', server.dataDir, '--json']);
      assert.deepEqual(
        (JSON.parse(listed.stdout) as ListedKey[]).map((k) => k.kid),
        [out.rotated.kid],
      );
    } finally {
      await server.close();
    }
  });
});

describe('keys list and rotate: usage errors', () => {
  let empty: string;
  before(async () => {
    empty = await mkdtemp(join(tmpdir(), 'laissez-keys-'));
  });
  after(() => rm(empty, { recursive: true, force: true }));

  test('no database in the data directory: exit 2, nothing created', async () => {
    for (const command of ['list', 'rotate']) {
      const r = await laissez(['keys', command, '--data-dir', empty]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /no laissez database at .*laissez\.db: start the server once/);
    }
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual(await readdir(empty), []);
  });

  test('a bad --alg or duration is a usage error', async () => {
    const server = await start({ passwordParams: FAST_ARGON2 });
    try {
      const alg = await laissez(['keys', 'rotate', '--data-dir', server.dataDir, '--alg', 'none']);
      assert.equal(alg.code, 2);
      assert.match(alg.stderr, /--alg must be one of HS256, EdDSA, ES256, RS256/);
      const ttl = await laissez([
        'keys',
        'rotate',
        '--data-dir',
        server.dataDir,
        '--access-ttl',
        'soon',
      ]);
      assert.equal(ttl.code, 2);
      assert.match(ttl.stderr, /--access-ttl must be/);
    } finally {
      await server.close();
    }
  });
});
