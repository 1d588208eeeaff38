// The front door on an old Node: `npm start` and the `laissez` command run bin/laissez.mjs, which
// any Node can parse, and which says what is needed before anything else loads.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const LAUNCHER = join(root, 'bin/laissez.mjs');

/** A Node older than 24 on this machine (Debian's, on the project's machines), if there is one. */
function oldNode(): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'node');
    if (candidate === process.execPath) continue;
    try {
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
      if (Number(version.slice(1).split('.')[0]) < 24) return candidate;
    } catch {}
  }
  return undefined;
}

describe('Node.js older than 24', () => {
  test('npm start and the installed command both go through the launcher', () => {
    const workspace = JSON.parse(readFileSync(join(root, '../../package.json'), 'utf8'));
    assert.equal(workspace.scripts.start, 'node packages/server/bin/laissez.mjs serve');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.bin, { laissez: './bin/laissez.mjs' });
  });

  const node = oldNode();
  test('the launcher says which Node is needed and how to get it, and exits 1', {
    skip: node ? false : 'no Node older than 24 on this machine',
  }, () => {
    for (const args of [['serve'], ['--help'], ['token', 'decode', 'x']]) {
      const r = spawnSync(node!, [LAUNCHER, ...args], { encoding: 'utf8', cwd: root });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^laissez needs Node\.js 24 or newer; this is 2?\d\.\d+\.\d+\.\n/);
      assert.match(r.stderr, /nodejs\.org/);
      assert.doesNotMatch(r.stderr, /ERR_UNKNOWN_FILE_EXTENSION|SyntaxError|\n\s+at /);
    }
  });

  test('with Node 24 the launcher runs the command', () => {
    const r = spawnSync(process.execPath, [LAUNCHER, '--version'], { encoding: 'utf8', cwd: root });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^laissez \d+\.\d+\.\d+/);
  });
});
