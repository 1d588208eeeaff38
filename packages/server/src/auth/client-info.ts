// What a session remembers of the client that started it: its address and a short device label
// made from the User-Agent ("Firefox on Linux"). The raw header is never stored: it is attacker-
// chosen text of up to the header limit, and a fingerprint the user's session list does not need.
//
// The label is a small heuristic, not a User-Agent parser: it looks for a few well-known product
// tokens (RFC 9110 §10.1.5: `product/version` and comments) in a bounded prefix of the header and
// names the browser family and the platform. Unknown clients get "Unknown device"; API clients
// that name themselves (`curl/8.5`, `okhttp/4`) get their product name. Order matters: Edge and
// Opera carry "Chrome", Chrome carries "Safari", Android carries "Linux", iOS carries "Mac OS X".
import type { SessionClient } from '../store/types.ts';

/** The longest device label stored. */
export const DEVICE_LABEL_MAX = 64;
/** How much of a User-Agent is read: real ones are a few hundred characters. */
export const USER_AGENT_READ = 512;
/** The longest client address stored (an IPv6 address with a zone is under 64). */
export const CLIENT_IP_MAX = 64;

const BROWSERS: readonly [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\b(?:OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\b(?:Firefox|FxiOS)\//, 'Firefox'],
  [/\b(?:Chrome|CriOS|Chromium)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
];

const PLATFORMS: readonly [RegExp, string][] = [
  [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

/** A product token at the start of the header (`curl/8.5.0`): its name, for non-browser clients. */
const PRODUCT = /^([A-Za-z][A-Za-z0-9._-]{0,31})\/\S/;

/**
 * A short, printable label for a User-Agent header: "Firefox on Linux", "Safari on iOS",
 * "curl", or "Unknown device" (also for a missing or non-string header). At most
 * DEVICE_LABEL_MAX characters, from a fixed vocabulary or one product name of letters, digits and
 * `._-`: nothing else of the header reaches the store.
 */
export function deviceLabel(userAgent: unknown): string {
  if (typeof userAgent !== 'string' || userAgent === '') return 'Unknown device';
  const ua = userAgent.slice(0, USER_AGENT_READ);
  const browser = BROWSERS.find(([pattern]) => pattern.test(ua))?.[1];
  const platform = PLATFORMS.find(([pattern]) => pattern.test(ua))?.[1];
  if (browser && platform) return `${browser} on ${platform}`;
  if (browser) return browser;
  const product = PRODUCT.exec(ua)?.[1];
  // "Mozilla/5.0 (…)" with nothing recognised is a browser we do not know.
  if (product && product !== 'Mozilla') return product.slice(0, DEVICE_LABEL_MAX);
  return platform ? `Browser on ${platform}` : 'Unknown device';
}

/** The client of a new session: the address (bounded) and the device label of its User-Agent. */
export function sessionClient(ip: unknown, userAgent: unknown): SessionClient {
  return {
    ip: typeof ip === 'string' && ip !== '' ? ip.slice(0, CLIENT_IP_MAX) : null,
    device: deviceLabel(userAgent),
  };
}
