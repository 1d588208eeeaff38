/**
 * Every error a token or key can cause, with a stable code to `switch` on and what it means.
 * Messages say what is wrong and how to fix it; they never contain a token or key material.
 * `docs/jwt.md` documents each code; a test keeps the two in step.
 */
export const JWT_ERROR_CODES = {
  ERR_JWT_MALFORMED:
    'Not three base64url parts, non-canonical base64url, or a header or payload that is not a JSON object.',
  ERR_JWT_TOO_LARGE: "Longer than the verifier's maxTokenLength (default 16 KiB).",
  ERR_JWS_ALG_NOT_ALLOWED: "The header's alg is not in the allow-list (alg none never is).",
  ERR_JWS_CRIT_UNSUPPORTED:
    'The header marks a parameter critical that this verifier does not understand (RFC 7515 §4.1.11), or uses b64 (RFC 7797).',
  ERR_JWS_SIGNATURE_INVALID: 'The signature does not match the key.',
  ERR_JWT_EXPIRED: 'exp has passed, or iat is older than maxAge.',
  ERR_JWT_NOT_YET_VALID: 'nbf or iat is in the future.',
  ERR_JWT_CLAIM_MISSING: 'A required claim (or the typ header) is absent; claim names it.',
  ERR_JWT_CLAIM_INVALID: 'A claim (or the typ header) has the wrong type or value; claim names it.',
  ERR_KEY_INVALID:
    'The key cannot be used: empty, unparseable, encrypted, not for signatures, or public where a private key is needed.',
  ERR_KEY_WEAK:
    'An HMAC secret shorter than the hash output (RFC 7518 §3.2) without allowWeakKey, or an RSA key under 2048 bits.',
  ERR_KEY_ALG_MISMATCH:
    "The key's type, curve or JWK alg does not fit the algorithm (an RSA key for HS256, a P-384 key for ES256).",
  ERR_KEY_NOT_FOUND: "No key in the set (or from the resolver) matches the token's kid and alg.",
  ERR_JWKS_UNAVAILABLE:
    "A remote JWK Set could not be fetched or read (network, timeout, HTTP status, size cap, not a JWK Set): a server-side fault, not the token's; retry later.",
  ERR_DPOP_PROOF_INVALID:
    'A DPoP proof (RFC 9449) is refused: malformed, wrong typ, alg not allowed, a jwk that is not a public key, a bad signature, or htm, htu, iat, jti or ath that do not fit the request; claim names which.',
  ERR_DPOP_NONCE_REQUIRED:
    'A DPoP proof lacks the nonce the server requires, or carries one that is no longer current (RFC 9449 §8): retry with the DPoP-Nonce the server sent.',
} as const;

export type JwtErrorCode = keyof typeof JWT_ERROR_CODES;

/** The one error class of `laissez/jwt`. */
export class JwtError extends Error {
  override name = 'JwtError';
  readonly code: JwtErrorCode;
  /** For claim errors: which claim (or `typ`). */
  readonly claim: string | undefined;

  constructor(code: JwtErrorCode, message: string, claim?: string) {
    super(message);
    this.code = code;
    this.claim = claim;
  }
}

/**
 * A short reason for a refused access token, safe to show a client (an RFC 6750 `error_description`):
 * it never contains the token or a key. The middleware and the auth server answer with it.
 */
export function describeJwtError(error: JwtError): string {
  switch (error.code) {
    case 'ERR_JWT_EXPIRED':
      return 'the access token has expired';
    case 'ERR_JWT_NOT_YET_VALID':
      return 'the access token is not valid yet';
    case 'ERR_JWS_SIGNATURE_INVALID':
      return 'the access token signature is not valid';
    case 'ERR_KEY_NOT_FOUND':
    case 'ERR_KEY_ALG_MISMATCH':
      return 'the access token was signed by a key this service does not know';
    case 'ERR_JWT_CLAIM_INVALID':
    case 'ERR_JWT_CLAIM_MISSING':
      return error.claim === 'typ'
        ? 'this is not an access token'
        : `the access token "${error.claim}" claim is not valid`;
    case 'ERR_JWS_ALG_NOT_ALLOWED':
      return 'the access token algorithm is not accepted';
    case 'ERR_JWT_TOO_LARGE':
      return 'the access token is too large';
    // DPoP messages are written to be shown: they name a claim, never its value.
    case 'ERR_DPOP_PROOF_INVALID':
    case 'ERR_DPOP_NONCE_REQUIRED':
      return error.message;
    default:
      return 'the access token is malformed';
  }
}
