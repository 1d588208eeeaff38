// Passkeys in Chromium with its virtual authenticator (DevTools protocol: WebAuthn.enable,
// WebAuthn.addVirtualAuthenticator): a real browser makes every credential and assertion, and a
// real auth server on loopback checks them. The page is a minimal one served (through
// Playwright's routing) at fixed origins, http://localhost:4000 and subdomains of localhost,
// whose requests are forwarded to the server: so the server can be told its RP ID and origins
// before it listens, and a page can be served from an origin it does not allow.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { decodeUnverified } from '../../../jwt/src/index.ts';
import type { SecurityEvent } from '../../src/auth/events.ts';
import { DEFAULT_RATE_LIMITS } from '../../src/auth/limits.ts';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';
import { launch, skipBrowser } from './browser.ts';

const ORIGIN = 'http://localhost:4000';
/** Allowed too, so that a page there can make a credential for the wrong RP ID. */
const SUB_ORIGIN = 'http://sub.localhost:4000';
/** Not among the allowed origins. */
const OTHER_ORIGIN = 'http://other.localhost:4000';

/**
 * The page: the ceremonies with the browser's own WebAuthn JSON helpers (WebAuthn Level 3
 * §5.1.8, §5.1.9, PublicKeyCredential.toJSON). `rpId` overrides what the server asked for.
 */
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>passkeys</title></head><body>
<script>
async function post(path, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = 'Bearer ' + token;
  const r = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body ?? {}) });
  return { status: r.status, body: await r.json().catch(() => ({})) };
}
window.register = async (token, name, rpId) => {
  const options = await post('/auth/passkeys/register/options', {}, token);
  if (options.status !== 200) return options;
  if (rpId) options.body.rp.id = rpId;
  const credential = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.body),
  });
  return post('/auth/passkeys/register', { credential: credential.toJSON(), name }, token);
};
window.assert = async () => {
  const options = await post('/auth/passkeys/login/options');
  if (options.status !== 200) return { options };
  const credential = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.body),
  });
  return { credential: credential.toJSON() };
};
window.assertWith = async (options) => {
  const credential = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
  });
  return credential.toJSON();
};
window.login = async () => {
  const made = await window.assert();
  if (!made.credential) return made.options;
  return post('/auth/passkeys/login', { credential: made.credential });
};
document.documentElement.dataset.ready = 'true';
</script></body></html>`;

const password = 'a long enough password';
let users = 0;

describe('passkeys in Chromium (virtual authenticator)', { skip: skipBrowser }, () => {
  let server: Running;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const warnings: Record<string, unknown>[] = [];
  const events: SecurityEvent[] = [];

  before(async () => {
    server = await start({
      passwordParams: FAST_ARGON2,
      rpId: 'localhost',
      rpOrigins: [ORIGIN, SUB_ORIGIN],
      events: { emit: (event) => void events.push(event) },
      // Every test registers its own users, from one address.
      rateLimits: { ...DEFAULT_RATE_LIMITS, registerPerIp: { max: 100, window: 600 } },
    });
    // What the server logs as warnings (its logger is off in tests): the fields, never a message.
    server.app.log.warn = ((fields: Record<string, unknown>) => {
      warnings.push(fields);
    }) as never;
    browser = await launch();
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close();
  });

  /** A browser of its own, with a virtual platform authenticator, on the page at `origin`. */
  async function open(origin = ORIGIN): Promise<{ page: Page; cdp: CDPSession; id: string }> {
    const context = await browser.newContext();
    context.setDefaultTimeout(60_000);
    contexts.push(context);
    await context.route(/^http:\/\/([a-z]+\.)?localhost:4000\//, async (route) => {
      const url = new URL(route.request().url());
      if (url.pathname === '/page') {
        await route.fulfill({ contentType: 'text/html', body: PAGE });
        return;
      }
      // To the server, as the browser sent it (Origin included).
      const response = await route.fetch({ url: `${server.url}${url.pathname}${url.search}` });
      await route.fulfill({ response });
    });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await page.goto(`${origin}/page`);
    await page.locator('html[data-ready="true"]').waitFor();
    return { page, cdp, id: authenticatorId };
  }

  /** A new user, logged in with a password: their access token. */
  async function newUser(): Promise<{ id: string; token: string }> {
    const username = `pk${++users}`;
    const registered = await call(server.url, 'POST', '/auth/register', {
      body: { username, email: `${username}@example.com`, password },
    });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    const login = await call(server.url, 'POST', '/auth/login', { body: { username, password } });
    assert.equal(login.status, 200);
    return {
      id: (registered.body as { user: { id: string } }).user.id,
      token: String(login.body['access_token']),
    };
  }

  type Answer = { status: number; body: Record<string, unknown> };
  /** The page's functions, as page.evaluate reaches them. */
  type PageApi = {
    register: (token: string, name?: string, rpId?: string) => Promise<Answer>;
    login: () => Promise<Answer>;
    assert: () => Promise<{ credential?: unknown }>;
    assertWith: (options: unknown) => Promise<unknown>;
  };
  const register = (page: Page, token: string, name?: string, rpId?: string) =>
    page.evaluate(([t, n, r]) => (window as never as PageApi).register(t, n, r), [
      token,
      name,
      rpId,
    ] as const) as Promise<Answer>;
  const login = (page: Page) =>
    page.evaluate(() => (window as never as PageApi).login()) as Promise<Answer>;

  test('register a passkey, list it, log in with it: tokens for its owner', async () => {
    const { page } = await open();
    const user = await newUser();
    const added = await register(page, user.token, 'Laptop');
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const passkey = added.body['passkey'] as Record<string, unknown>;
    assert.equal(passkey['name'], 'Laptop');
    assert.deepEqual(passkey['transports'], ['internal']);
    assert.equal(passkey['last_used_at'], null);

    const list = await call(server.url, 'GET', '/auth/passkeys', { token: user.token });
    assert.equal(list.status, 200);
    assert.deepEqual((list.body['passkeys'] as unknown[]).length, 1);

    const loggedIn = await login(page);
    assert.equal(loggedIn.status, 200, JSON.stringify(loggedIn.body));
    const token = String(loggedIn.body['access_token']);
    assert.ok(String(loggedIn.body['refresh_token']).startsWith('rt_'));
    const me = await call(server.url, 'GET', '/auth/me', { token });
    assert.equal((me.body['user'] as { id: string }).id, user.id);
    const used = await call(server.url, 'GET', '/auth/passkeys', { token });
    const [after] = used.body['passkeys'] as { last_used_at: string | null }[];
    assert.ok(after?.last_used_at, 'a log-in records when the passkey was last used');
    // Told to the security-event sink: which passkey, never key material.
    const told = events.find((e) => e.type === 'passkey_added' && e.userId === user.id);
    assert.equal(told?.credentialId, passkey['id']);
  });

  test('a passkey log-in says amr ["hwk", "mfa"] and auth_time, kept by refresh', async () => {
    const { page } = await open();
    const user = await newUser();
    assert.equal((await register(page, user.token)).status, 201);
    const before = Math.floor(Date.now() / 1000);
    const loggedIn = await login(page);
    assert.equal(loggedIn.status, 200, JSON.stringify(loggedIn.body));
    const claims = decodeUnverified(String(loggedIn.body['access_token'])).payload;
    // The virtual authenticator is device-bound and verifies its user (RFC 8176 §2).
    assert.deepEqual(claims['amr'], ['hwk', 'mfa']);
    const authTime = Number(claims['auth_time']);
    assert.ok(authTime >= before && authTime <= Math.ceil(Date.now() / 1000), String(authTime));
    const refreshed = await call(server.url, 'POST', '/auth/refresh', {
      body: { refresh_token: loggedIn.body['refresh_token'] },
    });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    const again = decodeUnverified(String(refreshed.body['access_token'])).payload;
    assert.deepEqual(again['amr'], ['hwk', 'mfa']);
    assert.equal(again['auth_time'], authTime);
  });

  test('password, then a passkey as the second factor: tokens say ["pwd", "hwk", "mfa"]', async () => {
    const { page } = await open();
    const user = await newUser();
    assert.equal((await register(page, user.token)).status, 201);
    const username = (await call(server.url, 'GET', '/auth/me', { token: user.token })).body[
      'user'
    ] as { username: string };
    // With a passkey registered, the password alone no longer logs in.
    const first = await call(server.url, 'POST', '/auth/login', {
      body: { username: username.username, password },
    });
    assert.equal(first.status, 401, JSON.stringify(first.body));
    assert.equal(first.body['error'], 'mfa_required');
    assert.deepEqual(first.body['factors'], ['passkey']);
    const mfaToken = String(first.body['mfa_token']);

    const options = await call(server.url, 'POST', '/auth/mfa/passkey/options', {
      body: { mfa_token: mfaToken },
    });
    assert.equal(options.status, 200, JSON.stringify(options.body));
    assert.equal((options.body['allowCredentials'] as unknown[]).length, 1);
    const credential = await page.evaluate(
      (o) => (window as never as PageApi).assertWith(o),
      options.body as never,
    );
    const done = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: mfaToken, credential },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const claims = decodeUnverified(String(done.body['access_token'])).payload;
    assert.deepEqual(claims['amr'], ['pwd', 'hwk', 'mfa']);
    const me = await call(server.url, 'GET', '/auth/me', {
      token: String(done.body['access_token']),
    });
    assert.equal((me.body['user'] as { id: string }).id, user.id);

    // The mfa_token is spent; the assertion, sent again with a new one, finds its challenge spent.
    const replay = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: mfaToken, credential },
    });
    assert.equal(replay.status, 401);
    assert.equal(replay.body['error'], 'invalid_grant');
    const second = await call(server.url, 'POST', '/auth/login', {
      body: { username: username.username, password },
    });
    const replayed = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: second.body['mfa_token'], credential },
    });
    assert.equal(replayed.status, 401, JSON.stringify(replayed.body));
    assert.equal(replayed.body['error'], 'invalid_passkey');
    assert.match(String(replayed.body['error_description']), /challenge/);
    // A passwordless assertion (its challenge names no user) is no second step either.
    const made = (await page.evaluate(() => (window as never as PageApi).assert())) as {
      credential: unknown;
    };
    const unbound = await call(server.url, 'POST', '/auth/mfa/verify', {
      body: { mfa_token: second.body['mfa_token'], credential: made.credential },
    });
    assert.equal(unbound.status, 401);
    assert.equal(unbound.body['error'], 'invalid_passkey');
  });

  test('an assertion is accepted once: sent again, its challenge is spent', async () => {
    const { page } = await open();
    const user = await newUser();
    assert.equal((await register(page, user.token)).status, 201);
    const made = (await page.evaluate(() => (window as never as PageApi).assert())) as {
      credential: unknown;
    };
    const first = await call(server.url, 'POST', '/auth/passkeys/login', {
      body: { credential: made.credential },
    });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const again = await call(server.url, 'POST', '/auth/passkeys/login', {
      body: { credential: made.credential },
    });
    assert.equal(again.status, 401);
    assert.equal(again.body['error'], 'invalid_passkey');
    assert.match(String(again.body['error_description']), /challenge/);
  });

  test('a page on an origin the server does not allow cannot register a passkey', async () => {
    // The browser makes the credential for other.localhost (the page's own domain): the
    // server sees an origin it does not allow.
    const { page } = await open(OTHER_ORIGIN);
    const user = await newUser();
    const refused = await register(page, user.token, 'Other', 'other.localhost');
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    assert.equal(refused.body['error'], 'invalid_passkey');
    assert.match(String(refused.body['error_description']), /origin/i);
    const list = await call(server.url, 'GET', '/auth/passkeys', { token: user.token });
    assert.deepEqual(list.body['passkeys'], []);
  });

  test('a credential made for another RP ID is refused', async () => {
    // sub.localhost is an allowed origin, and a valid RP ID for its page: the browser makes the
    // credential, bound to sub.localhost, and the server (RP ID localhost) refuses it.
    const { page } = await open(SUB_ORIGIN);
    const user = await newUser();
    const refused = await register(page, user.token, 'Wrong', 'sub.localhost');
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    assert.equal(refused.body['error'], 'invalid_passkey');
    assert.match(String(refused.body['error_description']), /RP ID/i);
  });

  test('an assertion from an origin the server does not allow is refused and audited as mfa.passkey_refused', async () => {
    const owner = await open();
    const user = await newUser();
    assert.equal((await register(owner.page, user.token)).status, 201);
    // A phishing page at other.localhost, holding the same key pair and credential id (copied
    // into its authenticator for its own RP ID, as a browser allows): its assertion is signed
    // right, but names an origin the server does not allow (WebAuthn §7.2 step 13).
    const { credentials } = await owner.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: owner.id,
    });
    const [copied] = credentials;
    assert.ok(copied);
    const other = await open(OTHER_ORIGIN);
    await other.cdp.send('WebAuthn.addCredential', {
      authenticatorId: other.id,
      credential: { ...copied, rpId: 'other.localhost' },
    });
    const refused = (await other.page.evaluate(async () => {
      const w = window as never as {
        post: (path: string, body?: unknown) => Promise<Answer>;
      } & PageApi;
      const options = await w.post('/auth/passkeys/login/options');
      const credential = await w.assertWith({ ...options.body, rpId: 'other.localhost' });
      return w.post('/auth/passkeys/login', { credential });
    })) as Answer;
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    assert.equal(refused.body['error'], 'invalid_passkey');
    assert.match(String(refused.body['error_description']), /origin/i);
    const credentialId = Buffer.from(copied.credentialId, 'base64').toString('base64url');
    let audited: Awaited<ReturnType<typeof server.app.store.listAuditEvents>> = [];
    for (let i = 0; i < 100 && audited.length === 0; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 20));
      audited = await server.app.store.listAuditEvents({
        subject: user.id,
        type: 'mfa.passkey_refused',
        limit: 10,
      });
    }
    assert.equal(audited.length, 1);
    assert.equal(audited[0]?.actor, 'anonymous');
    assert.deepEqual(audited[0]?.details, { reason: 'origin', credential_id: credentialId });
    assert.ok(!JSON.stringify(audited).includes(copied.privateKey), 'never key material');
    const reported = events.find((e) => e.type === 'passkey_refused' && e.userId === user.id);
    assert.equal(reported?.reason, 'origin');
    // The owner, at an allowed origin, still logs in.
    assert.equal((await login(owner.page)).status, 200);
  });

  test('a cloned authenticator (its counter behind) is refused and logged', async () => {
    const original = await open();
    const user = await newUser();
    assert.equal((await register(original.page, user.token)).status, 201);
    // The clone: the same private key on another authenticator, copied now...
    const { credentials } = await original.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: original.id,
    });
    const [copied] = credentials;
    assert.ok(copied);
    // ...while the original goes on being used: its counter moves ahead.
    assert.equal((await login(original.page)).status, 200);
    assert.equal((await login(original.page)).status, 200);

    const clone = await open();
    await clone.cdp.send('WebAuthn.addCredential', {
      authenticatorId: clone.id,
      credential: { ...copied, signCount: copied.signCount },
    });
    const refused = await login(clone.page);
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    assert.equal(refused.body['error'], 'invalid_passkey');
    assert.match(String(refused.body['error_description']), /counter went backwards/);
    const logged = warnings.find((w) => w['event'] === 'passkey_cloned');
    assert.ok(logged, 'the clone is logged');
    const reported = events.find((e) => e.type === 'passkey_cloned' && e.userId === user.id);
    assert.equal(reported?.credentialId, logged['credentialId'], 'and reported as an event');
    assert.equal(logged['userId'], user.id);
    // DevTools speaks base64; WebAuthn's JSON, and so the server, base64url.
    assert.equal(
      logged['credentialId'],
      Buffer.from(copied.credentialId, 'base64').toString('base64url'),
    );
    // The original still works: its counter is ahead of what is stored.
    assert.equal((await login(original.page)).status, 200);
  });

  test("rename and remove: one's own passkeys only (another's id is 404)", async () => {
    const { page } = await open();
    const [owner, other] = [await newUser(), await newUser()];
    const added = await register(page, owner.token, 'Phone');
    const id = String((added.body['passkey'] as { id: string }).id);
    const path = `/auth/passkeys/${id}`;
    for (const [method, body] of [
      ['PATCH', { name: 'Mine' }],
      ['DELETE', undefined],
    ] as const) {
      const r = await call(server.url, method, path, {
        token: other.token,
        ...(body ? { body } : {}),
      });
      assert.equal(r.status, 404, `${method}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body['error'], 'passkey_not_found');
    }
    const renamed = await call(server.url, 'PATCH', path, {
      token: owner.token,
      body: { name: 'Work phone' },
    });
    assert.equal(renamed.status, 204);
    const list = await call(server.url, 'GET', '/auth/passkeys', { token: owner.token });
    assert.equal((list.body['passkeys'] as { name: string }[])[0]?.name, 'Work phone');
    assert.equal((await call(server.url, 'DELETE', path, { token: owner.token })).status, 204);
    assert.ok(
      events.some(
        (e) => e.type === 'passkey_removed' && e.userId === owner.id && e.credentialId === id,
      ),
      'the removal is reported',
    );
    assert.ok(!events.some((e) => e.type === 'passkey_removed' && e.userId === other.id));
    // Removed: it logs in no more.
    const refused = await login(page);
    assert.equal(refused.status, 401);
    assert.equal(refused.body['error'], 'invalid_passkey');
  });

  test("a passkey as a second factor: verified for its owner only, against the owner's challenge", async () => {
    const { page } = await open();
    const [owner, other] = [await newUser(), await newUser()];
    assert.equal((await register(page, owner.token)).status, 201);
    const { auth } = server.app;
    const ceremonies = auth.passkeys.ceremonies;
    const user = await auth.currentUser({ sub: owner.id } as never);
    const stranger = await auth.currentUser({ sub: other.id } as never);
    const assertWith = (options: unknown) =>
      page.evaluate((o) => (window as never as PageApi).assertWith(o), options as never);

    const options = await ceremonies.secondFactorOptions(user);
    assert.equal(options.allowCredentials?.length, 1);
    const proof = await ceremonies.verifyForUser(user, await assertWith(options));
    assert.equal(proof.user.id, owner.id);
    // The virtual authenticator is device-bound (no backup eligibility) and verifies its user.
    assert.deepEqual(proof.amr, ['hwk', 'mfa']);

    // The owner's assertion presented as another account's second step: refused.
    const again = await assertWith(await ceremonies.secondFactorOptions(user));
    await assert.rejects(ceremonies.verifyForUser(stranger, again), { code: 'invalid_passkey' });
    // An account without passkeys has no second step to offer.
    await assert.rejects(ceremonies.secondFactorOptions(stranger), { code: 'invalid_passkey' });
    // A passwordless challenge (no user) does not serve as the owner's second step.
    const made = (await page.evaluate(() => (window as never as PageApi).assert())) as {
      credential: unknown;
    };
    await assert.rejects(ceremonies.verifyForUser(user, made.credential), {
      code: 'invalid_passkey',
      message: /challenge/,
    });
  });
});
