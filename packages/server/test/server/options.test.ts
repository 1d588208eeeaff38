// The server's options come from one table (src/server/settings.ts) and one resolver: the library
// refuses what the command line refuses, unknown names included; the docs' settings table and
// `laissez serve --help` list exactly the table's rows.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { COMMAND_LINE_SETTINGS, loadConfig, settingName } from '../../src/server/config.ts';
import { createAuthServer } from '../../src/server/index.ts';
import { OPTION_NAMES, resolveOptions } from '../../src/server/options.ts';
import { SETTINGS } from '../../src/server/settings.ts';
import { laissez } from '../helpers/processes.ts';

const SERVER = fileURLToPath(new URL('../../src/server/index.ts', import.meta.url));

/** Calls createAuthServer from a plain JavaScript module (no types to catch anything). */
async function fromPlainJs(options: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'laissez-options-'));
  const program = `
    import { createAuthServer } from ${JSON.stringify(SERVER)};
    try {
      const app = await createAuthServer({ issuer: 'http://localhost:3000', dataDir: ${JSON.stringify(join(dir, 'data'))}, logger: false, ...${options} });
      await app.close();
      console.log('accepted');
    } catch (error) {
      console.log(error.name + ': ' + error.message);
    }`;
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--input-type=module',
      '--eval',
      program,
    ]);
    assert.equal(existsSync(join(dir, 'data')), false, 'nothing is created for refused options');
    return stdout.trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('createAuthServer checks its options as laissez serve does', () => {
  test('a misspelt option name is refused with the nearest name, from plain JavaScript', async () => {
    assert.equal(
      await fromPlainJs('{ acessTtl: 60 }'),
      'TypeError: createAuthServer: unknown option "acessTtl"; did you mean "accessTtl"?',
    );
  });

  test('a refresh lifetime not longer than the access lifetime is refused, from plain JavaScript', async () => {
    assert.match(
      await fromPlainJs('{ accessTtl: 3600, refreshTtl: 60 }'),
      /^TypeError: createAuthServer: refreshTtl \(s\) must be longer than accessTtl \(s\)/,
    );
    // The command line says the same with its own names.
    assert.throws(
      () => loadConfig({ 'access-ttl': '1h', 'refresh-ttl': '1m' }, {}),
      /--refresh-ttl \(1m\) must be longer than --access-ttl \(1h\)/,
    );
  });

  test('values of the wrong type or out of range name the option', async () => {
    for (const [options, message] of [
      [{ accessTtl: '15m' }, /accessTtl must be a whole number of s \(got "15m"\)/],
      [{ alg: 'none' }, /alg must be one of HS256, EdDSA, ES256, RS256/],
      [{ issuer: 'not a url' }, /issuer must be a URL/],
      [{ allowedOrigins: ['https://app.example/path'] }, /allowedOrigins entries must be origins/],
      [{ databaseUrl: 'mysql://db' }, /databaseUrl must be a postgres:\/\/ URL/],
      [{ breachedPasswords: { url: 'https://x/range', timeout: 60_000 } }, /at most 30000 ms/],
      [
        { breachedPasswords: { url: 'https://x/range', timout: 1 } },
        /did you mean "breachedPasswords.timeout"/,
      ],
      [{ https: { cert: 'x' } }, /https.cert and https.key go together/],
      [{ logger: { level: 'loud' } }, /logger must be/],
      [{ bodyLimit: 0 }, /bodyLimit must be at least 1/],
    ] as Array<[Record<string, unknown>, RegExp]>) {
      assert.throws(
        () => resolveOptions({ issuer: 'http://localhost:3000', ...options }),
        (e) => {
          assert.ok(e instanceof TypeError, String(e));
          assert.match(e.message, message);
          return true;
        },
      );
    }
    // A secret is never quoted back.
    assert.throws(
      () => resolveOptions({ issuer: 'http://a', databaseUrl: 'mysql://u:hunter2@db' }),
      (e: Error) => !e.message.includes('hunter2'),
    );
  });

  test('the WebAuthn RP ID and origins: derived from the public URL, checked together', () => {
    const derived = resolveOptions({
      issuer: 'http://localhost:3000',
      publicUrl: 'https://auth.example.com/base',
    });
    assert.equal(derived.rpId, 'auth.example.com');
    assert.deepEqual(derived.rpOrigins, ['https://auth.example.com']);
    assert.ok(Object.isFrozen(derived.rpOrigins));
    const shared = resolveOptions({
      issuer: 'https://auth.example.com',
      rpId: 'example.com',
      rpOrigins: ['https://app.example.com', 'https://example.com'],
    });
    assert.equal(shared.rpId, 'example.com');
    // An origin outside the RP ID could never use a passkey bound to it (WebAuthn §5.1.3).
    assert.throws(
      () =>
        resolveOptions({
          issuer: 'https://auth.example.com',
          rpId: 'example.com',
          rpOrigins: ['https://example.org'],
        }),
      /rpOrigins must be within rpId \(example.com\): https:\/\/example.org is not/,
    );
    for (const rpId of ['https://example.com', 'Example.com', '127.0.0.1', 'example.com:443', '']) {
      assert.throws(
        () => resolveOptions({ issuer: 'https://example.com', rpId }),
        /rpId must be a domain/,
        rpId,
      );
    }
    assert.throws(
      () => resolveOptions({ issuer: 'https://example.com', rpOrigins: ['https://example.com/'] }),
      /rpOrigins entries must be origins/,
    );
  });

  test('the resolved options are complete and frozen', async () => {
    const resolved = resolveOptions({ issuer: 'http://localhost:3000' });
    assert.ok(Object.isFrozen(resolved));
    assert.ok(Object.isFrozen(resolved.allowedOrigins));
    assert.equal(resolved.accessTtl, 900);
    assert.equal(resolved.refreshTtl, 30 * 24 * 3600);
    assert.equal(resolved.keyReloadInterval, 30_000);
    assert.equal(resolved.keyPublishDelay, 300);
    assert.equal(resolved.headersTimeout, 10_000);
    assert.equal(resolved.maxConnectionsPerIp, 128);
    assert.deepEqual(resolved.logger, { level: 'info' });
    assert.equal(resolved.dataDir, './data');
    const app = await createAuthServer({
      issuer: 'http://localhost:3000',
      dataDir: mkdtempSync(join(tmpdir(), 'laissez-options-')),
      logger: false,
    });
    await app.close();
  });

  test('every option has its row in the table, and every row an option or a flag', () => {
    const options = new Set(SETTINGS.map((row) => row.option.split('.')[0]));
    for (const name of OPTION_NAMES) assert.ok(options.has(name), name);
    for (const name of options) {
      assert.ok(OPTION_NAMES.includes(name as string) || ['port', 'host'].includes(name as string));
    }
  });
});

describe('the settings table is what the docs and --help show', () => {
  test("docs/server.md's Configuration table has the table's rows: flag, variable, default", () => {
    const docs = readFileSync(new URL('../../../../docs/server.md', import.meta.url), 'utf8');
    const section = docs.slice(docs.indexOf('## Configuration'));
    const rows = section
      .split('\n')
      .filter((line) => /^\| (`--|—)/.test(line))
      .map((line) =>
        line
          .split(' | ')
          .slice(0, 3)
          .map((cell) => cell.replace(/^\| /, '')),
      );
    const cell = (text: string | undefined) => (text ? `\`${text}\`` : '—');
    assert.deepEqual(
      rows,
      COMMAND_LINE_SETTINGS.map((row) => [
        cell(row.flag && `--${row.flag}`),
        cell(row.env),
        cell(row.default),
      ]),
    );
  });

  test('laissez serve --help lists every row with its default', async () => {
    const { code, stdout } = await laissez(['serve', '--help']);
    assert.equal(code, 0);
    for (const row of COMMAND_LINE_SETTINGS) {
      const line = stdout.split('\n').find((l) => l.trimStart().startsWith(`${settingName(row)} `));
      assert.ok(line, settingName(row));
      if (row.default) assert.ok(line.includes(`(default ${row.default})`), line);
    }
  });
});
