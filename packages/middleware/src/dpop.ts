// The DPoP layer of the middleware (RFC 9449 §7): `Authorization: DPoP <token>` with a `DPoP`
// proof header. The token is verified as any other (authenticator.ts); this module then checks the
// proof against the request (htm, htu, iat, ath), the token's binding (`cnf.jkt`, RFC 9449 §6) and
// that the proof is used once (a replay cache), and builds the `WWW-Authenticate: DPoP` answers.
import {
  createProofVerifier,
  type Duration,
  JwtError,
  type JwtPayload,
  normalizeHtu,
  type ProofVerifier,
  type ProofVerifierOptions,
} from '@laissez/jwt';
import { checkOptions, optionNames } from '@laissez/jwt/options';
import { quoted, type Refusal, TOKEN68, unavailableFailure } from './bearer.ts';
import { createMemoryReplayCache, type ReplayCache, replayKey } from './replay.ts';

export type DpopMode = 'required' | 'allowed';

/** How proofs are checked; `publicUrl` is in AuthOptions. */
export interface DpopOptions {
  /** Proof algorithms accepted. Default `['ES256', 'EdDSA', 'Ed25519']`. */
  algorithms?: ProofVerifierOptions['algorithms'];
  /** Oldest proof accepted (its `iat`). Default 60 s. */
  maxAge?: Duration;
  /** Clock leeway both ways. Default 5 s. */
  clockTolerance?: Duration;
  /**
   * Where proof ids are remembered. Default: in this process (`createMemoryReplayCache()`); for
   * several processes behind one URL, `createRedisReplayCache` of laissez/redis, or a proof
   * refused by one could be replayed at another.
   */
  replayCache?: ReplayCache;
}

const DPOP_OPTION_NAMES = optionNames<DpopOptions>({
  algorithms: true,
  maxAge: true,
  clockTolerance: true,
  replayCache: true,
});

/** What the DPoP layer reads of a request besides the Authorization header. */
export interface DpopRequestParts {
  /** The request method. */
  method?: string;
  /** The request target as received: path and query (`/notes?page=2`). */
  url?: string;
  /**
   * The origin the request arrived at, as the server sees it (scheme and Host, through its
   * trusted proxies). A proof that names it is checked against it; any other against
   * `publicUrl`. Either way the proof is bound to this method and path (RFC 9449 §4.3: the htu is
   * the URI of the request). The auth server passes it; resource servers need not.
   */
  origin?: string;
  /** The `DPoP` header (Node joins several copies with ", ", which fails as malformed). */
  dpop?: string | readonly string[] | undefined;
}

export interface DpopLayer {
  readonly mode: DpopMode;
  /** The token of an `Authorization: DPoP` header; undefined when the scheme is another. */
  credentials(authorization: string | readonly string[] | undefined): string | Refusal | undefined;
  /** After the token verified: the proof, the binding and the replay check. */
  check(
    token: string,
    claims: JwtPayload,
    request: DpopRequestParts,
  ): Refusal | undefined | Promise<Refusal | undefined>;
  /** A token bound to a key (`cnf.jkt`) that came as Bearer. */
  readonly boundAsBearer: Refusal;
  /** DPoP is required and the request came with Bearer. */
  readonly bearerRefused: Refusal;
  /** The bare challenge(s) for a request without credentials. */
  readonly missing: Refusal;
}

/** The `jkt` a token is bound to (RFC 9449 §6.1: `cnf.jkt`), or undefined. */
export function boundJkt(claims: JwtPayload): string | undefined {
  const cnf = (claims as { cnf?: unknown }).cnf;
  if (cnf === null || typeof cnf !== 'object') return undefined;
  const jkt = (cnf as { jkt?: unknown }).jkt;
  return typeof jkt === 'string' ? jkt : undefined;
}

/**
 * A DPoP refusal (RFC 9449 §7.1): `WWW-Authenticate: DPoP error=…, algs="…"`; `bearerToo` adds the
 * Bearer challenge first (both schemes are accepted).
 */
export function dpopFail(
  status: 400 | 401,
  error: 'invalid_request' | 'invalid_token' | 'invalid_dpop_proof' | 'use_dpop_nonce',
  description: string,
  algs: string,
  extraHeaders: Record<string, string> = {},
): Refusal {
  const challenge = `DPoP error="${error}", error_description=${quoted(description)}, algs="${algs}"`;
  return {
    ok: false,
    failure: {
      status,
      error,
      description,
      headers: { 'www-authenticate': challenge, 'cache-control': 'no-store', ...extraHeaders },
    },
  };
}

const REPLAY_UNAVAILABLE = unavailableFailure(
  'the DPoP proof cannot be checked right now; try again shortly',
);

/**
 * The origin and path prefix clients call this service at. Behind a proxy the service cannot know
 * it from the request (the Host header and scheme it sees may be the proxy's), so it is configured.
 */
function checkPublicUrl(value: unknown): { origin: string; prefix: string } {
  if (typeof value !== 'string' && !(value instanceof URL)) {
    throw new TypeError(
      'dpop needs publicUrl: the URL clients call this service at, e.g. "https://api.example" (the proofs name it in htu)',
    );
  }
  const url = new URL(value);
  if (normalizeHtu(url) === undefined || url.search !== '' || url.hash !== '') {
    throw new TypeError('publicUrl must be an http(s) URL without credentials, query or fragment');
  }
  return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') };
}

/** The DPoP options, checked once: what the layer's per-request check closes over. */
interface DpopSetup {
  readonly mode: DpopMode;
  readonly origin: string;
  readonly prefix: string;
  readonly verifyProof: ProofVerifier;
  /** The accepted proof algorithms, as the challenges' `algs` lists them. */
  readonly algs: string;
  readonly replay: ReplayCache;
}

function dpopSetup(
  mode: unknown,
  publicUrl: unknown,
  options: DpopOptions | undefined,
  now: (() => number) | undefined,
): DpopSetup {
  if (mode !== 'required' && mode !== 'allowed') {
    throw new TypeError("dpop must be 'required' or 'allowed' (or left out: Bearer only)");
  }
  const { origin, prefix } = checkPublicUrl(publicUrl);
  const opts = options ?? {};
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError('dpopOptions must be an object');
  }
  checkOptions('dpopOptions', opts, DPOP_OPTION_NAMES);
  const verifyProof = createProofVerifier({
    ...(opts.algorithms !== undefined ? { algorithms: opts.algorithms } : {}),
    ...(opts.maxAge !== undefined ? { maxAge: opts.maxAge } : {}),
    ...(opts.clockTolerance !== undefined ? { clockTolerance: opts.clockTolerance } : {}),
    ...(now !== undefined ? { now } : {}),
  });
  const algs = (opts.algorithms ?? ['ES256', 'EdDSA', 'Ed25519']).join(' ');
  const replay = opts.replayCache ?? createMemoryReplayCache();
  if (typeof replay?.firstUse !== 'function') {
    throw new TypeError('replayCache must have firstUse(key, expiresAtMs)');
  }
  return { mode, origin, prefix, verifyProof, algs, replay };
}

/** The refusals a request gets before any proof is read: they depend on the mode only. */
function dpopChallenges(
  mode: DpopMode,
  algs: string,
): Pick<DpopLayer, 'boundAsBearer' | 'bearerRefused' | 'missing'> {
  return {
    boundAsBearer: dpopFail(
      401,
      'invalid_token',
      'this access token is bound to a key: send it as "Authorization: DPoP <token>" with a DPoP proof',
      algs,
    ),
    bearerRefused: dpopFail(
      401,
      'invalid_token',
      'this service needs DPoP: send "Authorization: DPoP <token>" with a DPoP proof',
      algs,
    ),
    missing: {
      ok: false,
      failure: {
        status: 401,
        error: 'invalid_token',
        description:
          mode === 'required'
            ? 'an access token is required: send "Authorization: DPoP <token>" with a DPoP proof'
            : 'an access token is required: send "Authorization: Bearer <token>", or DPoP with a proof',
        // RFC 9449 §7.1: no error code without credentials; both schemes when both are accepted.
        headers: {
          'www-authenticate':
            mode === 'required' ? `DPoP algs="${algs}"` : `Bearer, DPoP algs="${algs}"`,
          'cache-control': 'no-store',
        },
      },
    },
  };
}

/**
 * Prepares the DPoP layer once; a bad option is a TypeError here. `now` is the authenticator's
 * clock (its `now` option, tests), so that a proof's `iat` is judged by the same time as the token.
 */
export function prepareDpop(
  mode: unknown,
  publicUrl: unknown,
  options: DpopOptions | undefined,
  onUnavailable: (error: Error) => void,
  now?: () => number,
): DpopLayer {
  const setup = dpopSetup(mode, publicUrl, options, now);
  const { origin, prefix, verifyProof, algs, replay } = setup;
  const proofFail = (description: string) => dpopFail(401, 'invalid_dpop_proof', description, algs);
  const REPLAYED = proofFail('this DPoP proof was used before: make a new proof for every request');
  const OTHER_KEY = dpopFail(
    401,
    'invalid_token',
    'the access token is bound to another key than the DPoP proof',
    algs,
  );
  const NOT_BOUND = dpopFail(
    401,
    'invalid_token',
    'the access token is not bound to a key: send it as "Authorization: Bearer"',
    algs,
  );
  const NO_PROOF = proofFail('a DPoP proof is required: send it in one "DPoP" header');
  const unavailable = (error: unknown) => {
    onUnavailable(error instanceof Error ? error : new Error(String(error)));
    return REPLAY_UNAVAILABLE;
  };
  const afterReplay = (first: boolean) => (first ? undefined : REPLAYED);
  const malformed = dpopFail(
    400,
    'invalid_request',
    'send the access token as "Authorization: DPoP <token>" with a "DPoP" proof header',
    algs,
  );

  return {
    mode: setup.mode,
    credentials(authorization) {
      // Several Authorization headers are the bearer layer's 400; it sees them first.
      if (typeof authorization !== 'string') return undefined;
      if (authorization.length < 5 || authorization.slice(0, 5).toLowerCase() !== 'dpop ') {
        return undefined;
      }
      const token = authorization.slice(5).trim();
      return token !== '' && TOKEN68.test(token) ? token : malformed;
    },
    check(token, claims, request) {
      const jkt = boundJkt(claims);
      // RFC 9449 §7.1: the DPoP scheme carries bound tokens only.
      if (jkt === undefined) return NOT_BOUND;
      const proof = request.dpop;
      if (typeof proof !== 'string' || proof === '') return NO_PROOF;
      const path = request.url ?? '/';
      const target = path.startsWith('/') ? path : `/${path}`;
      const url =
        request.origin !== undefined && htuOrigin(proof) === request.origin
          ? `${request.origin}${target}`
          : `${origin}${prefix}${target}`;
      let verified: ReturnType<typeof verifyProof>;
      try {
        verified = verifyProof(proof, {
          method: request.method ?? 'GET',
          url,
          accessToken: token,
        });
      } catch (error) {
        if (error instanceof JwtError) return proofFail(error.message);
        throw error;
      }
      // RFC 9449 §7.1: the proof's key is the one the token is bound to.
      if (verified.jkt !== jkt) return OTHER_KEY;
      let first: boolean | Promise<boolean>;
      try {
        first = replay.firstUse(replayKey(jkt, verified.jti), verified.expiresAt * 1000);
      } catch (error) {
        return unavailable(error);
      }
      if (first instanceof Promise) return first.then(afterReplay, unavailable);
      return afterReplay(first);
    },
    ...dpopChallenges(setup.mode, algs),
  };
}

/** The origin a proof's `htu` names, read unverified (the signature is checked after), or undefined. */
export function htuOrigin(proof: string): string | undefined {
  try {
    const payload = proof.split('.')[1];
    if (payload === undefined || payload.length > 8192) return undefined;
    const htu = (
      JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { htu?: unknown }
    ).htu;
    return typeof htu === 'string' ? new URL(htu).origin : undefined;
  } catch {
    return undefined;
  }
}
