// How text becomes search terms, the same for what is indexed and for the query: words of letters and
// digits, folded (compatibility forms, accents stripped, case folded: `Café` and `CAFE` are `cafe`),
// and runs of CJK characters (Han, Hiragana, Katakana, Hangul), which have no spaces between words,
// cut into overlapping character bigrams (`東京タワー` is 東京 京タ タワ ワー, plus its last character
// alone, so that with prefix matching every single character is found too).

/** A term and where it came from in the original text (UTF-16 offsets), for highlighting. */
export interface Token {
  term: string;
  start: number;
  end: number;
}

// Bump when the terms change: an index persisted with other terms is rebuilt.
export const TOKENIZER_VERSION = 1;

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+/gu;
const MARKS = /\p{M}/gu;

/** A word folded: compatibility forms (ｆｕｌｌ-width, ligatures), no accents, case folded. */
export function foldWord(word: string): string {
  // toUpperCase().toLowerCase() folds more than toLowerCase alone (ß → ss, ſ → s, ς → σ).
  return word.normalize("NFKD").replace(MARKS, "").normalize("NFC").toUpperCase().toLowerCase();
}

/** CJK text keeps its marks (が is not か); only compatibility forms fold (half-width ｶ → カ). */
function foldCjk(text: string): string {
  return text.normalize("NFKC");
}

/**
 * The terms of `text` with their places in it. A query (`query: true`) leaves out the last character
 * of a CJK run of two or more: its bigrams already say everything, and the lone character would only
 * widen the match.
 */
export function tokenize(text: string, query = false): Token[] {
  const tokens: Token[] = [];
  for (const word of text.matchAll(WORD)) {
    const run = word[0];
    const base = word.index;
    let last = 0;
    for (const cjk of run.matchAll(CJK)) {
      pushWord(tokens, run.slice(last, cjk.index), base + last);
      pushBigrams(tokens, cjk[0], base + cjk.index, query);
      last = cjk.index + cjk[0].length;
    }
    pushWord(tokens, run.slice(last), base + last);
  }
  return tokens;
}

/** Only the terms, as MiniSearch's `tokenize` wants them. */
export function terms(text: string, query = false): string[] {
  return tokenize(text, query).map((token) => token.term);
}

function pushWord(tokens: Token[], word: string, start: number): void {
  // A run may begin with marks left over from the CJK split: a word needs a letter or digit.
  if (!/[\p{L}\p{N}]/u.test(word)) return;
  const term = foldWord(word);
  if (term) tokens.push({ term, start, end: start + word.length });
}

function pushBigrams(tokens: Token[], run: string, start: number, query: boolean): void {
  // By code point (a Han character may be outside the BMP), with UTF-16 offsets for highlighting.
  const chars = Array.from(run);
  const offsets: number[] = [];
  let at = start;
  for (const char of chars) {
    offsets.push(at);
    at += char.length;
  }
  offsets.push(at);
  for (let i = 0; i + 1 < chars.length; i++) {
    tokens.push({ term: foldCjk(chars[i]! + chars[i + 1]!), start: offsets[i]!, end: offsets[i + 2]! });
  }
  const lastIndex = chars.length - 1;
  if (query && lastIndex > 0) return;
  tokens.push({ term: foldCjk(chars[lastIndex]!), start: offsets[lastIndex]!, end: offsets[lastIndex + 1]! });
}
