// Key selection in a JWK Set, one rule for a static set (the verifier's key) and a remote one
// (src/jwt/jwks/select.ts): kid first, then the algorithms a key fits; the token's kid reaches a
// message only when it is short and plain, in both.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  createJwks,
  createRemoteJwks,
  createSigner,
  createVerifier,
  generateKey,
  JwtError,
} from '../src/index.ts';

const a = generateKey('ES256', { kid: 'a' });
const b = generateKey('ES256', { kid: 'b' });
const jwks = createJwks([a.publicJwk!, b.publicJwk!]);
const signWith = (privateJwk: typeof a.privateJwk, kid: string | undefined) =>
  createSigner({
    key: privateJwk,
    algorithm: 'ES256',
    expiresIn: 60,
    ...(kid === undefined ? {} : { kid }),
  })({ sub: 'u' });
const SHOWN = 'kid "x-1"';
const HIDDEN = `k<script>${'z'.repeat(120)}`;

/** The JwtError a verification fails with (sync or async). */
async function failure(run: () => unknown): Promise<JwtError> {
  try {
    await run();
  } catch (error) {
    assert.ok(error instanceof JwtError, String(error));
    return error;
  }
  assert.fail('verified');
}

let url = '';
const server = createServer((_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(jwks));
});
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('static and remote sets choose alike', () => {
  const verifiers = {
    static: () => createVerifier({ key: jwks, algorithms: ['ES256'] }),
    remote: () =>
      createVerifier({ key: createRemoteJwks(url, { cooldown: 60_000 }), algorithms: ['ES256'] }),
  };
  for (const [name, make] of Object.entries(verifiers)) {
    test(`${name}: the kid picks the key`, async () => {
      const verify = make();
      assert.equal((await verify(signWith(a.privateJwk, 'a'))).header.kid, 'a');
      assert.equal((await verify(signWith(b.privateJwk, 'b'))).header.kid, 'b');
      // A kid that names the other key: that key is tried, and the signature fails.
      const wrong = await failure(() => verify(signWith(a.privateJwk, 'b')));
      assert.equal(wrong.code, 'ERR_JWS_SIGNATURE_INVALID');
    });

    test(`${name}: an unknown kid is named only when plain`, async () => {
      const verify = make();
      const plain = await failure(() => verify(signWith(a.privateJwk, 'x-1')));
      assert.equal(plain.code, 'ERR_KEY_NOT_FOUND');
      assert.ok(plain.message.includes(SHOWN), plain.message);
      const odd = await failure(() => verify(signWith(a.privateJwk, HIDDEN)));
      assert.equal(odd.code, 'ERR_KEY_NOT_FOUND');
      assert.ok(!odd.message.includes('script'), odd.message);
      assert.ok(odd.message.includes("the token's kid"), odd.message);
    });
  }

  test('without a kid, a static set tries each fitting key; a remote set wants exactly one', async () => {
    const token = signWith(b.privateJwk, undefined);
    assert.equal(verifiers.static()(token).payload.sub, 'u');
    const error = await failure(() => verifiers.remote()(token));
    assert.equal(error.code, 'ERR_KEY_NOT_FOUND');
    assert.match(error.message, /has 2 keys that fit ES256/);
  });
});
