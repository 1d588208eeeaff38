// Reading a file that a setting or a command-line flag names (the TLS files of `laissez serve`,
// the CLI's key and secret files): one message for a file that cannot be read, naming the flag
// and the file and saying why in words.
import { readFileSync } from 'node:fs';

/** Why a file cannot be read: the usual causes in words, any other by its error code. */
function unreadable(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return code ?? 'unreadable';
}

/**
 * The bytes of `file`, which `name` (a flag or a variable) names. When it cannot be read, `fail`
 * makes the error of the caller's kind (a ConfigError's cause, a CLI usage error) from the message.
 */
export function readNamedFile(
  file: string,
  name: string,
  fail: (message: string) => Error,
): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw fail(`${name} ${JSON.stringify(file)} cannot be read: ${unreadable(error)}`);
  }
}
