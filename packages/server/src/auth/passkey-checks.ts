// What the passkey ceremonies refuse, and how they say it: a passkey's name, the errors of the
// WebAuthn library put in a few words, and the reason a `passkey_refused` event gives.
import { AuthServiceError } from './errors.ts';

/** A passkey's name, in characters. */
export const PASSKEY_NAME_MAX = 64;
/** WebAuthn §5.4.3: a credential id is at most 1023 bytes; base64url of that is 1364. */
export const CREDENTIAL_ID_MAX = 1364;

/** A refused registration or assertion (`invalid_passkey`), saying why. */
export const refusedPasskey = (why: string) => new AuthServiceError('invalid_passkey', why);

export const passkeyNotFound = () =>
  new AuthServiceError('passkey_not_found', 'you have no passkey with this id');

/** A passkey's name as kept: NFC, trimmed, 1 to PASSKEY_NAME_MAX characters, no control ones. */
export function checkPasskeyName(name: unknown): string {
  if (typeof name !== 'string') {
    throw new AuthServiceError('invalid_request', 'name must be a string', { field: 'name' });
  }
  const text = name.normalize('NFC').trim();
  // Control characters would reach pages and logs as they are.
  if (text.length === 0 || [...text].length > PASSKEY_NAME_MAX || /\p{Cc}/u.test(text)) {
    throw new AuthServiceError(
      'invalid_request',
      `name must be 1 to ${PASSKEY_NAME_MAX} characters, without control characters`,
      { field: 'name' },
    );
  }
  return text;
}

/**
 * Why the library refused, in a few words: its messages name the check (origin, RP ID, type,
 * signature…) and carry values the client sent itself, never a secret; cut to stay short.
 */
export function libraryReason(error: unknown): string {
  const message = error instanceof Error ? error.message : 'malformed';
  return message.replace(/[\p{Cc}]/gu, ' ').slice(0, 200);
}

/** Why an assertion of a registered passkey was refused, as `passkey_refused` says it. */
export type PasskeyRefusal =
  | 'origin'
  | 'rp_id'
  | 'challenge'
  | 'signature'
  | 'user_handle'
  | 'user_verification'
  | 'malformed';

/**
 * The check the library's error names (WebAuthn §7.2 steps 13, 15, 16/17): by its error code
 * for the origin and the RP ID hash; the flags by their message; the rest is a malformed
 * assertion (a signature that cannot even be parsed included).
 */
export function refusalOf(error: unknown): PasskeyRefusal {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'UNEXPECTED_ORIGIN') return 'origin';
  if (code === 'UNEXPECTED_RP_ID') return 'rp_id';
  const message = error instanceof Error ? error.message : '';
  // A cross-origin response (an iframe's top origin, WebAuthn §5.8.1): an origin refused too.
  if (/\btop origin\b/.test(message)) return 'origin';
  if (/^User (not present|verification required)/.test(message)) return 'user_verification';
  return 'malformed';
}
