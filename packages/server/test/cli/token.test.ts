// `laissez token decode|verify|sign`, run as a real process: exit codes, stdout and stderr.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { laissez, type Result } from '../helpers/processes.ts';

function assertNoLeak(result: Result, ...secrets: string[]): void {
  for (const secret of secrets) {
    assert.ok(!result.stdout.includes(secret), `stdout leaks a secret: ${result.stdout}`);
    assert.ok(!result.stderr.includes(secret), `stderr leaks a secret: ${result.stderr}`);
  }
}

// The token of the seed tutorial: HS256 over {"name":"Odin"} with the secret "theodinproject".
const ODIN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiT2RpbiJ9.FtLFoA9kG8B_gvKz0nEzx4uDYAlsgWhxTGEUfinYcf8';
const ODIN_SECRET = 'theodinproject';
// 32 bytes: strong enough for HS256.
const SECRET = 'cli-test-secret-0123456789abcdef';
const WRONG_SECRET = 'this-is-not-the-right-secret-at-all-0123';

describe('the seed tutorial token', () => {
  test('verifies with --allow-weak-key --no-exp, warning that the key is weak', async () => {
    const result = await laissez([
      'token',
      'verify',
      ODIN,
      '--secret',
      ODIN_SECRET,
      '--allow-weak-key',
      '--no-exp',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^payload: \{"name":"Odin"\}$/m);
    assert.match(result.stdout, /^header: +\{"alg":"HS256","typ":"JWT"\}$/m);
    assert.match(result.stderr, /warning: .*weak/);
    assert.match(result.stderr, /112 bits/);
    assert.match(result.stderr, /256 needed/);
    assertNoLeak(result, ODIN_SECRET);
  });

  test('is rejected for the reasons the tutorial skips over', async () => {
    const [weak, noExp, wrong, wrongJson] = await Promise.all([
      laissez(['token', 'verify', ODIN, '--secret', ODIN_SECRET]),
      laissez(['token', 'verify', ODIN, '--secret', ODIN_SECRET, '--allow-weak-key']),
      laissez(['token', 'verify', ODIN, '--secret', WRONG_SECRET, '--no-exp']),
      laissez(['token', 'verify', ODIN, '--secret', WRONG_SECRET, '--no-exp', '--json']),
    ]);

    assert.equal(weak.code, 1);
    assert.equal(weak.stdout, '');
    assert.match(weak.stderr, /^ERR_KEY_WEAK: .*112 bits/m);
    assert.match(weak.stderr, /--allow-weak-key/);
    // The command line's words, not the library's option names.
    assert.doesNotMatch(weak.stderr, /allowWeakKey/);

    assert.equal(noExp.code, 1);
    assert.equal(noExp.stdout, '');
    assert.match(noExp.stderr, /^ERR_JWT_CLAIM_MISSING: .*"exp"/m);
    assert.match(noExp.stderr, /--no-exp/);
    assert.doesNotMatch(noExp.stderr, /requireExp/);

    assert.equal(wrong.code, 1);
    assert.equal(wrong.stdout, '');
    assert.match(wrong.stderr, /^ERR_JWS_SIGNATURE_INVALID: /m);
    assert.doesNotMatch(wrong.stderr, /warning/, 'a 40-byte secret is not weak');

    assert.equal(wrongJson.code, 1);
    const body = JSON.parse(wrongJson.stdout);
    assert.deepEqual(Object.keys(body), ['valid', 'code', 'message']);
    assert.equal(body.valid, false);
    assert.equal(body.code, 'ERR_JWS_SIGNATURE_INVALID');
    assert.equal(typeof body.message, 'string');

    for (const result of [weak, noExp]) assertNoLeak(result, ODIN_SECRET);
    for (const result of [wrong, wrongJson]) assertNoLeak(result, WRONG_SECRET);
  });

  test('verify --json prints {valid: true, header, payload}', async () => {
    const result = await laissez([
      'token',
      'verify',
      ODIN,
      '--secret',
      ODIN_SECRET,
      '--allow-weak-key',
      '--no-exp',
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      valid: true,
      header: { alg: 'HS256', typ: 'JWT' },
      payload: { name: 'Odin' },
    });
    assert.match(result.stderr, /112 bits/);
  });
});

describe('token decode', () => {
  test('shows header and payload, marked UNVERIFIED, from an argument or stdin', async () => {
    const [text, json, stdin, bearer] = await Promise.all([
      laissez(['token', 'decode', ODIN]),
      laissez(['token', 'decode', ODIN, '--json']),
      laissez(['token', 'decode', '-', '--json'], { input: `${ODIN}\n` }),
      laissez(['token', 'decode', '-'], { input: `Bearer ${ODIN}` }),
    ]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /UNVERIFIED/);
    assert.match(text.stdout, /^header: +\{"alg":"HS256","typ":"JWT"\}$/m);
    assert.match(text.stdout, /^payload: \{"name":"Odin"\}$/m);
    assert.match(text.stdout, /^exp: .*never expires/m);
    assert.ok(!text.stdout.includes('\u001b['), 'no colour when stdout is not a terminal');

    const expected = {
      verified: false,
      header: { alg: 'HS256', typ: 'JWT' },
      payload: { name: 'Odin' },
      times: {},
    };
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), expected);
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.deepEqual(JSON.parse(stdin.stdout), expected);
    assert.equal(bearer.code, 0, bearer.stderr);
    assert.match(bearer.stdout, /^payload: \{"name":"Odin"\}$/m);
  });

  test('--json gives iat, nbf and exp as ISO dates, and whether the token has expired', async () => {
    const token = (offset: number) =>
      `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(
        JSON.stringify({
          iat: 1_700_000_000,
          nbf: 1_700_000_000,
          exp: Math.floor(Date.now() / 1000) + offset,
        }),
      ).toString('base64url')}.${'A'.repeat(43)}`;
    const [live, dead] = await Promise.all([
      laissez(['token', 'decode', token(3600), '--json']),
      laissez(['token', 'decode', token(-3600), '--json']),
    ]);
    const a = JSON.parse(live.stdout);
    assert.equal(a.times.iat, '2023-11-14T22:13:20.000Z');
    assert.equal(a.times.nbf, '2023-11-14T22:13:20.000Z');
    assert.equal(a.times.exp, new Date(a.payload.exp * 1000).toISOString());
    assert.equal(a.expired, false);
    assert.equal(JSON.parse(dead.stdout).expired, true);
  });

  test('shows times as ISO dates and whether the token has expired', async () => {
    const signed = await laissez([
      'token',
      'sign',
      '--secret',
      SECRET,
      '--claims',
      '{"iat":999999000,"exp":1000000000,"nbf":999999000}',
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    const token = signed.stdout.trim();
    const [decoded, verified] = await Promise.all([
      laissez(['token', 'decode', token]),
      laissez(['token', 'verify', token, '--secret', SECRET]),
    ]);
    assert.equal(decoded.code, 0, decoded.stderr);
    assert.match(decoded.stdout, /^exp: +2001-09-09T01:46:40\.000Z \(EXPIRED .* ago\)$/m);
    assert.match(decoded.stdout, /^iat: +2001-09-09T01:30:00\.000Z/m);
    assert.match(decoded.stdout, /^nbf: +2001-09-09T01:30:00\.000Z \(valid since/m);
    assert.equal(verified.code, 1);
    assert.match(verified.stderr, /^ERR_JWT_EXPIRED: /m);
  });

  test('a malformed token exits 1 with a code; a missing one is a usage error', async () => {
    const [malformed, missing, emptyStdin] = await Promise.all([
      laissez(['token', 'decode', 'not.a-token']),
      laissez(['token', 'decode']),
      laissez(['token', 'decode', '-'], { input: '  \n' }),
    ]);
    assert.equal(malformed.code, 1);
    assert.match(malformed.stderr, /^ERR_JWT_MALFORMED: /m);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing token/);
    assert.match(missing.stderr, /'-'/);
    assert.equal(emptyStdin.code, 2);
    assert.match(emptyStdin.stderr, /standard input held no token/);
  });
});

describe('token sign → token verify', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'laissez-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('HS256 with a 32-byte secret from --secret, --secret-file and LAISSEZ_SECRET', async () => {
    const secretFile = join(dir, 'hs256.secret');
    await writeFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
    const claims = ['--sub', 'user_1', '--iss', 'https://auth.example', '--aud', 'api'];
    const [fromFlag, fromFile, fromEnv] = await Promise.all([
      laissez(['token', 'sign', '--secret', SECRET, '--claims', '{"role":"admin"}', ...claims]),
      laissez(['token', 'sign', '--secret-file', secretFile, '--expires-in', '1h', ...claims]),
      laissez(['token', 'sign', '--alg', 'HS256', '--jti', ...claims], {
        env: { LAISSEZ_SECRET: SECRET },
      }),
    ]);
    for (const result of [fromFlag, fromFile, fromEnv]) {
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      assert.equal(result.stderr, '', 'a 32-byte secret draws no warning');
    }
    const tokens = [fromFlag, fromFile, fromEnv].map((r) => r.stdout.trim());
    const expect = ['--iss', 'https://auth.example', '--aud', 'api', '--sub', 'user_1'];
    const verified = await Promise.all([
      laissez(['token', 'verify', tokens[0]!, '--secret', SECRET, '--json', ...expect]),
      laissez(['token', 'verify', tokens[1]!, '--secret-file', secretFile, '--json', ...expect]),
      laissez(['token', 'verify', '-', '--json', '--require', 'jti,iat', ...expect], {
        input: tokens[2]!,
        env: { LAISSEZ_SECRET: SECRET },
      }),
      laissez(['token', 'verify', tokens[0]!, '--secret', SECRET, ...expect]),
    ]);
    const bodies = verified.slice(0, 3).map((result) => {
      assert.equal(result.code, 0, result.stderr);
      const body = JSON.parse(result.stdout);
      assert.deepEqual(Object.keys(body), ['valid', 'header', 'payload']);
      assert.equal(body.valid, true);
      assert.deepEqual(body.header, { alg: 'HS256', typ: 'JWT' });
      assert.equal(body.payload.sub, 'user_1');
      assert.equal(body.payload.iss, 'https://auth.example');
      assert.equal(body.payload.aud, 'api');
      return body.payload;
    });
    assert.equal(bodies[0].role, 'admin');
    assert.equal(bodies[0].exp - bodies[0].iat, 900, 'the default lifetime is 15m');
    assert.equal(bodies[1].exp - bodies[1].iat, 3600);
    assert.equal(typeof bodies[2].jti, 'string');
    const text = verified[3]!;
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^VALID/);
    assert.match(text.stdout, /"role":"admin"/);
    assert.match(text.stdout, /^exp: .*expires in 1[45]m/m);
  });

  test('claim checks reject with their codes', async () => {
    const now = Math.floor(Date.now() / 1000);
    const signed = await laissez([
      'token',
      'sign',
      '--secret',
      SECRET,
      '--iss',
      'https://auth.example',
      '--sub',
      'user_1',
      '--typ',
      'at+jwt',
      '--claims',
      JSON.stringify({ iat: now - 7200 }),
      '--expires-in',
      '3h',
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    const token = signed.stdout.trim();
    const verify = (...more: string[]) =>
      laissez(['token', 'verify', token, '--secret', SECRET, ...more]);
    const [ok, iss, aud, sub, typ, required, maxAge, tolerated, mismatch] = await Promise.all([
      verify('--typ', 'at+jwt', '--max-age', '3h'),
      verify('--iss', 'https://other.example'),
      verify('--aud', 'api'),
      verify('--sub', 'user_2', '--json'),
      verify('--typ', 'JWT'),
      verify('--require', 'role'),
      verify('--max-age', '1h'),
      verify('--max-age', '1h', '--clock-tolerance', '2h'),
      verify('--alg', 'ES256'),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const rejected: Array<[Result, RegExp]> = [
      [iss, /^ERR_JWT_CLAIM_INVALID: .*"iss"/m],
      [aud, /^ERR_JWT_CLAIM_MISSING: .*"aud"/m],
      [typ, /^ERR_JWT_CLAIM_INVALID: .*typ/m],
      [required, /^ERR_JWT_CLAIM_MISSING: .*"role"/m],
      [maxAge, /^ERR_JWT_EXPIRED: /m],
      [mismatch, /^ERR_KEY_ALG_MISMATCH: /m],
    ];
    for (const [result, pattern] of rejected) {
      assert.equal(result.code, 1, result.stdout);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, pattern);
      assertNoLeak(result, SECRET);
    }
    assert.equal(sub.code, 1);
    assert.deepEqual(JSON.parse(sub.stdout), {
      valid: false,
      code: 'ERR_JWT_CLAIM_INVALID',
      message: JSON.parse(sub.stdout).message,
      claim: 'sub',
    });
    assert.equal(tolerated.code, 0, tolerated.stderr);
  });

  test('sign --allow-weak-key warns; without it the key is refused', async () => {
    const [allowed, refused] = await Promise.all([
      laissez(['token', 'sign', '--secret', ODIN_SECRET, '--allow-weak-key', '--no-exp']),
      laissez(['token', 'sign', '--secret', ODIN_SECRET, '--alg', 'HS512']),
    ]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stderr, /weak: 112 bits, 256 needed/);
    const decoded = await laissez(['token', 'decode', allowed.stdout.trim(), '--json']);
    assert.equal(JSON.parse(decoded.stdout).payload.exp, undefined);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^ERR_KEY_WEAK: .*512/m);
    assertNoLeak(allowed, ODIN_SECRET);
    assertNoLeak(refused, ODIN_SECRET);
  });
});

describe('usage errors exit 2 and say how to fix them', () => {
  test('unknown flags, missing keys, bad values, never echoing a secret', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['token', 'verify', ODIN, '--secrett', SECRET], /unknown option '--secrett'.*'--secret'/],
      [['token', 'verify', ODIN, '--frobnicate'], /unknown option '--frobnicate'/],
      [['token', 'verify', ODIN], /missing key: pass --secret .*--key FILE/],
      [['token', 'sign', '--alg', 'HS256'], /missing key: pass --secret .*--key FILE/],
      [['token', 'sign', '--secret', SECRET, '--expires-in', '15 parsecs'], /--expires-in must be/],
      [['token', 'sign', '--secret', SECRET, '--claims', '{"role":'], /--claims is not valid JSON/],
      [
        ['token', 'sign', '--secret', SECRET, '--claims', '["a"]'],
        /--claims must be a JSON object/,
      ],
      [['token', 'sign', '--secret', SECRET, '--claims', '{"sub":"a"}', '--sub', 'b'], /"sub"/],
      [['token', 'sign', '--secret', SECRET, '--alg', 'none'], /none is never accepted/],
      [['token', 'sign', '--secret', SECRET, '--alg', 'hs256'], /did you mean HS256/],
      [['token', 'sign', '--secret', SECRET, '--no-exp', '--expires-in', '1h'], /--no-exp/],
      [['token', 'sign', SECRET], /unexpected argument/],
      [['token', 'sign', '--secret'], /--secret needs a value/],
      [['token', 'verify', ODIN, '--secret', SECRET, '--key', 'k.json'], /cannot be combined/],
      [['token', 'verify', ODIN, '--secret', SECRET, '--max-age', 'soon'], /--max-age must be/],
      [['token', 'verify', ODIN, '--secret', SECRET, '--require', ','], /--require needs/],
      [['token', 'verify', ODIN, '--key', '/no/such/key.pem'], /cannot be read: no such file/],
      [['token', 'verify', ODIN, ODIN, '--secret', SECRET], /too many arguments/],
      [['token', 'verify', '--secret', SECRET], /missing token/],
      [['token', 'frobnicate'], /unknown subcommand 'frobnicate'/],
      [['tokn'], /unknown command 'tokn'; did you mean 'token'/],
      [['token'], /Subcommands:/],
      [[], /Commands:/],
    ];
    const results = await Promise.all(cases.map(([args]) => laissez(args)));
    results.forEach((result, i) => {
      const [args, pattern] = cases[i]!;
      const label = `laissez ${args.join(' ')}`;
      assert.equal(result.code, 2, `${label}: ${result.stderr}`);
      assert.equal(result.stdout, '', label);
      assert.match(result.stderr, pattern, label);
      assertNoLeak(result, SECRET);
    });
    // Every usage error points at the help of the command it came from.
    assert.match(results[0]!.stderr, /Run 'laissez token verify --help'/);
    assert.match(results[4]!.stderr, /Run 'laissez token sign --help'/);
  });

  test('--help on every level, and --version', async () => {
    const [top, group, verify, sign, decode, short, version] = await Promise.all([
      laissez(['--help']),
      laissez(['token', '--help']),
      laissez(['token', 'verify', '--help']),
      laissez(['token', 'sign', '--secret', SECRET, '--help']),
      laissez(['token', 'decode', '-h']),
      laissez(['token', 'verify', '--bogus', '-h']),
      laissez(['--version']),
    ]);
    for (const result of [top, group, verify, sign, decode, short, version]) {
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
    }
    assert.match(top.stdout, /token/);
    assert.match(top.stdout, /keys/);
    assert.match(group.stdout, /decode/);
    assert.match(group.stdout, /verify/);
    assert.match(group.stdout, /sign/);
    assert.match(verify.stdout, /^Usage: laissez token verify/);
    assert.match(verify.stdout, /--clock-tolerance/);
    assert.match(verify.stdout, /shell history/);
    assert.match(sign.stdout, /--expires-in/);
    assert.match(decode.stdout, /UNVERIFIED|without checking/);
    assert.equal(short.stdout, verify.stdout);
    const { version: expected } = (
      await import('../../../../package.json', { with: { type: 'json' } })
    ).default;
    assert.equal(version.stdout.trim(), `laissez ${expected}`);
  });
});
