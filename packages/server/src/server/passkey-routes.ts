// The passkey routes (/auth/passkeys/…): a signed-in user's registration ceremony and list
// (rename, remove), and the passwordless log-in ceremony. Registered by authRoutes with its
// token delivery and its authenticate hook, so a passkey log-in answers as a password log-in.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CREDENTIAL_ID_MAX, PASSKEY_NAME_MAX } from '../auth/passkeys.ts';
import type { AuthRouteHelpers } from './auth-helpers.ts';
import { scopeField, tokenSchema } from './auth-schemas.ts';
import {
  BEARER,
  defined,
  errors,
  noStore,
  requestContextOf,
  strictObject,
} from './route-common.ts';

/** What the passkey routes use of authRoutes' helpers (auth-helpers.ts). */
export type PasskeyRouteHelpers = Pick<AuthRouteHelpers, 'authenticate' | 'authOf' | 'deliver'>;

/** base64url, bounded: what every binary member of a WebAuthn JSON response is. */
const b64 = (maxLength: number) =>
  ({ type: 'string', minLength: 1, maxLength, pattern: '^[A-Za-z0-9_-]+$' }) as const;
const credentialId = b64(CREDENTIAL_ID_MAX);
const name = { type: 'string', minLength: 1, maxLength: PASSKEY_NAME_MAX } as const;

/**
 * A PublicKeyCredential as JSON (WebAuthn §5.1, `toJSON()`; what @simplewebauthn/browser
 * returns). Members the spec may add later pass; the body limit bounds the whole.
 */
const credential = (response: Record<string, unknown>, required: string[]) =>
  ({
    type: 'object',
    required: ['id', 'rawId', 'type', 'response'],
    properties: {
      id: credentialId,
      rawId: credentialId,
      type: { type: 'string', enum: ['public-key'] },
      authenticatorAttachment: { type: 'string', maxLength: 32 },
      clientExtensionResults: { type: 'object' },
      response: { type: 'object', required, properties: response },
    },
  }) as const;
const registration = credential(
  {
    clientDataJSON: b64(4096),
    attestationObject: b64(12288),
    authenticatorData: b64(8192),
    publicKey: b64(2048),
    publicKeyAlgorithm: { type: 'integer' },
    transports: { type: 'array', maxItems: 8, items: { type: 'string', maxLength: 32 } },
  },
  ['clientDataJSON', 'attestationObject'],
);
/** An assertion (navigator.credentials.get()): a passkey log-in, or a log-in's second step. */
export const assertion = credential(
  {
    clientDataJSON: b64(4096),
    authenticatorData: b64(4096),
    // ML-DSA-87 (FIPS 204) signatures are 4627 bytes: 6170 characters in base64url.
    signature: b64(8192),
    userHandle: b64(128),
  },
  ['clientDataJSON', 'authenticatorData', 'signature'],
);

const passkeySchema = {
  type: 'object',
  required: ['id', 'name', 'transports', 'backed_up', 'created_at', 'last_used_at'],
  properties: {
    id: { type: 'string', description: 'The credential id (base64url).' },
    name: { type: 'string' },
    transports: { type: 'array', items: { type: 'string' } },
    backed_up: {
      type: 'boolean',
      description: 'Synced to a provider (WebAuthn backup state), as of its last use.',
    },
    created_at: { type: 'string', format: 'date-time' },
    last_used_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

/** WebAuthn options as the browser takes them (PublicKeyCredential*OptionsJSON). */
export const optionsSchema = {
  type: 'object',
  additionalProperties: true,
  required: ['challenge'],
  properties: { challenge: { type: 'string' }, rpId: { type: 'string' } },
  description:
    'Options for navigator.credentials.create() or .get() (WebAuthn §5.4, §5.5), as JSON: pass to PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON or @simplewebauthn/browser. The challenge is single-use and lives 5 minutes.',
} as const;

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: credentialId },
} as const;

export async function passkeyRoutes(app: FastifyInstance, h: PasskeyRouteHelpers): Promise<void> {
  await ownPasskeyRoutes(app, h);
  await passkeyLoginRoutes(app, h);
}

/** A signed-in user's passkeys: the registration ceremony, the list, rename and removal. */
async function ownPasskeyRoutes(app: FastifyInstance, h: PasskeyRouteHelpers): Promise<void> {
  const { auth } = app;
  const bearer = { preValidation: h.authenticate } as const;
  const claimsOf = (request: FastifyRequest) => h.authOf(request).claims;

  app.post(
    '/auth/passkeys/register/options',
    {
      ...bearer,
      schema: {
        summary: 'Start adding a passkey: options for navigator.credentials.create()',
        security: BEARER,
        response: { 200: optionsSchema, ...errors(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      noStore(reply);
      return auth.passkeys.registrationOptions(claimsOf(request));
    },
  );

  app.post(
    '/auth/passkeys/register',
    {
      ...bearer,
      schema: {
        summary: 'Finish adding a passkey: the credential navigator.credentials.create() made',
        security: BEARER,
        body: strictObject(['credential'], { credential: registration, name }),
        response: {
          201: { type: 'object', required: ['passkey'], properties: { passkey: passkeySchema } },
          ...errors(400, 401, 403, 409, 429),
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { credential: unknown; name?: string };
      const passkey = await auth.passkeys.register(claimsOf(request), body.credential, body.name);
      noStore(reply);
      return reply.code(201).send({ passkey });
    },
  );

  app.get(
    '/auth/passkeys',
    {
      ...bearer,
      schema: {
        summary: "The user's passkeys, oldest first",
        security: BEARER,
        response: {
          200: {
            type: 'object',
            required: ['passkeys'],
            properties: { passkeys: { type: 'array', items: passkeySchema } },
          },
          ...errors(401, 403, 429),
        },
      },
    },
    async (request, reply) => {
      noStore(reply);
      return { passkeys: await auth.passkeys.list(claimsOf(request)) };
    },
  );

  app.patch(
    '/auth/passkeys/:id',
    {
      ...bearer,
      schema: {
        summary: 'Rename one of your passkeys',
        security: BEARER,
        params: idParams,
        body: strictObject(['name'], { name }),
        response: { ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const { name: given } = request.body as { name: string };
      await auth.passkeys.rename(claimsOf(request), id, given);
      return reply.code(204).send();
    },
  );

  app.delete(
    '/auth/passkeys/:id',
    {
      ...bearer,
      schema: {
        summary: 'Remove one of your passkeys',
        security: BEARER,
        params: idParams,
        response: { ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      await auth.passkeys.remove(claimsOf(request), id);
      return reply.code(204).send();
    },
  );
}

/** The passwordless log-in ceremony: options, then the assertion for tokens. */
async function passkeyLoginRoutes(app: FastifyInstance, h: PasskeyRouteHelpers): Promise<void> {
  const { auth } = app;
  app.post(
    '/auth/passkeys/login/options',
    {
      schema: {
        summary: 'Start a passwordless log-in: options for navigator.credentials.get()',
        response: { 200: optionsSchema, ...errors(429, 503) },
      },
    },
    async (request, reply) => {
      noStore(reply);
      return auth.passkeys.loginOptions(request.ip);
    },
  );

  app.post(
    '/auth/passkeys/login',
    {
      schema: {
        summary: 'Log in with a passkey: the assertion navigator.credentials.get() made',
        body: strictObject(['credential'], { credential: assertion, scope: scopeField }),
        response: { 200: tokenSchema, ...errors(400, 401, 403, 429, 503) },
      },
    },
    async (request, reply) => {
      const body = request.body as { credential: unknown; scope?: string };
      const result = await auth.passkeys.login({
        response: body.credential,
        ip: request.ip,
        userAgent: request.headers['user-agent'],
        request: requestContextOf(request),
        ...defined({ scope: body.scope }),
      });
      return h.deliver(reply, result.tokens);
    },
  );
}
