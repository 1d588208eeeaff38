// `laissez keys generate`, and signing and verifying with the key files it makes, run as a real
// process.

import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { laissez } from '../helpers/processes.ts';

type Jwk = Record<string, unknown>;

async function generate(alg: string, kid?: string): Promise<{ private: Jwk; public?: Jwk }> {
  const result = await laissez(['keys', 'generate', '--alg', alg, ...(kid ? ['--kid', kid] : [])]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  return JSON.parse(result.stdout);
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'laissez-cli-keys-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function save(name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value), { mode: 0o600 });
  return path;
}

describe('keys generate', () => {
  test('prints {private, public} JWKs for every algorithm ({private} for HMAC)', async () => {
    const expected: Record<string, Jwk> = {
      ES256: { kty: 'EC', crv: 'P-256' },
      ES384: { kty: 'EC', crv: 'P-384' },
      ES512: { kty: 'EC', crv: 'P-521' },
      RS256: { kty: 'RSA' },
      PS256: { kty: 'RSA' },
      EdDSA: { kty: 'OKP', crv: 'Ed25519' },
      Ed25519: { kty: 'OKP', crv: 'Ed25519' },
      HS256: { kty: 'oct' },
      HS384: { kty: 'oct' },
      HS512: { kty: 'oct' },
    };
    const algs = Object.keys(expected);
    const keys = await Promise.all(algs.map((alg) => generate(alg)));
    keys.forEach((key, i) => {
      const alg = algs[i]!;
      for (const [member, value] of Object.entries(expected[alg]!)) {
        assert.equal(key.private[member], value, `${alg} private ${member}`);
      }
      assert.equal(key.private['alg'], alg);
      assert.equal(key.private['use'], 'sig');
      assert.equal(typeof key.private['kid'], 'string');
      if (alg.startsWith('HS')) {
        assert.deepEqual(Object.keys(key), ['private']);
        const bytes = Buffer.from(key.private['k'] as string, 'base64url').byteLength;
        assert.equal(bytes * 8, Number(alg.slice(2)), `${alg} secret is the hash size`);
      } else {
        assert.deepEqual(Object.keys(key), ['private', 'public']);
        assert.ok(typeof key.private['d'] === 'string', `${alg} private has d`);
        for (const member of PRIVATE_MEMBERS) {
          assert.equal(key.public![member], undefined, `${alg} public has no ${member}`);
        }
        assert.equal(key.public!['kid'], key.private['kid']);
        assert.equal(key.public!['alg'], alg);
      }
    });
  });

  test('--kid names the key; usage errors exit 2', async () => {
    const [named, missing, bad, none, stray, help] = await Promise.all([
      laissez(['keys', 'generate', '--alg', 'ES256', '--kid', '2025-01']),
      laissez(['keys', 'generate']),
      laissez(['keys', 'generate', '--alg', 'ES257']),
      laissez(['keys', 'generate', '--alg', 'none']),
      laissez(['keys', 'generate', 'ES256']),
      laissez(['keys', 'generate', '--help']),
    ]);
    assert.equal(named.code, 0, named.stderr);
    const key = JSON.parse(named.stdout);
    assert.equal(key.private.kid, '2025-01');
    assert.equal(key.public.kid, '2025-01');
    for (const [result, pattern] of [
      [missing, /missing --alg/],
      [bad, /unknown algorithm 'ES257'.*ES256/],
      [none, /none is never accepted/],
      [stray, /unexpected argument/],
    ] as const) {
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, pattern);
      assert.match(result.stderr, /Run 'laissez keys generate --help'/);
    }
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: laissez keys generate/);
    assert.match(help.stdout, /EdDSA/);
  });
});

describe('sign with a generated private JWK, verify with its public JWK or a JWKS', () => {
  for (const alg of ['ES256', 'EdDSA']) {
    test(alg, async () => {
      const [mine, other] = await Promise.all([generate(alg, `${alg}-1`), generate(alg)]);
      const privateFile = await save(`${alg}.private.json`, mine.private);
      const publicFile = await save(`${alg}.public.json`, mine.public);
      const otherFile = await save(`${alg}.other.json`, other.public);
      const jwksFile = await save(`${alg}.jwks.json`, { keys: [other.public, mine.public] });
      const wholeFile = await save(`${alg}.whole.json`, mine);

      // No --alg: the JWK's "alg" says it; its "kid" goes into the header.
      const [signed, unknownKid, withPublic] = await Promise.all([
        laissez(['token', 'sign', '--key', privateFile, '--sub', 'alice', '--aud', 'api']),
        laissez(['token', 'sign', '--key', privateFile, '--kid', 'not-in-the-set']),
        laissez(['token', 'sign', '--key', publicFile]),
      ]);
      assert.equal(signed.code, 0, signed.stderr);
      const token = signed.stdout.trim();

      const [byJwk, byJwks, byJwksText, byOther, notFound, whole, wrongAlg] = await Promise.all([
        laissez(['token', 'verify', token, '--key', publicFile, '--aud', 'api', '--json']),
        laissez(['token', 'verify', '-', '--key', jwksFile, '--sub', 'alice', '--json'], {
          input: token,
        }),
        laissez(['token', 'verify', token, '--key', jwksFile]),
        laissez(['token', 'verify', token, '--key', otherFile]),
        laissez(['token', 'verify', unknownKid.stdout.trim(), '--key', jwksFile]),
        laissez(['token', 'verify', token, '--key', wholeFile]),
        laissez(['token', 'verify', token, '--key', publicFile, '--alg', 'ES384']),
      ]);
      for (const result of [byJwk, byJwks]) {
        assert.equal(result.code, 0, result.stderr);
        const body = JSON.parse(result.stdout);
        assert.equal(body.valid, true);
        assert.deepEqual(body.header, { alg, typ: 'JWT', kid: `${alg}-1` });
        assert.equal(body.payload.sub, 'alice');
        assert.equal(body.payload.aud, 'api');
        assert.equal(body.payload.exp - body.payload.iat, 900);
      }
      assert.equal(byJwksText.code, 0, byJwksText.stderr);
      assert.match(byJwksText.stdout, /^VALID/);
      assert.match(byJwksText.stdout, /"sub":"alice"/);

      assert.equal(byOther.code, 1);
      assert.match(byOther.stderr, /^ERR_JWS_SIGNATURE_INVALID: /m);
      assert.equal(unknownKid.code, 0, unknownKid.stderr);
      assert.equal(notFound.code, 1);
      assert.match(notFound.stderr, /^ERR_KEY_NOT_FOUND: /m);
      assert.equal(withPublic.code, 1);
      assert.match(withPublic.stderr, /^ERR_KEY_INVALID: .*private/m);
      assert.equal(wrongAlg.code, 1);
      assert.match(wrongAlg.stderr, /^ERR_KEY_ALG_MISMATCH: /m);
      // The whole output of `keys generate` verifies with its public half.
      assert.equal(whole.code, 0, whole.stderr);
      assert.match(whole.stdout, /^VALID/);

      // Nothing printed on failure holds key material.
      const secrets = [mine.private['d'], other.public!['x']].filter(
        (v): v is string => typeof v === 'string',
      );
      for (const result of [byOther, notFound, withPublic, wrongAlg]) {
        for (const secret of secrets) {
          assert.ok(!result.stderr.includes(secret) && !result.stdout.includes(secret));
        }
      }
    });
  }

  test('the whole output of keys generate signs with its private half (the README flow)', async () => {
    for (const alg of ['ES256', 'HS256']) {
      const wholeFile = await save(`${alg}.readme.json`, await generate(alg));
      const signed = await laissez([
        'token',
        'sign',
        '--key',
        wholeFile,
        '--alg',
        alg,
        '--sub',
        'user-42',
        '--expires-in',
        '15m',
      ]);
      assert.equal(signed.code, 0, signed.stderr);
      const verified = await laissez([
        'token',
        'verify',
        signed.stdout.trim(),
        '--key',
        wholeFile,
        '--json',
      ]);
      assert.equal(verified.code, 0, verified.stderr);
      assert.equal(JSON.parse(verified.stdout).payload.sub, 'user-42');
    }
  });

  test('a token of another algorithm is refused before its signature is read', async () => {
    const [es, ed] = await Promise.all([generate('ES256'), generate('EdDSA')]);
    const esFile = await save('alg.es.json', es.private);
    const edFile = await save('alg.ed.json', ed.public);
    const signed = await laissez(['token', 'sign', '--key', esFile]);
    assert.equal(signed.code, 0, signed.stderr);
    const result = await laissez(['token', 'verify', signed.stdout.trim(), '--key', edFile]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^ERR_JWS_ALG_NOT_ALLOWED: /m);
  });

  test('a PEM key needs --alg; an oct JWK signs and verifies HS256', async () => {
    const [ec, hs] = await Promise.all([generate('ES256'), generate('HS256')]);
    const pem = createPrivateKey({ key: ec.private as never, format: 'jwk' }).export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    const pemFile = await save('es256.pem', pem);
    const octFile = await save('hs256.jwk.json', hs.private);
    const [noAlg, pemSigned, octSigned] = await Promise.all([
      laissez(['token', 'sign', '--key', pemFile]),
      laissez(['token', 'sign', '--key', pemFile, '--alg', 'ES256']),
      laissez(['token', 'sign', '--key', octFile, '--claims', '{"scope":"read"}']),
    ]);
    assert.equal(noAlg.code, 2);
    assert.match(noAlg.stderr, /PEM key does not name its algorithm; pass --alg/);
    assert.equal(pemSigned.code, 0, pemSigned.stderr);
    assert.equal(octSigned.code, 0, octSigned.stderr);

    const [pemNoAlg, pemVerified, octVerified, octAsSecret] = await Promise.all([
      laissez(['token', 'verify', pemSigned.stdout.trim(), '--key', pemFile]),
      laissez(['token', 'verify', pemSigned.stdout.trim(), '--key', pemFile, '--alg', 'ES256']),
      laissez(['token', 'verify', octSigned.stdout.trim(), '--key', octFile, '--json']),
      // --secret=… : a base64url k may start with "-", which would read as a flag.
      laissez([
        'token',
        'verify',
        octSigned.stdout.trim(),
        `--secret=${hs.private['k'] as string}`,
      ]),
    ]);
    assert.equal(pemNoAlg.code, 2);
    assert.match(pemNoAlg.stderr, /--alg/);
    assert.equal(pemVerified.code, 0, pemVerified.stderr);
    assert.equal(octVerified.code, 0, octVerified.stderr);
    assert.equal(JSON.parse(octVerified.stdout).payload.scope, 'read');
    // --secret is the UTF-8 text, not the base64url k of the JWK: a different key.
    assert.equal(octAsSecret.code, 1);
    assert.match(octAsSecret.stderr, /^ERR_JWS_SIGNATURE_INVALID: /m);
    assert.ok(!octAsSecret.stderr.includes(hs.private['k'] as string));
  });
});
