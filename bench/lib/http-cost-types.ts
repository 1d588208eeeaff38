// Shared by `npm run bench:http-cost` (bench/http-cost.ts) and its server (http-cost-server.ts).

import type { ServerConfig } from './http-variants.ts';

export interface CostConfig extends ServerConfig {
  /** Iterations of the busy loop of the `spin` route. */
  spin: number;
}
/**
 * The routes, each the same handler behind one onRequest hook (none for `unprotected`):
 * - `noop`: a hook that only calls `done()`;
 * - `spin`: a busy loop on registers, sized to cost what the laissez hook costs alone;
 * - `sha256`: one SHA-256 (`crypto.hash`) of the token's signing input: half of what an HMAC hashes;
 * - `payload`: the payload decoded from base64url and `JSON.parse`d, as any verifier must to read
 *   `exp`;
 * - `floor`: both in one hook, less than any HS256 check on node:crypto and JSON.parse does (an
 *   HMAC is two hashes, and a check also reads the header and the claims);
 * - `verify`: the laissez JWT core (`createVerifier`) on the header's token;
 * - `laissez`: the laissez Fastify hook (`app.authenticate`);
 * - `cache`: the same hook registered with `cache: true` (every request after the first is a hit).
 */
export type CostRoute =
  | 'unprotected'
  | 'noop'
  | 'spin'
  | 'sha256'
  | 'payload'
  | 'floor'
  | 'verify'
  | 'laissez'
  | 'cache';
export const COST_ROUTES: readonly CostRoute[] = [
  'unprotected',
  'noop',
  'spin',
  'sha256',
  'payload',
  'floor',
  'verify',
  'laissez',
  'cache',
];
export type CostMessage =
  | { type: 'cpu'; user: number; system: number }
  | { type: 'loop'; micros: Record<string, number> };
