// A small, safe XML reader for messages that come from outside the federation: the whole text
// becomes a tree of elements (ISO 18626 messages are a few kilobytes), with no DTD, no entity
// but the five predefined ones and character references, and limits on size, depth and element
// count checked while parsing, so a hostile document is refused before it costs anything.
import { SaxesParser } from "saxes";

/** One element: its local name, namespace, attributes by local name, child elements and text. */
export interface XmlNode {
  readonly local: string;
  readonly uri: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: XmlNode[];
  /** Character data directly inside this element (text and CDATA), concatenated. */
  text: string;
  readonly line: number;
}

export interface XmlLimits {
  /** Longest document, in characters. */
  readonly maxChars: number;
  /** Deepest nesting of elements. */
  readonly maxDepth: number;
  /** Most elements in one document. */
  readonly maxElements: number;
}

/** Limits for ISO 18626 messages: the largest real request is a few kilobytes deep in 6 levels. */
export const ISO18626_XML_LIMITS: XmlLimits = { maxChars: 1_000_000, maxDepth: 16, maxElements: 5000 };

/** Raised when a document is not well-formed XML, or is refused (DTD, a limit); names where. */
export class XmlReadError extends Error {
  override readonly name = "XmlReadError";
  constructor(
    readonly reason: string,
    readonly line: number | undefined,
  ) {
    super(line === undefined ? reason : `${reason} (line ${line})`);
  }
}

/** Parses `text` into its root element; throws XmlReadError. */
export function readXmlTree(text: string, limits: XmlLimits = ISO18626_XML_LIMITS): XmlNode {
  if (text.length > limits.maxChars)
    throw new XmlReadError(
      `the document is ${text.length} characters, over the limit of ${limits.maxChars}`,
      1,
    );
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: XmlNode[] = [];
  let root: XmlNode | undefined;
  let elements = 0;
  const fail = (reason: string): never => {
    throw new XmlReadError(reason, parser.line);
  };
  parser.on("doctype", () => fail("a DOCTYPE (DTD) is not allowed"));
  parser.on("error", (err) => fail(err.message.replace(/^[^:]*:\d+:\d+: /, "")));
  parser.on("opentag", (tag) => {
    elements++;
    if (elements > limits.maxElements) fail(`more than ${limits.maxElements} elements`);
    if (stack.length + 1 > limits.maxDepth) fail(`elements nested deeper than ${limits.maxDepth}`);
    const attributes: Record<string, string> = {};
    for (const attr of Object.values(tag.attributes)) {
      if (attr.prefix === "xmlns" || attr.name === "xmlns") continue;
      attributes[attr.local] = attr.value;
    }
    const node: XmlNode = {
      local: tag.local,
      uri: tag.uri,
      attributes,
      children: [],
      text: "",
      line: parser.line,
    };
    const parent = stack.at(-1);
    if (parent) parent.children.push(node);
    else root = node;
    stack.push(node);
  });
  parser.on("closetag", () => {
    stack.pop();
  });
  const onText = (t: string) => {
    const top = stack.at(-1);
    if (top) top.text += t;
  };
  parser.on("text", onText);
  parser.on("cdata", onText);
  parser.write(text).close();
  if (!root) throw new XmlReadError("the document has no element", undefined);
  return root;
}

/** The text of an XML body: UTF-8 unless the declaration names ISO-8859-1 (Latin-1). */
export function decodeXmlBytes(bytes: Uint8Array): string {
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, 200));
  const declared = /^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1]?.toLowerCase();
  if (declared === undefined || declared === "utf-8" || declared === "utf8")
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
    } catch {
      throw new XmlReadError("the body is not valid UTF-8", undefined);
    }
  if (declared === "iso-8859-1" || declared === "latin1" || declared === "us-ascii")
    return new TextDecoder("latin1").decode(bytes);
  throw new XmlReadError(`encoding "${declared}" is not supported (UTF-8 or ISO-8859-1)`, 1);
}

export { escapeXml } from "../marc/marcxml.js";
