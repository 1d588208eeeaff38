// OAuth clients: services that get tokens of their own (RFC 6749 §4.4) and call laissez's
// OAuth endpoints. Registration (`laissez clients add`), secret rotation, and client
// authentication at the endpoints: a secret in HTTP Basic or in the form (RFC 6749 §2.3.1), or a
// JWT signed with the client's own key (`private_key_jwt`, RFC 7523 §2.2 and §3).
//
// Secrets are 256 random bits, so they are stored as a SHA-256 hash and compared in constant
// time: a slow password hash (argon2id) protects guessable secrets; a random one has nothing to
// guess, and a fast hash keeps every token request cheap.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Algorithm, Jwk, Jwks } from '@laissez/jwt';
import {
  createRemoteJwks,
  createVerifier,
  decodeUnverified,
  JwtError,
  type RemoteJwks,
} from '@laissez/jwt';
import {
  CLIENT_AUTH_METHODS,
  type Client,
  type ClientAuthMethod,
  type Store,
} from '../store/types.ts';
import { AuthServiceError } from './errors.ts';
import { FIRST_PARTY_CLIENT_ID } from './tokens.ts';

/** Grant types a registered client may be allowed (refresh tokens belong to the first party). */
export const CLIENT_GRANT_TYPES = ['client_credentials'] as const;

/** RFC 7523 §2.2. */
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Algorithms of client assertions: asymmetric only (a client's key is its own, never shared). */
export const ASSERTION_ALGORITHMS: readonly Algorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** Longest accepted client-assertion lifetime (exp - now): bounds the replay records kept. */
export const ASSERTION_MAX_LIFETIME = 600;

/** client_id: unreserved URL characters (RFC 3986 §2.3), so Basic's form-encoding is a no-op. */
const CLIENT_ID = /^[A-Za-z0-9._~-]{1,64}$/;
/** A scope token (RFC 6749 §3.3: NQCHAR without space, `"` or `\`), at most 64 characters. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,64}$/;
const MAX_SCOPES = 64;
const SECRET = /^cs_[A-Za-z0-9_-]{43}$/;

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** A new client secret: `cs_` and 256 random bits. */
export function newClientSecret(): string {
  return `cs_${randomBytes(32).toString('base64url')}`;
}

export function hashClientSecret(secret: string): string {
  return sha256(secret).toString('base64url');
}

const invalid = (field: string, why: string) =>
  new AuthServiceError('invalid_request', `${field} ${why}`, { field });

/** Scopes as a list: each a scope token (RFC 6749 §3.3), no duplicates, at most 64. */
export function checkScopes(scopes: readonly string[], field = 'scopes'): string[] {
  if (scopes.length > MAX_SCOPES) throw invalid(field, `may hold at most ${MAX_SCOPES} scopes`);
  for (const scope of scopes) {
    if (!SCOPE_TOKEN.test(scope)) {
      throw invalid(field, 'must be scope tokens: 1 to 64 printable ASCII characters, no space');
    }
  }
  return [...new Set(scopes)];
}

export interface NewClientInput {
  id: string;
  name?: string;
  scopes?: readonly string[];
  grantTypes?: readonly string[];
  authMethod?: ClientAuthMethod;
  /** private_key_jwt: the client's public keys, as a JWK Set (object or JSON text). */
  jwks?: Jwks | string;
  /** private_key_jwt: an https URL of the client's JWK Set. */
  jwksUri?: string;
}

/** A JWK Set of public signature keys, as JSON text. */
function checkJwks(input: Jwks | string): string {
  let set: unknown;
  try {
    set = typeof input === 'string' ? JSON.parse(input) : input;
  } catch {
    throw invalid('jwks', 'is not valid JSON');
  }
  const keys = (set as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 16) {
    throw invalid('jwks', 'must be a JWK Set ({"keys": [...]}) of 1 to 16 keys');
  }
  for (const key of keys as Jwk[]) {
    if (key === null || typeof key !== 'object' || !['RSA', 'EC', 'OKP'].includes(key.kty)) {
      throw invalid('jwks', 'must hold RSA, EC or OKP public keys');
    }
    // A private member in a public set is the client's secret sent to the wrong place.
    for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
      if (part in key) throw invalid('jwks', 'must hold public keys only (no private members)');
    }
  }
  return JSON.stringify({ keys });
}

function checkJwksUri(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw invalid('jwksUri', 'is not a URL');
  }
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) || url.username) {
    throw invalid('jwksUri', 'must be an https URL (http only on loopback)');
  }
  return url.href;
}

/**
 * Registers a client. Returns it with its secret (shown once; only its hash is stored) for the
 * secret methods. A taken id is `invalid_request` on `id`.
 */
export async function registerClient(
  store: Store,
  input: NewClientInput,
  now: number,
): Promise<{ client: Client; secret: string | null }> {
  if (typeof input.id !== 'string' || !CLIENT_ID.test(input.id)) {
    throw invalid('id', 'must be 1 to 64 letters, digits, ".", "_", "~" or "-"');
  }
  if (input.id === FIRST_PARTY_CLIENT_ID) {
    throw invalid('id', `"${FIRST_PARTY_CLIENT_ID}" is the first-party client's id`);
  }
  const name = input.name ?? input.id;
  if (name.length === 0 || name.length > 100 || /\p{Cc}/u.test(name)) {
    throw invalid('name', 'must be 1 to 100 characters, no control characters');
  }
  const authMethod = input.authMethod ?? 'client_secret_basic';
  if (!(CLIENT_AUTH_METHODS as readonly string[]).includes(authMethod)) {
    throw invalid('authMethod', `must be one of ${CLIENT_AUTH_METHODS.join(', ')}`);
  }
  const grantTypes = [...new Set(input.grantTypes ?? ['client_credentials'])];
  for (const grant of grantTypes) {
    if (!(CLIENT_GRANT_TYPES as readonly string[]).includes(grant)) {
      throw invalid('grantTypes', `must be among ${CLIENT_GRANT_TYPES.join(', ')}`);
    }
  }
  const keyed = authMethod === 'private_key_jwt';
  if (keyed !== (input.jwks !== undefined || input.jwksUri !== undefined)) {
    throw invalid(
      keyed ? 'jwks' : 'authMethod',
      keyed
        ? 'or jwksUri is required with private_key_jwt'
        : 'must be private_key_jwt to register keys',
    );
  }
  if (input.jwks !== undefined && input.jwksUri !== undefined) {
    throw invalid('jwks', 'and jwksUri both give the keys: keep one');
  }
  const secret = keyed ? null : newClientSecret();
  const client: Client = {
    id: input.id,
    name,
    secretHash: secret === null ? null : hashClientSecret(secret),
    scopes: checkScopes(input.scopes ?? []),
    grantTypes,
    authMethod,
    jwks: input.jwks === undefined ? null : checkJwks(input.jwks),
    jwksUri: input.jwksUri === undefined ? null : checkJwksUri(input.jwksUri),
    createdAt: now,
    secretRotatedAt: null,
  };
  if (!(await store.createClient(client))) throw invalid('id', 'is taken by another client');
  return { client, secret };
}

/** Gives a secret client a new secret (the old one stops working at once); null if unknown. */
export async function rotateClientSecret(
  store: Store,
  id: string,
  now: number,
): Promise<string | null> {
  const client = await store.findClient(id);
  if (!client) return null;
  if (client.authMethod === 'private_key_jwt') {
    throw invalid('id', 'names a private_key_jwt client: it has keys, not a secret');
  }
  const secret = newClientSecret();
  return (await store.setClientSecret(id, hashClientSecret(secret), now)) ? secret : null;
}

/** What a request to an OAuth endpoint says about its client. */
export interface ClientCredentials {
  /** The Authorization header, if any. */
  authorization: string | undefined;
  /** The form's client_id, client_secret, client_assertion_type and client_assertion. */
  form: Readonly<Record<string, string>>;
}

/** Who the client proved to be, and how. */
export interface AuthenticatedClient {
  /** The registered client, or null for the public first-party client. */
  client: Client | null;
  clientId: string;
  method: ClientAuthMethod | 'none';
}

/**
 * `invalid_client` (RFC 6749 §5.2): 401, with a Basic challenge when the client tried Basic.
 * The description never says whether the client exists.
 */
export class InvalidClientError extends AuthServiceError {
  readonly basic: boolean;
  constructor(description: string, basic: boolean) {
    super('invalid_client', description);
    this.basic = basic;
  }
}

export interface ClientAuthenticatorOptions {
  store: Store;
  issuer: string;
  /** The token endpoint's URL: the audience of client assertions (RFC 7523 §3, item 3). */
  tokenEndpoint: string;
  /**
   * The public first-party client's id (the server's firstPartyClientId). Default `laissez`.
   * A request naming it with no credentials is that client, where `allowPublic` lets it in.
   */
  firstPartyClientId?: string;
  now: () => number;
  /** For tests: how remote client JWK Sets are fetched, and whether http is allowed. */
  remoteJwks?: { fetch?: typeof fetch; allowHttp?: boolean };
}

/** Decodes one form-encoded part of Basic credentials (RFC 6749 §2.3.1, Appendix B). */
function formDecode(text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** A digest to compare against when the client is unknown, so both paths cost the same. */
const DUMMY_HASH = sha256('laissez: no such client');

export class ClientAuthenticator {
  readonly #o: ClientAuthenticatorOptions;
  /** Remote JWK Sets by URL (a few clients; each cached as its Cache-Control says). */
  readonly #remote = new Map<string, RemoteJwks>();

  constructor(options: ClientAuthenticatorOptions) {
    this.#o = options;
  }

  /**
   * Authenticates the client of a request: exactly one method (RFC 6749 §2.3), the one the
   * client is registered for. With `allowPublic`, a request naming only the first-party client's
   * id (`client_id=laissez` by default) is that public client.
   */
  async authenticate(
    request: ClientCredentials,
    options: { allowPublic: boolean },
  ): Promise<AuthenticatedClient> {
    const { form } = request;
    const header = request.authorization;
    const basic = header !== undefined && /^basic /i.test(header);
    const methods = [
      basic,
      form['client_secret'] !== undefined,
      form['client_assertion'] !== undefined || form['client_assertion_type'] !== undefined,
    ].filter(Boolean).length;
    if (methods > 1) {
      throw new AuthServiceError(
        'invalid_request',
        'use one client authentication method per request (RFC 6749 §2.3)',
      );
    }
    if (basic) return this.#secret(header.slice(6).trim(), form['client_id']);
    if (form['client_secret'] !== undefined) {
      return this.#checkSecret(
        form['client_id'],
        form['client_secret'],
        'client_secret_post',
        false,
      );
    }
    if (form['client_assertion'] !== undefined || form['client_assertion_type'] !== undefined) {
      return this.#assertion(form);
    }
    const id = form['client_id'];
    if (options.allowPublic && id === (this.#o.firstPartyClientId ?? FIRST_PARTY_CLIENT_ID)) {
      return { client: null, clientId: id, method: 'none' };
    }
    throw new InvalidClientError(
      id === undefined
        ? 'client authentication is required'
        : 'the client is unknown or did not authenticate',
      false,
    );
  }

  async #secret(encoded: string, formId: string | undefined): Promise<AuthenticatedClient> {
    const decoded = /^[A-Za-z0-9+/]+={0,2}$/.test(encoded)
      ? Buffer.from(encoded, 'base64').toString('utf8')
      : '';
    const colon = decoded.indexOf(':');
    const id = colon > 0 ? formDecode(decoded.slice(0, colon)) : null;
    const secret = colon > 0 ? formDecode(decoded.slice(colon + 1)) : null;
    if (id === null || secret === null) {
      throw new InvalidClientError('the Basic credentials are malformed', true);
    }
    if (formId !== undefined && formId !== id) {
      throw new AuthServiceError(
        'invalid_request',
        'client_id in the form differs from the Basic credentials',
      );
    }
    return this.#checkSecret(id, secret, 'client_secret_basic', true);
  }

  async #checkSecret(
    id: string | undefined,
    secret: string,
    method: 'client_secret_basic' | 'client_secret_post',
    basic: boolean,
  ): Promise<AuthenticatedClient> {
    const client =
      id !== undefined && CLIENT_ID.test(id) ? await this.#o.store.findClient(id) : null;
    const stored =
      client?.secretHash != null ? Buffer.from(client.secretHash, 'base64url') : DUMMY_HASH;
    const same =
      stored.length === 32 && timingSafeEqual(sha256(secret), stored) && SECRET.test(secret);
    if (!client || !same || client.secretHash === null) {
      throw new InvalidClientError('the client is unknown or the secret is wrong', basic);
    }
    if (client.authMethod !== method) {
      throw new InvalidClientError(
        `the client is registered for ${client.authMethod}, not ${method}`,
        basic,
      );
    }
    return { client, clientId: client.id, method };
  }

  /** RFC 7523 §3: iss = sub = client_id, aud this server, exp soon, jti used once. */
  async #assertion(form: Readonly<Record<string, string>>): Promise<AuthenticatedClient> {
    const fail = (why: string) => new InvalidClientError(why, false);
    if (form['client_assertion_type'] !== CLIENT_ASSERTION_TYPE) {
      throw fail(`client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
    }
    const assertion = form['client_assertion'];
    if (assertion === undefined) throw fail('client_assertion is missing');
    let claimed: unknown;
    try {
      claimed = decodeUnverified(assertion, { maxTokenLength: 8192 }).payload['sub'];
    } catch {
      throw fail('the client assertion is not a JWT');
    }
    if (typeof claimed !== 'string' || !CLIENT_ID.test(claimed)) {
      throw fail('the client assertion names no client (sub)');
    }
    if (form['client_id'] !== undefined && form['client_id'] !== claimed) {
      throw fail('client_id differs from the client assertion');
    }
    const client = await this.#o.store.findClient(claimed);
    if (client?.authMethod !== 'private_key_jwt') {
      throw fail('the client is unknown or not registered for private_key_jwt');
    }
    const { issuer, tokenEndpoint, now } = this.#o;
    let payload: Record<string, unknown>;
    try {
      const verified = await createVerifier({
        key: this.#keysOf(client),
        algorithms: [...ASSERTION_ALGORITHMS],
        issuer: client.id,
        subject: client.id,
        // The token endpoint (RFC 7523 §3) or the issuer identifier (what current clients send,
        // and what RFC 7523bis requires): nothing else, so an assertion made for another server
        // is refused here.
        audience: [tokenEndpoint, issuer],
        requiredClaims: ['jti', 'exp'],
        now,
        cache: false,
      })(assertion);
      payload = verified.payload as Record<string, unknown>;
    } catch (error) {
      if (error instanceof JwtError && error.code === 'ERR_JWKS_UNAVAILABLE') {
        throw new AuthServiceError(
          'temporarily_unavailable',
          "the client's keys cannot be fetched; try again shortly",
        );
      }
      throw fail('the client assertion is not valid');
    }
    const exp = payload['exp'] as number;
    const jti = payload['jti'];
    const at = now();
    if (exp * 1000 - at > ASSERTION_MAX_LIFETIME * 1000) {
      throw fail(`the client assertion must expire within ${ASSERTION_MAX_LIFETIME} seconds`);
    }
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
      throw fail('the client assertion needs a jti of at most 256 characters');
    }
    if (!(await this.#o.store.useClientAssertion(client.id, jti, exp * 1000 + 60_000, at))) {
      throw fail('the client assertion was already used');
    }
    return { client, clientId: client.id, method: 'private_key_jwt' };
  }

  #keysOf(client: Client): Jwks | RemoteJwks {
    if (client.jwks !== null) return JSON.parse(client.jwks) as Jwks;
    const url = client.jwksUri!;
    let remote = this.#remote.get(url);
    if (!remote) {
      if (this.#remote.size >= 256) this.#remote.clear();
      const { fetch, allowHttp } = this.#o.remoteJwks ?? {};
      remote = createRemoteJwks(url, {
        ...(fetch ? { fetch } : {}),
        ...(allowHttp ? { allowHttp } : {}),
      });
      this.#remote.set(url, remote);
    }
    return remote;
  }
}
