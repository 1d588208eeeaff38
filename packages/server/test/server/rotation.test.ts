// The whole life of a rotated-out key, on one clock shared by the auth server and a resource
// server on its JWKS: the old key keeps verifying its tokens until they expire, and leaves the
// JWKS (and the database) once no token it signed can still be live; a key withdrawn after a leak
// is refused, by a verify cache too, once the resource server's copy of the JWKS expires.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { decodeUnverified } from '../../../jwt/src/index.ts';
import { laissez } from '../../../middleware/src/express.ts';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

const T0 = Date.UTC(2027, 5, 1);
const SECOND = 1000;
const ACCESS_TTL = 900; // s
const PUBLISH_DELAY = 300; // s
let clock = T0;
const now = () => clock;

describe('a rotated-out key, from rotation to its last token', () => {
  let auth: Running;
  let api: { url: string; close(): Promise<void> };
  const user = { username: 'rhea', email: 'rhea@example.com', password: 'rhea password 1' };

  const logIn = async () => {
    const r = await call<{ access_token: string }>(auth.url, 'POST', '/auth/login', {
      body: { username: user.username, password: user.password },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.access_token;
  };
  const kidOf = (token: string) => decodeUnverified(token).header.kid!;
  const published = async () => {
    const r = await call<{ keys: Array<{ kid: string }> }>(
      auth.url,
      'GET',
      '/.well-known/jwks.json',
    );
    return r.body.keys.map((k) => k.kid).sort();
  };
  const notes = (token: string) => call(api.url, 'GET', '/notes', { token });
  let jwksFetches = 0;

  before(async () => {
    auth = await start({
      alg: 'EdDSA',
      now,
      accessTtl: ACCESS_TTL,
      keyPublishDelay: PUBLISH_DELAY,
      passwordParams: FAST_ARGON2,
    });
    const app = express();
    const check = {
      jwksUri: `${auth.url}/.well-known/jwks.json`,
      // No cache lifetime or cool-down to wait for: each step reads the set as it is now.
      jwksOptions: { now, cooldown: 0, minAge: 0 },
      algorithms: ['EdDSA' as const],
      issuer: 'http://localhost:3000',
      now,
    };
    const owner = (req: express.Request, res: express.Response) => {
      res.json({ owner: req.auth!.subject });
    };
    app.get('/notes', laissez(check), owner);
    // The same check with the verify cache.
    app.get('/cached', laissez({ ...check, cache: true }), owner);
    // The JWKS client's defaults (30 s cool-down, the auth server's Cache-Control), counting its
    // requests.
    app.get(
      '/defaults',
      laissez({
        ...check,
        jwksOptions: {
          now,
          fetch: (url, init) => {
            jwksFetches++;
            return fetch(url, init);
          },
        },
      }),
      owner,
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    api = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
    assert.equal((await call(auth.url, 'POST', '/auth/register', { body: user })).status, 201);
  });
  after(async () => {
    await api?.close();
    await auth?.close();
  });

  test('published first, then signing; the old key verifies until its tokens expire, then leaves', async () => {
    const ring = auth.app.auth.keyRing;
    const old = await logIn();
    const k1 = kidOf(old);
    assert.equal((await notes(old)).status, 200);

    // Rotation: the new key is published at once, and the old one still signs.
    const { kid: k2 } = await ring.rotate();
    assert.deepEqual(await published(), [k1, k2].sort());
    assert.equal(kidOf(await logIn()), k1);

    // The publish delay passes: the new key signs, and both keys' tokens pass.
    clock = T0 + PUBLISH_DELAY * SECOND;
    const lastOld = old; // signed at T0: the old key's tokens are all signed before the switch
    const fresh = await logIn();
    assert.equal(kidOf(fresh), k2);
    assert.equal((await notes(fresh)).status, 200);
    assert.equal((await notes(lastOld)).status, 200);

    // The old key's tokens expire on their own exp, while the key is still published.
    clock = T0 + ACCESS_TTL * SECOND;
    const expired = await notes(lastOld);
    assert.equal(expired.status, 401);
    assert.equal(expired.body.error_description, 'the access token has expired');
    await ring.reload();
    assert.deepEqual(await published(), [k1, k2].sort());

    // A token the old key signed just before the switch lives until switch + TTL; the key stays
    // a minute past that, then a reload deletes it and it leaves the JWKS.
    const retiresAt = T0 + (PUBLISH_DELAY + ACCESS_TTL) * SECOND + 60 * SECOND;
    clock = retiresAt - 1;
    await ring.reload();
    assert.deepEqual(await published(), [k1, k2].sort());
    clock = retiresAt;
    await ring.reload();
    assert.deepEqual(await published(), [k2]);
    // The new key's token (still live) passes; the old key is unknown now.
    assert.equal((await notes(fresh)).status, 401, 'fresh expired meanwhile too');
    const again = await logIn();
    assert.equal(kidOf(again), k2);
    assert.equal((await notes(again)).status, 200);
  });

  test('withdrawn after a leak: refused, cached or not, once the JWKS copy expires', async () => {
    const ring = auth.app.auth.keyRing;
    const stolen = await logIn();
    const k1 = kidOf(stolen);
    const cached = (token: string) => call(api.url, 'GET', '/cached', { token });
    assert.equal((await cached(stolen)).status, 200);
    assert.equal((await cached(stolen)).status, 200, 'a cache hit');

    const rotated = await ring.rotate({ immediate: true });
    await ring.withdrawBefore(rotated);
    const k2 = rotated.kid;
    assert.notEqual(k2, k1);
    assert.deepEqual(await published(), [k2]);
    assert.equal(kidOf(await logIn()), k2, 'the new key signs at once');
    // The auth server itself refuses the withdrawn key's token at once.
    assert.equal((await call(auth.url, 'GET', '/auth/me', { token: stolen })).status, 401);
    // The resource server's copy of the JWKS is still fresh: it knows no better yet.
    const jwks = await call(auth.url, 'GET', '/.well-known/jwks.json');
    const maxAge = Number(/max-age=(\d+)/.exec(jwks.headers.get('cache-control') ?? '')?.[1]);
    assert.ok(maxAge > 0 && maxAge <= 300, `max-age ${maxAge}`);
    assert.equal((await cached(stolen)).status, 200);
    // Once it expires, the set is fetched again and the token is refused, the cached one too.
    clock += maxAge * SECOND;
    for (const check of [cached, notes]) {
      const refused = await check(stolen);
      assert.equal(refused.status, 401, JSON.stringify(refused.body));
      assert.match(
        String(refused.body.error_description),
        /signed by a key this service does not know/,
      );
    }
    const fresh = await logIn();
    assert.equal((await cached(fresh)).status, 200);
    assert.equal((await notes(fresh)).status, 200);
  });

  test('--immediate just after a resource server fetched the JWKS: the new key verifies at once', async () => {
    const ring = auth.app.auth.keyRing;
    const defaults = (token: string) => call(api.url, 'GET', '/defaults', { token });
    const before = await logIn();
    assert.equal((await defaults(before)).status, 200);
    assert.equal(jwksFetches, 1);

    // A second later the issuer rotates at once. The resource server's copy is fresh for minutes
    // and its last fetch is well inside the 30 s cool-down, but that fetch was not for an unknown
    // kid: the first token naming the new key fetches the set again and passes.
    clock += SECOND;
    const { kid } = await ring.rotate({ immediate: true });
    const after = await logIn();
    assert.equal(kidOf(after), kid);
    const first = await defaults(after);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(jwksFetches, 2);

    // That fetch was the unknown kids' one for this cool-down: a forged kid costs no request.
    const [header, payload] = after.split('.');
    const forgedHeader = Buffer.from(
      JSON.stringify({ ...decodeUnverified(after).header, kid: 'forged-kid' }),
    ).toString('base64url');
    assert.notEqual(forgedHeader, header);
    clock += SECOND;
    const forged = await defaults(`${forgedHeader}.${payload}.${'A'.repeat(86)}`);
    assert.equal(forged.status, 401);
    assert.equal(jwksFetches, 2);
    assert.equal((await defaults(after)).status, 200);
    assert.equal(jwksFetches, 2);
  });
});
