// The remote JWKS client against real HTTP servers on loopback ports; the clock is injected.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import {
  type Algorithm,
  createJwks,
  createRemoteJwks,
  createSigner,
  createVerifier,
  generateKey,
  type Jwk,
  JwtError,
  type JwtErrorCode,
  type RemoteJwksOptions,
} from '../src/index.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Fake {
  url: string;
  /** Requests received so far. */
  hits: number;
  lastHeaders: IncomingMessage['headers'] | undefined;
  handler: Handler;
  /** Serves a JSON body with an optional Cache-Control and Age. */
  serve(body: unknown, cacheControl?: string, age?: string): void;
}

const servers: Server[] = [];
after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function fakeServer(): Promise<Fake> {
  const fake: Fake = {
    url: '',
    hits: 0,
    lastHeaders: undefined,
    handler: (_req, res) => res.writeHead(404).end(),
    serve(body, cacheControl, age) {
      const text = JSON.stringify(body);
      fake.handler = (_req, res) => {
        res.writeHead(200, {
          'content-type': 'application/json',
          ...(cacheControl === undefined ? {} : { 'cache-control': cacheControl }),
          ...(age === undefined ? {} : { age }),
        });
        res.end(text);
      };
    },
  };
  const server = createServer((req, res) => {
    fake.hits++;
    fake.lastHeaders = req.headers;
    fake.handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  return fake;
}

const T0 = 1_800_000_000_000;
const clock = () => {
  const c = { t: T0, now: () => c.t };
  return c;
};

async function codeOf(promise: Promise<unknown>): Promise<JwtErrorCode | 'none'> {
  try {
    await promise;
    return 'none';
  } catch (error) {
    assert.ok(error instanceof JwtError, String(error));
    return error.code;
  }
}

async function errorOf(promise: Promise<unknown>): Promise<JwtError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof JwtError, String(error));
    return error;
  }
  assert.fail('expected a JwtError');
}

function keyPair(alg: Algorithm, kid: string) {
  const { privateJwk, publicJwk } = generateKey(alg, { kid });
  const sign = createSigner({ key: privateJwk, algorithm: alg, kid, expiresIn: '1h' });
  return { privateJwk, publicJwk: publicJwk!, sign, token: sign({ sub: kid }) };
}

const es = keyPair('ES256', 'es-1');
const ed = keyPair('EdDSA', 'ed-1');
const rs = keyPair('RS256', 'rs-1');
const es2 = keyPair('ES256', 'es-2');
const ALGS: Algorithm[] = ['ES256', 'EdDSA', 'RS256', 'PS256'];

function setup(fake: Fake, c = clock(), options: RemoteJwksOptions = {}) {
  const jwks = createRemoteJwks(fake.url, { now: c.now, ...options });
  const verify = createVerifier({ key: jwks, algorithms: ALGS, now: c.now });
  return { jwks, verify, c };
}

// Tokens signed now must verify at the injected clock too: sign at the injected time.
const signAt = (alg: Algorithm, privateJwk: Jwk, kid: string | undefined, now: () => number) =>
  createSigner({
    key: privateJwk,
    algorithm: alg,
    ...(kid === undefined ? {} : { kid }),
    expiresIn: '30d',
    now,
  })({ sub: 'user' });

describe('fetching', () => {
  test('the first fetch is lazy, and ES256, EdDSA and RS256 tokens verify', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [es.publicJwk, ed.publicJwk, rs.publicJwk] });
    const jwks = createRemoteJwks(fake.url);
    const verify = createVerifier({ key: jwks, algorithms: ALGS });
    assert.equal(fake.hits, 0);
    assert.deepEqual(jwks.keys(), []);
    for (const pair of [es, ed, rs]) {
      const { payload, header } = await verify(pair.token);
      assert.equal(payload.sub, header.kid);
    }
    assert.equal(fake.hits, 1);
    assert.equal(jwks.keys().length, 3);
    assert.equal(fake.lastHeaders?.accept, 'application/jwk-set+json, application/json');
  });

  test('concurrent callers share one fetch', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [es.publicJwk] });
    const { verify, c } = setup(fake);
    const token = signAt('ES256', es.privateJwk, 'es-1', c.now);
    const tokens = Array.from({ length: 20 }, () => token);
    const results = await Promise.all(tokens.map((t) => verify(t)));
    assert.equal(results.length, 20);
    assert.equal(fake.hits, 1);
  });

  test('the same JWK object is returned while the set is unchanged, also across refetches', async () => {
    const fake = await fakeServer();
    fake.serve(createJwks([{ key: es.publicJwk, kid: 'es-1', alg: 'ES256' }]));
    const { jwks } = setup(fake);
    const first = await jwks({ alg: 'ES256', kid: 'es-1' });
    const second = await jwks({ alg: 'ES256', kid: 'es-1' });
    assert.equal(first, second);
    await jwks.refresh();
    assert.equal(fake.hits, 2);
    assert.equal(await jwks({ alg: 'ES256', kid: 'es-1' }), first);
    assert.ok(Object.isFrozen(first));
    assert.ok(Object.isFrozen(jwks.keys()));
    assert.equal(jwks.keys()[0], first);
  });

  test('extra headers are sent, and a fetch wrapper is used', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [es.publicJwk] });
    let calls = 0;
    const jwks = createRemoteJwks(fake.url, {
      headers: { 'x-tenant': 'acme' },
      fetch: (url, init) => {
        calls++;
        return fetch(url, init);
      },
    });
    await jwks.refresh();
    assert.equal(calls, 1);
    assert.equal(fake.lastHeaders?.['x-tenant'], 'acme');
  });
});

describe('caching', () => {
  const cases: Array<[string | undefined, number, string, string?]> = [
    ['max-age=120', 120_000, 'max-age'],
    ['public, max-age="300", must-revalidate', 300_000, 'quoted max-age among directives'],
    ['max-age=1', 30_000, 'clamped up to minAge'],
    ['max-age=9999999', 24 * 3600_000, 'clamped down to maxAge'],
    ['no-store', 30_000, 'no-store is minAge'],
    ['no-cache, max-age=600', 30_000, 'no-cache wins over max-age'],
    [undefined, 600_000, 'no Cache-Control: 10 minutes'],
    ['max-age=abc', 600_000, 'an unusable max-age counts as absent'],
    // RFC 9111 §4.2.3: a copy that sat in a CDN for Age seconds has that much less to live.
    ['max-age=600', 120_000, 'Age is taken off max-age', '480'],
    ['max-age=600', 30_000, 'an Age past max-age leaves minAge', '900'],
    ['max-age=600', 600_000, 'an unusable Age counts as absent', 'soon'],
    // §5.2.2.4: a no-cache naming header fields only restricts those fields.
    ['no-cache="set-cookie", max-age=600', 600_000, 'a qualified no-cache keeps max-age'],
    ['private="authorization", max-age=300', 300_000, 'a qualified private keeps max-age'],
  ];
  for (const [cacheControl, lifetime, name, age] of cases) {
    test(`${name} (${String(cacheControl)}${age ? `, Age ${age}` : ''}) → kept ${lifetime} ms`, async () => {
      const fake = await fakeServer();
      fake.serve({ keys: [es.publicJwk] }, cacheControl, age);
      const { jwks, c } = setup(fake);
      await jwks({ alg: 'ES256', kid: 'es-1' });
      c.t = T0 + lifetime - 1;
      await jwks({ alg: 'ES256', kid: 'es-1' });
      assert.equal(fake.hits, 1);
      c.t = T0 + lifetime;
      await jwks({ alg: 'ES256', kid: 'es-1' });
      assert.equal(fake.hits, 2);
    });
  }

  test('minAge and maxAge options move the clamp', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [es.publicJwk] }, 'max-age=3600');
    const { jwks, c } = setup(fake, clock(), { minAge: 0, maxAge: 5000 });
    await jwks.refresh();
    c.t = T0 + 5000;
    await jwks({ alg: 'ES256', kid: 'es-1' });
    assert.equal(fake.hits, 2);
  });

  test('rotation: a key added just after a fetch verifies its first token (one refetch)', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [es.publicJwk] }, 'max-age=3600');
    const c = clock();
    const { verify } = setup(fake, c);
    const oldToken = signAt('ES256', es.privateJwk, 'es-1', c.now);
    const newToken = signAt('ES256', es2.privateJwk, 'es-2', c.now);
    await verify(oldToken);
    // The issuer rotates at once (`keys rotate --immediate`) a second after that fetch: the set
    // fetched then is not a reason to refuse the new key for a whole cool-down.
    fake.serve({ keys: [es2.publicJwk] }, 'max-age=3600');
    c.t = T0 + 1000;
    await verify(newToken);
    assert.equal(fake.hits, 2);
    // The old key is gone from the set, and that refetch was the kids' one for this cool-down.
    assert.equal(await codeOf(verify(oldToken)), 'ERR_KEY_NOT_FOUND');
    assert.equal(fake.hits, 2);
  });

  test('unknown kids: fetches on expiry do not count toward the cool-down, their own do', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [es.publicJwk] }, 'max-age=60');
    const c = clock();
    const { verify } = setup(fake, c);
    const known = signAt('ES256', es.privateJwk, 'es-1', c.now);
    const forged = signAt('ES256', es2.privateJwk, 'forged', c.now);
    await verify(known);
    assert.equal(await codeOf(verify(forged)), 'ERR_KEY_NOT_FOUND');
    assert.equal(fake.hits, 2, 'the first unknown kid refetches');
    // The set expires (60 s) and is fetched for a known token; a new key added right after that
    // is fetched for, since the kids' last fetch was more than a cool-down ago.
    c.t = T0 + 60_000;
    await verify(known);
    assert.equal(fake.hits, 3);
    fake.serve({ keys: [es.publicJwk, es2.publicJwk] }, 'max-age=60');
    c.t = T0 + 61_000;
    const added = signAt('ES256', es2.privateJwk, 'es-2', c.now);
    await verify(added);
    assert.equal(fake.hits, 4);
    // Within the cool-down of that kid fetch, forged kids cost nothing.
    for (const at of [61_001, 75_000, 90_999]) {
      c.t = T0 + at;
      assert.equal(await codeOf(verify(forged)), 'ERR_KEY_NOT_FOUND');
    }
    assert.equal(fake.hits, 4);
    c.t = T0 + 91_000;
    assert.equal(await codeOf(verify(forged)), 'ERR_KEY_NOT_FOUND');
    assert.equal(fake.hits, 5);
  });

  test('an unknown kid does not refetch while a failed fetch is within its cool-down', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [es.publicJwk] }, 'max-age=60');
    const c = clock();
    const { verify } = setup(fake, c);
    const known = signAt('ES256', es.privateJwk, 'es-1', c.now);
    await verify(known);
    fake.handler = (_req, res) => res.writeHead(500).end();
    // The set expires; this call's fetch fails (the old keys stay), and its unknown kid must not
    // send a second request at once: the issuer is failing.
    c.t = T0 + 60_000;
    const fresh = signAt('ES256', es2.privateJwk, 'es-2', c.now);
    assert.equal(await codeOf(verify(fresh)), 'ERR_JWKS_UNAVAILABLE');
    assert.equal(fake.hits, 2);
    c.t = T0 + 60_000 + 29_999;
    assert.equal(await codeOf(verify(fresh)), 'ERR_JWKS_UNAVAILABLE');
    assert.equal(fake.hits, 2);
    await verify(known); // stale if error
    fake.serve({ keys: [es.publicJwk, es2.publicJwk] }, 'max-age=60');
    c.t = T0 + 60_000 + 30_000;
    await verify(fresh);
    assert.equal(fake.hits, 3);
  });

  test('an unknown kid that joins a fetch under way does not spend the cool-down', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [es.publicJwk] }, 'max-age=3600');
    const c = clock();
    const { verify, jwks } = setup(fake, c);
    await verify(signAt('ES256', es.privateJwk, 'es-1', c.now));
    const forged = signAt('ES256', es2.privateJwk, 'forged', c.now);
    // A refresh() is under way when the forged kid comes: it waits for that fetch, which is not
    // one that an unknown kid started.
    const refreshing = jwks.refresh();
    assert.equal(await codeOf(verify(forged)), 'ERR_KEY_NOT_FOUND');
    await refreshing;
    assert.equal(fake.hits, 2);
    c.t = T0 + 1000;
    assert.equal(await codeOf(verify(forged)), 'ERR_KEY_NOT_FOUND');
    assert.equal(fake.hits, 3, 'the kids have a fetch of their own');
    c.t = T0 + 2000;
    assert.equal(await codeOf(verify(forged)), 'ERR_KEY_NOT_FOUND');
    assert.equal(fake.hits, 3);
  });

  test('an unknown kid in the call that fetched the set does not fetch it again', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [es.publicJwk] }, 'max-age=60');
    const c = clock();
    const { verify } = setup(fake, c);
    const forged = signAt('ES256', es2.privateJwk, 'forged', c.now);
    // The first token of a fresh resource server, and the first after the set expired.
    assert.equal(await codeOf(verify(forged)), 'ERR_KEY_NOT_FOUND');
    assert.equal(fake.hits, 1);
    c.t = T0 + 60_000;
    assert.equal(await codeOf(verify(forged)), 'ERR_KEY_NOT_FOUND');
    assert.equal(fake.hits, 2);
  });

  test('with the verify cache, a key withdrawn from the set fails its cached tokens at once', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [es.publicJwk, ed.publicJwk] }, 'max-age=3600');
    const c = clock();
    const jwks = createRemoteJwks(fake.url, { now: c.now });
    const verify = createVerifier({ key: jwks, algorithms: ALGS, now: c.now, cache: true });
    const withdrawn = signAt('ES256', es.privateJwk, 'es-1', c.now);
    const kept = signAt('EdDSA', ed.privateJwk, 'ed-1', c.now);
    const first = await verify(withdrawn);
    const keptFirst = await verify(kept);
    // Hits: the very same frozen results while the set still holds both keys, across a refetch
    // that changes nothing.
    assert.equal(await verify(withdrawn), first);
    await jwks.refresh();
    assert.equal(await verify(withdrawn), first);
    assert.equal(await verify(kept), keptFirst);

    fake.serve({ keys: [ed.publicJwk] }, 'max-age=3600');
    await jwks.refresh();
    const error = await errorOf(verify(withdrawn));
    assert.equal(error.code, 'ERR_KEY_NOT_FOUND');
    assert.match(error.message, /kid "es-1"/);
    // The other key's cached token is still a hit.
    assert.equal(await verify(kept), keptFirst);
    // Put back, the key verifies its token again (a fresh result: the old one is not trusted).
    fake.serve({ keys: [es.publicJwk, ed.publicJwk] }, 'max-age=3600');
    await jwks.refresh();
    const again = await verify(withdrawn);
    assert.deepEqual(again, first);
  });

  test('with the verify cache, a resolver that stops returning a key fails its cached tokens', async () => {
    let current: Jwk | undefined = es.publicJwk;
    let calls = 0;
    const verify = createVerifier({
      key: () => {
        calls++;
        return current as Jwk; // undefined at the end: a resolver that finds no key
      },
      algorithms: ['ES256'],
      cache: true,
    });
    const first = await verify(es.token);
    assert.equal(await verify(es.token), first);
    assert.equal(calls, 2, 'a hit asks the resolver again');
    current = es2.publicJwk; // another key for the same kid: the cached result no longer counts
    assert.equal(await codeOf(verify(es.token)), 'ERR_JWS_SIGNATURE_INVALID');
    assert.equal(calls, 3, 'a stale hit asks the resolver once, not again for the full check');
    current = undefined;
    assert.equal(await codeOf(verify(es.token)), 'ERR_KEY_NOT_FOUND');
  });
});

describe('unknown kid', () => {
  test('20 concurrent tokens with an unknown kid cause exactly one refetch per cool-down', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [es.publicJwk] }, 'max-age=3600');
    const c = clock();
    const { verify } = setup(fake, c);
    await verify(signAt('ES256', es.privateJwk, 'es-1', c.now));
    assert.equal(fake.hits, 1);
    c.t = T0 + 31_000;
    const forged = signAt('ES256', es2.privateJwk, 'nope', c.now);
    const codes = await Promise.all(Array.from({ length: 20 }, () => codeOf(verify(forged))));
    assert.deepEqual(new Set(codes), new Set(['ERR_KEY_NOT_FOUND']));
    assert.equal(fake.hits, 2);
    // Inside the cool-down: no more requests, the same answer.
    c.t = T0 + 31_000 + 29_999;
    assert.equal(await codeOf(verify(forged)), 'ERR_KEY_NOT_FOUND');
    assert.equal(fake.hits, 2);
    c.t = T0 + 31_000 + 30_000;
    const error = await errorOf(verify(forged));
    assert.equal(error.code, 'ERR_KEY_NOT_FOUND');
    assert.match(error.message, /kid "nope"/);
    assert.equal(fake.hits, 3);
  });

  test('a token without kid resolves only when exactly one key fits its alg', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [es.publicJwk, ed.publicJwk, rs.publicJwk] });
    const c = clock();
    const { verify } = setup(fake, c);
    await verify(signAt('EdDSA', ed.privateJwk, undefined, c.now));
    await verify(signAt('RS256', rs.privateJwk, undefined, c.now));

    const two = await fakeServer();
    two.serve({ keys: [es.publicJwk, es2.publicJwk] });
    const other = setup(two, c);
    const error = await errorOf(other.verify(signAt('ES256', es.privateJwk, undefined, c.now)));
    assert.equal(error.code, 'ERR_KEY_NOT_FOUND');
    assert.match(error.message, /no kid/);
    assert.match(error.message, /2 keys/);
    assert.equal(two.hits, 1);
  });

  test("alg fit: a JWK bound to RS256 does not verify the token's PS256", async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [rs.publicJwk] }); // alg RS256
    const c = clock();
    const { verify } = setup(fake, c);
    const unbound: Jwk = { ...rs.privateJwk };
    delete unbound.alg;
    const ps = signAt('PS256', unbound, 'rs-1', c.now);
    const error = await errorOf(verify(ps));
    assert.equal(error.code, 'ERR_KEY_ALG_MISMATCH');
    assert.match(error.message, /RS256/);
    // Without a kid, the only RSA key does not fit PS256 either.
    assert.equal(
      await codeOf(verify(signAt('PS256', unbound, undefined, c.now))),
      'ERR_KEY_NOT_FOUND',
    );
    // The right alg still verifies.
    await verify(signAt('RS256', rs.privateJwk, 'rs-1', c.now));
  });

  test('kty and crv must fit: an EdDSA token naming an EC key is refused', async () => {
    const fake = await fakeServer();
    const ecUnbound: Jwk = { ...es.publicJwk };
    delete ecUnbound.alg;
    fake.serve({ keys: [ecUnbound] });
    const c = clock();
    const { verify } = setup(fake, c);
    const error = await errorOf(verify(signAt('EdDSA', ed.privateJwk, 'es-1', c.now)));
    assert.equal(error.code, 'ERR_KEY_ALG_MISMATCH');
    assert.match(error.message, /EC P-256/);
  });

  test('jku, x5u and jwk headers are never followed or used', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [es.publicJwk] });
    const attacker = await fakeServer();
    const evil = keyPair('ES256', 'evil');
    attacker.serve({ keys: [evil.publicJwk] });
    const c = clock();
    const { verify } = setup(fake, c);
    const header = { jku: attacker.url, x5u: attacker.url, jwk: evil.publicJwk };
    const honest = createSigner({
      key: es.privateJwk,
      algorithm: 'ES256',
      kid: 'es-1',
      header,
      expiresIn: '1h',
      now: c.now,
    })({});
    assert.equal((await verify(honest)).header.jku, attacker.url);
    const forged = createSigner({
      key: evil.privateJwk,
      algorithm: 'ES256',
      kid: 'evil',
      header,
      expiresIn: '1h',
      now: c.now,
    })({});
    assert.equal(await codeOf(verify(forged)), 'ERR_KEY_NOT_FOUND');
    const forgedSameKid = createSigner({
      key: evil.privateJwk,
      algorithm: 'ES256',
      kid: 'es-1',
      header,
      expiresIn: '1h',
      now: c.now,
    })({});
    assert.equal(await codeOf(verify(forgedSameKid)), 'ERR_JWS_SIGNATURE_INVALID');
    assert.equal(attacker.hits, 0);
  });
});

describe('failures', () => {
  test('stale-if-error: after expiry a 500 keeps the old keys, retried once per cool-down', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [es.publicJwk] }, 'max-age=60');
    const c = clock();
    const { verify, jwks } = setup(fake, c);
    const token = signAt('ES256', es.privateJwk, 'es-1', c.now);
    await verify(token);
    fake.handler = (_req, res) => res.writeHead(500).end('internal secret detail');
    c.t = T0 + 60_000;
    await verify(token);
    assert.equal(fake.hits, 2);
    await verify(token); // within the cool-down: no request
    assert.equal(fake.hits, 2);
    c.t = T0 + 60_000 + 30_000;
    await verify(token);
    assert.equal(fake.hits, 3);
    // refresh() reports the failure and keeps the keys.
    const error = await errorOf(jwks.refresh());
    assert.match(error.message, /HTTP 500/);
    assert.equal(jwks.keys().length, 1);
    fake.serve({ keys: [es.publicJwk] }, 'max-age=60');
    c.t = T0 + 60_000 + 60_000;
    await verify(token);
    assert.equal(fake.hits, 5);
  });

  test('a failing first fetch is an error, remembered for the cool-down; refresh() retries', async () => {
    const fake = await fakeServer();
    fake.handler = (_req, res) => res.writeHead(503).end('<html>internal secret detail</html>');
    const c = clock();
    const { verify, jwks } = setup(fake, c);
    const token = signAt('ES256', es.privateJwk, 'es-1', c.now);
    const error = await errorOf(verify(token));
    assert.equal(error.code, 'ERR_JWKS_UNAVAILABLE');
    assert.match(error.message, /HTTP 503/);
    assert.ok(error.message.includes(fake.url));
    assert.doesNotMatch(error.message, /secret detail/);
    assert.equal(await codeOf(verify(token)), 'ERR_JWKS_UNAVAILABLE');
    assert.equal(fake.hits, 1);
    fake.serve({ keys: [es.publicJwk] });
    await jwks.refresh();
    assert.equal(fake.hits, 2);
    await verify(token);
  });

  test('an unknown kid whose refetch fails is unavailable, not a bad token; known kids still verify', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [es.publicJwk] }, 'max-age=600');
    const c = clock();
    const { verify } = setup(fake, c);
    const old = signAt('ES256', es.privateJwk, 'es-1', c.now);
    await verify(old);
    fake.handler = (_req, res) => res.writeHead(502).end();
    c.t += 60_000; // past the cool-down
    const fresh = signAt('ES256', es2.privateJwk, 'es-2', c.now);
    const error = await errorOf(verify(fresh));
    assert.equal(error.code, 'ERR_JWKS_UNAVAILABLE');
    assert.match(error.message, /HTTP 502/);
    await verify(old);
  });

  test('a server that never answers fails within the timeout', async () => {
    const fake = await fakeServer();
    fake.handler = () => {}; // holds the request open
    const { jwks } = setup(fake, clock(), { timeout: 200 });
    const started = performance.now();
    const error = await errorOf(jwks({ alg: 'ES256', kid: 'es-1' }));
    const elapsed = performance.now() - started;
    assert.equal(error.code, 'ERR_JWKS_UNAVAILABLE');
    assert.match(error.message, /200 ms/);
    assert.ok(elapsed >= 150 && elapsed < 2000, `took ${elapsed} ms`);
  });

  test('a body that stalls after the headers also times out', async () => {
    const fake = await fakeServer();
    fake.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":[');
    };
    const { jwks } = setup(fake, clock(), { timeout: 200 });
    const error = await errorOf(jwks({ alg: 'ES256', kid: 'es-1' }));
    assert.equal(error.code, 'ERR_JWKS_UNAVAILABLE');
    assert.match(error.message, /200 ms/);
  });

  test('a streamed 1 MiB body is cut off at maxBytes', async () => {
    const fake = await fakeServer();
    let written = 0;
    fake.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = () => {
        while (written < 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => {});
      pump();
    };
    const { jwks } = setup(fake);
    const error = await errorOf(jwks({ alg: 'ES256', kid: 'es-1' }));
    assert.equal(error.code, 'ERR_JWKS_UNAVAILABLE');
    assert.match(error.message, /maxBytes \(65536 bytes\)/);
  });

  test('a Content-Length over maxBytes is refused before reading', async () => {
    const fake = await fakeServer();
    fake.handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '200000' });
      res.on('error', () => {});
      res.end(Buffer.alloc(200_000, 0x20));
    };
    const { jwks } = setup(fake, clock(), { maxBytes: 1000 });
    assert.equal(await codeOf(jwks({ alg: 'ES256', kid: 'es-1' })), 'ERR_JWKS_UNAVAILABLE');
  });

  test('non-JSON and non-JWKS bodies are errors that never quote the body', async () => {
    const fake = await fakeServer();
    const bodies = [
      '<html>secret detail</html>',
      '"secret detail"',
      '{"secret":"detail"}',
      '[{"kty":"EC"}]',
      '{"keys":{"secret":"detail"}}',
      '\xff\xfe',
    ];
    for (const body of bodies) {
      fake.handler = (_req, res) => res.writeHead(200).end(Buffer.from(body, 'latin1'));
      const { jwks } = setup(fake);
      const error = await errorOf(jwks({ alg: 'ES256', kid: 'es-1' }));
      assert.equal(error.code, 'ERR_JWKS_UNAVAILABLE', body);
      assert.doesNotMatch(error.message, /secret|detail/);
      assert.match(error.message, /not valid JSON|not a JWK Set/);
    }
  });

  test('a connection refused is ERR_JWKS_UNAVAILABLE naming the URL', async () => {
    const fake = await fakeServer();
    const url = fake.url;
    const server = servers.pop()!;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await errorOf(createRemoteJwks(url).refresh());
    assert.equal(error.code, 'ERR_JWKS_UNAVAILABLE');
    assert.match(error.message, /ECONNREFUSED/);
    assert.ok(error.message.includes(url));
  });
});

describe('what a set may hold', () => {
  test('private keys are skipped; a set of only private keys is refused', async () => {
    const fake = await fakeServer();
    const hmac = generateKey('HS256', { kid: 'hs' }).privateJwk;
    fake.serve({ keys: [es.privateJwk, hmac, ed.publicJwk] });
    const c = clock();
    const { verify, jwks } = setup(fake, c);
    await verify(signAt('EdDSA', ed.privateJwk, 'ed-1', c.now));
    assert.deepEqual(
      jwks.keys().map((k) => k.kid),
      ['ed-1'],
    );
    const error = await errorOf(verify(signAt('ES256', es.privateJwk, 'es-1', c.now)));
    assert.equal(error.code, 'ERR_KEY_NOT_FOUND');
    assert.match(error.message, /private members/);

    const only = await fakeServer();
    only.serve({ keys: [es.privateJwk, rs.privateJwk] });
    const other = setup(only, c);
    const refused = await errorOf(other.verify(signAt('ES256', es.privateJwk, 'es-1', c.now)));
    assert.equal(refused.code, 'ERR_KEY_INVALID');
    assert.match(refused.message, /2 keys skipped for holding private members/);
    assert.deepEqual(other.jwks.keys(), []);
  });

  test('unsupported kty, encryption keys and junk entries are skipped, not fatal', async () => {
    const fake = await fakeServer();
    fake.serve({
      keys: [
        { kty: 'X448', x: 'abc' },
        { kty: 'OKP', crv: 'X25519', x: '3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08' },
        { ...es2.publicJwk, use: 'enc' },
        { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' },
        null,
        'text',
        es.publicJwk,
      ],
    });
    const c = clock();
    const { verify, jwks } = setup(fake, c);
    await verify(signAt('ES256', es.privateJwk, 'es-1', c.now));
    assert.equal(jwks.keys().length, 1);
  });

  test('an empty set is refused at lookup', async () => {
    const fake = await fakeServer();
    fake.serve({ keys: [] });
    const { jwks } = setup(fake);
    const error = await errorOf(jwks({ alg: 'ES256', kid: 'es-1' }));
    assert.equal(error.code, 'ERR_KEY_INVALID');
    assert.match(error.message, /empty/);
  });
});

describe('options', () => {
  test('plain http is refused except to loopback hosts or with allowHttp', () => {
    assert.throws(() => createRemoteJwks('http://example.com/jwks'), TypeError);
    assert.throws(() => createRemoteJwks('http://10.0.0.1/jwks'), /plain http/);
    assert.throws(() => createRemoteJwks(new URL('http://127.0.0.2/jwks')), TypeError);
    for (const url of ['http://127.0.0.1/j', 'http://[::1]:8080/j', 'http://localhost/j']) {
      createRemoteJwks(url);
    }
    createRemoteJwks('http://example.com/jwks', { allowHttp: true });
    createRemoteJwks('https://example.com/jwks');
    createRemoteJwks(new URL('https://example.com/jwks'));
  });

  test('bad URLs and options are TypeErrors at creation', () => {
    const bad: Array<[string | URL, RemoteJwksOptions | undefined]> = [
      ['not a url', undefined],
      ['ftp://example.com/jwks', undefined],
      ['file:///etc/jwks.json', undefined],
      ['https://user:pass@example.com/jwks', undefined],
      ['https://example.com/jwks', { timeout: 0 }],
      ['https://example.com/jwks', { timeout: Number.NaN }],
      ['https://example.com/jwks', { timeout: '5s' as unknown as number }],
      ['https://example.com/jwks', { maxBytes: 0 }],
      ['https://example.com/jwks', { cooldown: -1 }],
      ['https://example.com/jwks', { minAge: 1.5 }],
      ['https://example.com/jwks', { minAge: 10, maxAge: 5 }],
      ['https://example.com/jwks', { fetch: 'fetch' as unknown as RemoteJwksOptions['fetch'] }],
      ['https://example.com/jwks', { headers: { 'bad header': 'x' } }],
      ['https://example.com/jwks', { headers: { x: 1 as unknown as string } }],
      ['https://example.com/jwks', { now: 5 as unknown as () => number }],
      ['https://example.com/jwks', { allowHttp: 'yes' as unknown as boolean }],
    ];
    for (const [url, options] of bad) {
      assert.throws(
        () => createRemoteJwks(url, options),
        TypeError,
        `${url} ${JSON.stringify(options)}`,
      );
    }
  });

  test('the URL in messages leaves out the query string', async () => {
    const fake = await fakeServer();
    fake.handler = (_req, res) => res.writeHead(404).end();
    const error = await errorOf(createRemoteJwks(`${fake.url}?token=hunter2`).refresh());
    assert.match(error.message, /HTTP 404/);
    assert.doesNotMatch(error.message, /hunter2/);
  });
});
