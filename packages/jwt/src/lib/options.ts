// Option-name checks shared by every public factory of laissez. TypeScript catches a misspelt
// option at compile time, but plain JavaScript (or a config object spread in) does not: there
// `audiance: 'api'` would simply be ignored and a verifier would accept tokens for any audience.
// So each factory refuses names it does not know, once, at setup (never per token), with the
// nearest known name as a hint. No imports: the browser client (@laissez/client, which installs nothing) carries an identical copy,
// kept so by test/copies.test.ts.

/**
 * The option names of an options type, checked by the compiler against the type: a name that is
 * not an option, or an option that is missing from the list, is a type error.
 * @example const NAMES = optionNames<SignerOptions>({ key: true, algorithm: true, ... });
 */
export function optionNames<T>(
  names: { readonly [K in keyof Required<T>]: true },
): readonly string[] {
  return Object.freeze(Object.keys(names));
}

/** Longest name quoted in a message: a name comes from the caller's code, but may be long. */
const MAX_SHOWN = 64;

/**
 * Throws a TypeError naming the first own key of `options` that is not in `known`, with the
 * nearest known name when one is close (at most two edits, case ignored):
 * `createVerifier: unknown option "audiance"; did you mean "audience"?`.
 * `prefix` names a nested object (`'cache.'`), so its keys are reported as `cache.mx`.
 */
export function checkOptions(
  name: string,
  options: object,
  known: readonly string[],
  prefix = '',
): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = nearest(key, known);
    throw new TypeError(
      `${name}: unknown option ${quote(prefix + key)}` +
        (near !== undefined
          ? `; did you mean ${quote(prefix + near)}?`
          : ` (known options: ${known.map((k) => prefix + k).join(', ')})`),
    );
  }
}

/** The known name at the smallest edit distance from `name`, if that distance is at most 2. */
function nearest(name: string, known: readonly string[]): string | undefined {
  if (name.length > MAX_SHOWN) return undefined;
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, one row at a time (names are short). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row[j] = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, substitution);
    }
    previous = row;
  }
  return previous[b.length] as number;
}

function quote(name: string): string {
  const shown = name.length > MAX_SHOWN ? `${name.slice(0, MAX_SHOWN)}…` : name;
  return JSON.stringify(shown);
}
