// Reading `WWW-Authenticate` (RFC 9110 §11.6.1) for the two answers the client acts on: the step-up
// challenge of RFC 9470 §3 (`error="insufficient_user_authentication"`, with `acr_values` and
// `max_age`), and a DPoP server asking for a nonce (RFC 9449 §8: `error="use_dpop_nonce"`).

/** What a step-up challenge asks for (RFC 9470 §3). */
export interface StepUpChallenge {
  /** `acr_values`, split on spaces: the authentication methods or levels that would do. */
  readonly acrValues: readonly string[];
  /** `max_age` in seconds: the log-in must be at most this old. */
  readonly maxAge: number | undefined;
  /** The challenge's `error_description`, for display. */
  readonly description: string | undefined;
}

interface Challenge {
  scheme: string;
  params: Map<string, string>;
}

/** A header longer than this is not read (the client only needs a few short parameters). */
const MAX_HEADER = 8192;
const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const SPACE = /[ \t]*/y;
const QUOTED = /"((?:[^"\\]|\\.)*)"/y;
const TOKEN68 = /[A-Za-z0-9._~+/-]+=*(?=[ \t]*(?:,|$))/y;

function match(pattern: RegExp, text: string, at: number): RegExpExecArray | null {
  pattern.lastIndex = at;
  return pattern.exec(text);
}

/**
 * The challenges of a `WWW-Authenticate` value, each with its parameters (names in lower case).
 * Parses as far as the syntax holds and keeps what came before a mistake.
 */
export function parseChallenges(header: string | null): Challenge[] {
  const out: Challenge[] = [];
  if (header === null || header.length > MAX_HEADER) return out;
  let at = 0;
  const skip = () => {
    at = match(SPACE, header, at)![0].length + at;
  };
  let current: Challenge | undefined;
  while (at < header.length) {
    skip();
    if (header[at] === ',') {
      at++;
      continue;
    }
    const name = match(TOKEN, header, at);
    if (name === null) break;
    const after = at + name[0].length;
    const rest = match(SPACE, header, after)![0].length + after;
    if (current !== undefined && header[rest] === '=') {
      // name = token / quoted-string: a parameter of the current challenge.
      at = match(SPACE, header, rest + 1)![0].length + rest + 1;
      const quoted = match(QUOTED, header, at);
      const bare = quoted === null ? match(TOKEN, header, at) : null;
      if (quoted === null && bare === null) break;
      const value = quoted !== null ? quoted[1]!.replace(/\\(.)/g, '$1') : bare![0];
      const key = name[0].toLowerCase();
      if (!current.params.has(key)) current.params.set(key, value);
      at += (quoted ?? bare)![0].length;
      continue;
    }
    // A new challenge: its scheme, then a token68 (ignored here) or parameters.
    current = { scheme: name[0].toLowerCase(), params: new Map() };
    out.push(current);
    at = rest;
    const token68 = match(TOKEN68, header, at);
    if (token68 !== null) at += token68[0].length;
  }
  return out;
}

/** The step-up challenge of an answer (401 with `insufficient_user_authentication`), if it is one. */
export function stepUpOf(response: Response): StepUpChallenge | undefined {
  if (response.status !== 401) return undefined;
  for (const { params } of parseChallenges(response.headers.get('www-authenticate'))) {
    if (params.get('error') !== 'insufficient_user_authentication') continue;
    const acr = params.get('acr_values');
    const age = params.get('max_age');
    return {
      acrValues: acr === undefined ? [] : acr.split(' ').filter((v) => v !== ''),
      // A number of seconds (RFC 9470 §3); anything else is no bound the client can act on.
      maxAge: age !== undefined && /^\d{1,10}$/.test(age) ? Number(age) : undefined,
      description: params.get('error_description'),
    };
  }
  return undefined;
}

/**
 * Whether an answer asks for a DPoP nonce: a resource server's 401 with `error="use_dpop_nonce"` in
 * its DPoP challenge (RFC 9449 §9), or an auth server's 400 with it as the error of the JSON body
 * (§8). Earlier laissez servers answered it at /auth/login and /auth/refresh with 401 and the JSON
 * body, so a 401 whose body says it counts too. The body is read from a clone, so the
 * caller still has it. (The caller retries only for a DPoP-Nonce it has not seen: no loop.)
 */
export async function asksForNonce(response: Response): Promise<boolean> {
  if (response.status === 401) {
    const challenged = parseChallenges(response.headers.get('www-authenticate')).some(
      (c) => c.scheme === 'dpop' && c.params.get('error') === 'use_dpop_nonce',
    );
    if (challenged) return true;
  } else if (response.status !== 400) return false;
  try {
    const body = (await response.clone().json()) as { error?: unknown };
    return body?.error === 'use_dpop_nonce';
  } catch {
    return false;
  }
}
