// Signing keys at rest (docs/hardening.md, "Signing keys at rest"): a copy of the database alone
// cannot sign. The private keys are encrypted under a key-encryption key (KEK) kept outside the
// database; the database file and its directory are private to the owner whatever the umask;
// keys stored in plain text by an older laissez are encrypted when the server opens them; a
// wrong or missing KEK stops the start with a message naming the setting; `keys rewrap` moves
// every key to a new KEK. Both stores: the raw rows are read with node:sqlite and with pg.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import * as jose from 'jose';
import pg from 'pg';
import { decodeUnverified, generateKey } from '../../../jwt/src/index.ts';
import { generateKekText, KeyEncryptionKeyError } from '../../src/auth/kek.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { laissez } from '../helpers/processes.ts';
import { call, FAST_ARGON2, start } from '../helpers/server.ts';

const DATABASE_URL =
  process.env['LAISSEZ_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const USER = { username: 'vault', email: 'vault@example.com', password: 'vault password 1' };

const scratch = mkdtempSync(join(tmpdir(), 'laissez-at-rest-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(scratch, `data${++dirs}`);

const mode = (path: string) => statSync(path).mode & 0o777;

/** The signing_keys rows as a dump would show them. */
function sqliteRows(dataDir: string): { kid: string; alg: string; private_jwk: string }[] {
  const db = new DatabaseSync(join(dataDir, 'laissez.db'), { readOnly: true });
  try {
    return db.prepare('SELECT kid, alg, private_jwk FROM signing_keys').all() as never;
  } finally {
    db.close();
  }
}

/** Asserts that no row holds private material a thief could sign with. */
async function assertNoPrivateMaterial(rows: { alg: string; private_jwk: string }[]) {
  assert.ok(rows.length > 0, 'there are keys');
  for (const row of rows) {
    assert.match(row.private_jwk, /^enc:v1:[\w-]+:[\w-]+:[\w-]+$/, 'an envelope');
    assert.doesNotMatch(row.private_jwk, /"d"|"k"|"kty"/, 'no JWK members');
    // Whatever a thief tries, the stored text is no key: not JSON, not a JWK jose imports.
    await assert.rejects(async () => {
      const jwk = JSON.parse(row.private_jwk) as jose.JWK;
      await jose.importJWK(jwk, row.alg);
    });
    await assert.rejects(async () => {
      const jwk = JSON.parse(
        Buffer.from(row.private_jwk.split(':').at(-1)!, 'base64url').toString(),
      );
      await jose.importJWK(jwk as jose.JWK, row.alg);
    });
  }
}

async function accessToken(url: string): Promise<string> {
  const registered = await call(url, 'POST', '/auth/register', { body: USER });
  assert.ok(
    registered.status === 201 || registered.status === 409,
    JSON.stringify(registered.body),
  );
  const r = await call<{ access_token: string }>(url, 'POST', '/auth/login', {
    body: { username: USER.username, password: USER.password },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.access_token;
}

describe('SQLite: a copy of the data directory without the KEK cannot sign', () => {
  for (const alg of ['ES256', 'HS256'] as const) {
    test(`${alg}: the rows hold envelopes, the KEK is a file beside them, 0600`, async () => {
      const server = await start({ alg, passwordParams: FAST_ARGON2 }, freshDir());
      try {
        const token = await accessToken(server.url);
        assert.equal((await call(server.url, 'GET', '/auth/me', { token })).status, 200);
        await assertNoPrivateMaterial(sqliteRows(server.dataDir));
        const kek = join(server.dataDir, 'laissez.kek');
        assert.equal(mode(kek), 0o600);
        assert.match(
          (await import('node:fs')).readFileSync(kek, 'utf8'),
          /^[\w-]{43}\n$/,
          'base64url of 32 bytes',
        );
      } finally {
        await server.close();
      }
    });
  }

  for (const umask of [0o022, 0o000]) {
    test(`umask ${umask.toString(8).padStart(3, '0')}: directory 0700, database, -wal, -shm and KEK 0600`, async () => {
      const previous = process.umask(umask);
      let server: Awaited<ReturnType<typeof start>> | undefined;
      try {
        server = await start({ passwordParams: FAST_ARGON2 }, join(freshDir(), 'nested', 'data'));
      } finally {
        process.umask(previous);
      }
      try {
        await accessToken(server.url);
        assert.equal(mode(server.dataDir), 0o700);
        const files = readdirSync(server.dataDir).sort();
        assert.deepEqual(files, ['laissez.db', 'laissez.db-shm', 'laissez.db-wal', 'laissez.kek']);
        for (const file of files) assert.equal(mode(join(server.dataDir, file)), 0o600, file);
      } finally {
        await server.close();
      }
    });
  }

  test('looser files of an existing directory are tightened on start', async () => {
    const first = await start({ passwordParams: FAST_ARGON2 }, freshDir());
    const dir = first.dataDir;
    await first.close({ keepData: true });
    const { chmodSync } = await import('node:fs');
    for (const file of ['laissez.db', 'laissez.kek']) chmodSync(join(dir, file), 0o644);
    const again = await start({ passwordParams: FAST_ARGON2 }, dir);
    try {
      for (const file of readdirSync(dir)) assert.equal(mode(join(dir, file)), 0o600, file);
    } finally {
      await again.close();
    }
  });

  test('keys stored in plain text by an older laissez are encrypted on start, and still sign', async () => {
    const dir = freshDir();
    const old = openSqliteStore({ path: join(dir, 'laissez.db') });
    await old.migrate();
    const kid = 'legacy-key';
    const { privateJwk, publicJwk } = generateKey('ES256', { kid });
    const now = Date.now();
    await old.addSigningKey({
      kid,
      alg: 'ES256',
      privateJwk: JSON.stringify(privateJwk),
      publicJwk: JSON.stringify(publicJwk),
      createdAt: now - 1000,
      activatesAt: now - 1000,
      retiresAt: null,
    });
    await old.close();
    assert.match(sqliteRows(dir)[0]!.private_jwk, /"d"/, 'plain text before');

    const server = await start({ alg: 'ES256', passwordParams: FAST_ARGON2 }, dir);
    try {
      await assertNoPrivateMaterial(sqliteRows(dir));
      assert.deepEqual(
        sqliteRows(dir).map((r) => r.kid),
        [kid],
        'the same key, encrypted',
      );
      const token = await accessToken(server.url);
      assert.equal(decodeUnverified(token).header.kid, kid);
      // The token verifies with the public key as it was before the migration.
      const key = await jose.importJWK(publicJwk as jose.JWK, 'ES256');
      await jose.jwtVerify(token, key);
    } finally {
      await server.close();
    }
  });

  test('a wrong KEK stops the start with a message naming the setting', async () => {
    const first = await start({ passwordParams: FAST_ARGON2 }, freshDir());
    const dir = first.dataDir;
    await first.close({ keepData: true });

    await assert.rejects(
      start({ keyEncryptionKey: generateKekText(), logger: false }, dir),
      (error: Error) =>
        error instanceof KeyEncryptionKeyError &&
        /encrypted under key-encryption key [\w-]+, but keyEncryptionKey \(LAISSEZ_KEY_ENCRYPTION_KEY\) holds key [\w-]+/.test(
          error.message,
        ),
    );

    // The CLI says which setting, exits 2, prints no OpenSSL text nor stack.
    const wrong = await laissez(['serve', '--data-dir', dir, '--port', '0'], {
      env: { LAISSEZ_KEY_ENCRYPTION_KEY: generateKekText() },
    });
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /but keyEncryptionKey \(LAISSEZ_KEY_ENCRYPTION_KEY\) holds key/);
    assert.doesNotMatch(wrong.stderr, /openssl|bad decrypt|Unsupported state|at .*\.ts:\d+/i);

    const malformed = await laissez(['serve', '--data-dir', dir, '--port', '0'], {
      env: { LAISSEZ_KEY_ENCRYPTION_KEY: 'hunter2' },
    });
    assert.equal(malformed.code, 2);
    assert.match(
      malformed.stderr,
      /LAISSEZ_KEY_ENCRYPTION_KEY must be the base64url of 32 random bytes/,
    );
    assert.doesNotMatch(malformed.stderr, /hunter2/, 'the secret is not echoed');

    // A KEK file that is missing next to encrypted keys: restore it, never a new one.
    rmSync(join(dir, 'laissez.kek'));
    await assert.rejects(
      start({ logger: false }, dir),
      /laissez\.kek does not exist, and the signing keys in the database are encrypted .*restore the file/,
    );
    assert.equal(existsSync(join(dir, 'laissez.kek')), false, 'no new KEK made');
  });

  test('an envelope moved to another row does not open (the kid is authenticated)', async () => {
    const first = await start({ alg: 'EdDSA', passwordParams: FAST_ARGON2 }, freshDir());
    const dir = first.dataDir;
    const kekFile = join(dir, 'laissez.kek');
    await first.close({ keepData: true });
    const rotated = await laissez(['keys', 'rotate', '--data-dir', dir, '--immediate']);
    assert.equal(rotated.code, 0, rotated.stderr);
    const db = new DatabaseSync(join(dir, 'laissez.db'));
    const [a, b] = db.prepare('SELECT kid, private_jwk FROM signing_keys').all() as {
      kid: string;
      private_jwk: string;
    }[];
    db.prepare('UPDATE signing_keys SET private_jwk = ? WHERE kid = ?').run(b!.private_jwk, a!.kid);
    db.close();
    await assert.rejects(
      start({ keyEncryptionKeyFile: kekFile, logger: false }, dir),
      new RegExp(`signing key ${a!.kid}: the stored envelope does not authenticate`),
    );
  });
});

describe('keys rewrap', () => {
  test('moves every key to a new KEK: the old one no longer decrypts, the server starts with the new', async () => {
    const first = await start({ alg: 'ES256', passwordParams: FAST_ARGON2 }, freshDir());
    const dir = first.dataDir;
    const token = await accessToken(first.url);
    await first.close({ keepData: true });
    // A second key, so that the rewrap has several rows to move at once.
    assert.equal((await laissez(['keys', 'rotate', '--data-dir', dir])).code, 0);
    const before = sqliteRows(dir);
    const newFile = join(scratch, `new-${randomBytes(4).toString('hex')}.kek`);

    const r = await laissez(['keys', 'rewrap', '--data-dir', dir, '--new-key-file', newFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^2 of 2 signing keys re-encrypted from key-encryption key \S+ to \S+$/m,
    );
    assert.match(r.stdout, /mv .*new-.*\.kek .*laissez\.kek/);
    assert.equal(mode(newFile), 0o600, 'the new KEK file is private');
    const afterRows = sqliteRows(dir);
    await assertNoPrivateMaterial(afterRows);
    assert.deepEqual(afterRows.map((row) => row.kid).sort(), before.map((row) => row.kid).sort());
    for (const row of afterRows) {
      assert.notEqual(row.private_jwk, before.find((b) => b.kid === row.kid)!.private_jwk);
    }

    // The old KEK (still the default file) opens nothing any more.
    await assert.rejects(start({ logger: false }, dir), /encrypted under key-encryption key/);
    const rotate = await laissez(['keys', 'rotate', '--data-dir', dir]);
    assert.equal(rotate.code, 2, 'the old KEK is refused');
    assert.match(
      rotate.stderr,
      /is encrypted under key-encryption key \S+, but the key-encryption key file/,
    );

    // With the new one, the server starts, keeps its keys and verifies the earlier token.
    const server = await start(
      { alg: 'ES256', keyEncryptionKeyFile: newFile, passwordParams: FAST_ARGON2 },
      dir,
    );
    try {
      const me = await call(server.url, 'GET', '/auth/me', { token });
      assert.equal(me.status, 200, JSON.stringify(me.body));
      assert.ok(await accessToken(server.url));
    } finally {
      await server.close({ keepData: true });
    }
    // Run again with the new KEK as the current one: nothing left to do.
    const idempotent = await laissez(
      ['keys', 'rewrap', '--data-dir', dir, '--new-key-file', newFile, '--json'],
      { env: { LAISSEZ_KEY_ENCRYPTION_KEY_FILE: newFile } },
    );
    assert.equal(idempotent.code, 0, idempotent.stderr);
    assert.deepEqual(JSON.parse(idempotent.stdout).rewrapped, []);
  });

  test('usage: the new key is required, and an existing bad new key file is refused', async () => {
    const server = await start({ passwordParams: FAST_ARGON2 }, freshDir());
    try {
      const missing = await laissez(['keys', 'rewrap', '--data-dir', server.dataDir]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--new-key-file F .* or LAISSEZ_NEW_KEY_ENCRYPTION_KEY/);
      const bad = join(scratch, 'bad.kek');
      writeFileSync(bad, 'not a key\n', { mode: 0o600 });
      const r = await laissez([
        'keys',
        'rewrap',
        '--data-dir',
        server.dataDir,
        '--new-key-file',
        bad,
      ]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /must be the base64url of 32 random bytes/);
    } finally {
      await server.close();
    }
  });
});

describe('PostgreSQL', { skip: process.env['LAISSEZ_TEST_PG'] === 'off' }, () => {
  const schema = `laissez_test_kek_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  admin.on('error', () => {});
  after(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await admin.end();
  });

  test('laissez serve with DATABASE_URL and no KEK refuses to start, naming the settings', async () => {
    const r = await laissez(['serve', '--port', '0'], { env: { DATABASE_URL } });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /set LAISSEZ_KEY_ENCRYPTION_KEY .* or --key-encryption-key-file \/ LAISSEZ_KEY_ENCRYPTION_KEY_FILE/,
    );
  });

  test('the rows hold envelopes; a second instance with the same KEK signs, one with another cannot start', async () => {
    const kek = generateKekText();
    const open = () => openPostgresStore({ connectionString: DATABASE_URL, schema });
    const storeA = open();
    const a = await start({
      alg: 'RS256',
      store: storeA,
      keyEncryptionKey: kek,
      passwordParams: FAST_ARGON2,
    });
    const storeB = open();
    try {
      const { rows } = await admin.query(
        `SELECT kid, alg, private_jwk FROM ${pg.escapeIdentifier(schema)}.signing_keys`,
      );
      await assertNoPrivateMaterial(rows);
      const b = await start({
        alg: 'RS256',
        store: storeB,
        keyEncryptionKey: kek,
        passwordParams: FAST_ARGON2,
      });
      try {
        const token = await accessToken(b.url);
        assert.equal((await call(a.url, 'GET', '/auth/me', { token })).status, 200);
      } finally {
        await b.close();
      }
      const storeC = open();
      try {
        await assert.rejects(
          start({ alg: 'RS256', store: storeC, keyEncryptionKey: generateKekText() }),
          /encrypted under key-encryption key/,
        );
      } finally {
        await storeC.close();
      }
    } finally {
      await a.close();
      await storeA.close();
      await storeB.close();
    }
  });
});

describe('a store other than the embedded one needs a KEK', () => {
  test('createAuthServer({store}) without dataDir or KEK is refused', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    try {
      const { createAuthServer } = await import('../../src/server/index.ts');
      await assert.rejects(
        createAuthServer({ issuer: 'http://localhost:3000', store, logger: false }),
        /a key-encryption key is needed .* keyEncryptionKey .* keyEncryptionKeyFile/,
      );
    } finally {
      await store.close();
    }
  });
});
