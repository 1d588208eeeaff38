// Known-answer tests: the published examples of RFC 7515 (Appendix A.1-A.3), RFC 8037 (Appendix A),
// RFC 7520 (§4.1-§4.4, compact serialization) and RFC 7638 (§3.1), run through the public API only.
// The fixtures in packages/jwt/test/fixtures/rfc*.json are transcribed from the RFCs; every value there was
// checked against node:crypto (HMAC, RSA, RSA-PSS, ECDSA, Ed25519) and against the RFCs' own
// base64url and octet listings.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  type Algorithm,
  calculateThumbprint,
  createCompactVerifier,
  createVerifier,
  exportJwk,
  importJwk,
  type Jwk,
  signCompact,
} from '../src/index.ts';

interface Vector {
  id: string;
  alg: Algorithm;
  /** The RFC's key: private (or secret) material included. */
  jwk: Jwk;
  /** The exact UTF-8 text of the protected header, as the RFC gives it. */
  protectedHeader: string;
  /** The payload text (UTF-8). */
  payload: string;
  /** The RFC's payload base64url, when it prints one (RFC 7520 §4). */
  payloadB64u?: string;
  /** The complete compact JWS from the RFC. */
  jws: string;
  /** HMAC, RSASSA-PKCS1-v1_5 and Ed25519 signatures are deterministic; RSA-PSS and ECDSA are not. */
  deterministic: boolean;
}

interface Rfc7515 {
  vectors: Array<Omit<Vector, 'payloadB64u'>>;
}
interface Rfc8037 {
  privateJwk: Jwk;
  publicJwk: Jwk;
  thumbprint: string;
  vectors: Array<Omit<Vector, 'jwk' | 'payloadB64u'>>;
}
interface Rfc7520 {
  payload: string;
  payloadB64u: string;
  keys: Record<string, Jwk>;
  vectors: Array<Omit<Vector, 'jwk' | 'payload' | 'payloadB64u'> & { key: string }>;
}

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;

const rfc7515 = fixture<Rfc7515>('rfc7515.json');
const rfc8037 = fixture<Rfc8037>('rfc8037.json');
const rfc7520 = fixture<Rfc7520>('rfc7520.json');

const VECTORS: Vector[] = [
  ...rfc7515.vectors,
  ...rfc8037.vectors.map((v) => ({ ...v, jwk: rfc8037.privateJwk })),
  ...rfc7520.vectors.map(({ key, ...v }) => ({
    ...v,
    jwk: rfc7520.keys[key]!,
    payload: rfc7520.payload,
    payloadB64u: rfc7520.payloadB64u,
  })),
];

// RFC 7638 §3.2: the members that make up a key's public identity.
const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  RSA: ['kty', 'n', 'e'],
  EC: ['kty', 'crv', 'x', 'y'],
  OKP: ['kty', 'crv', 'x'],
};
const PRIVATE_MEMBERS: Record<string, readonly string[]> = {
  RSA: ['d', 'p', 'q', 'dp', 'dq', 'qi'],
  EC: ['d'],
  OKP: ['d'],
};

function pick(jwk: Jwk, members: readonly string[]): Jwk {
  return Object.fromEntries(members.map((m) => [m, jwk[m]])) as Jwk;
}

/** What a verifier holds: the public members of an asymmetric key, or the JWK of a secret. */
function verificationKey(jwk: Jwk): Jwk {
  const members = PUBLIC_MEMBERS[jwk.kty];
  return members ? pick(jwk, members) : jwk;
}

function parts(jws: string): [string, string, string] {
  const [header, payload, signature] = jws.split('.');
  assert.ok(header && payload && signature, 'a compact JWS has three parts');
  return [header, payload, signature];
}

/** Changes one character in the middle of the signature (a full 6-bit base64url digit). */
function tamperSignature(jws: string): string {
  const start = jws.lastIndexOf('.') + 1;
  const i = start + Math.floor((jws.length - start) / 2);
  const replacement = jws[i] === 'A' ? 'B' : 'A';
  return `${jws.slice(0, i)}${replacement}${jws.slice(i + 1)}`;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

// For each vector, another algorithm than the token's; `keyFits` says whether the vector's key
// can be used with it (then only the token's alg is wrong), or whether setup refuses the pair.
const OTHER_ALG: Record<string, { alg: Algorithm; keyFits: boolean }> = {
  'RFC 7515 A.1': { alg: 'HS512', keyFits: true }, // a 512-bit secret is long enough for HS512
  'RFC 7515 A.2': { alg: 'PS256', keyFits: true },
  'RFC 7515 A.3': { alg: 'ES384', keyFits: false }, // a P-256 key fits ES256 only
  'RFC 8037 A.4': { alg: 'Ed25519', keyFits: true }, // RFC 9864 name; not interchangeable with EdDSA
  'RFC 7520 4.1': { alg: 'PS256', keyFits: true },
  'RFC 7520 4.2': { alg: 'RS384', keyFits: true },
  'RFC 7520 4.3': { alg: 'ES256', keyFits: false }, // a P-521 key fits ES512 only
  'RFC 7520 4.4': { alg: 'HS384', keyFits: false }, // the §3.5 JWK is bound to HS256 by its "alg"
};

// Deterministic vectors whose protected header is exactly `JSON.stringify({ alg, ...rest })`, so
// signCompact must reproduce them byte for byte. (RFC 7515 A.1 is deterministic too, but its
// header has a CRLF and "typ" before "alg".)
const REPRODUCIBLE = ['RFC 7515 A.2', 'RFC 8037 A.4', 'RFC 7520 4.1', 'RFC 7520 4.4'];

describe('fixtures', () => {
  test('every vector is present, with the algorithm its header names', () => {
    assert.deepEqual(
      VECTORS.map((v) => `${v.id} ${v.alg}`),
      [
        'RFC 7515 A.1 HS256',
        'RFC 7515 A.2 RS256',
        'RFC 7515 A.3 ES256',
        'RFC 8037 A.4 EdDSA',
        'RFC 7520 4.1 RS256',
        'RFC 7520 4.2 PS384',
        'RFC 7520 4.3 ES512',
        'RFC 7520 4.4 HS256',
      ],
    );
    for (const v of VECTORS) {
      assert.equal(JSON.parse(v.protectedHeader).alg, v.alg, v.id);
      const [header, payload] = parts(v.jws);
      assert.equal(Buffer.from(header, 'base64url').toString('utf8'), v.protectedHeader, v.id);
      assert.equal(hex(Buffer.from(payload, 'base64url')), hex(Buffer.from(v.payload)), v.id);
    }
  });

  test('RFC 7515 A.1 header: the octets the RFC lists (CRLF and a space)', () => {
    // RFC 7515 §A.1.1, UTF8(JWS Protected Header) as a JSON array of octets.
    const octets = [
      123, 34, 116, 121, 112, 34, 58, 34, 74, 87, 84, 34, 44, 13, 10, 32, 34, 97, 108, 103, 34, 58,
      34, 72, 83, 50, 53, 54, 34, 125,
    ];
    assert.deepEqual([...Buffer.from(rfc7515.vectors[0]!.protectedHeader)], octets);
  });

  test('RFC 7520 §4 payload: the base64url the RFC prints, with U+2019 as e2 80 99', () => {
    const bytes = Buffer.from(rfc7520.payload, 'utf8');
    assert.equal(bytes.toString('base64url'), rfc7520.payloadB64u);
    assert.equal(bytes.subarray(2, 5).toString('hex'), 'e28099'); // "It’s"
  });
});

describe('known-answer verification (createCompactVerifier)', () => {
  for (const v of VECTORS) {
    test(`${v.id} (${v.alg}) verifies: header and payload bytes as the RFC gives them`, () => {
      const verify = createCompactVerifier({ key: verificationKey(v.jwk), algorithms: [v.alg] });
      const { header, payload } = verify(v.jws);
      assert.deepEqual(header, JSON.parse(v.protectedHeader));
      assert.equal(hex(payload), hex(Buffer.from(v.payload, 'utf8')));
      if (v.payloadB64u !== undefined) {
        assert.equal(Buffer.from(payload).toString('base64url'), v.payloadB64u);
      }
    });

    test(`${v.id} (${v.alg}) with one signature character changed: ERR_JWS_SIGNATURE_INVALID`, () => {
      const verify = createCompactVerifier({ key: verificationKey(v.jwk), algorithms: [v.alg] });
      const tampered = tamperSignature(v.jws);
      assert.notEqual(tampered, v.jws);
      assert.throws(() => verify(tampered), {
        name: 'JwtError',
        code: 'ERR_JWS_SIGNATURE_INVALID',
      });
    });

    const other = OTHER_ALG[v.id]!;
    test(`${v.id} (${v.alg}) against an allow-list of ${other.alg}: ERR_JWS_ALG_NOT_ALLOWED`, async () => {
      const key = verificationKey(v.jwk);
      if (other.keyFits) {
        const verify = createCompactVerifier({ key, algorithms: [other.alg] });
        assert.throws(() => verify(v.jws), { name: 'JwtError', code: 'ERR_JWS_ALG_NOT_ALLOWED' });
        // With the token's alg added to the list, the same key verifies it.
        const both = createCompactVerifier({ key, algorithms: [other.alg, v.alg] });
        assert.equal(hex(both(v.jws).payload), hex(Buffer.from(v.payload, 'utf8')));
      } else {
        // The key cannot serve that algorithm at all: refused when the verifier is prepared.
        assert.throws(() => createCompactVerifier({ key, algorithms: [other.alg] }), {
          name: 'JwtError',
          code: 'ERR_KEY_ALG_MISMATCH',
        });
      }
      // A resolver is consulted only after the alg passed the allow-list.
      let resolved = 0;
      const verifyAsync = createCompactVerifier({
        key: () => {
          resolved++;
          return key;
        },
        algorithms: [other.alg],
      });
      await assert.rejects(verifyAsync(v.jws), {
        name: 'JwtError',
        code: 'ERR_JWS_ALG_NOT_ALLOWED',
      });
      assert.equal(resolved, 0);
    });
  }
});

describe('RFC 7515 A.1-A.3 as JWTs (createVerifier)', () => {
  const EXP = 1300819380;
  const CLAIMS = { iss: 'joe', exp: EXP, 'http://example.com/is_root': true };

  for (const v of rfc7515.vectors) {
    const key = verificationKey(v.jwk);

    test(`${v.id} (${v.alg}) verifies one second before exp, with the RFC's claims`, () => {
      const verify = createVerifier({ key, algorithms: [v.alg], now: () => (EXP - 1) * 1000 });
      const { header, payload } = verify(v.jws);
      assert.deepEqual(payload, CLAIMS);
      assert.deepEqual(header, JSON.parse(v.protectedHeader));
    });

    test(`${v.id} (${v.alg}) is expired at exp and with the real clock: ERR_JWT_EXPIRED`, () => {
      // RFC 7519 §4.1.4: the current time MUST be before exp.
      const atExp = createVerifier({ key, algorithms: [v.alg], now: () => EXP * 1000 });
      assert.throws(() => atExp(v.jws), { name: 'JwtError', code: 'ERR_JWT_EXPIRED' });
      const realClock = createVerifier({ key, algorithms: [v.alg] });
      assert.throws(() => realClock(v.jws), { name: 'JwtError', code: 'ERR_JWT_EXPIRED' });
    });
  }
});

describe('signing (signCompact)', () => {
  for (const v of VECTORS) {
    const extra = Object.fromEntries(
      Object.entries(JSON.parse(v.protectedHeader) as Record<string, unknown>).filter(
        ([name]) => name !== 'alg',
      ),
    );

    if (REPRODUCIBLE.includes(v.id)) {
      test(`${v.id} (${v.alg}) is reproduced byte for byte from the RFC's private key`, () => {
        assert.ok(v.deterministic);
        assert.equal(JSON.stringify({ alg: v.alg, ...extra }), v.protectedHeader);
        const options = { key: v.jwk, algorithm: v.alg, header: extra };
        assert.equal(signCompact(v.payload, options), v.jws);
        assert.equal(signCompact(Buffer.from(v.payload, 'utf8'), options), v.jws);
      });
    } else if (!v.deterministic) {
      test(`${v.id} (${v.alg}) is randomized: a fresh signature differs and verifies`, () => {
        const token = signCompact(v.payload, { key: v.jwk, algorithm: v.alg, header: extra });
        const [header, payload, signature] = parts(token);
        const [rfcHeader, rfcPayload, rfcSignature] = parts(v.jws);
        assert.equal(header, rfcHeader);
        assert.equal(payload, rfcPayload);
        assert.notEqual(signature, rfcSignature);
        // RFC 7518 §3.4 and §3.5: ECDSA R || S and RSA signatures have a fixed length per key.
        assert.equal(signature.length, rfcSignature.length);
        const verify = createCompactVerifier({ key: verificationKey(v.jwk), algorithms: [v.alg] });
        assert.equal(hex(verify(token).payload), hex(Buffer.from(v.payload, 'utf8')));
      });
    }
  }

  test('the reproducible set is every deterministic vector with a JSON.stringify header', () => {
    const expected = VECTORS.filter((v) => {
      const { alg, ...rest } = JSON.parse(v.protectedHeader) as Record<string, unknown>;
      return v.deterministic && JSON.stringify({ alg, ...rest }) === v.protectedHeader;
    }).map((v) => v.id);
    assert.deepEqual(REPRODUCIBLE, expected);
  });
});

describe('JWK thumbprints (calculateThumbprint)', () => {
  test('RFC 7638 §3.1: the RSA example key', () => {
    const jwk: Jwk = {
      kty: 'RSA',
      n:
        '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP' +
        'ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvzq' +
        'Y368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0' +
        'fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    assert.equal(calculateThumbprint(jwk), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
    assert.equal(
      calculateThumbprint(importJwk(jwk)),
      'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
    );
  });

  test('RFC 8037 A.3: the Ed25519 public key (and its private key, by its public half)', () => {
    assert.equal(calculateThumbprint(rfc8037.publicJwk), rfc8037.thumbprint);
    assert.equal(calculateThumbprint(rfc8037.privateJwk), rfc8037.thumbprint);
    assert.equal(rfc8037.thumbprint, 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });
});

describe('JWK import and export round trip (importJwk, exportJwk)', () => {
  const KEYS: Array<[string, Jwk]> = [
    ['RFC 7515 A.1 oct', rfc7515.vectors[0]!.jwk],
    ['RFC 7515 A.2 RSA', rfc7515.vectors[1]!.jwk],
    ['RFC 7515 A.3 EC P-256', rfc7515.vectors[2]!.jwk],
    ['RFC 8037 A.1 OKP Ed25519', rfc8037.privateJwk],
    ['RFC 7520 §3.2 EC P-521', rfc7520.keys['3.2']!],
    ['RFC 7520 §3.4 RSA', rfc7520.keys['3.4']!],
    ['RFC 7520 §3.5 oct', rfc7520.keys['3.5']!],
  ];

  for (const [name, jwk] of KEYS) {
    const publicMembers = PUBLIC_MEMBERS[jwk.kty];
    if (publicMembers) {
      test(`${name}: the public members survive, from the private and the public JWK`, () => {
        const expected = pick(jwk, publicMembers);
        assert.deepEqual(exportJwk(importJwk(jwk)), expected);
        assert.deepEqual(exportJwk(importJwk(expected)), expected);
      });
      test(`${name}: with private: true, the private members survive too`, () => {
        const exported = exportJwk(importJwk(jwk), { private: true });
        assert.deepEqual(exported, pick(jwk, [...publicMembers, ...PRIVATE_MEMBERS[jwk.kty]!]));
      });
    } else {
      test(`${name}: the secret survives with private: true`, () => {
        assert.deepEqual(exportJwk(importJwk(jwk), { private: true }), {
          kty: 'oct',
          k: jwk.k,
        });
      });
    }
  }
});

describe("the seed tutorial's Odin token (test/fixtures/seed-odin.json)", () => {
  const odin = JSON.parse(
    readFileSync(new URL('./fixtures/seed-odin.json', import.meta.url), 'utf8'),
  ) as { token: string; secret: string; header: object; payload: object };

  test('verifies only when the weak secret and the missing exp are both allowed', () => {
    const verified = createVerifier({
      key: odin.secret,
      algorithms: ['HS256'],
      allowWeakKey: true,
      requireExp: false,
    })(odin.token);
    assert.deepEqual(verified.header, odin.header);
    assert.deepEqual(verified.payload, odin.payload);
  });

  test('is refused by default: the 14-byte secret is weak, and the token has no exp', () => {
    assert.throws(
      () => createVerifier({ key: odin.secret, algorithms: ['HS256'], requireExp: false }),
      { code: 'ERR_KEY_WEAK' },
    );
    const verify = createVerifier({ key: odin.secret, algorithms: ['HS256'], allowWeakKey: true });
    assert.throws(() => verify(odin.token), { code: 'ERR_JWT_CLAIM_MISSING', claim: 'exp' });
  });

  test('signing the same header and payload with the same secret gives the same token', () => {
    const token = signCompact(JSON.stringify(odin.payload), {
      key: odin.secret,
      algorithm: 'HS256',
      header: { typ: 'JWT' },
      allowWeakKey: true,
    });
    assert.equal(token, odin.token);
  });
});
