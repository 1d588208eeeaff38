// `laissez keys generate` (and, later, `keys list|rotate`).

import { ALGORITHMS, generateKey } from '../jwt/index.ts';
import {
  algorithmsFlag,
  type Command,
  type CommandGroup,
  EXIT,
  expectPositionals,
  parseCommandLine,
  UsageError,
  writeJson,
} from './io.ts';

const generate: Command = {
  summary: 'generate a signing key as JWKs',
  help: `Usage: laissez keys generate --alg A [--kid K]

Generates a new key for an algorithm and prints it as JSON:
  {"private": <private JWK>, "public": <public JWK>}
For HS256, HS384 and HS512 there is no public half: {"private": <oct JWK>} holds a random secret
as long as the hash output. The JWKs carry "alg", "use": "sig" and "kid".

The output holds private key material: redirect it to a file only you can read.

Options:
  --alg A     one of ${ALGORITHMS.join(', ')}
  --kid K     the key id. Default: the RFC 7638 thumbprint of the public key (a random id for
              an HMAC secret)
  -h, --help

Exit codes: 0 generated, 2 usage error.

Examples:
  laissez keys generate --alg ES256 --kid 2025-01 > es256.json
  laissez keys generate --alg EdDSA | jq .public`,
  async run(args, context) {
    const { values, positionals } = parseCommandLine(args, {
      alg: { type: 'string' },
      kid: { type: 'string' },
    });
    expectPositionals(positionals, 0, '');
    if (values.alg === undefined) {
      throw new UsageError(`missing --alg: say which algorithm the key is for, e.g. --alg ES256`);
    }
    const algs = algorithmsFlag(values.alg);
    if (algs.length !== 1) throw new UsageError('--alg takes one algorithm, e.g. --alg ES256');
    if (values.kid === '') throw new UsageError('--kid is empty; leave it out for a thumbprint');
    const { privateJwk, publicJwk } = generateKey(
      algs[0]!,
      values.kid === undefined ? {} : { kid: values.kid },
    );
    writeJson(
      context.io,
      publicJwk === undefined
        ? { private: privateJwk }
        : { private: privateJwk, public: publicJwk },
    );
    return EXIT.OK;
  },
};

/** `laissez keys …` */
export const KEYS_COMMANDS: CommandGroup = { generate };
