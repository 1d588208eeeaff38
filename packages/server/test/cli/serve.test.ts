// `laissez serve` as a real process: it starts on the embedded store, serves the log-in flow over
// HTTP, keeps its data across restarts, stops cleanly on SIGTERM and refuses bad settings.

import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeUnverified } from '../../../jwt/src/index.ts';
import { laissez, serve } from '../helpers/processes.ts';

/** `laissez serve ...args` run to its exit (bad settings, a busy port). */
const run = (args: string[], env: Record<string, string> = {}) =>
  laissez(['serve', ...args], { env });

async function post(url: string, body: unknown) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe('laissez serve', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'laissez-serve-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const user = { username: 'sam', email: 'sam@example.com', password: 'sam password' };

  test('serves the log-in flow from a fresh data directory and stops cleanly on SIGTERM', async () => {
    const data = join(dir, 'data');
    const served = await serve(['--port', '0', '--log-level', 'silent'], {
      LAISSEZ_DATA_DIR: data,
    });
    try {
      assert.equal((await post(`${served.url}/auth/register`, user)).status, 201);
      const login = await post(`${served.url}/auth/login`, {
        email: user.email,
        password: user.password,
      });
      assert.equal(login.status, 200);
      // With --port 0 and no --issuer, the default issuer names the port actually chosen.
      const port = new URL(served.url).port;
      assert.equal(
        decodeUnverified(login.body.access_token as string).payload.iss,
        `http://localhost:${port}`,
      );
      const me = await fetch(`${served.url}/auth/me`, {
        headers: { authorization: `Bearer ${login.body.access_token}` },
      });
      assert.equal(me.status, 200);
      assert.equal(((await me.json()) as { user: { username: string } }).user.username, 'sam');
    } finally {
      assert.equal(await served.stop(), 0);
    }
    assert.match(served.stderr(), /SIGTERM: closing/);
    assert.ok(
      existsSync(join(data, 'laissez.db')),
      'the database file is under the data directory',
    );
  });

  test('users and signing keys survive a restart: an old token still verifies', async () => {
    const data = join(dir, 'data');
    // Each start picks another free port; the issuer stays what it is configured to be.
    const settings = { LAISSEZ_ISSUER: 'https://auth.example' };
    const first = await serve(
      ['--port', '0', '--log-level', 'silent', '--data-dir', data],
      settings,
    );
    let token: string;
    try {
      const login = await post(`${first.url}/auth/login`, {
        username: 'sam',
        password: user.password,
      });
      assert.equal(login.status, 200);
      token = login.body.access_token as string;
    } finally {
      await first.stop();
    }
    const second = await serve(
      ['--port', '0', '--log-level', 'silent', '--data-dir', data],
      settings,
    );
    try {
      const me = await fetch(`${second.url}/auth/me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(me.status, 200);
      assert.equal(decodeUnverified(token).payload.iss, 'https://auth.example');
    } finally {
      await second.stop();
    }
  });

  test('a bad setting is exit 2 with a message naming the flag and the variable', async () => {
    for (const [args, extra, message] of [
      [['--port', 'eighty'], {}, /--port \/ PORT must be 0 to 65535/],
      [[], { PORT: '70000' }, /--port \/ PORT must be 0 to 65535/],
      [['--alg', 'none'], {}, /--alg \/ LAISSEZ_ALG must be one of HS256, EdDSA, ES256, RS256/],
      [['--access-ttl', 'soon'], {}, /--access-ttl \/ LAISSEZ_ACCESS_TTL must be a duration/],
      // A rotated-out key is kept 60 s past its tokens: every instance must reload within that.
      [['--key-reload', '5m'], {}, /--key-reload \/ LAISSEZ_KEY_RELOAD must be at most 60s/],
      [
        ['--key-reload', '30s'],
        { LAISSEZ_KEY_PUBLISH_DELAY: '20s' },
        /--key-publish-delay \(20s\) must be longer than --key-reload \(30s\)/,
      ],
      [['--tls-cert', 'cert.pem'], {}, /--tls-cert and --tls-key go together/],
      [['--cookies', 'maybe'], {}, /--cookies \/ LAISSEZ_COOKIES must be on or off/],
      [['--prot', '3000'], {}, /unknown option '--prot'; did you mean '--port'\?/],
    ] as Array<[string[], Record<string, string>, RegExp]>) {
      const r = await run([...args, '--data-dir', join(dir, 'unused')], extra);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.ok(!existsSync(join(dir, 'unused')), 'nothing is created when the settings are wrong');
  });

  test('TLS files that are missing, swapped or mismatched are named with their setting', async () => {
    const fixtures = new URL('../../../jwt/test/fixtures/', import.meta.url);
    const cert = fileURLToPath(new URL('cert.pem', fixtures));
    const key = fileURLToPath(new URL('cert-key.pem', fixtures));
    const otherKey = join(dir, 'other-key.pem');
    await writeFile(
      otherKey,
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      }),
    );
    for (const [certFile, keyFile, message] of [
      [
        join(dir, 'missing.pem'),
        key,
        /--tls-cert \/ LAISSEZ_TLS_CERT ".*missing\.pem" cannot be read: no such file/,
      ],
      [
        key,
        cert,
        /--tls-cert \/ LAISSEZ_TLS_CERT ".*cert-key\.pem" is not a PEM certificate but a private key: are --tls-cert and --tls-key swapped\?/,
      ],
      [cert, cert, /--tls-key \/ LAISSEZ_TLS_KEY ".*cert\.pem" is not a PEM private key/],
      [
        cert,
        otherKey,
        /--tls-key \/ LAISSEZ_TLS_KEY ".*other-key\.pem" is not the key of the certificate/,
      ],
    ] as Array<[string, string, RegExp]>) {
      const r = await run([
        '--tls-cert',
        certFile,
        '--tls-key',
        keyFile,
        '--data-dir',
        join(dir, 'unused'),
      ]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /PEM routines|unexpected error|\n\s+at /);
    }
  });

  test('a PostgreSQL that cannot be reached at start is exit 1 naming the setting, not an unexpected error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    const r = await run(['--log-level', 'silent'], {
      DATABASE_URL: `postgres://laissez:s3cret-pw@127.0.0.1:${port}/nowhere`,
      LAISSEZ_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /cannot reach the database at postgres:\/\/laissez:\*\*\*@127\.0\.0\.1:\d+\/nowhere \(--database-url \/ DATABASE_URL\)/,
    );
    assert.doesNotMatch(r.stderr, /s3cret-pw|unexpected error|\n\s+at /);
  });

  test('a port in use is exit 1 with a hint', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const r = await run([
        '--port',
        String(port),
        '--log-level',
        'silent',
        '--data-dir',
        join(dir, 'busy'),
      ]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`port ${port} is in use; choose another with --port or PORT`),
      );
    } finally {
      blocker.close();
    }
  });

  test('a Redis that is not there: one log line for the outage, not one per reconnection', async () => {
    // A port with nothing behind it: the client retries every 50 ms, 100 ms, ... up to 2 s.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    const served = await serve(['--port', '0', '--log-level', 'info'], {
      LAISSEZ_DATA_DIR: join(dir, 'redis-down'),
      REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    try {
      // Rate limits fall back to this instance's memory: the server still works.
      assert.equal((await post(`${served.url}/auth/register`, user)).status, 201);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const lines = served.stdout().split('\n');
      // Six or more attempts fail in 3 s; one line says so until a minute has passed.
      assert.equal(lines.filter((l) => l.includes('Redis connection error')).length, 1);
      assert.equal(lines.filter((l) => l.includes('Redis still unreachable')).length, 0);
    } finally {
      assert.equal(await served.stop(), 0);
    }
  });

  test('--help lists every setting with its environment variable', async () => {
    const { code, stdout: out } = await laissez(['serve', '--help']);
    assert.equal(code, 0);
    for (const name of [
      '--port / PORT',
      '--data-dir / LAISSEZ_DATA_DIR',
      '--tls-key / LAISSEZ_TLS_KEY',
    ])
      assert.ok(out.includes(name), name);
  });
});
