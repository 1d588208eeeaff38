// What the JSON route plugins (/auth/…, /admin/…) share, so that each rule is written once: the
// error answers a route declares, the bounds of the body fields every route takes alike (an
// email, a password, an id), the shape of a strict JSON body, the answer headers of a secret, and
// the request's context for the claims function. The OAuth endpoints (oauth.ts) read forms, not
// JSON, but declare their errors and hand over their request's context the same way.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clientKeyOf } from '../auth/addresses.ts';
import type { RequestContext } from '../auth/service.ts';

/** The answers a route declares for these statuses: each the catalogue's error body. */
export const errors = (...codes: number[]): Record<number, { $ref: string }> =>
  Object.fromEntries(codes.map((c) => [c, { $ref: 'Error#' }]));

/** The OpenAPI security of a route behind a bearer (or DPoP) access token. */
export const BEARER = [{ bearer: [] }];

/** An answer that holds a secret or a user's data: no cache keeps it (RFC 6749 §5.1). */
export const noStore = (reply: FastifyReply): FastifyReply =>
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');

/** A JSON body (or params, or query) with these members and no other. */
export const strictObject = <P extends Record<string, unknown>, R extends readonly (keyof P)[]>(
  required: R,
  properties: P,
) => ({ type: 'object', additionalProperties: false, required, properties }) as const;

/**
 * The bounds of the body fields that several routes take. A password is bounded above only
 * (the policy judges it); a new one has the policy's floor of 8 in the schema too.
 */
export const FIELDS = {
  email: { type: 'string', minLength: 3, maxLength: 254 },
  password: { type: 'string', minLength: 1, maxLength: 1024 },
  newPassword: { type: 'string', minLength: 8, maxLength: 1024 },
} as const;

/** The user as the /auth routes show them (toPublicUser). */
export const userSchema = {
  type: 'object',
  required: ['id', 'username', 'email', 'roles', 'email_verified', 'created_at'],
  properties: {
    id: { type: 'string' },
    username: { type: 'string' },
    email: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    email_verified: { type: 'boolean' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

/** An answer `{user}` with this user schema. */
export const userAnswer = (user: Record<string, unknown>) =>
  ({ type: 'object', required: ['user'], properties: { user } }) as const;

/** The request as the claims function sees it: the client's address and its User-Agent. */
export function requestContextOf(request: FastifyRequest): RequestContext {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof agent === 'string' ? agent : undefined };
}

/** The client's address as the rate limits and the audit log key it (an IPv6 /64). */
export const ipOf = (request: FastifyRequest): string => clientKeyOf(request.ip);

/**
 * The members of `fields` that are not undefined: what a route passes on of its optional inputs,
 * so that an absent input stays absent (not a member set to undefined).
 */
export function defined<T extends Record<string, unknown>>(
  fields: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
