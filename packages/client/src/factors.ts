// The proofs a log-in takes besides the password: the second step's (a TOTP code, a recovery code
// or a passkey), and the passkeys' own ceremonies (log-in, registration). A passkey is a round trip:
// options from the server, the browser's WebAuthn (webauthn.ts), the credential back.

import { readJson } from './errors.ts';
import type { Requests } from './requests.ts';
import { createCredential, getAssertion } from './webauthn.ts';

/** The log-in's second step (`verifySecondFactor`): the `mfaToken` and one proof. */
export type SecondFactor =
  | { mfaToken: string; code: string }
  | { mfaToken: string; recoveryCode: string }
  | { mfaToken: string; passkey: true; signal?: AbortSignal };

/** A passkey as `GET /auth/passkeys` lists it. */
export interface PasskeySummary {
  id: string;
  name: string;
  transports: string[];
  backed_up: boolean;
  created_at: string;
  last_used_at: string | null;
}

/**
 * The body of `POST /auth/mfa/verify` for `step`; a passkey first asks the server for its options
 * (`/auth/mfa/passkey/options`) and the browser for an assertion.
 */
export async function secondFactorBody(
  step: SecondFactor,
  requests: Requests,
): Promise<Record<string, unknown>> {
  const mfaToken = step.mfaToken;
  let proof: Record<string, unknown>;
  if ('passkey' in step && step.passkey === true) {
    const options = { mfa_token: mfaToken };
    proof = {
      credential: await assertionFor(requests, 'auth/mfa/passkey/options', options, step.signal),
    };
  } else if ('recoveryCode' in step && typeof step.recoveryCode === 'string') {
    proof = { recovery_code: step.recoveryCode.trim() };
  } else if ('code' in step && typeof step.code === 'string') {
    proof = { code: step.code.replace(/\s+/g, '') };
  } else {
    throw new TypeError('verifySecondFactor needs a code, a recoveryCode or passkey: true');
  }
  return { mfa_token: mfaToken, ...proof };
}

/** The browser's assertion for the options the auth server answers a POST of `body` to `path`. */
export async function assertionFor(
  requests: Requests,
  path: string,
  body: object,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  const asked = await requests.auth(path, body);
  const json = (await asked.json()) as Record<string, unknown>;
  return getAssertion(json, signal);
}

/**
 * Registers a passkey for the signed-in user through `send` (the client's `fetch`, which carries
 * the access token): options, the browser's `navigator.credentials.create`, the credential back.
 */
export async function registerPasskey(
  send: (url: URL, init: RequestInit) => Promise<Response>,
  base: URL,
  options: { name?: string; signal?: AbortSignal },
): Promise<PasskeySummary> {
  const asked = await send(new URL('auth/passkeys/register/options', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  const json = (await readJson(asked)) as Record<string, unknown>;
  const credential = await createCredential(json, options.signal);
  const name = options.name?.trim();
  const response = await send(new URL('auth/passkeys/register', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(name ? { credential, name } : { credential }),
  });
  return ((await readJson(response)) as { passkey: PasskeySummary }).passkey;
}
