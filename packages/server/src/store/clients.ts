// OAuth clients (services that get tokens of their own) and the `jti`s of their assertions: the
// records and the part of the `Store` contract that keeps them.

/** How a client proves who it is at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2). */
export const CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/**
 * A registered OAuth client (a service that gets tokens of its own at `POST /oauth/token`).
 * Confidential only: every client authenticates, with a secret or with a key of its own.
 */
export interface Client {
  /** The `client_id`: unique, chosen at registration. */
  readonly id: string;
  readonly name: string;
  /**
   * base64url SHA-256 of the client secret (a 256-bit random value, so a fast hash is enough:
   * there is nothing to guess from it); null for `private_key_jwt` clients, which have none.
   */
  readonly secretHash: string | null;
  /** The scopes it may ask for; a token request asks for a subset. */
  readonly scopes: readonly string[];
  /** The grant types it may use (`client_credentials`). */
  readonly grantTypes: readonly string[];
  readonly authMethod: ClientAuthMethod;
  /** `private_key_jwt`: the client's public keys (a JWK Set, JSON text), or null. */
  readonly jwks: string | null;
  /** `private_key_jwt`: where its public keys are fetched (https), or null. */
  readonly jwksUri: string | null;
  readonly createdAt: number;
  /** When the secret was last replaced (`laissez clients rotate-secret`), or null. */
  readonly secretRotatedAt: number | null;
}

/** Registered OAuth clients, and the client assertions already used (replay protection). */
export interface ClientStore {
  /**
   * Registers a client. False (and nothing stored) when a client with this id exists: the
   * primary key decides, so of two racers for one id exactly one gets true.
   */
  createClient(client: Client): Promise<boolean>;
  findClient(id: string): Promise<Client | null>;
  /** Every client, ordered by creation then id. */
  listClients(): Promise<Client[]>;
  /** True when there was such a client. */
  deleteClient(id: string): Promise<boolean>;
  /** Replaces the client's secret hash and sets `secretRotatedAt`; false for an unknown client. */
  setClientSecret(id: string, secretHash: string, now: number): Promise<boolean>;
  /**
   * Records that a client assertion (RFC 7523 `private_key_jwt`) with this `jti` was used, until
   * `expiresAt`: true the first time, false while an earlier record of the same client and jti has
   * not expired (a replay). Atomic: of racers with one assertion exactly one gets true. Records
   * past their expiry may be replaced or deleted.
   */
  useClientAssertion(
    clientId: string,
    jti: string,
    expiresAt: number,
    now: number,
  ): Promise<boolean>;
}
