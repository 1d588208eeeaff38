// `laissez token decode|verify|sign`.

import type { Algorithm, SignerOptions, VerifierOptions } from '@laissez/jwt';
import { createSigner, createVerifier, decodeUnverified } from '@laissez/jwt';
import {
  defaultAlgorithms,
  KEY_FLAGS_HELP,
  KEY_OPTIONS,
  keySource,
  readToken,
  warnIfWeak,
} from './inputs.ts';
import {
  algorithmsFlag,
  type Command,
  type CommandGroup,
  type Context,
  colourEnabled,
  durationFlag,
  EXIT,
  expectPositionals,
  isJwtError,
  jwtErrorJson,
  listFlag,
  type Paint,
  painter,
  parseCommandLine,
  printJwtError,
  UsageError,
  writeJson,
  writeOut,
} from './io.ts';

// --- shared display ---------------------------------------------------------------------------

// A JavaScript Date holds at most 8.64e15 ms; beyond that a "time" is not one.
const MAX_NUMERIC_DATE = 8.64e12;

function span(seconds: number): string {
  const s = Math.round(Math.abs(seconds));
  if (s < 60) return `${s}s`;
  const units: Array<[string, number]> = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [unit, size] of units) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/** The `iat`, `exp` and `nbf` lines: the ISO date and where it stands against the clock. */
/** `times` (ISO dates of iat, nbf, exp) and `expired`, for --json. */
function timesJson(payload: Record<string, unknown>, nowMs: number) {
  const times: Record<string, string> = {};
  for (const claim of ['iat', 'nbf', 'exp']) {
    const value = payload[claim];
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 8.64e12)
      times[claim] = new Date(value * 1000).toISOString();
  }
  const exp = payload['exp'];
  return {
    times,
    ...(typeof exp === 'number' && times['exp'] ? { expired: exp * 1000 <= nowMs } : {}),
  };
}

function timeLines(payload: Record<string, unknown>, nowMs: number, paint: Paint): string[] {
  const now = nowMs / 1000;
  const lines: string[] = [];
  for (const claim of ['iat', 'nbf', 'exp'] as const) {
    const value = payload[claim];
    if (value === undefined) {
      if (claim === 'exp')
        lines.push(`exp:     ${paint('yellow', 'none: the token never expires')}`);
      continue;
    }
    if (
      typeof value !== 'number' ||
      !Number.isFinite(value) ||
      Math.abs(value) > MAX_NUMERIC_DATE
    ) {
      lines.push(`${claim}:     ${paint('red', 'not a NumericDate (seconds since 1970)')}`);
      continue;
    }
    const iso = new Date(value * 1000).toISOString();
    const delta = value - now;
    let note: string;
    if (claim === 'exp') {
      note =
        delta <= 0
          ? paint('red', `EXPIRED ${span(delta)} ago`)
          : paint('green', `not expired; expires in ${span(delta)}`);
    } else if (claim === 'nbf') {
      note =
        delta > 0
          ? paint('red', `NOT YET VALID; valid in ${span(delta)}`)
          : `valid since ${span(delta)} ago`;
    } else {
      note = delta > 0 ? paint('red', `in the future by ${span(delta)}`) : `${span(delta)} ago`;
    }
    lines.push(`${claim}:     ${iso} (${note})`);
  }
  return lines;
}

function describe(
  status: string,
  token: { header: Record<string, unknown>; payload: Record<string, unknown> },
  context: Context,
): string {
  const paint = painter(colourEnabled(context.io.stdout, context.io.env));
  return [
    status,
    `header:  ${JSON.stringify(token.header)}`,
    `payload: ${JSON.stringify(token.payload)}`,
    ...timeLines(token.payload, context.io.now(), paint),
  ].join('\n');
}

function fail(error: unknown, context: Context, json: boolean): number {
  if (isJwtError(error)) {
    if (json) writeJson(context.io, { valid: false, ...jwtErrorJson(error) });
    else printJwtError(context.io, error);
    return EXIT.REJECTED;
  }
  // The library throws TypeError for options it cannot use: on the command line, a bad value.
  if (error instanceof TypeError) throw new UsageError(error.message);
  throw error;
}

// --- decode -----------------------------------------------------------------------------------

const decode: Command = {
  summary: "show a token's header and payload WITHOUT checking its signature",
  help: `Usage: laissez token decode <token | -> [--json]

Shows the header and the payload of a JWT without checking the signature or the claims: anyone
could have written what it shows. Use 'laissez token verify' to decide whether to trust a token.
The times iat, nbf and exp are also shown as ISO dates, with whether the token has expired.

Arguments:
  <token>   the compact JWT; '-' reads it from standard input. A 'Bearer ' prefix is removed.

Options:
  --json    print {"verified": false, "header": {...}, "payload": {...}, "times": {...},
            "expired": true|false}: times holds iat, nbf and exp as ISO dates (those present
            as NumericDates); expired is present when exp is
  -h, --help

Exit codes: 0 shown, 1 not a well-formed JWT (CODE: message on stderr), 2 usage error.

Examples:
  laissez token decode eyJhbGciOi...
  pbpaste | laissez token decode - --json`,
  async run(args, context) {
    const { values, positionals } = parseCommandLine(args, { json: { type: 'boolean' } });
    const token = await readToken(positionals, context.io);
    let decoded: ReturnType<typeof decodeUnverified>;
    try {
      decoded = decodeUnverified(token);
    } catch (error) {
      return fail(error, context, false);
    }
    if (values.json) {
      writeJson(context.io, {
        verified: false,
        header: decoded.header,
        payload: decoded.payload,
        ...timesJson(decoded.payload, context.io.now()),
      });
    } else {
      const paint = painter(colourEnabled(context.io.stdout, context.io.env));
      writeOut(
        context.io,
        describe(
          paint('yellow', 'UNVERIFIED: the signature was not checked; do not trust these values'),
          decoded,
          context,
        ),
      );
    }
    return EXIT.OK;
  },
};

// --- verify -----------------------------------------------------------------------------------

const VERIFY_OPTIONS = {
  ...KEY_OPTIONS,
  iss: { type: 'string', multiple: true },
  aud: { type: 'string', multiple: true },
  sub: { type: 'string' },
  typ: { type: 'string' },
  require: { type: 'string' },
  'no-exp': { type: 'boolean' },
  'max-age': { type: 'string' },
  'clock-tolerance': { type: 'string' },
  'allow-weak-key': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const verify: Command = {
  summary: "check a token's signature and claims",
  help: `Usage: laissez token verify <token | -> (--secret S | --secret-file FILE | --key FILE) [options]

Checks the signature with the key you give, then the claims. Valid: prints the header and the
payload and exits 0. Invalid: prints CODE: message on stderr and exits 1.

Arguments:
  <token>   the compact JWT; '-' reads it from standard input. A 'Bearer ' prefix is removed.

${KEY_FLAGS_HELP}

Options:
  --alg A[,B]             algorithms to accept. Default: HS256 for a secret; for a JWK or JWKS
                          file, the "alg" of its key(s). A PEM needs --alg
  --iss I                 expected issuer (repeat to accept any of several)
  --aud A                 expected audience (repeat to accept any of several)
  --sub S                 expected subject
  --typ T                 expected typ header, e.g. at+jwt
  --require c1,c2         claims that must be present
  --no-exp                accept a token without exp (refused by default)
  --max-age D             refuse a token whose iat is older than D (e.g. 1h)
  --clock-tolerance D     leeway for exp, nbf, iat and --max-age (e.g. 30s). Default 0
  --allow-weak-key        accept an HMAC secret shorter than the hash (a warning says so)
  --json                  print {"valid": true, "header", "payload"} or
                          {"valid": false, "code", "message"} on stdout (exit codes unchanged)
  -h, --help

Durations are seconds or a number with a unit: 30s, 15m, 12h, 7d, 2w.

Exit codes: 0 valid, 1 rejected (or the key cannot be used), 2 usage error.

Examples:
  laissez token verify "$TOKEN" --secret-file ./hs256.secret --iss https://auth.example
  laissez token verify "$TOKEN" --key ./jwks.json --aud api --json
  laissez token verify - --key ./public.pem --alg ES256 < token.txt`,
  async run(args, context) {
    const { io } = context;
    const { values, positionals } = parseCommandLine(args, VERIFY_OPTIONS);
    const token = await readToken(positionals, io);
    const source = keySource(values, io);
    const algorithms: Algorithm[] =
      values.alg === undefined ? defaultAlgorithms(source) : algorithmsFlag(values.alg);
    const options: VerifierOptions = {
      key: source.key,
      algorithms,
      requireExp: values['no-exp'] !== true,
      allowWeakKey: values['allow-weak-key'] === true,
      now: io.now,
    };
    if (values.iss !== undefined) options.issuer = values.iss;
    if (values.aud !== undefined) options.audience = values.aud;
    if (values.sub !== undefined) options.subject = values.sub;
    if (values.typ !== undefined) options.typ = values.typ;
    if (values.require !== undefined)
      options.requiredClaims = listFlag(values.require, '--require');
    if (values['max-age'] !== undefined) {
      options.maxAge = durationFlag(values['max-age'], '--max-age');
    }
    if (values['clock-tolerance'] !== undefined) {
      options.clockTolerance = durationFlag(values['clock-tolerance'], '--clock-tolerance');
    }
    if (options.allowWeakKey) warnIfWeak(source, algorithms, io);

    let result: { header: Record<string, unknown>; payload: Record<string, unknown> };
    try {
      result = createVerifier(options)(token);
    } catch (error) {
      return fail(error, context, values.json === true);
    }
    if (values.json) {
      writeJson(io, { valid: true, header: result.header, payload: result.payload });
    } else {
      const paint = painter(colourEnabled(io.stdout, io.env));
      writeOut(
        io,
        describe(
          paint('green', `VALID: signature (${String(result.header['alg'])}) and claims checked`),
          result,
          context,
        ),
      );
    }
    return EXIT.OK;
  },
};

// --- sign -------------------------------------------------------------------------------------

const SIGN_OPTIONS = {
  ...KEY_OPTIONS,
  claims: { type: 'string' },
  sub: { type: 'string' },
  iss: { type: 'string' },
  aud: { type: 'string', multiple: true },
  'expires-in': { type: 'string' },
  'no-exp': { type: 'boolean' },
  'not-before': { type: 'string' },
  kid: { type: 'string' },
  typ: { type: 'string' },
  jti: { type: 'boolean' },
  'allow-weak-key': { type: 'boolean' },
} as const;

const DEFAULT_EXPIRES_IN = '15m';

function claimsFlag(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(
      `--claims is not valid JSON; pass one JSON object in single quotes, e.g. --claims '{"role":"admin"}'`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`--claims must be a JSON object, e.g. --claims '{"role":"admin"}'`);
  }
  return value as Record<string, unknown>;
}

const sign: Command = {
  summary: 'sign a new token',
  help: `Usage: laissez token sign (--secret S | --secret-file FILE | --key FILE) [--alg A] [options]

Signs a JWT and prints it. It gets iat (now) and exp (now + 15 minutes unless --expires-in or
--no-exp says otherwise).

${KEY_FLAGS_HELP}
                      (for signing: a private key; a JWKS is not accepted)

Options:
  --alg A             the algorithm. Default: HS256 for a secret, the JWK's "alg" for a JWK;
                      required for a PEM key
  --claims JSON       claims as a JSON object, e.g. '{"role":"admin"}'
  --sub S             subject (sub)
  --iss I             issuer (iss)
  --aud A             audience (aud); repeat for several
  --expires-in D      lifetime (exp = iat + D). Default 15m
  --no-exp            no exp: the token never expires (verifiers refuse it by default)
  --not-before D      nbf = iat + D
  --kid K             key id header. Default: the JWK's "kid"
  --typ T             typ header. Default JWT
  --jti               add a random jti
  --allow-weak-key    sign with an HMAC secret shorter than the hash (a warning says so)
  -h, --help

Durations are seconds or a number with a unit: 30s, 15m, 12h, 7d, 2w.

Exit codes: 0 signed, 1 the key cannot be used (CODE: message on stderr), 2 usage error.

Examples:
  LAISSEZ_SECRET="$(cat hs256.secret)" laissez token sign --sub user_1 --expires-in 1h
  laissez token sign --key private.jwk.json --claims '{"role":"admin"}' --aud api`,
  async run(args, context) {
    const { io } = context;
    const { values, positionals } = parseCommandLine(args, SIGN_OPTIONS);
    expectPositionals(positionals, 0, '');
    const claims = values.claims === undefined ? {} : claimsFlag(values.claims);
    if (values['no-exp'] && values['expires-in'] !== undefined) {
      throw new UsageError('--no-exp and --expires-in contradict each other: pass one of them');
    }
    // Validate every flag before touching the key, so that usage errors come first.
    const expiresIn =
      values['expires-in'] !== undefined
        ? durationFlag(values['expires-in'], '--expires-in')
        : values['no-exp'] || claims['exp'] !== undefined
          ? undefined
          : durationFlag(DEFAULT_EXPIRES_IN, '--expires-in');
    const notBefore =
      values['not-before'] === undefined
        ? undefined
        : durationFlag(values['not-before'], '--not-before');
    // A claim set both in --claims and by its own flag would be ambiguous: say which two.
    const owners: Array<[string, string, boolean]> = [
      ['sub', '--sub', values.sub !== undefined],
      ['iss', '--iss', values.iss !== undefined],
      ['aud', '--aud', values.aud !== undefined],
      ['exp', '--expires-in', values['expires-in'] !== undefined],
      ['nbf', '--not-before', values['not-before'] !== undefined],
      ['jti', '--jti', values.jti === true],
    ];
    for (const [claim, flag, set] of owners) {
      if (set && claims[claim] !== undefined) {
        throw new UsageError(`--claims sets "${claim}" and so does ${flag}: set it in one place`);
      }
    }
    const explicitAlg = values.alg === undefined ? undefined : algorithmsFlag(values.alg);
    if (explicitAlg !== undefined && explicitAlg.length !== 1) {
      throw new UsageError('--alg takes one algorithm for signing, e.g. --alg ES256');
    }

    const source = keySource(values, io, 'sign');
    if (source.kind === 'jwks') {
      throw new UsageError(
        '--key for signing must be one private key (a PEM or a JWK), not a JWKS; a JWKS holds public keys',
      );
    }
    const algorithm = (explicitAlg ?? defaultAlgorithms(source))[0]!;
    const kid = values.kid ?? (source.kind === 'jwk' ? source.key.kid : undefined);
    const options: SignerOptions = {
      key: source.key,
      algorithm,
      requireExp: values['no-exp'] !== true,
      allowWeakKey: values['allow-weak-key'] === true,
      now: io.now,
    };
    if (kid !== undefined) options.kid = kid;
    if (values.typ !== undefined) options.typ = values.typ;
    if (expiresIn !== undefined) options.expiresIn = expiresIn;
    if (notBefore !== undefined) options.notBefore = notBefore;
    if (values.sub !== undefined) options.subject = values.sub;
    if (values.iss !== undefined) options.issuer = values.iss;
    if (values.aud !== undefined) {
      options.audience = values.aud.length === 1 ? values.aud[0]! : values.aud;
    }
    if (values.jti) options.jti = true;
    if (options.allowWeakKey) warnIfWeak(source, [algorithm], io);

    let token: string;
    try {
      token = createSigner(options)(claims);
    } catch (error) {
      return fail(error, context, false);
    }
    writeOut(io, token);
    return EXIT.OK;
  },
};

/** `laissez token …` */
export const TOKEN_COMMANDS: CommandGroup = { decode, verify, sign };
