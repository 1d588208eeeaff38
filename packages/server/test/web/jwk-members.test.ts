// The JWK members that mark private key material, one list for the library and the debugger page:
// a remote JWKS publishing a key with any of them has that key skipped as private (not merely as
// unusable), and the debugger warns about the same JWK. RSA "oth" (RFC 7518 §6.3.2.7, the extra
// primes of a multi-prime key) was missing from the library's list, and oct "k" from the page's.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import {
  createRemoteJwks,
  createSigner,
  createVerifier,
  generateKey,
  JwtError,
} from '../../../jwt/src/index.ts';
import { PRIVATE_JWK_MEMBERS } from '../../../jwt/src/lib/jwk-members.ts';
import { decodeToken } from '../../src/web/inspect/decode.ts';
import { verifyToken } from '../../src/web/inspect/verify.ts';

const servers: Server[] = [];
after(() => {
  for (const server of servers) server.close();
});

/** A JWKS endpoint on loopback serving `body` as JSON. */
async function jwksServer(body: unknown): Promise<string> {
  const text = JSON.stringify(body);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(text);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
}

const es = generateKey('ES256', { kid: 'es-1' });
const token = createSigner({
  key: es.privateJwk,
  algorithm: 'ES256',
  kid: 'es-1',
  expiresIn: '5m',
})({
  sub: 'user',
});

describe('private JWK members', () => {
  test('the list covers every private member of RFC 7518 §6 and RFC 8037 §2', () => {
    assert.deepEqual([...PRIVATE_JWK_MEMBERS].sort(), [
      'd',
      'dp',
      'dq',
      'k',
      'oth',
      'p',
      'q',
      'qi',
    ]);
  });

  for (const member of PRIVATE_JWK_MEMBERS) {
    test(`a public key carrying "${member}" is skipped by a remote JWKS as private`, async () => {
      const url = await jwksServer({ keys: [{ ...es.publicJwk, [member]: 'AQAB' }] });
      const verify = createVerifier({ key: createRemoteJwks(url), algorithms: ['ES256'] });
      const error = await verify(token).then(
        () => assert.fail('a key with private members was used'),
        (e: unknown) => e as JwtError,
      );
      assert.ok(error instanceof JwtError);
      assert.equal(error.code, 'ERR_KEY_INVALID');
      assert.match(error.message, /1 key skipped for holding private members/);
    });

    test(`the debugger warns about a JWK carrying "${member}" and uses its public part`, async () => {
      const decoded = decodeToken(token);
      assert.ok(decoded.ok);
      const verdict = await verifyToken(
        decoded.token,
        JSON.stringify({ ...es.publicJwk, [member]: 'AQAB' }),
        'jwk',
      );
      assert.equal(verdict.status, 'verified', verdict.detail);
      assert.match(verdict.warnings.join(' '), /holds a private key/);
    });
  }
});
