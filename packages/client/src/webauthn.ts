/// <reference lib="dom" />
// The browser side of passkeys: WebAuthn options as the server sends them (JSON, binary members in
// base64url) to what navigator.credentials takes, and the credential it makes back to JSON. Written
// here, with no dependency, after WebAuthn Level 3 §5.1.8-§5.1.10 (parseCreationOptionsFromJSON,
// parseRequestOptionsFromJSON, toJSON), which not every browser has yet.

/** base64url without padding (RFC 4648 §5), as WebAuthn's JSON forms carry binary members. */
export function toBase64url(bytes: ArrayBuffer | ArrayBufferView): string {
  const view =
    bytes instanceof ArrayBuffer
      ? new Uint8Array(bytes)
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let binary = '';
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The bytes of a base64url string; throws TypeError for anything else. */
export function fromBase64url(text: string): ArrayBuffer {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new TypeError('not base64url');
  }
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

type Json = Record<string, unknown>;
interface DescriptorJson {
  id: string;
  type: string;
  transports?: string[];
}

const descriptors = (list: unknown): PublicKeyCredentialDescriptor[] | undefined =>
  Array.isArray(list)
    ? (list as DescriptorJson[]).map((d) => ({
        id: fromBase64url(d.id),
        type: d.type as PublicKeyCredentialType,
        ...(d.transports ? { transports: d.transports as AuthenticatorTransport[] } : {}),
      }))
    : undefined;

/** PublicKeyCredentialCreationOptionsJSON (WebAuthn §5.4) to what credentials.create() takes. */
export function creationOptions(json: Json): PublicKeyCredentialCreationOptions {
  const user = json['user'] as Json;
  const exclude = descriptors(json['excludeCredentials']);
  return {
    ...(json as unknown as PublicKeyCredentialCreationOptions),
    challenge: fromBase64url(String(json['challenge'])),
    user: {
      ...(user as unknown as PublicKeyCredentialUserEntity),
      id: fromBase64url(String(user['id'])),
    },
    ...(exclude ? { excludeCredentials: exclude } : {}),
  };
}

/** PublicKeyCredentialRequestOptionsJSON (WebAuthn §5.5) to what credentials.get() takes. */
export function requestOptions(json: Json): PublicKeyCredentialRequestOptions {
  const allow = descriptors(json['allowCredentials']);
  return {
    ...(json as unknown as PublicKeyCredentialRequestOptions),
    challenge: fromBase64url(String(json['challenge'])),
    ...(allow ? { allowCredentials: allow } : {}),
  };
}

/** A credential made or used by the authenticator, as JSON for the server (WebAuthn §5.1.10). */
export function credentialJson(credential: PublicKeyCredential): Json {
  const response = credential.response;
  const out: Json = {};
  out['clientDataJSON'] = toBase64url(response.clientDataJSON);
  if (response instanceof AuthenticatorAttestationResponse) {
    out['attestationObject'] = toBase64url(response.attestationObject);
    if (typeof response.getTransports === 'function') out['transports'] = response.getTransports();
    if (typeof response.getAuthenticatorData === 'function') {
      out['authenticatorData'] = toBase64url(response.getAuthenticatorData());
    }
    const key = typeof response.getPublicKey === 'function' ? response.getPublicKey() : null;
    if (key) out['publicKey'] = toBase64url(key);
    if (typeof response.getPublicKeyAlgorithm === 'function') {
      out['publicKeyAlgorithm'] = response.getPublicKeyAlgorithm();
    }
  } else {
    const assertion = response as AuthenticatorAssertionResponse;
    out['authenticatorData'] = toBase64url(assertion.authenticatorData);
    out['signature'] = toBase64url(assertion.signature);
    if (assertion.userHandle) out['userHandle'] = toBase64url(assertion.userHandle);
  }
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    ...(credential.authenticatorAttachment
      ? { authenticatorAttachment: credential.authenticatorAttachment }
      : {}),
    clientExtensionResults: credential.getClientExtensionResults(),
    response: out,
  };
}

/** The browser's WebAuthn, or a TypeError saying it is missing (no secure context, old browser). */
function credentials(): CredentialsContainer {
  const container = globalThis.navigator?.credentials;
  if (container === undefined || typeof globalThis.PublicKeyCredential !== 'function') {
    throw new TypeError('passkeys need WebAuthn: a current browser on https or localhost');
  }
  return container;
}

/** credentials.create() with the server's options: the new credential as JSON. */
export async function createCredential(options: Json, signal?: AbortSignal): Promise<Json> {
  const made = await credentials().create({
    publicKey: creationOptions(options),
    ...(signal ? { signal } : {}),
  });
  if (made === null) throw new TypeError('the browser made no credential');
  return credentialJson(made as PublicKeyCredential);
}

/** credentials.get() with the server's options: the assertion as JSON. */
export async function getAssertion(options: Json, signal?: AbortSignal): Promise<Json> {
  const got = await credentials().get({
    publicKey: requestOptions(options),
    ...(signal ? { signal } : {}),
  });
  if (got === null) throw new TypeError('the browser used no credential');
  return credentialJson(got as PublicKeyCredential);
}
