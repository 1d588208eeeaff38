// Choosing the key of a JWK Set (RFC 7517 §5) for a token: by its kid when it has one (RFC 7515
// §4.1.4), then by the algorithms each key may verify (its kty, curve, size, and its JWK "alg",
// "use" and "key_ops", RFC 7517 §4.2-4.4). One matching rule for both kinds of set:
// - a static set given as a verifier's key (`staticKeySet`): keys prepared once for the verifier's
//   algorithms; several keys that fit a kid-less token are each tried;
// - a remote set (`buildKeySet`, `selectKey`): keys fetched from a URL, prepared for every
//   algorithm; a kid-less token must find exactly one key, and private keys are never used.
import { ALGORITHM_INFO, ALGORITHMS } from '../lib/algorithms.ts';
import { type CheckFn, checkerFor } from '../lib/crypto.ts';
import { JwtError } from '../lib/errors.ts';
import { deepFreeze } from '../lib/freeze.ts';
import { assertKeyFits, isPrivateJwk, type PreparedKey, prepareKey } from '../lib/keys.ts';
import { describeKid, plainText } from '../lib/text.ts';
import type { Algorithm, Jwk, JwtHeader, KeyInput } from '../types.ts';

/** A key of a set: its kid and the algorithms it may verify (a Set, or a Map to their checkers). */
export interface SetKey {
  readonly kid: unknown;
  readonly fits: { has(alg: Algorithm): boolean };
}

/**
 * A member of a set prepared for verification, with the algorithms among `algorithms` that it
 * fits; undefined when it fits none or is no key for verifying (X25519, "use": "enc", key_ops
 * without "verify", a broken key): sets may hold keys for other uses, which are skipped.
 */
export function usableKey(
  member: unknown,
  algorithms: readonly Algorithm[],
  allowWeak: boolean,
): { prepared: PreparedKey; fits: Algorithm[] } | undefined {
  let prepared: PreparedKey;
  try {
    prepared = prepareKey(member as KeyInput, 'verify');
  } catch {
    return undefined;
  }
  const fits: Algorithm[] = [];
  for (const alg of algorithms) {
    try {
      assertKeyFits(prepared, alg, allowWeak);
      fits.push(alg);
    } catch {}
  }
  return fits.length > 0 ? { prepared, fits } : undefined;
}

/**
 * The keys that may verify a token with this header, in set order: with a kid, those with that
 * kid that fit the alg (and `sameKid`, the first key with that kid that does not fit, to say why);
 * without a kid, every key that fits the alg.
 */
export function matchKeys<K extends SetKey>(
  keys: readonly K[],
  header: JwtHeader,
): { matches: K[]; sameKid: K | undefined } {
  const { alg, kid } = header;
  const matches: K[] = [];
  let sameKid: K | undefined;
  for (const key of keys) {
    if (kid !== undefined && key.kid !== kid) continue;
    if (key.fits.has(alg)) matches.push(key);
    else if (kid !== undefined) sameKid ??= key;
  }
  return { matches, sameKid };
}

// --- a static set: the verifier's own key option ----------------------------------------------

interface StaticMember extends SetKey {
  readonly fits: ReadonlyMap<Algorithm, CheckFn>;
}

/**
 * Prepares a JWK Set given as a verifier's key, for the verifier's algorithms; returns the
 * checker for a token header (called once per distinct header: the verifier caches it).
 * @throws JwtError ERR_KEY_NOT_FOUND when no key of the set fits any of the algorithms.
 */
export function staticKeySet(
  keys: readonly unknown[],
  algorithms: readonly Algorithm[],
  allowWeak: boolean,
): (header: JwtHeader) => CheckFn {
  const members: StaticMember[] = [];
  for (const member of keys) {
    const usable = usableKey(member, algorithms, allowWeak);
    if (usable === undefined) continue;
    const { prepared, fits } = usable;
    const checks = new Map<Algorithm, CheckFn>();
    for (const alg of fits) checks.set(alg, checkerFor(ALGORITHM_INFO[alg], prepared.key));
    members.push({ kid: prepared.kid, fits: checks });
  }
  if (members.length === 0) {
    throw new JwtError(
      'ERR_KEY_NOT_FOUND',
      `the key set has no key usable with ${algorithms.join(', ')}`,
    );
  }
  return (header) => {
    const { alg, kid } = header;
    const checks = matchKeys(members, header).matches.map((member) => member.fits.get(alg)!);
    if (checks.length === 0) {
      throw new JwtError(
        'ERR_KEY_NOT_FOUND',
        kid === undefined
          ? `no key in the set verifies ${alg}`
          : `no key in the set has ${describeKid(kid)} for ${alg}`,
      );
    }
    if (checks.length === 1) return checks[0]!;
    // Two keys share the kid (or there is none): the signature decides which one it is.
    return (token, dot) => checks.some((check) => check(token, dot));
  };
}

// --- a remote set: fetched, refetched, never trusted with private keys --------------------------

interface Entry extends SetKey {
  readonly jwk: Jwk;
  readonly kid: string | undefined;
  readonly fits: ReadonlySet<Algorithm>;
}

type SkipReason = 'private' | 'unusable';

/** The usable keys of one fetched document, and what was skipped (for messages). */
export interface KeySet {
  readonly entries: readonly Entry[];
  /** The usable keys, frozen. */
  readonly view: readonly Jwk[];
  /** Keys the document had but that are not used, by kid (for messages). */
  readonly skippedKids: ReadonlyMap<string, SkipReason>;
  readonly skipped: { readonly private: number; readonly unusable: number };
  /** Entries by their JSON text, so that an unchanged key keeps its object across fetches. */
  readonly byText: ReadonlyMap<string, Entry>;
}

/**
 * Turns a fetched document's keys into usable entries; keys unchanged since `previous` keep their
 * objects (and so the verifier's prepared checkers). Keys with private members are skipped: a
 * JWKS served over HTTP publishes public keys only.
 */
export function buildKeySet(keys: readonly unknown[], previous: KeySet | undefined): KeySet {
  const entries: Entry[] = [];
  const byText = new Map<string, Entry>();
  const skippedKids = new Map<string, SkipReason>();
  const skipped = { private: 0, unusable: 0 };
  const skip = (value: unknown, reason: SkipReason) => {
    skipped[reason]++;
    const kid = (value as { kid?: unknown } | null)?.kid;
    if (typeof kid === 'string' && !skippedKids.has(kid)) skippedKids.set(kid, reason);
  };
  for (const value of keys) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      skipped.unusable++;
      continue;
    }
    const jwk = value as Jwk;
    if (isPrivateJwk(jwk)) {
      skip(jwk, 'private');
      continue;
    }
    const text = JSON.stringify(jwk);
    if (byText.has(text)) continue; // the same key twice
    let entry = previous?.byText.get(text);
    if (entry === undefined) {
      const made = makeEntry(jwk);
      if (made === undefined) {
        skip(jwk, 'unusable');
        continue;
      }
      entry = made;
    }
    byText.set(text, entry);
    entries.push(entry);
  }
  return {
    entries,
    view: Object.freeze(entries.map((e) => e.jwk)),
    skippedKids,
    skipped,
    byText,
  };
}

/** A public key with every algorithm it may verify, or undefined when it cannot verify any. */
function makeEntry(jwk: Jwk): Entry | undefined {
  if (typeof jwk.kty !== 'string') return undefined;
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') return undefined;
  const usable = usableKey(jwk, ALGORITHMS, false);
  if (usable === undefined) return undefined;
  return { jwk: deepFreeze(jwk), kid: jwk.kid, fits: new Set(usable.fits) };
}

/**
 * The key of a fetched set for a token header, undefined when none has its kid (or, without a
 * kid, none fits its alg): a refetch may then find it.
 * @throws JwtError ERR_KEY_ALG_MISMATCH when the kid is known but its key cannot verify the alg
 * (a refetch would not help); ERR_KEY_NOT_FOUND when a kid-less token fits several keys.
 */
export function selectKey(set: KeySet, header: JwtHeader, where: string): Jwk | undefined {
  const { alg, kid } = header;
  const { matches, sameKid } = matchKeys(set.entries, header);
  if (kid !== undefined) {
    if (matches.length > 0) return matches[0]!.jwk;
    if (sameKid !== undefined) {
      throw new JwtError(
        'ERR_KEY_ALG_MISMATCH',
        `the key with ${describeKid(kid)} in the JWKS at ${where} cannot verify ${alg}` +
          (typeof sameKid.jwk.alg === 'string'
            ? `: its JWK alg is ${plainText(sameKid.jwk.alg) ?? 'another algorithm'}`
            : `: it is a ${describeKey(sameKid.jwk)} key`),
      );
    }
    return undefined;
  }
  if (matches.length > 1) {
    throw new JwtError(
      'ERR_KEY_NOT_FOUND',
      `the token has no kid and the JWKS at ${where} has ${matches.length} keys that fit ${alg}; tokens must name their key with a kid when several keys are candidates`,
    );
  }
  return matches[0]?.jwk;
}

/** Why a fetched set has no key for a token header, for the caller who configured the URL. */
export function keyNotFound(
  set: KeySet,
  header: JwtHeader,
  where: string,
  cooldown: number,
): JwtError {
  const { alg, kid } = header;
  if (set.entries.length === 0) {
    const { private: secret, unusable } = set.skipped;
    return new JwtError(
      'ERR_KEY_INVALID',
      `the JWKS at ${where} has no usable public signature key` +
        (secret > 0
          ? ` (${secret} key${secret === 1 ? '' : 's'} skipped for holding private members: a JWKS served over HTTP must only publish public keys)`
          : unusable > 0
            ? ` (${unusable} key${unusable === 1 ? '' : 's'} skipped: unsupported kty, not for "sig", or invalid)`
            : ' (the set is empty)') +
        '; check the issuer configuration',
    );
  }
  if (kid === undefined) {
    return new JwtError(
      'ERR_KEY_NOT_FOUND',
      `the token has no kid and no key in the JWKS at ${where} fits ${alg}`,
    );
  }
  const skipped = set.skippedKids.get(kid);
  return new JwtError(
    'ERR_KEY_NOT_FOUND',
    `no key in the JWKS at ${where} has ${describeKid(kid)} for ${alg}` +
      (skipped === 'private'
        ? ' (a key with that kid was skipped: it holds private members, which a JWKS must never publish)'
        : skipped === 'unusable'
          ? ' (a key with that kid was skipped: unsupported kty, not for "sig", or invalid)'
          : `; the set is refetched for an unknown kid at most once per cool-down (${cooldown} ms)`),
  );
}

function describeKey(jwk: Jwk): string {
  const kty = plainText(jwk.kty) ?? 'unknown';
  const crv = typeof jwk.crv === 'string' ? ` ${plainText(jwk.crv) ?? ''}` : '';
  return `${kty}${crv}`;
}
