// laissez/client in Node 24 (fetch, EventTarget, BroadcastChannel and Web Locks are built in),
// against a real auth server on loopback. The server's clock can be moved forward, so that a token
// the client still holds is refused as expired: that is how "ten requests fail at once" is made.
// Cookie mode runs through a small cookie jar that behaves as a browser does for these cookies.
// The device token runs in Chromium, with the client as the server serves it to pages: it needs
// the browser's localStorage, and the lock-out a real one.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { call, FAST_ARGON2, type Running, start } from '../../server/test/helpers/server.ts';
import { launch, skipBrowser } from '../../server/test/web/browser.ts';
import {
  AuthError,
  type ClientOptions,
  createClient,
  type LaissezClient,
  type SessionEndEvent,
  type TokenChangeEvent,
} from '../src/index.ts';

/** Counts the requests a client makes, by method and path, and refreshes in flight at once. */
class Meter {
  readonly #next: (request: Request) => Promise<Response>;
  counts = new Map<string, number>();
  inFlight = 0;
  maxInFlight = 0;
  readonly fetch = async (request: Request): Promise<Response> => {
    const key = `${request.method} ${new URL(request.url).pathname}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const refresh = key === 'POST /auth/refresh';
    if (refresh) this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      return await this.#next(request);
    } finally {
      if (refresh) this.inFlight--;
    }
  };
  constructor(next: (request: Request) => Promise<Response> = (request) => fetch(request)) {
    this.#next = next;
  }
  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}

/**
 * A browser's cookie handling, for this server's cookies: stored from responses, sent on requests
 * whose path they cover, both unless the request says `credentials: 'omit'`.
 */
function cookieJar() {
  const cookies = new Map<string, { value: string; path: string }>();
  const jarFetch = async (request: Request): Promise<Response> => {
    const omit = request.credentials === 'omit';
    const path = new URL(request.url).pathname;
    let outgoing = request;
    if (!omit) {
      const header = [...cookies]
        .filter(([, c]) => path === c.path || path.startsWith(`${c.path.replace(/\/$/, '')}/`))
        .map(([name, c]) => `${name}=${c.value}`)
        .join('; ');
      if (header) {
        const headers = new Headers(request.headers);
        headers.set('cookie', header);
        outgoing = new Request(request, { headers });
      }
    }
    const response = await fetch(outgoing);
    if (!omit) {
      for (const line of response.headers.getSetCookie()) {
        const [pair, ...attributes] = line.split(';').map((s) => s.trim());
        const [name, value] = pair!.split('=') as [string, string];
        const path = attributes.find((a) => /^path=/i.test(a))?.slice(5) ?? '/';
        const gone = attributes.some((a) => /^max-age=0$/i.test(a) || /^expires=.*1970/i.test(a));
        if (gone || value === '') cookies.delete(name);
        else cookies.set(name, { value, path });
      }
    }
    return response;
  };
  return { cookies, fetch: jarFetch };
}

/** Resolves with the next event of `type`, or rejects after a generous time. */
function next<E extends Event>(target: EventTarget, type: string, timeout = 20_000): Promise<E> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} event`)), timeout);
    target.addEventListener(
      type,
      (event) => {
        clearTimeout(timer);
        resolve(event as E);
      },
      { once: true },
    );
  });
}

/** Collects every event of `type`. */
function record<E extends Event>(target: EventTarget, type: string): E[] {
  const events: E[] = [];
  target.addEventListener(type, (event) => events.push(event as E));
  return events;
}

const password = 'a long enough password';
let users = 0;

async function newUser(server: Running): Promise<{ username: string; password: string }> {
  const username = `user${++users}`;
  const r = await call(server.url, 'POST', '/auth/register', {
    body: { username, email: `${username}@example.com`, password },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { username, password };
}

describe('laissez/client, refresh token in memory (server without cookies)', () => {
  let server: Running;
  /** How far the server's clock is ahead of the real one, ms. */
  let skew = 0;
  const clients: LaissezClient[] = [];
  const client = (options: ClientOptions = {}) => {
    const made = createClient({ baseUrl: server.url, autoRefresh: false, ...options });
    clients.push(made);
    return made;
  };

  before(async () => {
    server = await start({
      accessTtl: 60,
      passwordParams: FAST_ARGON2,
      now: () => Date.now() + skew,
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  test('a misspelt option is a TypeError: the token would otherwise go to fewer origins', () => {
    assert.throws(
      () => createClient({ baseUrl: server.url, tokenOrigin: [server.url] } as never),
      /^TypeError: createClient: unknown option "tokenOrigin"; did you mean "tokenOrigins"\?$/,
    );
  });

  test('a deviceToken or refreshToken value not listed is a TypeError', () => {
    assert.throws(
      () => createClient({ baseUrl: server.url, deviceToken: 'local' } as never),
      /^TypeError: createClient: deviceToken must be "localStorage", "memory" or "off"$/,
    );
    assert.throws(
      () => createClient({ baseUrl: server.url, refreshToken: 'cookies' } as never),
      /^TypeError: createClient: refreshToken must be "auto", "cookie" or "memory"$/,
    );
  });

  test('without localStorage (Node) the device token is kept in memory: sent with the next log-in, then replaced', async () => {
    assert.equal(typeof (globalThis as { localStorage?: unknown }).localStorage, 'undefined');
    const sent: unknown[] = [];
    const answered: unknown[] = [];
    const auth = client({
      fetch: async (request) => {
        if (new URL(request.url).pathname !== '/auth/login') return fetch(request);
        sent.push((await request.clone().json()).device_token);
        const response = await fetch(request);
        answered.push((await response.clone().json()).device_token);
        return response;
      },
    });
    const { username } = await newUser(server);
    await auth.login({ username, password });
    await auth.logout();
    await auth.login({ username, password });
    assert.equal(sent[0], undefined);
    assert.match(String(answered[0]), /^d1\./);
    assert.equal(sent[1], answered[0], "the first log-in's token, sent with the second");
    assert.notEqual(answered[1], answered[0]);
    await auth.login({ username, password });
    assert.equal(sent[2], answered[1], 'replaced by the newer one');
  });

  test('register, log in, /auth/me with the token; the refresh token stays private', async () => {
    const auth = client();
    const user = await auth.register({
      username: 'memo',
      email: 'memo@example.com',
      password,
    });
    assert.equal(user?.username, 'memo');
    const changes = record<TokenChangeEvent>(auth, 'tokenchange');
    const access = await auth.login({ username: 'memo', password });
    assert.equal(auth.storage, 'memory');
    assert.equal(auth.authenticated, true);
    assert.equal(access.lifetime, 60);
    assert.equal(auth.accessToken?.token, access.token);
    assert.deepEqual(
      changes.map((e) => e.cause),
      ['login'],
    );
    const me = await auth.me();
    assert.equal(me.username, 'memo');
    // Nothing on the object exposes the refresh token.
    assert.ok(!JSON.stringify(Object.entries(auth)).includes('rt_'));
    assert.ok(!Object.keys(auth).some((k) => /refresh/i.test(k)));
  });

  test('log-in errors are AuthErrors with the server code', async () => {
    const auth = client();
    await assert.rejects(auth.login({ username: 'memo', password: 'wrong password' }), (e) => {
      assert.ok(e instanceof AuthError);
      assert.equal(e.status, 401);
      assert.equal(e.code, 'invalid_credentials');
      return true;
    });
    await assert.rejects(
      auth.register({ username: 'memo', email: 'other@example.com', password }),
      (e) => e instanceof AuthError && e.code === 'username_taken',
    );
    assert.equal(auth.authenticated, false);
  });

  test('ten requests refused at once share one refresh, and each is retried once', async () => {
    const meter = new Meter();
    const auth = client({ fetch: meter.fetch });
    const { username } = await newUser(server);
    const first = await auth.login({ username, password });
    skew += 61_000; // the server now finds the token expired; the client does not know yet
    const responses = await Promise.all(Array.from({ length: 10 }, () => auth.fetch('/auth/me')));
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(10).fill(200),
    );
    for (const r of responses)
      assert.equal(((await r.json()) as { user: { username: string } }).user.username, username);
    assert.equal(meter.count('POST /auth/refresh'), 1);
    assert.equal(meter.count('GET /auth/me'), 20); // ten refused, ten retried
    assert.notEqual(auth.accessToken?.token, first.token);
  });

  test('a token the client knows has expired is refreshed first, once for ten requests', async () => {
    let clientSkew = 0;
    const meter = new Meter();
    const auth = client({ fetch: meter.fetch, now: () => Date.now() + skew + clientSkew });
    const { username } = await newUser(server);
    await auth.login({ username, password });
    clientSkew += 61_000;
    skew += 61_000;
    const responses = await Promise.all(Array.from({ length: 10 }, () => auth.fetch('/auth/me')));
    assert.ok(responses.every((r) => r.status === 200));
    assert.equal(meter.count('POST /auth/refresh'), 1);
    assert.equal(meter.count('GET /auth/me'), 10); // none was sent with the expired token
  });

  test('sessionend when the refresh is refused: once, and no more refreshes after it', async () => {
    const meter = new Meter();
    const auth = client({ fetch: meter.fetch });
    const elsewhere = client();
    const { username } = await newUser(server);
    await auth.login({ username, password });
    await elsewhere.login({ username, password });
    const ended = record<SessionEndEvent>(auth, 'sessionend');
    assert.equal(await elsewhere.logoutAll(), 2);
    skew += 61_000;
    const [a, b] = await Promise.all([auth.fetch('/auth/me'), auth.fetch('/auth/me')]);
    assert.equal(a.status, 401);
    assert.equal(b.status, 401);
    assert.equal(ended.length, 1);
    assert.equal(ended[0]!.reason, 'refresh-failed');
    assert.equal(ended[0]!.fromOtherTab, false);
    assert.equal(ended[0]!.error?.code, 'invalid_grant');
    assert.equal(auth.authenticated, false);
    assert.equal(auth.accessToken, null);
    const again = await auth.fetch('/auth/me');
    assert.equal(again.status, 401);
    assert.equal(meter.count('POST /auth/refresh'), 1);
    assert.equal(ended.length, 1);
  });

  test('logout ends the session with an event, and its refresh token is revoked', async () => {
    const meter = new Meter();
    const auth = client({ fetch: meter.fetch });
    const { username } = await newUser(server);
    await auth.login({ username, password });
    const ended = next<SessionEndEvent>(auth, 'sessionend');
    await auth.logout();
    assert.equal((await ended).reason, 'logout');
    assert.equal(auth.authenticated, false);
    assert.equal(await auth.refresh(), null);
    const me = await auth.fetch('/auth/me');
    assert.equal(me.status, 401);
    assert.equal(meter.count('POST /auth/logout'), 1);
  });

  test('the token goes only to the listed origins; a request body is sent again on a retry', async () => {
    const seen: { authorization: string | undefined; body: string }[] = [];
    let refuseToken: string | undefined;
    const api: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        seen.push({ authorization: req.headers.authorization, body });
        const refused = req.headers.authorization === `Bearer ${refuseToken}`;
        res.writeHead(refused ? 401 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ echo: body }));
      });
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const apiOrigin = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    try {
      const stranger = `http://localhost:${(api.address() as AddressInfo).port}`;
      const auth = client({ tokenOrigins: [server.url, apiOrigin] });
      const { username } = await newUser(server);
      const { token } = await auth.login({ username, password });

      await auth.fetch(`${stranger}/elsewhere`);
      assert.equal(seen.at(-1)!.authorization, undefined, 'no token to an unlisted origin');

      refuseToken = token; // the API refuses this token: the client refreshes and sends again
      const response = await auth.fetch(`${apiOrigin}/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'hello' }),
      });
      assert.equal(response.status, 200);
      const [refused, retried] = seen.slice(-2);
      assert.equal(refused!.authorization, `Bearer ${token}`);
      assert.equal(retried!.authorization, `Bearer ${auth.accessToken!.token}`);
      assert.notEqual(retried!.authorization, refused!.authorization);
      assert.equal(retried!.body, '{"title":"hello"}');
      assert.equal(refused!.body, '{"title":"hello"}');
    } finally {
      await new Promise((resolve) => api.close(resolve));
    }
  });
});

describe('laissez/client in cookie mode, two tabs (BroadcastChannel and Web Locks)', () => {
  let server: Running;
  let skew = 0;
  const clients: LaissezClient[] = [];
  let channels = 0;
  const channelOf = new Map<LaissezClient, string>();

  before(async () => {
    server = await start({
      cookies: true,
      accessTtl: 60,
      passwordParams: FAST_ARGON2,
      now: () => Date.now() + skew,
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  /** Two clients sharing one cookie jar and one channel: two tabs of one browser. */
  function tabs(meter?: Meter) {
    const jar = cookieJar();
    const channelName = `laissez-test-${++channels}`;
    const fetchImpl = meter ? new Meter(jar.fetch) : undefined;
    const options = {
      baseUrl: server.url,
      autoRefresh: false,
      channelName,
      fetch: fetchImpl?.fetch ?? jar.fetch,
    };
    const a = createClient(options);
    const b = createClient(options);
    clients.push(a, b);
    channelOf.set(a, channelName);
    return { a, b, jar, meter: fetchImpl };
  }

  test('log-in keeps the refresh token out of reach, in the HttpOnly cookie', async () => {
    const { a, jar } = tabs();
    const { username } = await newUser(server);
    await a.login({ username, password });
    assert.equal(a.storage, 'cookie');
    assert.ok(jar.cookies.get('laissez_rt')?.value.startsWith('rt_'));
    assert.equal(jar.cookies.get('laissez_rt')?.path, '/auth');
    assert.equal((await a.me()).username, username);
  });

  test('a log-in in one tab reaches the other; a log-out in one ends both', async () => {
    const { a, b } = tabs();
    const { username } = await newUser(server);
    const shared = next<TokenChangeEvent>(b, 'tokenchange');
    const access = await a.login({ username, password });
    const event = await shared;
    assert.equal(event.cause, 'other-tab');
    assert.equal(b.accessToken?.token, access.token);
    assert.equal((await b.me()).username, username);

    const endedInB = next<SessionEndEvent>(b, 'sessionend');
    await a.logout();
    const ended = await endedInB;
    assert.equal(ended.reason, 'logout');
    assert.equal(ended.fromOtherTab, true);
    assert.equal(b.authenticated, false);
    assert.equal(await b.restore(), false, 'the cookie is gone');
  });

  test('a token of a session that ended, arriving late from another tab, is not adopted', async () => {
    const { a, b } = tabs();
    const { username } = await newUser(server);
    const shared = next<TokenChangeEvent>(b, 'tokenchange');
    await a.login({ username, password });
    await shared;
    const changes = record<TokenChangeEvent>(a, 'tokenchange');
    // B refreshes just before A logs out: its message to A may arrive after A's log-out.
    const late = await b.refresh();
    const endedInB = next<SessionEndEvent>(b, 'sessionend');
    await a.logout();
    await endedInB;
    // The same token once more, then a token of another session: once A has adopted the second,
    // it has seen everything sent before it.
    const channel = new BroadcastChannel(channelOf.get(a)!);
    try {
      const expiresAt = Date.now() + 60_000;
      channel.postMessage({ type: 'token', token: late, expiresAt, lifetime: 60 });
      const other = `x.${Buffer.from('{"sid":"another"}').toString('base64url')}.x`;
      const adopted = next<TokenChangeEvent>(a, 'tokenchange');
      channel.postMessage({ type: 'token', token: other, expiresAt, lifetime: 60 });
      assert.equal((await adopted).token?.token, other);
      const afterEnd = changes.slice(changes.findIndex((e) => e.token === null) + 1);
      assert.deepEqual(
        afterEnd.map((e) => e.token?.token),
        [other],
        'nothing of the ended session was adopted',
      );
    } finally {
      channel.close();
    }
  });

  test('refreshes never overlap across tabs, and each tab gets a working token', async () => {
    const { a, b, meter } = tabs(new Meter());
    const { username } = await newUser(server);
    const shared = next<TokenChangeEvent>(b, 'tokenchange');
    await a.login({ username, password });
    await shared;
    skew += 61_000; // both tabs hold a token the server now refuses
    const responses = await Promise.all([
      ...Array.from({ length: 5 }, () => a.fetch('/auth/me')),
      ...Array.from({ length: 5 }, () => b.fetch('/auth/me')),
    ]);
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(10).fill(200),
    );
    assert.equal(meter!.maxInFlight, 1, 'one refresh in flight at a time');
    // One in practice (the second tab takes the token the first shared); two at most, one a tab.
    assert.ok(meter!.count('POST /auth/refresh') <= 2, String(meter!.count('POST /auth/refresh')));
    assert.equal(a.authenticated && b.authenticated, true);
  });

  test('restore() resumes the session from the cookie; with none it says false, no event', async () => {
    const { a, b, jar } = tabs();
    const { username } = await newUser(server);
    await a.login({ username, password });
    a.close(); // the tab is closed; its cookie stays in the browser
    const fresh = createClient({ baseUrl: server.url, autoRefresh: false, fetch: jar.fetch });
    clients.push(fresh);
    assert.equal(await fresh.restore(), true);
    assert.equal((await fresh.me()).username, username);

    const empty = cookieJar();
    const nobody = createClient({ baseUrl: server.url, autoRefresh: false, fetch: empty.fetch });
    clients.push(nobody);
    const ended = record(nobody, 'sessionend');
    assert.equal(await nobody.restore(), false);
    assert.equal(ended.length, 0);
    assert.equal(nobody.authenticated, false);
    assert.equal(b.authenticated, true, 'the other tab still holds the session');
  });

  test('log out everywhere revokes every session and clears the cookies', async () => {
    const { a, jar } = tabs();
    const { username } = await newUser(server);
    await a.login({ username, password });
    const ended = next<SessionEndEvent>(a, 'sessionend');
    assert.equal(await a.logoutAll(), 1);
    assert.equal((await ended).reason, 'logout-all');
    assert.equal(jar.cookies.has('laissez_rt'), false);
    assert.equal(jar.cookies.has('laissez_at'), false);
  });

  test('automatic refresh: before the token expires, without any request', async () => {
    // A 3-second token is refreshed 2 s before it ends (the smallest margin).
    const short = await start({ cookies: true, accessTtl: 3, passwordParams: FAST_ARGON2 });
    try {
      const auth = createClient({ baseUrl: short.url, fetch: cookieJar().fetch });
      clients.push(auth);
      const { username } = await newUser(short);
      const first = await auth.login({ username, password });
      const refreshed = await next<TokenChangeEvent>(auth, 'tokenchange');
      assert.equal(refreshed.cause, 'refresh');
      assert.notEqual(refreshed.token?.token, first.token);
      assert.equal((await auth.me()).username, username);
      auth.close();
    } finally {
      await short.close();
    }
  });
});

describe('laissez/client in Chromium: the device token keeps the owner in while strangers are locked out', {
  skip: skipBrowser,
}, () => {
  let server: Running;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** The key the client keeps this server's device token under. */
  let key: string;

  before(async () => {
    // Without cookie mode; the test process guesses from addresses of its own (X-Forwarded-For
    // from loopback, which the server trusts), the browser from 127.0.0.1.
    server = await start({ passwordParams: FAST_ARGON2, trustProxy: '127.0.0.1' });
    key = `laissez:device:${server.url}/`;
    browser = await launch();
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close();
  });

  /** A browser of its own (its own localStorage), on the demo page: the client is served there. */
  async function browserPage(): Promise<{ page: Page; sent: Record<string, unknown>[] }> {
    const context = await browser.newContext();
    context.setDefaultTimeout(60_000);
    contexts.push(context);
    return openPage(context);
  }

  /** A new page of `context`: a new visit, which holds no session (memory mode). */
  async function openPage(
    context: BrowserContext,
  ): Promise<{ page: Page; sent: Record<string, unknown>[] }> {
    const page = await context.newPage();
    const sent: Record<string, unknown>[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/auth/login') sent.push(request.postDataJSON());
    });
    await page.goto(`${server.url}/`);
    return { page, sent };
  }

  /** Logs in with laissez/client as the server serves it; "200", or the AuthError's status and code. */
  function logIn(
    page: Page,
    username: string,
    options: Pick<ClientOptions, 'refreshToken' | 'deviceToken'> = {},
    secret = password,
  ): Promise<string> {
    return page.evaluate(
      async ({ username, secret, options }) => {
        const url = '/assets/client/index.js';
        const { createClient, AuthError } = (await import(url)) as typeof import('../src/index.ts');
        const auth = createClient({ autoRefresh: false, ...options });
        try {
          await auth.login({ username, password: secret });
          return '200';
        } catch (error) {
          return error instanceof AuthError ? `${error.status} ${error.code}` : String(error);
        } finally {
          auth.close();
        }
      },
      { username, secret, options },
    );
  }

  const stored = (page: Page) => page.evaluate((key) => localStorage.getItem(key), key);

  /** Wrong guesses at `username` from the test process, one a new address, until it is locked. */
  async function lockOut(username: string): Promise<void> {
    for (let guess = 1; ; guess++) {
      const r = await call(server.url, 'POST', '/auth/login', {
        body: { username, password: 'a wrong guess' },
        headers: { 'x-forwarded-for': `203.0.113.${guess}` },
      });
      if (r.status === 429) return;
      assert.equal(r.status, 401, JSON.stringify(r.body));
      assert.ok(guess < 50, 'the account never locked');
    }
  }

  test('a client that logged in before still logs in; strangers, and a client without the token, are refused', async () => {
    const { username } = await newUser(server);
    const owner = await browserPage();
    assert.equal(await logIn(owner.page, username), '200');
    const first = await stored(owner.page);
    assert.match(first ?? '', /^d1\./, 'the device token is kept');
    assert.equal(owner.sent[0]!.device_token, undefined, 'none to send the first time');

    // Logs in the same way, with the device token turned off: keeps nothing.
    const careful = await browserPage();
    assert.equal(await logIn(careful.page, username, { deviceToken: 'off' }), '200');
    assert.deepEqual(
      await careful.page.evaluate(() => [localStorage.length, sessionStorage.length]),
      [0, 0],
    );

    await lockOut(username);

    const stranger = await browserPage();
    assert.equal(await logIn(stranger.page, username), '429 too_many_requests');
    assert.equal(
      await logIn(careful.page, username, { deviceToken: 'off' }),
      '429 too_many_requests',
    );

    // The owner comes back (a new page: without cookie mode the session did not outlive the last).
    const visit = await openPage(owner.page.context());
    assert.equal(await logIn(visit.page, username), '200');
    assert.equal(visit.sent[0]!.device_token, first, 'the kept token was sent');
    const second = await stored(visit.page);
    assert.match(second ?? '', /^d1\./);
    assert.notEqual(second, first, 'replaced by the one the server gave with this log-in');

    // Its own wrong guesses spend its own budget; the right password still gets in after them.
    assert.equal(await logIn(visit.page, username, {}, 'a wrong guess'), '401 invalid_credentials');
    assert.equal(await logIn(visit.page, username), '200');
    // The token does not log in by itself: it is only a budget key.
    const alone = await call(server.url, 'POST', '/auth/login', {
      body: { username, password: 'a wrong guess', device_token: await stored(visit.page) },
      headers: { 'x-forwarded-for': '203.0.113.200' },
    });
    assert.equal(alone.status, 401);
  });

  test('what another script wrote under the key is not sent, and the next log-in replaces it', async () => {
    const { username } = await newUser(server);
    for (const junk of ['x'.repeat(401), 'not a token', '{"a":1}', '']) {
      const { page, sent } = await browserPage();
      await page.evaluate(([key, junk]) => localStorage.setItem(key!, junk!), [key, junk]);
      assert.equal(await logIn(page, username), '200', JSON.stringify(junk));
      assert.equal(sent[0]!.device_token, undefined);
      assert.match((await stored(page)) ?? '', /^d1\./);
    }
  });

  test("in cookie mode nothing is kept: the server's HttpOnly cookie holds the device token", async () => {
    const cookies = await start({ cookies: true, passwordParams: FAST_ARGON2 });
    try {
      const { username } = await newUser(cookies);
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      const sent: Record<string, unknown>[] = [];
      page.on('request', (request) => {
        if (new URL(request.url()).pathname === '/auth/login') sent.push(request.postDataJSON());
      });
      await page.goto(`${cookies.url}/`);
      // Left from a time the server ran without cookie mode: sent once (auto), then dropped.
      const old = `laissez:device:${cookies.url}/`;
      await page.evaluate((old) => localStorage.setItem(old, 'd1.left.from.before'), old);
      assert.equal(await logIn(page, username), '200');
      assert.equal(sent[0]!.device_token, 'd1.left.from.before');
      assert.equal(await page.evaluate((old) => localStorage.getItem(old), old), null);
      assert.equal(await logIn(page, username, { refreshToken: 'cookie' }), '200');
      assert.equal(sent[1]!.device_token, undefined);
      assert.equal(await page.evaluate(() => localStorage.length), 0);
      const device = (await context.cookies()).find((c) => c.name === 'laissez_dev');
      assert.ok(device?.httpOnly, 'the device cookie is HttpOnly');
    } finally {
      await cookies.close();
    }
  });
});
