// Accounts: the checks a new account passes (username, email, roles, password policy) and its
// storage. No HTTP, no SQL: `POST /auth/register` and `laissez users add` both come here.
import { randomBytes } from 'node:crypto';
import { ConflictError, type NewUser, type Store, type User } from '../store/types.ts';
import { usernameKey } from '../store/username-key.ts';
import { AuthServiceError } from './errors.ts';
import { type Argon2Params, hashPassword, PASSWORD_MAX, PASSWORD_MIN } from './password.ts';
import {
  type BreachedPasswordOptions,
  checkPasswordStrength,
  isBreachedPassword,
} from './password-policy.ts';
import { checkUsername } from './username.ts';

export interface PublicUser {
  id: string;
  username: string;
  email: string;
  roles: readonly string[];
  email_verified: boolean;
  created_at: string;
}

// Deliberately plain: one @, no spaces or controls, a dot in the domain. Delivery proves the rest.
const EMAIL = /^[^\s@\p{C}]{1,64}@[^\s@\p{C}]+\.[^\s@\p{C}]+$/u;
export const ROLE = /^[a-z][a-z0-9_:-]{0,31}$/;

/** A random id (72 bits by default), base64url. */
export const newId = (bytes = 9) => randomBytes(bytes).toString('base64url');

export function toPublicUser(user: User): PublicUser {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    roles: user.roles,
    email_verified: user.emailVerified,
    created_at: new Date(user.createdAt).toISOString(),
  };
}

/** The characters of a string as a person counts them (code points). */
export const length = (text: string) => [...text].length;

export function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string')
    throw new AuthServiceError('invalid_request', `${field} must be a string`, { field });
  return value;
}

/**
 * A password string that is well-formed Unicode: a lone surrogate would be encoded as U+FFFD,
 * so two different strings would hash alike; such a string is refused, never replaced.
 */
export function requirePassword(value: unknown): string {
  const password = requireString(value, 'password');
  if (!password.isWellFormed()) {
    throw new AuthServiceError(
      'invalid_request',
      'password must be well-formed Unicode (it contains a lone surrogate)',
      { field: 'password' },
    );
  }
  return password;
}

/** Checks a password's type and length (code points, exactly as typed). */
export function checkPassword(value: unknown): string {
  const password = requirePassword(value);
  const n = length(password);
  if (n < PASSWORD_MIN || n > PASSWORD_MAX) {
    throw new AuthServiceError(
      'invalid_request',
      `password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`,
      { field: 'password' },
    );
  }
  return password;
}

/** An email address as stored (NFC, lower-cased), or `invalid_request` naming the field. */
export function checkEmail(value: unknown, field = 'email'): string {
  const email = requireString(value, field).normalize('NFC').toLowerCase();
  if (email.length > 254 || !EMAIL.test(email)) {
    throw new AuthServiceError(
      'invalid_request',
      'email must be an address like name@example.com',
      {
        field,
      },
    );
  }
  return email;
}

export interface AccountInput {
  username: unknown;
  email: unknown;
  password: unknown;
  roles: readonly string[];
  passwordParams: Argon2Params;
  now: number;
  /** Also refuse passwords this range service lists as breached. */
  breachedPasswords?: BreachedPasswordOptions | undefined;
}

/**
 * Validates a new account and hashes its password: the slow half of registration, safe to run
 * several at once. `insertUserAccount` stores the result.
 * @throws AuthServiceError `invalid_request` or `weak_password`, naming the field.
 */
export async function prepareUserAccount(input: AccountInput): Promise<NewUser> {
  const username = checkUsername(requireString(input.username, 'username'));
  const email = checkEmail(input.email);
  for (const role of input.roles) {
    if (!ROLE.test(role)) {
      throw new AuthServiceError(
        'invalid_request',
        'a role is 1 to 32 lower-case letters, digits, "_", ":" or "-", starting with a letter',
        { field: 'roles' },
      );
    }
  }
  const password = checkPassword(input.password);
  await checkPasswordStrength(password, { username: usernameKey(username), email });
  if (input.breachedPasswords && (await isBreachedPassword(password, input.breachedPasswords))) {
    throw new AuthServiceError(
      'weak_password',
      'password appears in known data breaches; choose another',
      { field: 'password' },
    );
  }
  return {
    id: newId(),
    username,
    email,
    passwordHash: await hashPassword(password, input.passwordParams),
    roles: [...new Set(input.roles)],
    createdAt: input.now,
  };
}

/**
 * Stores a prepared account.
 * @throws AuthServiceError `username_taken` or `email_taken`.
 */
export async function insertUserAccount(store: Store, user: NewUser): Promise<User> {
  try {
    return await store.createUser(user);
  } catch (error) {
    if (error instanceof ConflictError) {
      throw new AuthServiceError(
        error.field === 'username' ? 'username_taken' : 'email_taken',
        `that ${error.field} is already registered`,
        { field: error.field },
      );
    }
    throw error;
  }
}

/**
 * Validates and stores a new user with a hashed password: what `POST /auth/register` does (after
 * its rate limit) and what `laissez users add` does.
 */
export async function createUserAccount(store: Store, input: AccountInput): Promise<User> {
  return insertUserAccount(store, await prepareUserAccount(input));
}
