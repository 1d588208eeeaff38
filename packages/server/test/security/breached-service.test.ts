// The breached-password check's failure modes (docs/security.md, "Guessing passwords"): the range
// service is another party, so what it answers is bounded in time and size and never followed
// elsewhere. A service that misbehaves is unavailable: the password is allowed (fail open, as
// documented) and a warning is logged, without the password or its hash prefix. Over real HTTP.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { BREACHED_ANSWER_MAX } from '../../src/auth/password-policy.ts';
import { call, FAST_ARGON2, start } from '../helpers/server.ts';

const breached = 'a breached pass phrase 7';
const sha1 = createHash('sha1').update(breached).digest('hex').toUpperCase();
const listed = `${sha1.slice(5)}:99`;
const padding = `${'0'.repeat(35)}:0\r\n`;

let server: Server;
let base: string;
const timers = new Set<NodeJS.Timeout>();

before(async () => {
  server = createServer((request, response) => {
    const mode = (request.url ?? '').split('/')[1];
    if (mode === 'huge') {
      // Chunked, no length: padding lines past the cap, then the password's line.
      response.writeHead(200, { 'content-type': 'text/plain' });
      const lines = Math.ceil((BREACHED_ANSWER_MAX * 2) / padding.length);
      const block = padding.repeat(1000);
      let sent = 0;
      const more = () => {
        while (sent < lines) {
          sent += 1000;
          if (!response.write(block)) return void response.once('drain', more);
        }
        response.end(listed);
      };
      response.on('error', () => {});
      more();
    } else if (mode === 'declared') {
      response.writeHead(200, { 'content-length': String(BREACHED_ANSWER_MAX + 1) });
      response.end(listed.padEnd(BREACHED_ANSWER_MAX + 1, '\n'));
    } else if (mode === 'redirect') {
      // To a service that lists every password: following it would let the first say anything.
      response.writeHead(302, { location: `${base}/listed/${sha1.slice(0, 5)}` });
      response.end();
    } else if (mode === 'slow') {
      // Headers at once, then a line every 200 ms, the listed one last.
      response.writeHead(200, { 'content-type': 'text/plain' });
      let left = 20;
      const tick = setInterval(() => {
        if (--left > 0) response.write(padding);
        else {
          clearInterval(tick);
          timers.delete(tick);
          response.end(listed);
        }
      }, 200);
      timers.add(tick);
      response.on('close', () => clearInterval(tick));
    } else if (mode === 'malformed') {
      response.end(
        ['not a line', ':', `${sha1.slice(5)}`, `${sha1.slice(5)}:`, `${sha1.slice(5)}:abc`].join(
          '\n',
        ),
      );
    } else if (mode === 'listed') {
      response.end(listed);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  for (const timer of timers) clearInterval(timer);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

let users = 0;
async function registerWith(mode: string) {
  const logs: string[] = [];
  const checked = await start({
    passwordParams: FAST_ARGON2,
    breachedPasswords: { url: `${base}/${mode}`, timeout: 1000 },
  });
  checked.app.log.warn = ((message: string) => {
    logs.push(String(message));
  }) as typeof checked.app.log.warn;
  try {
    const n = ++users;
    const started = performance.now();
    const reply = await call(checked.url, 'POST', '/auth/register', {
      body: { username: `breach${n}x`, email: `breach${n}@example.com`, password: breached },
    });
    return { reply, logs, ms: performance.now() - started };
  } finally {
    await checked.close();
  }
}

describe('a misbehaving breached-password service', () => {
  test('the listed password is refused by a well-behaved service (the control)', async () => {
    const { reply } = await registerWith('listed');
    assert.equal(reply.status, 400);
    assert.equal(reply.body['error'], 'weak_password');
  });

  for (const [mode, why] of [
    ['huge', /more than \d+ bytes/],
    ['declared', /more than \d+ bytes/],
    ['redirect', /failed/],
    ['slow', /timed out/],
  ] as const) {
    test(`${mode}: unavailable, the password allowed, a warning without the password`, async () => {
      const { reply, logs } = await registerWith(mode);
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      const warning = logs.find((line) => /breached-password service/.test(line));
      assert.ok(warning, logs.join('\n'));
      assert.match(warning, why);
      assert.ok(!warning.includes(breached) && !warning.includes(sha1.slice(0, 5)));
    });
  }

  test('malformed lines are not matches', async () => {
    const { reply } = await registerWith('malformed');
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
  });
});
