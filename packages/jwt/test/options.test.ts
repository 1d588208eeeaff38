// Unknown option names are refused at setup by every factory of laissez/jwt, as plain JavaScript
// would pass them (no compiler to catch the typo): a misspelt check must never be a missing check.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createCompactVerifier,
  createJwks,
  createRemoteJwks,
  createSigner,
  createVerifier,
  decodeUnverified,
  exportJwk,
  generateKey,
  JwtError,
  signCompact,
  verify,
} from '../src/index.ts';
import { checkOptions } from '../src/lib/options.ts';
import { secret32 } from './helpers/forge.ts';

// Plain JavaScript: nothing checks the option names before laissez does.
// biome-ignore lint/suspicious/noExplicitAny: the point is to pass what TypeScript would refuse
type Loose = any;

const NOW = 1_800_000_000_000;
const now = () => NOW;

describe('the issue: createVerifier({ audiance })', () => {
  const sign = createSigner({ key: secret32, algorithm: 'HS256', expiresIn: '5m', now });
  const forOther = sign({ sub: 'u1', aud: 'another-api' });

  test('a misspelt audience is a TypeError at setup, not a check silently switched off', () => {
    const options: Loose = { key: secret32, algorithms: ['HS256'], audiance: 'api', now };
    assert.throws(() => createVerifier(options), {
      name: 'TypeError',
      message: 'createVerifier: unknown option "audiance"; did you mean "audience"?',
    });
    assert.throws(() => verify(forOther, options), TypeError);
    // Spelt right, the same options refuse the token for another audience.
    const { audiance, ...rest } = options;
    const verifier = createVerifier({ ...rest, audience: audiance });
    assert.throws(
      () => verifier(forOther),
      (error) => error instanceof JwtError && error.code === 'ERR_JWT_CLAIM_INVALID',
    );
  });
});

describe('every factory refuses unknown names', () => {
  const { privateJwk, publicJwk } = generateKey('EdDSA', { kid: 'k1' });
  const cases: Array<[string, () => unknown, RegExp]> = [
    [
      'createSigner',
      () => createSigner({ key: secret32, algorithm: 'HS256', expiresin: '5m' } as Loose),
      /^createSigner: unknown option "expiresin"; did you mean "expiresIn"\?$/,
    ],
    [
      'createVerifier',
      () => createVerifier({ key: secret32, algorithms: ['HS256'], isuer: 'x' } as Loose),
      /^createVerifier: unknown option "isuer"; did you mean "issuer"\?$/,
    ],
    [
      'createVerifier cache',
      () => createVerifier({ key: secret32, algorithms: ['HS256'], cache: { size: 10 } } as Loose),
      /^createVerifier: unknown option "cache\.size" \(known options: cache\.max\)$/,
    ],
    [
      'createCompactVerifier',
      () => createCompactVerifier({ key: publicJwk!, algorithms: ['EdDSA'], crits: [] } as Loose),
      /^createCompactVerifier: unknown option "crits"; did you mean "crit"\?$/,
    ],
    [
      'signCompact',
      () => signCompact('hi', { key: privateJwk, algorithm: 'EdDSA', headers: {} } as Loose),
      /^signCompact: unknown option "headers"; did you mean "header"\?$/,
    ],
    [
      'decodeUnverified',
      () => decodeUnverified('a.b.c', { maxLength: 10 } as Loose),
      /^decodeUnverified: unknown option "maxLength" \(known options: maxTokenLength\)$/,
    ],
    [
      'exportJwk',
      () => exportJwk(privateJwk, { privat: true } as Loose),
      /^exportJwk: unknown option "privat"; did you mean "private"\?$/,
    ],
    [
      'generateKey',
      () => generateKey('RS256', { modulus: 4096 } as Loose),
      /^generateKey: unknown option "modulus" \(known options: kid, modulusLength\)$/,
    ],
    [
      'createJwks entry',
      () => createJwks([{ key: privateJwk, kid: 'k1', algorithm: 'EdDSA' } as Loose]),
      /^createJwks: unknown option "algorithm" \(known options: key, kid, alg\)$/,
    ],
    [
      'createRemoteJwks',
      () => createRemoteJwks('https://auth.example/jwks', { coolDown: 0 } as Loose),
      /^createRemoteJwks: unknown option "coolDown"; did you mean "cooldown"\?$/,
    ],
  ];
  for (const [name, make, message] of cases) {
    test(name, () => {
      assert.throws(make, (error) => error instanceof TypeError && message.test(error.message));
    });
  }

  test('known names still work, and undefined values of known names are fine', () => {
    const signer = createSigner({
      key: secret32,
      algorithm: 'HS256',
      expiresIn: 60,
      kid: undefined,
    });
    const verifier = createVerifier({
      key: secret32,
      algorithms: ['HS256'],
      cache: { max: 2 },
      issuer: undefined,
    });
    assert.equal(verifier(signer({ sub: 'u' })).payload.sub, 'u');
    assert.equal(typeof exportJwk(privateJwk, { private: true }).d, 'string');
    assert.equal(createJwks([{ key: privateJwk, kid: 'k1', alg: 'EdDSA' }]).keys[0]!.alg, 'EdDSA');
  });
});

describe('checkOptions', () => {
  const known = ['audience', 'issuer', 'maxAge', 'now'];
  const message = (options: object) => {
    try {
      checkOptions('f', options, known);
      return 'none';
    } catch (error) {
      assert.ok(error instanceof TypeError);
      return error.message;
    }
  };

  test('suggests the nearest name within two edits, case ignored', () => {
    assert.equal(message({ Issuer: 1 }), 'f: unknown option "Issuer"; did you mean "issuer"?');
    assert.equal(message({ maxage: 1 }), 'f: unknown option "maxage"; did you mean "maxAge"?');
    assert.equal(message({ audienc: 1 }), 'f: unknown option "audienc"; did you mean "audience"?');
    assert.equal(message({ nowz: 1 }), 'f: unknown option "nowz"; did you mean "now"?');
  });

  test('lists the known names when none is near', () => {
    assert.equal(
      message({ secret: 'x' }),
      'f: unknown option "secret" (known options: audience, issuer, maxAge, now)',
    );
  });

  test('a long or odd name is quoted as JSON and cut', () => {
    const text = message({ [`a"\n${'x'.repeat(200)}`]: 1 });
    assert.ok(text.length < 200, text);
    assert.ok(text.startsWith('f: unknown option "a\\"\\nxxx'), text);
    assert.ok(!text.includes('\n'), text);
  });

  test('known names, and inherited or symbol keys, pass', () => {
    assert.equal(message({ audience: 'a', now: undefined }), 'none');
    assert.equal(message(Object.create({ inherited: 1 })), 'none');
    assert.equal(message({ [Symbol('s')]: 1 }), 'none');
  });
});
