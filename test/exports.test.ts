// No two exported declarations in the packages' sources share a name: `import { AuthError }` must never depend on
// which file the editor picked. The scan reads every packages/*/src/**/*.ts and collects what each file
// declares and exports itself (classes, interfaces, types, functions, variables, and local
// `export { a as b }`); re-exports of another file's declaration (`export { x } from`) are the
// same declaration, not a second one.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('..', import.meta.url).pathname;
const PACKAGES = join(ROOT, 'packages');

/**
 * Names declared more than once on purpose, with the reason. Each entry lists the files, so a
 * third declaration elsewhere still fails.
 */
const ALLOWED: Record<string, { files: string[]; why: string }> = {
  laissez: {
    files: [
      'packages/middleware/src/express.ts',
      'packages/middleware/src/fastify.ts',
      'packages/middleware/src/hono.ts',
    ],
    why: 'one adapter per framework entry point (laissez/express, /fastify, /hono), the same API; a user imports one',
  },
  AuthMiddleware: {
    files: ['packages/middleware/src/express.ts', 'packages/middleware/src/hono.ts'],
    why: 'the handler type of each adapter entry point, as `laissez` above',
  },
  // Known, left for their owners (reported): the store's schema steps, one list per dialect
  // (src/store is being split by another change), and the store's User row beside the browser
  // client's public User (renaming either changes a public entry point).
  MIGRATIONS: {
    files: [
      'packages/server/src/store/postgres-migrations.ts',
      'packages/server/src/store/sqlite-migrations.ts',
    ],
    why: 'one schema per store dialect, never imported side by side (to rename with the store split)',
  },
  Migration: {
    files: [
      'packages/server/src/store/postgres-migrations.ts',
      'packages/server/src/store/sqlite-migrations.ts',
    ],
    why: 'as MIGRATIONS',
  },
  checkOptions: {
    files: ['packages/client/src/shared/options.ts', 'packages/jwt/src/lib/options.ts'],
    why: '@laissez/client installs nothing, so it carries a copy of the module (test/copies.test.ts keeps it identical)',
  },
  optionNames: {
    files: ['packages/client/src/shared/options.ts', 'packages/jwt/src/lib/options.ts'],
    why: 'as checkOptions',
  },
  normalizeHtu: {
    files: ['packages/client/src/shared/htu.ts', 'packages/jwt/src/dpop/htu.ts'],
    why: 'as checkOptions',
  },
  User: {
    files: ['packages/client/src/http.ts', 'packages/server/src/store/users.ts'],
    why: 'laissez/client’s public User (the JSON a browser gets) and the store’s row (to rename with the package split)',
  },
};

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** A top-level exported declaration: `export [declare] [abstract] [async] kind Name`. */
const DECLARATION =
  /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:class|interface|type|function\*?|const|let|var|enum)\s+([A-Za-z_$][\w$]*)/gm;
/** A local export list (no `from`): `export { a, b as c };` */
const LOCAL_LIST = /^export\s+(?:type\s+)?\{([^}]*)\}\s*;/gm;

/**
 * The names a file declares and exports itself, read line by line (declarations in this code
 * base start at column 0; TypeScript 7 has no JavaScript API to parse with). Overloads of one
 * function count once; `export { x } from` re-exports another file's declaration and is skipped.
 */
function declaredExports(path: string): Set<string> {
  const text = readFileSync(path, 'utf8');
  const names = new Set<string>();
  for (const match of text.matchAll(DECLARATION)) names.add(match[1]!);
  // Names brought in by an import: a local list that exports one re-exports its declaration.
  const imported = new Set<string>();
  for (const match of text.matchAll(/^import\s[^;]*?\{([^}]*)\}[^;]*;/gm)) {
    for (const part of match[1]!.split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop();
      if (name) imported.add(name);
    }
  }
  for (const match of text.matchAll(LOCAL_LIST)) {
    for (const part of match[1]!.split(',')) {
      const [local, as] = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/);
      if (local && !imported.has(local)) names.add(as ?? local);
    }
  }
  return names;
}

test("no two files in the packages' sources export declarations of the same name", () => {
  const where = new Map<string, string[]>();
  const roots = readdirSync(PACKAGES).map((dir) => join(PACKAGES, dir, 'src'));
  for (const path of roots.flatMap((root) => [...sources(root)])) {
    for (const name of declaredExports(path)) {
      const files = where.get(name) ?? [];
      files.push(relative(ROOT, path));
      where.set(name, files);
    }
  }
  assert.ok(where.has('AuthService') && where.has('createVerifier'), 'the scan found the exports');
  const clashes: string[] = [];
  for (const [name, files] of where) {
    if (files.length < 2) continue;
    const allowed = ALLOWED[name];
    if (allowed && JSON.stringify(allowed.files) === JSON.stringify(files.sort())) continue;
    clashes.push(`${name}: ${files.sort().join(', ')}`);
  }
  assert.deepEqual(clashes, [], 'rename the internal side, or add a reason to ALLOWED');
});
