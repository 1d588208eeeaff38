// The import picture of ARCHITECTURE, read from the source tree (every import, export-from and
// dynamic import() of every module of every package):
// - each package imports only what its package.json declares (node: built-ins aside), never
//   another package's files by a relative path, and the laissez packages only downwards:
//   @laissez/jwt nothing, @laissez/client nothing at all, @laissez/middleware @laissez/jwt, laissez
//   the three;
// - inside laissez (packages/server), each layer imports only the layers below it;
// - the browser code (laissez's src/web, @laissez/client, and whatever they load) has no node:
//   module, no Fastify and no npm package, since the server hands those files to the browser as
//   they are (src/server/pages.ts), and that closure is exactly what the server serves.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { BROWSER_MODULES } from '../packages/server/src/server/pages.ts';

const packages = new URL('../packages/', import.meta.url).pathname;

interface Manifest {
  name: string;
  exports: Record<string, string | { 'laissez-source'?: string }>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
const DIRS = ['jwt', 'client', 'middleware', 'server'] as const;
type Dir = (typeof DIRS)[number];
const manifest = (dir: Dir): Manifest =>
  JSON.parse(readFileSync(join(packages, dir, 'package.json'), 'utf8')) as Manifest;

/**
 * A module's id: `<layer>/<path>.ts`, where the layer of @laissez/jwt, /client and /middleware
 * is the package ("jwt/lib/keys.ts"), and laissez's are its src/ folders ("auth/service.ts").
 */
function idOf(file: string): string {
  const [dir, , ...rest] = relative(packages, file).split('/');
  return dir === 'server' ? rest.join('/') : [dir, ...rest].join('/');
}
function fileOf(id: string): string {
  const [layer, ...rest] = id.split('/');
  return (DIRS as readonly string[]).includes(layer!) && layer !== 'server'
    ? join(packages, layer!, 'src', ...rest)
    : join(packages, 'server', 'src', id);
}
const packageOf = (id: string): Dir => {
  const layer = id.split('/')[0]!;
  return (['jwt', 'client', 'middleware'] as const).find((d) => d === layer) ?? 'server';
};

/** `@laissez/jwt/facts` → its module id, from the package's exports (the sources' condition). */
const ENTRIES = new Map<string, string>();
for (const dir of DIRS) {
  const { name, exports } = manifest(dir);
  for (const [subpath, target] of Object.entries(exports)) {
    if (typeof target === 'string') continue;
    const source = target['laissez-source'];
    if (source === undefined) continue;
    ENTRIES.set(join(name, subpath), idOf(join(packages, dir, source)));
  }
}

interface Edge {
  /** The specifier as written. */
  specifier: string;
  /** The module it names: relative specifiers and laissez packages' entries. */
  target: string | undefined;
  /** `import type` / `export type`: erased, never loaded at run time. */
  typeOnly: boolean;
}

const STATIC = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s*)?(['"])([^'"]+)\3/gm;
const DYNAMIC = /\bimport\(\s*(['"])([^'"]+)\1\s*\)/g;

function edgesOf(id: string): Edge[] {
  const file = fileOf(id);
  // Comment lines are dropped first, so an import quoted in a comment is not read as one.
  const code = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
    .join('\n');
  const edge = (specifier: string, typeOnly: boolean): Edge => ({
    specifier,
    target: specifier.startsWith('.')
      ? idOf(resolve(dirname(file), specifier))
      : ENTRIES.get(specifier),
    typeOnly,
  });
  return [
    ...[...code.matchAll(STATIC)].map((m) => edge(m[4]!, m[2] !== undefined)),
    ...[...code.matchAll(DYNAMIC)].map((m) => edge(m[2]!, false)),
  ];
}

const modules = DIRS.flatMap((dir) =>
  readdirSync(join(packages, dir, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => idOf(join(packages, dir, 'src', name))),
);

/** The package name a bare specifier names (`@redis/client/dist/x` → `@redis/client`). */
const packageName = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

describe('the packages', () => {
  test('each imports only node: built-ins and what its package.json declares', () => {
    const found: string[] = [];
    for (const id of modules) {
      const own = manifest(packageOf(id));
      const declared = new Set([
        own.name,
        ...Object.keys(own.dependencies ?? {}),
        ...Object.keys(own.peerDependencies ?? {}),
      ]);
      for (const { specifier } of edgesOf(id)) {
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        if (!declared.has(packageName(specifier))) found.push(`${id} -> ${specifier}`);
      }
    }
    assert.deepEqual(found, []);
  });

  test('no relative import leaves its package', () => {
    const found = modules.flatMap((id) =>
      edgesOf(id)
        .filter((e) => e.specifier.startsWith('.') && packageOf(e.target!) !== packageOf(id))
        .map((e) => `${id} -> ${e.specifier}`),
    );
    assert.deepEqual(found, []);
  });

  test('the laissez packages depend downwards: jwt <- middleware <- laissez, client alone', () => {
    const laissez = (dir: Dir) =>
      Object.keys(manifest(dir).dependencies ?? {})
        .filter((name) => name.startsWith('@laissez/'))
        .sort();
    assert.deepEqual(laissez('jwt'), []);
    assert.deepEqual(laissez('client'), []);
    assert.deepEqual(laissez('middleware'), ['@laissez/jwt']);
    assert.deepEqual(laissez('server'), ['@laissez/client', '@laissez/jwt', '@laissez/middleware']);
    // @laissez/jwt and @laissez/client install nothing at all.
    assert.equal(manifest('jwt').dependencies, undefined);
    assert.equal(manifest('client').dependencies, undefined);
  });
});

const layerOf = (id: string) => id.split('/')[0]!;
const SERVER_LAYERS = ['store', 'redis', 'auth', 'server', 'cli', 'web', 'reexports'];

/**
 * Inside laissez, the layers each layer may not import (type imports included). The store is the
 * bottom; the browser code (web) imports no server-side layer; nothing imports cli.
 */
const FORBIDDEN: Record<string, readonly string[]> = {
  store: ['redis', 'auth', 'server', 'cli', 'web', 'reexports'],
  redis: ['server', 'cli', 'web', 'reexports'],
  auth: ['server', 'cli', 'web', 'reexports'],
  server: ['cli', 'web', 'reexports'],
  cli: ['web', 'reexports'],
  web: ['store', 'redis', 'auth', 'server', 'cli', 'reexports'],
  reexports: ['store', 'redis', 'auth', 'server', 'cli', 'web'],
};

describe("laissez's layers", () => {
  const own = modules.filter((id) => packageOf(id) === 'server');

  test('every layer is known to the rules', () => {
    assert.deepEqual(
      [...new Set(own.map(layerOf))].filter((layer) => !SERVER_LAYERS.includes(layer)),
      [],
    );
  });

  test('no layer imports a layer above it or beside it', () => {
    const found: string[] = [];
    for (const id of own) {
      const forbidden = FORBIDDEN[layerOf(id)] ?? [];
      for (const { target } of edgesOf(id)) {
        if (target !== undefined && packageOf(target) === 'server') {
          if (forbidden.includes(layerOf(target))) found.push(`${id} -> ${target}`);
        }
      }
    }
    assert.deepEqual(found, [], 'imports against the layer picture');
  });
});

describe('the browser code', () => {
  const roots = modules.filter((id) => id.startsWith('web/') || id.startsWith('client/'));

  /** Every module the browser loads: the pages' modules and what they import at run time. */
  function browserClosure(): Set<string> {
    const seen = new Set<string>();
    const queue = [...roots];
    while (queue.length > 0) {
      const id = queue.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      for (const { target, typeOnly } of edgesOf(id)) {
        if (target !== undefined && !typeOnly) queue.push(target);
      }
    }
    return seen;
  }

  test('src/web and @laissez/client import no node: module, no Fastify, no npm package', () => {
    const found = roots.flatMap((id) =>
      edgesOf(id)
        .filter(({ target, typeOnly }) => target === undefined && !typeOnly)
        .map(({ specifier }) => `${id} -> ${specifier}`),
    );
    assert.deepEqual(found, []);
  });

  test('neither does any module they load (@laissez/jwt/facts included)', () => {
    const found: string[] = [];
    for (const id of browserClosure()) {
      for (const { specifier, target, typeOnly } of edgesOf(id)) {
        if (target === undefined && !typeOnly) found.push(`${id} -> ${specifier}`);
      }
    }
    assert.deepEqual(found, []);
  });

  test('the server serves exactly the modules the pages load', () => {
    assert.deepEqual(
      [...browserClosure()].filter((id) => !id.endsWith('.d.ts')).sort(),
      BROWSER_MODULES.map((name) => `${name}.ts`).sort(),
    );
  });
});
