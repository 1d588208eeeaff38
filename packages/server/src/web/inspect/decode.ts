// Splitting and decoding a compact JWS (RFC 7515 §7.1) in the page: structure only, nothing here is
// verified. No DOM and no network: it runs the same in a browser and in Node (where its tests run).

import { type Bytes, decodeBase64url } from './base64url.ts';

/** The largest token the debugger decodes, in characters. */
export const MAX_TOKEN_LENGTH = 256 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface DecodedToken {
  /** The three segments as given. */
  readonly segments: readonly [string, string, string];
  readonly header: Record<string, unknown>;
  /** The payload: parsed JSON when it is JSON, else its text. */
  readonly payload: unknown;
  readonly payloadIsJson: boolean;
  readonly signature: Bytes;
  /** Notes on the input (a stripped `Bearer ` prefix). */
  readonly notes: string[];
}

export type DecodeResult = { ok: true; token: DecodedToken } | { ok: false; error: string };

/** Splits and decodes a compact JWS. Checks structure only: nothing here is verified. */
export function decodeToken(input: string): DecodeResult {
  const notes: string[] = [];
  let text = input.trim();
  if (text.length > MAX_TOKEN_LENGTH) {
    return { ok: false, error: `The token is over ${MAX_TOKEN_LENGTH / 1024} KiB.` };
  }
  if (/^bearer\s+/i.test(text)) {
    text = text.replace(/^bearer\s+/i, '');
    notes.push('The "Bearer " prefix was left out: it belongs to the header, not the token.');
  }
  if (text === '') return { ok: false, error: 'Paste a token.' };
  if (/\s/.test(text)) {
    return { ok: false, error: 'The token contains spaces or line breaks; a JWT has none.' };
  }
  const parts = text.split('.');
  if (parts.length === 5) {
    return {
      ok: false,
      error:
        'This is an encrypted token (JWE, five parts): its payload cannot be read without the decryption key.',
    };
  }
  if (parts.length !== 3) {
    return {
      ok: false,
      error: `A JWT has three parts separated by dots (header.payload.signature); this has ${parts.length}.`,
    };
  }
  const [h, p, s] = parts as [string, string, string];
  const headerBytes = decodeBase64url(h);
  if (!headerBytes || h === '') {
    return { ok: false, error: 'The header (first part) is not valid base64url.' };
  }
  let header: unknown;
  try {
    header = JSON.parse(utf8.decode(headerBytes));
  } catch {
    return { ok: false, error: 'The header (first part) is not valid UTF-8 JSON.' };
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    return { ok: false, error: 'The header is not a JSON object.' };
  }
  const payloadBytes = decodeBase64url(p);
  if (!payloadBytes) {
    return { ok: false, error: 'The payload (second part) is not valid base64url.' };
  }
  let payloadText: string;
  try {
    payloadText = utf8.decode(payloadBytes);
  } catch {
    return { ok: false, error: 'The payload (second part) is not valid UTF-8.' };
  }
  let payload: unknown = payloadText;
  let payloadIsJson = false;
  try {
    payload = JSON.parse(payloadText);
    payloadIsJson = true;
  } catch {
    notes.push('The payload is not JSON, so this is a JWS but not a JWT.');
  }
  const signature = decodeBase64url(s);
  if (!signature) {
    return { ok: false, error: 'The signature (third part) is not valid base64url.' };
  }
  return {
    ok: true,
    token: {
      segments: [h, p, s],
      header: header as Record<string, unknown>,
      payload,
      payloadIsJson,
      signature,
      notes,
    },
  };
}
