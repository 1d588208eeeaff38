// Cross-checks laissez against independent JOSE implementations (jose, fast-jwt, jsonwebtoken)
// and against JWS built by hand on node:crypto, in both directions, for every algorithm.
//
// Peer support (why some pairs are skipped):
// - jose 6: no Ed448 at all (neither `EdDSA` with an Ed448 key nor the `Ed448` name); it does
//   know the fully-specified `Ed25519` name.
// - fast-jwt 6: `EdDSA` with Ed25519 and Ed448 keys; it rejects the RFC 9864 names `Ed25519` and
//   `Ed448` as algorithm options.
// - jsonwebtoken 9: HS*, RS*, PS*, ES* only; no EdDSA of any kind.
// - node:crypto (hand-built JWS, see `rawSign`): every algorithm, so it is the only peer for `Ed448`.

import assert from 'node:assert/strict';
import {
  constants,
  createHmac,
  createSecretKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { describe, test } from 'node:test';
import {
  type Algorithm as FastJwtAlgorithm,
  createSigner as fastJwtSigner,
  createVerifier as fastJwtVerifier,
} from 'fast-jwt';
import * as jose from 'jose';
import jwt from 'jsonwebtoken';
import type { Algorithm, Jwk, JwtPayload, KeyInput } from '../src/index.ts';
import {
  calculateThumbprint,
  createJwks,
  createSigner,
  createVerifier,
  exportJwk,
  importJwk,
  JwtError,
} from '../src/index.ts';

const ISSUER = 'https://issuer.example';
const AUDIENCE = 'laissez-interop';
const SUBJECT = 'user-42';
const LIFETIME = 300; // '5m'
const CUSTOM = {
  name: 'Zoë 🚀',
  roles: ['admin', 'reader'],
  n: 42,
  ratio: 0.5,
  nested: { ok: true, nothing: null, list: [1, 'two', { three: 3 }] },
};

type Family = 'HS' | 'RS' | 'PS' | 'ES' | 'Ed';

interface Case {
  /** Test name: the algorithm, plus the curve when `EdDSA` can mean two. */
  label: string;
  alg: Algorithm;
  family: Family;
  /** The hash size in bits (the curve size for Ed*). */
  bits: number;
  /** Private key, or the secret as a KeyObject. */
  signKey: KeyObject;
  /** Public key, or the secret as a KeyObject. */
  verifyKey: KeyObject;
  /** HMAC secret bytes (HS* only). */
  secret: Buffer | undefined;
  /** PEM for the peers that want strings (fast-jwt); the secret Buffer for HS*. */
  signPem: string | Buffer;
  verifyPem: string | Buffer;
  jose: boolean;
  fastJwt: boolean;
  jsonwebtoken: boolean;
}

function hmacCase(alg: Algorithm, bits: number): Case {
  const secret = randomBytes(bits / 8);
  const key = createSecretKey(secret);
  return {
    label: alg,
    alg,
    family: 'HS',
    bits,
    signKey: key,
    verifyKey: key,
    secret,
    signPem: secret,
    verifyPem: secret,
    jose: true,
    fastJwt: true,
    jsonwebtoken: true,
  };
}

function pairCase(
  label: string,
  alg: Algorithm,
  family: Family,
  bits: number,
  pair: { privateKey: KeyObject; publicKey: KeyObject },
  peers: { jose: boolean; fastJwt: boolean; jsonwebtoken: boolean },
): Case {
  return {
    label,
    alg,
    family,
    bits,
    signKey: pair.privateKey,
    verifyKey: pair.publicKey,
    secret: undefined,
    signPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    verifyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    ...peers,
  };
}

const ALL_PEERS = { jose: true, fastJwt: true, jsonwebtoken: true };
const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve });

// Keys are made once per algorithm, here at module level.
const CASES: Case[] = [
  hmacCase('HS256', 256),
  hmacCase('HS384', 384),
  hmacCase('HS512', 512),
  pairCase('RS256', 'RS256', 'RS', 256, rsa(), ALL_PEERS),
  pairCase('RS384', 'RS384', 'RS', 384, rsa(), ALL_PEERS),
  pairCase('RS512', 'RS512', 'RS', 512, rsa(), ALL_PEERS),
  pairCase('PS256', 'PS256', 'PS', 256, rsa(), ALL_PEERS),
  pairCase('PS384', 'PS384', 'PS', 384, rsa(), ALL_PEERS),
  pairCase('PS512', 'PS512', 'PS', 512, rsa(), ALL_PEERS),
  pairCase('ES256', 'ES256', 'ES', 256, ec('P-256'), ALL_PEERS),
  pairCase('ES384', 'ES384', 'ES', 384, ec('P-384'), ALL_PEERS),
  pairCase('ES512', 'ES512', 'ES', 512, ec('P-521'), ALL_PEERS),
  pairCase('EdDSA (Ed25519)', 'EdDSA', 'Ed', 25519, generateKeyPairSync('ed25519'), {
    jose: true,
    fastJwt: true,
    jsonwebtoken: false,
  }),
  pairCase('EdDSA (Ed448)', 'EdDSA', 'Ed', 448, generateKeyPairSync('ed448'), {
    jose: false,
    fastJwt: true,
    jsonwebtoken: false,
  }),
  pairCase('Ed25519', 'Ed25519', 'Ed', 25519, generateKeyPairSync('ed25519'), {
    jose: true,
    fastJwt: false,
    jsonwebtoken: false,
  }),
  pairCase('Ed448', 'Ed448', 'Ed', 448, generateKeyPairSync('ed448'), {
    jose: false,
    fastJwt: false,
    jsonwebtoken: false,
  }),
];

const NO_JOSE = 'jose 6 does not implement Ed448';
const NO_FAST_JWT = 'fast-jwt 6 only knows EdDSA, not the RFC 9864 names Ed25519/Ed448';
const NO_JSONWEBTOKEN = 'jsonwebtoken 9 does not support EdDSA';

// ---------------------------------------------------------------------------------------------
// helpers

function b64uJson(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

function parts(token: string): [string, string, string] {
  const p = token.split('.');
  assert.equal(p.length, 3, 'a compact JWS has three parts');
  return p as [string, string, string];
}

/** Signs the JWS signing input with node:crypto, as RFC 7518 / RFC 8037 / RFC 9864 describe. */
function rawSign(c: Case, input: Buffer): Buffer {
  const hash = `sha${c.bits}`;
  switch (c.family) {
    case 'HS':
      return createHmac(hash, c.secret!).update(input).digest();
    case 'RS':
      return cryptoSign(hash, input, c.signKey);
    case 'PS':
      return cryptoSign(hash, input, {
        key: c.signKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: c.bits / 8,
      });
    case 'ES':
      return cryptoSign(hash, input, { key: c.signKey, dsaEncoding: 'ieee-p1363' });
    case 'Ed':
      return cryptoSign(null, input, c.signKey);
  }
}

/** Verifies strictly: PSS salt must be the hash length, ECDSA must be raw r||s. */
function rawVerify(c: Case, input: Buffer, signature: Buffer): boolean {
  const hash = `sha${c.bits}`;
  switch (c.family) {
    case 'HS': {
      const mac = createHmac(hash, c.secret!).update(input).digest();
      return mac.length === signature.length && timingSafeEqual(mac, signature);
    }
    case 'RS':
      return cryptoVerify(hash, input, c.verifyKey, signature);
    case 'PS':
      return cryptoVerify(
        hash,
        input,
        { key: c.verifyKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: c.bits / 8 },
        signature,
      );
    case 'ES':
      return cryptoVerify(hash, input, { key: c.verifyKey, dsaEncoding: 'ieee-p1363' }, signature);
    case 'Ed':
      return cryptoVerify(null, input, c.verifyKey, signature);
  }
}

function rawToken(c: Case, payload: Record<string, unknown>): string {
  const header = Buffer.from(JSON.stringify({ alg: c.alg, typ: 'JWT' })).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const input = `${header}.${body}`;
  return `${input}.${rawSign(c, Buffer.from(input)).toString('base64url')}`;
}

function laissezToken(c: Case, extra: { kid?: string } = {}): string {
  const signer = createSigner({
    key: c.family === 'HS' ? c.secret! : c.signKey,
    algorithm: c.alg,
    expiresIn: '5m',
    issuer: ISSUER,
    audience: AUDIENCE,
    subject: SUBJECT,
    ...extra,
  });
  return signer({ ...CUSTOM });
}

function laissezVerify(c: Case, token: string, key: KeyInput = c.verifyKey): JwtPayload {
  const verifier = createVerifier({
    key,
    algorithms: [c.alg],
    issuer: ISSUER,
    audience: AUDIENCE,
    subject: SUBJECT,
  });
  const { header, payload } = verifier(token);
  assert.equal(header.alg, c.alg);
  return payload;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * The claims every token in this file carries; `iat` must be recent and `exp = iat + 5m`.
 * The payload a peer returns must also be exactly what the token carries.
 */
function assertClaims(got: unknown, token: string, before: number): void {
  assert.ok(got !== null && typeof got === 'object', 'a payload object');
  const payload = got as Record<string, unknown>;
  const iat = payload['iat'];
  assert.equal(typeof iat, 'number');
  assert.ok((iat as number) >= before - 1 && (iat as number) <= nowSeconds() + 1, 'iat is now');
  assert.deepEqual(
    { ...payload },
    {
      ...CUSTOM,
      iss: ISSUER,
      aud: AUDIENCE,
      sub: SUBJECT,
      iat,
      exp: (iat as number) + LIFETIME,
    },
  );
  assert.deepEqual({ ...payload }, b64uJson(parts(token)[1]), 'the payload the token carries');
}

const joseOptions = (c: Case): jose.JWTVerifyOptions => ({
  algorithms: [c.alg],
  issuer: ISSUER,
  audience: AUDIENCE,
  subject: SUBJECT,
});

async function joseVerify(c: Case, token: string, key: jose.CryptoKey | KeyObject | Uint8Array) {
  const { payload, protectedHeader } = await jose.jwtVerify(token, key, joseOptions(c));
  assert.equal(protectedHeader.alg, c.alg);
  return payload;
}

async function joseToken(c: Case, key: jose.CryptoKey | KeyObject | Uint8Array = c.signKey) {
  return await new jose.SignJWT({ ...CUSTOM })
    .setProtectedHeader({ alg: c.alg, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(SUBJECT)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);
}

// ---------------------------------------------------------------------------------------------
// every algorithm, every peer, both directions

for (const c of CASES) {
  describe(c.label, () => {
    test('laissez → jose', { skip: c.jose ? false : NO_JOSE }, async () => {
      const before = nowSeconds();
      const token = laissezToken(c);
      assertClaims(await joseVerify(c, token, c.verifyKey), token, before);
    });

    test('jose → laissez', { skip: c.jose ? false : NO_JOSE }, async () => {
      const before = nowSeconds();
      const token = await joseToken(c);
      assertClaims(laissezVerify(c, token), token, before);
    });

    test('laissez → fast-jwt', { skip: c.fastJwt ? false : NO_FAST_JWT }, () => {
      const before = nowSeconds();
      const token = laissezToken(c);
      const verify = fastJwtVerifier({
        key: c.verifyPem,
        algorithms: [c.alg as FastJwtAlgorithm],
        allowedIss: ISSUER,
        allowedAud: AUDIENCE,
        allowedSub: SUBJECT,
      });
      assertClaims(verify(token), token, before);
    });

    test('fast-jwt → laissez', { skip: c.fastJwt ? false : NO_FAST_JWT }, () => {
      const before = nowSeconds();
      const sign = fastJwtSigner({
        key: c.signPem,
        algorithm: c.alg as FastJwtAlgorithm,
        expiresIn: LIFETIME * 1000, // milliseconds in fast-jwt
        iss: ISSUER,
        aud: AUDIENCE,
        sub: SUBJECT,
      });
      const token = sign({ ...CUSTOM });
      assertClaims(laissezVerify(c, token), token, before);
    });

    test('laissez → jsonwebtoken', { skip: c.jsonwebtoken ? false : NO_JSONWEBTOKEN }, () => {
      const before = nowSeconds();
      const token = laissezToken(c);
      const payload = jwt.verify(token, c.family === 'HS' ? c.secret! : c.verifyKey, {
        algorithms: [c.alg as jwt.Algorithm],
        issuer: ISSUER,
        audience: AUDIENCE,
        subject: SUBJECT,
      });
      assertClaims(payload, token, before);
    });

    test('jsonwebtoken → laissez', { skip: c.jsonwebtoken ? false : NO_JSONWEBTOKEN }, () => {
      const before = nowSeconds();
      const token = jwt.sign({ ...CUSTOM }, c.family === 'HS' ? c.secret! : c.signKey, {
        algorithm: c.alg as jwt.Algorithm,
        expiresIn: '5m',
        issuer: ISSUER,
        audience: AUDIENCE,
        subject: SUBJECT,
      });
      assertClaims(laissezVerify(c, token), token, before);
    });

    test('laissez → node:crypto (hand-checked JWS)', () => {
      const before = nowSeconds();
      const token = laissezToken(c);
      const [h, p, s] = parts(token);
      assert.deepEqual(b64uJson(h), { alg: c.alg, typ: 'JWT' }, 'header is {alg, typ}');
      assert.equal(Buffer.from(s, 'base64url').toString('base64url'), s, 'canonical base64url');
      assert.ok(rawVerify(c, Buffer.from(`${h}.${p}`), Buffer.from(s, 'base64url')));
      assertClaims(b64uJson(p), token, before);
    });

    test('node:crypto (hand-built JWS) → laissez', () => {
      const iat = nowSeconds();
      const token = rawToken(c, {
        ...CUSTOM,
        iss: ISSUER,
        aud: AUDIENCE,
        sub: SUBJECT,
        iat,
        exp: iat + LIFETIME,
      });
      assertClaims(laissezVerify(c, token), token, iat);
    });

    // Keys crossing over as JWKs.

    test('laissez createJwks → jose createLocalJWKSet', {
      skip: c.family === 'HS' ? 'a JWKS holds public keys only' : c.jose ? false : NO_JOSE,
    }, async () => {
      const jwks = createJwks([c.verifyKey]);
      assert.equal(jwks.keys.length, 1);
      const jwk = jwks.keys[0]!;
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
        assert.equal(jwk[member], undefined, `no private member ${member}`);
      }
      assert.equal(jwk.kid, calculateThumbprint(c.verifyKey), 'kid defaults to the thumbprint');
      const before = nowSeconds();
      const token = laissezToken(c, { kid: jwk.kid! });
      const keySet = jose.createLocalJWKSet(jwks as jose.JSONWebKeySet);
      const { payload, protectedHeader } = await jose.jwtVerify(token, keySet, joseOptions(c));
      assert.equal(protectedHeader.kid, jwk.kid);
      assertClaims(payload, token, before);
    });

    test('jose exportJWK → laissez importJwk', async () => {
      const jwk = await jose.exportJWK(c.verifyKey);
      const key = importJwk(jwk as Jwk);
      const before = nowSeconds();
      const token = laissezToken(c);
      assertClaims(laissezVerify(c, token, key), token, before);
    });

    test('jose exportJWK (private) → laissez signer → jose', {
      skip: c.jose ? false : NO_JOSE,
    }, async () => {
      const jwk = await jose.exportJWK(c.signKey);
      const signer = createSigner({
        key: importJwk(jwk as Jwk),
        algorithm: c.alg,
        expiresIn: '5m',
        issuer: ISSUER,
        audience: AUDIENCE,
        subject: SUBJECT,
      });
      const before = nowSeconds();
      const token = signer({ ...CUSTOM });
      assertClaims(await joseVerify(c, token, c.verifyKey), token, before);
    });

    test('laissez exportJwk → jose importJWK', { skip: c.jose ? false : NO_JOSE }, async () => {
      const jwk =
        c.family === 'HS'
          ? exportJwk(c.signKey, { private: true })
          : exportJwk(c.signKey, { alg: c.alg });
      assert.equal(jwk.d, undefined, 'the public half by default');
      const key = await jose.importJWK(jwk as jose.JWK, c.alg);
      const before = nowSeconds();
      const token = laissezToken(c);
      assertClaims(await joseVerify(c, token, key), token, before);
    });

    test('calculateThumbprint = jose calculateJwkThumbprint', async () => {
      const expected = await jose.calculateJwkThumbprint(await jose.exportJWK(c.verifyKey));
      assert.equal(calculateThumbprint(c.verifyKey), expected);
    });

    test('laissez verifies with PEM, JWK and KeyObject forms of the key', () => {
      const before = nowSeconds();
      const token = rawToken(c, {
        ...CUSTOM,
        iss: ISSUER,
        aud: AUDIENCE,
        sub: SUBJECT,
        iat: before,
        exp: before + LIFETIME,
      });
      const pem = typeof c.verifyPem === 'string' ? c.verifyPem : new Uint8Array(c.verifyPem);
      const forms: KeyInput[] = [c.verifyKey, pem, c.verifyKey.export({ format: 'jwk' }) as Jwk];
      for (const key of forms) assertClaims(laissezVerify(c, token, key), token, before);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// ECDSA signatures are JOSE's raw r||s (RFC 7518 §3.4), never DER

const RAW_LENGTH: Record<string, number> = { ES256: 64, ES384: 96, ES512: 132 };
// P-384 and P-521 signing is slow; P-256 gets the most rounds.
const ROUNDS: Record<string, number> = { ES256: 300, ES384: 100, ES512: 60 };

for (const c of CASES.filter((x) => x.family === 'ES')) {
  test(`${c.alg}: laissez signatures are raw r||s of ${RAW_LENGTH[c.alg]} bytes`, () => {
    // DER lengths vary with the leading zeros of r and s; the raw form never does. Many
    // signatures make a short r or s (which must be left-padded) likely to turn up.
    const signer = createSigner({ key: c.signKey, algorithm: c.alg, expiresIn: '5m' });
    for (let i = 0; i < ROUNDS[c.alg]!; i++) {
      const [h, p, s] = parts(signer({ i }));
      const sig = Buffer.from(s, 'base64url');
      assert.equal(sig.length, RAW_LENGTH[c.alg], `signature ${i} length`);
      assert.ok(rawVerify(c, Buffer.from(`${h}.${p}`), sig), `signature ${i} is valid r||s`);
    }
  });

  test(`${c.alg}: laissez verifies raw r||s signatures whatever their leading zeros`, () => {
    const verifier = createVerifier({ key: c.verifyKey, algorithms: [c.alg] });
    for (let i = 0; i < ROUNDS[c.alg]!; i++) {
      const exp = nowSeconds() + LIFETIME;
      const token = rawToken(c, { i, exp });
      assert.deepEqual(verifier(token).payload, { i, exp });
    }
  });

  test(`${c.alg}: a DER signature is refused`, () => {
    const exp = nowSeconds() + LIFETIME;
    const header = Buffer.from(JSON.stringify({ alg: c.alg, typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ exp })).toString('base64url');
    const input = `${header}.${body}`;
    const der = cryptoSign(`sha${c.bits}`, Buffer.from(input), c.signKey); // DER by default
    const verifier = createVerifier({ key: c.verifyKey, algorithms: [c.alg] });
    assert.throws(
      () => verifier(`${input}.${der.toString('base64url')}`),
      (err: unknown) =>
        err instanceof JwtError &&
        (err.code === 'ERR_JWS_SIGNATURE_INVALID' || err.code === 'ERR_JWT_MALFORMED'),
    );
  });
}
