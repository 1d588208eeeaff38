// The error catalogue, its documentation and the codes the source throws stay in step.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { JWT_ERROR_CODES, JwtError } from '../src/index.ts';

const root = new URL('../../../', import.meta.url).pathname;
const codes = Object.keys(JWT_ERROR_CODES);

test('every code is documented in docs/jwt.md, and the docs list no other', () => {
  const docs = readFileSync(join(root, 'docs/jwt.md'), 'utf8');
  const documented = [...docs.matchAll(/^\| `(ERR_[A-Z_]+)` +\|/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), [...codes].sort());
});

test('every code is thrown somewhere in @laissez/jwt, and nothing else is', () => {
  const files = readdirSync(join(root, 'packages/jwt/src'), {
    recursive: true,
    encoding: 'utf8',
  }).filter((f) => f.endsWith('.ts'));
  const thrown = new Set<string>();
  for (const file of files) {
    const text = readFileSync(join(root, 'packages/jwt/src', file), 'utf8');
    for (const m of text.matchAll(/new JwtError\(\s*'(ERR_[A-Z_]+)'/g)) thrown.add(m[1]!);
  }
  assert.deepEqual([...thrown].sort(), [...codes].sort());
});

test('JwtError carries code and claim and is an Error', () => {
  const error = new JwtError('ERR_JWT_CLAIM_MISSING', 'no exp', 'exp');
  assert.ok(error instanceof Error);
  assert.equal(error.name, 'JwtError');
  assert.equal(error.code, 'ERR_JWT_CLAIM_MISSING');
  assert.equal(error.claim, 'exp');
});
