import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createSigner,
  createVerifier,
  generateKey,
  JwtError,
  type JwtErrorCode,
  type SyncVerifier,
  verify as verifyOnce,
} from '../src/index.ts';
import { ec256, ed25519, hs256, secret32 } from './helpers/forge.ts';

const T0 = 1_800_000_000; // a fixed "now", in seconds
const at = (seconds: number) => () => seconds * 1000;
const code = (run: () => unknown): JwtErrorCode | 'none' => {
  try {
    run();
    return 'none';
  } catch (error) {
    assert.ok(error instanceof JwtError, String(error));
    return error.code;
  }
};
const token = (
  payload: Record<string, unknown>,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
) => hs256(header, payload, secret32);

describe('time claims with an injected clock', () => {
  const verify = (seconds: number, extra = {}) =>
    createVerifier({ key: secret32, algorithms: ['HS256'], now: at(seconds), ...extra });

  test('exp: valid before, expired at and after (RFC 7519 §4.1.4)', () => {
    const t = token({ exp: T0 + 60 });
    assert.equal(
      code(() => verify(T0 + 59)(t)),
      'none',
    );
    assert.equal(
      code(() => verify(T0 + 60)(t)),
      'ERR_JWT_EXPIRED',
    );
    assert.equal(
      code(() => verify(T0 + 3600)(t)),
      'ERR_JWT_EXPIRED',
    );
  });

  test('clockTolerance widens exp, nbf and iat by the same leeway', () => {
    assert.equal(
      code(() => verify(T0 + 65, { clockTolerance: '10s' })(token({ exp: T0 + 60 }))),
      'none',
    );
    assert.equal(
      code(() => verify(T0 + 70, { clockTolerance: 10 })(token({ exp: T0 + 60 }))),
      'ERR_JWT_EXPIRED',
    );
    const early = token({ exp: T0 + 600, nbf: T0 + 5, iat: T0 + 5 });
    assert.equal(
      code(() => verify(T0)(early)),
      'ERR_JWT_NOT_YET_VALID',
    );
    assert.equal(
      code(() => verify(T0, { clockTolerance: '5s' })(early)),
      'none',
    );
  });

  test('maxAge needs iat and bounds the age', () => {
    assert.equal(
      code(() => verify(T0 + 100, { maxAge: '2m' })(token({ exp: T0 + 600, iat: T0 }))),
      'none',
    );
    assert.equal(
      code(() => verify(T0 + 120, { maxAge: '2m' })(token({ exp: T0 + 600, iat: T0 }))),
      'ERR_JWT_EXPIRED',
    );
    assert.equal(
      code(() => verify(T0, { maxAge: 60 })(token({ exp: T0 + 600 }))),
      'ERR_JWT_CLAIM_MISSING',
    );
  });

  test('requireExp: false accepts a token without exp, still checks a present one', () => {
    const lax = verify(T0, { requireExp: false });
    assert.deepEqual(lax(token({ sub: 'u' })).payload, { sub: 'u' });
    assert.equal(
      code(() => lax(token({ exp: T0 - 1 }))),
      'ERR_JWT_EXPIRED',
    );
  });
});

describe('identity claims and typ', () => {
  const base = { key: secret32, algorithms: ['HS256' as const], now: at(T0) };
  const exp = T0 + 60;

  test('issuer: one of a list; missing or other is refused with the claim named', () => {
    const verify = createVerifier({ ...base, issuer: ['https://a.example', 'https://b.example'] });
    assert.equal(verify(token({ exp, iss: 'https://b.example' })).payload.iss, 'https://b.example');
    assert.throws(() => verify(token({ exp, iss: 'https://c.example' })), {
      code: 'ERR_JWT_CLAIM_INVALID',
      claim: 'iss',
    });
    assert.throws(() => verify(token({ exp })), { code: 'ERR_JWT_CLAIM_MISSING', claim: 'iss' });
  });

  test('audience: a string token aud or an array, any overlap', () => {
    const verify = createVerifier({ ...base, audience: 'api' });
    assert.equal(
      code(() => verify(token({ exp, aud: 'api' }))),
      'none',
    );
    assert.equal(
      code(() => verify(token({ exp, aud: ['web', 'api'] }))),
      'none',
    );
    assert.equal(
      code(() => verify(token({ exp, aud: 'web' }))),
      'ERR_JWT_CLAIM_INVALID',
    );
  });

  test('subject and required claims', () => {
    const verify = createVerifier({ ...base, subject: 'u1', requiredClaims: ['jti', 'roles'] });
    assert.equal(
      code(() => verify(token({ exp, sub: 'u1', jti: 'j', roles: [] }))),
      'none',
    );
    assert.throws(() => verify(token({ exp, sub: 'u2', jti: 'j', roles: [] })), { claim: 'sub' });
    assert.throws(() => verify(token({ exp, sub: 'u1', roles: [] })), {
      code: 'ERR_JWT_CLAIM_MISSING',
      claim: 'jti',
    });
  });

  test('typ compares case-insensitively with application/ optional (RFC 7515 §4.1.9)', () => {
    const verify = createVerifier({ ...base, typ: 'at+jwt' });
    for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt']) {
      assert.equal(
        code(() => verify(token({ exp }, { alg: 'HS256', typ }))),
        'none',
        typ,
      );
    }
    assert.throws(() => verify(token({ exp }, { alg: 'HS256', typ: 'JWT' })), {
      code: 'ERR_JWT_CLAIM_INVALID',
      claim: 'typ',
    });
    assert.throws(() => verify(token({ exp }, { alg: 'HS256' })), {
      code: 'ERR_JWT_CLAIM_MISSING',
      claim: 'typ',
    });
  });

  test('signature is checked before any claim: a forged expired token says signature, not expiry', () => {
    const forged = hs256({ alg: 'HS256' }, { exp: 1 }, Buffer.alloc(32, 7));
    assert.equal(
      code(() => createVerifier(base)(forged)),
      'ERR_JWS_SIGNATURE_INVALID',
    );
  });
});

describe('options are checked once, at setup', () => {
  const bad: Array<[string, Record<string, unknown>]> = [
    ['no algorithms', { key: secret32 }],
    ['empty algorithms', { key: secret32, algorithms: [] }],
    ['unknown algorithm', { key: secret32, algorithms: ['HS257'] }],
    ['no key', { algorithms: ['HS256'] }],
    ['bad clockTolerance', { key: secret32, algorithms: ['HS256'], clockTolerance: 'soon' }],
    ['negative maxAge', { key: secret32, algorithms: ['HS256'], maxAge: -1 }],
    ['empty issuer list', { key: secret32, algorithms: ['HS256'], issuer: [] }],
    ['now not a function', { key: secret32, algorithms: ['HS256'], now: 5 }],
    ['bad cache size', { key: secret32, algorithms: ['HS256'], cache: { max: 0 } }],
    ['bad crit', { key: secret32, algorithms: ['HS256'], crit: 'x' }],
  ];
  for (const [name, options] of bad) {
    test(`${name} is a TypeError`, () => {
      assert.throws(() => createVerifier(options as never), TypeError);
    });
  }
});

describe('key sets and resolvers', () => {
  const a = generateKey('ES256', { kid: 'a' });
  const b = generateKey('EdDSA', { kid: 'b' });
  const c = generateKey('ES256', { kid: 'c' });
  const signA = createSigner({ key: a.privateJwk, algorithm: 'ES256', kid: 'a', expiresIn: 60 });
  const signB = createSigner({ key: b.privateJwk, algorithm: 'EdDSA', kid: 'b', expiresIn: 60 });
  const signC = createSigner({ key: c.privateJwk, algorithm: 'ES256', expiresIn: 60 }); // no kid

  test('a JWKS picks the key by kid and alg, synchronously', () => {
    const verify = createVerifier({
      key: { keys: [a.publicJwk!, b.publicJwk!] },
      algorithms: ['ES256', 'EdDSA'],
    });
    assert.equal(verify(signA({ sub: '1' })).payload.sub, '1');
    assert.equal(verify(signB({ sub: '2' })).payload.sub, '2');
    const unknownKid = createSigner({
      key: c.privateJwk,
      algorithm: 'ES256',
      kid: 'zzz',
      expiresIn: 60,
    })({});
    assert.equal(
      code(() => verify(unknownKid)),
      'ERR_KEY_NOT_FOUND',
    );
  });

  test('without a kid every key of the alg is tried', () => {
    const verify = createVerifier({
      key: { keys: [a.publicJwk!, { ...c.publicJwk!, kid: undefined }] },
      algorithms: ['ES256'],
    });
    assert.equal(
      code(() => verify(signC({}))),
      'none',
    );
    const stranger = createSigner({ key: ec256.privateKey, algorithm: 'ES256', expiresIn: 60 })({});
    assert.equal(
      code(() => verify(stranger)),
      'ERR_JWS_SIGNATURE_INVALID',
    );
  });

  test('keys that cannot sign are skipped; a set with none usable is refused', () => {
    const enc = {
      kty: 'OKP',
      crv: 'X25519',
      x: 'hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo',
      use: 'enc',
    };
    const verify = createVerifier({ key: { keys: [enc, a.publicJwk!] }, algorithms: ['ES256'] });
    assert.equal(
      code(() => verify(signA({}))),
      'none',
    );
    assert.throws(() => createVerifier({ key: { keys: [enc] }, algorithms: ['ES256'] }), {
      code: 'ERR_KEY_NOT_FOUND',
    });
  });

  test('a JWK alg binds the key to that algorithm', () => {
    const es384 = generateKey('ES256');
    assert.throws(
      () => createVerifier({ key: { ...es384.publicJwk!, alg: 'ES384' }, algorithms: ['ES256'] }),
      { code: 'ERR_KEY_ALG_MISMATCH' },
    );
  });

  test('a resolver makes the verifier async and sees the header', async () => {
    const seen: Array<string | undefined> = [];
    const verify = createVerifier({
      key: async (header) => {
        seen.push(header.kid);
        return header.kid === 'b' ? b.publicJwk! : a.publicJwk!;
      },
      algorithms: ['ES256', 'EdDSA'],
    });
    const result = verify(signA({ sub: 'x' }));
    assert.ok(result instanceof Promise);
    assert.equal((await result).payload.sub, 'x');
    assert.equal((await verify(signB({ sub: 'y' }))).payload.sub, 'y');
    assert.deepEqual(seen, ['a', 'b']);
    await assert.rejects(verify(signC({})), { code: 'ERR_JWS_SIGNATURE_INVALID' });
    const none = createVerifier({ key: async () => undefined as never, algorithms: ['ES256'] });
    await assert.rejects(none(signA({})), { code: 'ERR_KEY_NOT_FOUND' });
  });
});

describe('verify cache (opt-in)', () => {
  const sign = createSigner({
    key: ed25519.privateKey,
    algorithm: 'EdDSA',
    now: at(T0),
    expiresIn: 60,
  });
  let clock = T0;
  const verify: SyncVerifier = createVerifier({
    key: ed25519.publicKey,
    algorithms: ['EdDSA'],
    cache: { max: 2 },
    now: () => clock * 1000,
  });

  test('a hit returns the same frozen result; an entry never outlives exp', () => {
    clock = T0;
    const t = sign({ sub: 'u' });
    const first = verify(t);
    assert.ok(Object.isFrozen(first));
    assert.equal(verify(t), first);
    clock = T0 + 59;
    assert.equal(verify(t), first);
    clock = T0 + 60;
    assert.equal(
      code(() => verify(t)),
      'ERR_JWT_EXPIRED',
    );
  });

  test('maxAge bounds a cached entry too', () => {
    clock = T0;
    const aged = createVerifier({
      key: ed25519.publicKey,
      algorithms: ['EdDSA'],
      cache: true,
      maxAge: 10,
      now: () => clock * 1000,
    });
    const t = sign({ sub: 'aged' });
    const first = aged(t);
    clock = T0 + 9;
    assert.equal(aged(t), first);
    clock = T0 + 10;
    assert.equal(
      code(() => aged(t)),
      'ERR_JWT_EXPIRED',
    );
  });

  test('errors are not cached and the size is bounded', () => {
    clock = T0;
    const t = sign({ sub: 'e' });
    const tampered = `${t.slice(0, -4)}AAAA`;
    assert.equal(
      code(() => verify(tampered)),
      'ERR_JWS_SIGNATURE_INVALID',
    );
    assert.equal(
      code(() => verify(tampered)),
      'ERR_JWS_SIGNATURE_INVALID',
    );
    const [x, y, z] = [sign({ n: 1 }), sign({ n: 2 }), sign({ n: 3 })];
    const rx = verify(x);
    verify(y);
    verify(z); // evicts x (max 2)
    assert.notEqual(verify(x), rx);
    assert.deepEqual(verify(x).payload, rx.payload);
  });

  test('a token in steady use stays cached while many others come and go', () => {
    clock = T0;
    const lru: SyncVerifier = createVerifier({
      key: ed25519.publicKey,
      algorithms: ['EdDSA'],
      cache: { max: 8 },
      now: () => clock * 1000,
    });
    const hot = sign({ sub: 'hot' });
    const first = lru(hot);
    for (let i = 0; i < 100; i++) {
      lru(sign({ n: i })); // a stream of new tokens, each evicting the oldest entry
      assert.equal(lru(hot), first, `still cached after ${i + 1} others`);
    }
    // A token not used since is evicted once enough others came after it.
    const cold = sign({ sub: 'cold' });
    const coldFirst = lru(cold);
    for (let i = 0; i < 8; i++) lru(sign({ m: i }));
    assert.notEqual(lru(cold), coldFirst);
  });

  test('a cached verifier still refuses over-size and non-string tokens', () => {
    assert.equal(
      code(() => verify('x'.repeat(20000))),
      'ERR_JWT_TOO_LARGE',
    );
    assert.equal(
      code(() => verify(42 as never)),
      'ERR_JWT_MALFORMED',
    );
  });
});

test('verify() one-shot gives the same answer as a prepared verifier', () => {
  const t = createSigner({ key: secret32, algorithm: 'HS256', expiresIn: 60 })({ sub: 'one' });
  assert.equal(verifyOnce(t, { key: secret32, algorithms: ['HS256'] }).payload.sub, 'one');
});
