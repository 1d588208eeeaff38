// `laissez serve --claims-module FILE --role-scopes …` and `laissez users set-metadata`, run as
// processes: the module is loaded once at start, its claims reach the tokens, the metadata an
// administrator sets from the command line is what it reads, and a module that returns a
// reserved claim or throws gets 503 with the reason in the server's log and nothing in the answer.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeUnverified } from '../../../jwt/src/index.ts';
import { laissez, type Service, serve } from '../helpers/processes.ts';
import { call } from '../helpers/server.ts';

const PASSWORD = 'a claims test pass phrase';
const CANARY = 'canary-3b1d-in-the-thrown-error';

describe('laissez serve --claims-module and laissez users set-metadata', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'laissez-claims-'));
    await writeFile(
      join(dir, 'claims.mjs'),
      `let loads = (globalThis.__claimsLoads ?? 0) + 1;
globalThis.__claimsLoads = loads;
export default async ({ user, session, request, client_id, scope }) => ({
  tenant: user?.app_metadata.tenant ?? null,
  loads,
  has_session: session !== null,
  agent: request.user_agent,
  seen_client: client_id,
  seen_scope: scope,
});
`,
    );
    await writeFile(join(dir, 'reserved.mjs'), `export default () => ({ sub: 'someone-else' });\n`);
    await writeFile(
      join(dir, 'throws.mjs'),
      `export default () => { throw new Error(${JSON.stringify(CANARY)}); };\n`,
    );
    await writeFile(join(dir, 'not-a-function.mjs'), 'export default { tenant: 1 };\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A server on its own data directory, and a user added with the CLI. */
  async function serveWith(module: string, extra: string[] = []) {
    const dataDir = await mkdtemp(join(dir, 'data-'));
    const added = await laissez(
      ['users', 'add', '--username', 'odin', '--email', 'odin@example.com', '--password-stdin'],
      { input: `${PASSWORD}\n`, env: { LAISSEZ_DATA_DIR: dataDir } },
    );
    assert.equal(added.code, 0, added.stderr);
    const server = await serve([
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--claims-module',
      join(dir, module),
      ...extra,
    ]);
    return { server, dataDir };
  }

  const logIn = (server: Service) =>
    call<{ access_token?: string; error?: string }>(server.url, 'POST', '/auth/login', {
      body: { username: 'odin', password: PASSWORD },
      headers: { 'user-agent': 'claims-cli-test' },
    });

  test('the module returns the claims; set-metadata from the command line reaches them', async () => {
    const { server, dataDir } = await serveWith('claims.mjs', [
      '--role-scopes',
      'user=notes:read notes:write;admin=admin',
    ]);
    try {
      const set = await laissez(
        [
          'users',
          'set-metadata',
          'odin',
          '--metadata',
          '{"tenant":"acme","plan":"pro"}',
          '--data-dir',
          dataDir,
          '--json',
        ],
        {},
      );
      assert.equal(set.code, 0, set.stderr);
      assert.deepEqual(JSON.parse(set.stdout).app_metadata, { tenant: 'acme', plan: 'pro' });

      for (let i = 0; i < 2; i++) {
        const login = await logIn(server);
        assert.equal(login.status, 200, JSON.stringify(login.body));
        const { payload } = decodeUnverified(login.body.access_token!);
        assert.equal(payload['tenant'], 'acme');
        assert.equal(payload['has_session'], true);
        assert.equal(payload['agent'], 'claims-cli-test');
        assert.equal(payload['seen_client'], 'laissez');
        assert.equal(payload['seen_scope'], 'notes:read notes:write');
        assert.equal(payload['scope'], 'notes:read notes:write');
        // Loaded once at start, not per token.
        assert.equal(payload['loads'], 1);
      }

      // Refusals: not JSON (usage), not an object, unknown user; nothing changes.
      const setMeta = (args: string[]) =>
        laissez(['users', 'set-metadata', ...args, '--data-dir', dataDir]);
      assert.equal((await setMeta(['odin', '--metadata', '{tenant:'])).code, 2);
      assert.equal((await setMeta(['odin'])).code, 2);
      const array = await setMeta(['odin', '--metadata', '[1,2]']);
      assert.equal(array.code, 1);
      assert.match(array.stderr, /invalid_request: app_metadata must be a JSON object/);
      const big = await setMeta(['odin', '--metadata', JSON.stringify({ x: 'y'.repeat(5000) })]);
      assert.equal(big.code, 1);
      assert.match(big.stderr, /at most 4096/);
      assert.equal((await setMeta(['nobody', '--metadata', '{}'])).code, 1);
      const login = await logIn(server);
      assert.equal(decodeUnverified(login.body.access_token!).payload['tenant'], 'acme');
    } finally {
      await server.stop();
    }
  });

  for (const [module, reason, logged] of [
    ['reserved.mjs', 'claims_invalid', /the reserved claim \\"sub\\"/],
    ['throws.mjs', 'claims_failed', new RegExp(CANARY)],
  ] as const) {
    test(`a module that ${module === 'throws.mjs' ? 'throws' : 'returns sub'}: 503, the reason logged, nothing leaked`, async () => {
      const { server } = await serveWith(module);
      try {
        const login = await logIn(server);
        assert.equal(login.status, 503);
        assert.equal(login.body.error, 'temporarily_unavailable');
        assert.equal(login.body.access_token, undefined);
        assert.doesNotMatch(JSON.stringify(login.body), new RegExp(`${CANARY}|someone-else`));
        // The log line may reach the pipe a moment after the answer.
        const said = new RegExp(`"reason":"${reason}"`);
        const deadline = Date.now() + 5000;
        while (!said.test(server.stdout()) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const log = server.stdout() + server.stderr();
        assert.match(log, said);
        assert.match(log, logged);
        assert.doesNotMatch(log, new RegExp(PASSWORD));
        assert.doesNotMatch(log, /"level":50[^\n]*(rt_|eyJ)/);
      } finally {
        await server.stop();
      }
    });
  }

  test('a module that cannot load, or exports no function, stops the start', async () => {
    for (const [module, message] of [
      ['not-a-function.mjs', /must export a function as its default export/],
      ['missing.mjs', /could not be loaded/],
    ] as const) {
      const dataDir = await mkdtemp(join(dir, 'data-'));
      const r = await laissez([
        'serve',
        '--port',
        '0',
        '--data-dir',
        dataDir,
        '--claims-module',
        join(dir, module),
      ]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr + r.stdout, message);
    }
  });
});
