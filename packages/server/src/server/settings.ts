// The settings table of the auth server: one row per setting, read by `createAuthServer`'s
// resolver (src/server/options.ts), by `laissez serve` (src/server/config.ts) and its `--help`,
// and tested equal to docs/server.md's "Configuration" table.
//
// The rows live by area in sibling files, assembled here in the table's order:
// settings-storage.ts, settings-tokens.ts, settings-network.ts, settings-accounts.ts, then the
// library-only rows below.
import type { Naming, OptionName } from './options.ts';
import { breachedPasswordsCheck, checkTls, integerSetting, kind } from './setting-rules.ts';
import { ACCOUNT_SETTINGS } from './settings-accounts.ts';
import { NETWORK_SETTINGS } from './settings-network.ts';
import { STORAGE_SETTINGS } from './settings-storage.ts';
import { TOKEN_SETTINGS } from './settings-tokens.ts';

/**
 * One setting. `option` is its `createAuthServer` name (`https.cert` for a part of an object
 * option); `port` and `host` are the command line's own. A row without `flag` and `env` exists
 * only in the library; a row with `env` alone only in the environment.
 */
export interface Setting {
  option: OptionName | `${OptionName}.${string}` | 'port' | 'host';
  /** The flag without its dashes. */
  flag?: string;
  env?: string;
  /** The default as `--help` and the docs show it ('' none). Parsed, it is the library default. */
  default: string;
  /** The default is worked out from other settings (the issuer, the KEK file): not parsed. */
  derived?: true;
  /** The library default of a library-only option. */
  value?: unknown;
  /** The unit of a number in the library ('s' or 'ms'); command-line text is a duration. */
  unit?: 's' | 'ms';
  /** A secret: never quoted back in a message. */
  secret?: true;
  help: string;
  /** Command-line or environment text to the library's value; `name` names it in the error. */
  parse?(text: string, name: string): unknown;
  /** The library value's check, shared by both entry points (the default is not checked). */
  check?(value: unknown, naming: Naming, option: string): void;
}

/** Library-only options: objects, functions, or tuning left to code; no flag nor variable. */
const LIBRARY_SETTINGS: readonly Setting[] = [
  {
    option: 'mailTransport',
    default: '',
    help: 'a mail transport ({ send(message) }) instead of SMTP or the outbox',
    check: kind('object'),
  },
  {
    option: 'store',
    default: '',
    help: 'a store instead of SQLite in dataDir',
    check: kind('object'),
  },
  {
    option: 'https',
    default: '',
    help: 'TLS certificate and private key (PEM)',
    check: checkTls,
  },
  {
    option: 'breachedPasswords',
    default: '',
    help: 'the k-anonymity range service new passwords are checked against',
    check: breachedPasswordsCheck,
  },
  {
    option: 'cookieSecure',
    default: '',
    value: true,
    help: 'the Secure cookie attribute',
    check: kind('boolean'),
  },
  {
    option: 'bodyLimit',
    default: '',
    value: 16 * 1024,
    help: 'largest request body in bytes',
    check: integerSetting(1, 16 * 1024 * 1024),
  },
  { option: 'rateLimits', default: '', help: 'rate limits per route', check: kind('object') },
  { option: 'counters', default: '', help: 'rate-limit counters', check: kind('object') },
  {
    option: 'revocations',
    default: '',
    help: 'where ended sessions are announced',
    check: kind('object'),
  },
  {
    option: 'events',
    default: '',
    help: 'where security events go (audit log, mail)',
    check: kind('object'),
  },
  { option: 'passwordParams', default: '', help: 'argon2id parameters', check: kind('object') },
  {
    option: 'claims',
    default: '',
    help: "returns each access token's extra claims (instead of claimsModule)",
    check: kind('function'),
  },
  { option: 'now', default: '', value: Date.now, help: 'the clock in ms', check: kind('function') },
];

/**
 * The settings, in the order `--help` and docs/server.md list them. Library-only options come
 * last; they have no flag nor variable (objects, functions, or tuning left to code).
 */
export const SETTINGS: readonly Setting[] = [
  ...STORAGE_SETTINGS,
  ...TOKEN_SETTINGS,
  ...NETWORK_SETTINGS,
  ...ACCOUNT_SETTINGS,
  ...LIBRARY_SETTINGS,
];

const ROWS = new Map(SETTINGS.map((row) => [row.option as string, row]));

/** The row of a setting by its option name (`accessTtl`, `https.cert`, `port`). */
export function settingOf(option: string): Setting | undefined {
  return ROWS.get(option);
}
