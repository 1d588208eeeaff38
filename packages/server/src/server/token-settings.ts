// The rules of the token settings (src/server/settings.ts): role scopes as command-line text and
// as the library's object, the first-party client id, and the claims module, loaded once at start.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkRoleScopes, type RoleScopes } from '../auth/scopes.ts';
import type { ClaimsFunction } from '../auth/tokens.ts';
import type { Naming } from './options.ts';

/**
 * `--role-scopes 'user=notes:read notes:write;admin=admin'`: `role=scopes` pairs separated by
 * `;`, the scopes space-separated (RFC 6749 §3.3), as a role-to-scopes object.
 */
export function roleScopesText(text: string, name: string): RoleScopes | undefined {
  if (text.trim() === '') return undefined;
  const scopes: Record<string, string[]> = {};
  for (const pair of text.split(';')) {
    if (pair.trim() === '') continue;
    const match = /^\s*([^=\s]+)\s*=(.*)$/.exec(pair);
    if (!match) {
      throw new Error(
        `${name} must be role=scope scope;role=scope… (e.g. "user=notes:read;admin=admin") (got ${JSON.stringify(pair.slice(0, 60))})`,
      );
    }
    const [, role = '', list = ''] = match;
    scopes[role] = [...(scopes[role] ?? []), ...list.split(' ').filter((s) => s !== '')];
  }
  return scopes;
}

export function roleScopesCheck(value: unknown, n: Naming, option: string): void {
  try {
    checkRoleScopes(value, n.name(option));
  } catch (error) {
    throw n.fail((error as Error).message);
  }
}

/** RFC 6749 §2.2 / Appendix A.1: a client_id is visible ASCII (VSCHAR); at most 128 here. */
export function clientIdCheck(value: unknown, n: Naming, option: string): void {
  if (typeof value !== 'string' || !/^[\x20-\x7e]{1,128}$/.test(value) || value.trim() !== value) {
    throw n.fail(
      `${n.name(option)} must be 1 to 128 visible ASCII characters (RFC 6749 §2.2)${n.got(option, value)}`,
    );
  }
}

/**
 * The claims function of a module (`--claims-module`): its default export, loaded once. A module
 * that cannot be loaded, or whose default export is not a function, stops the start.
 */
export async function loadClaimsModule(path: string): Promise<ClaimsFunction> {
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
  } catch (error) {
    throw new Error(
      `the claims module ${JSON.stringify(path)} could not be loaded: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (typeof module.default !== 'function') {
    throw new Error(
      `the claims module ${JSON.stringify(path)} must export a function as its default export: export default ({ user, session, request, client_id, scope }) => ({ ... })`,
    );
  }
  return module.default as ClaimsFunction;
}
