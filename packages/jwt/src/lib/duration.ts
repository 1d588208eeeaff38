import type { Duration } from '../types.ts';

const UNITS: Record<string, number> = {
  s: 1,
  sec: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hour: 3600,
  hours: 3600,
  d: 86400,
  day: 86400,
  days: 86400,
  w: 604800,
  week: 604800,
  weeks: 604800,
};
const PATTERN = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/;

/**
 * Turns a duration into whole seconds: a number is seconds already; a string is a number and a unit
 * (`'30s'`, `'15m'`, `'12h'`, `'7d'`, `'2w'`; a bare `'90'` is seconds).
 * @throws TypeError when the value is not a non-negative finite duration.
 * @example parseDuration('15m') // 900
 */
export function parseDuration(value: Duration, name = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new TypeError(`${name} must be a non-negative number of seconds, got ${value}`);
    }
    return Math.floor(value);
  }
  if (typeof value === 'string') {
    const match = PATTERN.exec(value.trim().toLowerCase());
    const unit = match ? UNITS[match[2] || 's'] : undefined;
    if (match && unit !== undefined) return Math.floor(Number(match[1]) * unit);
  }
  throw new TypeError(
    `${name} must be seconds or a string like '30s', '15m', '12h', '7d' or '2w', got ${JSON.stringify(value)}`,
  );
}
