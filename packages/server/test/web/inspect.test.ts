// The debugger's engine (src/web/inspect/) in Node, whose WebCrypto is the same API the page
// uses: decoding, strictness, and verification with secrets, PEM (SPKI, PKCS#1, certificates) and
// JWKs, for every algorithm laissez signs with. Tokens are signed by laissez/jwt or by hand.

import assert from 'node:assert/strict';
import { createPrivateKey, createSign, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { createSigner, generateKey } from '../../../jwt/src/index.ts';
import { ALGORITHMS } from '../../../jwt/src/lib/algorithms.ts';
import {
  b64,
  ec256,
  ec384,
  ed25519,
  flip,
  hmacToken,
  rsa,
} from '../../../jwt/test/helpers/forge.ts';
import { SUPPORTED_ALGORITHMS } from '../../src/web/inspect/algorithms.ts';
import { decodeBase64url } from '../../src/web/inspect/base64url.ts';
import { type DecodedToken, decodeToken } from '../../src/web/inspect/decode.ts';
import { detectKeyFormat } from '../../src/web/inspect/keys.ts';
import { humanDuration, timeClaims, validity } from '../../src/web/inspect/times.ts';
import { verifyToken } from '../../src/web/inspect/verify.ts';

const seed = JSON.parse(
  readFileSync(new URL('../../../jwt/test/fixtures/seed-odin.json', import.meta.url), 'utf8'),
) as { token: string; secret: string; payload: Record<string, unknown> };

function decoded(token: string): DecodedToken {
  const result = decodeToken(token);
  assert.ok(result.ok, result.ok ? '' : result.error);
  return result.token;
}

/** A token with one character of `segment` (0 header, 1 payload, 2 signature) changed. */
function tamper(token: string, segment: number): string {
  const parts = token.split('.');
  const start = parts.slice(0, segment).join('.').length + (segment > 0 ? 1 : 0);
  return flip(token, start + 3);
}

describe('decoding', () => {
  test("the seed's Odin token: header, payload {name: Odin}, 32-byte signature, no times", () => {
    const token = decoded(seed.token);
    assert.deepEqual(token.header, { alg: 'HS256', typ: 'JWT' });
    assert.deepEqual(token.payload, { name: 'Odin' });
    assert.equal(token.payloadIsJson, true);
    assert.equal(token.signature.length, 32);
    assert.deepEqual(validity(token.payload, Date.now()), { state: 'no-exp' });
  });

  test('a "Bearer " prefix and surrounding whitespace are left out, with a note', () => {
    const token = decoded(`  Bearer ${seed.token}\n`);
    assert.deepEqual(token.payload, { name: 'Odin' });
    assert.match(token.notes.join(' '), /Bearer/);
  });

  test('malformed tokens get a precise message, never an exception', () => {
    const cases: [string, RegExp][] = [
      ['', /Paste a token/],
      ['abc', /three parts.*this has 1/],
      ['a.b.c.d.e', /encrypted token \(JWE/],
      [`${seed.token.slice(0, 20)} ${seed.token.slice(20)}`, /spaces or line breaks/],
      [`!!.${seed.token.split('.')[1]}.x`, /header \(first part\) is not valid base64url/],
      [`${b64('not json')}.e30.`, /header \(first part\) is not valid UTF-8 JSON/],
      [`${b64('[1]')}.e30.`, /header is not a JSON object/],
      [`${b64({ alg: 'HS256' })}.e30=.`, /payload \(second part\) is not valid base64url/],
      [`${b64({ alg: 'HS256' })}.e30.a`, /signature \(third part\) is not valid base64url/],
      ['x'.repeat(300 * 1024), /over 256 KiB/],
    ];
    for (const [input, message] of cases) {
      const result = decodeToken(input);
      assert.equal(result.ok, false, input.slice(0, 40));
      if (!result.ok) assert.match(result.error, message);
    }
  });

  test('base64url is strict: no padding, no "+/", no non-zero unused bits', () => {
    assert.deepEqual([...decodeBase64url('AQID')!], [1, 2, 3]);
    assert.equal(decodeBase64url('AQ=='), null);
    assert.equal(decodeBase64url('+/8'), null);
    assert.equal(decodeBase64url('AR'), null); // "AQ" is the canonical encoding of 0x01
    assert.deepEqual([...decodeBase64url('AQ')!], [1]);
    // The last character of the Odin signature carries 2 unused bits: a twin that differs only
    // there is not the same signature, it is refused.
    const [h, p, s] = seed.token.split('.') as [string, string, string];
    const twin = `${h}.${p}.${s.slice(0, -1)}9`;
    assert.equal(decodeToken(twin).ok, false);
  });

  test('a payload that is not JSON is shown as text', () => {
    const token = decoded(hmacToken(b64({ alg: 'HS256' }), b64('hello'), 'k'));
    assert.equal(token.payload, 'hello');
    assert.equal(token.payloadIsJson, false);
  });

  test('times: NumericDates become dates; expired, not yet valid, valid', () => {
    const now = 1_700_000_000_000;
    const at = now / 1000;
    assert.deepEqual(
      timeClaims({ iat: at, exp: 'soon' }).facts.map((f) => [f.claim, f.date.toISOString()]),
      [['iat', '2023-11-14T22:13:20.000Z']],
    );
    assert.deepEqual(timeClaims({ exp: 'soon' }).invalid, ['exp']);
    assert.deepEqual(validity({ exp: at - 90 }, now), { state: 'expired', agoMs: 90_000 });
    assert.deepEqual(validity({ nbf: at + 5, exp: at + 60 }, now), {
      state: 'not-yet-valid',
      inMs: 5000,
    });
    assert.deepEqual(validity({ exp: at + 60 }, now), { state: 'valid', expiresInMs: 60_000 });
    assert.equal(humanDuration(90_000), '1 min 30 s');
    assert.equal(humanDuration(3 * 3600_000 + 60_000), '3 h 1 min');
  });
});

describe('verification with a secret', () => {
  test('the Odin token verifies with "theodinproject", with the weak-key warning (112 bits)', async () => {
    const verdict = await verifyToken(decoded(seed.token), seed.secret);
    assert.equal(verdict.status, 'verified', verdict.detail);
    assert.equal(verdict.title, 'Signature verified');
    assert.match(verdict.detail, /HS256.*text secret of 14 bytes/);
    assert.equal(verdict.warnings.length, 1);
    assert.match(verdict.warnings[0]!, /14 bytes \(112 bits\).*at least 32 bytes \(256 bits/);
  });

  test('another secret, or one changed character anywhere, fails', async () => {
    assert.equal((await verifyToken(decoded(seed.token), 'theodinprojecT')).status, 'invalid');
    for (const segment of [0, 1, 2]) {
      const changed = tamper(seed.token, segment);
      const result = decodeToken(changed);
      if (!result.ok) continue; // a header that no longer decodes is refused earlier
      const verdict = await verifyToken(result.token, seed.secret);
      assert.notEqual(verdict.status, 'verified', `segment ${segment}`);
      // A changed header may no longer name an algorithm, and then cannot even be checked.
      if (segment > 0) assert.equal(verdict.title, 'Invalid signature');
    }
  });

  test('a secret with a trailing newline fails, and the verdict says why it may have', async () => {
    const verdict = await verifyToken(decoded(seed.token), `${seed.secret}\n`, 'secret');
    assert.equal(verdict.status, 'invalid');
    assert.match(verdict.warnings.join(' '), /space or a line break/);
  });

  test('a 32-byte secret: no warning; as base64 bytes and as an oct JWK too', async () => {
    const secret = Buffer.from('0123456789abcdef0123456789abcdef');
    const token = createSigner({
      key: secret,
      algorithm: 'HS384',
      allowWeakKey: true,
      expiresIn: 60,
    })({ sub: 'u' });
    const asText = await verifyToken(decoded(token), secret.toString(), 'secret');
    assert.equal(asText.status, 'verified');
    assert.match(asText.warnings[0]!, /HS384 needs at least 48 bytes/);
    const strong = Buffer.alloc(64, 7);
    const hs512 = createSigner({ key: strong, algorithm: 'HS512', expiresIn: 60 })({ sub: 'u' });
    const b64secret = await verifyToken(decoded(hs512), strong.toString('base64'), 'secret-base64');
    assert.equal(b64secret.status, 'verified', b64secret.detail);
    assert.deepEqual(b64secret.warnings, []);
    const jwk = JSON.stringify({ kty: 'oct', k: strong.toString('base64url') });
    const viaJwk = await verifyToken(decoded(hs512), jwk);
    assert.equal(viaJwk.status, 'verified', viaJwk.detail);
    assert.match(viaJwk.detail, /JWK \(oct\)/);
  });

  test('alg none, unknown algorithms, b64 and crit are refused before any key is used', async () => {
    const none = decoded(`${b64({ alg: 'none' })}.${b64({ a: 1 })}.`);
    assert.match((await verifyToken(none, 'x')).detail, /alg "none".*never accepted/);
    const noneCase = decoded(`${b64({ alg: 'NoNe' })}.${b64({ a: 1 })}.`);
    assert.equal((await verifyToken(noneCase, 'x')).status, 'error');
    const odd = decoded(`${b64({ alg: 'HS257' })}.${b64({})}.`);
    assert.match((await verifyToken(odd, 'x')).detail, /not supported/);
    const noAlg = decoded(`${b64({ typ: 'JWT' })}.${b64({})}.`);
    assert.match((await verifyToken(noAlg, 'x')).detail, /no "alg"/);
    const b64header = decoded(hmacToken(b64({ alg: 'HS256', b64: false }), b64({}), seed.secret));
    assert.match((await verifyToken(b64header, seed.secret)).detail, /RFC 7797/);
    const crit = decoded(
      hmacToken(b64({ alg: 'HS256', crit: ['exp'], exp: 1 }), b64({}), seed.secret),
    );
    assert.match((await verifyToken(crit, seed.secret)).detail, /crit/);
    assert.match((await verifyToken(decoded(seed.token), '   ')).detail, /Enter a key/);
  });

  test('an HMAC token with a public key is refused (algorithm confusion)', async () => {
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const verdict = await verifyToken(decoded(seed.token), pem);
    assert.equal(verdict.status, 'error');
    assert.match(verdict.detail, /shared secret, not a public key.*algorithm-confusion/);
  });
});

describe('verification with public keys', () => {
  const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  const pairs = [
    { alg: 'RS256', pair: rsa },
    { alg: 'RS512', pair: rsa },
    { alg: 'PS256', pair: rsa },
    { alg: 'PS384', pair: rsa },
    { alg: 'ES256', pair: ec256 },
    { alg: 'ES384', pair: ec384 },
    { alg: 'ES512', pair: p521 },
    { alg: 'EdDSA', pair: ed25519 },
    { alg: 'Ed25519', pair: ed25519 },
  ] as const;

  for (const { alg, pair } of pairs) {
    test(`${alg}: PEM, JWK and JWK Set verify; a changed character fails`, async () => {
      const token = createSigner({
        key: pair.privateKey,
        algorithm: alg,
        kid: 'k1',
        expiresIn: 60,
      })({ sub: 'u1' });
      const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig' };
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
        format: 'jwk',
      });
      const set = JSON.stringify({ keys: [{ ...other, kid: 'k0' }, jwk] });
      for (const [key, format] of [
        [pem, 'auto'],
        [pem, 'pem'],
        [JSON.stringify(jwk), 'auto'],
        [set, 'jwk'],
      ] as const) {
        const verdict = await verifyToken(decoded(token), key, format);
        assert.equal(verdict.status, 'verified', `${format}: ${verdict.detail}`);
        assert.deepEqual(verdict.warnings, []);
        assert.ok(verdict.detail.startsWith(alg));
      }
      const changed = await verifyToken(decoded(tamper(token, 1)), pem);
      assert.equal(changed.status, 'invalid', changed.detail);
      const secret = await verifyToken(decoded(token), 'a secret', 'secret');
      assert.match(secret.detail, /public key \(PEM or JWK\), not a secret/);
    });
  }

  test('a key of another type or curve is refused with what it is', async () => {
    const es256 = createSigner({ key: ec256.privateKey, algorithm: 'ES256', expiresIn: 60 })({});
    const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.match(
      (await verifyToken(decoded(es256), rsaPem)).detail,
      /signed with ES256 .*but this is an RSA key/,
    );
    const p384 = ec384.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.match((await verifyToken(decoded(es256), p384)).detail, /this is an EC P-384 key/);
    const rs256 = createSigner({ key: rsa.privateKey, algorithm: 'RS256', expiresIn: 60 })({});
    const edJwk = JSON.stringify(ed25519.publicKey.export({ format: 'jwk' }));
    assert.match((await verifyToken(decoded(rs256), edJwk)).detail, /this is an Ed25519 key/);
    const jwkWithAlg = JSON.stringify({ ...rsa.publicKey.export({ format: 'jwk' }), alg: 'PS256' });
    assert.match((await verifyToken(decoded(rs256), jwkWithAlg)).detail, /JWK is for PS256/);
    const encJwk = JSON.stringify({ ...rsa.publicKey.export({ format: 'jwk' }), use: 'enc' });
    assert.match((await verifyToken(decoded(rs256), encJwk)).detail, /not "sig"/);
    const kidToken = createSigner({
      key: rsa.privateKey,
      algorithm: 'RS256',
      kid: 'nope',
      expiresIn: 60,
    })({});
    const set = JSON.stringify({
      keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'a' }],
    });
    assert.match((await verifyToken(decoded(kidToken), set)).detail, /No key in the set has/);
  });

  test('RSA PKCS#1 PEM and an X.509 certificate (its public key) verify', async () => {
    const rs256 = createSigner({ key: rsa.privateKey, algorithm: 'RS256', expiresIn: 60 })({});
    const pkcs1 = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    assert.match(pkcs1, /BEGIN RSA PUBLIC KEY/);
    const viaPkcs1 = await verifyToken(decoded(rs256), pkcs1);
    assert.equal(viaPkcs1.status, 'verified', viaPkcs1.detail);

    const certPem = readFileSync(
      new URL('../../../jwt/test/fixtures/cert.pem', import.meta.url),
      'utf8',
    );
    const certKey = createPrivateKey(
      readFileSync(new URL('../../../jwt/test/fixtures/cert-key.pem', import.meta.url), 'utf8'),
    );
    const signed = createSigner({ key: certKey, algorithm: 'RS256', expiresIn: 60 })({});
    const viaCert = await verifyToken(decoded(signed), certPem);
    assert.equal(viaCert.status, 'verified', viaCert.detail);
    assert.match(viaCert.detail, /certificate/);
    assert.match(viaCert.warnings.join(' '), /validity dates, issuer and chain were not checked/);
    assert.equal((await verifyToken(decoded(rs256), certPem)).status, 'invalid');
  });

  test('private keys: a PEM is refused; a private JWK is used for its public part, with a warning', async () => {
    const rs256 = createSigner({ key: rsa.privateKey, algorithm: 'RS256', expiresIn: 60 })({});
    const privatePem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.match((await verifyToken(decoded(rs256), privatePem)).detail, /This is a private key/);
    const privateJwk = JSON.stringify(rsa.privateKey.export({ format: 'jwk' }));
    const verdict = await verifyToken(decoded(rs256), privateJwk);
    assert.equal(verdict.status, 'verified', verdict.detail);
    assert.match(verdict.warnings.join(' '), /holds a private key/);
  });

  test('an RSA key under 2048 bits verifies with a warning that laissez refuses it', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const input = `${b64({ alg: 'RS256' })}.${b64({ sub: 'u' })}`;
    const signature = createSign('RSA-SHA256').update(input).sign(small.privateKey, 'base64url');
    const verdict = await verifyToken(
      decoded(`${input}.${signature}`),
      small.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    );
    assert.equal(verdict.status, 'verified', verdict.detail);
    assert.match(verdict.warnings.join(' '), /1024 bits; laissez requires at least 2048/);
  });

  test('ECDSA: a DER signature (not r‖s) is invalid and said to be', async () => {
    const input = `${b64({ alg: 'ES256' })}.${b64({ sub: 'u' })}`;
    const der = createSign('SHA256').update(input).sign(ec256.privateKey, 'base64url');
    const pem = ec256.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const verdict = await verifyToken(decoded(`${input}.${der}`), pem);
    assert.equal(verdict.status, 'invalid');
    assert.match(verdict.detail, /64 bytes.*DER-encoded/);
  });

  test('garbage keys are refused with a message, never thrown', async () => {
    const rs256 = createSigner({ key: rsa.privateKey, algorithm: 'RS256', expiresIn: 60 })({});
    for (const [key, format, message] of [
      ['-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----', 'pem', /not valid base64/],
      ['-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----', 'pem', /./],
      ['-----BEGIN FOO-----\nMAA=\n-----END FOO-----', 'pem', /not a public key/],
      ['just text', 'pem', /This is not PEM/],
      ['{', 'jwk', /not valid JSON/],
      ['[]', 'jwk', /JSON object/],
      ['{"kty":"XYZ"}', 'jwk', /not supported/],
      ['{"kty":"EC","crv":"P-256","x":"AQAB"}', 'jwk', /./],
    ] as const) {
      const verdict = await verifyToken(decoded(rs256), key, format);
      assert.equal(verdict.status, 'error', `${key}: ${verdict.title} ${verdict.detail}`);
      assert.match(verdict.detail, message);
    }
  });

  test('the key format is detected: PEM, JWK, else a secret', () => {
    assert.equal(detectKeyFormat('  -----BEGIN PUBLIC KEY-----'), 'pem');
    assert.equal(detectKeyFormat('{"kty":"oct","k":"AA"}'), 'jwk');
    assert.equal(detectKeyFormat('{"keys":[]}'), 'jwk');
    assert.equal(detectKeyFormat('{not json'), 'secret');
    assert.equal(detectKeyFormat('theodinproject'), 'secret');
  });
});

describe("the debugger's algorithms are laissez/jwt's", () => {
  test('the same names, in the same order', () => {
    assert.deepEqual([...SUPPORTED_ALGORITHMS], [...ALGORITHMS]);
  });

  // Keys made by the library for each of its algorithms: if the page's facts (hash, salt, curve,
  // r‖s size) differed from the library's for any of them, the signature would not verify.
  for (const alg of ALGORITHMS) {
    test(`${alg}: a token laissez/jwt signs verifies with its JWK; a changed character fails`, async () => {
      const { privateJwk, publicJwk } = generateKey(alg, { kid: 'k1' });
      const token = createSigner({ key: privateJwk, algorithm: alg, kid: 'k1', expiresIn: 60 })({
        sub: 'u1',
      });
      const key = JSON.stringify(alg.startsWith('HS') ? privateJwk : publicJwk);
      const verdict = await verifyToken(decoded(token), key, 'jwk');
      assert.equal(verdict.status, 'verified', verdict.detail);
      assert.ok(verdict.detail.startsWith(`${alg} (`), verdict.detail);
      const changed = await verifyToken(decoded(tamper(token, 2)), key, 'jwk');
      assert.equal(changed.status, 'invalid', changed.detail);
    });
  }
});
