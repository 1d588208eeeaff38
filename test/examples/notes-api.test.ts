// examples/notes-api as a second service: the auth server and the notes API run as two real
// processes on loopback. The notes API is given the auth server's URL and nothing else, and
// checks tokens with the public keys of its JWKS: per-user notes, refused tokens, a key
// rotation that it follows without a restart, and a third process, the stats reporter, that
// calls it with a client-credentials token of its own.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  cleanEnv,
  laissez,
  type Service,
  startService,
} from '../../packages/server/test/helpers/processes.ts';
import {
  type AuthServer,
  headerOf,
  NOTES_API,
  request,
  runScript,
  STATS_REPORTER,
  startAuthServer,
  waitFor,
  withBadSignature,
  withClaims,
} from './processes.ts';

interface Note {
  id: string;
  text: string;
  created_at: string;
}

describe('examples/notes-api: a resource server that trusts the auth server through its JWKS', {
  timeout: 120_000,
}, () => {
  let root: string;
  let authData: string;
  let auth: AuthServer | undefined;
  let notes: Service | undefined;
  let notesEnv: Record<string, string>;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'laissez-notes-api-'));
    authData = join(root, 'auth');
    const notesDir = join(root, 'notes');
    await mkdir(notesDir);
    auth = await startAuthServer(authData, {
      LAISSEZ_ALG: 'EdDSA',
      LAISSEZ_KEY_RELOAD: '1s',
      LAISSEZ_KEY_PUBLISH_DELAY: '2s',
      LAISSEZ_LOG_LEVEL: 'warn',
      // Admins' log-ins carry notes:stats, the scope of GET /admin/stats.
      LAISSEZ_ROLE_SCOPES: 'admin=notes:stats',
    });
    // Everything the notes API is told: where the auth server is, and its own settings. It runs
    // in a directory of its own (its database is the default ./notes.db there), away from the
    // auth server's data directory.
    notesEnv = { AUTH_ISSUER: auth.issuer, NOTES_PORT: '0', JWKS_COOLDOWN: '500' };
    notes = await startService(NOTES_API, [], {
      name: 'notes-api',
      // `laissez/express` from the TypeScript sources, as every other test, not from a build.
      nodeArgs: ['--conditions=laissez-source'],
      env: cleanEnv(notesEnv),
      cwd: notesDir,
    });
  });

  after(async () => {
    const codes = await Promise.all([notes?.stop(), auth?.stop()]);
    await rm(root, { recursive: true, force: true });
    // Both stop cleanly on SIGTERM (checked after the clean-up, which must happen anyway).
    for (const code of codes) if (code !== undefined) assert.equal(code, 0);
  });

  const alice = { username: 'alice', email: 'alice@example.com', password: 'alice password' };
  const bob = { username: 'bob', email: 'bob@example.com', password: 'bob password' };
  const tokens = { alice: '', bob: '' };
  let aliceId = '';
  let aliceNote: Note;

  const notesUrl = (path: string) => `${notes!.url}${path}`;
  async function logIn(user: { username: string; password: string }): Promise<string> {
    const reply = await request(`${auth!.url}/auth/login`, {
      json: { username: user.username, password: user.password },
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return reply.body!['access_token'] as string;
  }

  test('the notes API is given no secret: only the issuer URL, and the JWKS holds public keys', async () => {
    assert.deepEqual(Object.keys(notesEnv).sort(), ['AUTH_ISSUER', 'JWKS_COOLDOWN', 'NOTES_PORT']);
    assert.ok(!Object.keys(cleanEnv(notesEnv)).some((key) => key.startsWith('LAISSEZ_')));
    assert.equal((await request(notesUrl('/healthz'))).status, 200);
    const jwks = await request(auth!.jwksUrl);
    const keys = jwks.body!['keys'] as Array<Record<string, unknown>>;
    assert.equal(keys.length, 1);
    assert.equal(keys[0]!['kty'], 'OKP');
    for (const secret of ['d', 'k', 'p', 'q']) assert.ok(!(secret in keys[0]!), secret);
  });

  test('each user reads, writes and deletes only their own notes', async () => {
    for (const user of [alice, bob]) {
      const reply = await request(`${auth!.url}/auth/register`, { json: user });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      if (user === alice) aliceId = (reply.body!['user'] as { id: string }).id;
    }
    tokens.alice = await logIn(alice);
    tokens.bob = await logIn(bob);
    assert.equal(headerOf(tokens.alice).alg, 'EdDSA');

    const created = await request(notesUrl('/notes'), {
      token: tokens.alice,
      json: { text: 'buy oat milk' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    aliceNote = created.body!['note'] as Note;
    assert.equal(aliceNote.text, 'buy oat milk');
    assert.equal(created.headers.get('location'), `/notes/${aliceNote.id}`);
    const other = await request(notesUrl('/notes'), {
      token: tokens.alice,
      json: { text: 'call the plumber' },
    });
    assert.equal(other.status, 201);
    const otherId = (other.body!['note'] as Note).id;

    const list = await request(notesUrl('/notes'), { token: tokens.alice });
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('cache-control'), 'no-store');
    assert.deepEqual(
      (list.body!['notes'] as Note[]).map((n) => n.text),
      ['buy oat milk', 'call the plumber'],
    );
    const read = await request(notesUrl(`/notes/${aliceNote.id}`), { token: tokens.alice });
    assert.equal(read.status, 200);
    assert.deepEqual(read.body!['note'], aliceNote);

    // Bob sees none of Alice's notes, and her note ids are "no such note" to him, as is a made-up id.
    const bobs = await request(notesUrl('/notes'), { token: tokens.bob });
    assert.deepEqual(bobs.body, { notes: [] });
    for (const [method, id] of [
      ['GET', aliceNote.id],
      ['DELETE', aliceNote.id],
      ['GET', 'no-such-id'],
    ] as const) {
      const reply = await request(notesUrl(`/notes/${id}`), { method, token: tokens.bob });
      assert.equal(reply.status, 404, `${method} ${id}`);
      assert.deepEqual(reply.body, { error: 'not_found', error_description: 'no such note' });
    }
    const bobNote = await request(notesUrl('/notes'), {
      token: tokens.bob,
      json: { text: "bob's note" },
    });
    assert.equal(bobNote.status, 201);

    // Alice deletes one of hers; Bob's attempt above changed nothing.
    const deleted = await request(notesUrl(`/notes/${otherId}`), {
      method: 'DELETE',
      token: tokens.alice,
    });
    assert.equal(deleted.status, 204);
    const again = await request(notesUrl(`/notes/${otherId}`), {
      method: 'DELETE',
      token: tokens.alice,
    });
    assert.equal(again.status, 404);
    const left = await request(notesUrl('/notes'), { token: tokens.alice });
    assert.deepEqual(left.body, { notes: [aliceNote] });
  });

  test('a note is a JSON object with a non-empty text of at most 10 000 characters', async () => {
    for (const [body, description] of [
      [{ text: '' }, /must not be empty/],
      [{ text: 'x'.repeat(10_001) }, /longer than 10000 characters/],
      [{ text: 42 }, /must be a string/],
      [{ text: 'hi', owner: aliceId }, /unknown field "owner"/],
      [['a list'], /JSON object/],
    ] as Array<[unknown, RegExp]>) {
      const reply = await request(notesUrl('/notes'), { token: tokens.alice, json: body });
      assert.equal(reply.status, 400, JSON.stringify(body).slice(0, 40));
      assert.equal(reply.body!['error'], 'invalid_request');
      assert.match(reply.body!['error_description'] as string, description);
    }
    const notJson = await fetch(notesUrl('/notes'), {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.alice}`, 'content-type': 'application/json' },
      body: '{"text": "unfinished',
    });
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as { error: string }).error, 'invalid_request');
    const huge = await request(notesUrl('/notes'), {
      token: tokens.alice,
      json: { text: 'x'.repeat(100_000) },
    });
    assert.equal(huge.status, 413);
    assert.equal(huge.body!['error'], 'invalid_request');
    const exactly = await request(notesUrl('/notes'), {
      token: tokens.alice,
      json: { text: 'é'.repeat(10_000) },
    });
    assert.equal(exactly.status, 201);
    await request(notesUrl(`/notes/${(exactly.body!['note'] as Note).id}`), {
      method: 'DELETE',
      token: tokens.alice,
    });
  });

  test('a missing, tampered or foreign token is refused with 401; a missing role with 403', async () => {
    const missing = await request(notesUrl('/notes'));
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
    assert.equal(missing.body!['error'], 'invalid_token');

    // Claims changed under the same signature (made an admin, or someone else), and a signature
    // changed under the same claims.
    for (const forged of [
      withClaims(tokens.alice, { roles: ['admin'] }),
      withClaims(tokens.bob, { sub: aliceId }),
      withBadSignature(tokens.alice),
    ]) {
      for (const path of ['/notes', '/admin/stats']) {
        const reply = await request(notesUrl(path), { token: forged });
        assert.equal(reply.status, 401, path);
        assert.deepEqual(reply.body, {
          error: 'invalid_token',
          error_description: 'the access token signature is not valid',
        });
        assert.match(reply.headers.get('www-authenticate')!, /^Bearer error="invalid_token"/);
      }
    }

    // A refresh token is not an access token.
    const login = await request(`${auth!.url}/auth/login`, {
      json: { username: bob.username, password: bob.password },
    });
    const refused = await request(notesUrl('/notes'), {
      token: login.body!['refresh_token'] as string,
    });
    assert.equal(refused.status, 401);

    const notAdmin = await request(notesUrl('/admin/stats'), { token: tokens.alice });
    assert.equal(notAdmin.status, 403);
    assert.equal(notAdmin.body!['error'], 'insufficient_scope');
  });

  test('a second service reads /admin/stats with a client-credentials token; without the scope it is refused', async () => {
    const added = await laissez([
      'clients',
      'add',
      'stats-reporter',
      '--scopes',
      'notes:stats',
      '--data-dir',
      authData,
      '--json',
    ]);
    assert.equal(added.code, 0, added.stderr);
    const secret = (JSON.parse(added.stdout) as { client_secret: string }).client_secret;
    const reporterEnv = {
      AUTH_ISSUER: auth!.issuer,
      NOTES_URL: notes!.url,
      CLIENT_ID: 'stats-reporter',
      CLIENT_SECRET: secret,
    };
    const report = await runScript(STATS_REPORTER, reporterEnv);
    assert.equal(report.code, 0, report.stderr);
    // The users of the earlier tests have written notes.
    const stats = JSON.parse(report.stdout) as { owners: number; notes: number };
    assert.deepEqual(Object.keys(stats), ['owners', 'notes']);
    assert.ok(stats.owners >= 1 && stats.notes >= stats.owners, report.stdout);

    // The token it gets: the client is its subject, no user, no roles, the scope it asked for.
    const token = await request(`${auth!.url}/oauth/token`, {
      form: { grant_type: 'client_credentials', scope: 'notes:stats' },
      basic: ['stats-reporter', secret],
    });
    assert.equal(token.status, 200, JSON.stringify(token.body));
    const claims = JSON.parse(
      Buffer.from((token.body!['access_token'] as string).split('.')[1]!, 'base64url').toString(),
    ) as Record<string, unknown>;
    assert.equal(claims['sub'], 'stats-reporter');
    assert.equal(claims['client_id'], 'stats-reporter');
    assert.equal(claims['scope'], 'notes:stats');
    assert.equal('roles' in claims, false);

    // A client registered without the scope cannot ask for it; a wrong secret is no client.
    const other = await laissez(['clients', 'add', 'mailer', '--data-dir', authData, '--json']);
    assert.equal(other.code, 0, other.stderr);
    const otherSecret = (JSON.parse(other.stdout) as { client_secret: string }).client_secret;
    const noScope = await runScript(STATS_REPORTER, {
      ...reporterEnv,
      CLIENT_ID: 'mailer',
      CLIENT_SECRET: otherSecret,
    });
    assert.equal(noScope.code, 1);
    assert.match(noScope.stderr, /the token endpoint answered 400 \(invalid_scope: /);
    const wrong = await runScript(STATS_REPORTER, {
      ...reporterEnv,
      CLIENT_SECRET: `cs_${'A'.repeat(43)}`,
    });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /answered 401 \(invalid_client: /);
    // A token without the scope (the mailer's) is refused by the notes API itself.
    const mailerToken = await request(`${auth!.url}/oauth/token`, {
      form: { grant_type: 'client_credentials' },
      basic: ['mailer', otherSecret],
    });
    const refused = await request(notesUrl('/admin/stats'), {
      token: mailerToken.body!['access_token'] as string,
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body!['error'], 'insufficient_scope');
    for (const run of [report, noScope, wrong]) {
      assert.ok(!`${run.stdout}${run.stderr}`.includes(secret), 'the secret is never printed');
    }
    const missing = await runScript(STATS_REPORTER, { AUTH_ISSUER: auth!.issuer });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /CLIENT_ID and CLIENT_SECRET/);
  });

  test('a key rotation needs no restart: new tokens carry the new kid, old ones still work', async () => {
    const oldKid = headerOf(tokens.alice).kid!;
    assert.ok(oldKid);

    const rotated = await laissez([
      'keys',
      'rotate',
      '--data-dir',
      authData,
      '--key-publish-delay',
      '2s',
      '--json',
    ]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const { rotated: fresh } = JSON.parse(rotated.stdout) as {
      rotated: { kid: string; alg: string; state: string; activatesAt: string };
    };
    assert.notEqual(fresh.kid, oldKid);
    assert.equal(fresh.alg, 'EdDSA');
    assert.equal(fresh.state, 'published');

    // The auth server reloads its keys (every second here) and publishes the new one at once.
    const kids = await waitFor('both keys in the JWKS', async () => {
      const jwks = await request(auth!.jwksUrl);
      const kids = (jwks.body!['keys'] as Array<{ kid: string }>).map((k) => k.kid);
      return kids.includes(fresh.kid) ? kids : undefined;
    });
    assert.deepEqual(kids.sort(), [oldKid, fresh.kid].sort());

    // After the publish delay, log-ins get tokens signed with the new key. (Waiting for the
    // time first keeps log-ins few: they are rate-limited.)
    const activatesAt = Date.parse(fresh.activatesAt);
    await waitFor('the new key to activate', async () => Date.now() >= activatesAt || undefined);
    const newToken = await waitFor(
      'a token signed with the new key',
      async () => {
        const token = await logIn(alice);
        return headerOf(token).kid === fresh.kid ? token : undefined;
      },
      { timeout: 15_000, interval: 500 },
    );

    // The notes API has only the old key cached: the unknown kid makes it fetch the JWKS again.
    const withNew = await request(notesUrl('/notes'), { token: newToken });
    assert.equal(withNew.status, 200, JSON.stringify(withNew.body));
    assert.deepEqual(withNew.body, { notes: [aliceNote] });
    // The old key stays published until its tokens have expired.
    const withOld = await request(notesUrl('/notes'), { token: tokens.alice });
    assert.equal(withOld.status, 200, JSON.stringify(withOld.body));
    assert.deepEqual(withOld.body, { notes: [aliceNote] });
    const created = await request(notesUrl('/notes'), {
      token: newToken,
      json: { text: 'written with the new key' },
    });
    assert.equal(created.status, 201);

    const listed = await laissez(['keys', 'list', '--data-dir', authData, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const states = Object.fromEntries(
      (JSON.parse(listed.stdout) as Array<{ kid: string; state: string }>).map((k) => [
        k.kid,
        k.state,
      ]),
    );
    assert.deepEqual(states, { [fresh.kid]: 'signing', [oldKid]: 'retiring' });
  });
});
