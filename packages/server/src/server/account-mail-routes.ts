// The /auth routes of the flows that go through the owner's mailbox (src/auth/account-mail.ts):
// verification, password reset, sign-in links, change of email. Requests that name an address
// answer 202 alike whoever owns it; a link's token travels in a JSON body (or, for the two GET
// links, a query the log redacts), and every refusal is `{error, error_description}`.

import type { AuthContext } from '@laissez/middleware';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountMail } from '../auth/account-mail.ts';
import { clientKeyOf } from '../auth/addresses.ts';
import { type AccessClaims, type TokenSet, toPublicUser } from '../auth/service.ts';

export interface AccountMailRouteHelpers {
  authenticate(request: FastifyRequest): Promise<void>;
  authOf(request: FastifyRequest): AuthContext<AccessClaims>;
  deliver(reply: FastifyReply, tokens: TokenSet): Partial<TokenSet>;
  noStore(reply: FastifyReply): unknown;
  userSchema: Record<string, unknown>;
  tokenSchema: Record<string, unknown>;
  /** The 401 `mfa_required` answer (a sign-in link for an account with a second factor). */
  mfaRequiredSchema: Record<string, unknown>;
}

const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { $ref: 'Error#' }]));
const accepted = {
  202: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['accepted'] }, message: { type: 'string' } },
  },
} as const;
const emailBody = {
  type: 'object',
  additionalProperties: false,
  required: ['email'],
  properties: { email: { type: 'string', minLength: 3, maxLength: 254 } },
} as const;
/** A link token: `lz1_` and 43 base64url characters; a little room for a clearer refusal. */
const tokenProperty = { type: 'string', minLength: 1, maxLength: 128 } as const;
const tokenBody = {
  type: 'object',
  additionalProperties: false,
  required: ['token'],
  properties: { token: tokenProperty },
} as const;
const tokenQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['token'],
  properties: { token: tokenProperty },
} as const;

export async function accountMailRoutes(
  app: FastifyInstance,
  mail: AccountMail,
  h: AccountMailRouteHelpers,
): Promise<void> {
  const ipOf = (request: FastifyRequest) => clientKeyOf(request.ip);
  const acceptedAnswer = (reply: FastifyReply, message: string) => {
    h.noStore(reply);
    return reply.code(202).send({ status: 'accepted', message });
  };
  const userAnswer = { type: 'object', required: ['user'], properties: { user: h.userSchema } };

  const verify = async (request: FastifyRequest, reply: FastifyReply, token: string) => {
    const user = await mail.confirmVerification({ token, ip: ipOf(request) });
    h.noStore(reply);
    return { user: toPublicUser(user) };
  };
  app.post(
    '/auth/verify-email',
    {
      schema: {
        summary: 'Verify the email with the token of a verification link (single use, 24 h)',
        body: tokenBody,
        response: { 200: userAnswer, ...errors(400, 403, 429) },
      },
    },
    async (request, reply) => verify(request, reply, (request.body as { token: string }).token),
  );
  app.get(
    '/auth/verify-email',
    {
      schema: {
        summary:
          'The verification link itself: verifies the email as the POST does and answers JSON',
        querystring: tokenQuery,
        response: { 200: userAnswer, ...errors(400, 403, 429) },
      },
    },
    async (request, reply) => verify(request, reply, (request.query as { token: string }).token),
  );
  app.post(
    '/auth/verify-email/resend',
    {
      schema: {
        summary:
          'Send a new verification link to an address, if an unverified account has it (always 202)',
        body: emailBody,
        response: { ...accepted, ...errors(400, 429) },
      },
    },
    async (request, reply) => {
      await mail.resendVerification({
        email: (request.body as { email: string }).email,
        ip: ipOf(request),
      });
      return acceptedAnswer(
        reply,
        'if an account with an unverified email has this address, a new link is on its way',
      );
    },
  );

  app.post(
    '/auth/password-reset',
    {
      schema: {
        summary: 'Mail a password-reset link (single use, 30 min) to an address (always 202)',
        body: emailBody,
        response: { ...accepted, ...errors(400, 429) },
      },
    },
    async (request, reply) => {
      await mail.requestPasswordReset({
        email: (request.body as { email: string }).email,
        ip: ipOf(request),
      });
      return acceptedAnswer(reply, 'if an account has this address, a reset link is on its way');
    },
  );
  app.post(
    '/auth/password-reset/confirm',
    {
      schema: {
        summary:
          'Set a new password with a reset link: every session ends and the lock-out is lifted',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['token', 'password'],
          properties: {
            token: tokenProperty,
            password: { type: 'string', minLength: 8, maxLength: 1024 },
          },
        },
        response: { 204: { type: 'null' }, ...errors(400, 403, 429) },
      },
    },
    async (request, reply) => {
      const body = request.body as { token: string; password: string };
      await mail.confirmPasswordReset({ ...body, ip: ipOf(request) });
      h.noStore(reply);
      return reply.code(204).send();
    },
  );

  if (mail.signInLinks) {
    app.post(
      '/auth/sign-in-link',
      {
        schema: {
          summary: 'Mail a sign-in link (single use, 15 min) to an address (always 202)',
          body: emailBody,
          response: { ...accepted, ...errors(400, 429) },
        },
      },
      async (request, reply) => {
        await mail.requestSignIn({
          email: (request.body as { email: string }).email,
          ip: ipOf(request),
        });
        return acceptedAnswer(
          reply,
          'if an account has this address, a sign-in link is on its way',
        );
      },
    );
    app.post(
      '/auth/sign-in-link/confirm',
      {
        schema: {
          summary: 'Exchange a sign-in link for tokens, as a log-in does',
          body: tokenBody,
          response: {
            200: h.tokenSchema,
            ...errors(400, 403, 429, 503),
            401: h.mfaRequiredSchema,
          },
        },
      },
      async (request, reply) => {
        const user = await mail.confirmSignIn({
          token: (request.body as { token: string }).token,
          ip: ipOf(request),
        });
        // The link stands in for the password only: a second factor still answers mfa_required.
        return h.deliver(reply, await app.auth.startSession(user, {}, { ip: ipOf(request) }));
      },
    );
  }

  app.post(
    '/auth/email',
    {
      preHandler: h.authenticate,
      schema: {
        summary:
          'Change the email: a link goes to the new address, a notice to the old; the change happens on confirm',
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['email', 'password'],
          properties: {
            email: { type: 'string', minLength: 3, maxLength: 254 },
            password: { type: 'string', minLength: 1, maxLength: 1024 },
          },
        },
        response: { ...accepted, ...errors(400, 401, 403, 429, 503) },
      },
    },
    async (request, reply) => {
      const body = request.body as { email: string; password: string };
      await mail.requestEmailChange({
        userId: h.authOf(request).subject,
        ...body,
        ip: ipOf(request),
      });
      return acceptedAnswer(reply, 'a confirmation link was sent to the new address');
    },
  );
  const confirmChange = async (request: FastifyRequest, reply: FastifyReply, token: string) => {
    const user = await mail.confirmEmailChange({ token, ip: ipOf(request) });
    h.noStore(reply);
    return { user: toPublicUser(user) };
  };
  app.post(
    '/auth/email/confirm',
    {
      schema: {
        summary: 'Confirm a change of email with the link sent to the new address',
        body: tokenBody,
        response: { 200: userAnswer, ...errors(400, 403, 409, 429) },
      },
    },
    async (request, reply) =>
      confirmChange(request, reply, (request.body as { token: string }).token),
  );
  app.get(
    '/auth/email/confirm',
    {
      schema: {
        summary: 'The change-of-email link itself: confirms as the POST does and answers JSON',
        querystring: tokenQuery,
        response: { 200: userAnswer, ...errors(400, 403, 409, 429) },
      },
    },
    async (request, reply) =>
      confirmChange(request, reply, (request.query as { token: string }).token),
  );
}
