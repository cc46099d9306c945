/**
 * CJK-aware tokens for SQLite FTS5.
 *
 * Chinese and Japanese are written without spaces and Korean spaces are unreliable, so FTS5's
 * `unicode61` tokenizer makes one token of a whole run ("中国历史") and a search for "中国" finds
 * nothing; the `trigram` tokenizer cannot match a two-character word at all. The usual answer (it
 * is what Lucene's CJK analyzer does) is to index overlapping bigrams: "中国历史" → "中国 国历 历史".
 * Any two-character word then is one token, and a longer word is the phrase of its bigrams.
 *
 * Text is normalised with {@link normalizeText} first and the result is plain space-separated
 * tokens, so the FTS5 table can use the default tokenizer; declare it without diacritic removal so
 * that FTS5 does not alter what was indexed:
 *
 * ```sql
 * CREATE VIRTUAL TABLE search USING fts5(body, tokenize = 'unicode61 remove_diacritics 0');
 * INSERT INTO search(body) VALUES (toFtsDocument(text));
 * SELECT rowid FROM search WHERE search MATCH toFtsQuery(term, { phrase });
 * ```
 *
 * Simplified and traditional forms ("学" / "學") are different characters here and do not match
 * each other.
 */
import { normalizeText } from "./normalize.js";

// Han (with the iteration marks 々〆〇), kana with the prolonged sound mark ー, and Hangul.
const CJK = "\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}\\u3005-\\u3007\\u30fc";
const CJK_CHAR = new RegExp(`[${CJK}]`, "u");
// A combining mark that NFC could not compose (a voicing mark after a kanji) stays with its character.
const CJK_UNIT = new RegExp(`[${CJK}]\\p{M}*`, "gu");
const CJK_RUN = new RegExp(`(?:[${CJK}]\\p{M}*)+|[^${CJK}]+`, "gu");

/** A piece of normalised text: a run of CJK characters or a word in any other script. */
interface Segment {
  cjk: boolean;
  /** The characters of a CJK run (each with its marks), or the word as one element. */
  chars: string[];
}

function segments(text: string): Segment[] {
  const out: Segment[] = [];
  for (const word of normalizeText(text).split(" ")) {
    if (word === "") continue;
    for (const piece of word.match(CJK_RUN) ?? []) {
      if (CJK_CHAR.test(piece)) out.push({ cjk: true, chars: piece.match(CJK_UNIT) ?? [] });
      else out.push({ cjk: false, chars: [piece] });
    }
  }
  return out;
}

function bigrams(chars: readonly string[]): string[] {
  if (chars.length === 1) return [chars[0]!];
  const out: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
  return out;
}

/**
 * Normalised tokens, space-separated: runs of Han, Hiragana, Katakana and Hangul become overlapping
 * bigrams ("東京大学" → "東京 京大 大学"; a lone character stays as it is), other words stay words
 * ("110年のアルバム" → "110 年の のア アル ルバ バム").
 */
export function cjkBigrams(text: string): string {
  const tokens: string[] = [];
  for (const seg of segments(text)) {
    if (seg.cjk) tokens.push(...bigrams(seg.chars));
    else tokens.push(seg.chars.join(""));
  }
  return tokens.join(" ");
}

/**
 * The text to store in an FTS5 column: {@link cjkBigrams}, plus the last character of every CJK run
 * of two or more as a token of its own ("東京大学" → "東京 京大 大学 学"). With it, every CJK
 * character of the text begins some token, so a one-character query becomes the prefix query
 * `"学"*`; without it a character that only ends a run ("学" in "大学") could not be found. It comes
 * after the run's bigrams, so the bigrams of a run stay adjacent for phrase queries.
 */
export function toFtsDocument(text: string): string {
  const tokens: string[] = [];
  for (const seg of segments(text)) {
    if (!seg.cjk) tokens.push(seg.chars.join(""));
    else if (seg.chars.length === 1) tokens.push(seg.chars[0]!);
    else tokens.push(...bigrams(seg.chars), seg.chars[seg.chars.length - 1]!);
  }
  return tokens.join(" ");
}

/** Options of {@link toFtsQuery}. */
export interface FtsQueryOptions {
  /** Match the words in this order and next to each other, rather than anywhere in the text. */
  phrase?: boolean;
}

function quote(token: string): string {
  return `"${token.replaceAll('"', '""')}"`;
}

/**
 * An FTS5 MATCH expression for a search term, tokenised like {@link toFtsDocument}; undefined when
 * nothing searchable is left after normalisation (the caller should not run a query then).
 *
 * - A two-character CJK word is its one bigram: "中国" → `"中国"`, found in "中国历史".
 * - A longer CJK run is all of its bigrams (`"東京" "京大" "大学"`), or with `phrase` their phrase
 *   (`"東京" + "京大" + "大学"`), found only where the characters stand together in that order.
 * - A single CJK character is a prefix query (`"学"*`), see {@link toFtsDocument}.
 * - Other words are quoted tokens, so FTS5 operators (AND, NEAR, column filters) typed by a user are
 *   searched for as words, never interpreted.
 */
export function toFtsQuery(term: string, opts: FtsQueryOptions = {}): string | undefined {
  const segs = segments(term);
  if (segs.length === 0) return undefined;
  if (!opts.phrase) {
    const parts: string[] = [];
    for (const seg of segs) {
      if (!seg.cjk) parts.push(quote(seg.chars.join("")));
      else if (seg.chars.length === 1) parts.push(`${quote(seg.chars[0]!)}*`);
      else parts.push(...bigrams(seg.chars).map(quote));
    }
    return parts.join(" ");
  }
  const parts: string[] = [];
  segs.forEach((seg, i) => {
    const last = i === segs.length - 1;
    if (!seg.cjk) {
      parts.push(quote(seg.chars.join("")));
      return;
    }
    const end = seg.chars[seg.chars.length - 1]!;
    if (seg.chars.length === 1) {
      // Last in the phrase, the run may go on in the text ("学" of "学校"); before another word the
      // text's run ends here, where the document has the run's final character as a token.
      parts.push(last ? `${quote(end)}*` : quote(end));
      return;
    }
    parts.push(...bigrams(seg.chars).map(quote));
    if (!last) parts.push(quote(end));
  });
  return parts.join(" + ");
}
