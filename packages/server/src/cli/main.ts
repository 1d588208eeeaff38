// The laissez command line: a table of commands, each group in its own module, loaded only when
// it runs (so that `laissez token …` never loads what `laissez serve` needs).

import { readFileSync } from 'node:fs';
import {
  type Command,
  CommandFailed,
  type CommandGroup,
  closest,
  EXIT,
  type Io,
  isJwtError,
  printJwtError,
  printUsageError,
  quoteArg,
  quoteOption,
  UsageError,
  wantsHelp,
  writeErr,
  writeOut,
} from './io.ts';

/** A top-level command: a group of subcommands (`token`, `keys`) or one command (`serve`). */
type Entry =
  | { readonly summary: string; readonly group: () => Promise<CommandGroup> }
  | { readonly summary: string; readonly command: () => Promise<Command> };

/** Every top-level command. Add one here and in its own module. */
export const COMMANDS: Readonly<Record<string, Entry>> = {
  token: {
    summary: 'decode, verify and sign JWTs',
    group: async () => (await import('./token.ts')).TOKEN_COMMANDS,
  },
  keys: {
    summary: "generate signing keys; list and rotate the auth server's keys",
    group: async () => (await import('./keys.ts')).KEYS_COMMANDS,
  },
  users: {
    summary: "add, list, disable, delete and administer the auth server's users",
    group: async () => (await import('./users.ts')).USERS_COMMANDS,
  },
  audit: {
    summary: 'read the audit log of security events',
    command: async () => (await import('./audit.ts')).AUDIT,
  },
  clients: {
    summary: "add, list, remove the auth server's OAuth clients and rotate their secrets",
    group: async () => (await import('./clients.ts')).CLIENTS_COMMANDS,
  },
  dpop: {
    summary: 'make DPoP proofs (RFC 9449) for curl',
    group: async () => (await import('./dpop.ts')).DPOP_COMMANDS,
  },
  serve: {
    summary: 'run the auth server (embedded SQLite store)',
    command: async () => (await import('./serve.ts')).SERVE,
  },
};

const PROGRAM = 'laissez';

/** The version in laissez's package.json: two levels up from src/cli, three from dist/src/cli. */
export function version(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'laissez') return pkg.version ?? 'unknown';
    } catch {}
  }
  return 'unknown';
}

function table(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, text]) => `  ${name.padEnd(width)}  ${text}`).join('\n');
}

function topHelp(): string {
  return `${PROGRAM}: JWTs, keys and the auth server from the command line

Usage: ${PROGRAM} <command> <subcommand> [options]

Commands:
${table(Object.entries(COMMANDS).map(([name, entry]) => [name, entry.summary]))}

Options:
  -h, --help   show this help ('${PROGRAM} <command> --help' for a command)
  --version    print the version

Exit codes: 0 success (a valid token), 1 rejected token or unusable key, 2 usage error.`;
}

function groupHelp(name: string, summary: string, group: CommandGroup): string {
  return `${name}: ${summary}

Usage: ${name} <subcommand> [options]

Subcommands:
${table(Object.entries(group).map(([sub, command]) => [sub, command.summary]))}

Run '${name} <subcommand> --help' for its options.`;
}

function unknown(what: string, word: string, known: string[]): UsageError {
  const guess = closest(word, known);
  return new UsageError(
    `unknown ${what} ${quoteArg(word)}${guess ? `; did you mean '${guess}'?` : ''} (${what}s: ${known.join(', ')})`,
  );
}

async function dispatch(argv: string[], io: Io, path: { name: string }): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    writeErr(io, topHelp());
    return EXIT.USAGE;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    writeOut(io, topHelp());
    return EXIT.OK;
  }
  if (first === '--version' || first === '-V') {
    writeOut(io, `${PROGRAM} ${version()}`);
    return EXIT.OK;
  }
  if (first.startsWith('-')) {
    throw new UsageError(
      `unknown option ${quoteOption(first)}: options come after the command, e.g. ${PROGRAM} token verify <token> --secret-file FILE`,
    );
  }
  const entry = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (entry === undefined) throw unknown('command', first, Object.keys(COMMANDS));
  path.name = `${PROGRAM} ${first}`;

  let command: Command;
  let args = rest;
  if ('command' in entry) {
    command = await entry.command();
  } else {
    const group = await entry.group();
    const [sub, ...subArgs] = rest;
    if (sub === undefined) {
      writeErr(io, groupHelp(path.name, entry.summary, group));
      return EXIT.USAGE;
    }
    if (sub === '--help' || sub === '-h' || sub === 'help') {
      writeOut(io, groupHelp(path.name, entry.summary, group));
      return EXIT.OK;
    }
    if (sub.startsWith('-')) {
      throw new UsageError(
        `missing subcommand before ${quoteOption(sub)}: one of ${Object.keys(group).join(', ')}`,
      );
    }
    const found = Object.hasOwn(group, sub) ? group[sub] : undefined;
    if (found === undefined) throw unknown('subcommand', sub, Object.keys(group));
    path.name = `${path.name} ${sub}`;
    command = found;
    args = subArgs;
  }
  if (wantsHelp(args)) {
    writeOut(io, command.help);
    return EXIT.OK;
  }
  return command.run(args, { io, name: path.name });
}

/**
 * Runs the CLI with the arguments after `laissez`; resolves to the exit code. Usage errors print
 * what to fix (exit 2); a coded token or key error prints `CODE: message` (exit 1).
 */
export async function main(argv: string[], io: Io): Promise<number> {
  const path = { name: PROGRAM };
  try {
    return await dispatch(argv, io, path);
  } catch (error) {
    if (error instanceof UsageError) {
      printUsageError(io, path.name, error.message);
      return EXIT.USAGE;
    }
    if (isJwtError(error)) {
      printJwtError(io, error);
      return EXIT.REJECTED;
    }
    if (error instanceof CommandFailed) {
      writeErr(io, `${path.name}: ${error.message}`);
      return EXIT.REJECTED;
    }
    // Not expected: say so without a stack trace full of paths (LAISSEZ_DEBUG=1 shows it).
    const message = error instanceof Error ? error.message : String(error);
    writeErr(io, `${path.name}: unexpected error: ${message}`);
    if (io.env['LAISSEZ_DEBUG'] && error instanceof Error && error.stack) writeErr(io, error.stack);
    return EXIT.REJECTED;
  }
}
