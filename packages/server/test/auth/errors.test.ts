// The domain's error codes as written: TypeScript takes a union member listed twice without a
// word, so a test reads the source and keeps each code of AuthErrorCode to one line.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

test('AuthErrorCode lists each code once', () => {
  const source = readFileSync(new URL('../../src/auth/errors.ts', import.meta.url), 'utf8');
  const union = /export type AuthErrorCode =([^;]*);/.exec(source)?.[1];
  assert.ok(union, 'the AuthErrorCode union is in src/auth/errors.ts');
  // Comments between members name codes too (in backquotes or prose): only quoted members count.
  const codes = [...union.replace(/\/\/.*$/gm, '').matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!);
  assert.ok(codes.length > 20, `the union was read (${codes.length} codes)`);
  const twice = codes.filter((code, i) => codes.indexOf(code) !== i);
  assert.deepEqual(twice, [], 'codes listed more than once');
});
