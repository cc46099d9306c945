import type { CqlComparison, CqlTerm, CqlTermSegment } from "./ast.js";
import { CqlDiagnostic, CqlParseError } from "./errors.js";

/** A CQL token. Words and quoted strings share a kind: CQL treats `fish` and `"fish"` alike as terms. */
export type CqlToken =
  | {
      kind: "word";
      /** The source text of the token, quotes and backslashes included. */
      raw: string;
      quoted: boolean;
      term: CqlTerm;
      position: number;
    }
  | { kind: "comparison"; value: CqlComparison; position: number }
  | { kind: "lparen" | "rparen" | "slash" | "eof"; position: number };

// Characters that end an unquoted word; a term holding any of them (or whitespace) must be quoted.
const WORD_BREAKS = new Set(["(", ")", "=", "<", ">", "/", '"']);

/** True for the characters that end an unquoted word. */
export function isWordBreak(ch: string): boolean {
  return WORD_BREAKS.has(ch) || isSpace(ch);
}

/** True for whitespace as CQL sees it (anything JavaScript's `\s` matches). */
export function isSpace(ch: string): boolean {
  return /\s/.test(ch);
}

/**
 * Builds a {@link CqlTerm} from segments, merging adjacent text and deriving the flags, so that terms
 * from the lexer and terms built by hand (tests, serialiser) agree on `value` and the flags.
 */
export function createCqlTerm(segments: readonly CqlTermSegment[], position: number): CqlTerm {
  const merged: CqlTermSegment[] = [];
  for (const seg of segments) {
    const last = merged[merged.length - 1];
    if (seg.kind === "text") {
      if (seg.text === "") continue;
      if (last?.kind === "text") {
        merged[merged.length - 1] = { kind: "text", text: last.text + seg.text };
        continue;
      }
    }
    merged.push({ ...seg });
  }
  let value = "";
  let hasMask = false;
  let hasAnchor = false;
  for (const seg of merged) {
    switch (seg.kind) {
      case "text":
        value += seg.text;
        break;
      case "mask":
        value += seg.char;
        hasMask = true;
        break;
      case "anchor":
        value += "^";
        hasAnchor = true;
        break;
      default: {
        const _never: never = seg;
        return _never;
      }
    }
  }
  const first = merged[0];
  const last = merged[merged.length - 1];
  return {
    value,
    segments: merged,
    leftTruncated: first?.kind === "mask" && first.char === "*",
    rightTruncated: last?.kind === "mask" && last.char === "*",
    hasMask,
    hasAnchor,
    position,
  };
}

/**
 * Splits a CQL query into tokens on demand, so that the parser reports the leftmost error even when
 * a later part of the query (an unterminated quote, say) could not be tokenised at all.
 */
export class CqlLexer {
  private pos = 0;
  private readonly buffer: CqlToken[] = [];

  constructor(private readonly input: string) {}

  /** The token `ahead` places after the current one, without consuming anything. */
  peek(ahead = 0): CqlToken {
    while (this.buffer.length <= ahead) this.buffer.push(this.scan());
    return this.buffer[ahead]!;
  }

  /** Consumes and returns the current token. */
  next(): CqlToken {
    const token = this.peek();
    this.buffer.shift();
    return token;
  }

  private scan(): CqlToken {
    const input = this.input;
    while (this.pos < input.length && isSpace(input[this.pos]!)) this.pos++;
    const start = this.pos;
    if (start >= input.length) return { kind: "eof", position: input.length };
    const ch = input[start]!;
    const nextCh = input[start + 1];
    switch (ch) {
      case "(":
        this.pos++;
        return { kind: "lparen", position: start };
      case ")":
        this.pos++;
        return { kind: "rparen", position: start };
      case "/":
        this.pos++;
        return { kind: "slash", position: start };
      case "=":
        return this.comparison(nextCh === "=" ? "==" : "=", start);
      case "<":
        return this.comparison(nextCh === "=" ? "<=" : nextCh === ">" ? "<>" : "<", start);
      case ">":
        return this.comparison(nextCh === "=" ? ">=" : ">", start);
      case '"':
        return this.quoted(start);
      default:
        return this.word(start);
    }
  }

  private comparison(value: CqlComparison, start: number): CqlToken {
    this.pos = start + value.length;
    return { kind: "comparison", value, position: start };
  }

  private quoted(start: number): CqlToken {
    const input = this.input;
    const segments: CqlTermSegment[] = [];
    let i = start + 1;
    for (;;) {
      if (i >= input.length) {
        throw new CqlParseError({
          position: start,
          reason: "unterminated quoted string (no closing '\"')",
          diagnostic: CqlDiagnostic.InvalidQuotes,
        });
      }
      const ch = input[i]!;
      if (ch === '"') break;
      if (ch === "\\") {
        const escaped = input[i + 1];
        // A backslash as the last character leaves nothing to escape and no closing quote.
        if (escaped === undefined) {
          i++;
          continue;
        }
        segments.push({ kind: "text", text: escaped });
        i += 2;
        continue;
      }
      segments.push(segmentFor(ch));
      i++;
    }
    this.pos = i + 1;
    return {
      kind: "word",
      raw: input.slice(start, this.pos),
      quoted: true,
      term: createCqlTerm(segments, start),
      position: start,
    };
  }

  private word(start: number): CqlToken {
    const input = this.input;
    const segments: CqlTermSegment[] = [];
    let i = start;
    while (i < input.length && !isWordBreak(input[i]!)) {
      const ch = input[i]!;
      if (ch === "\\") {
        const escaped = input[i + 1];
        if (escaped === undefined) {
          throw new CqlParseError({
            position: i,
            reason: "a backslash at the end of the query escapes nothing",
            diagnostic: CqlDiagnostic.QuerySyntaxError,
          });
        }
        segments.push({ kind: "text", text: escaped });
        i += 2;
        continue;
      }
      segments.push(segmentFor(ch));
      i++;
    }
    this.pos = i;
    return {
      kind: "word",
      raw: input.slice(start, i),
      quoted: false,
      term: createCqlTerm(segments, start),
      position: start,
    };
  }
}

function segmentFor(ch: string): CqlTermSegment {
  if (ch === "*" || ch === "?") return { kind: "mask", char: ch };
  if (ch === "^") return { kind: "anchor" };
  return { kind: "text", text: ch };
}
