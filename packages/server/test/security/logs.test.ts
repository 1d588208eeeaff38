// Tokens in logs by a path no route has (docs/hardening.md, "Tokens in logs and error answers"): a
// mistaken client puts a token in the URL path itself. The request log must not keep it, at any
// level. A real `laissez serve --log-level trace` process; its whole output is searched.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { serve } from '../helpers/processes.ts';
import { call } from '../helpers/server.ts';

test('a token in the path of a request is not logged', async () => {
  const dataDir = join(tmpdir(), `laissez-sec-logs-${process.pid}-${Date.now()}`);
  const server = await serve(['--port', '0', '--data-dir', dataDir, '--log-level', 'trace']);
  try {
    const { url } = server;
    const password = 'path-canary pass phrase';
    const user = { username: 'pathlog', email: 'pathlog@example.com', password };
    assert.equal((await call(url, 'POST', '/auth/register', { body: user })).status, 201);
    const login = await call<{ access_token: string; refresh_token: string; device_token: string }>(
      url,
      'POST',
      '/auth/login',
      { body: { username: user.username, password } },
    );
    assert.equal(login.status, 200);
    const tokens = [login.body.access_token, login.body.refresh_token, login.body.device_token];
    for (const token of tokens) {
      for (const path of [`/auth/${token}`, `/${token}`, `/auth/me/${token}?x=1`]) {
        const reply = await call(url, 'GET', path);
        assert.equal(reply.status, 404);
        assert.equal(reply.body.error, 'not_found');
      }
    }
    const log = server.stdout() + server.stderr();
    // The routes still log their paths, and the 404s what is left of theirs.
    assert.match(log, /"url":"\/auth\/login"/);
    assert.match(log, /"url":"\/auth\/me\/\[redacted\]\?x=\[redacted\]"/);
    for (const token of tokens) {
      // Any 24 characters of it: a prefix would be as useful to a reader as the whole.
      for (let at = 0; at + 24 <= token.length; at += 12) {
        assert.ok(!log.includes(token.slice(at, at + 24)), `token text at ${at} in the log`);
      }
    }
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
