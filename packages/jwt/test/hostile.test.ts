// Hostile input: every case is refused with its documented code, never a crash or a TypeError.
import assert from 'node:assert/strict';
import { createHmac, sign as cryptoSign } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  createCompactVerifier,
  createSigner,
  createVerifier,
  exportJwk,
  JwtError,
  type JwtErrorCode,
} from '../src/index.ts';
import { b64, ec256, flip, hmacToken, hs256, nowSeconds, rsa, secret32 } from './helpers/forge.ts';

function rejects(run: () => unknown, code: JwtErrorCode, claim?: string): JwtError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof JwtError, `expected JwtError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (claim !== undefined) assert.equal(caught.claim, claim);
  return caught;
}

const exp = () => nowSeconds() + 600;
const hsVerify = createVerifier({ key: secret32, algorithms: ['HS256'] });
const good = createSigner({ key: secret32, algorithm: 'HS256', expiresIn: 600 })({ sub: 'u' });

describe('alg none and algorithm confusion', () => {
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    test(`alg "${alg}" is never accepted, signed or not`, () => {
      const unsigned = `${b64({ alg, typ: 'JWT' })}.${b64({ sub: 'admin', exp: exp() })}.`;
      const err = rejects(() => hsVerify(unsigned), 'ERR_JWS_ALG_NOT_ALLOWED');
      assert.match(err.message, /never accepted/);
      rejects(() => hsVerify(`${unsigned}c2ln`), 'ERR_JWS_ALG_NOT_ALLOWED');
    });
  }

  test("'none' cannot be put in the allow-list or used to sign", () => {
    assert.throws(
      () => createVerifier({ key: secret32, algorithms: ['none' as 'HS256'] }),
      (e: unknown) => e instanceof TypeError && /none/.test(e.message),
    );
    assert.throws(
      () => createSigner({ key: secret32, algorithm: 'none' as 'HS256', expiresIn: 60 }),
      TypeError,
    );
  });

  const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const jwk = exportJwk(rsa.publicKey);
  // The classic attack: sign HS256 with the server's public key text as the HMAC secret.
  const forgedWithPem = hs256({ alg: 'HS256', typ: 'JWT' }, { sub: 'admin', exp: exp() }, pem);
  const forgedWithJwk = hs256({ alg: 'HS256' }, { sub: 'admin', exp: exp() }, JSON.stringify(jwk));

  test('HS256 signed with the RSA public key PEM as secret: not allowed by an RS256 verifier', () => {
    for (const key of [pem, jwk, rsa.publicKey]) {
      const verify = createVerifier({ key, algorithms: ['RS256'] });
      rejects(() => verify(forgedWithPem), 'ERR_JWS_ALG_NOT_ALLOWED');
      rejects(() => verify(forgedWithJwk), 'ERR_JWS_ALG_NOT_ALLOWED');
    }
  });

  test('an RSA key with HS256 in the allow-list is refused at setup', () => {
    for (const key of [pem, jwk, rsa.publicKey]) {
      rejects(
        () => createVerifier({ key, algorithms: ['RS256', 'HS256'] }),
        'ERR_KEY_ALG_MISMATCH',
      );
    }
  });

  test('PEM or JWK text is never taken as an HMAC secret', () => {
    rejects(() => createSigner({ key: pem, algorithm: 'HS256', expiresIn: 60 }), 'ERR_KEY_INVALID');
    rejects(
      () => createVerifier({ key: JSON.stringify(jwk), algorithms: ['HS256'] }),
      'ERR_KEY_INVALID',
    );
  });

  test('a resolver that returns the RSA key for an HS256 token: key mismatch', async () => {
    const verify = createVerifier({ key: async () => pem, algorithms: ['RS256', 'HS256'] });
    await assert.rejects(
      verify(forgedWithPem),
      (e: unknown) => e instanceof JwtError && e.code === 'ERR_KEY_ALG_MISMATCH',
    );
  });

  test('a key set with only RSA keys has no key for HS256', () => {
    const verify = createVerifier({ key: { keys: [jwk] }, algorithms: ['RS256', 'HS256'] });
    rejects(() => verify(forgedWithPem), 'ERR_KEY_NOT_FOUND');
  });

  test('an algorithm outside the allow-list is refused before the key is used', () => {
    const es = createSigner({ key: ec256.privateKey, algorithm: 'ES256', expiresIn: 60 })({});
    rejects(() => hsVerify(es), 'ERR_JWS_ALG_NOT_ALLOWED');
    const hs512 = hmacToken(b64({ alg: 'HS512' }), b64({ exp: exp() }), secret32, 'sha512');
    rejects(() => hsVerify(hs512), 'ERR_JWS_ALG_NOT_ALLOWED');
  });

  test('a key of the wrong type for the algorithm is refused at setup', () => {
    rejects(
      () => createVerifier({ key: ec256.publicKey, algorithms: ['ES384'] }),
      'ERR_KEY_ALG_MISMATCH',
    );
    rejects(
      () => createVerifier({ key: ec256.publicKey, algorithms: ['RS256'] }),
      'ERR_KEY_ALG_MISMATCH',
    );
    rejects(
      () => createVerifier({ key: rsa.publicKey, algorithms: ['EdDSA'] }),
      'ERR_KEY_ALG_MISMATCH',
    );
    rejects(() => createVerifier({ key: secret32, algorithms: ['ES256'] }), 'ERR_KEY_ALG_MISMATCH');
    rejects(
      () => createSigner({ key: rsa.privateKey, algorithm: 'ES256', expiresIn: 1 }),
      'ERR_KEY_ALG_MISMATCH',
    );
  });
});

describe('crit and b64', () => {
  test('an unknown crit parameter is refused (RFC 7515 §4.1.11)', () => {
    const token = hs256({ alg: 'HS256', crit: ['exp2'], exp2: 1 }, { exp: exp() }, secret32);
    rejects(() => hsVerify(token), 'ERR_JWS_CRIT_UNSUPPORTED');
    const understanding = createVerifier({ key: secret32, algorithms: ['HS256'], crit: ['exp2'] });
    assert.equal(understanding(token).header.exp2, 1);
  });

  test('crit that is empty, not an array, names a registered or absent parameter is malformed', () => {
    for (const header of [
      { alg: 'HS256', crit: [] },
      { alg: 'HS256', crit: 'exp2' },
      { alg: 'HS256', crit: ['alg'] },
      { alg: 'HS256', crit: ['missing'] },
      { alg: 'HS256', crit: [1] },
    ]) {
      rejects(() => hsVerify(hs256(header, { exp: exp() }, secret32)), 'ERR_JWT_MALFORMED');
    }
  });

  test('b64: false (RFC 7797), with or without crit, is refused', () => {
    for (const header of [
      { alg: 'HS256', b64: false, crit: ['b64'] },
      { alg: 'HS256', b64: false },
    ]) {
      rejects(() => hsVerify(hs256(header, { exp: exp() }, secret32)), 'ERR_JWS_CRIT_UNSUPPORTED');
    }
  });
});

describe('structure and base64url', () => {
  const [h, p, s] = good.split('.') as [string, string, string];

  test('not three parts, empty, JWE, not a string', () => {
    for (const token of [
      '',
      'abc',
      `${h}.${p}`,
      `${h}.${p}.${s}.x`,
      `${h}.${p}.${s}.x.y`,
      `.${p}.${s}`,
    ]) {
      rejects(() => hsVerify(token), 'ERR_JWT_MALFORMED');
    }
    for (const token of [undefined, null, 42, {}, Buffer.from(good)]) {
      rejects(() => hsVerify(token as unknown as string), 'ERR_JWT_MALFORMED');
    }
    assert.match(rejects(() => hsVerify('a.b.c.d.e'), 'ERR_JWT_MALFORMED').message, /JWE/);
  });

  test('padding, whitespace, "+" and "/" in the header are malformed', () => {
    for (const header of [
      `${h}=`,
      `${h}==`,
      ` ${h}`,
      `${h}\n`,
      h.replace(/_|-/, '+'),
      `${h.slice(0, 4)} ${h.slice(4)}`,
    ]) {
      if (header === h) continue;
      rejects(() => hsVerify(`${header}.${p}.${s}`), 'ERR_JWT_MALFORMED');
    }
    const slash = b64({ alg: 'HS256', typ: 'JWT', x: '??>' }); // base64url of this contains "_"
    assert.ok(slash.includes('_'));
    rejects(() => hsVerify(`${slash.replace(/_/g, '/')}.${p}.${s}`), 'ERR_JWT_MALFORMED');
  });

  test('non-canonical payload with a valid signature is still malformed', () => {
    // Signed over the exact (bad) characters, so only the strict decoder can catch it.
    const payload = b64({ exp: exp(), n: 1 });
    for (const bad of [
      `${payload}=`,
      `${payload.slice(0, 5)}\n${payload.slice(5)}`,
      payload.replace(/-|_|$/, '+'),
    ]) {
      rejects(() => hsVerify(hmacToken(h, bad, secret32)), 'ERR_JWT_MALFORMED');
    }
  });

  test('a payload character swapped for a non-ASCII look-alike is malformed before the signature', () => {
    // 'Ł' (U+0141) has the low byte of 'A': a MAC over truncated bytes would match the original.
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const i = payload.search(/[A-Za-z]/);
    const lookAlike = String.fromCharCode(0x100 + payload.charCodeAt(i));
    const forged = `${header}.${payload.slice(0, i)}${lookAlike}${payload.slice(i + 1)}.${signature}`;
    rejects(() => hsVerify(forged), 'ERR_JWT_MALFORMED');
    rejects(
      () => createCompactVerifier({ key: secret32, algorithms: ['HS256'] })(forged),
      'ERR_JWT_MALFORMED',
    );
  });

  test('stray trailing bits are refused in every part', () => {
    // "eyJ9" style: find a segment whose length leaves unused bits, then set them.
    const payloadJson = JSON.stringify({ exp: exp(), pad: 'x' });
    let payload = b64(payloadJson);
    for (let i = 0; payload.length % 4 === 0; i++)
      payload = b64(`${payloadJson.slice(0, -1)},"i":${i}}`);
    const last = payload.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const stray = alphabet[alphabet.indexOf(last) + 1]!; // differs only in the unused low bits
    assert.deepEqual(
      Buffer.from(`${payload.slice(0, -1)}${stray}`, 'base64url'),
      Buffer.from(payload, 'base64url'),
    );
    rejects(
      () => hsVerify(hmacToken(h, `${payload.slice(0, -1)}${stray}`, secret32)),
      'ERR_JWT_MALFORMED',
    );
    // The HMAC signature (43 chars) carries 2 unused bits too.
    const valid = hmacToken(h, payload, secret32);
    const sig = valid.split('.')[2]!;
    const sigStray = sig.slice(0, -1) + alphabet[alphabet.indexOf(sig.at(-1)!) ^ 1];
    assert.deepEqual(Buffer.from(sigStray, 'base64url'), Buffer.from(sig, 'base64url'));
    // Caught by the structure step, before any signature is computed.
    rejects(() => hsVerify(`${h}.${payload}.${sigStray}`), 'ERR_JWT_MALFORMED');
    for (const bad of [
      `${sig}=`,
      `${sig.slice(0, 10)} ${sig.slice(10)}`,
      sig.replace(/-|_|$/, '+'),
    ])
      rejects(() => hsVerify(`${h}.${payload}.${bad}`), 'ERR_JWT_MALFORMED');
    assert.equal(hsVerify(valid).payload.pad, 'x');
  });

  test('header or payload that is not a JSON object', () => {
    for (const header of ['[]', '"HS256"', '42', 'null', '{"alg":"HS256"', '{"alg":HS256}', '']) {
      rejects(() => hsVerify(hmacToken(b64(header), p, secret32)), 'ERR_JWT_MALFORMED');
    }
    for (const payload of ['[]', '"sub"', '42', 'null', 'true', '{"exp":1', 'not json']) {
      rejects(() => hsVerify(hmacToken(h, b64(payload), secret32)), 'ERR_JWT_MALFORMED');
    }
    rejects(() => hsVerify(hmacToken(b64('{"typ":"JWT"}'), p, secret32)), 'ERR_JWT_MALFORMED');
    rejects(
      () => hsVerify(hs256({ alg: 'HS256', kid: 7 }, { exp: exp() }, secret32)),
      'ERR_JWT_MALFORMED',
    );
  });

  test('over-size tokens are refused before anything is parsed', () => {
    const big = createSigner({ key: secret32, algorithm: 'HS256', expiresIn: 60 })({
      blob: 'x'.repeat(17000),
    });
    rejects(() => hsVerify(big), 'ERR_JWT_TOO_LARGE');
    rejects(() => hsVerify(`${'a'.repeat(20000)}.b.c`), 'ERR_JWT_TOO_LARGE');
    const roomy = createVerifier({
      key: secret32,
      algorithms: ['HS256'],
      maxTokenLength: 64 * 1024,
    });
    assert.equal(roomy(big).payload.blob, 'x'.repeat(17000));
    rejects(
      () => createVerifier({ key: secret32, algorithms: ['HS256'], maxTokenLength: 64 })(good),
      'ERR_JWT_TOO_LARGE',
    );
  });

  test('deeply nested JSON is a coded error or a value, never a crash', () => {
    const deepArray = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    rejects(() => hsVerify(hmacToken(h, b64(deepArray), secret32)), 'ERR_JWT_MALFORMED');
    const deepObject = `{"exp":${exp()},"n":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`;
    assert.equal(typeof hsVerify(hmacToken(h, b64(deepObject), secret32)).payload.n, 'object');
    const tooDeep = `{"n":${'{"a":'.repeat(100000)}1${'}'.repeat(100000)}}`;
    rejects(() => hsVerify(hmacToken(h, b64(tooDeep), secret32)), 'ERR_JWT_TOO_LARGE');
  });
});

describe('claims with a valid signature', () => {
  const sign = (payload: unknown) => hs256({ alg: 'HS256', typ: 'JWT' }, payload, secret32);

  test('exp as a string, NaN, huge, negative, null or missing', () => {
    for (const value of ['9999999999', 'NaN', null, true, -1, 1e13, [1]]) {
      rejects(() => hsVerify(sign({ exp: value })), 'ERR_JWT_CLAIM_INVALID', 'exp');
    }
    // JSON has no NaN or Infinity: 1e400 parses as Infinity.
    const infinite = hmacToken(b64({ alg: 'HS256' }), b64('{"exp":1e400}'), secret32);
    rejects(() => hsVerify(infinite), 'ERR_JWT_CLAIM_INVALID', 'exp');
    rejects(() => hsVerify(sign({ sub: 'u' })), 'ERR_JWT_CLAIM_MISSING', 'exp');
    rejects(() => hsVerify(sign({ exp: nowSeconds() - 1 })), 'ERR_JWT_EXPIRED', 'exp');
  });

  test('nbf and iat in the future', () => {
    rejects(
      () => hsVerify(sign({ exp: exp(), nbf: nowSeconds() + 60 })),
      'ERR_JWT_NOT_YET_VALID',
      'nbf',
    );
    rejects(
      () => hsVerify(sign({ exp: exp(), iat: nowSeconds() + 60 })),
      'ERR_JWT_NOT_YET_VALID',
      'iat',
    );
    rejects(() => hsVerify(sign({ exp: exp(), nbf: 'soon' })), 'ERR_JWT_CLAIM_INVALID', 'nbf');
  });

  test('aud mismatch in arrays, aud of the wrong type', () => {
    const verify = createVerifier({
      key: secret32,
      algorithms: ['HS256'],
      audience: ['api', 'admin'],
    });
    assert.deepEqual(verify(sign({ exp: exp(), aud: ['other', 'admin'] })).payload.aud, [
      'other',
      'admin',
    ]);
    rejects(
      () => verify(sign({ exp: exp(), aud: ['other', 'web'] })),
      'ERR_JWT_CLAIM_INVALID',
      'aud',
    );
    rejects(() => verify(sign({ exp: exp(), aud: [] })), 'ERR_JWT_CLAIM_INVALID', 'aud');
    rejects(() => verify(sign({ exp: exp(), aud: ['api', 1] })), 'ERR_JWT_CLAIM_INVALID', 'aud');
    rejects(() => verify(sign({ exp: exp(), aud: { api: true } })), 'ERR_JWT_CLAIM_INVALID', 'aud');
    rejects(() => verify(sign({ exp: exp() })), 'ERR_JWT_CLAIM_MISSING', 'aud');
  });

  test('iss, sub, jti of the wrong type are invalid even when not configured', () => {
    for (const claim of ['iss', 'sub', 'jti']) {
      rejects(() => hsVerify(sign({ exp: exp(), [claim]: 42 })), 'ERR_JWT_CLAIM_INVALID', claim);
    }
  });
});

describe('ECDSA signatures', () => {
  const es = createSigner({ key: ec256.privateKey, algorithm: 'ES256', expiresIn: 600 })({
    sub: 'u',
  });
  const verify = createVerifier({ key: ec256.publicKey, algorithms: ['ES256'] });
  const [h, p, s] = es.split('.') as [string, string, string];
  const raw = Buffer.from(s, 'base64url');

  test('the JWS form is r||s of 64 bytes', () => {
    assert.equal(raw.length, 64);
    assert.equal(verify(es).payload.sub, 'u');
  });

  test('wrong length, all zeros, DER: all invalid signatures', () => {
    const variants = [
      raw.subarray(0, 63),
      Buffer.concat([raw, Buffer.from([0])]),
      Buffer.concat([Buffer.from([0]), raw]),
      Buffer.alloc(64),
      Buffer.alloc(0),
      cryptoSign('sha256', Buffer.from(`${h}.${p}`), ec256.privateKey), // DER, as OpenSSL signs
      cryptoSign('sha256', Buffer.from(`${h}.${p}`), { key: ec256.privateKey, dsaEncoding: 'der' }),
    ];
    for (const sig of variants) {
      rejects(() => verify(`${h}.${p}.${sig.toString('base64url')}`), 'ERR_JWS_SIGNATURE_INVALID');
    }
  });

  test('r or s zero, or r||s of the curve order: invalid, no crash', () => {
    const zeroR = Buffer.concat([Buffer.alloc(32), raw.subarray(32)]);
    const zeroS = Buffer.concat([raw.subarray(0, 32), Buffer.alloc(32)]);
    const high = Buffer.alloc(64, 0xff);
    for (const sig of [zeroR, zeroS, high]) {
      rejects(() => verify(`${h}.${p}.${sig.toString('base64url')}`), 'ERR_JWS_SIGNATURE_INVALID');
    }
  });
});

describe('shared results cannot be changed by one caller for the next', () => {
  test('with the verify cache, claims and header are frozen all the way down', () => {
    const verify = createVerifier({ key: secret32, algorithms: ['HS256'], cache: true });
    const token = createSigner({ key: secret32, algorithm: 'HS256', expiresIn: 600 })({
      sub: 'u',
      roles: ['user'],
    });
    const first = verify(token);
    assert.throws(() => (first.payload.roles as string[]).push('admin'), TypeError);
    assert.throws(() => {
      (first.payload as Record<string, unknown>).sub = 'root';
    }, TypeError);
    assert.throws(() => {
      (first.header as { alg: string }).alg = 'none';
    }, TypeError);
    assert.deepEqual(verify(token).payload.roles, ['user']);
    assert.equal(verify(token).payload.sub, 'u');
  });

  test('without the cache, the shared header is frozen and each payload is a fresh object', () => {
    const a = hsVerify(good);
    assert.throws(() => {
      (a.header as { alg: string }).alg = 'none';
    }, TypeError);
    (a.payload as Record<string, unknown>).sub = 'changed';
    assert.equal(hsVerify(good).payload.sub, 'u');
    assert.equal(hsVerify(good).header.alg, 'HS256');
  });
});

describe("required claims are the token's own members", () => {
  test('"constructor" or "toString" are not present just because every object inherits them', () => {
    for (const claim of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const verify = createVerifier({
        key: secret32,
        algorithms: ['HS256'],
        requiredClaims: [claim],
      });
      rejects(() => verify(good), 'ERR_JWT_CLAIM_MISSING', claim);
    }
  });
});

describe('PEM or JWK text given as bytes is a key, never an HMAC secret', () => {
  test('a public key file read with readFileSync cannot verify an HS256 token forged with it', () => {
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const forged = hmacToken(b64({ alg: 'HS256', typ: 'JWT' }), b64({ exp: exp() }), pem);
    const bytes = Buffer.from(pem);
    rejects(() => createVerifier({ key: bytes, algorithms: ['HS256'] }), 'ERR_KEY_ALG_MISMATCH');
    // The same bytes are the RSA public key they are.
    const verify = createVerifier({ key: new Uint8Array(bytes), algorithms: ['RS256'] });
    rejects(() => verify(forged), 'ERR_JWS_ALG_NOT_ALLOWED');
    const jwkBytes = Buffer.from(JSON.stringify(exportJwk(rsa.publicKey)));
    rejects(() => createVerifier({ key: jwkBytes, algorithms: ['HS256'] }), 'ERR_KEY_INVALID');
  });

  test('random secret bytes that happen to start with "{" or whitespace stay a secret', () => {
    const secret = Buffer.concat([Buffer.from('{ \n'), Buffer.alloc(40, 0xfe)]);
    const token = createSigner({ key: secret, algorithm: 'HS256', expiresIn: 60 })({ sub: 'x' });
    const reference = createHmac('sha256', secret)
      .update(token.slice(0, token.lastIndexOf('.')))
      .digest('base64url');
    assert.equal(token.split('.')[2], reference);
  });
});

describe('errors never carry the token or the key', () => {
  test('an unknown kid is named only when short and plain', () => {
    const set = { keys: [{ ...exportJwk(ec256.publicKey), kid: 'k1', alg: 'ES256' }] };
    const verify = createVerifier({ key: set, algorithms: ['ES256'] });
    const plain = rejects(
      () => verify(`${b64({ alg: 'ES256', kid: 'k2' })}.${b64({ exp: exp() })}.${'A'.repeat(86)}`),
      'ERR_KEY_NOT_FOUND',
    );
    assert.match(plain.message, /kid "k2"/);
    const junk = `${'x'.repeat(50)}<script>`;
    const long = rejects(
      () => verify(`${b64({ alg: 'ES256', kid: junk })}.${b64({ exp: exp() })}.${'A'.repeat(86)}`),
      'ERR_KEY_NOT_FOUND',
    );
    assert.ok(!long.message.includes('xxxxx'), long.message);
  });

  test('messages contain no token part and no secret', () => {
    const secret = 'a-very-secret-value-of-more-than-32-bytes!';
    const verify = createVerifier({
      key: secret,
      algorithms: ['HS256'],
      issuer: 'me',
      audience: 'api',
    });
    const forged = hs256(
      { alg: 'HS256' },
      { exp: 1, iss: 'attacker-controlled-issuer', aud: 'x' },
      'wrong',
    );
    const samples = [
      forged,
      hs256({ alg: 'HS256' }, { exp: exp(), iss: 'attacker-controlled-issuer' }, secret),
      hs256({ alg: 'HS256' }, { exp: exp(), iss: 'me', aud: 'attacker-aud' }, secret),
      hs256({ alg: 'HS256' }, { exp: 1 }, secret),
      hmacToken(b64({ alg: 'HS256' }), b64('{"exp": nope-secret-payload}'), secret),
      `${b64({ alg: 'RS256-attacker-alg' })}.${b64({})}.x`,
    ];
    for (const token of samples) {
      try {
        verify(token);
        assert.fail('should have thrown');
      } catch (error) {
        assert.ok(error instanceof JwtError);
        for (const part of token.split('.'))
          if (part.length > 3) assert.ok(!error.message.includes(part));
        assert.ok(!error.message.includes(secret));
        assert.ok(!/attacker|nope-secret/.test(error.message), error.message);
      }
    }
  });
});

describe('JWS verifier shares the pipeline', () => {
  test('tampering and alg none are refused for arbitrary payloads', () => {
    const verify = createCompactVerifier({ key: secret32, algorithms: ['HS256'] });
    const input = `${b64({ alg: 'HS256' })}.${b64('hello')}`;
    const token = `${input}.${createHmac('sha256', secret32).update(input).digest('base64url')}`;
    assert.equal(verify(token).payload.toString(), 'hello');
    rejects(() => verify(flip(token, token.length - 3)), 'ERR_JWS_SIGNATURE_INVALID');
    rejects(() => verify(`${b64({ alg: 'none' })}.${b64('hello')}.`), 'ERR_JWS_ALG_NOT_ALLOWED');
  });
});
