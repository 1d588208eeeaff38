// `kill -9` of one of three auth server instances in the middle of a registration storm spread
// over them: every registration answered 201 is in the database afterwards (a 201 is only sent
// once the user is committed), nothing half-written is left, the survivors keep serving, and the
// killed instance comes back on the same database.
//
// The instances share a fresh database on the shared PostgreSQL (dropped at the end). Each
// registration comes from a client IP of its own (X-Forwarded-For, LAISSEZ_TRUST_PROXY=on), so
// the per-IP registration limit never interferes.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Account,
  account,
  call,
  describeScale,
  type Instance,
  logIn,
  register,
  type ScratchDatabase,
  scratchDatabase,
  startInstance,
  startTrio,
  stopAll,
} from './helpers.ts';

interface Attempt {
  user: Account;
  instance: string;
  /** The HTTP status, or undefined when no answer came (the instance died meanwhile). */
  status?: number;
  error?: string;
  afterKill: boolean;
}

describeScale('kill -9 of an instance during a registration storm', { timeout: 180_000 }, () => {
  let db: ScratchDatabase | undefined;
  const instances: Instance[] = [];
  let A: Instance;
  let B: Instance;
  let C: Instance;
  let restarted: Instance | undefined;

  before(async () => {
    db = await scratchDatabase();
    const settings = { DATABASE_URL: db.url };
    [A, B, C] = await startTrio(settings, instances);
  });

  after(async () => {
    await stopAll([...instances, restarted]);
    await db?.drop();
  });

  test('every 201 is in the database; the survivors keep serving; the killed one comes back', async (t) => {
    const WORKERS = 8;
    const KILL_AFTER = 20; // registrations answered 201 before the kill
    const AFTER_KILL = 24; // attempts on the survivors after it
    const attempts: Attempt[] = [];
    const inFlight = new Map<Instance, number>([
      [A, 0],
      [B, 0],
      [C, 0],
    ]);
    let created = 0;
    let killed = false;
    let afterKill = 0;
    let turn = 0;

    const worker = async () => {
      while (!killed || afterKill < AFTER_KILL) {
        // Round robin over the three, then (the load balancer noticed) over the survivors.
        const targets = killed ? [A, C] : [A, B, C];
        const instance = targets[turn++ % targets.length]!;
        const attempt: Attempt = {
          user: account('storm'),
          instance: instance.name,
          afterKill: killed,
        };
        if (killed) afterKill++;
        attempts.push(attempt);
        inFlight.set(instance, inFlight.get(instance)! + 1);
        try {
          const reply = await call(instance.url, '/auth/register', { json: attempt.user });
          attempt.status = reply.status;
          if (reply.status === 201) created++;
        } catch (error) {
          attempt.error = String((error as Error).cause ?? error);
        } finally {
          inFlight.set(instance, inFlight.get(instance)! - 1);
        }
      }
    };

    // The killer: once enough users exist, it waits for a registration in flight on B, then
    // kills B with SIGKILL: no clean-up, no finishing the request.
    const killer = async () => {
      while (created < KILL_AFTER || inFlight.get(B)! === 0) await sleep(5);
      killed = true;
      await B.kill();
    };

    const workers = Array.from({ length: WORKERS }, () => worker());
    await Promise.race([
      killer(),
      Promise.all(workers).then(() => {
        throw new Error('the storm ended before the kill');
      }),
    ]);
    await Promise.all(workers);
    assert.ok(!B.alive(), 'B was killed');
    assert.equal(B.child.signalCode, 'SIGKILL');

    const answered = attempts.filter((a) => a.status !== undefined);
    const unanswered = attempts.filter((a) => a.status === undefined);
    const ok = answered.filter((a) => a.status === 201);
    t.diagnostic(
      `${attempts.length} registrations: ${ok.length} × 201, ${unanswered.length} without an ` +
        `answer (in flight on B when it was killed), ${ok.filter((a) => a.afterKill).length} × 201 after the kill`,
    );
    // Every answer was a 201: no 500 or 503 because an instance died.
    assert.deepEqual(
      answered.filter((a) => a.status !== 201).map((a) => `${a.instance}: ${a.status}`),
      [],
    );
    // Only requests to the killed instance went unanswered.
    assert.deepEqual(
      unanswered.filter((a) => a.instance !== 'B').map((a) => `${a.instance}: ${a.error}`),
      [],
    );

    const rows = await db!.query<{ username: string; password_hash: string }>(
      'SELECT username, password_hash FROM users',
    );
    const stored = new Map(rows.rows.map((r) => [r.username, r.password_hash]));
    // No 201 lost.
    const lost = ok.filter((a) => !stored.has(a.user.username)).map((a) => a.user.username);
    assert.deepEqual(lost, [], 'registrations answered 201 but missing from the database');
    // Nothing in the database that was not asked for, and every row is whole.
    const sent = new Set(attempts.map((a) => a.user.username));
    for (const [username, hash] of stored) {
      assert.ok(sent.has(username), `an unexpected user ${username}`);
      assert.match(hash, /^\$argon2id\$/);
    }
    // A registration cut off by the kill is either all there or not there at all: those that
    // made it log in (on a survivor) with their password.
    const landed = unanswered.filter((a) => stored.has(a.user.username));
    t.diagnostic(`${landed.length} of the unanswered registrations were committed before the kill`);
    for (const attempt of landed) await logIn(A.url, attempt.user);

    // The survivors kept registering after the kill, and users registered through B before it
    // log in on them.
    assert.ok(ok.some((a) => a.afterKill && a.instance === 'A'));
    assert.ok(ok.some((a) => a.afterKill && a.instance === 'C'));
    const throughB = ok.filter((a) => a.instance === 'B');
    assert.ok(throughB.length > 0, 'B answered some registrations before it was killed');
    for (const attempt of throughB.slice(0, 3)) await logIn(C.url, attempt.user);
    assert.ok(A.alive() && C.alive());

    // The killed instance is started again on the same database and serves at once.
    restarted = await startInstance('B2', { DATABASE_URL: db!.url });
    const late = account('after');
    await register(restarted.url, late);
    await logIn(A.url, late);
    const sample = ok[0]!.user;
    assert.equal(
      (await call(restarted.url, '/auth/login', { json: credentialsOf(sample) })).status,
      200,
    );
  });
});

function credentialsOf(user: Account) {
  return { username: user.username, password: user.password };
}
