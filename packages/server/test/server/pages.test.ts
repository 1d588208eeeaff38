// How the pages are served, over HTTP: content types, the Content-Security-Policy of each page,
// caching, that every browser module is JavaScript whose imports resolve to served modules, and
// that the same holds from the build (dist/, as the published package runs).

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { BROWSER_MODULES, PAGE_CSP, toBrowserModule } from '../../src/server/pages.ts';
import { serve } from '../helpers/processes.ts';
import { FAST_ARGON2, type Running, start } from '../helpers/server.ts';

const root = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);

const get = (base: string, path: string, headers: Record<string, string> = {}) =>
  fetch(base + path, { headers });

/** The relative import specifiers of a module. */
function importsOf(code: string): string[] {
  return [...code.matchAll(/\b(?:from|import)\s*(['"])(\.{1,2}\/[^'"]+)\1/g)].map((m) => m[2]!);
}

/** `node --check`: the code parses as an ES module (no TypeScript left in it). */
async function assertParses(path: string, code: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'laissez-web-check-'));
  try {
    const file = join(dir, 'module.mjs');
    writeFileSync(file, code);
    await run(process.execPath, ['--check', file]).catch((error: { stderr?: string }) => {
      assert.fail(`${path} does not parse: ${error.stderr}`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fetches every module from the entry points, following imports; returns path → code. */
async function crawl(base: string): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const queue = ['/assets/web/app.js', '/assets/web/debugger.js'];
  while (queue.length > 0) {
    const path = queue.shift()!;
    if (seen.has(path)) continue;
    const response = await get(base, path);
    assert.equal(response.status, 200, path);
    assert.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8', path);
    const code = await response.text();
    seen.set(path, code);
    for (const specifier of importsOf(code)) {
      queue.push(new URL(specifier, `http://x${path}`).pathname);
    }
  }
  return seen;
}

describe('the pages and assets, from the TypeScript sources', () => {
  let server: Running;
  let plain: Running;
  before(async () => {
    server = await start({ cookies: true, passwordParams: FAST_ARGON2 });
    plain = await start({ passwordParams: FAST_ARGON2 });
  });
  after(async () => {
    await server.close();
    await plain.close();
  });

  test('/ and /debugger: HTML with a strict CSP; the debugger may connect nowhere', async () => {
    for (const [path, connect] of [
      ['/', "connect-src 'self'"],
      ['/debugger', "connect-src 'none'"],
    ] as const) {
      const response = await get(server.url, path);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
      const csp = response.headers.get('content-security-policy') ?? '';
      for (const directive of [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "require-trusted-types-for 'script'",
        connect,
      ]) {
        assert.ok(csp.split('; ').includes(directive), `${path}: ${directive} in ${csp}`);
      }
      assert.ok(!csp.includes('unsafe'), csp);
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(response.headers.get('x-frame-options'), 'DENY');
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      const html = await response.text();
      assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), `${path} has no inline script`);
      assert.ok(!/\son[a-z]+=/.test(html), `${path} has no inline handlers`);
      assert.ok(!/\sstyle=/.test(html), `${path} has no inline styles`);
    }
  });

  test('the demo knows whether the server runs in cookie mode', async () => {
    const on = await (await get(server.url, '/')).text();
    assert.match(on, /<meta name="laissez-cookies" content="on">/);
    const off = await (await get(plain.url, '/')).text();
    assert.match(off, /<meta name="laissez-cookies" content="off">/);
  });

  test('where mailed links land: /reset-password always, /sign-in only with sign-in links', async () => {
    for (const url of [server.url, plain.url]) {
      const reset = await get(url, '/reset-password');
      assert.equal(reset.status, 200);
      assert.equal(reset.headers.get('content-security-policy'), PAGE_CSP['/']);
      assert.equal(reset.headers.get('referrer-policy'), 'no-referrer');
      assert.match(await reset.text(), /<script type="module" src="\/assets\/web\/app.js">/);
      assert.equal((await get(url, '/sign-in')).status, 404, 'no sign-in links: no page');
    }
    const links = await start({
      signInLinks: true,
      verifyEmail: true,
      passwordParams: FAST_ARGON2,
    });
    try {
      const page = await get(links.url, '/sign-in');
      assert.equal(page.status, 200);
      assert.equal(page.headers.get('content-security-policy'), PAGE_CSP['/']);
      const html = await page.text();
      assert.match(html, /<meta name="laissez-sign-in-links" content="on">/);
      assert.match(html, /<meta name="laissez-verify-email" content="on">/);
      const plainHtml = await (await get(plain.url, '/')).text();
      assert.match(plainHtml, /<meta name="laissez-sign-in-links" content="off">/);
      assert.match(plainHtml, /<meta name="laissez-verify-email" content="off">/);
    } finally {
      await links.close();
    }
    const openapi = (await (await get(server.url, '/openapi.json')).json()) as {
      paths: Record<string, unknown>;
    };
    assert.ok(!('/reset-password' in openapi.paths));
  });

  test('assets: JavaScript and CSS with their types, revalidated by ETag (304)', async () => {
    const css = await get(server.url, '/assets/web/style.css');
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    const svg = await get(server.url, '/assets/web/icon.svg');
    assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
    for (const path of ['/', '/assets/web/app.js', '/assets/web/style.css']) {
      const first = await get(server.url, path);
      assert.equal(first.headers.get('cache-control'), 'no-cache');
      const etag = first.headers.get('etag')!;
      assert.match(etag, /^"[\w-]{22}"$/);
      const again = await get(server.url, path, { 'if-none-match': etag });
      assert.equal(again.status, 304, path);
      assert.equal(await again.text(), '');
    }
  });

  test('every module is plain JavaScript, and its imports are served modules', async () => {
    const modules = await crawl(server.url);
    assert.deepEqual(
      [...modules.keys()].sort(),
      BROWSER_MODULES.map((m) => `/assets/${m}.js`).sort(),
    );
    for (const [path, code] of modules) {
      assert.ok(!/from\s*['"][^'"]+\.ts['"]/.test(code), `${path} imports .ts`);
      assert.ok(!/\binterface\s+\w+\s*\{/.test(code), `${path} still has types`);
      await assertParses(path, code);
    }
  });

  test('server code and sources are not served; the pages are not in the OpenAPI document', async () => {
    for (const path of [
      '/assets/web/plugin.js',
      '/assets/server/pages.js',
      '/assets/web/app.ts',
      '/assets/server/app.js',
      '/assets/../package.json',
      '/assets/web/index.html',
    ]) {
      assert.equal((await get(server.url, path)).status, 404, path);
    }
    const openapi = (await (await get(server.url, '/openapi.json')).json()) as {
      paths: Record<string, unknown>;
    };
    assert.ok(!('/' in openapi.paths) && !('/debugger' in openapi.paths));
  });

  test('type stripping: annotations erased in place, .ts specifiers pointed at .js', () => {
    const out = toBrowserModule(
      'import { a, type B } from \'./a.ts\';\nexport { c } from "../c/d.ts";\nconst x: number = 1;\n',
    );
    assert.equal(out.split('\n').length, 4, 'lines are kept');
    assert.match(out, /from '\.\/a\.js'/);
    assert.match(out, /from "\.\.\/c\/d\.js"/);
    assert.match(out, /const x\s+= 1;/);
    assert.ok(!out.includes('number'));
  });
});

describe('the pages from the build (dist/, as published)', () => {
  const built = existsSync(join(root, 'dist/src/server/pages.js'));

  test('laissez serve from dist serves the same modules, compiled by tsc', {
    skip: built ? false : 'dist/ is not built: npm run build (npm test builds first)',
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'laissez-web-dist-'));
    const server = await serve(
      ['--port', '0', '--data-dir', dataDir, '--log-level', 'silent'],
      {},
      { script: join(root, 'dist/bin/laissez.js'), cwd: root },
    );
    const { url } = server;
    try {
      const modules = await crawl(url);
      assert.deepEqual(
        [...modules.keys()].sort(),
        BROWSER_MODULES.map((m) => `/assets/${m}.js`).sort(),
      );
      for (const [path, code] of modules) {
        assert.ok(!code.includes('sourceMappingURL'), path);
        assert.ok(!/from\s*['"][^'"]+\.ts['"]/.test(code), path);
      }
      const page = await get(url, '/debugger');
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy')!, /connect-src 'none'/);
      assert.equal(server.stderr(), '', 'no warning on stderr');
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('from the sources, no experimental warning reaches stderr', async () => {
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const { browserAssets } = await import('./src/server/pages.ts'); console.log(browserAssets().size);",
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, stderr);
    assert.equal(Number(stdout.trim()), BROWSER_MODULES.length + 2);
    assert.equal(stderr, '');
  });
});
