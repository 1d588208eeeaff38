// A second service that calls the notes API on its own behalf, with no user: it gets an access
// token from the auth server with the client-credentials grant (RFC 6749 §4.4), then reads
// GET /admin/stats, which the notes API lets in on the `notes:stats` scope. Settings come from
// the environment:
//
//   AUTH_ISSUER     the auth server's URL, as in its tokens' "iss" (default http://localhost:3000)
//   NOTES_URL       the notes API (default http://localhost:4000)
//   CLIENT_ID       this service's client id (`laissez clients add <id> --scopes notes:stats`)
//   CLIENT_SECRET   its secret, printed once by `laissez clients add`
//   SCOPE           the scope to ask for (default notes:stats)
//
// It prints the stats as JSON on stdout. Exit 0: printed; 1: the auth server or the notes API
// refused or could not be reached (the reason on stderr); 2: a bad setting. Neither the secret
// nor the token is ever printed.

/** Every call gives up after this long: a service must not hang on a peer. */
const TIMEOUT_MS = 10_000;

class Refused extends Error {}

function fail(message: string, code: number): never {
  process.stderr.write(`stats-reporter: ${message}\n`);
  process.exit(code);
}

function config(env: NodeJS.ProcessEnv) {
  const issuer = env['AUTH_ISSUER'] || 'http://localhost:3000';
  const notes = env['NOTES_URL'] || 'http://localhost:4000';
  for (const [name, url] of [
    ['AUTH_ISSUER', issuer],
    ['NOTES_URL', notes],
  ] as const) {
    if (!URL.canParse(url)) fail(`${name} must be a URL like http://localhost:3000`, 2);
  }
  const clientId = env['CLIENT_ID'];
  const secret = env['CLIENT_SECRET'];
  if (!clientId || !secret) {
    fail(
      'set CLIENT_ID and CLIENT_SECRET (from `laissez clients add <id> --scopes notes:stats`)',
      2,
    );
  }
  return { issuer, notes, clientId, secret, scope: env['SCOPE'] || 'notes:stats' };
}

/** The JSON body of an answer, or the reason it is not the one expected. */
async function json(response: Response, what: string): Promise<Record<string, unknown>> {
  const body = (await response.json().catch(() => null)) as Record<string, unknown> | null;
  if (response.ok && body !== null) return body;
  // Errors of the auth server and of the middleware alike: {"error", "error_description"}.
  const reason = body?.['error']
    ? `${body['error']}: ${body['error_description'] ?? ''}`
    : 'not JSON';
  throw new Refused(`${what} answered ${response.status} (${reason})`);
}

/**
 * The token endpoint, from the auth server's metadata (RFC 8414 §3): its `issuer` must be the
 * one configured (§3.3), or the document is not that server's.
 */
async function tokenEndpoint(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/oauth-authorization-server`;
  const meta = await json(
    await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) }),
    'the metadata',
  );
  if (meta['issuer'] !== issuer) throw new Refused(`the metadata names another issuer`);
  if (typeof meta['token_endpoint'] !== 'string') {
    throw new Refused('the auth server has no token endpoint (--oauth-grant-types)');
  }
  return meta['token_endpoint'];
}

/** A client-credentials token (client_secret_basic: RFC 6749 §2.3.1 encodes both parts). */
async function accessToken(settings: ReturnType<typeof config>): Promise<string> {
  const basic = Buffer.from(
    `${encodeURIComponent(settings.clientId)}:${encodeURIComponent(settings.secret)}`,
  ).toString('base64');
  const response = await fetch(await tokenEndpoint(settings.issuer), {
    method: 'POST',
    headers: {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: settings.scope }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const tokens = await json(response, 'the token endpoint');
  // A long-running service keeps the token until shortly before `expires_in` and then asks for
  // another: the client-credentials grant gives no refresh token (RFC 6749 §4.4.3).
  return tokens['access_token'] as string;
}

const settings = config(process.env);
try {
  const token = await accessToken(settings);
  const stats = await json(
    await fetch(new URL('/admin/stats', settings.notes), {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    }),
    'the notes API',
  );
  process.stdout.write(`${JSON.stringify(stats)}\n`);
} catch (error) {
  fail(
    error instanceof Refused
      ? error.message
      : `cannot reach a server: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`,
    1,
  );
}
