import assert from 'node:assert/strict';
import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  ALGORITHMS,
  calculateThumbprint,
  createJwks,
  createSigner,
  createVerifier,
  exportJwk,
  generateKey,
  importJwk,
  parseDuration,
} from '../src/index.ts';
import { ec256, rsa, secret32 } from './helpers/forge.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('PEM forms', () => {
  const roundTrip = (signKey: unknown, verifyKey: unknown, alg: 'RS256' | 'ES256') => {
    const token = createSigner({ key: signKey as string, algorithm: alg, expiresIn: 60 })({
      sub: 'pem',
    });
    return createVerifier({ key: verifyKey as string, algorithms: [alg] })(token).payload.sub;
  };

  test('PKCS#8 and SPKI, PKCS#1 both ways, SEC1', () => {
    const pkcs8 = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' });
    const spki = rsa.publicKey.export({ type: 'spki', format: 'pem' });
    const pkcs1Private = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' });
    const pkcs1Public = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' });
    assert.match(String(pkcs1Public), /BEGIN RSA PUBLIC KEY/);
    assert.equal(roundTrip(pkcs8, spki, 'RS256'), 'pem');
    assert.equal(roundTrip(pkcs1Private, pkcs1Public, 'RS256'), 'pem');
    assert.equal(roundTrip(pkcs1Private, pkcs1Private, 'RS256'), 'pem'); // a private key verifies by its public half
    const sec1 = ec256.privateKey.export({ type: 'sec1', format: 'pem' });
    assert.match(String(sec1), /BEGIN EC PRIVATE KEY/);
    assert.equal(
      roundTrip(sec1, ec256.publicKey.export({ type: 'spki', format: 'pem' }), 'ES256'),
      'pem',
    );
  });

  test('an X.509 certificate verifies with its public key', () => {
    assert.equal(roundTrip(fixture('cert-key.pem'), fixture('cert.pem'), 'RS256'), 'pem');
  });

  test('encrypted, garbled and empty PEM are refused with ERR_KEY_INVALID', () => {
    const encrypted = rsa.privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'pw',
    });
    for (const key of [
      encrypted,
      '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----',
      '',
    ]) {
      assert.throws(() => createVerifier({ key: key as string, algorithms: ['RS256'] }), {
        code: 'ERR_KEY_INVALID',
      });
    }
  });

  test('RSA keys under 2048 bits are refused', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    assert.throws(() => createVerifier({ key: small.publicKey, algorithms: ['RS256'] }), {
      code: 'ERR_KEY_WEAK',
    });
    assert.throws(() => createSigner({ key: small.privateKey, algorithm: 'PS256', expiresIn: 1 }), {
      code: 'ERR_KEY_WEAK',
    });
  });

  test('HMAC secret sizes follow RFC 7518 §3.2 per algorithm', () => {
    assert.throws(() => createVerifier({ key: Buffer.alloc(31, 1), algorithms: ['HS256'] }), {
      code: 'ERR_KEY_WEAK',
    });
    createVerifier({ key: Buffer.alloc(32, 1), algorithms: ['HS256'] });
    assert.throws(() => createVerifier({ key: Buffer.alloc(63, 1), algorithms: ['HS512'] }), {
      code: 'ERR_KEY_WEAK',
    });
    assert.throws(
      () => createVerifier({ key: new Uint8Array(0), algorithms: ['HS256'], allowWeakKey: true }),
      { code: 'ERR_KEY_INVALID' },
    );
  });
});

describe('JWK', () => {
  test('import and export round-trip, public by default', () => {
    const publicJwk = exportJwk(rsa.privateKey);
    assert.equal(publicJwk.d, undefined);
    assert.equal(publicJwk.kty, 'RSA');
    const privateJwk = exportJwk(rsa.privateKey, {
      private: true,
      kid: 'k',
      alg: 'RS256',
      use: 'sig',
    });
    assert.equal(typeof privateJwk.d, 'string');
    assert.equal(importJwk(privateJwk).type, 'private');
    assert.ok(importJwk(publicJwk) instanceof KeyObject);
    assert.deepEqual(exportJwk(importJwk(publicJwk)), publicJwk);
  });

  test('secrets export only on request, never into a JWKS', () => {
    assert.throws(() => exportJwk(secret32), { code: 'ERR_KEY_INVALID' });
    assert.equal(exportJwk(secret32, { private: true }).k, secret32.toString('base64url'));
    assert.throws(() => createJwks([generateKey('HS256').privateJwk]), { code: 'ERR_KEY_INVALID' });
  });

  test('invalid JWKs are refused with ERR_KEY_INVALID', () => {
    const cases = [
      { kty: 'oct' },
      { kty: 'oct', k: 'not base64url!' },
      { kty: 'RSA', n: 'AQAB' },
      { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' },
      { kty: 'OKP', crv: 'X25519', x: 'hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo' },
      { kty: 'weird' },
      { ...exportJwk(ec256.publicKey), use: 'enc' },
      { ...exportJwk(ec256.publicKey), key_ops: ['encrypt'] },
    ];
    for (const jwk of cases) {
      assert.throws(
        () => createVerifier({ key: jwk, algorithms: ['ES256', 'EdDSA'] }),
        { code: 'ERR_KEY_INVALID' },
        JSON.stringify(jwk),
      );
    }
  });

  test('createJwks publishes public keys with kid, alg and use', () => {
    const es = generateKey('ES256', { kid: 'es' });
    const jwks = createJwks([es.privateJwk, { key: rsa.privateKey, alg: 'RS256' }]);
    assert.equal(jwks.keys.length, 2);
    for (const jwk of jwks.keys) {
      assert.equal(jwk.d, undefined);
      assert.equal(jwk.use, 'sig');
    }
    assert.equal(jwks.keys[0]!.kid, 'es');
    assert.equal(jwks.keys[0]!.alg, 'ES256');
    assert.equal(jwks.keys[1]!.kid, calculateThumbprint(rsa.publicKey));
    assert.equal(jwks.keys[1]!.alg, 'RS256');
  });

  test('thumbprints agree across the forms of one key', () => {
    const t = calculateThumbprint(ec256.publicKey);
    assert.match(t, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(calculateThumbprint(ec256.privateKey), t);
    assert.equal(calculateThumbprint(exportJwk(ec256.publicKey, { kid: 'ignored' })), t);
    assert.equal(
      calculateThumbprint(ec256.publicKey.export({ type: 'spki', format: 'pem' }) as string),
      t,
    );
  });

  test('generateKey makes a usable key for every algorithm', () => {
    for (const alg of ALGORITHMS) {
      const { privateJwk, publicJwk } = generateKey(
        alg,
        alg.startsWith('RS') || alg.startsWith('PS') ? {} : { kid: 'k' },
      );
      assert.equal(privateJwk.alg, alg);
      const token = createSigner({ key: privateJwk, algorithm: alg, expiresIn: 60 })({ sub: alg });
      assert.equal(
        createVerifier({ key: publicJwk ?? privateJwk, algorithms: [alg] })(token).payload.sub,
        alg,
      );
      if (alg.startsWith('HS')) assert.equal(publicJwk, undefined);
    }
  });
});

test('parseDuration', () => {
  assert.equal(parseDuration(90), 90);
  assert.equal(parseDuration('30s'), 30);
  assert.equal(parseDuration('15m'), 900);
  assert.equal(parseDuration('12h'), 43200);
  assert.equal(parseDuration('7d'), 604800);
  assert.equal(parseDuration('2w'), 1209600);
  assert.equal(parseDuration('1.5h'), 5400);
  assert.equal(parseDuration('45'), 45);
  for (const bad of ['', 'soon', '-5m', '5 parsecs', Number.NaN, -1, Number.POSITIVE_INFINITY]) {
    assert.throws(() => parseDuration(bad as never), TypeError);
  }
});
