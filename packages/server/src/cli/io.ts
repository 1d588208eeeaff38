// Shared pieces of the laissez CLI: exit codes, usage errors, option parsing, colour, and printing
// errors without ever echoing a secret, a key or a token. Reading tokens and key files: inputs.ts.

import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import type { Algorithm } from '@laissez/jwt';
import { ALGORITHMS, JwtError, parseDuration } from '@laissez/jwt';

/** Process exit codes: the same for every command. */
export const EXIT = {
  /** Done; for `verify`, the token is valid. */
  OK: 0,
  /** The token was rejected (or could not be checked: an unusable key). */
  REJECTED: 1,
  /** The command line is wrong: unknown flag, missing argument, bad value. */
  USAGE: 2,
} as const;

/** A mistake on the command line. The message says what is wrong and how to fix it. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * The command line was right but the command could not do it (no such user): the message is
 * printed after the command's name, with no usage hint, and the exit code is 1.
 */
export class CommandFailed extends Error {
  override name = 'CommandFailed';
}

/** Where a command writes and reads; `process` in real use. */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The clock in milliseconds, like `Date.now`. */
  readonly now: () => number;
}

/** What a command runs with: the streams and its own full name, e.g. `laissez token verify`. */
export interface Context {
  readonly io: Io;
  readonly name: string;
}

/** One runnable command: `laissez token verify`, later `laissez serve`. */
export interface Command {
  /** One line for the command list in the parent's help. */
  readonly summary: string;
  /** The whole `--help` text (without the trailing newline). */
  readonly help: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: string[], context: Context): Promise<number>;
}

/** A command group such as `laissez token` or `laissez keys`: its subcommands by name. */
export type CommandGroup = Readonly<Record<string, Command>>;

export function processIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    now: Date.now,
  };
}

// --- colour -----------------------------------------------------------------------------------

const STYLES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;

export type Style = keyof typeof STYLES;
export type Paint = (style: Style, text: string) => string;

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function colourEnabled(stream: { isTTY?: boolean }, env: Io['env']): boolean {
  const noColour = env['NO_COLOR'];
  return stream.isTTY === true && (noColour === undefined || noColour === '');
}

export function painter(enabled: boolean): Paint {
  if (!enabled) return (_style, text) => text;
  return (style, text) => `\u001b[${STYLES[style][0]}m${text}\u001b[${STYLES[style][1]}m`;
}

// --- output -----------------------------------------------------------------------------------

export function writeOut(io: Io, text: string): void {
  io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function writeErr(io: Io, text: string): void {
  io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** JSON for `--json` output and key files: two-space indented, one value per run. */
export function writeJson(io: Io, value: unknown): void {
  writeOut(io, JSON.stringify(value, null, 2));
}

export function warn(io: Io, message: string): void {
  const paint = painter(colourEnabled(io.stderr, io.env));
  writeErr(io, `${paint('yellow', 'warning:')} ${message}`);
}

/** A usage error: what is wrong, then where to read how to do it right. */
export function printUsageError(io: Io, name: string, message: string): void {
  const paint = painter(colourEnabled(io.stderr, io.env));
  writeErr(io, `${paint('red', `${name}:`)} ${message}\nRun '${name} --help' for usage.`);
}

// What to do about an error, in command-line terms (the library's messages speak in options).
const HINTS: Partial<Record<string, (error: JwtError) => string | undefined>> = {
  ERR_KEY_WEAK: (error) =>
    error.message.includes('RSA')
      ? undefined
      : 'pass --allow-weak-key to accept a short secret anyway (not for production)',
  ERR_JWT_CLAIM_MISSING: (error) =>
    error.claim === 'exp' ? 'pass --no-exp to accept a token that never expires' : undefined,
};

/** A coded library error as `CODE: message`, and a hint when the CLI has a flag for it. */
export function printJwtError(io: Io, error: JwtError): void {
  const paint = painter(colourEnabled(io.stderr, io.env));
  const hint = HINTS[error.code]?.(error);
  writeErr(
    io,
    `${paint('red', `${error.code}:`)} ${inFlags(error.message)}${hint ? `\n${paint('dim', `hint: ${hint}`)}` : ''}`,
  );
}

/** The library's option names in its messages, as the flags that set them on the command line. */
const OPTION_FLAGS: readonly (readonly [RegExp, string])[] = [
  [/\(?set requireExp: false to accept it\)?/, '(pass --no-exp to accept it)'],
  [/\(or requireExp: false\)/, '(or --no-exp)'],
  [/opt in with allowWeakKey/, 'opt in with --allow-weak-key'],
  [/without allowWeakKey/, 'without --allow-weak-key'],
];

/** A library message in the command line's words. */
export function inFlags(message: string): string {
  let text = message;
  for (const [option, flag] of OPTION_FLAGS) text = text.replace(option, flag);
  return text;
}

/** `{ code, message, claim? }` of a coded error, for `--json` output. */
export function jwtErrorJson(error: JwtError): { code: string; message: string; claim?: string } {
  return {
    code: error.code,
    message: inFlags(error.message),
    ...(error.claim === undefined ? {} : { claim: error.claim }),
  };
}

/**
 * Names a command-line word in a message only when it is short and plainly a word; anything else
 * (a token or secret pasted in the wrong place) is described, never echoed.
 */
export function quoteArg(arg: string): string {
  return /^[A-Za-z0-9][\w.:-]{0,31}$/.test(arg) ? `'${arg}'` : 'an argument';
}

/** Like `quoteArg`, for something typed as an option: `'--name'` or `'-x'`. */
export function quoteOption(raw: string): string {
  const name = raw.replace(/^--?/, '').split('=')[0]!;
  return /^[A-Za-z0-9][\w-]{0,31}$/.test(name)
    ? `'${raw.startsWith('--') ? '--' : '-'}${name}'`
    : 'an option';
}

// --- option parsing ---------------------------------------------------------------------------

/** True when `--help` or `-h` comes before any `--`. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/** Edit distance where swapping two neighbouring letters counts as one typo (`prot` → `port`). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest known name to a mistyped one, if it is close enough to be a typo. */
export function closest(word: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = distance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function parseErrorMessage(error: Error & { code?: string }, options: ParseArgsOptionsConfig) {
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    // node's message names the option as typed (never its value): "Unknown option '--foo'".
    const raw = /'(-[^']*)'/.exec(error.message)?.[1];
    if (raw === undefined) return 'unknown option';
    const suggestion = raw.startsWith('--')
      ? closest(raw.slice(2), Object.keys(options))
      : undefined;
    return `unknown option ${quoteOption(raw)}${suggestion ? `; did you mean '--${suggestion}'?` : ''}`;
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // "Option '--secret <value>' argument missing", "... argument is ambiguous ...", "... does not take an argument"
    const name = /'(?:-\w, )?(--[\w-]+)/.exec(error.message)?.[1] ?? 'an option';
    if (/does not take an argument/.test(error.message)) return `${name} takes no value`;
    if (/ambiguous/.test(error.message)) {
      return `${name} needs a value; for a value that starts with '-', write ${name}=VALUE`;
    }
    return `${name} needs a value`;
  }
  return 'the command line could not be parsed';
}

/**
 * `parseArgs` in strict mode, with every failure turned into a UsageError that names the option
 * (and a likely intended one) but never repeats a value. Positionals are returned for the command
 * to check, so that a stray secret or token is not echoed by node's own message.
 */
export function parseCommandLine<const T extends ParseArgsOptionsConfig>(
  args: string[],
  options: T,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(parseErrorMessage(error as Error & { code?: string }, options));
  }
}

/** Checks the number of positional arguments; `names` describes them for the message. */
export function expectPositionals(positionals: string[], max: number, names: string): void {
  if (positionals.length > max) {
    throw new UsageError(
      max === 0
        ? 'unexpected argument: this command takes only options (a value needs its --flag before it)'
        : `too many arguments: expected ${names}; quote values that contain spaces`,
    );
  }
}

/**
 * The one positional argument of a command that takes one: more is a usage error naming
 * `expected`, none (or an empty one, unless `allowEmpty`) the usage error `missing`.
 */
export function oneOperand(
  positionals: string[],
  expected: string,
  missing: string,
  allowEmpty = true,
): string {
  expectPositionals(positionals, 1, expected);
  const operand = positionals[0];
  if (operand === undefined || (!allowEmpty && operand === '')) throw new UsageError(missing);
  return operand;
}

/** `--limit N` of a listing: a whole number from 1 to 10000, 100 when not given. */
export function limitFlag(value: string | undefined): number {
  const limit = value === undefined ? 100 : Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new UsageError('--limit must be a whole number from 1 to 10000');
  }
  return limit;
}

/** A duration flag (`30s`, `15m`, `12h`, `7d`, `2w`, or seconds) as seconds. */
export function durationFlag(value: string, flag: string): number {
  try {
    return parseDuration(value, flag);
  } catch {
    throw new UsageError(
      `${flag} must be seconds or a number with a unit (s, m, h, d, w) such as 30s, 15m, 12h or 7d; got ${JSON.stringify(value)}`,
    );
  }
}

/** A comma-separated list flag; empty items are dropped, an empty list is an error. */
export function listFlag(value: string, flag: string): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0)
    throw new UsageError(`${flag} needs at least one value, e.g. ${flag} a,b`);
  return items;
}

/** `--alg A,B` checked against the supported algorithms. */
export function algorithmsFlag(value: string, flag = '--alg'): Algorithm[] {
  const known = new Set<string>(ALGORITHMS);
  return listFlag(value, flag).map((alg) => {
    if (known.has(alg)) return alg as Algorithm;
    if (alg.toLowerCase() === 'none') {
      throw new UsageError(
        `${flag} none is never accepted: an unsigned token can be forged by anyone`,
      );
    }
    const upper = ALGORITHMS.find((a) => a.toLowerCase() === alg.toLowerCase());
    throw new UsageError(
      `${flag}: unknown algorithm ${quoteArg(alg)}${upper ? ` (did you mean ${upper}?)` : ''}; use one of ${ALGORITHMS.join(', ')}`,
    );
  });
}

/** True for the errors the library throws for a token or key (as opposed to bad options). */
export function isJwtError(error: unknown): error is JwtError {
  return error instanceof JwtError;
}
