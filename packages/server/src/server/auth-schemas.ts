// The schemas the /auth route plugins share: the token answer of every kind of log-in and
// refresh, the `scope` a log-in asks for, the refresh bodies, and /auth/me's user.
import { userSchema } from './route-common.ts';

/** /auth/me's user: with the app metadata administrators set (read-only here). */
export const meSchema = {
  ...userSchema,
  properties: {
    ...userSchema.properties,
    app_metadata: {
      type: 'object',
      additionalProperties: true,
      description:
        'Set by administrators only (PUT /admin/users/{id}/app-metadata); read-only to the user. Not secret: the claims function may put it in tokens.',
    },
  },
} as const;
/** RFC 6749 §3.3: space-separated scope-tokens (bounded: 64 of at most 128 characters). */
export const scopeField = {
  type: 'string',
  maxLength: 8256,
  description:
    'Space-separated scopes (RFC 6749 §3.3), within what the roles allow; absent: all of them.',
} as const;
export const tokenSchema = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in'],
  properties: {
    access_token: { type: 'string' },
    token_type: {
      type: 'string',
      enum: ['Bearer', 'DPoP'],
      description:
        'DPoP when the request carried a DPoP proof: the access token is bound to its key (RFC 9449 §5).',
    },
    expires_in: { type: 'integer' },
    refresh_token: {
      type: 'string',
      description: 'Absent in cookie mode: the refresh token is in an HttpOnly cookie.',
    },
    refresh_expires_in: { type: 'integer' },
    scope: {
      type: 'string',
      description:
        'The granted scope (RFC 6749 §5.1), when the server grants scopes (--role-scopes); the access token carries it as "scope" (RFC 9068 §2.2.3).',
    },
    device_token: {
      type: 'string',
      description:
        'Log-in only, without cookie mode: send it back with later log-ins from this client, which then keep their own failure budget (in cookie mode it is the laissez_dev cookie).',
    },
  },
} as const;
export const refreshBody = {
  type: 'object',
  additionalProperties: false,
  // Long enough for an access token sent by mistake, which gets a precise invalid_grant.
  properties: { refresh_token: { type: 'string', maxLength: 16384 } },
} as const;
/** A refresh may narrow the scope of its access token (RFC 6749 §6), never widen it. */
export const refreshGrantBody = {
  ...refreshBody,
  properties: {
    ...refreshBody.properties,
    scope: {
      ...scopeField,
      description:
        'Narrows the scope of this access token (RFC 6749 §6): within the scope granted at log-in; absent, all of it.',
    },
  },
} as const;
