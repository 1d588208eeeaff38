// The requests of the OAuth endpoints (oauth.ts): where the endpoints are, and their
// application/x-www-form-urlencoded bodies (RFC 6749 Appendix B) with every parameter at most
// once (§3.2), their schemas, and the checks of the parameters every endpoint reads alike.
import type { FastifyRequest } from 'fastify';
import type { ClientCredentials } from '../auth/clients.ts';
import { AuthServiceError } from '../auth/errors.ts';
import { HttpError } from './errors.ts';

export const TOKEN_PATH = '/oauth/token';
export const REVOCATION_PATH = '/oauth/revoke';
export const INTROSPECTION_PATH = '/oauth/introspect';

/** The endpoints' URLs under the issuer (which may have a path). */
export function endpoint(issuer: string, path: string): string {
  return `${issuer.replace(/\/+$/, '')}${path}`;
}

export const FORM = 'application/x-www-form-urlencoded';
/** RFC 6749 §3.2: a request with more parameters than this is not a token request. */
const MAX_PARAMS = 32;

/** The form of an OAuth request: every parameter once (RFC 6749 §3.2), as strings. */
export type Form = Readonly<Record<string, string>>;

/**
 * The content-type parser of the OAuth plugin (encapsulated: the /auth routes stay JSON only).
 * Every parameter at most once (RFC 6749 §3.2), at most MAX_PARAMS of them.
 */
export function parseForm(
  _request: FastifyRequest,
  body: string | Buffer,
  done: (error: Error | null, form: Form | undefined) => void,
): void {
  const form: Record<string, string> = Object.create(null);
  let count = 0;
  for (const [name, value] of new URLSearchParams(body as string)) {
    if (++count > MAX_PARAMS) {
      done(new HttpError('invalid_request', `at most ${MAX_PARAMS} parameters`), undefined);
      return;
    }
    if (name in form) {
      done(
        new HttpError('invalid_request', `${name.slice(0, 40)} is given more than once`),
        undefined,
      );
      return;
    }
    form[name] = value;
  }
  done(null, { ...form });
}

/** The request's form: a request of another type is refused before any parameter is read. */
export function formOf(request: FastifyRequest): Form {
  const type = String(request.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (type !== FORM) {
    throw request.body === undefined || request.body === null
      ? new HttpError('invalid_request', `send the parameters as an ${FORM} body`)
      : new HttpError('unsupported_media_type', `send the body as ${FORM}`);
  }
  return request.body as Form;
}

/** What the client authenticator reads: the Authorization header and the form. */
export const credentialsOf = (request: FastifyRequest, form: Form): ClientCredentials => ({
  authorization: request.headers.authorization,
  form,
});

export function required(form: Form, name: string): string {
  const value = form[name];
  if (value === undefined || value === '') {
    throw new HttpError('invalid_request', `${name} is required`);
  }
  return value;
}

/** RFC 6749 §3.3: scope is a space-delimited list of scope tokens. */
export function requestedScopes(text: string): string[] {
  const scopes = text.split(' ');
  if (scopes.some((scope) => !/^[\x21\x23-\x5B\x5D-\x7E]{1,64}$/.test(scope))) {
    throw new AuthServiceError(
      'invalid_scope',
      'scope must be scope tokens separated by one space',
    );
  }
  return [...new Set(scopes)];
}

/** The schema of a form body: these parameters, each a string of at most this length. */
export const formBody = (properties: Record<string, number>) =>
  ({
    type: 'object',
    // RFC 6749 §3.2: parameters the server does not know are ignored.
    additionalProperties: true,
    properties: Object.fromEntries(
      Object.entries(properties).map(([name, maxLength]) => [name, { type: 'string', maxLength }]),
    ),
  }) as const;

/** The parameters of client authentication (RFC 6749 §2.3.1, RFC 7523 §2.2), with their bounds. */
export const CLIENT_AUTH_FIELDS = {
  client_id: 64,
  client_secret: 256,
  client_assertion_type: 128,
  client_assertion: 8192,
};
