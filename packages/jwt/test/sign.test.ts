import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { createSigner, createVerifier, decodeUnverified, JwtError, sign } from '../src/index.ts';
import { rsa, secret32 } from './helpers/forge.ts';

const T0 = 1_800_000_000;
const now = () => T0 * 1000 + 999; // iat floors to whole seconds

describe('createSigner', () => {
  test('adds iat, exp, nbf, iss, sub, aud and a random jti', () => {
    const signer = createSigner({
      key: secret32,
      algorithm: 'HS256',
      expiresIn: '15m',
      notBefore: 5,
      issuer: 'https://auth.example',
      subject: 'svc',
      audience: ['api', 'web'],
      jti: true,
      now,
    });
    const a = decodeUnverified(signer({ roles: ['user'] })).payload;
    const b = decodeUnverified(signer({ roles: ['user'] })).payload;
    assert.deepEqual(
      { ...a, jti: undefined },
      {
        roles: ['user'],
        iss: 'https://auth.example',
        sub: 'svc',
        aud: ['api', 'web'],
        iat: T0,
        exp: T0 + 900,
        nbf: T0 + 5,
        jti: undefined,
      },
    );
    assert.match(a.jti as string, /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(a.jti, b.jti);
  });

  test('header: alg and typ JWT by default, kid, extra parameters, typ null', () => {
    const token = createSigner({
      key: secret32,
      algorithm: 'HS256',
      kid: 'k1',
      typ: 'at+jwt',
      header: { cty: 'x' },
      expiresIn: 1,
    })();
    assert.deepEqual(decodeUnverified(token).header, {
      alg: 'HS256',
      typ: 'at+jwt',
      kid: 'k1',
      cty: 'x',
    });
    const bare = createSigner({ key: secret32, algorithm: 'HS256', typ: null, expiresIn: 1 })();
    assert.deepEqual(decodeUnverified(bare).header, { alg: 'HS256' });
    const plain = createSigner({ key: secret32, algorithm: 'HS256', expiresIn: 1 })();
    assert.equal(plain.split('.')[0], 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9');
  });

  test('a payload exp is kept when no expiresIn is set; iat from the payload is kept', () => {
    const signer = createSigner({ key: secret32, algorithm: 'HS256', now });
    const payload = decodeUnverified(signer({ exp: T0 + 10, iat: T0 - 5 })).payload;
    assert.deepEqual(payload, { exp: T0 + 10, iat: T0 - 5 });
  });

  test('a token that would never expire is refused unless requireExp: false', () => {
    assert.throws(
      () => createSigner({ key: secret32, algorithm: 'HS256' })({ sub: 'u' }),
      /never expire/,
    );
    const lax = createSigner({
      key: secret32,
      algorithm: 'HS256',
      requireExp: false,
      noTimestamp: true,
    });
    assert.deepEqual(decodeUnverified(lax({ sub: 'u' })).payload, { sub: 'u' });
  });

  test('a payload claim that an option also sets is a TypeError, not a silent override', () => {
    const signer = createSigner({ key: secret32, algorithm: 'HS256', expiresIn: 60, issuer: 'me' });
    assert.throws(() => signer({ exp: T0 }), TypeError);
    assert.throws(() => signer({ iss: 'other' }), TypeError);
  });

  test('bad payloads are TypeErrors with the reason', () => {
    const signer = createSigner({ key: secret32, algorithm: 'HS256', expiresIn: 60 });
    for (const payload of [null, [], 'x', 5])
      assert.throws(() => signer(payload as never), TypeError);
    assert.throws(() => signer({ n: 10n }), /serialized/);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.throws(() => signer(circular), TypeError);
    assert.throws(() => signer({ toJSON: () => 'str' }), /JSON object/);
    assert.throws(() => signer({ exp: 'tomorrow' } as never), TypeError);
    assert.throws(
      () => createSigner({ key: secret32, algorithm: 'HS256' })({ exp: Number.NaN }),
      TypeError,
    );
  });

  test('bad options fail at setup', () => {
    const cases: Array<Record<string, unknown>> = [
      { key: secret32 },
      { key: secret32, algorithm: 'HS255' },
      { algorithm: 'HS256' },
      { key: secret32, algorithm: 'HS256', expiresIn: 'a while' },
      { key: secret32, algorithm: 'HS256', audience: [] },
      { key: secret32, algorithm: 'HS256', kid: 5 },
      { key: secret32, algorithm: 'HS256', header: { alg: 'none' } },
      { key: secret32, algorithm: 'HS256', header: { kid: 'x' } },
    ];
    for (const options of cases)
      assert.throws(() => createSigner(options as never), TypeError, JSON.stringify(options));
  });

  test('weak and unusable keys fail at setup with codes', () => {
    assert.throws(() => createSigner({ key: 'short', algorithm: 'HS256', expiresIn: 1 }), {
      code: 'ERR_KEY_WEAK',
    });
    assert.throws(() => createSigner({ key: secret32, algorithm: 'HS384', expiresIn: 1 }), {
      code: 'ERR_KEY_WEAK',
    });
    assert.throws(() => createSigner({ key: '', algorithm: 'HS256', expiresIn: 1 }), {
      code: 'ERR_KEY_INVALID',
    });
    assert.throws(
      () => createSigner({ key: rsa.publicKey, algorithm: 'RS256', expiresIn: 1 }),
      (e: unknown) => e instanceof JwtError && /public key cannot sign/.test(e.message),
    );
    const weak = createSigner({
      key: 'short',
      algorithm: 'HS256',
      expiresIn: 60,
      allowWeakKey: true,
    })({});
    assert.equal(
      typeof createVerifier({ key: 'short', algorithms: ['HS256'], allowWeakKey: true })(weak)
        .payload.exp,
      'number',
    );
  });

  test('sign() one-shot', () => {
    const token = sign({ sub: 'x' }, { key: secret32, algorithm: 'HS256', expiresIn: 60 });
    assert.equal(createVerifier({ key: secret32, algorithms: ['HS256'] })(token).payload.sub, 'x');
  });

  test('the default access-token shape stays small', () => {
    const token = createSigner({
      key: secret32,
      algorithm: 'HS256',
      expiresIn: '15m',
      issuer: 'https://auth.example',
      audience: 'api',
    })({ sub: 'user_123', roles: ['user'] });
    assert.ok(token.length < 304, `${token.length} bytes`);
  });
});

describe('HMAC signatures', () => {
  // laissez computes HMAC as two one-shot hashes into a reused buffer; node's createHmac is the
  // reference. Keys shorter than, equal to and longer than the hash block; inputs past the
  // buffer's first size.
  const cases = [
    ['HS256', 'sha256', [32, 64, 65, 200]],
    ['HS384', 'sha384', [48, 128, 129, 300]],
    ['HS512', 'sha512', [64, 128, 129, 300]],
  ] as const;
  for (const [alg, hash, keySizes] of cases) {
    for (const size of keySizes) {
      test(`${alg} with a ${size}-byte key matches createHmac, short and long payloads`, () => {
        const key = randomBytes(size);
        const signer = createSigner({ key, algorithm: alg, expiresIn: 60, now });
        const verify = createVerifier({ key, algorithms: [alg], now });
        for (const filler of ['', 'x'.repeat(900), 'y'.repeat(5000), 'z']) {
          const token = signer({ filler });
          const dot = token.lastIndexOf('.');
          const reference = createHmac(hash, key).update(token.slice(0, dot)).digest('base64url');
          assert.equal(token.slice(dot + 1), reference);
          assert.equal(verify(token).payload.filler, filler);
        }
      });
    }
  }
});
