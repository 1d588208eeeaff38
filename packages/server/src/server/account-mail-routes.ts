// The /auth routes of the flows that go through the owner's mailbox (src/auth/account-mail.ts):
// verification, password reset, sign-in links, change of email. Requests that name an address
// answer 202 alike whoever owns it; a link's token travels in a JSON body (or, for the two GET
// links, a query the log redacts), and every refusal is `{error, error_description}`.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AccountMail } from '../auth/account-mail.ts';
import { toPublicUser } from '../auth/service.ts';
import type { User } from '../store/types.ts';
import type { AuthRouteHelpers } from './auth-helpers.ts';
import { tokenSchema } from './auth-schemas.ts';
import { errorSchema } from './errors.ts';
import { mfaRequiredSchema } from './mfa-routes.ts';
import {
  BEARER,
  errors,
  FIELDS,
  ipOf,
  noStore,
  strictObject,
  userAnswer,
  userSchema,
} from './route-common.ts';

/** What the mail routes use of authRoutes' helpers (auth-helpers.ts). */
export type AccountMailRouteHelpers = Pick<AuthRouteHelpers, 'authenticate' | 'authOf' | 'deliver'>;

const accepted = {
  202: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['accepted'] }, message: { type: 'string' } },
  },
} as const;
const emailBody = strictObject(['email'], { email: FIELDS.email });
/** A link token: `lz1_` and 43 base64url characters; a little room for a clearer refusal. */
const tokenProperty = { type: 'string', minLength: 1, maxLength: 128 } as const;
const tokenBody = strictObject(['token'], { token: tokenProperty });
const tokenQuery = strictObject(['token'], { token: tokenProperty });
const publicUserAnswer = userAnswer(userSchema);

/** The 202 of a request that names an address: the same whoever owns it. */
function acceptedAnswer(reply: FastifyReply, message: string) {
  noStore(reply);
  return reply.code(202).send({ status: 'accepted', message });
}

/** A route that mails a link to an address, if an account has it: always 202. */
function mailRequestRoute(
  app: FastifyInstance,
  path: string,
  summary: string,
  send: (input: { email: string; ip: string }) => Promise<void>,
  message: string,
): void {
  app.post(
    path,
    { schema: { summary, body: emailBody, response: { ...accepted, ...errors(400, 429) } } },
    async (request, reply) => {
      await send({ email: (request.body as { email: string }).email, ip: ipOf(request) });
      return acceptedAnswer(reply, message);
    },
  );
}

/**
 * A link that confirms something and answers the user: as a POST with the token in a JSON body,
 * and as the GET the mailed link is, with the token in the query.
 */
function confirmLinkRoutes(
  app: FastifyInstance,
  path: string,
  summaries: { post: string; get: string },
  statuses: number[],
  confirm: (input: { token: string; ip: string }) => Promise<User>,
): void {
  const answer = async (reply: FastifyReply, token: string, ip: string) => {
    const user = await confirm({ token, ip });
    noStore(reply);
    return { user: toPublicUser(user) };
  };
  const response = { 200: publicUserAnswer, ...errors(...statuses) };
  app.post(
    path,
    { schema: { summary: summaries.post, body: tokenBody, response: { ...response } } },
    async (request, reply) =>
      answer(reply, (request.body as { token: string }).token, ipOf(request)),
  );
  app.get(
    path,
    { schema: { summary: summaries.get, querystring: tokenQuery, response: { ...response } } },
    async (request, reply) =>
      answer(reply, (request.query as { token: string }).token, ipOf(request)),
  );
}

export async function accountMailRoutes(
  app: FastifyInstance,
  mail: AccountMail,
  h: AccountMailRouteHelpers,
): Promise<void> {
  confirmLinkRoutes(
    app,
    '/auth/verify-email',
    {
      post: 'Verify the email with the token of a verification link (single use, 24 h)',
      get: 'The verification link itself: verifies the email as the POST does and answers JSON',
    },
    [400, 403, 429],
    (input) => mail.confirmVerification(input),
  );
  mailRequestRoute(
    app,
    '/auth/verify-email/resend',
    'Send a new verification link to an address, if an unverified account has it (always 202)',
    (input) => mail.resendVerification(input),
    'if an account with an unverified email has this address, a new link is on its way',
  );
  passwordResetRoutes(app, mail);
  if (mail.signInLinks) signInLinkRoutes(app, mail, h);
  emailChangeRoutes(app, mail, h);
}

function passwordResetRoutes(app: FastifyInstance, mail: AccountMail): void {
  mailRequestRoute(
    app,
    '/auth/password-reset',
    'Mail a password-reset link (single use, 30 min) to an address (always 202)',
    (input) => mail.requestPasswordReset(input),
    'if an account has this address, a reset link is on its way',
  );
  app.post(
    '/auth/password-reset/confirm',
    {
      schema: {
        summary:
          'Set a new password with a reset link: every session ends and the lock-out is lifted',
        body: strictObject(['token', 'password'], {
          token: tokenProperty,
          password: FIELDS.newPassword,
        }),
        response: { 204: { type: 'null' }, ...errors(400, 403, 429) },
      },
    },
    async (request, reply) => {
      const body = request.body as { token: string; password: string };
      await mail.confirmPasswordReset({ ...body, ip: ipOf(request) });
      noStore(reply);
      return reply.code(204).send();
    },
  );
}

function signInLinkRoutes(
  app: FastifyInstance,
  mail: AccountMail,
  h: AccountMailRouteHelpers,
): void {
  mailRequestRoute(
    app,
    '/auth/sign-in-link',
    'Mail a sign-in link (single use, 15 min) to an address (always 202)',
    (input) => mail.requestSignIn(input),
    'if an account has this address, a sign-in link is on its way',
  );
  app.post(
    '/auth/sign-in-link/confirm',
    {
      schema: {
        summary: 'Exchange a sign-in link for tokens, as a log-in does',
        body: tokenBody,
        response: {
          200: tokenSchema,
          ...errors(400, 403, 429, 503),
          401: mfaRequiredSchema(errorSchema),
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

function emailChangeRoutes(
  app: FastifyInstance,
  mail: AccountMail,
  h: AccountMailRouteHelpers,
): void {
  app.post(
    '/auth/email',
    {
      preHandler: h.authenticate,
      schema: {
        summary:
          'Change the email: a link goes to the new address, a notice to the old; the change happens on confirm',
        security: BEARER,
        body: strictObject(['email', 'password'], {
          email: FIELDS.email,
          password: FIELDS.password,
        }),
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
  confirmLinkRoutes(
    app,
    '/auth/email/confirm',
    {
      post: 'Confirm a change of email with the link sent to the new address',
      get: 'The change-of-email link itself: confirms as the POST does and answers JSON',
    },
    [400, 403, 409, 429],
    (input) => mail.confirmEmailChange(input),
  );
}
