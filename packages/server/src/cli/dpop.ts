// `laissez dpop proof`: a DPoP proof (RFC 9449 §4.2) for one request, for curl users. The key is the
// client's private key (`laissez keys generate --alg ES256` makes one); the proof goes in the `DPoP`
// header, the token in `Authorization: DPoP <token>`.
import { createPrivateKey } from 'node:crypto';
import {
  ALGORITHMS,
  type Algorithm,
  createProofSigner,
  type Jwk,
  type ProofSigner,
} from '@laissez/jwt';
import { readKeyFile } from './inputs.ts';
import {
  type Command,
  type CommandGroup,
  type Context,
  EXIT,
  expectPositionals,
  parseCommandLine,
  UsageError,
  writeOut,
} from './io.ts';

/** The algorithm a key signs with when --alg is not given: the JWK's alg, else by key type. */
function algorithmOf(input: unknown, key: ReturnType<typeof createPrivateKey>): Algorithm {
  const alg = (input as { alg?: unknown }).alg;
  if (typeof alg === 'string' && ALGORITHMS.includes(alg as Algorithm)) return alg as Algorithm;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  switch (key.asymmetricKeyType) {
    case 'ec':
      return curve === 'secp384r1' ? 'ES384' : curve === 'secp521r1' ? 'ES512' : 'ES256';
    case 'ed25519':
    case 'ed448':
      return 'EdDSA';
    case 'rsa':
      return 'RS256';
    case 'rsa-pss':
      return 'PS256';
    default:
      throw new UsageError('--key is not an EC, Ed25519 or RSA private key; pass --alg');
  }
}

const PROOF: Command = {
  summary: 'make a DPoP proof for one request (for curl)',
  help: `Usage: laissez dpop proof --key FILE --method M --url URL [--token T] [--nonce N] [--alg A]

Prints a DPoP proof (RFC 9449) for one request: send it as the "DPoP" header, with the access
token as "Authorization: DPoP <token>". A proof is good for one request, within a minute.

  --key FILE    the client's private key: a PEM, a JWK, or the output of 'laissez keys generate'
  --method M    the request's HTTP method, e.g. GET
  --url URL     the request's absolute URL (query and fragment are left out of the proof)
  --token T     the access token sent with the request (adds its hash, "ath")
  --nonce N     the DPoP-Nonce the server sent
  --alg A       ES256 (P-256 keys), EdDSA (Ed25519 keys), ...; default: from the key
  --jkt         print the key's thumbprint (the "jkt" a bound token carries) instead`,
  async run(args: string[], { io }: Context) {
    const { values, positionals } = parseCommandLine(args, {
      key: { type: 'string' },
      method: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      nonce: { type: 'string' },
      alg: { type: 'string' },
      jkt: { type: 'boolean' },
    });
    expectPositionals(positionals, 0, '');
    if (values.key === undefined) throw new UsageError('--key FILE is required: the client key');
    const file = readKeyFile(values.key, 'sign');
    if (file.kind === 'jwks') {
      throw new UsageError('--key must be one private key, not a JWK Set');
    }
    if (values.alg !== undefined && !ALGORITHMS.includes(values.alg as Algorithm)) {
      throw new UsageError(`--alg ${JSON.stringify(values.alg)} is not an algorithm laissez knows`);
    }
    let prove: ProofSigner;
    try {
      const key =
        file.kind === 'pem'
          ? createPrivateKey(file.key)
          : createPrivateKey({ key: file.key as Jwk, format: 'jwk' });
      const algorithm = (values.alg as Algorithm | undefined) ?? algorithmOf(file.key, key);
      prove = createProofSigner({ key, algorithm, now: io.now });
    } catch (error) {
      throw new UsageError(`--key cannot sign DPoP proofs: ${(error as Error).message}`);
    }
    if (values.jkt) {
      writeOut(io, prove.jkt);
      return EXIT.OK;
    }
    if (values.method === undefined || values.url === undefined) {
      throw new UsageError('--method and --url are required: the request the proof is for');
    }
    let proof: string;
    try {
      proof = prove({
        method: values.method,
        url: values.url,
        ...(values.token !== undefined ? { accessToken: values.token } : {}),
        ...(values.nonce !== undefined ? { nonce: values.nonce } : {}),
      });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    writeOut(io, proof);
    return EXIT.OK;
  },
};

export const DPOP_COMMANDS: CommandGroup = { proof: PROOF };
