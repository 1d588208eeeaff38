// App metadata: per-user JSON that administrators set (`PUT /admin/users/:id/app-metadata`,
// `laissez users set-metadata`) and users never can, read by the claims function to put a tenant,
// a plan or permissions in the user's access tokens. A JSON object of bounded size, of JSON's own
// values only, that every store keeps exactly (PostgreSQL's JSONB refuses U+0000 in text).
import type { Store } from '../store/types.ts';
import { AuthServiceError } from './errors.ts';
import { jsonProblem } from './tokens.ts';

/** The largest app metadata, in bytes of its JSON text. */
export const APP_METADATA_MAX_BYTES = 4096;

function hasNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value === null || typeof value !== 'object') return false;
  const entries = Array.isArray(value) ? value.map((v) => ['', v]) : Object.entries(value);
  return entries.some(([name, v]) => (name as string).includes('\u0000') || hasNul(v));
}

/** The metadata checked (`invalid_request` says what is wrong), as stored: a plain JSON object. */
export function checkAppMetadata(value: unknown): Record<string, unknown> {
  const refuse = (why: string) =>
    new AuthServiceError('invalid_request', `app_metadata ${why}`, { field: 'app_metadata' });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw refuse('must be a JSON object');
  }
  const problem = jsonProblem(value);
  if (problem) throw refuse(problem);
  if (hasNul(value)) throw refuse('must not hold U+0000');
  const text = JSON.stringify(value);
  const size = Buffer.byteLength(text);
  if (size > APP_METADATA_MAX_BYTES) {
    throw refuse(`is ${size} bytes of JSON; at most ${APP_METADATA_MAX_BYTES}`);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Replaces a user's app metadata. False when there is no such user. Tokens issued before keep
 * what they carry until they expire; the next log-in or refresh sees the new metadata.
 */
export async function setAppMetadata(
  store: Store,
  userId: string,
  metadata: unknown,
  now: number,
): Promise<boolean> {
  return store.setUserAppMetadata(userId, checkAppMetadata(metadata), now);
}
