// The NumericDate claims of a payload (RFC 7519 §2, §4.1.4-6) for people: dates, validity at a
// moment, durations. Not a verification: anyone can write these claims.

export const TIME_CLAIMS = ['iat', 'nbf', 'exp', 'auth_time'] as const;
export type TimeClaim = (typeof TIME_CLAIMS)[number];

export const TIME_CLAIM_NAMES: Record<TimeClaim, string> = {
  iat: 'issued at',
  nbf: 'not before',
  exp: 'expires',
  auth_time: 'authenticated at',
};

export interface TimeFact {
  claim: TimeClaim;
  seconds: number;
  date: Date;
}

/** The NumericDate claims of a payload, and the ones that are present but not numbers. */
export function timeClaims(payload: unknown): { facts: TimeFact[]; invalid: TimeClaim[] } {
  const facts: TimeFact[] = [];
  const invalid: TimeClaim[] = [];
  if (payload === null || typeof payload !== 'object') return { facts, invalid };
  const record = payload as Record<string, unknown>;
  for (const claim of TIME_CLAIMS) {
    const value = record[claim];
    if (value === undefined) continue;
    const date = new Date(Number(value) * 1000);
    if (typeof value !== 'number' || !Number.isFinite(value) || Number.isNaN(date.getTime())) {
      invalid.push(claim);
    } else {
      facts.push({ claim, seconds: value, date });
    }
  }
  return { facts, invalid };
}

export type Validity =
  | { state: 'valid'; expiresInMs: number }
  | { state: 'expired'; agoMs: number }
  | { state: 'not-yet-valid'; inMs: number }
  | { state: 'no-exp' };

/** Whether the token's times hold at `now` (ms). Not a verification: anyone can write these. */
export function validity(payload: unknown, now: number): Validity {
  const { facts } = timeClaims(payload);
  const at = (claim: TimeClaim) => facts.find((f) => f.claim === claim)?.seconds;
  const exp = at('exp');
  const nbf = at('nbf');
  if (exp !== undefined && now >= exp * 1000) return { state: 'expired', agoMs: now - exp * 1000 };
  if (nbf !== undefined && now < nbf * 1000)
    return { state: 'not-yet-valid', inMs: nbf * 1000 - now };
  if (exp === undefined) return { state: 'no-exp' };
  return { state: 'valid', expiresInMs: exp * 1000 - now };
}

/** "3 min", "2 h 5 min", "4 s": a duration for people. */
export function humanDuration(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 && m < 10 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return d < 730 ? `${d} days` : `${Math.floor(d / 365)} years`;
}
