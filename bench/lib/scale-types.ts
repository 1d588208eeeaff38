// Messages between bench/scale.ts and its auth server processes (bench/lib/scale-server.ts).

export interface ScaleStatsRequest {
  type: 'stats';
}

export interface ScaleStatsReply {
  type: 'stats';
  /** Statements sent to PostgreSQL by this process so far (each one a round trip). */
  statements: number;
}
