// The second-factor routes (/auth/mfa/…): TOTP enrolment, confirmation and removal, recovery
// codes, and the log-in's second step (a code, a recovery code or a passkey). Registered by authRoutes, with its token delivery and
// its authenticate hook, so both kinds of log-in answer alike.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FACTOR_KINDS } from '../auth/factors.ts';
import type { RequestContext, TokenSet } from '../auth/service.ts';
import { assertion, optionsSchema } from './passkey-routes.ts';

export interface MfaRouteHelpers {
  authenticate: (request: FastifyRequest) => Promise<void>;
  subjectOf: (request: FastifyRequest) => string;
  noStore: (reply: FastifyReply) => FastifyReply;
  /** Answers a completed log-in as /auth/login does (tokens, cookies, device token). */
  loggedIn: (reply: FastifyReply, tokens: TokenSet, deviceToken: string) => unknown;
  errors: (...codes: number[]) => Record<number, { $ref: string }>;
  tokenSchema: Record<string, unknown>;
  /** The `scope` property of /auth/login's body (RFC 6749 §3.3). */
  scopeField: Record<string, unknown>;
  /** The request's context for the claims function. */
  requestContextOf: (request: FastifyRequest) => RequestContext;
  /** The thumbprint of the request's DPoP proof key, checked, or undefined without a proof. */
  dpopKeyOf: (request: FastifyRequest, reply: FastifyReply) => Promise<string | undefined>;
}

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
const password = { type: 'string', minLength: 1, maxLength: 1024 } as const;
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
const reauthBody = {
  type: 'object',
  additionalProperties: false,
  required: ['password'],
  properties: { password, code, recovery_code: recoveryCode },
} as const;

export async function mfaRoutes(app: FastifyInstance, h: MfaRouteHelpers): Promise<void> {
  const { auth } = app;
  const bearer = { preHandler: h.authenticate } as const;

  app.post(
    '/auth/mfa/totp',
    {
      ...bearer,
      schema: {
        summary: 'Start a TOTP enrolment: a secret, its otpauth:// URI and a QR code',
        security: [{ bearer: [] }],
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
          ...h.errors(401, 403, 409),
        },
      },
    },
    async (request, reply) => {
      const enrolment = await auth.enrolTotp(h.subjectOf(request));
      h.noStore(reply);
      return enrolment;
    },
  );

  app.post(
    '/auth/mfa/totp/confirm',
    {
      ...bearer,
      schema: {
        summary: 'Turn TOTP on with a first code; answers the recovery codes (shown once)',
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['code'],
          properties: { code },
        },
        response: { 200: codesSchema, ...h.errors(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const { code: given } = request.body as { code: string };
      const codes = await auth.confirmTotp(h.subjectOf(request), given);
      h.noStore(reply);
      return codes;
    },
  );

  app.delete(
    '/auth/mfa/totp',
    {
      ...bearer,
      schema: {
        summary: 'Turn TOTP off (and drop the recovery codes): the password and a code',
        security: [{ bearer: [] }],
        body: reauthBody,
        response: { ...h.errors(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      await auth.disableTotp(h.subjectOf(request), request.body as Record<string, unknown>);
      return reply.code(204).send();
    },
  );

  app.post(
    '/auth/mfa/recovery-codes',
    {
      ...bearer,
      schema: {
        summary: 'Ten new recovery codes (the old ones stop working): the password and a code',
        security: [{ bearer: [] }],
        body: reauthBody,
        response: { 200: codesSchema, ...h.errors(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const codes = await auth.regenerateRecoveryCodes(
        h.subjectOf(request),
        request.body as Record<string, unknown>,
      );
      h.noStore(reply);
      return codes;
    },
  );

  app.get(
    '/auth/mfa',
    {
      ...bearer,
      schema: {
        summary: 'The second factors the user has on',
        security: [{ bearer: [] }],
        response: {
          200: {
            type: 'object',
            properties: {
              factors: { type: 'array', items: { type: 'string', enum: [...FACTOR_KINDS] } },
            },
          },
          ...h.errors(401, 403),
        },
      },
    },
    async (request, reply) => {
      h.noStore(reply);
      return { factors: await auth.factorsOf(h.subjectOf(request)) };
    },
  );

  app.post(
    '/auth/mfa/passkey/options',
    {
      schema: {
        summary:
          "A passkey as the log-in's second step: options for navigator.credentials.get() with the user's passkeys",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['mfa_token'],
          properties: { mfa_token: mfaToken },
        },
        response: { 200: optionsSchema, ...h.errors(400, 401, 403, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      const { mfa_token } = request.body as { mfa_token: string };
      const options = await auth.passkeySecondFactorOptions({ mfa_token, ip: request.ip });
      h.noStore(reply);
      return options;
    },
  );

  app.post(
    '/auth/mfa/verify',
    {
      schema: {
        summary:
          "The log-in's second step: the mfa_token of /auth/login and a code, a recovery code or a passkey's assertion",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['mfa_token'],
          properties: {
            mfa_token: mfaToken,
            code,
            recovery_code: recoveryCode,
            credential: assertion,
            scope: h.scopeField,
          },
        },
        response: { 200: h.tokenSchema, ...h.errors(400, 401, 403, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      // The log-in ends here: its tokens are bound to the proof's key, as at /auth/login.
      const jkt = await h.dpopKeyOf(request, reply);
      const result = await auth.verifySecondFactor({
        ...(request.body as Record<string, unknown>),
        ...(jkt !== undefined ? { jkt } : {}),
        clientIp: request.ip,
        userAgent: request.headers['user-agent'],
        request: h.requestContextOf(request),
      });
      return h.loggedIn(reply, result.tokens, result.deviceToken);
    },
  );
}
