// "One npm install away", per use: each package as published (npm pack) installs into a fresh
// project, works there from node_modules (where Node does not strip types: everything runs from
// the built JavaScript in dist/), and brings no more than its budget. The budgets are the figures
// each package's README states; a dependency added, or a package grown past them, fails here.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const ODIN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiT2RpbiJ9.FtLFoA9kG8B_gvKz0nEzx4uDYAlsgWhxTGEUfinYcf8';
// Without the sources' condition that `npm test` sets (a consumer has no sources), and without
// NODE_TEST_CONTEXT, so that a child test run reports as a run of its own.
const env = {
  ...process.env,
  NODE_OPTIONS: undefined,
  NODE_TEST_CONTEXT: undefined,
  npm_config_audit: 'false',
  npm_config_fund: 'false',
};
const big = { env, maxBuffer: 16 * 1024 * 1024 };

/** What a use installs, at most: packages in node_modules (its own included) and their bytes. */
const BUDGETS = {
  jwt: { packages: 1, bytes: 250_000 },
  client: { packages: 1, bytes: 150_000 },
  middleware: { packages: 4, bytes: 600_000 },
  server: { packages: 115, bytes: 45_000_000 },
} as const;
/** @laissez/client bundled and minified for a browser (esbuild), then gzipped. */
const CLIENT_BUNDLE_GZIP_BYTES = 10_000;

/** Every installed package under node_modules (nested ones included) and the bytes of its files. */
async function installed(dir: string): Promise<{ names: string[]; bytes: number }> {
  const names: string[] = [];
  let bytes = 0;
  async function walk(path: string, packageDir: boolean): Promise<void> {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.name === '.package-lock.json' || entry.name === '.bin') continue;
      if (entry.isDirectory()) {
        if (packageDir && entry.name.startsWith('@')) await walk(child, true);
        else {
          if (packageDir) names.push(child.slice(child.indexOf('node_modules/') + 13));
          await walk(child, entry.name === 'node_modules');
        }
      } else bytes += (await lstat(child)).size;
    }
  }
  await walk(join(dir, 'node_modules'), true);
  return { names: names.sort(), bytes };
}

describe('the packed packages, each in a fresh project', () => {
  let work: string;
  const tarball: Record<'jwt' | 'client' | 'middleware' | 'server', string> = {
    jwt: '',
    client: '',
    middleware: '',
    server: '',
  };
  let laissezFiles: string[] = [];
  const project: Record<string, string> = {};

  /** A fresh project with `specs` installed (tarballs and registry packages). */
  async function projectWith(name: string, specs: string[]): Promise<string> {
    const dir = join(work, name);
    await mkdir(dir);
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: `consumer-${name}`, private: true, type: 'module' }),
    );
    await run('npm', ['install', '--prefer-offline', ...specs], { cwd: dir, ...big });
    return dir;
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'laissez-pack-'));
    // --ignore-scripts: pack what `npm run build` (pretest) just built, without rebuilding.
    const { stdout } = await run(
      'npm',
      ['pack', '--workspaces', '--json', '--ignore-scripts', '--pack-destination', work],
      { cwd: root, ...big },
    );
    const packed = JSON.parse(stdout) as Array<{
      name: string;
      filename: string;
      files: { path: string }[];
    }>;
    for (const p of packed) {
      const key = p.name === 'laissez' ? 'server' : (p.name.slice('@laissez/'.length) as 'jwt');
      tarball[key] = join(work, p.filename);
      if (p.name === 'laissez') laissezFiles = p.files.map((f) => f.path);
    }
    const all = [tarball.jwt, tarball.client, tarball.middleware, tarball.server];
    const [jwt, client, middleware, server] = await Promise.all([
      projectWith('jwt', [tarball.jwt]),
      projectWith('client', [tarball.client]),
      projectWith('middleware', [tarball.jwt, tarball.middleware]),
      projectWith('server', all),
    ]);
    Object.assign(project, { jwt, client, middleware, server });
  });
  after(() => rm(work, { recursive: true, force: true }));

  describe('@laissez/jwt', () => {
    test(`installs itself alone: ${BUDGETS.jwt.packages} package, at most ${BUDGETS.jwt.bytes / 1000} kB`, async () => {
      const { names, bytes } = await installed(project.jwt!);
      assert.deepEqual(names, ['@laissez/jwt']);
      assert.ok(bytes <= BUDGETS.jwt.bytes, `${bytes} bytes`);
    });

    test('signs and verifies from node_modules', async () => {
      await writeFile(
        join(project.jwt!, 'use.js'),
        `import { createSigner, createVerifier } from '@laissez/jwt';
         const key = 'a consumer secret of 32 bytes!!!';
         const token = createSigner({ key, algorithm: 'HS256', expiresIn: 60 })({ sub: 'u1' });
         console.log(createVerifier({ key, algorithms: ['HS256'] })(token).payload.sub);`,
      );
      const { stdout } = await run(process.execPath, ['use.js'], { cwd: project.jwt!, env });
      assert.equal(stdout.trim(), 'u1');
    });
  });

  describe('@laissez/client', () => {
    test(`installs itself alone: ${BUDGETS.client.packages} package, at most ${BUDGETS.client.bytes / 1000} kB`, async () => {
      const { names, bytes } = await installed(project.client!);
      assert.deepEqual(names, ['@laissez/client']);
      assert.ok(bytes <= BUDGETS.client.bytes, `${bytes} bytes`);
    });

    test(`bundled for a browser, minified and gzipped: at most ${CLIENT_BUNDLE_GZIP_BYTES / 1000} kB`, async () => {
      const result = await build({
        stdin: { contents: "export * from '@laissez/client';", resolveDir: project.client! },
        bundle: true,
        minify: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        write: false,
        logLevel: 'silent',
      });
      const code = result.outputFiles[0]!.contents;
      const gzipped = gzipSync(code, { level: 9 }).length;
      assert.match(Buffer.from(code).toString(), /createClient/);
      assert.ok(gzipped <= CLIENT_BUNDLE_GZIP_BYTES, `${gzipped} bytes gzipped`);
    });
  });

  describe('@laissez/middleware', () => {
    test(`installs @laissez/jwt, cookie and fastify-plugin: ${BUDGETS.middleware.packages} packages, at most ${BUDGETS.middleware.bytes / 1000} kB`, async () => {
      const { names, bytes } = await installed(project.middleware!);
      assert.deepEqual(names, ['@laissez/jwt', '@laissez/middleware', 'cookie', 'fastify-plugin']);
      assert.ok(bytes <= BUDGETS.middleware.bytes, `${bytes} bytes`);
    });

    test('with the framework the app already has, it guards a route over HTTP', async () => {
      // The framework is a peer: the app's own, installed after the budget was counted.
      await run('npm', ['install', '--prefer-offline', 'express@5'], {
        cwd: project.middleware!,
        ...big,
      });
      await writeFile(
        join(project.middleware!, 'api.js'),
        `import express from 'express';
         import { createSigner } from '@laissez/jwt';
         import { laissez } from '@laissez/middleware/express';
         const key = 'a consumer secret of 32 bytes!!!';
         const token = createSigner({ key, algorithm: 'HS256', typ: 'at+jwt', expiresIn: 60 })({ sub: 'u1' });
         const app = express();
         app.get('/me', laissez({ key, algorithms: ['HS256'] }), (req, res) => res.json({ sub: req.auth.subject }));
         const server = app.listen(0, '127.0.0.1', async () => {
           const url = 'http://127.0.0.1:' + server.address().port + '/me';
           const ok = await fetch(url, { headers: { authorization: 'Bearer ' + token } });
           const refused = await fetch(url);
           console.log(JSON.stringify({ ok: ok.status, body: await ok.json(), refused: refused.status }));
           server.close();
         });`,
      );
      const { stdout } = await run(process.execPath, ['api.js'], { cwd: project.middleware!, env });
      assert.deepEqual(JSON.parse(stdout), { ok: 200, body: { sub: 'u1' }, refused: 401 });
    });
  });

  describe('laissez (the auth server and CLI)', () => {
    test(`installs at most ${BUDGETS.server.packages} packages and ${BUDGETS.server.bytes / 1e6} MB`, async () => {
      const { names, bytes } = await installed(project.server!);
      for (const name of ['laissez', '@laissez/jwt', '@laissez/middleware', '@laissez/client']) {
        assert.ok(names.includes(name), name);
      }
      assert.ok(names.length <= BUDGETS.server.packages, `${names.length} packages`);
      assert.ok(bytes <= BUDGETS.server.bytes, `${bytes} bytes`);
    });

    test('the tarball holds the built JavaScript, the types and the pages, and no tests or data', () => {
      for (const path of [
        'dist/src/reexports/jwt.js',
        'dist/src/reexports/jwt.d.ts',
        'dist/src/server/index.js',
        'dist/bin/laissez.js',
        'bin/laissez.mjs',
        'dist/src/store/index.js',
        'dist/src/store/index.d.ts',
        'dist/src/store/testing/index.js',
        'dist/src/store/testing/index.d.ts',
        'src/web/index.html',
        'README.md',
      ]) {
        assert.ok(laissezFiles.includes(path), `${path} is packed`);
      }
      assert.ok(!laissezFiles.some((f) => /^(test|bench|data|\.scratch|examples)\//.test(f)));
      assert.ok(!laissezFiles.some((f) => f.startsWith('src/') && f.endsWith('.ts')), 'no sources');
    });

    test('laissez/jwt and laissez/express are @laissez/jwt and @laissez/middleware/express', async () => {
      const script = `
        import { createSigner, createVerifier } from 'laissez/jwt';
        import * as jwt from '@laissez/jwt';
        import { laissez } from 'laissez/express';
        import * as express from '@laissez/middleware/express';
        const key = 'a consumer secret of 32 bytes!!!';
        const token = createSigner({ key, algorithm: 'HS256', typ: 'at+jwt', expiresIn: 60 })({ sub: 'u1' });
        const { payload } = createVerifier({ key, algorithms: ['HS256'] })(token);
        console.log(JSON.stringify({
          sub: payload.sub,
          same: createSigner === jwt.createSigner && laissez === express.laissez,
        }));
      `;
      await writeFile(join(project.server!, 'consumer.js'), script);
      const { stdout } = await run(process.execPath, ['consumer.js'], {
        cwd: project.server!,
        env,
      });
      assert.deepEqual(JSON.parse(stdout), { sub: 'u1', same: true });
    });

    test('every subpath users import resolves from node_modules, to the package it names', async () => {
      const script = `
        const names = {};
        for (const path of ['laissez/jwt', 'laissez/server', 'laissez/fastify', 'laissez/express',
          'laissez/hono', 'laissez/client', 'laissez/redis', 'laissez/store']) {
          names[path] = Object.keys(await import(path)).sort();
        }
        const same = async (a, b) =>
          JSON.stringify(Object.keys(await import(a)).sort()) === JSON.stringify(Object.keys(await import(b)).sort());
        console.log(JSON.stringify({
          names,
          client: await same('laissez/client', '@laissez/client'),
          hono: await same('laissez/hono', '@laissez/middleware/hono'),
          fastify: await same('laissez/fastify', '@laissez/middleware/fastify'),
        }));
      `;
      await writeFile(join(project.server!, 'subpaths.js'), script);
      const { stdout } = await run(process.execPath, ['subpaths.js'], {
        cwd: project.server!,
        env,
      });
      const { names, client, hono, fastify } = JSON.parse(stdout) as {
        names: Record<string, string[]>;
        client: boolean;
        hono: boolean;
        fastify: boolean;
      };
      assert.ok(names['laissez/jwt']!.includes('createVerifier'));
      assert.ok(names['laissez/server']!.includes('createAuthServer'));
      assert.ok(names['laissez/client']!.includes('createClient'));
      assert.ok(names['laissez/redis']!.includes('createRevocationFeed'));
      assert.ok(names['laissez/redis']!.includes('RedisCounterStore'));
      assert.ok(names['laissez/store']!.includes('openSqliteStore'));
      for (const framework of ['laissez/fastify', 'laissez/express', 'laissez/hono']) {
        assert.ok(names[framework]!.includes('laissez') && names[framework]!.includes('default'));
      }
      assert.deepEqual({ client, hono, fastify }, { client: true, hono: true, fastify: true });
    });

    test("laissez/store and laissez/store/testing: a store of one's own and SQLite pass the suite from node_modules", async () => {
      // A third party's adapter (the in-memory one of laissez's tests, written against
      // laissez/store only) and the built-in SQLite store, both run through the published suite.
      const dir = project.server!;
      await copyFile(
        join(root, 'packages/server/test/store/fixtures/memory-store.ts'),
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
        { cwd: dir, ...big },
      );
      assert.match(stdout, /^# fail 0$/m);
      assert.match(stdout, /^# skipped 0$/m);
      // Every test of the suite ran and passed, for both stores (the suite has some thirty).
      const passed = Number(/^# pass (\d+)$/m.exec(stdout)?.[1]);
      assert.equal(passed, Number(/^# tests (\d+)$/m.exec(stdout)?.[1]));
      assert.ok(passed >= 2 * 30, `passed ${passed}`);
    });

    test('the laissez command runs from node_modules/.bin', async () => {
      const bin = join(project.server!, 'node_modules', '.bin', 'laissez');
      const { stdout } = await run(bin, ['token', 'decode', ODIN, '--json'], {
        cwd: project.server!,
        env,
      });
      assert.equal(JSON.parse(stdout).payload.name, 'Odin');
      const version = await run(bin, ['--version'], { cwd: project.server!, env });
      assert.match(version.stdout, /^laissez \d+\.\d+\.\d+/);
    });
  });
});
