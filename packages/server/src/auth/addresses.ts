// Client addresses as the auth domain counts them. Every per-address limit (log-in, registration,
// the per-client log-in budget an unlock lifts) keys an address through `clientKeyOf` here, so a
// caller of the domain (the HTTP server, a CLI, an embedding app) passes the address as it has it
// and cannot give one client two budgets by spelling its address two ways.
import { isIPv4, isIPv6 } from 'node:net';

/**
 * The key a client address is counted under by the per-address limits and the connection cap.
 * An IPv6 client is given a whole /64 (RFC 4291 §2.5.4 interface identifiers; RFC 6177 and
 * RFC 7934 §6 recommend at least a /64 per subscriber), so it can use any of 2^64 addresses: per
 * address, each would be a fresh allowance. IPv6 is therefore counted by its /64 prefix, and an
 * IPv4-mapped address (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2: an IPv4 client of a dual-stack
 * listener) as the IPv4 address it is. Every spelling of one address gets one key. Anything else
 * (a proxy's odd entry) is kept as it is.
 */
export function clientKeyOf(address: string): string {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv4(bare)) return bare;
  if (!isIPv6(bare)) return address;
  // Expand `::` and a trailing dotted IPv4 part into eight 16-bit groups.
  let text = bare.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right].map(
    (group) => Number.parseInt(group, 16),
  );
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}
