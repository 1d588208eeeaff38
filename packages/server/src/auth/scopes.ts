// Scopes of first-party access tokens: which scopes each role allows (the server's `roleScopes`),
// what a log-in asks for (RFC 6749 §3.3: a space-delimited list; omitted, it gets every scope its
// roles allow), and what a refresh may carry: the family's granted scope, never more, and never
// more than the user's roles allow now (a role taken away takes its scopes with it at the next
// refresh). The access token carries the result as `scope` (RFC 9068 §2.2.3).
import { AuthServiceError } from './errors.ts';

/** Role name to the scopes it allows. */
export type RoleScopes = Readonly<Record<string, readonly string[]>>;

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
export const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** Longest scope-token, and most tokens in one request: a bound on what a request makes us do. */
export const SCOPE_TOKEN_MAX = 128;
export const SCOPES_MAX = 64;

/** A scope-token (RFC 6749 §3.3), or a TypeError naming `where` (configuration mistakes). */
export function checkScopeToken(scope: unknown, where: string): string {
  if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope) || scope.length > SCOPE_TOKEN_MAX) {
    throw new TypeError(
      `${where}: ${JSON.stringify(scope)?.slice(0, 40)} is not a scope-token (RFC 6749 §3.3: 1 to ${SCOPE_TOKEN_MAX} printable ASCII characters, no space, " or \\)`,
    );
  }
  return scope;
}

/**
 * The scope a client asked for: space-delimited scope-tokens (RFC 6749 §3.3), in order, without
 * repeats. Anything else is `invalid_scope` (RFC 6749 §5.2: "malformed").
 */
export function parseScope(text: unknown): string[] {
  if (typeof text !== 'string') {
    throw new AuthServiceError('invalid_scope', 'scope must be a string of space-separated scopes');
  }
  const scopes = text.split(' ').filter((s) => s !== '');
  if (scopes.length > SCOPES_MAX) {
    throw new AuthServiceError('invalid_scope', `at most ${SCOPES_MAX} scopes may be asked for`);
  }
  for (const scope of scopes) {
    if (!SCOPE_TOKEN.test(scope) || scope.length > SCOPE_TOKEN_MAX) {
      throw new AuthServiceError(
        'invalid_scope',
        'scope must be space-separated scope-tokens (RFC 6749 §3.3: printable ASCII, no " or \\)',
      );
    }
  }
  return [...new Set(scopes)];
}

/** Every scope the roles allow, in the order the configuration lists them; undefined: scopes off. */
export function allowedScopes(
  roleScopes: RoleScopes | undefined,
  roles: readonly string[],
): string[] | undefined {
  if (!roleScopes) return undefined;
  const allowed = new Set<string>();
  for (const [role, scopes] of Object.entries(roleScopes)) {
    if (roles.includes(role)) for (const scope of scopes) allowed.add(scope);
  }
  return [...allowed];
}

/**
 * What a grant gets: `requested` (when given) must lie within `available`; omitted, every
 * available scope. With scopes off (`available` undefined) a request for any is refused: nothing
 * could be granted, and silently dropping it would hand out a token without what was asked for.
 */
export function grantScope(
  requested: readonly string[] | undefined,
  available: readonly string[] | undefined,
): string[] {
  if (available === undefined) {
    if (requested !== undefined && requested.length > 0) {
      throw new AuthServiceError('invalid_scope', 'this server grants no scopes');
    }
    return [];
  }
  if (requested === undefined) return [...available];
  const refused = requested.filter((scope) => !available.includes(scope));
  if (refused.length > 0) {
    throw new AuthServiceError(
      'invalid_scope',
      `not allowed here: ${refused.slice(0, 5).join(' ')}${refused.length > 5 ? ' …' : ''}`,
    );
  }
  return [...requested];
}

/** A granted scope as stored and sent: space-separated ('' for none). */
export const scopeText = (scopes: readonly string[]): string => scopes.join(' ');

/** The checked role-scopes configuration (a TypeError names the first mistake). */
export function checkRoleScopes(value: unknown, where: string): RoleScopes {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${where} must be an object: { role: ['scope', …] }`);
  }
  const checked: Record<string, readonly string[]> = {};
  for (const [role, scopes] of Object.entries(value)) {
    if (!Array.isArray(scopes)) {
      throw new TypeError(`${where}.${role} must be an array of scope-tokens`);
    }
    checked[role] = Object.freeze(scopes.map((s) => checkScopeToken(s, `${where}.${role}`)));
  }
  return Object.freeze(checked);
}
