// The records the conformance suite writes, with random ids so that the suite never assumes an
// empty database, and what its parts share: the suite's store and two shortcuts over it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  ConflictError,
  type NewRefreshToken,
  type NewUser,
  type SigningKey,
  type Store,
  type User,
} from '../types.ts';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export const rid = (prefix: string) => `${prefix}${randomBytes(9).toString('base64url')}`;

export function newUser(overrides: Partial<NewUser> = {}): NewUser {
  const tag = randomBytes(6).toString('hex');
  return {
    id: rid('u_'),
    username: `User_${tag}`,
    email: `Mail.${tag}@Example.COM`,
    passwordHash: `$argon2id$v=19$m=65536,t=3,p=4$${tag}$hash`,
    roles: ['user'],
    createdAt: Date.now(),
    ...overrides,
  };
}

export function newToken(
  userId: string,
  overrides: Partial<NewRefreshToken> = {},
): NewRefreshToken {
  const now = Date.now();
  return {
    tokenHash: rid('rt_'),
    familyId: rid('f_'),
    userId,
    createdAt: now,
    expiresAt: now + 30 * DAY,
    scope: 'notes:read notes:write',
    authTime: now,
    jkt: null,
    ...overrides,
  };
}

/** The successor the auth service would make: same family, same user, same absolute expiry. */
export function successorOf(token: NewRefreshToken, now: number): NewRefreshToken {
  return { ...token, tokenHash: rid('rt_'), createdAt: now };
}

export function newKey(overrides: Partial<SigningKey> = {}): SigningKey {
  const kid = rid('k_');
  const createdAt = overrides.createdAt ?? Date.now();
  return {
    kid,
    alg: 'ES256',
    privateJwk: JSON.stringify({ kty: 'EC', crv: 'P-256', kid, d: 'private', x: 'x', y: 'y' }),
    publicJwk: JSON.stringify({ kty: 'EC', crv: 'P-256', kid, x: 'x', y: 'y' }),
    createdAt,
    activatesAt: createdAt,
    retiresAt: null,
    ...overrides,
  };
}

export function isConflict(field: 'username' | 'email') {
  return (error: unknown) => {
    assert.ok(error instanceof ConflictError, `expected a ConflictError, got ${String(error)}`);
    assert.equal(error.name, 'ConflictError');
    assert.equal(error.field, field);
    return true;
  };
}

/** What the parts of the suite share: the store under test, migrated, and two shortcuts. */
export interface Suite {
  /** The store most tests share; set once the suite has opened and migrated it. */
  store(): Store;
  /** Creates a user with random, unique names. */
  createUser(overrides?: Partial<NewUser>): Promise<User>;
  /** A user with one stored refresh token (a fresh log-in). */
  logIn(overrides?: Partial<NewRefreshToken>): Promise<{ user: User; token: NewRefreshToken }>;
}
