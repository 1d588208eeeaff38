// The auth server's security features over real HTTP(S): cookie delivery and its CSRF defence,
// TLS with HSTS, logs without secrets, and password rehashing when the parameters change.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ACCESS_COOKIE, REFRESH_COOKIE } from '../../src/server/index.ts';
import { cleanEnv, serve, startService } from '../helpers/processes.ts';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';
import { callFrom, exchange, open, parseRaw, readAll } from '../helpers/wire.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../jwt/test/fixtures/${name}`, import.meta.url));

/** The Set-Cookie header for one cookie name, split into its attributes (lower-cased names). */
function cookieOf(headers: Headers, name: string) {
  const line = headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  if (!line) return undefined;
  const [pair, ...attributes] = line.split(';').map((p) => p.trim());
  const value = pair!.slice(name.length + 1);
  const attrs = new Map(
    attributes.map((a) => {
      const eq = a.indexOf('=');
      return eq === -1 ? [a.toLowerCase(), ''] : [a.slice(0, eq).toLowerCase(), a.slice(eq + 1)];
    }),
  );
  return { value, attrs };
}

describe('cookie mode', () => {
  let server: Running;
  const user = { username: 'crumb', email: 'crumb@example.com', password: 'crumb password 1' };
  const ALLOWED = 'https://app.example.com';
  before(async () => {
    server = await start({
      cookies: true,
      allowedOrigins: [ALLOWED],
      passwordParams: FAST_ARGON2,
    });
    assert.equal((await call(server.url, 'POST', '/auth/register', { body: user })).status, 201);
  });
  after(() => server.close());

  const login = async () => {
    const r = await call<Record<string, unknown>>(server.url, 'POST', '/auth/login', {
      body: { username: user.username, password: user.password },
    });
    assert.equal(r.status, 200);
    const access = cookieOf(r.headers, ACCESS_COOKIE)!;
    const refresh = cookieOf(r.headers, REFRESH_COOKIE)!;
    return { r, access, refresh };
  };

  test('log-in sets HttpOnly, Secure, SameSite cookies; the refresh cookie is scoped to /auth', async () => {
    const { r, access, refresh } = await login();
    assert.ok(access && refresh, 'both cookies are set');
    assert.equal(access.value, r.body.access_token);
    for (const cookie of [access, refresh]) {
      assert.ok(cookie.attrs.has('httponly'), 'HttpOnly');
      assert.ok(cookie.attrs.has('secure'), 'Secure');
    }
    assert.equal(access.attrs.get('samesite'), 'Lax');
    assert.equal(access.attrs.get('path'), '/');
    assert.equal(refresh.attrs.get('samesite'), 'Strict');
    assert.equal(refresh.attrs.get('path'), '/auth');
    // The refresh token stays in its cookie: no script can read it from the body.
    assert.equal(r.body.refresh_token, undefined);
    assert.match(refresh.value, /^rt_/);
  });

  test('the access cookie authenticates /auth/me; header and cookie together are 400', async () => {
    const { access, r } = await login();
    const cookie = `${ACCESS_COOKIE}=${access.value}`;
    const me = await call(server.url, 'GET', '/auth/me', { headers: { cookie } });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    const both = await call(server.url, 'GET', '/auth/me', {
      headers: { cookie },
      token: r.body.access_token as string,
    });
    assert.equal(both.status, 400);
    assert.equal(both.body.error, 'invalid_request');
  });

  test('cookie-authenticated state changes need an allowed Origin (CSRF)', async () => {
    const { refresh, access } = await login();
    const refreshCookie = `${REFRESH_COOKIE}=${refresh.value}`;
    const foreign = await call(server.url, 'POST', '/auth/refresh', {
      headers: { cookie: refreshCookie, origin: 'https://evil.example' },
    });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.body.error, 'invalid_origin');
    // A cross-site request without Origin but with Sec-Fetch-Site is refused too.
    const crossSite = await call(server.url, 'POST', '/auth/refresh', {
      headers: { cookie: refreshCookie, 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(crossSite.status, 403);
    // The refused attempts spent nothing: the allowed origin can still use the token.
    const allowed = await call(server.url, 'POST', '/auth/refresh', {
      headers: { cookie: refreshCookie, origin: ALLOWED },
    });
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    assert.ok(cookieOf(allowed.headers, REFRESH_COOKIE)?.value.startsWith('rt_'));

    const accessCookie = `${ACCESS_COOKIE}=${access.value}`;
    const logoutAll = await call(server.url, 'POST', '/auth/logout-all', {
      headers: { cookie: accessCookie, origin: 'https://evil.example' },
    });
    assert.equal(logoutAll.status, 403);
    assert.equal(logoutAll.body.error, 'invalid_origin');
    // Behind a proxy's Basic auth the header holds no bearer token: the cookie is used, and it is
    // still a cookie, so the Origin is still checked.
    const basic = 'Basic dXNlcjpwYXNz';
    const behindProxy = await call(server.url, 'POST', '/auth/logout-all', {
      headers: { cookie: accessCookie, authorization: basic, origin: 'https://evil.example' },
    });
    assert.equal(behindProxy.status, 403);
    assert.equal(behindProxy.body.error, 'invalid_origin');
    const me = await call(server.url, 'GET', '/auth/me', {
      headers: { cookie: accessCookie, authorization: basic },
    });
    assert.equal(me.status, 200, JSON.stringify(me.body));
  });

  test('a refresh without body or cookie is 401 invalid_grant: there is no session', async () => {
    const r = await call(server.url, 'POST', '/auth/refresh', { headers: { origin: ALLOWED } });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_grant');
  });

  test('log-out clears both cookies', async () => {
    const { refresh } = await login();
    const r = await call(server.url, 'POST', '/auth/logout', {
      headers: { cookie: `${REFRESH_COOKIE}=${refresh.value}`, origin: ALLOWED },
    });
    assert.equal(r.status, 204);
    for (const name of [ACCESS_COOKIE, REFRESH_COOKIE]) {
      const cleared = cookieOf(r.headers, name);
      assert.ok(cleared, `${name} is cleared`);
      assert.equal(cleared.value, '');
    }
  });
});

describe('TLS', () => {
  test('with a certificate and key it serves HTTPS only, with HSTS', async () => {
    const server = await start({
      https: { cert: fixture('cert.pem'), key: fixture('cert-key.pem') },
      passwordParams: FAST_ARGON2,
    });
    try {
      assert.match(server.url, /^https:/);
      const response = await new Promise<{ status: number; headers: Record<string, unknown> }>(
        (resolve, reject) => {
          // The fixture certificate is self-signed for "laissez test": trust exactly it.
          const req = httpsRequest(`${server.url}/healthz`, {
            ca: fixture('cert.pem'),
            checkServerIdentity: () => undefined,
          });
          req.on('response', (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
          });
          req.on('error', reject);
          req.end();
        },
      );
      assert.equal(response.status, 200);
      assert.equal(
        response.headers['strict-transport-security'],
        'max-age=31536000; includeSubDomains',
      );
      // Plain HTTP to the TLS port gets no answer from the app.
      await assert.rejects(fetch(`${server.url.replace('https:', 'http:')}/healthz`));
    } finally {
      await server.close();
    }
  });
});

describe('logs', () => {
  test('a real server process logs requests but never a password, a token or a hash', async () => {
    const dataDir = join(tmpdir(), `laissez-logs-${process.pid}-${Date.now()}`);
    const server = await serve([
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--log-level',
      'trace',
      '--cookies',
      'on',
    ]);
    const { url } = server;
    try {
      const password = 'log-canary password 9f3a';
      const user = { username: 'logger', email: 'logger@example.com', password };
      assert.equal((await call(url, 'POST', '/auth/register', { body: user })).status, 201);
      const login = await call<{ access_token: string }>(url, 'POST', '/auth/login', {
        body: { email: user.email, password },
      });
      assert.equal(login.status, 200);
      const refresh = cookieOf(login.headers, REFRESH_COOKIE)!.value;
      const access = login.body.access_token;
      await call(url, 'GET', '/auth/me', { token: access });
      await call(url, 'GET', '/auth/me', { headers: { cookie: `${ACCESS_COOKIE}=${access}` } });
      await call(url, 'POST', '/auth/login', {
        body: { email: user.email, password: 'wrong one!' },
      });
      const refreshed = await call<{ access_token: string }>(url, 'POST', '/auth/refresh', {
        body: { refresh_token: refresh },
      });
      assert.equal(refreshed.status, 200);
      // Every other way a token can travel: the query (RFC 6750 §2.3) on a route, on a 404, bare,
      // and inside requests the parser refuses before any route (their raw bytes are not logged).
      await call(url, 'GET', `/auth/me?access_token=${access}`);
      await call(url, 'GET', `/auth/nowhere?access_token=${access}&refresh_token=${refresh}`);
      await call(url, 'GET', `/auth/me?${access}`);
      await call(url, 'POST', `/auth/login?password=${encodeURIComponent(password)}`, {
        body: { email: user.email, password },
      });
      await call(url, 'POST', `/auth/refresh?refresh_token=${refresh}`, { body: 'not json' });
      await exchange(url, `GET /auth/%zz?access_token=${access} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await exchange(
        url,
        `GET /auth/me?code=${refresh} HTTP/1.1\r\nAuthorization: Bearer ${access}\r\nBroken header\r\n\r\n`,
      );
      await exchange(
        url,
        `GET /auth/me?token=${refresh} HTTP/1.1\r\nAuthorization: Bearer ${access}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      );
      assert.equal(await server.stop(), 0);
      const output = server.stdout() + server.stderr();

      assert.match(output, /"url":"\/auth\/login"/, 'requests are logged');
      assert.match(
        output,
        /"url":"\/auth\/me\?access_token=\[redacted\]"/,
        'the query is redacted',
      );
      const db = new DatabaseSync(join(dataDir, 'laissez.db'), { readOnly: true });
      const { password_hash: hash } = db
        .prepare('SELECT password_hash FROM users WHERE username = ?')
        .get('logger') as { password_hash: string };
      db.close();
      for (const secret of [
        password,
        'wrong one!',
        access,
        refreshed.body.access_token,
        refresh,
        hash,
        '$argon2id',
      ]) {
        assert.ok(!output.includes(secret), `the log holds ${secret.slice(0, 12)}…`);
      }
      // Access tokens share their header; not even a recognisable part of one is logged.
      assert.ok(!output.includes(access.split('.')[1]!), 'no token payload in the log');
    } finally {
      await server.stop();
      const { rm } = await import('node:fs/promises');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('password rehash', () => {
  test('a log-in rehashes a password stored with other argon2id parameters', async () => {
    const user = { username: 'rehash', email: 'rehash@example.com', password: 'rehash password 1' };
    const one = await start({ passwordParams: FAST_ARGON2 });
    assert.equal((await call(one.url, 'POST', '/auth/register', { body: user })).status, 201);
    await one.close({ keepData: true });
    const storedHash = () => {
      const db = new DatabaseSync(join(one.dataDir, 'laissez.db'), { readOnly: true });
      const row = db
        .prepare('SELECT password_hash FROM users WHERE username = ?')
        .get(user.username) as { password_hash: string };
      db.close();
      return row.password_hash;
    };
    const before = storedHash();
    assert.match(before, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    // The default parameters now: OWASP's 19 MiB, t=2, p=1.
    const two = await start({}, one.dataDir);
    try {
      const login = await call(two.url, 'POST', '/auth/login', {
        body: { username: user.username, password: user.password },
      });
      assert.equal(login.status, 200);
      const after = storedHash();
      assert.match(after, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      assert.notEqual(after, before);
      // The new hash works; the password did not change.
      const again = await call(two.url, 'POST', '/auth/login', {
        body: { email: user.email, password: user.password },
      });
      assert.equal(again.status, 200);
      const wrong = await call(two.url, 'POST', '/auth/login', {
        body: { email: user.email, password: 'not the password' },
      });
      assert.equal(wrong.status, 401);
    } finally {
      await two.close();
    }
  });
});

describe('behind a proxy', () => {
  test('--trust-proxy 1 takes the client IP the proxy saw, not one the client wrote', async () => {
    const server = await start({ trustProxy: 1, passwordParams: FAST_ARGON2 });
    try {
      const attempt = (i: number) =>
        call(server.url, 'POST', '/auth/login', {
          // A new account each time: the per-account lock-out never applies, only the per-IP limit.
          body: { username: `nobody${i}`, password: 'not a password' },
          // The client forges the left entry each time; the proxy appended the real 5.5.5.5.
          headers: { 'x-forwarded-for': `10.9.${i >> 8}.${i & 255}, 5.5.5.5` },
        });
      const statuses: number[] = [];
      for (let i = 0; i < 31; i++) statuses.push((await attempt(i)).status);
      // 30 a minute per IP: the 31st is refused, whatever the forged entries said.
      assert.deepEqual(new Set(statuses.slice(0, 30)), new Set([401]), statuses.join());
      assert.equal(statuses.at(-1), 429, statuses.join());
    } finally {
      await server.close();
    }
  });

  /** A proxy process in front of `target` that appends the address it saw to X-Forwarded-For. */
  const proxyTo = (target: string) =>
    startService(
      fileURLToPath(new URL('../fixtures/forwarding-proxy.ts', import.meta.url)),
      [target],
      {
        name: 'proxy',
        env: cleanEnv(),
      },
    );

  /**
   * Clients at 127.0.0.2 and 127.0.0.3 log in through a real appending proxy. The first spends
   * its per-address allowance (`perIp`); the second must still get its own; and the first cannot
   * escape its bucket by writing its own X-Forwarded-For, through the proxy or around it.
   */
  async function bucketsPerClient(server: string, proxy: string, perIp: number) {
    const login = (from: string, base: string, i: number, forged?: string) =>
      callFrom(from, base, 'POST', '/auth/login', {
        // A new account each time: the per-account lock-out never applies, only the per-IP limit.
        body: { username: `nobody${from.replaceAll('.', '')}x${i}`, password: 'not a password' },
        ...(forged ? { headers: { 'x-forwarded-for': forged } } : {}),
      });
    const first: number[] = [];
    for (let i = 0; i <= perIp; i++) first.push((await login('127.0.0.2', proxy, i)).status);
    assert.deepEqual(new Set(first.slice(0, perIp)), new Set([401]), first.join());
    assert.equal(first.at(-1), 429, `the first client's allowance is spent: ${first.join()}`);
    // Another client behind the same proxy has its own bucket.
    const other = await login('127.0.0.3', proxy, 0);
    assert.equal(other.status, 401, 'another client behind the proxy is not limited');
    // A forged entry, through the proxy: the proxy appends the real address after it.
    const forged = await login('127.0.0.2', proxy, 100, '127.0.0.77');
    assert.equal(forged.status, 429, 'a forged X-Forwarded-For through the proxy is not believed');
    return { login, server };
  }

  test('--trust-proxy 1 (the CLI) behind one appending proxy: a bucket per client, forgeries refused', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'laissez-proxy-'));
    const server = await serve(['--port', '0', '--data-dir', dataDir, '--log-level', 'silent'], {
      LAISSEZ_TRUST_PROXY: '1',
    });
    const proxy = await proxyTo(server.url);
    try {
      // The default allowance: 30 log-ins a minute per client address.
      await bucketsPerClient(server.url, proxy.url, 30);
    } finally {
      await proxy.stop();
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('--trust-proxy 127.0.0.1/32 (a CIDR list): a bucket per client, and a direct client cannot choose its address', async () => {
    const server = await start({
      trustProxy: ['127.0.0.1/32', '10.0.0.0/8'],
      passwordParams: FAST_ARGON2,
      rateLimits: {
        loginPerIp: { max: 3, window: 60 },
        loginFailuresPerAccount: { max: 10, window: 60 },
        registerPerIp: { max: 10, window: 60 },
      },
    });
    const proxy = await proxyTo(server.url);
    try {
      const { login } = await bucketsPerClient(server.url, proxy.url, 3);
      // Straight to the server from an untrusted address: its X-Forwarded-For is ignored, so the
      // spent client is still itself, and a fresh one is not counted as the spent one.
      const around = await login('127.0.0.2', server.url, 200, '127.0.0.99');
      assert.equal(around.status, 429, 'a direct client cannot pick a fresh address');
      const framed = await login('127.0.0.4', server.url, 0, '127.0.0.2');
      assert.equal(framed.status, 401, "a direct client cannot spend another client's allowance");
    } finally {
      await proxy.stop();
      await server.close();
    }
  });

  test('a bad --trust-proxy value stops the server at start', async () => {
    const { loadConfig } = await import('../../src/server/config.ts');
    assert.equal(loadConfig({ 'trust-proxy': '2' }, {}).options.trustProxy, 2);
    assert.deepEqual(loadConfig({ 'trust-proxy': '10.0.0.0/8, ::1' }, {}).options.trustProxy, [
      '10.0.0.0/8',
      '::1',
    ]);
    assert.equal(loadConfig({ 'trust-proxy': 'on' }, {}).options.trustProxy, true);
    assert.throws(() => loadConfig({ 'trust-proxy': 'lb.example' }, {}), /trust-proxy/);
    assert.throws(() => loadConfig({ 'trust-proxy': '10.0.0.0/99' }, {}), /trust-proxy/);
  });
});

describe('slow and crowded clients', () => {
  test('a body sent a byte at a time is cut at --request-timeout with 408, and /healthz stays up', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'laissez-slow-'));
    const server = await serve(['--port', '0', '--data-dir', dataDir, '--log-level', 'silent'], {
      LAISSEZ_HEADERS_TIMEOUT: '1s',
      LAISSEZ_REQUEST_TIMEOUT: '1s',
    });
    try {
      const socket = await open(server.url);
      const answer = readAll(socket);
      const length = 200;
      socket.write(
        `POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`,
      );
      // One byte every 50 ms: 10 s for the whole body, far past the 1 s allowed.
      let sent = 0;
      const drip = setInterval(() => {
        if (socket.destroyed || socket.writableEnded || sent === length) return;
        socket.write(' ');
        sent++;
      }, 50);
      const text = await answer;
      clearInterval(drip);
      const reply = parseRaw(text);
      assert.ok(
        sent < length,
        `the connection was cut before the body was complete (${sent} bytes)`,
      );
      assert.equal(reply.status, 408, text);
      assert.equal(JSON.parse(reply.body).error, 'request_timeout');
      assert.equal((await call(server.url, 'GET', '/healthz')).status, 200);
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('headers sent a byte at a time are cut at the headers timeout with 408', async () => {
    const server = await start({ headersTimeout: 300, requestTimeout: 600 });
    try {
      const socket = await open(server.url);
      const answer = readAll(socket);
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      let sent = 0;
      const drip = setInterval(() => {
        if (!socket.destroyed && !socket.writableEnded && sent++ < 400) socket.write('a');
      }, 25);
      const reply = parseRaw(await answer);
      clearInterval(drip);
      assert.ok(sent < 400, 'the connection was cut before the headers were complete');
      assert.equal(reply.status, 408, reply.head);
      assert.deepEqual(Object.keys(JSON.parse(reply.body)), ['error', 'error_description']);
    } finally {
      await server.close();
    }
  });

  test('over --max-connections-per-ip, a new connection is answered 429 and closed; other addresses are served', async () => {
    const server = await start({ maxConnectionsPerIp: 3 });
    const held = await Promise.all([1, 2, 3].map(() => open(server.url, '127.0.0.2')));
    try {
      const extra = await open(server.url, '127.0.0.2');
      const answer = readAll(extra);
      extra.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      const reply = parseRaw(await answer);
      assert.equal(reply.status, 429, reply.head);
      assert.deepEqual(JSON.parse(reply.body).error, 'too_many_connections');
      // Another client address is not affected by the first one's connections.
      assert.equal((await callFrom('127.0.0.3', server.url, 'GET', '/healthz')).status, 200);
      // A held connection is served as usual (the cap refuses new ones, not the ones it let in).
      const first = held[0]!;
      const served = readAll(first);
      first.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.equal(parseRaw(await served).status, 200);
      // Once that one is closed, the address may open another.
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = (await callFrom('127.0.0.2', server.url, 'GET', '/healthz')).status;
      }
      assert.equal(status, 200);
    } finally {
      for (const socket of held) socket.destroy();
      await server.close();
    }
  });

  test('bad timeout and cap settings stop the server at start', async () => {
    const { loadConfig } = await import('../../src/server/config.ts');
    const options = loadConfig(
      {
        'headers-timeout': '5s',
        'request-timeout': '1m',
        'idle-timeout': '2s',
        'max-connections-per-ip': '0',
      },
      {},
    ).options;
    assert.equal(options.headersTimeout, 5000);
    assert.equal(options.requestTimeout, 60_000);
    assert.equal(options.keepAliveTimeout, 2000);
    assert.equal(options.maxConnectionsPerIp, 0);
    assert.throws(
      () => loadConfig({ 'headers-timeout': '1m', 'request-timeout': '30s' }, {}),
      /headers-timeout/,
    );
    assert.throws(() => loadConfig({ 'request-timeout': '0' }, {}), /request-timeout/);
    assert.throws(
      () => loadConfig({ 'max-connections-per-ip': '-1' }, {}),
      /max-connections-per-ip/,
    );
    await assert.rejects(start({ headersTimeout: 5000, requestTimeout: 1000 }), /headersTimeout/);
    await assert.rejects(start({ maxConnectionsPerIp: 1.5 }), /maxConnectionsPerIp/);
  });
});

describe('key rotation settings', () => {
  test('a reload interval over a minute, or a publish delay not longer than it, is refused', async () => {
    // A rotated-out key is kept 60 s past its tokens; an instance may sign with it until it reloads.
    await assert.rejects(start({ keyReloadInterval: 120_000 }), /keyReloadInterval must be/);
    // A key must be in every instance's JWKS before any instance signs with it.
    await assert.rejects(
      start({ keyReloadInterval: 30_000, keyPublishDelay: 20 }),
      /keyPublishDelay \(s\) must be longer than keyReloadInterval/,
    );
    const immediate = await start({ keyReloadInterval: 30_000, keyPublishDelay: 0 });
    await immediate.close();
  });
});
