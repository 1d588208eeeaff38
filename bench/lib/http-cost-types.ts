// Shared by `npm run bench:http-cost` (bench/http-cost.ts) and its server (http-cost-server.ts).

import type { ServerConfig } from './http-variants.ts';

export interface CostConfig extends ServerConfig {
  /** Iterations of the busy loop of the `spin` route. */
  spin: number;
}
export type CostRoute = 'unprotected' | 'spin' | 'verify' | 'laissez';
export const COST_ROUTES: readonly CostRoute[] = ['unprotected', 'spin', 'verify', 'laissez'];
export type CostMessage =
  | { type: 'cpu'; user: number; system: number }
  | { type: 'loop'; micros: Record<string, number> };
