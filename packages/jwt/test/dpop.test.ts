// DPoP proofs (RFC 9449 §4): what laissez makes, what it accepts and what it refuses, checked
// against two implementations no one here wrote: proofs made by `dpop` (panva) are accepted, and
// laissez's proofs pass `jose`'s verification with the embedded key.
import assert from 'node:assert/strict';
import { generateKeyPairSync, hash } from 'node:crypto';
import { describe, test } from 'node:test';
import * as dpopLib from 'dpop';
import { EmbeddedJWK, jwtVerify } from 'jose';
import {
  accessTokenHash,
  calculateThumbprint,
  createProofSigner,
  createProofVerifier,
  exportJwk,
  JwtError,
  normalizeHtu,
} from '../src/index.ts';
import { prepareSigning } from '../src/jws/sign.ts';
import { encode } from '../src/lib/base64url.ts';

const T0 = 1_800_000_000;
const now = () => T0 * 1000;
const es = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const URL_ = 'https://api.example/notes/1';
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln';

const prove = createProofSigner({ key: es.privateKey, algorithm: 'ES256', now });
const verify = createProofVerifier({ now });

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof JwtError) return `${error.code}:${error.claim ?? ''}`;
    throw error;
  }
  return undefined;
}

/** A proof with chosen header and claims, signed by `key` (ES256). */
function forged(header: object, claims: object, key = es.privateKey): string {
  const input = `${encode(JSON.stringify(header))}.${encode(JSON.stringify(claims))}`;
  return `${input}.${prepareSigning(key, 'ES256', false).sign(input)}`;
}
const jwk = exportJwk(es.publicKey);
const goodClaims = () => ({ jti: 'j1', htm: 'GET', htu: URL_, iat: T0 });

describe('createProofSigner', () => {
  test('makes the RFC 9449 §4.2 format: typ, alg, public jwk; jti, htm, htu, iat, ath, nonce', () => {
    const proof = prove({
      method: 'POST',
      url: `${URL_}?q=1#frag`,
      accessToken: TOKEN,
      nonce: 'n1',
    });
    const [h, p] = proof
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    assert.deepEqual(Object.keys(h).sort(), ['alg', 'jwk', 'typ']);
    assert.equal(h.typ, 'dpop+jwt');
    assert.equal(h.alg, 'ES256');
    assert.deepEqual(Object.keys(h.jwk).sort(), ['crv', 'kty', 'x', 'y']);
    assert.equal(p.htm, 'POST');
    assert.equal(p.htu, URL_);
    assert.equal(p.iat, T0);
    assert.equal(p.nonce, 'n1');
    assert.equal(p.ath, hash('sha256', TOKEN, 'base64url'));
    assert.match(p.jti, /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(
      p.jti,
      JSON.parse(
        Buffer.from(prove({ method: 'POST', url: URL_ }).split('.')[1]!, 'base64url').toString(),
      ).jti,
    );
  });

  test('jkt is the RFC 7638 thumbprint, as calculateThumbprint computes it', () => {
    assert.equal(prove.jkt, calculateThumbprint(es.publicKey));
    const edProve = createProofSigner({ key: ed.privateKey, algorithm: 'EdDSA' });
    assert.equal(edProve.jkt, calculateThumbprint(ed.publicKey));
  });

  test('refuses an HMAC algorithm, a public key and a bad request', () => {
    assert.throws(() => createProofSigner({ key: 'x'.repeat(32), algorithm: 'HS256' }), TypeError);
    assert.throws(() => createProofSigner({ key: es.publicKey, algorithm: 'ES256' }), JwtError);
    assert.throws(() => prove({ method: 'GET', url: '/relative' }), TypeError);
    assert.throws(() => prove({ method: 'GE T', url: URL_ }), TypeError);
    assert.throws(
      () => prove({ method: 'GET', url: URL_, acessToken: 'x' } as never),
      /did you mean "accessToken"/,
    );
  });
});

describe('normalizeHtu', () => {
  test('RFC 3986 §6.2.2 syntax normalization; no query, no fragment', () => {
    assert.equal(
      normalizeHtu('HTTPS://API.Example:443/a/../b/%7euser/%2f?x=1#y'),
      'https://api.example/b/~user/%2F',
    );
    assert.equal(normalizeHtu('http://a.example:80/'), 'http://a.example/');
    assert.equal(normalizeHtu('http://a.example:8080'), 'http://a.example:8080/');
    assert.equal(normalizeHtu('ftp://a.example/'), undefined);
    assert.equal(normalizeHtu('https://u:p@a.example/'), undefined);
    assert.equal(normalizeHtu('not a url'), undefined);
  });
});

describe('createProofVerifier', () => {
  test('accepts a good proof and returns jkt, jti and when its jti may be forgotten', () => {
    const proof = prove({ method: 'GET', url: URL_, accessToken: TOKEN });
    const v = verify(proof, { method: 'GET', url: `${URL_}?page=2`, accessToken: TOKEN });
    assert.equal(v.jkt, prove.jkt);
    assert.equal(v.iat, T0);
    assert.equal(v.expiresAt, T0 + 65);
    assert.equal(typeof v.jti, 'string');
  });

  test('a header seen before is remembered, never trusted: each proof is checked in full', () => {
    const v = createProofVerifier({ now });
    const header = { typ: 'dpop+jwt', alg: 'ES256', jwk };
    const first = forged(header, goodClaims());
    assert.equal(v(first, { method: 'GET', url: URL_ }).jkt, prove.jkt);
    // The same header segment: a signature by another key, a tampered payload, another URL.
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    assert.equal(
      code(() =>
        v(forged(header, { ...goodClaims(), jti: 'j2' }, other), { method: 'GET', url: URL_ }),
      ),
      'ERR_DPOP_PROOF_INVALID:',
    );
    const [h, , sig] = first.split('.');
    const tampered = `${h}.${encode(JSON.stringify({ ...goodClaims(), htm: 'POST' }))}.${sig}`;
    assert.equal(
      code(() => v(tampered, { method: 'POST', url: URL_ })),
      'ERR_DPOP_PROOF_INVALID:',
    );
    assert.equal(
      code(() =>
        v(forged(header, { ...goodClaims(), htu: `${URL_}/x` }), { method: 'GET', url: URL_ }),
      ),
      'ERR_DPOP_PROOF_INVALID:htu',
    );
    // A refused header is not remembered as good: the same bad bytes are refused again.
    const bad = forged({ typ: 'dpop+jwt', alg: 'ES256', jwk, crit: ['x'] }, goodClaims());
    for (let i = 0; i < 2; i++) {
      assert.equal(
        code(() => v(bad, { method: 'GET', url: URL_ })),
        'ERR_DPOP_PROOF_INVALID:crit',
      );
    }
    // The header handed back is shared between proofs, so it cannot be changed by a caller.
    const again = v(forged(header, { ...goodClaims(), jti: 'j3' }), { method: 'GET', url: URL_ });
    assert.ok(Object.isFrozen(again.header));
    // Past the bound of remembered headers (1000 keys), the first key is checked afresh.
    for (let i = 0; i < 1001; i++) {
      const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const p = createProofSigner({ key, algorithm: 'ES256', now });
      v(p({ method: 'GET', url: `${URL_}/${i}` }), { method: 'GET', url: `${URL_}/${i}` });
    }
    assert.equal(
      v(forged(header, { ...goodClaims(), jti: 'j4' }), { method: 'GET', url: URL_ }).jkt,
      prove.jkt,
    );
  });

  test('EdDSA proofs too', () => {
    const edProve = createProofSigner({ key: ed.privateKey, algorithm: 'EdDSA', now });
    assert.equal(
      verify(edProve({ method: 'GET', url: URL_ }), { method: 'GET', url: URL_ }).jkt,
      edProve.jkt,
    );
  });

  test('refuses a proof for another method, another URL, or another token', () => {
    const proof = prove({ method: 'GET', url: URL_, accessToken: TOKEN });
    assert.equal(
      code(() => verify(proof, { method: 'POST', url: URL_, accessToken: TOKEN })),
      'ERR_DPOP_PROOF_INVALID:htm',
    );
    assert.equal(
      code(() => verify(proof, { method: 'get', url: URL_, accessToken: TOKEN })),
      'ERR_DPOP_PROOF_INVALID:htm',
    );
    assert.equal(
      code(() =>
        verify(proof, { method: 'GET', url: 'https://api.example/notes/2', accessToken: TOKEN }),
      ),
      'ERR_DPOP_PROOF_INVALID:htu',
    );
    assert.equal(
      code(() =>
        verify(proof, { method: 'GET', url: 'https://evil.example/notes/1', accessToken: TOKEN }),
      ),
      'ERR_DPOP_PROOF_INVALID:htu',
    );
    assert.equal(
      code(() => verify(proof, { method: 'GET', url: URL_, accessToken: `${TOKEN}x` })),
      'ERR_DPOP_PROOF_INVALID:ath',
    );
    // A proof made without ath cannot go with a token.
    const bare = prove({ method: 'GET', url: URL_ });
    assert.equal(
      code(() => verify(bare, { method: 'GET', url: URL_, accessToken: TOKEN })),
      'ERR_DPOP_PROOF_INVALID:ath',
    );
  });

  test('refuses an old proof and one from the future, within the tolerance', () => {
    const at = (ms: number) =>
      createProofSigner({ key: es.privateKey, algorithm: 'ES256', now: () => ms });
    const ok = (ms: number) =>
      code(() => verify(at(ms)({ method: 'GET', url: URL_ }), { method: 'GET', url: URL_ }));
    assert.equal(ok(now() - 65_000), undefined);
    assert.equal(ok(now() - 66_000), 'ERR_DPOP_PROOF_INVALID:iat');
    assert.equal(ok(now() + 5_000), undefined);
    assert.equal(ok(now() + 6_000), 'ERR_DPOP_PROOF_INVALID:iat');
  });

  test('nonce: missing or stale is ERR_DPOP_NONCE_REQUIRED; a check function may accept several', () => {
    const withNonce = prove({ method: 'GET', url: URL_, nonce: 'n2' });
    const without = prove({ method: 'GET', url: URL_ });
    assert.equal(
      code(() => verify(without, { method: 'GET', url: URL_, nonce: 'n2' })),
      'ERR_DPOP_NONCE_REQUIRED:nonce',
    );
    assert.equal(
      code(() => verify(withNonce, { method: 'GET', url: URL_, nonce: 'n3' })),
      'ERR_DPOP_NONCE_REQUIRED:nonce',
    );
    assert.equal(
      code(() => verify(withNonce, { method: 'GET', url: URL_, nonce: 'n2' })),
      undefined,
    );
    assert.equal(
      code(() =>
        verify(withNonce, { method: 'GET', url: URL_, nonce: (n) => n === 'n1' || n === 'n2' }),
      ),
      undefined,
    );
  });

  test('refuses a bad header: typ, alg none or HMAC, crit, a private or missing jwk, another key', () => {
    const expect = { method: 'GET', url: URL_ };
    assert.equal(
      code(() => verify(forged({ typ: 'JWT', alg: 'ES256', jwk }, goodClaims()), expect)),
      'ERR_DPOP_PROOF_INVALID:typ',
    );
    assert.equal(
      code(() => verify(forged({ typ: 'dpop+jwt', alg: 'HS256', jwk }, goodClaims()), expect)),
      'ERR_DPOP_PROOF_INVALID:alg',
    );
    assert.equal(
      code(() => verify(forged({ typ: 'dpop+jwt', alg: 'none', jwk }, goodClaims()), expect)),
      'ERR_DPOP_PROOF_INVALID:alg',
    );
    assert.equal(
      code(() =>
        verify(
          forged({ typ: 'dpop+jwt', alg: 'ES256', jwk, crit: ['x'], x: 1 }, goodClaims()),
          expect,
        ),
      ),
      'ERR_DPOP_PROOF_INVALID:crit',
    );
    const priv = exportJwk(es.privateKey, { private: true });
    assert.equal(
      code(() =>
        verify(forged({ typ: 'dpop+jwt', alg: 'ES256', jwk: priv }, goodClaims()), expect),
      ),
      'ERR_DPOP_PROOF_INVALID:jwk',
    );
    assert.equal(
      code(() => verify(forged({ typ: 'dpop+jwt', alg: 'ES256' }, goodClaims()), expect)),
      'ERR_DPOP_PROOF_INVALID:jwk',
    );
    assert.equal(
      code(() =>
        verify(
          forged({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'oct', k: 'AAAA' } }, goodClaims()),
          expect,
        ),
      ),
      'ERR_DPOP_PROOF_INVALID:jwk',
    );
    // The header names one key, the signature is by another.
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.equal(
      code(() =>
        verify(
          forged({ typ: 'dpop+jwt', alg: 'ES256', jwk }, goodClaims(), other.privateKey),
          expect,
        ),
      ),
      'ERR_DPOP_PROOF_INVALID:',
    );
    // An Ed25519 key under alg ES256.
    assert.equal(
      code(() =>
        verify(
          forged({ typ: 'dpop+jwt', alg: 'ES256', jwk: exportJwk(ed.publicKey) }, goodClaims()),
          expect,
        ),
      ),
      'ERR_DPOP_PROOF_INVALID:jwk',
    );
    assert.equal(
      code(() => verify(forged({ typ: 'dpop+jwt', alg: 'ES256', jwk }, goodClaims()), expect)),
      undefined,
    );
  });

  test('refuses bad claims and malformed or oversized proofs', () => {
    const expect = { method: 'GET', url: URL_ };
    const h = { typ: 'dpop+jwt', alg: 'ES256', jwk };
    assert.equal(
      code(() => verify(forged(h, { ...goodClaims(), jti: '' }), expect)),
      'ERR_DPOP_PROOF_INVALID:jti',
    );
    assert.equal(
      code(() => verify(forged(h, { ...goodClaims(), jti: 'x'.repeat(257) }), expect)),
      'ERR_DPOP_PROOF_INVALID:jti',
    );
    assert.equal(
      code(() => verify(forged(h, { ...goodClaims(), iat: String(T0) }), expect)),
      'ERR_DPOP_PROOF_INVALID:iat',
    );
    assert.equal(
      code(() => verify(forged(h, { ...goodClaims(), htu: 42 }), expect)),
      'ERR_DPOP_PROOF_INVALID:htu',
    );
    assert.equal(
      code(() => verify('', expect)),
      'ERR_DPOP_PROOF_INVALID:',
    );
    assert.equal(
      code(() => verify('a.b', expect)),
      'ERR_DPOP_PROOF_INVALID:',
    );
    assert.equal(
      code(() => verify('a.b.c.d', expect)),
      'ERR_DPOP_PROOF_INVALID:',
    );
    assert.equal(
      code(() => verify(`${'A'.repeat(9000)}.A.A`, expect)),
      'ERR_DPOP_PROOF_INVALID:',
    );
    const good = prove({ method: 'GET', url: URL_ });
    assert.equal(
      code(() => verify(`${good.slice(0, -2)}AA`, expect)),
      'ERR_DPOP_PROOF_INVALID:',
    );
    assert.equal(
      code(() => verify(`${good}=`, expect)),
      'ERR_DPOP_PROOF_INVALID:',
    );
  });

  test('options are checked once: unknown names, HMAC algorithms', () => {
    assert.throws(() => createProofVerifier({ maxAgee: 5 } as never), /did you mean "maxAge"/);
    assert.throws(() => createProofVerifier({ algorithms: ['HS256'] }), TypeError);
    assert.throws(() => verify('x', { method: 'GET', url: '/x' } as never), JwtError);
  });

  test('messages never hold the proof, a claim value or the token', () => {
    const proof = prove({ method: 'GET', url: URL_, accessToken: TOKEN });
    try {
      verify(proof, {
        method: 'POST',
        url: 'https://other.example/secret-path',
        accessToken: TOKEN,
      });
      assert.fail('accepted');
    } catch (error) {
      const message = (error as Error).message;
      assert.ok(
        !message.includes(proof.slice(0, 20)) &&
          !message.includes('secret-path') &&
          !message.includes(TOKEN),
      );
    }
  });
});

describe('against implementations no one here wrote', () => {
  test('proofs made by `dpop` (panva) are accepted, with ath and nonce', async () => {
    for (const alg of ['ES256', 'Ed25519'] as const) {
      const pair = await dpopLib.generateKeyPair(alg);
      const proof = await dpopLib.generateProof(pair, `${URL_}?x=1`, 'PATCH', 'nonce-1', TOKEN);
      const v = createProofVerifier()(proof, {
        method: 'PATCH',
        url: URL_,
        accessToken: TOKEN,
        nonce: 'nonce-1',
      });
      const publicJwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
      assert.equal(v.jkt, calculateThumbprint(publicJwk as never));
    }
  });

  test('laissez proofs pass jose jwtVerify with the embedded key and typ dpop+jwt', async () => {
    for (const [key, algorithm] of [
      [es.privateKey, 'ES256'],
      [ed.privateKey, 'EdDSA'],
    ] as const) {
      const p = createProofSigner({ key, algorithm });
      const proof = p({ method: 'GET', url: URL_, accessToken: TOKEN });
      const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        maxTokenAge: 60,
      });
      assert.equal(protectedHeader.alg, algorithm);
      assert.equal(payload['ath'], accessTokenHash(TOKEN));
      assert.equal(payload['htu'], URL_);
    }
  });
});
