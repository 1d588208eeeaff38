// Which usernames may be registered: RFC 8265 §3.3 (UsernameCaseMapped) over the RFC 8264
// IdentifierClass, and one script per name (UTS #39 §5.1), so that `pаypal` with a Cyrillic а is
// refused even before its skeleton is compared with existing names (the store's unique index).
import { usernameKey } from '../store/username-key.ts';
import { AuthServiceError } from './errors.ts';

/** Length bounds of a username, in code points of its key. */
export const USERNAME_MIN = 3;
export const USERNAME_MAX = 32;

// RFC 8264 §4.2 IdentifierClass, as far as laissez allows it: letters and digits (LetterDigits:
// Ll, Lu, Lo, Lm, Nd, and the marks Mn, Mc that many scripts need) plus "_", "." and "-" from
// ASCII7; never a default-ignorable code point, nor the old Hangul jamo (RFC 8264 §9.9). The first
// code point is not a mark (a mark attaches to what precedes it).
const IDENTIFIER =
  /^(?![\p{M}])[[\p{Ll}\p{Lu}\p{Lo}\p{Lm}\p{Nd}\p{Mn}\p{Mc}_.\-]--[\p{Default_Ignorable_Code_Point}\u1100-\u11FF\uA960-\uA97F\uD7B0-\uD7FF]]+$/v;

// Unicode scripts by ISO 15924 code, for Script_Extensions (UTS #24): every script a name could
// be written in. Common (Zyyy) and Inherited (Zinh) are not listed: they go with any script.
const SCRIPTS = (
  'Adlm Aghb Ahom Arab Armi Armn Avst Bali Bamu Bass Batk Beng Bhks Bopo Brah Brai Bugi Buhd ' +
  'Cakm Cans Cari Cham Cher Chrs Copt Cpmn Cprt Cyrl Deva Diak Dogr Dsrt Dupl Egyp Elba Elym ' +
  'Ethi Geor Glag Gong Gonm Goth Gran Grek Gujr Guru Hang Hani Hano Hatr Hebr Hira Hluw Hmng ' +
  'Hmnp Hung Ital Java Kali Kana Kawi Khar Khmr Khoj Kits Knda Kthi Lana Laoo Latn Lepc Limb ' +
  'Lina Linb Lisu Lyci Lydi Mahj Maka Mand Mani Marc Medf Mend Merc Mero Mlym Modi Mong Mroo ' +
  'Mtei Mult Mymr Nagm Nand Narb Nbat Newa Nkoo Nshu Ogam Olck Orkh Orya Osge Osma Ougr Palm ' +
  'Pauc Perm Phag Phli Phlp Phnx Plrd Prti Rjng Rohg Runr Samr Sarb Saur Sgnw Shaw Shrd Sidd ' +
  'Sind Sinh Sogd Sogo Sora Soyo Sund Sylo Syrc Tagb Takr Tale Talu Taml Tang Tavt Telu Tfng ' +
  'Tglg Thaa Thai Tibt Tirh Tnsa Toto Ugar Vaii Vith Wara Wcho Xpeo Xsux Yezi Yiii Zanb'
)
  .split(' ')
  .map((code) => ({ code, test: new RegExp(`^\\p{Script_Extensions=${code}}$`, 'u') }));

// UTS #39 §5.1: Han goes with Hiragana and Katakana (Japanese), Bopomofo (Hanb) and Hangul
// (Korean): each script is augmented with the writing systems it belongs to.
const AUGMENT: Record<string, readonly string[]> = {
  Hani: ['Hanb', 'Jpan', 'Kore'],
  Hira: ['Jpan'],
  Kana: ['Jpan'],
  Bopo: ['Hanb'],
  Hang: ['Kore'],
};

// Script sets per code point, computed once each (a name has at most 32 of them).
const scriptCache = new Map<string, ReadonlySet<string> | null>();

/** The augmented Script_Extensions of one code point; null for Common and Inherited (any script). */
function scriptsOf(c: string): ReadonlySet<string> | null {
  const cached = scriptCache.get(c);
  if (cached !== undefined) return cached;
  const found = new Set<string>();
  for (const { code, test } of SCRIPTS) {
    if (!test.test(c)) continue;
    found.add(code);
    for (const more of AUGMENT[code] ?? []) found.add(more);
  }
  const result = found.size === 0 ? null : found;
  if (scriptCache.size > 10_000) scriptCache.clear();
  scriptCache.set(c, result);
  return result;
}

/**
 * UTS #39 §5.1: true when the resolved script set (the intersection of every code point's
 * augmented Script_Extensions, Common and Inherited going with all) is not empty: the name is
 * written in one script, or in Han with Hiragana, Katakana, Bopomofo or Hangul.
 */
export function isSingleScript(text: string): boolean {
  let resolved: Set<string> | null = null;
  for (const c of text) {
    const scripts = scriptsOf(c);
    if (scripts === null) continue;
    if (resolved === null) resolved = new Set(scripts);
    else for (const s of resolved) if (!scripts.has(s)) resolved.delete(s);
    if (resolved.size === 0) return false;
  }
  return true;
}

// UTS #39 §5.4 (Optional Detection), on the name decomposed (NFD) so that precomposed letters
// count their marks: a combining mark a letter hides (U+0307 DOT ABOVE on a soft-dotted `i` or
// `j`: `admi̇n` looks like `admin`, yet its skeleton differs), one nonspacing mark twice in a row,
// or more than four in a row (stacked marks that overflow onto the letters around them).
const HIDDEN_MARK = /\p{Soft_Dotted}[\p{Mn}\p{Me}]*\u0307/u;
const REPEATED_MARK = /([\p{Mn}\p{Me}])\1/u;
const STACKED_MARKS = /[\p{Mn}\p{Me}]{5}/u;
const DIGIT = /\p{Nd}/u;

/**
 * UTS #39 §5.3 (Mixed-Number Detection): every decimal digit of the name comes from one set of
 * ten (`12๓` mixes ASCII and Thai digits and reads as 123). Unicode encodes each set as ten
 * consecutive code points 0 to 9 and adjacent sets back to back, so the zero of a digit is found
 * by walking back to the start of its run of digits and counting in tens from there.
 */
export function hasMixedNumbers(text: string): boolean {
  let zero: number | undefined;
  for (const c of text) {
    if (!DIGIT.test(c)) continue;
    const point = c.codePointAt(0)!;
    let start = point;
    while (start > 0 && DIGIT.test(String.fromCodePoint(start - 1))) start--;
    const own = start + Math.floor((point - start) / 10) * 10;
    if (zero === undefined) zero = own;
    else if (zero !== own) return true;
  }
  return false;
}

// A name needs at least one letter or digit: `...`, `---` and `_` alone name nobody.
const LETTER_OR_DIGIT = /[\p{L}\p{Nd}]/u;

const invalid = (why: string) =>
  new AuthServiceError('invalid_request', why, { field: 'username' });

/**
 * Checks a username typed at registration and returns it as stored for display (NFC). Its key
 * (RFC 8265) must be 3 to 32 letters, digits, marks, "_", "." or "-", in one script.
 * @throws AuthServiceError `invalid_request` naming the field.
 */
export function checkUsername(typed: string): string {
  if (!typed.isWellFormed()) throw invalid('username must be well-formed Unicode');
  const display = typed.normalize('NFC');
  const key = usernameKey(display);
  const n = [...key].length;
  if (n < USERNAME_MIN || n > USERNAME_MAX || !IDENTIFIER.test(key)) {
    throw invalid(
      `username must be ${USERNAME_MIN} to ${USERNAME_MAX} letters, digits, ".", "_" or "-"`,
    );
  }
  if (!LETTER_OR_DIGIT.test(key)) throw invalid('username must contain a letter or a digit');
  if (!isSingleScript(key)) throw invalid('username must be written in one script');
  if (hasMixedNumbers(key))
    throw invalid('username must take its digits from one numbering system');
  const decomposed = display.normalize('NFD');
  if (
    HIDDEN_MARK.test(decomposed) ||
    REPEATED_MARK.test(decomposed) ||
    STACKED_MARKS.test(decomposed)
  ) {
    throw invalid('username must not hide, repeat or stack combining marks');
  }
  return display;
}
