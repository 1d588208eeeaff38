// The SQLite store: the contract suite against a real database file, then what is SQLite's own:
// persistence, migrations, WAL, error mapping, and rotation races across connections and processes.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { MIGRATIONS } from '../../src/store/sqlite-migrations.ts';
import { testStore } from '../../src/store/testing/index.ts';
import { type Store, StoreUnavailableError } from '../../src/store/types.ts';
import { run, seed, waitForFiles } from './fixtures/races.ts';
import type { WorkerConfig, WorkerOutput } from './fixtures/rotate-worker.ts';

const root = mkdtempSync(join(tmpdir(), 'laissez-'));
after(() => rmSync(root, { recursive: true, force: true }));

const WORKER = new URL('./fixtures/rotate-worker.ts', import.meta.url).pathname;
const DAY = 86_400_000;

let fileCount = 0;
/** A fresh database path in a directory that does not exist yet. */
const freshPath = () => join(root, `db${++fileCount}`, 'laissez.db');

testStore(
  {
    open: async () => openSqliteStore({ path: join(root, 'contract', 'nested', 'laissez.db') }),
    freshPlace: freshPath,
    openAt: (path) => openSqliteStore({ path }),
  },
  { name: 'SqliteStore on a database file' },
);

async function openMigrated(path: string): Promise<Store> {
  const store = openSqliteStore({ path });
  await store.migrate();
  return store;
}

describe('SqliteStore', () => {
  test('migrate is idempotent and records every version in schema_migrations', async () => {
    const path = freshPath();
    const before = Date.now();
    const store = await openMigrated(path);
    await store.migrate();
    const other = await openMigrated(path);
    await other.migrate();

    const db = new DatabaseSync(path);
    const rows = db
      .prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version')
      .all();
    db.close();
    assert.deepEqual(
      rows.map((r) => r['version']),
      MIGRATIONS.map((_, i) => i + 1),
    );
    for (const row of rows) {
      assert.ok(Number(row['applied_at']) >= before && Number(row['applied_at']) <= Date.now());
    }
    await store.close();
    await other.close();
  });

  test('a version 1 database upgrades: its signing keys sign from their creation time', async () => {
    const path = freshPath();
    mkdirSync(join(path, '..'), { recursive: true });
    const db = new DatabaseSync(path);
    db.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
    );
    db.exec(MIGRATIONS[0]!.sql);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (1, ?)').run(Date.now());
    db.prepare(
      `INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at, retires_at)
       VALUES ('old', 'HS256', '{"kty":"oct","k":"c2VjcmV0"}', NULL, 1000, NULL)`,
    ).run();
    db.close();
    const store = await openMigrated(path);
    const [key] = await store.listSigningKeys();
    assert.equal(key?.kid, 'old');
    assert.equal(key?.createdAt, 1000);
    assert.equal(key?.activatesAt, 1000);
    await store.close();
  });

  test('a version 2 database upgrades: usernames get RFC 8265 keys and skeletons, the oldest account keeping a shared one', async () => {
    const path = freshPath();
    mkdirSync(join(path, '..'), { recursive: true });
    const db = new DatabaseSync(path);
    db.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
    );
    for (const [i, step] of MIGRATIONS.slice(0, 2).entries()) {
      db.exec(step.sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(i + 1, 0);
    }
    const insert = db.prepare(
      `INSERT INTO users (id, username, username_key, email, password_hash, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'h', ?, ?)`,
    );
    // What the lower-casing store accepted: straße then STRASSE, admin then Cyrillic аdmin.
    const legacy = ['Straße', 'STRASSE', 'admin', '\u0430dmin', 'ODIN'];
    for (const [i, username] of legacy.entries())
      insert.run(`u${i}`, username, username.toLowerCase(), `u${i}@example.com`, i, i);
    db.close();

    const store = await openMigrated(path);
    const id = async (name: string) => (await store.findUserByUsername(name))?.id;
    assert.equal(await id('strasse'), 'u0');
    assert.equal(await id('STRASSE'), 'u0', 'the older account keeps the shared key');
    assert.equal((await store.findUserByEmail('u1@example.com'))?.username, 'STRASSE');
    assert.equal(await id('admin'), 'u2');
    assert.equal(await id('\u0430dmin'), 'u3', 'a look-alike already there keeps its own key');
    assert.equal(await id('\uFF4F\uFF44\uFF49\uFF4E'), 'u4');
    for (const taken of ['Odin', 'ADMIN', '\u0430DMIN', 'straSSe']) {
      await assert.rejects(
        store.createUser({
          id: `new_${taken}`,
          username: taken,
          email: `${taken}@new.example`,
          passwordHash: 'h',
          roles: [],
          createdAt: 10,
        }),
        (error: Error) => error.name === 'ConflictError',
        taken,
      );
    }
    await store.close();
  });

  test('a database newer than the code is refused with a clear error', async () => {
    const path = freshPath();
    await (await openMigrated(path)).close();
    const db = new DatabaseSync(path);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(
      MIGRATIONS.length + 1,
      Date.now(),
    );
    db.close();
    const store = openSqliteStore({ path });
    await assert.rejects(store.migrate(), /schema version \d+, newer than this version of laissez/);
    await store.close();
  });

  test('the file is in WAL mode, with foreign keys enforced', async () => {
    const path = freshPath();
    const store = await openMigrated(path);
    const db = new DatabaseSync(path);
    assert.equal(db.prepare('PRAGMA journal_mode').get()?.['journal_mode'], 'wal');
    db.close();
    // Foreign keys are per connection; a token for no user shows the store's connection has them.
    await assert.rejects(
      store.createRefreshToken({
        tokenHash: 'rt_orphan',
        familyId: 'f',
        userId: 'nobody',
        createdAt: 0,
        expiresAt: 1,
      }),
      (error: Error) =>
        !(error instanceof StoreUnavailableError) && /no existing user/.test(error.message),
    );
    await store.close();
  });

  test('a misspelt option is a TypeError, not a default kept silently', () => {
    assert.throws(
      () => openSqliteStore({ path: ':memory:', busyTimout: 100 } as never),
      /^TypeError: openSqliteStore: unknown option "busyTimout"; did you mean "busyTimeout"\?$/,
    );
  });

  test('works in memory', async () => {
    const store = await openMigrated(':memory:');
    const { userId } = await seed(store);
    assert.ok(await store.findUserById(userId));
    await store.close();
  });

  test('a file that is not a database, or a directory, is StoreUnavailableError', async () => {
    const dir = join(root, `garbage${++fileCount}`);
    mkdirSync(dir);
    const garbage = join(dir, 'laissez.db');
    writeFileSync(garbage, 'secret data, not a database '.repeat(200));
    const check = (error: unknown) => {
      assert.ok(error instanceof StoreUnavailableError, String(error));
      assert.doesNotMatch(error.message, /secret|SELECT|INSERT|CREATE/);
      return true;
    };
    assert.throws(() => openSqliteStore({ path: garbage }), check);
    assert.throws(() => openSqliteStore({ path: dir }), check);
  });

  test('a write lock held too long by another connection is StoreUnavailableError after busyTimeout', async () => {
    const path = freshPath();
    const store = openSqliteStore({ path, busyTimeout: 100 });
    await store.migrate();
    const { tokens, now } = await seed(store);
    const holder = new DatabaseSync(path);
    holder.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    const token = tokens[0]!;
    await assert.rejects(
      store.rotateRefreshToken(token.tokenHash, { ...token, tokenHash: 'rt_next' }, now),
      (error: unknown) =>
        error instanceof StoreUnavailableError && /database is locked/.test(error.message),
    );
    assert.ok(Date.now() - started >= 90, 'it waited for the lock first');
    holder.exec('ROLLBACK');
    holder.close();
    // Reads are not blocked by a writer in WAL mode, and nothing was half-done.
    assert.equal((await store.findRefreshToken(token.tokenHash))?.usedAt, null);
    assert.equal(
      (await store.rotateRefreshToken(token.tokenHash, { ...token, tokenHash: 'rt_next' }, now))
        .status,
      'rotated',
    );
    await store.close();
  });

  test('a writer waits for another process holding the lock instead of failing', async () => {
    const path = freshPath();
    const store = await openMigrated(path);
    const { tokens, now } = await seed(store);
    const ready = join(root, `holder-ready${++fileCount}`);
    // The other process takes the write lock, says so, and keeps it for 300 ms.
    const script = `
      import { DatabaseSync } from 'node:sqlite';
      import { writeFileSync } from 'node:fs';
      const db = new DatabaseSync(${JSON.stringify(path)});
      db.exec('BEGIN IMMEDIATE');
      writeFileSync(${JSON.stringify(ready)}, '');
      setTimeout(() => { db.exec('COMMIT'); db.close(); }, 300);
    `;
    const child = run(['--input-type=module', '-e', script]);
    await waitForFiles([ready], 10_000, [child]);
    const started = Date.now();
    const token = tokens[0]!;
    const result = await store.rotateRefreshToken(
      token.tokenHash,
      { ...token, tokenHash: 'rt_after_wait' },
      now,
    );
    const waited = Date.now() - started;
    assert.equal(result.status, 'rotated');
    assert.ok(waited >= 150, `waited ${waited} ms`);
    const { code, stderr } = await child;
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '', 'no warning (node:sqlite prints no ExperimentalWarning)');
    await store.close();
  });

  test('two stores on one file (two connections) racing one rotation: exactly one rotated', async () => {
    const path = freshPath();
    const a = await openMigrated(path);
    const b = await openMigrated(path);
    const { tokens, now } = await seed(a, 20);
    for (const token of tokens) {
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 === 0 ? a : b).rotateRefreshToken(
            token.tokenHash,
            { ...token, tokenHash: `${token.tokenHash}:${i}` },
            now,
          ),
        ),
      );
      const statuses = results.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 'rotated').length, 1);
      assert.equal(statuses.filter((s) => s === 'spent').length, 5);
      const winner = statuses.indexOf('rotated');
      assert.equal(
        (await b.findRefreshToken(token.tokenHash))?.replacedBy,
        `${token.tokenHash}:${winner}`,
      );
    }
    await a.close();
    await b.close();
  });

  test('three processes rotating the same tokens at the same moment: exactly one wins each', async (t) => {
    // All three start on the same token at the barrier; then the parent goes forward, one worker
    // backward and one from the middle, so that they also meet on tokens all along the way.
    const path = freshPath();
    const store = await openMigrated(path);
    const { userId, familyId, tokens, now } = await seed(store, 60);
    const hashes = tokens.map((tk) => tk.tokenHash);
    const barrier = join(root, `barrier${++fileCount}`);
    const names = ['worker1', 'worker2'];
    const readies = names.map((name) => `${barrier}.${name}.ready`);
    const [first, ...rest] = hashes;
    const orders = [
      [first!, ...rest.reverse()],
      [first!, ...hashes.slice(30), ...hashes.slice(1, 30)],
    ];
    const children = names.map((name, i) => {
      const config: WorkerConfig = {
        mode: 'rotate',
        path,
        ready: readies[i]!,
        barrier,
        tokens: orders[i]!,
        familyId,
        userId,
        expiresAt: now + DAY,
        name,
        now,
        pauseMs: 1,
      };
      return run([WORKER, JSON.stringify(config)]);
    });
    await waitForFiles(readies, 10_000, children);
    writeFileSync(barrier, '');
    const mine: WorkerOutput['statuses'] = {};
    for (const token of tokens) {
      const result = await store.rotateRefreshToken(
        token.tokenHash,
        { ...token, tokenHash: `parent:${token.tokenHash}`, createdAt: now },
        now,
      );
      mine[token.tokenHash] = result.status;
      await sleep(1);
    }
    const outputs = await Promise.all(children);
    const all: Record<string, WorkerOutput['statuses']> = { parent: mine };
    outputs.forEach(({ code, stdout, stderr }, i) => {
      assert.equal(code, 0, stderr);
      assert.equal(stderr, '', 'the worker printed no warning');
      all[names[i]!] = (JSON.parse(stdout) as WorkerOutput).statuses;
    });

    const wins: Record<string, number> = {};
    for (const [i, hash] of hashes.entries()) {
      const rotated = Object.keys(all).filter((name) => all[name]?.[hash] === 'rotated');
      const spent = Object.keys(all).filter((name) => all[name]?.[hash] === 'spent');
      assert.equal(rotated.length, 1, `token ${i}: ${JSON.stringify(rotated)}`);
      assert.equal(spent.length, 2);
      const winner = rotated[0]!;
      wins[winner] = (wins[winner] ?? 0) + 1;
      assert.equal((await store.findRefreshToken(hash))?.replacedBy, `${winner}:${hash}`);
      for (const name of Object.keys(all)) {
        const successor = await store.findRefreshToken(`${name}:${hash}`);
        assert.equal(successor !== null, name === winner);
      }
    }
    t.diagnostic(`wins per process: ${JSON.stringify(wins)}`);
    await store.close();
  });

  test('three processes migrating a fresh file at once apply each step exactly once', async () => {
    const path = freshPath();
    const barrier = join(root, `barrier${++fileCount}`);
    const names = ['m1', 'm2', 'm3'];
    const readies = names.map((name) => `${barrier}.${name}.ready`);
    const children = names.map((_, i) => {
      const config: WorkerConfig = { mode: 'migrate', path, ready: readies[i]!, barrier };
      return run([WORKER, JSON.stringify(config)]);
    });
    await waitForFiles(readies, 10_000, children);
    writeFileSync(barrier, '');
    for (const { code, stderr } of await Promise.all(children)) assert.equal(code, 0, stderr);
    const db = new DatabaseSync(path);
    const versions = db
      .prepare('SELECT version FROM schema_migrations ORDER BY version')
      .all()
      .map((r) => r['version']);
    db.close();
    assert.deepEqual(
      versions,
      MIGRATIONS.map((_, i) => i + 1),
    );
  });
});
