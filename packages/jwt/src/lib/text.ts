// Token headers and fetched documents are attacker-chosen: their text reaches an error message
// (and from there logs and HTTP answers) only when it is short and plain. One rule for every
// message that shows a kid, an alg or a header name.

/** Characters a kid, alg, curve or header name may show in a message (base64url, URLs, ids). */
const PLAIN = /^[\w.~+/=:-]+$/;

/** `value` when it is a plain string of 1 to `max` characters, otherwise undefined. */
export function plainText(value: unknown, max = 100): string | undefined {
  return typeof value === 'string' && value.length <= max && PLAIN.test(value) ? value : undefined;
}

/** A token's kid for a message: `kid "k1"` when plain, else a phrase that shows none of it. */
export function describeKid(kid: unknown): string {
  const shown = plainText(kid);
  return shown === undefined ? "the token's kid" : `kid ${JSON.stringify(shown)}`;
}
