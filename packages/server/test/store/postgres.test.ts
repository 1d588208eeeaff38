// The PostgreSQL store: the contract suite against a real server, then what is PostgreSQL's own:
// schemas, migrations, types, error mapping, and races across pools and processes.
//
// It needs PostgreSQL: LAISSEZ_TEST_DATABASE_URL, by default postgres://postgres@127.0.0.1:5432/test.
// When the server cannot be reached the run FAILS (CI has one); a developer without PostgreSQL
// may set LAISSEZ_TEST_PG=off to skip these tests. Every run works in schemas of its own
// (laissez_test_<random>_<n>) and drops them at the end.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import pg from 'pg';
import { openPostgresStore, type PostgresStoreOptions } from '../../src/store/postgres.ts';
import { CONSTRAINTS, MIGRATIONS } from '../../src/store/postgres-migrations.ts';
import { testStore } from '../../src/store/testing/index.ts';
import {
  ConflictError,
  type NewRefreshToken,
  type RotateResult,
  type Store,
  StoreUnavailableError,
} from '../../src/store/types.ts';
import { type FreezableProxy, freezableProxy } from '../helpers/proxy.ts';
import { call, FAST_ARGON2, start } from '../helpers/server.ts';
import type { PgWorkerConfig, PgWorkerOutput } from './fixtures/pg-worker.ts';
import { run, seed, waitForFiles } from './fixtures/races.ts';

const DATABASE_URL =
  process.env['LAISSEZ_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const OFF = process.env['LAISSEZ_TEST_PG'] === 'off';
const WORKER = new URL('./fixtures/pg-worker.ts', import.meta.url).pathname;
const DAY = 86_400_000;

const RUN = `laissez_test_${randomBytes(5).toString('hex')}`;
let schemaCount = 0;
/** A schema of this run that does not exist yet. */
const freshSchema = () => `${RUN}_${++schemaCount}`;

let fileCount = 0;

/** Why PostgreSQL cannot be reached, or null when it can. */
async function probe(): Promise<string | null> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return `${error instanceof Error ? error.message : String(error)}${code ? ` (${String(code)})` : ''}`;
  } finally {
    await client.end().catch(() => {});
  }
}

// Needs no server: runs whatever the state of PostgreSQL.
describe('PostgresStore without a database', () => {
  test('an unreachable database is StoreUnavailableError, and the password appears nowhere', async () => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const connectionString = `postgres://laissez:${password}@127.0.0.1:1/laissez`;
    const store = openPostgresStore({ connectionString });
    const check = (error: unknown) => {
      assert.ok(error instanceof StoreUnavailableError, String(error));
      assert.equal(error.name, 'StoreUnavailableError');
      assert.match(error.message, /refused|ECONNREFUSED/);
      assert.doesNotMatch(error.message, /postgres:\/\//);
      const everything = inspect(error, { depth: 10, showHidden: true });
      assert.ok(!everything.includes(password), 'the password leaked');
      assert.ok(!everything.includes(connectionString), 'the connection string leaked');
      return true;
    };
    await assert.rejects(store.migrate(), check);
    await store.close();
  });

  test('a server that accepts but never answers is StoreUnavailableError after the connection timeout', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const store = openPostgresStore({
      connectionString: `postgres://laissez:secret-pw@127.0.0.1:${port}/laissez`,
      pool: { connectionTimeoutMillis: 300 },
    });
    await assert.rejects(store.migrate(), (error: unknown) => {
      assert.ok(error instanceof StoreUnavailableError, String(error));
      assert.match(error.message, /time/);
      assert.ok(!inspect(error, { depth: 10 }).includes('secret-pw'));
      return true;
    });
    await store.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  test('a malformed connection string is a TypeError that does not echo it', () => {
    assert.throws(
      () => openPostgresStore({ connectionString: 'postgres://laissez:hunter2@[not-a-host' }),
      (error: unknown) =>
        error instanceof TypeError &&
        /not a valid URL/.test(error.message) &&
        !inspect(error).includes('hunter2'),
    );
    assert.throws(() => openPostgresStore({ connectionString: '' }), TypeError);
    assert.throws(
      () => openPostgresStore({ connectionString: DATABASE_URL, pool: { max: 0 } }),
      TypeError,
    );
    assert.throws(
      () => openPostgresStore({ connectionString: DATABASE_URL, statementTimeout: -1 }),
      TypeError,
    );
    // From plain JavaScript a misspelt option, or pool setting, would silently keep its default.
    assert.throws(
      () => openPostgresStore({ connectionString: DATABASE_URL, statementTimout: 5 } as never),
      /^TypeError: openPostgresStore: unknown option "statementTimout"; did you mean "statementTimeout"\?$/,
    );
    assert.throws(
      () => openPostgresStore({ connectionString: DATABASE_URL, pool: { mx: 2 } } as never),
      /^TypeError: openPostgresStore: unknown option "pool\.mx"; did you mean "pool\.max"\?$/,
    );
    // The pool settings are spread into pg's: nothing else (a host, a password) gets through.
    assert.throws(
      () => openPostgresStore({ connectionString: DATABASE_URL, pool: { host: 'x' } } as never),
      /unknown option "pool\.host"/,
    );
    for (const queryTimeout of [-1, 1.5, Number.NaN, 2 ** 31]) {
      assert.throws(
        () => openPostgresStore({ connectionString: DATABASE_URL, queryTimeout }),
        /queryTimeout must be a non-negative integer/,
      );
    }
  });
});

if (OFF) {
  test('PostgresStore against PostgreSQL', { skip: 'LAISSEZ_TEST_PG=off' }, () => {});
} else {
  // The probe runs while the suite is built, not as a top-level await: node:test runs the file's
  // after() hooks as soon as the tests registered so far have finished, so tests registered after
  // a top-level await could find the temporary directory already gone.
  describe('PostgresStore against PostgreSQL', async () => {
    const unreachable = await probe();
    if (unreachable === null) {
      defineTests();
      return;
    }
    test('PostgreSQL is reachable for the PostgresStore tests', () => {
      assert.fail(
        `cannot reach PostgreSQL at ${DATABASE_URL.replace(/:[^:@/]*@/, ':***@')}: ${unreachable}. ` +
          'Start it, point LAISSEZ_TEST_DATABASE_URL at one, or set LAISSEZ_TEST_PG=off to skip these tests locally.',
      );
    });
  });
}

function defineTests(): void {
  const root = mkdtempSync(join(tmpdir(), 'laissez-pg-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  admin.on('error', () => {});
  after(async () => {
    const { rows } = await admin.query<{ nspname: string }>(
      'SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)',
      [RUN],
    );
    for (const { nspname } of rows) {
      await admin.query(`DROP SCHEMA ${pg.escapeIdentifier(nspname)} CASCADE`);
    }
    await admin.end();
  });

  const open = (schema: string, more: Partial<PostgresStoreOptions> = {}): Store =>
    openPostgresStore({ connectionString: DATABASE_URL, schema, pool: { max: 4 }, ...more });

  async function openMigrated(schema: string, more: Partial<PostgresStoreOptions> = {}) {
    const store = open(schema, more);
    await store.migrate();
    return store;
  }

  const table = (schema: string, name: string) =>
    `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;

  /** Starts workers, waits until all are ready, lets them go at once, and returns their outputs. */
  async function race(
    configs: Omit<PgWorkerConfig, 'connectionString' | 'ready' | 'barrier'>[],
    whileRacing?: () => Promise<void>,
  ): Promise<PgWorkerOutput[]> {
    const barrier = join(root, `barrier${++fileCount}`);
    const readies = configs.map((_, i) => `${barrier}.${i}.ready`);
    const children = configs.map((config, i) => {
      const full: PgWorkerConfig = {
        ...config,
        connectionString: DATABASE_URL,
        ready: readies[i]!,
        barrier,
      };
      return run([WORKER, JSON.stringify(full)]);
    });
    await waitForFiles(readies, 20_000, children);
    writeFileSync(barrier, '');
    await whileRacing?.();
    const outputs = await Promise.all(children);
    return outputs.map(({ code, stdout, stderr }) => {
      assert.equal(code, 0, stderr);
      assert.equal(stderr, '', 'the worker printed no warning');
      return JSON.parse(stdout) as PgWorkerOutput;
    });
  }

  const contractSchema = freshSchema();
  testStore(
    {
      open: async () => open(contractSchema, { pool: { max: 10 } }),
      freshPlace: freshSchema,
      openAt: (schema) => open(schema),
      cleanup: async () => {
        await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(contractSchema)} CASCADE`);
      },
    },
    { name: 'PostgresStore on a real database' },
  );

  describe('PostgresStore with a PostgreSQL that stops answering', () => {
    // Between the store and the real server, a proxy the tests freeze: the server looks hung
    // (connections stay open, nothing is answered), and nobody else's PostgreSQL is stopped.
    let proxy: FreezableProxy | undefined;
    let proxied = '';
    before(async () => {
      const url = new URL(DATABASE_URL);
      proxy = await freezableProxy({ host: url.hostname, port: Number(url.port || 5432) });
      url.hostname = '127.0.0.1';
      url.port = String(proxy.port);
      proxied = url.toString();
    });
    after(async () => {
      proxy?.thaw();
      await proxy?.close();
    });

    /** `promise`, or a failure saying it hung (a hang detector, not a speed target). */
    const orHung = <T>(promise: Promise<T>, ms = 60_000): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms: it hung`)), ms);
      });
      return Promise.race([promise, hung]).finally(() => clearTimeout(timer));
    };
    const timedOut = (error: unknown) => {
      assert.ok(error instanceof StoreUnavailableError, String(error));
      assert.match(error.message, /did not answer within the query timeout/);
      return true;
    };
    // Short bounds so that the tests are quick; generous enough for a loaded machine.
    const bounds = { queryTimeout: 3000, pool: { max: 2, connectionTimeoutMillis: 3000 } };

    test('calls on open pooled connections fail with StoreUnavailableError, nothing is half done, the store recovers', async () => {
      const store = openPostgresStore({
        connectionString: proxied,
        schema: freshSchema(),
        ...bounds,
      });
      await store.migrate();
      const { userId, familyId, tokens } = await seed(store);
      // Both pooled connections open and idle.
      await Promise.all([store.findUserById(userId), store.findUserById(userId)]);
      proxy!.freeze();
      try {
        // A single statement and a transaction, each on one of the open connections.
        const results = await orHung(
          Promise.allSettled([
            store.findUserById(userId),
            store.revokeFamily(familyId, Date.now(), 'logout'),
          ]),
        );
        for (const result of results) {
          assert.equal(result.status, 'rejected');
          timedOut(result.reason);
        }
        // No connection left: a new one is not answered either, within the connection timeout.
        await assert.rejects(orHung(store.findUserById(userId)), (error: unknown) => {
          assert.ok(error instanceof StoreUnavailableError, String(error));
          assert.match(error.message, /time/);
          return true;
        });
      } finally {
        proxy!.thaw();
      }
      // Back: the store works again, and the transaction the store gave up on left nothing.
      await orHung(
        (async () => {
          for (;;) {
            try {
              return await store.findUserById(userId);
            } catch {
              await sleep(100);
            }
          }
        })(),
      );
      assert.equal((await store.findRefreshToken(tokens[0]!.tokenHash))?.revokedAt, null);
      assert.equal(await store.revokeFamily(familyId, Date.now(), 'logout'), 1);
      await store.close();
    });

    test('over HTTP: a log-in answers 503 with Retry-After while it hangs, 200 once it is back', async () => {
      const store = openPostgresStore({
        connectionString: proxied,
        schema: freshSchema(),
        ...bounds,
      });
      const server = await start({ store, passwordParams: FAST_ARGON2 });
      try {
        const user = {
          username: `hang_${randomBytes(4).toString('hex')}`,
          email: `hang_${randomBytes(4).toString('hex')}@example.com`,
          password: 'correct horse battery staple',
        };
        const registered = await call(server.url, 'POST', '/auth/register', { body: user });
        assert.equal(registered.status, 201, JSON.stringify(registered.body));
        const credentials = { username: user.username, password: user.password };
        const logIn = () => orHung(call(server.url, 'POST', '/auth/login', { body: credentials }));
        assert.equal((await logIn()).status, 200);
        proxy!.freeze();
        try {
          const reply = await logIn();
          assert.equal(reply.status, 503, JSON.stringify(reply.body));
          assert.equal(reply.body['error'], 'temporarily_unavailable');
          assert.match(reply.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
          assert.doesNotMatch(JSON.stringify(reply.body), /postgres|proxy|timeout/i);
        } finally {
          proxy!.thaw();
        }
        let status = 0;
        const deadline = Date.now() + 30_000;
        while (status !== 200 && Date.now() < deadline) {
          status = (await logIn()).status;
          if (status !== 200) await sleep(100);
        }
        assert.equal(status, 200, 'log-in works again once PostgreSQL answers');
      } finally {
        await server.close();
        await store.close();
      }
    });
  });

  describe('PostgresStore', () => {
    test('migrate creates the schema and its tables, is idempotent and records every version', async () => {
      const schema = freshSchema();
      const before = Date.now();
      const store = await openMigrated(schema);
      await store.migrate();
      const other = await openMigrated(schema);
      await other.migrate();

      const { rows } = await admin.query(
        `SELECT version, applied_at::text AS applied_at FROM ${table(schema, 'schema_migrations')} ORDER BY version`,
      );
      assert.deepEqual(
        rows.map((r) => r.version),
        MIGRATIONS.map((_, i) => i + 1),
      );
      for (const row of rows) {
        const at = Number(row.applied_at);
        assert.ok(at >= before && at <= Date.now(), String(at));
      }
      const tables = await admin.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
        [schema],
      );
      assert.deepEqual(
        tables.rows.map((r) => r.table_name),
        [
          'audit_events',
          'mfa_challenges',
          'oauth_client_assertions',
          'oauth_clients',
          'one_time_tokens',
          'passkeys',
          'recovery_codes',
          'refresh_tokens',
          'reserved_names',
          'schema_migrations',
          'signing_keys',
          'totp_factors',
          'users',
          'webauthn_challenges',
        ],
      );
      // The store maps violations by these names: they must be the ones the schema has.
      const constraints = await admin.query(
        `SELECT conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE n.nspname = $1`,
        [schema],
      );
      const names = new Set(constraints.rows.map((r) => r.conname));
      for (const name of Object.values(CONSTRAINTS)) assert.ok(names.has(name), name);
      await store.close();
      await other.close();
    });

    test('a version 1 schema upgrades: usernames get RFC 8265 keys and skeletons, the oldest account keeping a shared one', async () => {
      const schema = freshSchema();
      const client = await admin.connect();
      try {
        await client.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
        await client.query(`SET search_path TO ${pg.escapeIdentifier(schema)}`);
        await client.query(
          'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
        );
        await client.query(MIGRATIONS[0]!.sql);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES (1, 0)');
        // What the lower-casing store accepted: straße then STRASSE, admin then Cyrillic аdmin.
        const legacy = ['Straße', 'STRASSE', 'admin', '\u0430dmin', 'ODIN'];
        for (const [i, username] of legacy.entries()) {
          await client.query(
            `INSERT INTO users (id, username, username_key, email, password_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'h', $5, $5)`,
            [`u${i}`, username, username.toLowerCase(), `u${i}@example.com`, i],
          );
        }
      } finally {
        await client.query('RESET search_path');
        client.release();
      }

      const store = await openMigrated(schema);
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
      const schema = freshSchema();
      await (await openMigrated(schema)).close();
      await admin.query(
        `INSERT INTO ${table(schema, 'schema_migrations')} (version, applied_at) VALUES ($1, $2)`,
        [MIGRATIONS.length + 1, Date.now()],
      );
      const store = open(schema);
      await assert.rejects(
        store.migrate(),
        (error: Error) =>
          !(error instanceof StoreUnavailableError) &&
          /schema version \d+, newer than this version of laissez/.test(error.message),
      );
      await assert.rejects(store.findUserById('x'), /call migrate\(\)/);
      await store.close();
    });

    test('schemas keep stores apart', async () => {
      const a = await openMigrated(freshSchema());
      const b = await openMigrated(freshSchema());
      const { userId } = await seed(a);
      assert.ok(await a.findUserById(userId));
      assert.equal(await b.findUserById(userId), null);
      await a.close();
      await b.close();
    });

    test('times are BIGINT milliseconds and come back as numbers, up to the last Date', async () => {
      const schema = freshSchema();
      const store = await openMigrated(schema);
      const last = 8_640_000_000_000_000;
      const user = await store.createUser({
        id: 'u_far',
        username: 'far_future',
        email: 'far@example.com',
        passwordHash: 'h',
        roles: [],
        createdAt: last,
      });
      const found = await store.findUserById(user.id);
      assert.equal(found?.createdAt, last);
      assert.equal(typeof found?.updatedAt, 'number');
      const types = await admin.query(
        `SELECT DISTINCT data_type FROM information_schema.columns
         WHERE table_schema = $1 AND column_name LIKE '%\\_at'`,
        [schema],
      );
      assert.deepEqual(
        types.rows.map((r) => r.data_type),
        ['bigint'],
      );
      // A fraction is a programming error, not an outage.
      await assert.rejects(store.updatePasswordHash(user.id, 'x', 1.5), TypeError);
      await assert.rejects(store.revokeFamily('f', Number.NaN), TypeError);
      await store.close();
    });

    test('roles with quotes, commas, braces and the word NULL round-trip', async () => {
      const store = await openMigrated(freshSchema());
      const roles = ['a,b', 'x"y', '{z}', 'NULL', '', 'back\\slash', 'ünï'];
      const user = await store.createUser({
        id: 'u_roles',
        username: 'roles',
        email: 'roles@example.com',
        passwordHash: 'h',
        roles,
        createdAt: Date.now(),
      });
      assert.deepEqual((await store.findUserById(user.id))?.roles, roles);
      await store.close();
    });

    test('usernames beyond ASCII are unique regardless of case, as the SQLite store has them', async () => {
      const store = await openMigrated(freshSchema());
      const user = await store.createUser({
        id: 'u_greek',
        username: 'Ärger_Ωmega',
        email: 'greek@example.com',
        passwordHash: 'h',
        roles: [],
        createdAt: Date.now(),
      });
      assert.equal((await store.findUserByUsername('ärger_ωmega'))?.id, user.id);
      assert.equal((await store.findUserByUsername('ÄRGER_ΩMEGA'))?.id, user.id);
      await assert.rejects(
        store.createUser({
          id: 'u_greek2',
          username: 'ÄRGER_ΩMEGA',
          email: 'greek2@example.com',
          passwordHash: 'h',
          roles: [],
          createdAt: Date.now(),
        }),
        (error: unknown) => error instanceof ConflictError && error.field === 'username',
      );
      await store.close();
    });

    test('other constraint violations are plain errors, not ConflictError nor 503', async () => {
      const store = await openMigrated(freshSchema());
      const plain = (pattern: RegExp) => (error: unknown) =>
        error instanceof Error &&
        !(error instanceof StoreUnavailableError) &&
        !(error instanceof ConflictError) &&
        pattern.test(error.message);
      await assert.rejects(
        store.createRefreshToken({
          tokenHash: 'rt_orphan',
          familyId: 'f',
          userId: 'nobody',
          createdAt: 0,
          expiresAt: 1,
        }),
        plain(/no existing user/),
      );
      const { userId, tokens } = await seed(store);
      await assert.rejects(store.createRefreshToken(tokens[0]!), plain(/already exists/));
      await assert.rejects(
        store.createUser({
          id: userId,
          username: 'another',
          email: 'another@example.com',
          passwordHash: 'h',
          roles: [],
          createdAt: 0,
        }),
        plain(/id already exists/),
      );
      const key = {
        kid: 'k1',
        alg: 'HS256',
        privateJwk: '{}',
        publicJwk: null,
        createdAt: 1,
        activatesAt: 1,
        retiresAt: null,
      };
      await store.addSigningKey(key);
      await assert.rejects(store.addSigningKey(key), plain(/kid already exists/));
      await store.close();
    });

    test('four pools racing rotations of the same tokens: exactly one rotated each', async () => {
      const schema = freshSchema();
      const stores = await Promise.all(Array.from({ length: 4 }, () => openMigrated(schema)));
      const { tokens, now } = await seed(stores[0]!, 20);
      for (const token of tokens) {
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            stores[i % 4]!.rotateRefreshToken(
              token.tokenHash,
              { ...token, tokenHash: `${token.tokenHash}:${i}` },
              now,
            ),
          ),
        );
        const statuses = results.map((r) => r.status);
        assert.equal(statuses.filter((s) => s === 'rotated').length, 1, statuses.join());
        assert.equal(statuses.filter((s) => s === 'spent').length, 7, statuses.join());
        const winner = statuses.indexOf('rotated');
        assert.equal(
          (await stores[3]!.findRefreshToken(token.tokenHash))?.replacedBy,
          `${token.tokenHash}:${winner}`,
        );
        for (let i = 0; i < 8; i++) {
          const successor = await stores[0]!.findRefreshToken(`${token.tokenHash}:${i}`);
          assert.equal(successor !== null, i === winner);
        }
      }
      await Promise.all(stores.map((s) => s.close()));
    });

    test('four pools registering one username at once: exactly one succeeds', async () => {
      const schema = freshSchema();
      const stores = await Promise.all(Array.from({ length: 4 }, () => openMigrated(schema)));
      for (let round = 0; round < 5; round++) {
        const username = `race_${randomBytes(5).toString('hex')}`;
        const results = await Promise.allSettled(
          Array.from({ length: 12 }, (_, i) =>
            stores[i % 4]!.createUser({
              id: `u_${round}_${i}`,
              username: i % 2 === 0 ? username : username.toUpperCase(),
              email: `${round}.${i}@example.com`,
              passwordHash: 'h',
              roles: [],
              createdAt: Date.now(),
            }),
          ),
        );
        const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        assert.equal(won.length, 1);
        for (const r of results) {
          if (r.status === 'rejected') {
            assert.ok(r.reason instanceof ConflictError, String(r.reason));
            assert.equal(r.reason.field, 'username');
          }
        }
        assert.equal((await stores[1]!.findUserByUsername(username))?.id, won[0]?.id);
      }
      await Promise.all(stores.map((s) => s.close()));
    });

    test('a revocation racing rotations never leaves a token of the family live', async () => {
      const schema = freshSchema();
      const a = await openMigrated(schema);
      const b = await openMigrated(schema);
      for (let round = 0; round < 30; round++) {
        const { userId, familyId, tokens, now } = await seed(a, 2);
        const [first, second] = tokens as [NewRefreshToken, NewRefreshToken];
        // `second` is spent already: its successor must be revoked too.
        await a.rotateRefreshToken(
          second.tokenHash,
          { ...second, tokenHash: `${second.tokenHash}:s` },
          now,
        );
        const next = { ...first, tokenHash: `${first.tokenHash}:next` };
        const revoke =
          round % 2 === 0
            ? () => b.revokeFamily(familyId, now + 1)
            : () => b.revokeUserTokens(userId, now + 1);
        const [rotation] = await Promise.all([
          a.rotateRefreshToken(first.tokenHash, next, now),
          revoke(),
        ]);
        assert.ok(['rotated', 'revoked'].includes(rotation.status), rotation.status);
        const hashes = [first, second, next].map((t) => t.tokenHash);
        hashes.push(`${second.tokenHash}:s`);
        for (const hash of hashes) {
          const token = await a.findRefreshToken(hash);
          if (hash === next.tokenHash && rotation.status !== 'rotated') {
            assert.equal(token, null);
            continue;
          }
          assert.ok(token, hash);
          assert.notEqual(token.revokedAt, null, `round ${round}: ${hash} is live`);
        }
      }
      await a.close();
      await b.close();
    });

    test('a lock held past the statement timeout is StoreUnavailableError; nothing is half done', async () => {
      const schema = freshSchema();
      const store = await openMigrated(schema, { statementTimeout: 200 });
      const { userId, tokens, now } = await seed(store);
      const token = tokens[0]!;
      const holder = await admin.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`SELECT 1 FROM ${table(schema, 'users')} WHERE id = $1 FOR UPDATE`, [
          userId,
        ]);
        await assert.rejects(
          store.rotateRefreshToken(token.tokenHash, { ...token, tokenHash: 'rt_next' }, now),
          (error: unknown) =>
            error instanceof StoreUnavailableError && /SQLSTATE 57014/.test(error.message),
        );
        // Reads do not wait for row locks.
        assert.equal((await store.findRefreshToken(token.tokenHash))?.usedAt, null);
      } finally {
        await holder.query('ROLLBACK');
        holder.release();
      }
      assert.equal(await store.findRefreshToken('rt_next'), null);
      assert.equal(
        (await store.rotateRefreshToken(token.tokenHash, { ...token, tokenHash: 'rt_next' }, now))
          .status,
        'rotated',
      );
      await store.close();
    });

    test('connections killed by the server: the pool replaces them, the errors are StoreUnavailableError', async () => {
      const application = `laissez_kill_${randomBytes(4).toString('hex')}`;
      const background: StoreUnavailableError[] = [];
      const store = await openMigrated(freshSchema(), {
        pool: { max: 4, application_name: application },
        onError: (error) => background.push(error),
      });
      const { userId } = await seed(store);
      // Four connections in the pool, idle.
      await Promise.all(Array.from({ length: 8 }, () => store.findUserById(userId)));
      const killed = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [application],
      );
      assert.ok((killed.rowCount ?? 0) >= 1);
      const deadline = Date.now() + 10_000;
      while (background.length === 0 && Date.now() < deadline) await sleep(10);
      assert.ok(background.length >= 1, 'the pool reported the broken idle connections');
      for (const error of background) {
        assert.ok(error instanceof StoreUnavailableError);
        assert.match(error.message, /keeping a pooled connection failed/);
      }
      // Whatever was not reported yet fails as StoreUnavailableError; then the store works again.
      let ok = 0;
      for (let i = 0; i < 10; i++) {
        try {
          assert.equal((await store.findUserById(userId))?.id, userId);
          ok++;
        } catch (error) {
          assert.ok(error instanceof StoreUnavailableError, String(error));
        }
      }
      assert.ok(ok >= 5, `${ok} of 10 succeeded`);
      await store.close();
    });

    test('an unknown database is StoreUnavailableError with its SQLSTATE', async () => {
      const url = new URL(DATABASE_URL);
      url.pathname = `/${RUN}_no_such_database`;
      const store = openPostgresStore({ connectionString: url.toString() });
      await assert.rejects(
        store.migrate(),
        (error: unknown) =>
          error instanceof StoreUnavailableError && /SQLSTATE 3D000/.test(error.message),
      );
      await store.close();
    });

    test('three processes migrating a fresh schema at once apply each step exactly once', async () => {
      const schema = freshSchema();
      await race([0, 1, 2].map(() => ({ mode: 'migrate' as const, schema })));
      const { rows } = await admin.query(
        `SELECT version FROM ${table(schema, 'schema_migrations')} ORDER BY version`,
      );
      assert.deepEqual(
        rows.map((r) => r.version),
        MIGRATIONS.map((_, i) => i + 1),
      );
    });

    test('three processes rotating the same tokens at the same moment: exactly one wins each', async (t) => {
      // All three start on the same token at the barrier; then the parent goes forward, one
      // worker backward and one from the middle, so that they also meet all along the way.
      const schema = freshSchema();
      const store = await openMigrated(schema);
      const { userId, familyId, tokens, now } = await seed(store, 60);
      const hashes = tokens.map((tk) => tk.tokenHash);
      const [first, ...rest] = hashes;
      const names = ['worker1', 'worker2'];
      const orders = [
        [first!, ...rest.reverse()],
        [first!, ...hashes.slice(30), ...hashes.slice(1, 30)],
      ];
      const mine: PgWorkerOutput['statuses'] = {};
      const outputs = await race(
        names.map((name, i) => ({
          mode: 'rotate' as const,
          schema,
          tokens: orders[i]!,
          familyId,
          userId,
          expiresAt: now + DAY,
          name,
          now,
          pauseMs: 1,
        })),
        async () => {
          for (const token of tokens) {
            const result: RotateResult = await store.rotateRefreshToken(
              token.tokenHash,
              { ...token, tokenHash: `parent:${token.tokenHash}`, createdAt: now },
              now,
            );
            mine[token.tokenHash] = result.status;
            await sleep(1);
          }
        },
      );
      const all: Record<string, PgWorkerOutput['statuses']> = { parent: mine };
      outputs.forEach((output, i) => {
        all[names[i]!] = output.statuses;
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

    test('three processes registering one username at once: exactly one user is created', async () => {
      const schema = freshSchema();
      await (await openMigrated(schema)).close();
      const username = `proc_${randomBytes(5).toString('hex')}`;
      const outputs = await race(
        ['p1', 'p2', 'p3'].map((name) => ({
          mode: 'register' as const,
          schema,
          username,
          attempts: 4,
          name,
        })),
      );
      const created = outputs.flatMap((o) => o.created);
      assert.equal(created.length, 1, JSON.stringify(outputs));
      assert.equal(
        outputs.reduce((sum, o) => sum + o.conflicts, 0),
        11,
      );
      const { rows } = await admin.query(`SELECT id FROM ${table(schema, 'users')}`);
      assert.deepEqual(
        rows.map((r) => r.id),
        created,
      );
    });
  });
}
