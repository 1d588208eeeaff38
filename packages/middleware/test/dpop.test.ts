// DPoP in the middleware (RFC 9449 §7), over real HTTP on loopback, the same cases for Fastify,
// Express and Hono: a good proof, a replayed one, one for another URL or method, an old one, one
// for another token, a token bound to another key, a bound token sent as Bearer, both modes, and
// the challenges. The service sits "behind a proxy": clients call https://api.example, the server
// listens on 127.0.0.1, and `publicUrl` says so.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createProofSigner, createSigner } from '../../jwt/src/index.ts';
import type { AuthOptions } from '../src/authenticator.ts';
import { laissez as expressAuth } from '../src/express.ts';
import { laissez as fastifyAuth } from '../src/fastify.ts';
import { laissez as honoAuth, type LaissezEnv } from '../src/hono.ts';

const SECRET = 'resource-server-test-secret-0123456789';
const PUBLIC = 'https://api.example';
const clientKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const client = createProofSigner({ key: clientKey, algorithm: 'ES256' });
/** The client's own key, with a clock two minutes behind: its proofs are too old. */
const late = createProofSigner({
  key: clientKey,
  algorithm: 'ES256',
  now: () => Date.now() - 120_000,
});
const thief = createProofSigner({
  key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  algorithm: 'ES256',
});
const sign = createSigner({ key: SECRET, algorithm: 'HS256', typ: 'at+jwt', expiresIn: 900 });
const bound = sign({ sub: 'u1', cnf: { jkt: client.jkt } });
const boundToThief = sign({ sub: 'u1', cnf: { jkt: thief.jkt } });
const plain = sign({ sub: 'u1' });

const base = { key: SECRET, algorithms: ['HS256' as const] };

interface Server {
  url: string;
  close(): Promise<void>;
}

async function fastifyServer(opts: AuthOptions): Promise<Server> {
  const app = Fastify();
  await app.register(fastifyAuth, opts);
  app.get('/me', { onRequest: app.authenticate }, async (r) => ({ sub: r.auth!.subject }));
  app.post('/me', { onRequest: app.authenticate }, async (r) => ({ sub: r.auth!.subject }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
}

async function expressServer(opts: AuthOptions): Promise<Server> {
  const app = express();
  const auth = expressAuth(opts);
  app.get('/me', auth, (req, res) => {
    res.json({ sub: req.auth!.subject });
  });
  app.post('/me', auth, (req, res) => {
    res.json({ sub: req.auth!.subject });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function honoServer(opts: AuthOptions): Promise<Server> {
  const app = new Hono<LaissezEnv>();
  const auth = honoAuth(opts);
  app.get('/me', auth, (c) => c.json({ sub: c.get('auth').subject }));
  app.post('/me', auth, (c) => c.json({ sub: c.get('auth').subject }));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const adapters = { fastify: fastifyServer, express: expressServer, hono: honoServer };

async function call(server: Server, headers: Record<string, string>, method = 'GET', path = '/me') {
  const response = await fetch(`${server.url}${path}`, { method, headers });
  const body = (await response.json()) as { error?: string; error_description?: string };
  return { status: response.status, body, challenge: response.headers.get('www-authenticate') };
}

const dpopHeaders = (token: string, proof: string) => ({
  authorization: `DPoP ${token}`,
  dpop: proof,
});

for (const [name, make] of Object.entries(adapters)) {
  describe(`${name}: dpop 'required'`, () => {
    let server: Server;
    before(async () => {
      server = await make({ ...base, dpop: 'required', publicUrl: PUBLIC });
    });
    after(() => server.close());

    test('a bound token with a good proof passes; the same proof again is a replay', async () => {
      const proof = client({ method: 'GET', url: `${PUBLIC}/me?x=1`, accessToken: bound });
      const ok = await call(server, dpopHeaders(bound, proof), 'GET', '/me?x=1');
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, { sub: 'u1' });
      const again = await call(server, dpopHeaders(bound, proof), 'GET', '/me?x=1');
      assert.equal(again.status, 401);
      assert.equal(again.body.error, 'invalid_dpop_proof');
      assert.match(
        again.challenge!,
        /^DPoP error="invalid_dpop_proof", error_description="[^"]*used before[^"]*", algs="ES256 EdDSA Ed25519"$/,
      );
    });

    test('a proof for another URL, another method, another token, or too old is refused', async () => {
      const cases = [
        client({ method: 'GET', url: `${PUBLIC}/other`, accessToken: bound }),
        client({ method: 'GET', url: `http://127.0.0.1/me`, accessToken: bound }),
        client({ method: 'POST', url: `${PUBLIC}/me`, accessToken: bound }),
        client({ method: 'GET', url: `${PUBLIC}/me`, accessToken: plain }),
        client({ method: 'GET', url: `${PUBLIC}/me` }),
        late({ method: 'GET', url: `${PUBLIC}/me`, accessToken: bound }),
      ];
      for (const proof of cases) {
        const r = await call(server, dpopHeaders(bound, proof));
        assert.equal(r.status, 401);
        assert.equal(r.body.error, 'invalid_dpop_proof', r.body.error_description);
      }
    });

    test('a token bound to another key is refused, even with a good proof by the sender', async () => {
      const proof = client({ method: 'GET', url: `${PUBLIC}/me`, accessToken: boundToThief });
      const r = await call(server, dpopHeaders(boundToThief, proof));
      assert.equal(r.status, 401);
      assert.equal(r.body.error, 'invalid_token');
      assert.match(r.body.error_description!, /bound to another key/);
    });

    test('a bound token as Bearer, a plain Bearer token, DPoP without a proof, DPoP with an unbound token', async () => {
      const asBearer = await call(server, { authorization: `Bearer ${bound}` });
      assert.equal(asBearer.status, 401);
      assert.match(asBearer.challenge!, /^DPoP error="invalid_token"/);
      const plainBearer = await call(server, { authorization: `Bearer ${plain}` });
      assert.equal(plainBearer.status, 401);
      assert.match(plainBearer.body.error_description!, /needs DPoP/);
      const noProof = await call(server, { authorization: `DPoP ${bound}` });
      assert.equal(noProof.body.error, 'invalid_dpop_proof');
      const twoProofs = await call(server, {
        authorization: `DPoP ${bound}`,
        dpop: `${client({ method: 'GET', url: `${PUBLIC}/me`, accessToken: bound })}, ${client({ method: 'GET', url: `${PUBLIC}/me`, accessToken: bound })}`,
      });
      assert.equal(twoProofs.body.error, 'invalid_dpop_proof');
      const unbound = await call(
        server,
        dpopHeaders(plain, client({ method: 'GET', url: `${PUBLIC}/me`, accessToken: plain })),
      );
      assert.equal(unbound.status, 401);
      assert.equal(unbound.body.error, 'invalid_token');
    });

    test('no credentials: the bare DPoP challenge with algs (RFC 9449 §7.1)', async () => {
      const r = await call(server, {});
      assert.equal(r.status, 401);
      assert.equal(r.challenge, 'DPoP algs="ES256 EdDSA Ed25519"');
      const bad = await call(server, { authorization: 'DPoP not a token' });
      assert.equal(bad.status, 400);
    });

    test('POST with a POST proof passes', async () => {
      const proof = client({ method: 'POST', url: `${PUBLIC}/me`, accessToken: bound });
      assert.equal((await call(server, dpopHeaders(bound, proof), 'POST')).status, 200);
    });
  });

  describe(`${name}: dpop 'allowed' and off`, () => {
    let allowed: Server;
    let off: Server;
    before(async () => {
      allowed = await make({ ...base, dpop: 'allowed', publicUrl: PUBLIC });
      off = await make(base);
    });
    after(async () => {
      await allowed.close();
      await off.close();
    });

    test('allowed: Bearer and DPoP both pass; a bound token as Bearer does not', async () => {
      assert.equal((await call(allowed, { authorization: `Bearer ${plain}` })).status, 200);
      const proof = client({ method: 'GET', url: `${PUBLIC}/me`, accessToken: bound });
      assert.equal((await call(allowed, dpopHeaders(bound, proof))).status, 200);
      const asBearer = await call(allowed, { authorization: `Bearer ${bound}` });
      assert.equal(asBearer.status, 401);
      assert.equal(asBearer.body.error, 'invalid_token');
      const none = await call(allowed, {});
      assert.equal(none.challenge, 'Bearer, DPoP algs="ES256 EdDSA Ed25519"');
    });

    test('off: a bound token as Bearer is refused; DPoP is not a scheme it takes', async () => {
      const asBearer = await call(off, { authorization: `Bearer ${bound}` });
      assert.equal(asBearer.status, 401);
      assert.match(asBearer.body.error_description!, /bound to a key/);
      assert.equal((await call(off, { authorization: `Bearer ${plain}` })).status, 200);
      const proof = client({ method: 'GET', url: `${PUBLIC}/me`, accessToken: bound });
      assert.equal((await call(off, dpopHeaders(bound, proof))).status, 400);
    });
  });
}

describe('options', () => {
  test('dpop needs publicUrl; publicUrl and dpopOptions need dpop; names are checked', () => {
    assert.throws(() => expressAuth({ ...base, dpop: 'required' }), /publicUrl/);
    assert.throws(() => expressAuth({ ...base, publicUrl: PUBLIC }), /only apply with dpop/);
    assert.throws(
      () => expressAuth({ ...base, dpop: 'yes' as never, publicUrl: PUBLIC }),
      /'required' or 'allowed'/,
    );
    assert.throws(
      () => expressAuth({ ...base, dpop: 'allowed', publicUrl: `${PUBLIC}/?q` }),
      /without/,
    );
    assert.throws(
      () =>
        expressAuth({
          ...base,
          dpop: 'allowed',
          publicUrl: PUBLIC,
          dpopOptions: { maxAgee: 3 } as never,
        }),
      /did you mean "maxAge"/,
    );
  });

  test('a replay cache that cannot answer fails closed: 503, never a pass', async () => {
    for (const make of Object.values(adapters)) {
      const server = await make({
        ...base,
        dpop: 'required',
        publicUrl: PUBLIC,
        onUnavailable: () => {},
        dpopOptions: {
          replayCache: {
            firstUse: () => Promise.reject(new Error('down')),
          },
        },
      });
      try {
        const proof = client({ method: 'GET', url: `${PUBLIC}/me`, accessToken: bound });
        const r = await call(server, dpopHeaders(bound, proof));
        assert.equal(r.status, 503);
        assert.equal(r.body.error, 'temporarily_unavailable');
      } finally {
        await server.close();
      }
    }
  });
});
