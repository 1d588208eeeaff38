// Shared by `npm run bench:http-cost` (bench/http-cost.ts) and its server (http-cost-server.ts).

export interface CostConfig {
  secret: string;
  issuer: string;
  audience: string;
  /** Iterations of the busy loop of the `spin` route. */
  spin: number;
}
export type CostRoute = 'unprotected' | 'spin' | 'verify' | 'laissez';
export const COST_ROUTES: readonly CostRoute[] = ['unprotected', 'spin', 'verify', 'laissez'];
export type CostMessage =
  | { type: 'cpu'; user: number; system: number }
  | { type: 'loop'; micros: Record<string, number> };
