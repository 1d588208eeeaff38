// What makes two usernames "the same" for the store: the key they are looked up by (RFC 8265
// UsernameCaseMapped mapping) and the confusable skeleton (UTS #39 §4) that no two accounts may
// share. Both are pure functions of the name, so the store computes them itself on insert, on
// look-up and in the migration that fills them for rows written before they existed.
import { createRequire } from 'node:module';
import { caseFold } from 'unicode-case-folding';

// confusables.txt (Unicode 13.0) as shipped by the `unhomoglyph` package: one source code point
// mapped to its prototype. Read as data only; the skeleton below is ours (UTS #39 §4 needs NFD
// around the mapping, which the package's own function does not do).
const PROTOTYPES = new Map<string, string>(
  Object.entries(createRequire(import.meta.url)('unhomoglyph/data.json') as Record<string, string>),
);

// RFC 8265 §3.3.2 rule 1 (width mapping): a code point with a <wide> or <narrow> decomposition
// maps to it. Those are U+3000 and the Halfwidth and Fullwidth Forms block (U+FF01-U+FFEE); NFKC
// of each such code point alone is exactly its decomposition, and nothing else is touched.
const WIDTH = /[\u3000\uFF01-\uFFEE]/gu;
const widthMap = (text: string) => text.replace(WIDTH, (c) => c.normalize('NFKC'));

/**
 * The look-up key of a username: RFC 8265 §3.3.2 UsernameCaseMapped preparation and enforcement
 * mapping (width mapping, full case folding per Unicode CaseFolding.txt C+F, then NFC). `ODIN`,
 * `ｏｄｉｎ` and `odin` share one key, as do `STRASSE` and `straße`.
 */
export function usernameKey(username: string): string {
  return caseFold(widthMap(username).normalize('NFC')).normalize('NFC');
}

// Latin small capitals (IPA Extensions, Phonetic Extensions, Latin Extended-D) read as the
// letter they are a capital of: confusables.txt (13.0) leaves most of them out (`ᴀdmin` had a
// skeleton of its own) and maps `ᴋ` and `ᴍ` to other letters. No NFKC decomposition covers them.
const SMALL_CAPITALS = new Map<string, string>(
  [...'ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘꞯʀꜱᴛᴜᴠᴡʏᴢ'].map((c, i) => [c, 'abcdefghijklmnopqrstuvwyz'[i]!]),
);

/**
 * The confusable skeleton of a username key: UTS #39 §4 (decompose, each code point replaced by
 * its prototype from confusables.txt, NFD again), then case-folded once more, because prototypes
 * may be capitals (`0` → `O`) while keys are folded: `0din`, `odin` and Cyrillic `оdin` share one.
 * The decomposition is NFKD rather than NFD, so that compatibility forms (modifier and subscript
 * letters `ᵐ` `ₘ`, ligatures, circled and mathematical letters) fold to their letters first:
 * `adᵐin`, `adₘin` and mathematical `𝐚𝐝𝐦𝐢𝐧` share `admin`'s skeleton, so whichever is first
 * takes the name. (RFC 8264 §9.17 would refuse such code points outright; laissez keeps them as
 * taken names rather than invalid ones, one answer for every look-alike.)
 */
export function usernameSkeleton(key: string): string {
  let mapped = '';
  for (const c of key.normalize('NFKD')) {
    const letter = SMALL_CAPITALS.get(c) ?? c;
    mapped += PROTOTYPES.get(letter) ?? letter;
  }
  return caseFold(mapped.normalize('NFD')).normalize('NFD');
}

/**
 * The names a user holds, each unique among users, and reserved together when the user is
 * deleted with a reservation: its username's key and skeleton, and its email.
 */
export interface UserNames {
  /** `usernameKey` of the username. */
  readonly key: string;
  /** `usernameSkeleton` of that key. */
  readonly skeleton: string;
  /** The email, lower-cased. */
  readonly email: string;
}

/**
 * The names of a user as a store keeps them unique (`createUser`) and reserves them
 * (`deleteUser`): one helper, so that every store, the built-in ones and yours, compares the same.
 */
export function userNames(user: { readonly username: string; readonly email: string }): UserNames {
  const key = usernameKey(user.username);
  return { key, skeleton: usernameSkeleton(key), email: user.email.toLowerCase() };
}

/**
 * What a `listUsers` prefix is compared with: the start of a user's username key (`key`, the
 * prefix keyed the same way: `ODI` finds `odin`) or of their email (`email`, the prefix in NFC,
 * lower-cased).
 */
export function prefixNames(prefix: string): { key: string; email: string } {
  return { key: usernameKey(prefix), email: prefix.normalize('NFC').toLowerCase() };
}

/** The keys a migration gives a user row written before keys and skeletons existed. */
export interface UsernameKeys {
  id: string;
  key: string;
  /** Null when an earlier account already has this skeleton (or this key). */
  skeleton: string | null;
}

/**
 * Keys for existing rows, oldest first: the first account with a key or a skeleton keeps it. A
 * later account whose new key is taken (`STRASSE` after `straße`, both accepted before) gets the
 * key `:<id>`, which no username can produce (":" is not allowed), so it still logs in by email;
 * one whose skeleton only is taken keeps its key and has no skeleton (NULLs never conflict).
 */
export function planUsernameKeys(
  rows: readonly { id: string; username: string }[],
): UsernameKeys[] {
  const keys = new Set<string>();
  const skeletons = new Set<string>();
  return rows.map(({ id, username }) => {
    const key = usernameKey(username);
    if (keys.has(key)) return { id, key: `:${id}`, skeleton: null };
    keys.add(key);
    const skeleton = usernameSkeleton(key);
    if (skeletons.has(skeleton)) return { id, key, skeleton: null };
    skeletons.add(skeleton);
    return { id, key, skeleton };
  });
}

/**
 * Skeletons recomputed for existing rows when `usernameSkeleton` changes, oldest first, from the
 * keys the rows have: the first account with a skeleton keeps it, a later one whose skeleton is
 * taken (two names the old skeleton told apart, `admin` and `ᴀdmin`) gets none, and so does a
 * row whose key is a `:<id>` placeholder. Keys are not touched: every account still logs in.
 */
export function planUsernameSkeletons(
  rows: readonly { id: string; key: string }[],
): { id: string; skeleton: string | null }[] {
  const skeletons = new Set<string>();
  return rows.map(({ id, key }) => {
    if (key.startsWith(':')) return { id, skeleton: null };
    const skeleton = usernameSkeleton(key);
    if (skeletons.has(skeleton)) return { id, skeleton: null };
    skeletons.add(skeleton);
    return { id, skeleton };
  });
}
