// Property tests: round-trips of arbitrary payloads, and refusal (always with a coded JwtError,
// never a TypeError or a crash) of tampered, truncated, extended and random tokens.

import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Algorithm, JwtErrorCode, KeyInput } from '../src/index.ts';
import { createSigner, createVerifier, decodeUnverified, JwtError } from '../src/index.ts';

/** Every code of `src/jwt/lib/errors.ts`; `satisfies` keeps the list honest. */
const CODES: ReadonlySet<string> = new Set([
  'ERR_JWT_MALFORMED',
  'ERR_JWT_TOO_LARGE',
  'ERR_JWS_ALG_NOT_ALLOWED',
  'ERR_JWS_CRIT_UNSUPPORTED',
  'ERR_JWS_SIGNATURE_INVALID',
  'ERR_JWT_EXPIRED',
  'ERR_JWT_NOT_YET_VALID',
  'ERR_JWT_CLAIM_MISSING',
  'ERR_JWT_CLAIM_INVALID',
  'ERR_KEY_INVALID',
  'ERR_KEY_WEAK',
  'ERR_KEY_ALG_MISMATCH',
  'ERR_KEY_NOT_FOUND',
] satisfies JwtErrorCode[]);

/** What a damaged signature may be refused as. */
const SIGNATURE_CODES: ReadonlySet<string> = new Set([
  'ERR_JWT_MALFORMED',
  'ERR_JWS_SIGNATURE_INVALID',
] satisfies JwtErrorCode[]);

const REGISTERED = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti']);
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const NUM_RUNS = 150;

// A fixed clock, so `iat` and `exp` are known exactly.
const NOW_MS = Date.now();
const NOW = Math.floor(NOW_MS / 1000);
const now = () => NOW_MS;

interface Setup {
  alg: Algorithm;
  signKey: KeyInput;
  verifyKey: KeyInput;
}

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const hmac = randomBytes(32);
const SETUPS: Setup[] = [
  { alg: 'HS256', signKey: hmac, verifyKey: hmac },
  { alg: 'ES256', signKey: ec.privateKey, verifyKey: ec.publicKey },
  { alg: 'EdDSA', signKey: ed.privateKey, verifyKey: ed.publicKey },
];

// ---------------------------------------------------------------------------------------------
// arbitraries

/** Any JSON object, minus the registered claim names (the signer sets `iat`/`exp` itself). */
const payloadArb = fc.dictionary(
  fc.oneof(fc.string(), fc.string({ unit: 'binary' })).filter((k) => !REGISTERED.has(k)),
  fc.jsonValue({ maxDepth: 3 }),
  { maxKeys: 8 },
);

const b64urlCharArb = fc.constantFrom(...B64URL);

/** Characters that have no business in a compact JWS, and anything else. */
const foreignCharArb = fc.oneof(
  fc.constantFrom(
    '.',
    '=',
    ' ',
    '+',
    '/',
    '\t',
    '\n',
    '\r',
    '\0',
    '%',
    '"',
    '\\',
    'é',
    'Ω',
    '€',
    '\u00a0',
    '\u2028',
    '\ufeff',
    '\uff21', // fullwidth A
    '😀',
    '\ud800', // a lone surrogate
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
);

/** A base64url segment: random characters, random bytes, or some random JSON. */
const segmentArb = fc.oneof(
  fc.string({ unit: b64urlCharArb, maxLength: 60 }),
  fc.uint8Array({ maxLength: 48 }).map((b) => Buffer.from(b).toString('base64url')),
  fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
  fc
    .record(
      {
        alg: fc.oneof(fc.constantFrom('HS256', 'ES256', 'EdDSA', 'none', 'RS256'), fc.jsonValue()),
        typ: fc.oneof(fc.constant('JWT'), fc.jsonValue()),
        crit: fc.jsonValue(),
        kid: fc.jsonValue(),
      },
      { requiredKeys: ['alg'] },
    )
    .map((h) => Buffer.from(JSON.stringify(h)).toString('base64url')),
);

const threeSegmentsArb = fc
  .tuple(segmentArb, segmentArb, segmentArb)
  .map((segments) => segments.join('.'));

// ---------------------------------------------------------------------------------------------
// helpers

/** Runs `fn`; it must throw a JwtError whose code is in `codes`. */
function assertRefused(fn: () => unknown, what: string, codes = CODES): void {
  let returned: unknown;
  try {
    returned = fn();
  } catch (err) {
    if (!(err instanceof JwtError)) {
      throw new Error(`${what}: threw ${(err as Error)?.name ?? typeof err}, not a JwtError`, {
        cause: err,
      });
    }
    if (!codes.has(err.code)) {
      throw new Error(`${what}: JwtError with unexpected code ${String(err.code)}`, { cause: err });
    }
    return;
  }
  throw new Error(`${what}: was accepted: ${JSON.stringify(returned)}`);
}

function replaceAt(s: string, index: number, replacement: string): string {
  return s.slice(0, index) + replacement + s.slice(index + 1);
}

function isJsonObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------

for (const setup of SETUPS) {
  describe(setup.alg, () => {
    const sign = createSigner({ key: setup.signKey, algorithm: setup.alg, expiresIn: '5m', now });
    const verify = createVerifier({
      key: setup.verifyKey,
      algorithms: [setup.alg],
      now,
      maxTokenLength: 1 << 20,
    });

    test('sign → verify round-trips any JSON object payload', () => {
      fc.assert(
        fc.property(payloadArb, (payload) => {
          const token = sign(payload);
          const verified = verify(token);
          assert.equal(verified.header.alg, setup.alg);
          // What was signed, as JSON carries it (e.g. -0 becomes 0), plus the two timestamps.
          const expected = JSON.parse(JSON.stringify({ ...payload, iat: NOW, exp: NOW + 300 }));
          assert.deepEqual(verified.payload, expected);
        }),
        { numRuns: NUM_RUNS },
      );
    });

    const tokenArb = fc
      .dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
      .map((p) => sign(Object.fromEntries(Object.entries(p).filter(([k]) => !REGISTERED.has(k)))));

    for (const [kind, charArb] of [
      ['another base64url character', b64urlCharArb],
      ['an arbitrary character', foreignCharArb],
    ] as const) {
      test(`one character of any part replaced by ${kind} is refused`, () => {
        fc.assert(
          fc.property(
            tokenArb,
            fc.constantFrom(0, 1, 2),
            fc.oneof(fc.nat(), fc.constantFrom('first', 'last')),
            charArb,
            (token, partIndex, position, replacement) => {
              const segments = token.split('.');
              const part = segments[partIndex]!;
              const index =
                position === 'first'
                  ? 0
                  : position === 'last'
                    ? part.length - 1
                    : position % part.length;
              fc.pre(part[index] !== replacement);
              segments[partIndex] = replaceAt(part, index, replacement);
              const tampered = segments.join('.');
              assertRefused(
                () => verify(tampered),
                `part ${partIndex} char ${index} → ${JSON.stringify(replacement)}`,
                partIndex === 2 ? SIGNATURE_CODES : CODES,
              );
            },
          ),
          { numRuns: 200 },
        );
      });
    }

    test('every base64url replacement of the first or last character of a part is refused', () => {
      // The last character of a part may carry unused bits: a decoder that ignores them would
      // take a changed token for the same bytes (non-canonical base64url must be refused).
      const token = sign({ data: 'x'.repeat(7) });
      const segments = token.split('.');
      for (const [partIndex, part] of segments.entries()) {
        for (const index of [0, part.length - 1]) {
          for (const replacement of B64URL) {
            if (part[index] === replacement) continue;
            const changed = [...segments];
            changed[partIndex] = replaceAt(part, index, replacement);
            assertRefused(
              () => verify(changed.join('.')),
              `part ${partIndex} char ${index} → ${replacement}`,
              partIndex === 2 ? SIGNATURE_CODES : CODES,
            );
          }
        }
      }
    });

    test('a truncated token is refused (from either end)', () => {
      fc.assert(
        fc.property(tokenArb, fc.nat(), fc.boolean(), (token, n, fromEnd) => {
          const cut = 1 + (n % token.length); // remove 1..length characters
          const truncated = fromEnd ? token.slice(0, token.length - cut) : token.slice(cut);
          assertRefused(
            () => verify(truncated),
            `cut ${cut} from the ${fromEnd ? 'end' : 'start'}`,
          );
        }),
        { numRuns: NUM_RUNS },
      );
    });

    test('a token with characters appended (or prepended) is refused', () => {
      const extraArb = fc.oneof(
        fc.constantFrom('=', '==', '.', '..', '.e30', ' ', '\n', '\r\n', '\0', 'A', 'AA', '_'),
        fc.string({ unit: b64urlCharArb, minLength: 1, maxLength: 8 }),
        fc.string({ minLength: 1 }),
        fc.string({ unit: 'binary', minLength: 1 }),
      );
      fc.assert(
        fc.property(tokenArb, extraArb, fc.boolean(), (token, extra, append) => {
          const changed = append ? token + extra : extra + token;
          assertRefused(
            () => verify(changed),
            `${append ? 'appended' : 'prepended'} ${JSON.stringify(extra)}`,
          );
        }),
        { numRuns: NUM_RUNS },
      );
    });

    test('arbitrary strings are refused with a coded error', () => {
      fc.assert(
        fc.property(
          fc.oneof(fc.string(), fc.string({ unit: 'binary' }), threeSegmentsArb),
          (input) => {
            assertRefused(() => verify(input), JSON.stringify(input));
          },
        ),
        { numRuns: NUM_RUNS },
      );
    });
  });
}

describe('decodeUnverified', () => {
  function decodesOrRefuses(input: string): void {
    let decoded: ReturnType<typeof decodeUnverified>;
    try {
      decoded = decodeUnverified(input);
    } catch (err) {
      if (err instanceof JwtError && CODES.has(err.code)) return;
      throw new Error(`${JSON.stringify(input)}: threw ${String(err)}, not a coded JwtError`, {
        cause: err,
      });
    }
    // When it does decode, both halves are JSON objects (not arrays, not null).
    assert.ok(isJsonObject(decoded.header), `header of ${JSON.stringify(input)}`);
    assert.ok(isJsonObject(decoded.payload), `payload of ${JSON.stringify(input)}`);
  }

  test('never throws anything but a JwtError on arbitrary strings', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), decodesOrRefuses), {
      numRuns: 200,
    });
  });

  test('never throws anything but a JwtError on three random base64url segments', () => {
    fc.assert(fc.property(threeSegmentsArb, decodesOrRefuses), { numRuns: 300 });
  });

  test('decodes what a signer made', () => {
    const setup = SETUPS[0]!;
    const sign = createSigner({ key: setup.signKey, algorithm: setup.alg, expiresIn: '5m', now });
    fc.assert(
      fc.property(payloadArb, (payload) => {
        const { header, payload: decoded } = decodeUnverified(sign(payload));
        assert.deepEqual(header, { alg: setup.alg, typ: 'JWT' });
        assert.deepEqual(
          decoded,
          JSON.parse(JSON.stringify({ ...payload, iat: NOW, exp: NOW + 300 })),
        );
      }),
      { numRuns: 100 },
    );
  });
});
