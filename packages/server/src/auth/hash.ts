// The one digest the auth layer stores in place of a secret it hands out (refresh tokens, mailed
// links, recovery codes, WebAuthn challenges): SHA-256, base64url. The secrets are 256 random
// bits, so a fast hash is enough: nothing to guess, and a database dump holds no usable token.

import { createHash } from 'node:crypto';

/** SHA-256 of `text`, base64url. */
export const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');
