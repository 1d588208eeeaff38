// `laissez clients` as a process against a running server's data directory: a client added on
// the command line gets a token at POST /oauth/token with the secret printed once; rotate-secret
// replaces it (the old one fails at once); remove ends it; refusals are usage errors (exit 2).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import { laissez } from '../helpers/processes.ts';
import { FAST_ARGON2, type Running, start } from '../helpers/server.ts';

describe('laissez clients', () => {
  let server: Running;
  let dir: string;
  const clients = (...args: string[]) =>
    laissez(['clients', ...args, '--data-dir', server.dataDir]);
  const token = (id: string, secret: string, scope?: string) =>
    fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        ...(scope ? { scope } : {}),
      }),
    });

  before(async () => {
    server = await start({ passwordParams: FAST_ARGON2 });
    dir = await mkdtemp(join(tmpdir(), 'laissez-clients-'));
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('add prints the secret once; the client gets a token with its scopes', async () => {
    const r = await clients('add', 'billing', '--scopes', 'invoices:read,invoices:write', '--json');
    assert.equal(r.code, 0, r.stderr);
    const { client, client_secret } = JSON.parse(r.stdout) as {
      client: Record<string, unknown>;
      client_secret: string;
    };
    assert.match(client_secret, /^cs_[A-Za-z0-9_-]{43}$/);
    assert.equal(client['auth_method'], 'client_secret_basic');
    const answer = await token('billing', client_secret, 'invoices:read');
    assert.equal(answer.status, 200);
    const body = (await answer.json()) as { access_token: string; scope: string };
    assert.equal(body.scope, 'invoices:read');
    assert.equal(jose.decodeJwt(body.access_token)['client_id'], 'billing');

    const listed = await clients('list', '--json');
    assert.equal(listed.code, 0);
    assert.doesNotMatch(listed.stdout, /cs_|secret_hash/);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as Array<{ id: string }>).map((c) => c.id),
      ['billing'],
    );
  });

  test('rotate-secret: the old secret fails at once, the new one works', async () => {
    const added = await clients('add', 'mailer', '--json');
    const old = (JSON.parse(added.stdout) as { client_secret: string }).client_secret;
    const r = await clients('rotate-secret', 'mailer', '--json');
    assert.equal(r.code, 0, r.stderr);
    const fresh = (JSON.parse(r.stdout) as { client_secret: string }).client_secret;
    assert.notEqual(fresh, old);
    assert.equal((await token('mailer', old)).status, 401);
    assert.equal((await token('mailer', fresh)).status, 200);
  });

  test('remove: no more tokens; an unknown client exits 1', async () => {
    const added = await clients('add', 'gone', '--json');
    const secret = (JSON.parse(added.stdout) as { client_secret: string }).client_secret;
    assert.equal((await clients('remove', 'gone')).code, 0);
    assert.equal((await token('gone', secret)).status, 401);
    assert.equal((await clients('remove', 'gone')).code, 1);
    assert.equal((await clients('rotate-secret', 'gone')).code, 1);
  });

  test('private_key_jwt with a JWK Set file: no secret; refusals are usage errors', async () => {
    const { publicKey } = await jose.generateKeyPair('ES256');
    const file = join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify({ keys: [await jose.exportJWK(publicKey)] }));
    const r = await clients('add', 'reports', '--auth-method', 'private_key_jwt', '--jwks', file);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /secret/);
    for (const args of [
      ['add', 'billing'],
      ['add', 'laissez'],
      ['add', 'bad id'],
      ['add', 'x', '--scopes', 'a"b'],
      ['add', 'y', '--auth-method', 'private_key_jwt'],
      ['add', 'z', '--grant-types', 'password'],
      ['rotate-secret', 'reports'],
    ]) {
      const refused = await clients(...args);
      assert.equal(refused.code, 2, `${args.join(' ')}: ${refused.stdout}`);
    }
  });
});
