// RFC 9449 §4.3 step 9: the `htu` of a proof is compared with the request's URI "without query and
// fragment parts", after syntax-based normalization (RFC 3986 §6.2.2). Both sides go through the
// same function, so a proof made for `HTTPS://API.example:443/a/%7euser` matches a request for
// `https://api.example/a/~user`. No imports: the browser client (@laissez/client, which installs
// nothing) carries an identical copy, kept so by test/copies.test.ts.

/** RFC 3986 §2.3: characters that never need percent-encoding. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * The form of an HTTP(S) URL that `htu` is compared in: scheme and host in lower case, the default
 * port dropped, dot segments removed (the WHATWG URL parser does these), percent-encodings of
 * unreserved characters decoded and the others' hex digits in upper case (RFC 3986 §6.2.2.1-2),
 * query and fragment removed. Undefined for anything that is not an absolute http(s) URL.
 * @example normalizeHtu('HTTPS://Api.Example:443/a/%7ex?q=1#f') // 'https://api.example/a/~x'
 */
export function normalizeHtu(url: string | URL): string | undefined {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : new URL(url.href);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  // Credentials are no part of the resource a proof is for.
  if (parsed.username !== '' || parsed.password !== '') return undefined;
  const path = parsed.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
  return `${parsed.protocol}//${parsed.host}${path}`;
}
