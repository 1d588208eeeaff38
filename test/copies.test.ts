// @laissez/client installs nothing, so it cannot import @laissez/jwt: it carries copies of the two
// dependency-free modules it shares with the library, the option-name check ("did you mean") and
// the DPoP `htu` normalization (a proof the client makes must name the URL exactly as every
// verifier normalizes it). This test keeps each copy identical to its original.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const COPIES = [
  ['packages/jwt/src/lib/options.ts', 'packages/client/src/shared/options.ts'],
  ['packages/jwt/src/dpop/htu.ts', 'packages/client/src/shared/htu.ts'],
] as const;

for (const [original, copy] of COPIES) {
  test(`${copy} is identical to ${original}`, () => {
    const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
    assert.equal(read(copy), read(original));
  });
}
