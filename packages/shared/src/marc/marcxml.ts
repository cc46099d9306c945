/**
 * MARCXML (MARC 21 slim) reading and writing. Reading streams through saxes, so a file of any size
 * is read in constant memory; element names are matched without their prefix, so `<record>`,
 * `<marc:record>` and mixed prefixes (LC's own files use `marcxml:collection` around
 * `marc:record`) all read the same, and a record wrapped in something else (OAI-PMH, SRU) is found.
 */
import { SaxesParser } from "saxes";
import { MarcParseError, type MarcWarning, type MarcXmlResult, NO_WARNINGS } from "./read-result.js";
import type { ControlField, DataField, MarcField, MarcRecord, Subfield } from "./record.js";
import { isControlField } from "./record.js";

/** The MARC 21 slim namespace. */
export const MARCXML_NAMESPACE = "http://www.loc.gov/MARC21/slim";

interface RecordContext {
  /** Parser position at the start tag, to tell which repaired ampersands are this record's. */
  start: number;
  line: number;
  column: number;
  leader: string | undefined;
  fields: MarcField[];
  /** The first thing that makes the record unreadable. */
  error: { reason: string; line: number; column: number; field: string | undefined } | undefined;
  warnings: MarcWarning[] | undefined;
}

function localName(name: string): string {
  const colon = name.indexOf(":");
  return colon < 0 ? name : name.slice(colon + 1);
}

/** Text is held in NFC; ASCII (most of it) needs no work. */
function nfc(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return s.normalize("NFC");
  return s;
}

/**
 * Turns MARCXML text into results: text goes in with `write`, results come out with `drain`, and
 * `end` flushes what the end of the input decides (a record cut short).
 */
class MarcXmlParser {
  private readonly parser = new SaxesParser({ position: true });
  private readonly repair = new AmpersandRepair();
  private results: MarcXmlResult[] = [];
  private readonly stack: RecordContext[] = [];
  private index = 0;
  private text = "";
  private capturing = false;
  private dataField: DataField | undefined;
  private controlTag: string | undefined;
  private subfieldCode: string | undefined;

  constructor() {
    const p = this.parser;
    p.on("opentag", (tag) => this.open(localName(tag.name), tag.attributes as Record<string, string>));
    p.on("closetag", (tag) => this.close(localName(tag.name)));
    p.on("text", (t) => {
      if (this.capturing) this.text += t;
    });
    p.on("cdata", (t) => {
      if (this.capturing) this.text += t;
    });
    p.on("error", (err) => this.error(err.message));
  }

  write(chunk: string): void {
    this.parser.write(this.repair.push(chunk, false));
  }

  end(): void {
    const tail = this.repair.push("", true);
    if (tail) this.parser.write(tail);
    this.parser.close();
    // Records still open at the end were cut short; saxes has put its "unclosed tag" error on them.
    while (this.stack.length > 0) {
      const ctx = this.stack.shift()!;
      if (ctx.leader !== undefined || ctx.fields.length > 0 || ctx.error) {
        ctx.error ??= {
          ...this.where(),
          reason: "record is not closed before the end of the input",
          field: undefined,
        };
        this.emit(ctx);
      }
    }
  }

  drain(): MarcXmlResult[] {
    const out = this.results;
    this.results = [];
    return out;
  }

  private where(): { line: number; column: number } {
    return { line: this.parser.line, column: this.parser.column };
  }

  private get current(): RecordContext | undefined {
    return this.stack[this.stack.length - 1];
  }

  private fail(ctx: RecordContext, reason: string, field?: string): void {
    ctx.error ??= { ...this.where(), reason, field };
  }

  private warn(ctx: RecordContext, reason: string, field?: string): void {
    if (!ctx.warnings) ctx.warnings = [];
    ctx.warnings.push({ ...this.where(), field, reason });
  }

  private open(name: string, attrs: Record<string, string>): void {
    if (name === "record") {
      this.stack.push({
        start: this.parser.position,
        ...this.where(),
        leader: undefined,
        fields: [],
        error: undefined,
        warnings: undefined,
      });
      return;
    }
    const ctx = this.current;
    if (!ctx) return;
    switch (name) {
      case "leader":
        this.capture();
        break;
      case "controlfield": {
        const tag = attrs.tag;
        if (tag === undefined) this.fail(ctx, "controlfield has no tag attribute");
        else if (tag.length !== 3) this.fail(ctx, `tag ${JSON.stringify(tag)} is not three characters`, tag);
        this.controlTag = tag ?? "";
        this.capture();
        break;
      }
      case "datafield": {
        const tag = attrs.tag;
        if (tag === undefined) this.fail(ctx, "datafield has no tag attribute");
        else if (tag.length !== 3) this.fail(ctx, `tag ${JSON.stringify(tag)} is not three characters`, tag);
        const field: DataField = {
          tag: tag ?? "",
          ind1: this.indicator(ctx, tag, "ind1", attrs.ind1),
          ind2: this.indicator(ctx, tag, "ind2", attrs.ind2),
          subfields: [],
        };
        ctx.fields.push(field);
        this.dataField = field;
        break;
      }
      case "subfield": {
        if (!this.dataField) break;
        const code = attrs.code;
        const tag = this.dataField.tag;
        if (code === undefined) this.fail(ctx, "subfield has no code attribute", tag);
        else if (code.length !== 1)
          this.fail(ctx, `subfield code ${JSON.stringify(code)} is not one character`, tag);
        this.subfieldCode = code ?? "";
        this.capture();
        break;
      }
      default:
    }
  }

  private indicator(
    ctx: RecordContext,
    tag: string | undefined,
    name: string,
    value: string | undefined,
  ): string {
    if (value === undefined) return " ";
    if (value.length === 1) return value;
    const read = value.trim().charAt(0) || " ";
    this.warn(
      ctx,
      `${name} ${JSON.stringify(value)} is not one character; read as ${JSON.stringify(read)}`,
      tag,
    );
    return read;
  }

  private capture(): void {
    this.capturing = true;
    this.text = "";
  }

  private close(name: string): void {
    const ctx = this.current;
    if (!ctx) return;
    this.claimRepairs(ctx);
    switch (name) {
      case "leader":
        if (this.capturing) ctx.leader = this.text;
        break;
      case "controlfield":
        if (this.capturing && this.controlTag !== undefined) {
          const field: ControlField = { tag: this.controlTag, value: nfc(this.text) };
          ctx.fields.push(field);
        }
        this.controlTag = undefined;
        break;
      case "subfield":
        if (this.capturing && this.dataField && this.subfieldCode !== undefined) {
          const sf: Subfield = { code: this.subfieldCode, value: nfc(this.text) };
          this.dataField.subfields.push(sf);
        }
        this.subfieldCode = undefined;
        break;
      case "datafield":
        this.dataField = undefined;
        break;
      case "record":
        this.stack.pop();
        this.dataField = undefined;
        // An enclosing element called "record" (OAI-PMH's) holds no MARC of its own.
        if (ctx.leader !== undefined || ctx.fields.length > 0 || ctx.error) this.emit(ctx);
        break;
      default:
        return;
    }
    this.capturing = false;
  }

  /** Ampersands the repair escaped before this point belong to the field being closed. */
  private claimRepairs(ctx: RecordContext): void {
    const position = this.parser.position;
    while (this.repair.positions.length > 0 && this.repair.positions[0]! < position) {
      const at = this.repair.positions.shift()!;
      if (at < ctx.start) continue;
      this.warn(
        ctx,
        "unescaped '&' read as a literal ampersand",
        this.dataField?.tag ?? this.controlTag ?? (this.capturing ? "leader" : undefined),
      );
    }
  }

  private error(message: string): void {
    // saxes prefixes "line:column: ".
    const reason = message.replace(/^\d+:\d+: /, "");
    // Files made by concatenating documents (one per record) repeat the declaration and the root;
    // saxes complains about every element after the first root but still reports them, so what they
    // hold is read as usual.
    if (/only one root|XML declaration|^expected one of|^expected the name/.test(reason)) return;
    const ctx = this.current;
    if (!ctx) {
      this.index++;
      const { line, column } = this.where();
      this.results.push({
        ok: false,
        index: this.index,
        line,
        column,
        error: new MarcParseError({
          recordIndex: this.index,
          line,
          column,
          reason: `line ${line}, column ${column}: ${reason}`,
        }),
      });
      return;
    }
    if (reason.startsWith("disallowed character.")) {
      // A control character in text: XML 1.0 forbids it, but the text around it is intact.
      this.warn(
        ctx,
        "character not allowed in XML 1.0 kept as found",
        this.dataField?.tag ?? this.controlTag,
      );
      return;
    }
    this.fail(ctx, reason, this.dataField?.tag ?? this.controlTag);
  }

  private emit(ctx: RecordContext): void {
    this.index++;
    const base = { index: this.index, line: ctx.line, column: ctx.column };
    let error = ctx.error;
    if (!error && ctx.leader === undefined) {
      error = { line: ctx.line, column: ctx.column, reason: "record has no leader", field: undefined };
    }
    if (error) {
      this.results.push({
        ok: false,
        ...base,
        error: new MarcParseError({
          recordIndex: this.index,
          line: error.line,
          column: error.column,
          field: error.field,
          reason: `line ${error.line}, column ${error.column}: ${error.reason}`,
        }),
      });
      return;
    }
    let leader = ctx.leader!;
    if (leader.length !== 24) {
      this.warn(ctx, `leader is ${leader.length} characters long, not 24; trimmed, then padded or cut`);
      // A leader starts with digits, so white space around it is layout (pretty-printed XML).
      leader = leader.trim().padEnd(24, " ").slice(0, 24);
    }
    const record: MarcRecord = { leader, fields: ctx.fields };
    this.results.push({ ok: true, ...base, record, warnings: ctx.warnings ?? NO_WARNINGS });
  }
}

const REFERENCE = /&(?:#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z_:][-A-Za-z0-9_.:]*);/y;
const PARTIAL_REFERENCE = /^&(?:#x?[0-9a-fA-F]*|[A-Za-z_:][-A-Za-z0-9_.:]*)?$/;
const SPECIAL = /&|<!\[CDATA\[|<!--/g;

/**
 * Escapes each `&` that does not start a character or entity reference. saxes reads an entity name
 * up to the next `;`, so a single bare ampersand (the most common fault in MARCXML exports) would
 * otherwise swallow every record up to the next `;` without a word. CDATA sections and comments are
 * left alone. The positions (in the repaired text) are kept so the reader can warn about them.
 */
class AmpersandRepair {
  /** UTF-16 offsets, in the text handed to the parser, of the ampersands escaped so far. */
  readonly positions: number[] = [];
  private carry = "";
  private section: "]]>" | "-->" | undefined;
  private emitted = 0;

  push(chunk: string, final: boolean): string {
    const text = this.carry + chunk;
    this.carry = "";
    let out = "";
    let pos = 0;
    while (pos < text.length) {
      if (this.section) {
        const end = text.indexOf(this.section, pos);
        if (end < 0) {
          // Keep what could be the start of a terminator split across chunks.
          const keep = final ? text.length : Math.max(pos, text.length - (this.section.length - 1));
          out += text.slice(pos, keep);
          this.carry = text.slice(keep);
          break;
        }
        out += text.slice(pos, end + this.section.length);
        pos = end + this.section.length;
        this.section = undefined;
        continue;
      }
      SPECIAL.lastIndex = pos;
      const m = SPECIAL.exec(text);
      if (!m) {
        // "<![CDATA[" or "<!--" may be cut by the chunk boundary.
        const lt = final ? -1 : text.lastIndexOf("<", text.length - 1);
        const tail = lt >= pos && text.length - lt < 9 ? text.slice(lt) : "";
        const keep = tail && ("<![CDATA[".startsWith(tail) || "<!--".startsWith(tail)) ? lt : text.length;
        out += text.slice(pos, keep);
        this.carry = text.slice(keep);
        break;
      }
      out += text.slice(pos, m.index);
      pos = m.index;
      if (m[0] !== "&") {
        this.section = m[0] === "<!--" ? "-->" : "]]>";
        out += m[0];
        pos += m[0].length;
        continue;
      }
      REFERENCE.lastIndex = pos;
      if (REFERENCE.test(text)) {
        out += text.slice(pos, REFERENCE.lastIndex);
        pos = REFERENCE.lastIndex;
        continue;
      }
      const rest = text.slice(pos, pos + 64);
      if (!final && pos + rest.length === text.length && rest.length < 64 && PARTIAL_REFERENCE.test(rest)) {
        this.carry = rest;
        break;
      }
      this.positions.push(this.emitted + out.length);
      out += "&amp;";
      pos++;
    }
    this.emitted += out.length;
    return out;
  }
}

/**
 * Reads MARCXML from a stream of chunks (bytes in UTF-8, or strings): a `<collection>` of records,
 * a lone `<record>`, or records inside other XML, with or without a namespace prefix. Yields one
 * result per record; a record that cannot be read is reported (with its line and column) and the
 * rest of the file is still read.
 */
export async function* readMarcXml(
  stream: AsyncIterable<Uint8Array | string>,
): AsyncGenerator<MarcXmlResult, void, undefined> {
  const parser = new MarcXmlParser();
  const decoder = new TextDecoder("utf-8");
  let first = true;
  for await (const chunk of stream) {
    let text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    parser.write(text);
    yield* parser.drain();
  }
  const rest = decoder.decode();
  if (rest) parser.write(rest);
  parser.end();
  yield* parser.drain();
}

/** {@link readMarcXml} for a document already in memory. */
export function parseMarcXml(xml: string): MarcXmlResult[] {
  const parser = new MarcXmlParser();
  parser.write(xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml);
  parser.end();
  return parser.drain();
}

// Characters XML 1.0 cannot hold, lone surrogates included (the "u" flag matches them as such).
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const NEEDS_ESCAPE = /[&<>"]/;

export function escapeXml(s: string): string {
  const clean = s.replace(NOT_XML_CHAR, "");
  if (!NEEDS_ESCAPE.test(clean)) return clean;
  return clean.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Options of {@link toMarcXml}. */
export interface MarcXmlWriteOptions {
  /** Start with `<?xml version="1.0" encoding="UTF-8"?>`. Default false. */
  declaration?: boolean;
  /** Wrap the record in `<collection>`. Default false. */
  collection?: boolean;
}

function recordXml(record: MarcRecord, indent: string, namespace: boolean): string {
  const leader =
    record.leader.length >= 10 ? `${record.leader.slice(0, 9)}a${record.leader.slice(10)}` : record.leader;
  const lines = [`${indent}<record${namespace ? ` xmlns="${MARCXML_NAMESPACE}"` : ""}>`];
  lines.push(`${indent}  <leader>${escapeXml(leader)}</leader>`);
  for (const field of record.fields) {
    if (isControlField(field)) {
      lines.push(
        `${indent}  <controlfield tag="${escapeXml(field.tag)}">${escapeXml(field.value)}</controlfield>`,
      );
      continue;
    }
    lines.push(
      `${indent}  <datafield tag="${escapeXml(field.tag)}" ind1="${escapeXml(field.ind1)}" ind2="${escapeXml(field.ind2)}">`,
    );
    for (const sf of field.subfields) {
      lines.push(`${indent}    <subfield code="${escapeXml(sf.code)}">${escapeXml(sf.value)}</subfield>`);
    }
    lines.push(`${indent}  </datafield>`);
  }
  lines.push(`${indent}</record>`);
  return lines.join("\n");
}

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/**
 * Writes one record as MARCXML (MARC 21 slim namespace). Leader/09 is set to `a`: the text is
 * Unicode. Text is escaped, and characters XML 1.0 cannot hold (most C0 controls, lone
 * surrogates, U+FFFE/U+FFFF) are dropped.
 */
export function toMarcXml(record: MarcRecord, opts: MarcXmlWriteOptions = {}): string {
  const head = opts.declaration ? DECLARATION : "";
  if (!opts.collection) return `${head}${recordXml(record, "", true)}\n`;
  return `${head}<collection xmlns="${MARCXML_NAMESPACE}">\n${recordXml(record, "  ", false)}\n</collection>\n`;
}

/** Writes records as one MARCXML `<collection>` document, with the XML declaration. */
export function marcXmlCollection(records: Iterable<MarcRecord>): string {
  const parts = [`${DECLARATION}<collection xmlns="${MARCXML_NAMESPACE}">`];
  for (const record of records) parts.push(recordXml(record, "  ", false));
  parts.push("</collection>\n");
  return parts.join("\n");
}
