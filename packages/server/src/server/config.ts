// `laissez serve`'s configuration: flags and environment variables parsed by the settings table
// (src/server/options.ts), then checked by the same resolver as `createAuthServer`, with messages
// that name the flag and the variable and what was typed.
import { type AuthServerOptions, type Naming, resolveOptions } from './options.ts';
import { checkTlsPair } from './setting-rules.ts';
import { SETTINGS, type Setting, settingOf } from './settings.ts';

export { SETTINGS };

export interface ServeConfig {
  port: number;
  host: string;
  options: AuthServerOptions;
  /** The issuer was not configured: it is derived from the port (`defaultIssuer`). */
  issuerFromPort: boolean;
}

/** The issuer when none is configured: `http(s)://localhost[:port]`. */
export function defaultIssuer(https: boolean, port: number): string {
  return `${https ? 'https' : 'http'}://localhost${port === 80 || port === 443 ? '' : `:${port}`}`;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The settings that can be given on the command line or in the environment. */
export const COMMAND_LINE_SETTINGS: readonly Setting[] = SETTINGS.filter(
  (row) => row.flag !== undefined || row.env !== undefined,
);

/** `--flag / VARIABLE`, or the variable alone for a setting only the environment gives. */
export function settingName(row: Setting): string {
  return row.flag ? `--${row.flag} / ${row.env}` : (row.env as string);
}

/** The command line's naming: flags and variables, durations as typed, ConfigErrors. */
function commandLineNaming(texts: ReadonlyMap<string, string>): Naming {
  const row = (option: string) => settingOf(option);
  const short = (option: string) => {
    const r = row(option);
    return r?.flag ? `--${r.flag}` : (r?.env ?? option);
  };
  const secret = (option: string) => row(option)?.secret === true;
  return {
    name: (option) => {
      const r = row(option);
      return r ? settingName(r) : option;
    },
    short,
    brief: (option) => `${short(option)} (${texts.get(option) ?? row(option)?.default})`,
    amount: (option, value) => {
      const unit = row(option)?.unit;
      return unit ? `${unit === 'ms' ? value / 1000 : value}s` : String(value);
    },
    got: (option) =>
      texts.has(option) && !secret(option) ? ` (got ${JSON.stringify(texts.get(option))})` : '',
    given: (option) =>
      texts.has(option) && !secret(option) ? ` ${JSON.stringify(texts.get(option))}` : '',
    fail: (message) => new ConfigError(message),
  };
}

/** Runs a row's parser, turning its complaint into a ConfigError. */
function parsed(row: Setting, text: string): unknown {
  try {
    return row.parse ? row.parse(text, settingName(row)) : text;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/**
 * Builds the server configuration. `flags` (from the command line, without dashes) win over
 * `env`, which wins over the defaults. Every check is `createAuthServer`'s own
 * (`resolveOptions`), so nothing the library would refuse gets past here.
 */
export function loadConfig(
  flags: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): ServeConfig {
  // What was typed, by option name; a setting that was not given takes the library's default.
  const texts = new Map<string, string>();
  for (const row of COMMAND_LINE_SETTINGS) {
    const given =
      (row.flag !== undefined ? flags[row.flag] : undefined) ??
      (row.env ? env[row.env] : undefined);
    if (given !== undefined) texts.set(row.option, given);
  }
  const naming = commandLineNaming(texts);
  // Checked before either file is read: a lone --tls-cert is a mistake whatever the file holds.
  if (texts.has('https.cert') || texts.has('https.key')) {
    checkTlsPair(texts.get('https.cert'), texts.get('https.key'), naming);
  }
  const values: Record<string, unknown> = {};
  for (const [option, text] of texts) {
    const value = parsed(settingOf(option) as Setting, text);
    if (value === undefined) continue;
    const [top, part] = option.split('.') as [string, string | undefined];
    if (part === undefined) values[top] = value;
    else values[top] = { ...(values[top] as object | undefined), [part]: value };
  }
  const port = (values['port'] as number | undefined) ?? 3000;
  const host = (values['host'] as string | undefined) ?? '127.0.0.1';
  delete values['port'];
  delete values['host'];
  const options = {
    dataDir: './data',
    ...values,
    issuer: (values['issuer'] as string | undefined) ?? defaultIssuer('https' in values, port),
  } as AuthServerOptions;
  resolveOptions(options, naming);
  return { port, host, issuerFromPort: !texts.has('issuer'), options };
}
