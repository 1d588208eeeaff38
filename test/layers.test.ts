// The import picture of docs' ARCHITECTURE: each layer imports only the layers below it, and the
// browser code (src/web, src/client, and whatever they load) has no node: module, no Fastify and no
// npm package, since the server hands those files to the browser as they are (src/server/pages.ts).
// Read from the source tree: every import, export-from and dynamic import() of every module.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { BROWSER_MODULES } from '../src/server/pages.ts';

const src = new URL('../src/', import.meta.url).pathname;

interface Edge {
  /** The specifier as written. */
  specifier: string;
  /** For a relative specifier, the module it names, relative to src/ ("jwt/lib/keys.ts"). */
  target: string | undefined;
  /** `import type` / `export type`: erased, never loaded at run time. */
  typeOnly: boolean;
}

function modulesUnder(dir: string): string[] {
  return readdirSync(join(src, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(dir, name));
}

const STATIC = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s*)?(['"])([^'"]+)\3/gm;
const DYNAMIC = /\bimport\(\s*(['"])([^'"]+)\1\s*\)/g;

function edgesOf(module: string): Edge[] {
  // Comment lines are dropped first, so an import quoted in a comment is not read as one.
  const code = readFileSync(join(src, module), 'utf8')
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
    .join('\n');
  const edge = (specifier: string, typeOnly: boolean): Edge => ({
    specifier,
    target: specifier.startsWith('.')
      ? relative(src, resolve(dirname(join(src, module)), specifier))
      : undefined,
    typeOnly,
  });
  return [
    ...[...code.matchAll(STATIC)].map((m) => edge(m[4]!, m[2] !== undefined)),
    ...[...code.matchAll(DYNAMIC)].map((m) => edge(m[2]!, false)),
  ];
}

const layerOf = (module: string) => module.split('/')[0]!;

const ALL = ['jwt', 'store', 'redis', 'auth', 'middleware', 'server', 'cli', 'client', 'web'];

/**
 * The layers each layer may not import (type imports included: a split package would need them).
 * jwt is the bottom and imports nothing else; the browser layers import no server-side layer
 * (client and web may use the browser-safe modules of jwt: checked below); nothing imports cli.
 */
const FORBIDDEN: Record<string, readonly string[]> = {
  jwt: ALL.filter((layer) => layer !== 'jwt'),
  store: ['redis', 'auth', 'middleware', 'server', 'cli', 'client', 'web'],
  redis: ['middleware', 'server', 'cli', 'client', 'web'],
  auth: ['middleware', 'server', 'cli', 'client', 'web'],
  middleware: ['server', 'cli', 'client', 'web'],
  server: ['cli', 'client', 'web'],
  client: ALL.filter((layer) => layer !== 'client' && layer !== 'jwt'),
  web: ['store', 'redis', 'auth', 'middleware', 'server', 'cli'],
};

/**
 * Imports across layers that are known and being removed elsewhere (none now: describeJwtError
 * moved next to the JWT errors). The test fails when an entry is no longer needed, so the list
 * only shrinks.
 */
const KNOWN: readonly string[] = [];

describe('the layers', () => {
  const modules = readdirSync(src, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => modulesUnder(entry.name));

  test('every layer is known to the rules', () => {
    assert.deepEqual(
      [...new Set(modules.map(layerOf))].filter(
        (layer) => !(layer in FORBIDDEN) && layer !== 'cli',
      ),
      [],
    );
  });

  test('no layer imports a layer above it or beside it', () => {
    const found: string[] = [];
    for (const module of modules) {
      const forbidden = FORBIDDEN[layerOf(module)] ?? [];
      for (const { target } of edgesOf(module)) {
        if (target !== undefined && forbidden.includes(layerOf(target))) {
          found.push(`${module} -> ${target}`);
        }
      }
    }
    const unknown = found.filter((line) => !KNOWN.includes(line));
    assert.deepEqual(unknown, [], 'imports against the layer picture');
    const stale = KNOWN.filter((line) => !found.includes(line));
    assert.deepEqual(stale, [], 'no longer imported: remove from KNOWN');
  });
});

describe('the browser code', () => {
  const roots = [...modulesUnder('web'), ...modulesUnder('client')];

  /** Every module the browser loads: the pages' modules and what they import at run time. */
  function browserClosure(): Set<string> {
    const seen = new Set<string>();
    const queue = [...roots];
    while (queue.length > 0) {
      const module = queue.pop()!;
      if (seen.has(module)) continue;
      seen.add(module);
      for (const { target, typeOnly } of edgesOf(module)) {
        if (target !== undefined && !typeOnly) queue.push(target);
      }
    }
    return seen;
  }

  test('src/web and src/client import no node: module, no Fastify, no npm package', () => {
    const found = roots.flatMap((module) =>
      edgesOf(module)
        .filter(({ target }) => target === undefined)
        .map(({ specifier }) => `${module} -> ${specifier}`),
    );
    assert.deepEqual(found, []);
  });

  test('neither does any module they load (the shared modules of src/jwt included)', () => {
    const found: string[] = [];
    for (const module of browserClosure()) {
      for (const { specifier, target, typeOnly } of edgesOf(module)) {
        if (target === undefined && !typeOnly) found.push(`${module} -> ${specifier}`);
      }
    }
    assert.deepEqual(found, []);
  });

  test('the server serves exactly the modules the pages load', () => {
    assert.deepEqual(
      [...browserClosure()].filter((module) => !module.endsWith('.d.ts')).sort(),
      BROWSER_MODULES.map((name) => `${name}.ts`).sort(),
    );
  });
});
