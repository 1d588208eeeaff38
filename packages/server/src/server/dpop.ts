// DPoP at the auth server's token endpoints (RFC 9449 §5): `POST /auth/login`, `/auth/refresh`
// and `/oauth/token` take an optional `DPoP` proof; a valid one yields its key's thumbprint, to
// which the access token (and a log-in's refresh family) is bound. Server nonces (§8) are made
// from a secret derived from the key-encryption key and the current time window, so every
// instance that shares the KEK makes and accepts the same nonces, with nothing stored.

import { createHmac } from 'node:crypto';
import { type Algorithm, createProofVerifier, JwtError } from '@laissez/jwt';
import { htuOrigin, type ReplayCache, replayKey } from '@laissez/middleware';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.ts';

/** Proof algorithms the auth server accepts (what browsers and the laissez client make). */
export const DPOP_ALGORITHMS: readonly Algorithm[] = Object.freeze(['ES256', 'EdDSA', 'Ed25519']);
/**
 * A nonce's time window, in milliseconds. A nonce is accepted in its window and the next one (so
 * 60 to 120 s after it was made), and one window early, for instances whose clocks differ.
 */
export const NONCE_WINDOW = 60_000;
/** The purpose under which the nonce secret is derived from the key-encryption key. */
export const NONCE_PURPOSE = 'dpop nonce';

export interface TokenDpopOptions {
  /** The URL clients call this server at (`htu` is checked against it). */
  publicUrl: string;
  /** The nonce secret, derived once when first needed (HKDF of the KEK). */
  nonceSecret: () => Buffer;
  /** Proofs must carry a current nonce (`--dpop-nonce`). */
  requireNonce: boolean;
  replayCache: ReplayCache;
  now: () => number;
  /** Told when the replay cache cannot answer (the request gets a 503). */
  onUnavailable: (error: Error) => void;
}

export interface TokenDpop {
  /**
   * The thumbprint of the key of the request's DPoP proof, checked against this request (no `ath`:
   * no access token is sent to a token endpoint), its nonce and the replay cache; undefined when
   * the request has no `DPoP` header. A bad proof throws a 400 `invalid_dpop_proof`, a missing or
   * stale nonce a 400 `use_dpop_nonce` with a fresh `DPoP-Nonce`. With nonces on, every answer
   * carries one.
   */
  keyOf(request: FastifyRequest, reply: FastifyReply): Promise<string | undefined>;
  /** The current nonce (tests, and the answers). */
  nonce(): string;
}

/**
 * A bad proof at a token endpoint: RFC 9449 §5 has the authorization server answer
 * `invalid_dpop_proof` as an OAuth error, 400 (RFC 6749 §5.2), with no challenge; the catalogue's
 * 401 with `WWW-Authenticate: DPoP` is a resource server's answer (§7.1).
 */
export const badProof = (description: string): HttpError =>
  new HttpError('invalid_dpop_proof', description, {}, undefined, 400);

export function tokenEndpointDpop(options: TokenDpopOptions): TokenDpop {
  const base = new URL(options.publicUrl);
  const origin = base.origin;
  const prefix = base.pathname.replace(/\/+$/, '');
  const verifyProof = createProofVerifier({ algorithms: [...DPOP_ALGORITHMS], now: options.now });
  let secret: Buffer | undefined;
  const nonceAt = (window: number) => {
    secret ??= options.nonceSecret();
    // 128 bits of an HMAC of the window: unguessable without the secret, the same on every instance.
    return createHmac('sha256', secret).update(`${window}`).digest('base64url').slice(0, 22);
  };
  const windowNow = () => Math.floor(options.now() / NONCE_WINDOW);
  const nonce = () => nonceAt(windowNow());
  const current = (value: string) => {
    const w = windowNow();
    return value === nonceAt(w) || value === nonceAt(w - 1) || value === nonceAt(w + 1);
  };

  return {
    nonce,
    async keyOf(request, reply) {
      // RFC 9449 §8.2: a fresh nonce on every answer, so that clients keep one that works.
      if (options.requireNonce) reply.header('dpop-nonce', nonce());
      const proof = request.headers.dpop;
      if (proof === undefined) return undefined;
      const path = request.url.startsWith('/') ? request.url : `/${request.url}`;
      const text = typeof proof === 'string' ? proof : '';
      // RFC 9449 §4.3: the htu is the URI of the request: the public URL, or the origin this
      // request arrived at (through the trusted proxies), the method and path being the same.
      const arrived = `${request.protocol}://${request.host}`;
      const url = htuOrigin(text) === arrived ? `${arrived}${path}` : `${origin}${prefix}${path}`;
      let verified: ReturnType<typeof verifyProof>;
      try {
        verified = verifyProof(text, {
          method: request.method,
          url,
          ...(options.requireNonce ? { nonce: current } : {}),
        });
      } catch (error) {
        if (!(error instanceof JwtError)) throw error;
        if (error.code === 'ERR_DPOP_NONCE_REQUIRED') {
          // RFC 9449 §8: an authorization server answers 400 (a token endpoint's error, RFC 6749
          // §5.2); the catalogue's 401 with a challenge is a resource server's answer (§9).
          throw new HttpError(
            'use_dpop_nonce',
            error.message,
            { 'dpop-nonce': nonce() },
            undefined,
            400,
          );
        }
        throw badProof(error.message);
      }
      // RFC 9449 §11.1: a proof is accepted once, here as at the resource servers.
      let first: boolean;
      try {
        first = await options.replayCache.firstUse(
          replayKey(verified.jkt, verified.jti),
          verified.expiresAt * 1000,
        );
      } catch (error) {
        options.onUnavailable(error instanceof Error ? error : new Error(String(error)));
        throw new HttpError(
          'temporarily_unavailable',
          'the DPoP proof cannot be checked right now; try again shortly',
          { 'retry-after': '5' },
        );
      }
      if (!first) {
        throw badProof('this DPoP proof was used before: make a new proof for every request');
      }
      return verified.jkt;
    },
  };
}
