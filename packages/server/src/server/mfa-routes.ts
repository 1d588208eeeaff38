// The second-factor routes (/auth/mfa/…): TOTP enrolment, confirmation and removal, recovery
// codes, and the log-in's second step (a code, a recovery code or a passkey). Registered by
// authRoutes, with its token delivery and its authenticate hook, so both kinds of log-in answer
// alike.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FACTOR_KINDS } from '../auth/factors.ts';
import type { AuthRouteHelpers } from './auth-helpers.ts';
import { scopeField, tokenSchema } from './auth-schemas.ts';
import { assertion, optionsSchema } from './passkey-routes.ts';
import {
  BEARER,
  defined,
  errors,
  FIELDS,
  noStore,
  requestContextOf,
  strictObject,
} from './route-common.ts';

/** What the second-factor routes use of authRoutes' helpers (auth-helpers.ts). */
export type MfaRouteHelpers = Pick<
  AuthRouteHelpers,
  'authenticate' | 'authOf' | 'loggedIn' | 'dpopKeyOf'
>;

/**
 * The 401 answer of a first step (/auth/login, a sign-in link) that needs a second factor: the
 * error object with `mfa_required`'s members.
 */
export function mfaRequiredSchema(errorSchema: { properties: Record<string, unknown> }) {
  return {
    type: 'object',
    required: ['error', 'error_description'],
    properties: {
      ...errorSchema.properties,
      mfa_token: {
        type: 'string',
        description:
          'With mfa_required: the single-use challenge to send to POST /auth/mfa/verify.',
      },
      expires_in: { type: 'integer', description: 'Seconds the mfa_token lives.' },
      factors: {
        type: 'array',
        items: { type: 'string', enum: [...FACTOR_KINDS] },
        description: 'The second factors that can finish this log-in.',
      },
    },
  } as const;
}

// Limits on every input: a code is 6 digits, a recovery code 11 characters, an mfa_token 47;
// an assertion's members are bounded by its schema (passkey-routes.ts).
const code = { type: 'string', minLength: 1, maxLength: 16 } as const;
const recoveryCode = { type: 'string', minLength: 1, maxLength: 32 } as const;
const mfaToken = { type: 'string', minLength: 1, maxLength: 64 } as const;
const codesSchema = {
  type: 'object',
  required: ['recovery_codes'],
  properties: {
    recovery_codes: {
      type: 'array',
      items: { type: 'string' },
      description: 'Ten single-use codes, shown this once: store them offline.',
    },
  },
} as const;
const reauthBody = strictObject(['password'], {
  password: FIELDS.password,
  code,
  recovery_code: recoveryCode,
});

export async function mfaRoutes(app: FastifyInstance, h: MfaRouteHelpers): Promise<void> {
  await totpRoutes(app, h);
  await secondStepRoutes(app, h);
}

/** The signed-in user's second factors: TOTP on and off, recovery codes, the list. */
async function totpRoutes(app: FastifyInstance, h: MfaRouteHelpers): Promise<void> {
  const { auth } = app;
  const bearer = { preHandler: h.authenticate } as const;
  const subjectOf = (request: FastifyRequest) => h.authOf(request).subject;

  app.post(
    '/auth/mfa/totp',
    {
      ...bearer,
      schema: {
        summary: 'Start a TOTP enrolment: a secret, its otpauth:// URI and a QR code',
        security: BEARER,
        response: {
          200: {
            type: 'object',
            required: ['secret', 'uri', 'qr'],
            properties: {
              secret: { type: 'string', description: 'Base32, for typing into an app' },
              uri: { type: 'string', description: 'otpauth://totp/… (Key Uri Format)' },
              qr: { type: 'string', description: 'The URI as a QR code: an SVG data URL' },
            },
          },
          ...errors(401, 403, 409),
        },
      },
    },
    async (request, reply) => {
      const enrolment = await auth.enrolTotp(subjectOf(request));
      noStore(reply);
      return enrolment;
    },
  );

  app.post(
    '/auth/mfa/totp/confirm',
    {
      ...bearer,
      schema: {
        summary: 'Turn TOTP on with a first code; answers the recovery codes (shown once)',
        security: BEARER,
        body: strictObject(['code'], { code }),
        response: { 200: codesSchema, ...errors(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const { code: given } = request.body as { code: string };
      const codes = await auth.confirmTotp(subjectOf(request), given);
      noStore(reply);
      return codes;
    },
  );

  app.delete(
    '/auth/mfa/totp',
    {
      ...bearer,
      schema: {
        summary: 'Turn TOTP off (and drop the recovery codes): the password and a code',
        security: BEARER,
        body: reauthBody,
        response: { ...errors(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      await auth.disableTotp(subjectOf(request), request.body as Record<string, unknown>);
      return reply.code(204).send();
    },
  );

  app.post(
    '/auth/mfa/recovery-codes',
    {
      ...bearer,
      schema: {
        summary: 'Ten new recovery codes (the old ones stop working): the password and a code',
        security: BEARER,
        body: reauthBody,
        response: { 200: codesSchema, ...errors(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const codes = await auth.regenerateRecoveryCodes(
        subjectOf(request),
        request.body as Record<string, unknown>,
      );
      noStore(reply);
      return codes;
    },
  );

  app.get(
    '/auth/mfa',
    {
      ...bearer,
      schema: {
        summary: 'The second factors the user has on',
        security: BEARER,
        response: {
          200: {
            type: 'object',
            properties: {
              factors: { type: 'array', items: { type: 'string', enum: [...FACTOR_KINDS] } },
            },
          },
          ...errors(401, 403),
        },
      },
    },
    async (request, reply) => {
      noStore(reply);
      return { factors: await auth.factorsOf(subjectOf(request)) };
    },
  );
}

/** The log-in's second step, after /auth/login (or a sign-in link) answered mfa_required. */
async function secondStepRoutes(app: FastifyInstance, h: MfaRouteHelpers): Promise<void> {
  const { auth } = app;
  app.post(
    '/auth/mfa/passkey/options',
    {
      schema: {
        summary:
          "A passkey as the log-in's second step: options for navigator.credentials.get() with the user's passkeys",
        body: strictObject(['mfa_token'], { mfa_token: mfaToken }),
        response: { 200: optionsSchema, ...errors(400, 401, 403, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      const { mfa_token } = request.body as { mfa_token: string };
      const options = await auth.passkeySecondFactorOptions({ mfa_token, ip: request.ip });
      noStore(reply);
      return options;
    },
  );

  app.post(
    '/auth/mfa/verify',
    {
      schema: {
        summary:
          "The log-in's second step: the mfa_token of /auth/login and a code, a recovery code or a passkey's assertion",
        body: strictObject(['mfa_token'], {
          mfa_token: mfaToken,
          code,
          recovery_code: recoveryCode,
          credential: assertion,
          scope: scopeField,
        }),
        response: { 200: tokenSchema, ...errors(400, 401, 403, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      // The log-in ends here: its tokens are bound to the proof's key, as at /auth/login.
      const jkt = await h.dpopKeyOf(request, reply);
      const result = await auth.verifySecondFactor({
        ...(request.body as Record<string, unknown>),
        ...defined({ jkt }),
        clientIp: request.ip,
        userAgent: request.headers['user-agent'],
        request: requestContextOf(request),
      });
      return h.loggedIn(reply, result.tokens, result.deviceToken);
    },
  );
}
