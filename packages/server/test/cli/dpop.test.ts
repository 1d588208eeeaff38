// `laissez dpop proof`, run as a process: its proof passes laissez's verifier for the request it
// names (with ath), its --jkt is the key's thumbprint, and bad input is a usage error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { calculateThumbprint, createProofVerifier, generateKey } from '../../../jwt/src/index.ts';

const bin = new URL('../../bin/laissez.mjs', import.meta.url).pathname;
const run = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

test('laissez dpop proof: a proof for the request, with ath; --jkt prints the thumbprint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'laissez-dpop-'));
  const key = generateKey('ES256');
  const file = join(dir, 'client.json');
  writeFileSync(file, JSON.stringify(key.privateJwk));
  const out = run(
    'dpop',
    'proof',
    '--key',
    file,
    '--method',
    'POST',
    '--url',
    'https://api.example/x?y=1',
    '--token',
    'tok',
  );
  assert.equal(out.status, 0, out.stderr);
  const proof = out.stdout.trim();
  const v = createProofVerifier()(proof, {
    method: 'POST',
    url: 'https://api.example/x',
    accessToken: 'tok',
  });
  assert.equal(v.jkt, calculateThumbprint(key.publicJwk!));
  const jkt = run('dpop', 'proof', '--key', file, '--jkt');
  assert.equal(jkt.stdout.trim(), v.jkt);
  const noUrl = run('dpop', 'proof', '--key', file, '--method', 'GET');
  assert.equal(noUrl.status, 2);
  assert.match(noUrl.stderr, /--url/);
  const relative = run('dpop', 'proof', '--key', file, '--method', 'GET', '--url', '/x');
  assert.equal(relative.status, 2);
});
