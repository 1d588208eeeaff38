// laissez/client's DPoP (RFC 9449) and step-up (RFC 9470) in Chromium, with the client as the auth
// server serves it to pages. Every proof the browser sends is checked here, in Node, by laissez's
// own server-side verifier (createProofVerifier): for the method, the URL without its query, the
// token it came with. A few test routes on the real auth server play what a resource server does:
// ask for a nonce, answer the step-up challenge once. The auth server binds the session to the
// client's key (token_type DPoP), so its tokens go as `Authorization: DPoP`; one route under /t/
// also answers a log-in as another binding server might (a nonce asked with 400 first).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { calculateThumbprint, createProofVerifier, JwtError } from '../../jwt/src/index.ts';
import { createAuthServer } from '../../server/src/server/index.ts';
import { call, FAST_ARGON2 } from '../../server/test/helpers/server.ts';
import { launch, skipBrowser } from '../../server/test/web/browser.ts';
import { createClient } from '../src/index.ts';

interface Seen {
  method: string;
  path: string;
  dpop: string | undefined;
  authorization: string | undefined;
}

type ClientModule = typeof import('../src/index.ts');
const CLIENT = '/assets/client/index.js';
const password = 'a long enough password';

test('outside a browser (no IndexedDB) the key is made in memory, one per server', async () => {
  assert.equal(typeof (globalThis as { indexedDB?: unknown }).indexedDB, 'undefined');
  const a = createClient({ baseUrl: 'http://127.0.0.1:1/', dpop: true });
  const b = createClient({ baseUrl: 'http://127.0.0.1:1/', dpop: true });
  const other = createClient({ baseUrl: 'http://127.0.0.1:2/', dpop: true });
  const key = await a.dpopKey();
  assert.equal(key?.storage, 'memory');
  assert.match(key?.jkt ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(await b.dpopKey(), key, 'the clients of one page share it');
  assert.notEqual((await other.dpopKey())?.jkt, key?.jkt);
  assert.equal(await createClient({ baseUrl: 'http://127.0.0.1:1/' }).dpopKey(), null);
  assert.throws(
    () => createClient({ baseUrl: 'http://127.0.0.1:1/', dpop: 'yes' } as never),
    /^TypeError: createClient: dpop must be true or false$/,
  );
  assert.throws(
    () => createClient({ baseUrl: 'http://127.0.0.1:1/', onStepUp: true } as never),
    /^TypeError: createClient: onStepUp must be a function$/,
  );
});

describe('laissez/client with dpop and onStepUp, in Chromium', { skip: skipBrowser }, () => {
  let app: FastifyInstance;
  /** Where the server listens (Node's requests go there). */
  let url: string;
  /**
   * Where the page sees it: the server's public URL (its issuer), which the auth server checks
   * proofs' htu against (RFC 9449 §4.3 step 9; never the Host header). The browser's requests to
   * it are sent on to `url` (Playwright routing), so the page, its proofs and the server agree.
   */
  const site = 'http://localhost:3000';
  let dir: string;
  let browser: Browser;
  let context: BrowserContext;
  const seen: Seen[] = [];
  const verifyProof = createProofVerifier();
  /** The nonces the /test/nonce route hands out, in order. */
  let nonces = 0;
  /** The /test/nonce route refuses every proof, with a new nonce each time. */
  let neverAccept = false;
  /** The token the /test/step-up route refuses: the first one it sees (or all, `refuseAll`). */
  let weakToken: string | undefined;
  let refuseAll = false;
  let users = 0;

  const tokenOf = (authorization: string | undefined) => authorization?.replace(/^\S+ /, '');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'laissez-dpop-client-'));
    app = await createAuthServer({
      issuer: site,
      dataDir: dir,
      logger: false,
      accessTtl: 60,
      passwordParams: FAST_ARGON2,
    });
    app.addHook('onRequest', async (request) => {
      if (request.url.startsWith('/assets/')) return;
      seen.push({
        method: request.method,
        path: request.url,
        dpop: request.headers.dpop as string | undefined,
        authorization: request.headers.authorization,
      });
    });
    app.get('/test/echo', async () => ({ ok: true }));
    app.post('/test/echo', async () => ({ ok: true }));
    // A resource server requiring nonces (RFC 9449 §9): the current one, else 401 with a new one.
    app.post('/test/nonce', async (request, reply) => {
      const current = `nonce-${nonces}`;
      try {
        verifyProof(String(request.headers.dpop), {
          method: 'POST',
          url: `${site}/test/nonce`,
          accessToken: tokenOf(request.headers.authorization)!,
          nonce: neverAccept ? () => false : current,
        });
      } catch (error) {
        if (!(error instanceof JwtError) || error.code !== 'ERR_DPOP_NONCE_REQUIRED') throw error;
        nonces++;
        return reply
          .code(401)
          .header('www-authenticate', 'DPoP error="use_dpop_nonce", algs="ES256"')
          .header('dpop-nonce', `nonce-${nonces}`)
          .send({ error: 'use_dpop_nonce', error_description: 'use the DPoP-Nonce' });
      }
      return reply.header('dpop-nonce', `nonce-${nonces}`).send({ ok: true });
    });
    // The step-up challenge as laissez's middleware answers it (require({ amr, maxAge })).
    app.get('/test/step-up', async (request, reply) => {
      const token = tokenOf(request.headers.authorization);
      weakToken ??= token;
      if (refuseAll || token === weakToken) {
        return reply
          .code(401)
          .header(
            'www-authenticate',
            'Bearer error="insufficient_user_authentication", error_description="this needs a log-in with \\"mfa\\"", acr_values="mfa hwk", max_age="600"',
          )
          .send({ error: 'insufficient_user_authentication', error_description: 'mfa' });
      }
      return { ok: true };
    });
    // A log-in as a binding auth server answers it (RFC 9449 §5, §8): a nonce first, then a token
    // of type DPoP for the proof's key.
    app.post('/t/auth/login', async (request, reply) => {
      try {
        const { jkt } = verifyProof(String(request.headers.dpop), {
          method: 'POST',
          url: `${site}/t/auth/login`,
          nonce: 'login-nonce',
        });
        return { access_token: `bound.${jkt}`, token_type: 'DPoP', expires_in: 60 };
      } catch (error) {
        if (!(error instanceof JwtError) || error.code !== 'ERR_DPOP_NONCE_REQUIRED') throw error;
        return reply
          .code(400)
          .header('dpop-nonce', 'login-nonce')
          .send({ error: 'use_dpop_nonce', error_description: 'use the DPoP-Nonce' });
      }
    });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launch();
    context = await toSite(await browser.newContext());
    context.setDefaultTimeout(60_000);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A browser context whose requests to `site` reach the server at `url`. */
  async function toSite(on: BrowserContext): Promise<BrowserContext> {
    await on.route(`${site}/**`, async (route) => {
      const target = `${url}${route.request().url().slice(site.length)}`;
      try {
        await route.fulfill({ response: await route.fetch({ url: target, maxRedirects: 0 }) });
      } catch {
        // The page, or its request, went away while the server was answering (a test closed its
        // page, or the context closes at the end): nobody waits for this answer. Throwing here
        // would only be an unhandled rejection; a request a test needs fails its own assertions.
        await route.abort().catch(() => {});
      }
    });
    return on;
  }

  async function newUser(): Promise<string> {
    const username = `dpop${++users}`;
    const r = await call(url, 'POST', '/auth/register', {
      body: { username, email: `${username}@example.com`, password },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return username;
  }

  async function openPage(on: BrowserContext = context): Promise<Page> {
    const page = await on.newPage();
    await page.goto(`${site}/`);
    return page;
  }

  /** The key record as IndexedDB holds it, looked at from the page. */
  function inspectKey(page: Page, server: string) {
    return page.evaluate(async (server) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open('laissez-dpop');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const record = await new Promise<{ privateKey: CryptoKey; jwk: JsonWebKey } | undefined>(
        (resolve) => {
          const get = db.transaction('keys').objectStore('keys').get(server);
          get.onsuccess = () => resolve(get.result);
        },
      );
      db.close();
      if (record === undefined) return undefined;
      let exported = 'exported';
      try {
        await crypto.subtle.exportKey('jwk', record.privateKey);
      } catch (error) {
        exported = (error as DOMException).name;
      }
      const { privateKey } = record;
      return {
        jwk: record.jwk,
        type: privateKey.type,
        extractable: privateKey.extractable,
        usages: privateKey.usages,
        exported,
      };
    }, server);
  }

  const keyOf = (page: Page, baseUrl?: string) =>
    page.evaluate(
      async ({ module, baseUrl }) => {
        const { createClient } = (await import(module)) as ClientModule;
        return createClient({
          dpop: true,
          autoRefresh: false,
          ...(baseUrl ? { baseUrl } : {}),
        }).dpopKey();
      },
      { module: CLIENT, baseUrl },
    );

  test('the key is non-extractable, kept in IndexedDB per server, and the same after a reload', async () => {
    const page = await openPage();
    const key = await keyOf(page);
    assert.equal(key?.storage, 'indexeddb');
    const stored = await inspectKey(page, `${site}/`);
    assert.ok(stored, 'kept under the server URL');
    assert.equal(stored.type, 'private');
    assert.equal(stored.extractable, false);
    assert.deepEqual(stored.usages, ['sign']);
    assert.equal(stored.exported, 'InvalidAccessError', 'the browser refuses to export it');
    assert.deepEqual(Object.keys(stored.jwk).sort(), ['crv', 'kty', 'x', 'y'], 'no private member');
    assert.equal(key?.jkt, calculateThumbprint(stored.jwk as never));
    // The demo page shows the thumbprint of the key it signs with.
    await page.waitForSelector('html[data-ready="true"]');
    assert.equal(await page.locator('#dpop-jkt').textContent(), key?.jkt);
    assert.equal(await page.locator('#dpop').getAttribute('hidden'), null, 'shown once signed in');

    await page.reload();
    assert.deepEqual(await keyOf(page), key, 'the same key after a reload');
    const second = await openPage();
    assert.deepEqual(await keyOf(second), key, 'and in another tab');
    assert.notEqual(
      (await keyOf(page, `${site}/t/`))?.jkt,
      key?.jkt,
      'another server: another key',
    );

    const stranger = await toSite(await browser.newContext());
    try {
      assert.notEqual((await keyOf(await openPage(stranger)))?.jkt, key?.jkt, 'another browser');
    } finally {
      await stranger.close();
    }
    // Junk another script wrote under the key is replaced, never used.
    await page.evaluate(async (server) => {
      const db = await new Promise<IDBDatabase>((resolve) => {
        const open = indexedDB.open('laissez-dpop');
        open.onsuccess = () => resolve(open.result);
      });
      await new Promise((resolve) => {
        const put = db.transaction('keys', 'readwrite').objectStore('keys').put({ jwk: 1 }, server);
        put.onsuccess = resolve;
      });
      db.close();
    }, `${site}/`);
    const replaced = await keyOf(page);
    assert.equal(replaced?.storage, 'indexeddb');
    assert.notEqual(replaced?.jkt, key?.jkt);
    assert.equal((await inspectKey(page, `${site}/`))?.extractable, false);
  });

  test('a proof per request, each accepted by createProofVerifier for its method, URL and token', async () => {
    const username = await newUser();
    const page = await openPage();
    const from = seen.length;
    const jkt = await page.evaluate(
      async ({ module, username, password }) => {
        const { createClient } = (await import(module)) as ClientModule;
        const auth = createClient({ dpop: true, autoRefresh: false });
        await auth.login({ username, password });
        await auth.fetch('/test/echo?page=2#top');
        await auth.fetch('/test/echo?page=3');
        await auth.fetch('/test/echo', { method: 'POST', body: '{"a":1}' });
        await auth.refresh();
        await auth.me();
        return (await auth.dpopKey())?.jkt;
      },
      { module: CLIENT, username, password },
    );
    const requests = seen.slice(from).filter((s) => s.path !== '/');
    assert.deepEqual(
      requests.map((s) => `${s.method} ${s.path}`),
      [
        'POST /auth/login',
        'GET /test/echo?page=2',
        'GET /test/echo?page=3',
        'POST /test/echo',
        'POST /auth/refresh',
        'GET /auth/me',
      ],
    );
    const jtis = new Set<string>();
    for (const s of requests) {
      assert.ok(s.dpop, `${s.method} ${s.path} carries a proof`);
      const token = tokenOf(s.authorization);
      const proof = verifyProof(s.dpop, {
        method: s.method,
        url: `${site}${s.path}`,
        ...(token !== undefined ? { accessToken: token } : {}),
      });
      assert.equal(proof.jkt, jkt, 'signed by the client key');
      assert.equal(proof.payload['htu'], `${site}${s.path.replace(/\?.*$/, '')}`, 'no query');
      assert.equal(proof.header['alg'], 'ES256');
      jtis.add(proof.jti);
      // Log-in and refresh carry no token, so no ath; every other request names its token.
      assert.equal('ath' in proof.payload, token !== undefined, `${s.path}: ath`);
      // The auth server binds the session to the proof's key (RFC 9449 §5: token_type DPoP): the
      // token goes as DPoP, with the proof, and names the key (cnf.jkt).
      if (token !== undefined) {
        assert.match(s.authorization!, /^DPoP /);
        const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
        assert.deepEqual(claims.cnf, { jkt });
      }
      // Made for this request only.
      assert.throws(
        () =>
          verifyProof(s.dpop!, {
            method: s.method === 'GET' ? 'POST' : 'GET',
            url: `${site}${s.path}`,
          }),
        /another HTTP method/,
      );
      if (token !== undefined) {
        assert.throws(
          () =>
            verifyProof(s.dpop!, {
              method: s.method,
              url: `${site}${s.path}`,
              accessToken: 'x.y.z',
            }),
          /"ath" does not match/,
        );
      }
    }
    assert.equal(jtis.size, requests.length, 'a new jti every time');
  });

  test('without dpop no proof is sent', async () => {
    const username = await newUser();
    const page = await openPage();
    const from = seen.length;
    await page.evaluate(
      async ({ module, username, password }) => {
        const { createClient } = (await import(module)) as ClientModule;
        const auth = createClient({ autoRefresh: false });
        await auth.login({ username, password });
        await auth.fetch('/test/echo');
      },
      { module: CLIENT, username, password },
    );
    const requests = seen.slice(from).filter((s) => s.path !== '/');
    assert.equal(requests.length, 2);
    assert.ok(requests.every((s) => s.dpop === undefined));
  });

  test('nonces: the one a server asks for is used for a single retry, then kept for the next requests', async () => {
    const username = await newUser();
    const page = await openPage();
    nonces = 0;
    const from = seen.length;
    const statuses = await page.evaluate(
      async ({ module, username, password }) => {
        const { createClient } = (await import(module)) as ClientModule;
        const auth = createClient({ dpop: true, autoRefresh: false });
        await auth.login({ username, password });
        const first = await auth.fetch('/test/nonce', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"kept":true}',
        });
        const second = await auth.fetch('/test/nonce', { method: 'POST' });
        return [first.status, second.status];
      },
      { module: CLIENT, username, password },
    );
    assert.deepEqual(statuses, [200, 200]);
    const proofs = seen
      .slice(from)
      .filter((s) => s.path === '/test/nonce')
      .map((s) => JSON.parse(Buffer.from(s.dpop!.split('.')[1]!, 'base64url').toString()).nonce);
    // No nonce yet → refused with nonce-1 → retried with it → the next request sends it at once.
    assert.deepEqual(proofs, [undefined, 'nonce-1', 'nonce-1']);
  });

  test('a server that asks for a new nonce every time gets one retry, not a loop', async () => {
    const username = await newUser();
    const page = await openPage();
    neverAccept = true;
    const from = seen.length;
    const status = await page.evaluate(
      async ({ module, username, password }) => {
        const { createClient } = (await import(module)) as ClientModule;
        const auth = createClient({ dpop: true, autoRefresh: false });
        await auth.login({ username, password });
        return (await auth.fetch('/test/nonce', { method: 'POST' })).status;
      },
      { module: CLIENT, username, password },
    );
    neverAccept = false;
    assert.equal(status, 401);
    assert.equal(seen.slice(from).filter((s) => s.path === '/test/nonce').length, 2);
    assert.equal(
      seen.slice(from).filter((s) => s.path === '/auth/refresh').length,
      0,
      'no refresh',
    );
  });

  test('log-in at a binding server: a nonce asked with 400, then a DPoP token sent as "DPoP" with ath', async () => {
    const page = await openPage();
    const from = seen.length;
    const result = await page.evaluate(
      async ({ module }) => {
        const { createClient } = (await import(module)) as ClientModule;
        const auth = createClient({
          baseUrl: `${location.origin}/t/`,
          dpop: true,
          autoRefresh: false,
        });
        const access = await auth.login({ username: 'anyone', password: 'anything at all' });
        const response = await auth.fetch('/test/echo');
        return { scheme: access.scheme, status: response.status, jkt: (await auth.dpopKey())?.jkt };
      },
      { module: CLIENT },
    );
    assert.equal(result.scheme, 'DPoP');
    assert.equal(result.status, 200);
    const requests = seen.slice(from).filter((s) => s.path !== '/');
    assert.deepEqual(
      requests.map((s) => `${s.method} ${s.path}`),
      ['POST /t/auth/login', 'POST /t/auth/login', 'GET /test/echo'],
    );
    const echo = requests[2]!;
    assert.equal(echo.authorization, `DPoP bound.${result.jkt}`);
    const proof = verifyProof(echo.dpop!, {
      method: 'GET',
      url: `${site}/test/echo`,
      accessToken: `bound.${result.jkt}`,
    });
    assert.equal(proof.jkt, result.jkt);
  });

  test('the real auth server with --dpop-nonce on: log-in and refresh each retried once with its nonce', async () => {
    // A second server, requiring nonces at its token endpoints (RFC 9449 §8), in cookie mode so
    // that a reloaded page (which has forgotten the nonce) refreshes with none first.
    const nonceSite = 'http://localhost:3001';
    const nonceDir = mkdtempSync(join(tmpdir(), 'laissez-dpop-nonce-'));
    const server = await createAuthServer({
      issuer: nonceSite,
      dataDir: nonceDir,
      logger: false,
      accessTtl: 60,
      passwordParams: FAST_ARGON2,
      cookies: true,
      dpopNonce: true,
      // The page's origin: its requests reach the server through routing, under another Host.
      allowedOrigins: [nonceSite],
    });
    const calls: { path: string; status: number; nonce: string | undefined }[] = [];
    server.addHook('onResponse', async (request, reply) => {
      if (request.url.startsWith('/auth/')) {
        const proof = request.headers.dpop as string | undefined;
        const payload = proof
          ? JSON.parse(Buffer.from(proof.split('.')[1]!, 'base64url').toString())
          : {};
        calls.push({ path: request.url, status: reply.statusCode, nonce: payload.nonce });
      }
    });
    const serverUrl = await server.listen({ port: 0, host: '127.0.0.1' });
    const on = await browser.newContext();
    try {
      await on.route(`${nonceSite}/**`, async (route) => {
        const target = `${serverUrl}${route.request().url().slice(nonceSite.length)}`;
        try {
          await route.fulfill({ response: await route.fetch({ url: target, maxRedirects: 0 }) });
        } catch {
          // As in toSite: the page or its request went away meanwhile.
          await route.abort().catch(() => {});
        }
      });
      const r = await call(serverUrl, 'POST', '/auth/register', {
        body: { username: 'noncer', email: 'noncer@example.com', password },
        headers: { origin: nonceSite },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const page = await on.newPage();
      // A page of the origin without the demo (which resumes sessions by itself when it loads).
      await page.goto(`${nonceSite}/no-such-page`);
      const login = await page.evaluate(
        async ({ module, password }) => {
          const { createClient } = (await import(module)) as ClientModule;
          const auth = createClient({ dpop: true, autoRefresh: false });
          const access = await auth.login({ username: 'noncer', password });
          return { scheme: access.scheme, jkt: (await auth.dpopKey())?.jkt };
        },
        { module: CLIENT, password },
      );
      assert.equal(login.scheme, 'DPoP', 'the server bound the session to the key');
      await page.reload();
      const restored = await page.evaluate(
        async ({ module }) => {
          const { createClient } = (await import(module)) as ClientModule;
          const auth = createClient({ dpop: true, autoRefresh: false, refreshToken: 'cookie' });
          const held = await auth.restore();
          const me = await auth.fetch('/auth/me');
          return { held, me: me.status, jkt: (await auth.dpopKey())?.jkt };
        },
        { module: CLIENT },
      );
      assert.deepEqual(restored, { held: true, me: 200, jkt: login.jkt });
      // The server answers a missing nonce with 400 use_dpop_nonce and a DPoP-Nonce (an
      // authorization server's answer, RFC 9449 §8); the client
      // retries once with it. The reloaded page has forgotten it: its refresh is retried too.
      assert.deepEqual(
        calls.map((c) => `${c.path} ${c.status} ${c.nonce === undefined ? 'no nonce' : 'nonce'}`),
        [
          '/auth/register 201 no nonce',
          '/auth/login 400 no nonce',
          '/auth/login 200 nonce',
          '/auth/refresh 400 no nonce',
          '/auth/refresh 200 nonce',
          '/auth/me 200 nonce',
        ],
      );
    } finally {
      await on.close();
      await server.close();
      rmSync(nonceDir, { recursive: true, force: true });
    }
  });

  test('step-up: one onStepUp call for concurrent challenges, each request retried once with the new token', async () => {
    const username = await newUser();
    const page = await openPage();
    weakToken = undefined;
    const from = seen.length;
    const result = await page.evaluate(
      async ({ module, username, password }) => {
        const { createClient } = (await import(module)) as ClientModule;
        const challenges: unknown[] = [];
        const auth = createClient({
          dpop: true,
          autoRefresh: false,
          onStepUp: async (challenge) => {
            challenges.push(challenge);
            // The app re-authenticates the user (here: a new log-in through this client).
            await auth.login({ username, password });
          },
        });
        await auth.login({ username, password });
        const responses = await Promise.all([1, 2, 3].map(() => auth.fetch('/test/step-up')));
        return { statuses: responses.map((r) => r.status), challenges };
      },
      { module: CLIENT, username, password },
    );
    assert.deepEqual(result.statuses, [200, 200, 200]);
    assert.deepEqual(result.challenges, [
      { acrValues: ['mfa', 'hwk'], maxAge: 600, description: 'this needs a log-in with "mfa"' },
    ]);
    const requests = seen.slice(from).filter((s) => s.path !== '/');
    const stepUps = requests.filter((s) => s.path === '/test/step-up');
    assert.equal(stepUps.length, 6, 'three refused, three retried');
    assert.equal(requests.filter((s) => s.path === '/auth/login').length, 2);
    assert.equal(requests.filter((s) => s.path === '/auth/refresh').length, 0, 'no refresh');
    for (const s of stepUps.slice(3)) {
      assert.notEqual(tokenOf(s.authorization), weakToken, 'retried with the new token');
      verifyProof(s.dpop!, {
        method: 'GET',
        url: `${site}/test/step-up`,
        accessToken: tokenOf(s.authorization)!,
      });
    }
  });

  test('step-up: without onStepUp, or when it resolves false, the challenge is returned as it came', async () => {
    const username = await newUser();
    const page = await openPage();
    refuseAll = true;
    const from = seen.length;
    const result = await page.evaluate(
      async ({ module, username, password }) => {
        const { createClient } = (await import(module)) as ClientModule;
        const plain = createClient({ autoRefresh: false });
        await plain.login({ username, password });
        const declined = createClient({ autoRefresh: false, onStepUp: async () => false });
        await declined.login({ username, password });
        const failing = createClient({
          autoRefresh: false,
          onStepUp: async () => {
            throw new Error('the user cancelled');
          },
        });
        await failing.login({ username, password });
        const a = await plain.fetch('/test/step-up');
        const b = await declined.fetch('/test/step-up');
        const c = await failing.fetch('/test/step-up').then(
          (r) => String(r.status),
          (e: Error) => e.message,
        );
        return [a.status, a.headers.get('www-authenticate')?.includes('acr_values'), b.status, c];
      },
      { module: CLIENT, username, password },
    );
    refuseAll = false;
    assert.deepEqual(result, [401, true, 401, 'the user cancelled']);
    assert.equal(seen.slice(from).filter((s) => s.path === '/test/step-up').length, 3, 'no retry');
    assert.equal(seen.slice(from).filter((s) => s.path === '/auth/refresh').length, 0);
  });
});
