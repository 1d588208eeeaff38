// `@laissez/jwt/facts`: the library's facts that a browser page can load as they are (no node:
// import anywhere below): the algorithm table, the canonical base64url rule and the JWK members
// that hold private key material. The auth server's JWT debugger (laissez, src/web/inspect) takes
// them from here, so the page cannot drift from the library.

export {
  ALGORITHM_INFO,
  ALGORITHMS,
  type AlgorithmInfo,
  type Family,
  isAlgorithm,
} from './lib/algorithms.ts';
export { isCanonical } from './lib/base64url.ts';
export { PRIVATE_JWK_MEMBERS } from './lib/jwk-members.ts';
export type { Algorithm } from './types.ts';
