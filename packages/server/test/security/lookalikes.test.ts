// Look-alike usernames the confusables data and the script check let through (docs/security.md,
// "Look-alike usernames"): digits from two numbering systems (UTS #39 §5.3, refused), modifier
// and subscript letters and ligatures (folded by NFKD in the skeleton), Latin small capitals
// (folded to their letters): taken when the name they imitate exists; and the migration that
// recomputes the skeletons of rows registered before, on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { MIGRATIONS as PG_MIGRATIONS } from '../../src/store/postgres-migrations.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { MIGRATIONS as SQLITE_MIGRATIONS } from '../../src/store/sqlite-migrations.ts';
import type { Store } from '../../src/store/types.ts';
import { call, FAST_ARGON2, type Running, start } from '../helpers/server.ts';

let emails = 0;
const register = (server: Running, username: string) =>
  call(server.url, 'POST', '/auth/register', {
    body: { username, email: `alike${++emails}@example.com`, password: 'a long pass phrase here' },
    headers: { 'x-forwarded-for': `192.0.2.${emails}` },
  });

describe('look-alike usernames over HTTP', () => {
  let server: Running;
  before(async () => {
    server = await start({ passwordParams: FAST_ARGON2, trustProxy: '127.0.0.1' });
    for (const name of ['admin', 'abc', 'support', 'kmx', 'ijssel']) {
      assert.equal((await register(server, name)).status, 201);
    }
  });
  after(async () => {
    await server.close();
  });

  const refused: [string, string][] = [
    ['ASCII and Thai digits (reads as 123)', '12\u0e53'],
    ['Thai digit among ASCII ones after letters', 'bob1\u0e522'],
    ['Devanagari digit after ASCII ones', 'x12\u0967'],
    ['a superscript digit', 'bob\u00b2'],
    ['a mathematical bold digit among ASCII ones', 'bob1\u{1d7cf}'],
  ];
  for (const [what, name] of refused) {
    test(`refused (400): ${what}`, async () => {
      const reply = await register(server, name);
      assert.equal(reply.status, 400, `${JSON.stringify(name)}: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error, 'invalid_request');
    });
  }

  const taken: [string, string][] = [
    ['a modifier letter m', 'ad\u1d50in'],
    ['a subscript m', 'ad\u2098in'],
    ['a ligature (ij)', '\u0133ssel'],
    ['a small capital A', '\u1d00dmin'],
    ['small capitals A, B, C', '\u1d00\u0299\u1d04'],
    ['a small capital P', 'support'.replace('p', '\u1d18')],
    ['small capitals K and M (confusables.txt maps them to other letters)', '\u1d0b\u1d0dx'],
  ];
  for (const [what, name] of taken) {
    test(`taken (409): ${what}`, async () => {
      const reply = await register(server, name);
      assert.equal(reply.status, 409, `${JSON.stringify(name)}: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error, 'username_taken');
    });
  }

  const allowed: [string, string][] = [
    ['ASCII digits', 'user123'],
    ['Thai digits only', '\u0e51\u0e52\u0e53'],
    ['Thai letters with Thai digits', '\u0e2a\u0e21\u0e0a\u0e32\u0e22\u0e51'],
    ['katakana with the prolonged sound mark (Lm, no compatibility form)', '\u30ab\u30fc\u30c9'],
    ['fullwidth letters (width-mapped, not a compatibility form)', '\uff45\uff56\uff45'],
  ];
  for (const [what, name] of allowed) {
    test(`allowed: ${what}`, async () => {
      const reply = await register(server, name);
      assert.equal(reply.status, 201, `${JSON.stringify(name)}: ${JSON.stringify(reply.body)}`);
    });
  }
});

// Rows a store accepted before skeletons folded compatibility forms and small capitals, oldest
// first: each had a skeleton of its own then (written here as `old:<id>`).
const LEGACY = ['ad\u1d50in', 'admin', '\u1d00dmin', 'odin'];

async function checkMigrated(store: Store) {
  // Every account still logs in by its key.
  for (const [i, name] of LEGACY.entries()) {
    assert.equal((await store.findUserByUsername(name))?.id, `u${i}`, name);
  }
  // The oldest keeps the skeleton: a new admin look-alike is refused by the database.
  for (const name of ['ad\u2098in', '\u1d00\u1d05min', '\u0430dmin']) {
    await assert.rejects(
      store.createUser({
        id: `new${randomBytes(3).toString('hex')}`,
        username: name,
        email: `${randomBytes(4).toString('hex')}@new.example`,
        passwordHash: 'h',
        roles: [],
        createdAt: 10,
      }),
      (error: Error) => error.name === 'ConflictError',
      name,
    );
  }
  await store.createUser({
    id: 'fresh',
    username: 'bob',
    email: 'bob@new.example',
    passwordHash: 'h',
    roles: [],
    createdAt: 11,
  });
}

/** The schema steps before the skeleton recomputation: a database as it was before it. */
function stepBefore(steps: readonly { name: string }[]): number {
  const index = steps.findIndex((step) => step.name.startsWith('username skeletons recomputed'));
  assert.ok(index > 0, 'the skeleton step is in the list');
  return index;
}

const INSERT = `INSERT INTO users
  (id, username, username_key, username_skeleton, email, password_hash, created_at, updated_at)
  VALUES ($1, $2, $2, $3, $4, 'h', $5, $5)`;

describe('the skeleton migration recomputes existing rows', () => {
  test('SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'laissez-alike-'));
    try {
      const path = join(dir, 'laissez.db');
      const db = new DatabaseSync(path);
      db.exec(
        'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
      );
      for (const [i, step] of SQLITE_MIGRATIONS.slice(0, stepBefore(SQLITE_MIGRATIONS)).entries()) {
        db.exec(step.sql);
        step.backfill?.(db);
        db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)').run(i + 1);
      }
      const insert = db.prepare(INSERT.replace(/\$(\d)/g, '?$1'));
      for (const [i, name] of LEGACY.entries()) {
        insert.run(`u${i}`, name, `old:u${i}`, `u${i}@example.com`, i);
      }
      db.close();
      const store = openSqliteStore({ path });
      await store.migrate();
      try {
        await checkMigrated(store);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('PostgreSQL', async () => {
    const connectionString =
      process.env['LAISSEZ_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
    const schema = `laissez_alike_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
      await admin.query(`SET search_path TO ${pg.escapeIdentifier(schema)}`);
      await admin.query(
        'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
      );
      for (const [i, step] of PG_MIGRATIONS.slice(0, stepBefore(PG_MIGRATIONS)).entries()) {
        await admin.query(step.sql);
        await step.backfill?.((text, values) => admin.query(text, values));
        await admin.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)', [
          i + 1,
        ]);
      }
      for (const [i, name] of LEGACY.entries()) {
        await admin.query(INSERT, [`u${i}`, name, `old:u${i}`, `u${i}@example.com`, i]);
      }
      await admin.query('RESET search_path');
      const store = openPostgresStore({ connectionString, schema });
      await store.migrate();
      try {
        await checkMigrated(store);
      } finally {
        await store.close();
      }
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      await admin.end();
    }
  });
});
