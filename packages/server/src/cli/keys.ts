// `laissez keys generate`, and `keys list|rotate` on the auth server's key ring.

import { ALGORITHMS, generateKey } from '@laissez/jwt';
import {
  createKekFile,
  KeyEncryptionKey,
  KeyEncryptionKeyError,
  sealedUnder,
} from '../auth/kek.ts';
import {
  KeyRing,
  latestKey,
  rewrapSigningKeys,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
  signingKeyAt,
} from '../auth/keyring.ts';
import type { SigningKey } from '../store/types.ts';
import { DATA_DIR_HELP, dataDirOf, KEK_HELP, kekSourceOf, openKek, withStore } from './data.ts';
import {
  algorithmsFlag,
  type Command,
  type CommandGroup,
  colourEnabled,
  durationFlag,
  EXIT,
  expectPositionals,
  type Io,
  painter,
  parseCommandLine,
  UsageError,
  writeJson,
  writeOut,
} from './io.ts';
import { recordCli } from './record.ts';

const generate: Command = {
  summary: 'generate a signing key as JWKs',
  help: `Usage: laissez keys generate --alg A [--kid K]

Generates a new key for an algorithm and prints it as JSON:
  {"private": <private JWK>, "public": <public JWK>}
For HS256, HS384 and HS512 there is no public half: {"private": <oct JWK>} holds a random secret
as long as the hash output. The JWKs carry "alg", "use": "sig" and "kid".

The output holds private key material: redirect it to a file only you can read. The file is a
--key for 'laissez token sign' (its private half) and 'token verify' (its public half).

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

// --- the auth server's key ring: list and rotate -----------------------------------------------

const RING_OPTIONS = {
  'data-dir': { type: 'string' },
  'access-ttl': { type: 'string' },
  'key-publish-delay': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const RING_HELP = `${DATA_DIR_HELP}
  --json                    print JSON
  -h, --help`;

type KeyState = 'signing' | 'published' | 'retiring';

/** What `keys list` shows of a key: never its private half. */
function describeKey(key: SigningKey, now: number, signing: string | undefined) {
  const state: KeyState =
    key.kid === signing ? 'signing' : key.activatesAt > now ? 'published' : 'retiring';
  return {
    kid: key.kid,
    alg: key.alg,
    state,
    createdAt: new Date(key.createdAt).toISOString(),
    activatesAt: new Date(key.activatesAt).toISOString(),
    retiresAt: key.retiresAt === null ? null : new Date(key.retiresAt).toISOString(),
  };
}

function ringSettings(values: Record<string, string | boolean | undefined>, env: Io['env']) {
  const dataDir = dataDirOf(values['data-dir'] as string | undefined, env);
  const ttlText =
    (values['access-ttl'] as string | undefined) ?? env['LAISSEZ_ACCESS_TTL'] ?? '15m';
  const delayText =
    (values['key-publish-delay'] as string | undefined) ?? env['LAISSEZ_KEY_PUBLISH_DELAY'] ?? '5m';
  const accessTtl = durationFlag(ttlText, '--access-ttl');
  if (accessTtl <= 0) throw new UsageError('--access-ttl must be longer than 0');
  return { dataDir, accessTtl, publishDelay: durationFlag(delayText, '--key-publish-delay') };
}

function printKeys(io: Io, keys: ReturnType<typeof describeKey>[]): void {
  const paint = painter(colourEnabled(io.stdout, io.env));
  const rows = keys.map((k) => [
    k.kid,
    k.alg,
    k.state,
    k.state === 'signing'
      ? `since ${k.activatesAt}`
      : k.state === 'published'
        ? `signs from ${k.activatesAt}`
        : `verifies until ${k.retiresAt ?? '?'}`,
  ]);
  const header = ['KID', 'ALG', 'STATE', 'WHEN'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  writeOut(io, paint('bold', line(header)));
  for (const row of rows) {
    const text = line(row);
    writeOut(io, row[2] === 'signing' ? paint('green', text) : text);
  }
}

const list: Command = {
  summary: "list the auth server's signing keys",
  help: `Usage: laissez keys list [--data-dir DIR] [--json]

Lists the signing keys in the auth server's database, newest first, with their state:
  signing     the key that signs access tokens now
  published   in the JWKS already; signs from the time shown (after a rotation)
  retiring    signs no more; verifies (and stays in the JWKS) until every token it signed expired
No key material is printed.

Options:
${RING_HELP}

Exit codes: 0 listed, 2 usage error (no database in the data directory).

Examples:
  laissez keys list --data-dir /var/lib/laissez
  laissez keys list --json | jq -r '.[] | select(.state == "signing") | .kid'`,
  async run(args, context) {
    const { values, positionals } = parseCommandLine(args, {
      'data-dir': RING_OPTIONS['data-dir'],
      json: RING_OPTIONS.json,
    });
    expectPositionals(positionals, 0, '');
    const { dataDir } = ringSettings(values, context.io.env);
    return withStore(dataDir, context, async (store) => {
      const now = context.io.now();
      const keys = await store.listSigningKeys();
      const signing = signingKeyAt(keys, now)?.kid;
      const shown = keys.map((k) => describeKey(k, now, signing));
      if (values.json) writeJson(context.io, shown);
      else if (shown.length === 0)
        writeOut(context.io, 'no signing keys yet: the server makes one when it starts');
      else printKeys(context.io, shown);
      return EXIT.OK;
    });
  },
};

const rotate: Command = {
  summary: 'add a new signing key to the auth server (no restart)',
  help: `Usage: laissez keys rotate [--data-dir DIR] [--alg A] [--immediate] [--withdraw] [--json]

Adds a new signing key to the auth server's database. Running servers pick it up within their
--key-reload interval (30 s by default); no restart. The new key is published in the JWKS at once
and signs only after --key-publish-delay (5 m by default), so that every server and every cached
JWKS knows it before the first token it signs. The keys it replaces stop signing then, and stay in
the JWKS until every access token they signed has expired; then they leave.

Run it with the server's settings (the same LAISSEZ_* environment): the access-token lifetime
decides how long the old key keeps verifying.

Options:
  --alg A                   the new key's algorithm: ${SIGNING_ALGORITHMS.join(', ')}
                            (LAISSEZ_ALG; default: the algorithm of the current key)
  --immediate               sign with the new key at once (a suspected leak). Verifiers refetch
                            the JWKS on the first unknown kid, but at most once per cool-down
                            (30 s by default): until then they may refuse the new tokens
  --withdraw                after a leak: remove every other key now (implies --immediate),
                            keys rotated in and not signing yet too: the new key is the only one.
                            Their tokens, and any signed with a stolen key, are refused by the
                            auth server from its next reload and by resource servers once their
                            copy of the JWKS expires (its max-age, 5 m at most). Holders of
                            refused tokens refresh them; refresh tokens are not affected
  --access-ttl D            the server's access-token lifetime (LAISSEZ_ACCESS_TTL; default 15m)
  --key-publish-delay D     (LAISSEZ_KEY_PUBLISH_DELAY; default 5m)
${KEK_HELP}
${RING_HELP}

Exit codes: 0 rotated, 2 usage error.

Examples:
  laissez keys rotate --data-dir /var/lib/laissez
  LAISSEZ_ALG=EdDSA laissez keys rotate --immediate
  laissez keys rotate --withdraw --data-dir /var/lib/laissez`,
  async run(args, context) {
    const { values, positionals } = parseCommandLine(args, {
      ...RING_OPTIONS,
      alg: { type: 'string' },
      immediate: { type: 'boolean' },
      withdraw: { type: 'boolean' },
      'key-encryption-key-file': { type: 'string' },
    });
    expectPositionals(positionals, 0, '');
    const settings = ringSettings(values, context.io.env);
    const kekSource = kekSourceOf(
      values['key-encryption-key-file'],
      settings.dataDir,
      context.io.env,
    );
    const algText = values.alg ?? context.io.env['LAISSEZ_ALG'];
    if (algText !== undefined && !(SIGNING_ALGORITHMS as readonly string[]).includes(algText)) {
      throw new UsageError(
        `--alg must be one of ${SIGNING_ALGORITHMS.join(', ')} (the algorithms the auth server signs with)`,
      );
    }
    return withStore(settings.dataDir, context, async (store) => {
      const now = context.io.now;
      const before = await store.listSigningKeys();
      const latest = latestKey(before);
      const alg = (algText ?? latest?.alg ?? 'HS256') as SigningAlgorithm;
      // open() itself makes an immediate key for an empty ring or a new algorithm; otherwise
      // rotate with the publish delay (or at once with --immediate).
      const kek = await openKek(kekSource, store);
      const ring = await KeyRing.open(store, {
        alg,
        issuer: 'laissez',
        audience: 'laissez',
        accessTtl: settings.accessTtl,
        publishDelay: settings.publishDelay,
        now,
        kek,
      }).catch((error: unknown) => {
        if (error instanceof KeyEncryptionKeyError) throw new UsageError(error.message);
        throw error;
      });
      const known = new Set(before.map((k) => k.kid));
      let added = ring.keys.find((k) => !known.has(k.kid));
      const withdraw = values.withdraw === true;
      added ??= await ring.rotate({ immediate: values.immediate === true || withdraw });
      if (withdraw) await ring.withdrawBefore(added);
      await recordCli(store, context, {
        type: 'key.rotated',
        details: {
          kid: added.kid,
          alg: added.alg,
          immediate: values.immediate === true || withdraw,
          withdraw,
        },
      });
      const keys = await store.listSigningKeys();
      const withdrawn = withdraw
        ? before.filter((k) => !keys.some((left) => left.kid === k.kid))
        : [];
      const at = now();
      const signing = signingKeyAt(keys, at)?.kid;
      const shown = keys.map((k) => describeKey(k, at, signing));
      const fresh = shown.find((k) => k.kid === added.kid)!;
      const retiring = shown.filter(
        (k) => k.state === 'retiring' || (k.kid !== added.kid && k.state === 'signing'),
      );
      if (values.json) {
        writeJson(context.io, {
          rotated: fresh,
          keys: shown,
          ...(withdraw ? { withdrawn: withdrawn.map((k) => k.kid) } : {}),
        });
        return EXIT.OK;
      }
      writeOut(
        context.io,
        fresh.state === 'signing'
          ? `new ${fresh.alg} key ${fresh.kid}: published and signing now`
          : `new ${fresh.alg} key ${fresh.kid}: published now, signs from ${fresh.activatesAt}`,
      );
      for (const k of retiring) {
        writeOut(context.io, `key ${k.kid} stays in the JWKS and verifies until ${k.retiresAt}`);
      }
      for (const k of withdrawn) {
        writeOut(
          context.io,
          `key ${k.kid} withdrawn: its tokens are refused once servers reload and cached JWKS copies expire`,
        );
      }
      writeOut(
        context.io,
        'running servers load the new key within their --key-reload interval (30 s by default)',
      );
      return EXIT.OK;
    });
  },
};

const rewrap: Command = {
  summary: 'encrypt every signing key under a new key-encryption key',
  help: `Usage: laissez keys rewrap --new-key-file F [--data-dir DIR] [--key-encryption-key-file F] [--json]

Re-encrypts the private half of every signing key in the auth server's database under a new
key-encryption key, in one transaction: if it fails, every key stays under the old one. The old
key-encryption key no longer decrypts them afterwards. Then give the servers the new key and
restart them: a server still holding the old one keeps the keys it has loaded, and fails to load
any new one (its log says so) until it is restarted with the new key. With SQLite and the
default file, move the new file in its place: mv F DIR/laissez.kek

Options:
  --new-key-file F          the new key-encryption key: read if F exists, else made (32 random
                            bytes, base64url, mode 0600). Or its text in
                            LAISSEZ_NEW_KEY_ENCRYPTION_KEY
${KEK_HELP}
${RING_HELP}

Exit codes: 0 re-encrypted, 2 usage error (wrong or missing key-encryption key, no database).

Examples:
  laissez keys rewrap --data-dir /var/lib/laissez --new-key-file /var/lib/laissez/new.kek
  LAISSEZ_KEY_ENCRYPTION_KEY=$OLD LAISSEZ_NEW_KEY_ENCRYPTION_KEY=$NEW DATABASE_URL=postgres://… laissez keys rewrap`,
  async run(args, context) {
    const { values, positionals } = parseCommandLine(args, {
      'data-dir': RING_OPTIONS['data-dir'],
      json: RING_OPTIONS.json,
      'key-encryption-key-file': { type: 'string' },
      'new-key-file': { type: 'string' },
    });
    expectPositionals(positionals, 0, '');
    const env = context.io.env;
    const dataDir = dataDirOf(values['data-dir'], env);
    const kekSource = kekSourceOf(values['key-encryption-key-file'], dataDir, env);
    const newText = env['LAISSEZ_NEW_KEY_ENCRYPTION_KEY'] || undefined;
    const newFile = values['new-key-file'];
    if ((newText === undefined) === (newFile === undefined)) {
      throw new UsageError(
        'give the new key-encryption key: --new-key-file F (made when missing) or LAISSEZ_NEW_KEY_ENCRYPTION_KEY, one of them',
      );
    }
    if (newFile === '') throw new UsageError('--new-key-file is empty: give the file');
    return withStore(dataDir, context, async (store) => {
      const from = await openKek(kekSource, store);
      let to: KeyEncryptionKey;
      try {
        to =
          newText !== undefined
            ? KeyEncryptionKey.parse(newText, 'LAISSEZ_NEW_KEY_ENCRYPTION_KEY')
            : createKekFile(newFile!, 'the new key-encryption key file');
      } catch (error) {
        if (error instanceof KeyEncryptionKeyError) throw new UsageError(error.message);
        throw error;
      }
      let result: Awaited<ReturnType<typeof rewrapSigningKeys>>;
      try {
        result = await rewrapSigningKeys(store, from, to);
      } catch (error) {
        if (error instanceof KeyEncryptionKeyError) throw new UsageError(error.message);
        throw error;
      }
      const under = [
        ...new Set((await store.listSigningKeys()).map((k) => sealedUnder(k.privateJwk))),
      ];
      if (values.json) {
        writeJson(context.io, {
          from: from.id,
          to: to.id,
          rewrapped: result.rewrapped,
          keys: result.total,
        });
        return EXIT.OK;
      }
      writeOut(
        context.io,
        `${result.rewrapped.length} of ${result.total} signing keys re-encrypted from key-encryption key ${from.id} to ${to.id}${under.every((id) => id === to.id) ? '' : ' (some keys are not under it yet: run it again)'}`,
      );
      writeOut(
        context.io,
        kekSource.kind === 'file' && kekSource.own && newFile !== undefined
          ? `now move the new key in place (mv ${newFile} ${kekSource.path}) and restart the server`
          : 'now give the servers the new key-encryption key and restart them',
      );
      return EXIT.OK;
    });
  },
};

/** `laissez keys …` */
export const KEYS_COMMANDS: CommandGroup = { generate, list, rotate, rewrap };
