// "One npm install away": the package as published (npm pack) installs into a fresh project and
// works there from node_modules, where Node does not strip types: the library subpaths, the
// middleware and the `laissez` command all run from the built JavaScript in dist/.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const ODIN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiT2RpbiJ9.FtLFoA9kG8B_gvKz0nEzx4uDYAlsgWhxTGEUfinYcf8';

describe('the packed package in a fresh project', () => {
  let dir: string;
  let files: string[];
  const env = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'laissez-pack-'));
    // --ignore-scripts: pack what `npm run build` (pretest) just built, without rebuilding.
    const { stdout } = await run(
      'npm',
      ['pack', '--json', '--ignore-scripts', '--pack-destination', dir],
      { cwd: root, env, maxBuffer: 16 * 1024 * 1024 },
    );
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: { path: string }[] }>;
    files = packed!.files.map((f) => f.path);
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-save', join(dir, packed!.filename), 'express@5'],
      { cwd: dir, env, maxBuffer: 16 * 1024 * 1024 },
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the tarball holds the built JavaScript, the types and the docs, and no tests or data', () => {
    for (const path of [
      'dist/src/jwt/index.js',
      'dist/src/jwt/index.d.ts',
      'dist/src/middleware/express.js',
      'dist/bin/laissez.js',
      'dist/src/store/index.js',
      'dist/src/store/index.d.ts',
      'dist/src/store/testing/index.js',
      'dist/src/store/testing/index.d.ts',
      'README.md',
      'docs/jwt.md',
    ]) {
      assert.ok(files.includes(path), `${path} is packed`);
    }
    assert.ok(!files.some((f) => /^(test|bench|data|\.scratch|examples)\//.test(f)), 'no extras');
  });

  test('laissez/jwt and laissez/express work from node_modules', async () => {
    const script = `
      import { createSigner, createVerifier } from 'laissez/jwt';
      import { laissez } from 'laissez/express';
      const key = 'a consumer secret of 32 bytes!!!';
      const token = createSigner({ key, algorithm: 'HS256', typ: 'at+jwt', expiresIn: 60 })({ sub: 'u1' });
      const { payload } = createVerifier({ key, algorithms: ['HS256'] })(token);
      const middleware = laissez({ key, algorithms: ['HS256'] });
      console.log(JSON.stringify({ sub: payload.sub, middleware: typeof middleware }));
    `;
    await writeFile(join(dir, 'consumer.js'), script);
    const { stdout } = await run(process.execPath, ['consumer.js'], { cwd: dir });
    assert.deepEqual(JSON.parse(stdout), { sub: 'u1', middleware: 'function' });
    // Nothing under node_modules/laissez needed type stripping.
    const installed = await readdir(join(dir, 'node_modules', 'laissez', 'dist', 'src', 'jwt'));
    assert.ok(installed.includes('index.js'));
  });

  test("laissez/store and laissez/store/testing: a store of one's own and SQLite pass the suite from node_modules", async () => {
    // A third party's adapter (the in-memory one of test/store, written against laissez/store
    // only) and the built-in SQLite store, both run through the published suite.
    await copyFile(
      join(root, 'test', 'store', 'fixtures', 'memory-store.ts'),
      join(dir, 'memory-store.ts'),
    );
    const script = `
      import { randomUUID } from 'node:crypto';
      import { openSqliteStore, ConflictError, StoreUnavailableError, unrotatable } from 'laissez/store';
      import { testStore } from 'laissez/store/testing';
      import { openMemoryStore } from './memory-store.ts';
      const data = new URL('./store-data/', import.meta.url).pathname;
      testStore(
        { open: async () => openMemoryStore('shared'), freshPlace: randomUUID, openAt: openMemoryStore },
        { name: 'memory' },
      );
      testStore(
        {
          open: async () => openSqliteStore({ path: data + 'shared.db' }),
          freshPlace: () => data + randomUUID() + '.db',
          openAt: (path) => openSqliteStore({ path }),
        },
        { name: 'sqlite' },
      );
      if (typeof ConflictError !== 'function' || typeof StoreUnavailableError !== 'function' ||
          typeof unrotatable !== 'function') throw new Error('missing exports');
    `;
    await writeFile(join(dir, 'store.test.js'), script);
    const { stdout } = await run(
      process.execPath,
      ['--test', '--test-reporter=tap', '--test-concurrency=1', 'store.test.js'],
      // Without NODE_TEST_CONTEXT, which this runner sets: the child reports as a run of its own.
      { cwd: dir, env: { ...env, NODE_TEST_CONTEXT: undefined }, maxBuffer: 16 * 1024 * 1024 },
    );
    assert.match(stdout, /^# fail 0$/m);
    assert.match(stdout, /^# skipped 0$/m);
    // Every test of the suite ran and passed, for both stores (the suite has some thirty).
    const passed = Number(/^# pass (\d+)$/m.exec(stdout)?.[1]);
    assert.equal(passed, Number(/^# tests (\d+)$/m.exec(stdout)?.[1]));
    assert.ok(passed >= 2 * 30, `passed ${passed}`);
  });

  test('the laissez command runs from node_modules/.bin', async () => {
    const bin = join(dir, 'node_modules', '.bin', 'laissez');
    const { stdout } = await run(bin, ['token', 'decode', ODIN, '--json'], { cwd: dir });
    assert.equal(JSON.parse(stdout).payload.name, 'Odin');
    const version = await run(bin, ['--version'], { cwd: dir });
    assert.match(version.stdout, /^laissez \d+\.\d+\.\d+/);
  });
});
