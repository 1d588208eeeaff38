// A route's requirements beyond a valid token (roles, scopes, and for RFC 9470 step-up the
// authentication methods and age of the log-in): checked once when a route declares them
// (`checkRequirement`), then against each verified request (`unmetRequirement`).

import { type Duration, parseDuration } from '@laissez/jwt';
import { checkOptions } from '@laissez/jwt/options';
import { type AuthFailure, fail, named, quoted } from './bearer.ts';
import { type AuthContext, NO_STRINGS, stringsOf } from './context.ts';

/** What a route requires beyond a valid token. */
export interface Requirement {
  /** The token's `roles` must hold at least one of these. */
  roles?: string[];
  /** The token's scopes must include every one of these. */
  scopes?: string[];
  /**
   * The token's `amr` (RFC 8176 authentication methods, e.g. `['mfa']`) must include every one
   * of these. Refused: 401 `insufficient_user_authentication` with `acr_values` (RFC 9470 §3).
   */
  amr?: string[];
  /**
   * The log-in behind the token (`auth_time`) must be at most this old (`'10m'`, or seconds).
   * Refused: 401 `insufficient_user_authentication` with `max_age` in seconds (RFC 9470 §3).
   */
  maxAge?: Duration;
}

const REQUIREMENT_NAMES = ['roles', 'scopes', 'amr', 'maxAge'] as const;

function checkStringList(value: unknown, name: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((v) => typeof v === 'string' && v !== '')
  ) {
    throw new TypeError(`${name} must be a non-empty array of non-empty strings`);
  }
  return value as string[];
}

/** A requirement checked once, when a route declares it: throws TypeError on a bad one. */
export function checkRequirement(requirement: Requirement): Requirement {
  if (requirement === null || typeof requirement !== 'object') {
    throw new TypeError('a requirement is an object: { roles?: string[], scopes?: string[] }');
  }
  checkOptions('require', requirement, REQUIREMENT_NAMES);
  const roles = checkStringList(requirement.roles, 'roles');
  const scopes = checkStringList(requirement.scopes, 'scopes');
  const amr = checkStringList(requirement.amr, 'amr');
  const maxAge =
    requirement.maxAge === undefined ? undefined : parseDuration(requirement.maxAge, 'maxAge');
  if (roles === undefined && scopes === undefined && amr === undefined && maxAge === undefined) {
    throw new TypeError(
      'a requirement names roles or scopes, or amr or maxAge: { roles: [...] }, { scopes: [...] }, { amr: ["mfa"], maxAge: "10m" }',
    );
  }
  const badAmr = amr?.find((m) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(m));
  if (badAmr !== undefined) {
    throw new TypeError(
      `amr value ${named(badAmr)} must be printable ASCII without space, " or \\`,
    );
  }
  // RFC 6749 §3.3: a scope-token is printable ASCII without space, `"` or `\`; the challenge
  // names the scopes, so anything else could not be sent.
  const badScope = scopes?.find((scope) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope));
  if (badScope !== undefined) {
    throw new TypeError(
      `scope ${named(badScope)} is not a scope-token (RFC 6749 §3.3: printable ASCII, no space, " or \\)`,
    );
  }
  return {
    ...(roles ? { roles } : {}),
    ...(scopes ? { scopes } : {}),
    ...(amr ? { amr } : {}),
    ...(maxAge !== undefined ? { maxAge } : {}),
  };
}

/**
 * What a verified request lacks of a requirement, as the answer to send; undefined when it is
 * met. `clock` is the authenticator's, in milliseconds (for `maxAge`).
 */
export function unmetRequirement(
  auth: AuthContext,
  requirement: Requirement,
  clock: () => number,
): AuthFailure | undefined {
  const { roles, scopes, amr, maxAge } = requirement;
  // RFC 9470 §3: the token is good but the log-in behind it is not strong or recent enough:
  // 401 with what would do, so that the client can log in again and retry.
  if (amr !== undefined || maxAge !== undefined) {
    const claims = auth.claims as Record<string, unknown>;
    const has = Array.isArray(claims['amr']) ? stringsOf(claims['amr'] as unknown[]) : NO_STRINGS;
    const missing = amr?.filter((m) => !has.includes(m)) ?? [];
    const at = claims['auth_time'];
    const seconds = maxAge === undefined ? undefined : parseDuration(maxAge, 'maxAge');
    const stale =
      seconds !== undefined &&
      !(typeof at === 'number' && Number.isFinite(at) && clock() / 1000 - at <= seconds);
    if (missing.length > 0 || stale) {
      const why =
        missing.length > 0
          ? `this needs a log-in with ${missing.map(named).join(' and ')}`
          : `this needs a log-in within the last ${seconds} seconds`;
      return fail(
        401,
        'insufficient_user_authentication',
        why,
        `${amr !== undefined ? `, acr_values=${quoted(amr.join(' '))}` : ''}${seconds !== undefined ? `, max_age=${quoted(String(seconds))}` : ''}`,
      ).failure;
    }
  }
  if (roles !== undefined && !roles.some((role) => auth.roles.includes(role))) {
    return fail(403, 'insufficient_scope', `this needs the role ${roles.map(named).join(' or ')}`)
      .failure;
  }
  if (scopes !== undefined) {
    const missing = scopes.filter((s) => !auth.scopes.includes(s));
    if (missing.length > 0) {
      return fail(
        403,
        'insufficient_scope',
        `this needs the scope ${missing.join(' ')}`,
        `, scope=${quoted(scopes.join(' '))}`,
      ).failure;
    }
  }
  return undefined;
}
