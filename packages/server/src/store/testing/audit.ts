// The contract on what administration needs: the audit log (append, list newest first with
// filters and a cursor, delete by age), roles replaced, and users found by a prefix of their
// username or email.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import type { AuditEvent } from '../audit.ts';
import type { Store } from '../types.ts';
import { DAY, rid, type Suite } from './records.ts';

function newEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: rid('ev_'),
    at: Date.now(),
    type: 'login.succeeded',
    actor: rid('u_'),
    subject: rid('u_'),
    ip: '203.0.113.7',
    details: { method: 'password' },
    ...overrides,
  };
}

export function auditTests(suite: Suite): void {
  describe('audit log', () => {
    let store: Store;
    before(() => {
      store = suite.store();
    });

    test('an appended event reads back whole, nulls and nested details included', async () => {
      const subject = rid('u_');
      const full = newEvent({ subject, details: { sid: 'f_1', count: 3, nested: { ok: true } } });
      const bare = newEvent({ subject, at: full.at - 1, actor: 'cli', ip: null, details: null });
      await store.appendAuditEvent(full);
      await store.appendAuditEvent(bare);
      assert.deepEqual(await store.listAuditEvents({ subject, limit: 10 }), [full, bare]);
    });

    test('an id appended twice is an error and the first event stays', async () => {
      const event = newEvent();
      await store.appendAuditEvent(event);
      await assert.rejects(store.appendAuditEvent({ ...event, type: 'forged' }));
      const [found] = await store.listAuditEvents({ subject: event.subject!, limit: 10 });
      assert.equal(found?.type, 'login.succeeded');
    });

    test('newest first, pages by cursor, ties of `at` broken by id, never a repeat', async () => {
      const subject = rid('u_');
      const at = Date.now() - DAY;
      const events = Array.from({ length: 7 }, (_, i) =>
        newEvent({ subject, at: at + Math.floor(i / 2), id: `ev_${i}_${rid('')}` }),
      );
      for (const event of [...events].reverse()) await store.appendAuditEvent(event);
      const seen: string[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await store.listAuditEvents({
          subject,
          limit: 3,
          ...(cursor ? { before: cursor } : {}),
        });
        assert.ok(page.length <= 3);
        seen.push(...page.map((e) => e.id));
        if (page.length < 3) break;
        cursor = page.at(-1)!.id;
      }
      const expected = [...events]
        .sort((a, b) => b.at - a.at || Buffer.compare(Buffer.from(b.id), Buffer.from(a.id)))
        .map((e) => e.id);
      assert.deepEqual(seen, expected);
    });

    test('filters: type, subject, since (inclusive) and until (exclusive), combined', async () => {
      const subject = rid('u_');
      const t = Date.now() - 2 * DAY;
      const a = newEvent({ subject, at: t, type: 'login.failed' });
      const b = newEvent({ subject, at: t + 10, type: 'login.succeeded' });
      const c = newEvent({ subject, at: t + 20, type: 'login.failed' });
      const other = newEvent({ at: t + 10, type: 'login.failed' });
      for (const e of [a, b, c, other]) await store.appendAuditEvent(e);
      const ids = async (q: Parameters<Store['listAuditEvents']>[0]) =>
        (await store.listAuditEvents(q)).map((e) => e.id);
      assert.deepEqual(await ids({ subject, type: 'login.failed', limit: 10 }), [c.id, a.id]);
      assert.deepEqual(await ids({ subject, since: t + 10, limit: 10 }), [c.id, b.id]);
      assert.deepEqual(await ids({ subject, until: t + 10, limit: 10 }), [a.id]);
      assert.deepEqual(await ids({ subject, since: t + 10, until: t + 20, limit: 10 }), [b.id]);
      const typed = await ids({ type: 'login.failed', since: t, until: t + 21, limit: 10_000 });
      for (const id of [a.id, c.id, other.id]) assert.ok(typed.includes(id));
      assert.ok(!typed.includes(b.id));
    });

    test('an unknown cursor, or a limit below one, gives no events', async () => {
      const event = newEvent();
      await store.appendAuditEvent(event);
      assert.deepEqual(await store.listAuditEvents({ before: rid('ev_'), limit: 10 }), []);
      assert.deepEqual(await store.listAuditEvents({ subject: event.subject!, limit: 0 }), []);
      assert.deepEqual(await store.listAuditEvents({ subject: event.subject!, limit: -1 }), []);
    });

    test('deleteAuditEventsBefore removes exactly the older events and says how many', async () => {
      const subject = rid('u_');
      // Far in the past, so that events other tests appended at about now are never touched,
      // and a run against a shared database removes only what is older still.
      const t = 1_000_000 + Math.floor(Math.random() * 1_000_000);
      const old = newEvent({ subject, at: t - 1 });
      const edge = newEvent({ subject, at: t });
      await store.appendAuditEvent(old);
      await store.appendAuditEvent(edge);
      const removed = await store.deleteAuditEventsBefore(t);
      assert.ok(removed >= 1);
      assert.deepEqual(
        (await store.listAuditEvents({ subject, limit: 10 })).map((e) => e.id),
        [edge.id],
      );
    });
  });

  describe('administration of users', () => {
    let store: Store;
    before(() => {
      store = suite.store();
    });

    test('setUserRoles replaces the roles, sets updatedAt, and tells whether the user exists', async () => {
      const user = await suite.createUser({ roles: ['user'] });
      const later = user.createdAt + 1000;
      assert.equal(await store.setUserRoles(user.id, ['user', 'admin'], later), true);
      const found = await store.findUserById(user.id);
      assert.deepEqual(found?.roles, ['user', 'admin']);
      assert.equal(found?.updatedAt, later);
      assert.equal(await store.setUserRoles(user.id, [], later + 1), true);
      assert.deepEqual((await store.findUserById(user.id))?.roles, []);
      assert.equal(await store.setUserRoles(rid('u_'), ['admin'], later), false);
    });

    test('listUsers with a prefix matches the username key or the email, pages by cursor', async () => {
      const tag = randomBytes(6).toString('hex');
      const t = Date.now();
      const first = await suite.createUser({ username: `Pre_${tag}_a`, createdAt: t });
      const second = await suite.createUser({
        username: `Pre_${tag}_b`,
        email: `z${tag}@example.com`,
        createdAt: t + 1,
      });
      const byMail = await suite.createUser({
        username: `Other_${tag}`,
        email: `pre_${tag}@example.com`,
        createdAt: t + 2,
      });
      await suite.createUser({ username: `Nope_${tag}`, createdAt: t + 3 });
      const ids = async (options: Parameters<Store['listUsers']>[0]) =>
        (await store.listUsers(options)).map((u) => u.id);
      // Any case of the prefix finds the same users; a fullwidth one the same usernames (RFC
      // 8265 keys map width; emails are only lower-cased).
      for (const prefix of [`pre_${tag}`, `PRE_${tag.toUpperCase()}`]) {
        assert.deepEqual(
          await ids({ prefix, limit: 10 }),
          [first.id, second.id, byMail.id],
          prefix,
        );
      }
      assert.deepEqual(await ids({ prefix: `ｐｒｅ_${tag}`, limit: 10 }), [first.id, second.id]);
      assert.deepEqual(await ids({ prefix: `pre_${tag}`, limit: 1, after: first.id }), [second.id]);
      assert.deepEqual(await ids({ prefix: `z${tag}`, limit: 10 }), [second.id]);
      assert.deepEqual(await ids({ prefix: `pre_${tag}`, limit: 10, after: rid('u_') }), []);
      // LIKE wildcards are plain characters in a prefix.
      assert.deepEqual(await ids({ prefix: `pre%${tag}`, limit: 10 }), []);
      assert.deepEqual(await ids({ prefix: `pre__${tag}`, limit: 10 }), []);
    });
  });
}
