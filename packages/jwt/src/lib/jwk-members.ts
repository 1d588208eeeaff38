// The JWK members that carry private or secret key material: RSA "d", "p", "q", "dp", "dq", "qi"
// and "oth" (RFC 7518 §6.3.2), EC "d" (§6.2.2.1), oct "k" (§6.4.1), OKP "d" (RFC 8037 §2).
// A JWK with any of them is not public: a JWKS must not publish it and a verifier needs none of it.
// Pure data with no node: import, so that the debugger page (src/web) uses the same list.

export const PRIVATE_JWK_MEMBERS: readonly string[] = Object.freeze([
  'd',
  'p',
  'q',
  'dp',
  'dq',
  'qi',
  'oth',
  'k',
]);
