// The content model of an ISO 18626 schema, read from the XSD itself: for each element, its
// children in schema order with their occurrence limits and types. The XML writer follows it to
// emit what the partner's schema version accepts, and the reader uses it to tell an element
// no version knows from one LRS does not carry. Only the XSD constructs the ISO 18626 schemas
// use are understood (sequence, choice, element by name or ref, named and anonymous types,
// simple restrictions with enumerations, simple content extended by an attribute).
import { readFileSync } from "node:fs";
import { readXmlTree, type XmlNode } from "./xml-tree.js";

/** The schema versions LRS reads and writes. */
export const ISO18626_VERSIONS = ["2021-2", "1.2"] as const;
export type Iso18626Version = (typeof ISO18626_VERSIONS)[number];

export type XsdType =
  | { readonly kind: "complex"; readonly children: readonly XsdElement[] }
  /** Text with attributes (type_schemeValuePair). */
  | { readonly kind: "text" }
  | {
      readonly kind: "simple";
      /** The XSD built-in it restricts: string, dateTime, decimal, boolean, integer. */
      readonly base: string;
      readonly enumeration?: readonly string[];
      readonly minInclusive?: number;
    };

export interface XsdElement {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Elements of one xs:choice share a number. */
  readonly choice?: number;
  readonly type: XsdType;
}

export interface Iso18626Schema {
  readonly version: Iso18626Version;
  /** The file it was read from, for xmllint and messages. */
  readonly file: string;
  /** The global elements, by name (the six messages, and ISO18626Message). */
  readonly elements: ReadonlyMap<string, XsdElement>;
}

const SCHEMA_FILES: Record<Iso18626Version, string> = {
  "2021-2": "ISO-18626-2021-2.xsd",
  "1.2": "ISO-18626-v1_2.xsd",
};

/** Path of a schema file, in packages/shared/schemas/iso18626 (the same from src and dist). */
export function iso18626SchemaPath(version: Iso18626Version): string {
  return new URL(`../../schemas/iso18626/${SCHEMA_FILES[version]}`, import.meta.url).pathname;
}

const loaded = new Map<Iso18626Version, Iso18626Schema>();

/** The content model of one schema version (read once). */
export function iso18626Schema(version: Iso18626Version): Iso18626Schema {
  let schema = loaded.get(version);
  if (!schema) {
    const file = iso18626SchemaPath(version);
    schema = { version, file, elements: readXsd(readFileSync(file, "utf8")) };
    loaded.set(version, schema);
  }
  return schema;
}

/** The version a version attribute names ("1.2", "2021-2", "2021"…), or undefined. */
export function versionOf(attribute: string | undefined): Iso18626Version | undefined {
  if (attribute === undefined) return undefined;
  const v = attribute.trim();
  if (v.startsWith("2021")) return "2021-2";
  if (/^1(\.\d+)?$/.test(v)) return "1.2";
  return undefined;
}

const XS_LIMITS = { maxChars: 2_000_000, maxDepth: 32, maxElements: 50_000 };

/** Reads an XSD's global elements into content models. */
export function readXsd(text: string): Map<string, XsdElement> {
  const root = readXmlTree(text, XS_LIMITS);
  const globals = new Map<string, XmlNode>();
  const types = new Map<string, XmlNode>();
  for (const node of root.children) {
    const name = node.attributes.name;
    if (!name) continue;
    if (node.local === "element") globals.set(name, node);
    else if (node.local === "complexType" || node.local === "simpleType") types.set(name, node);
  }
  const typeCache = new Map<XmlNode, XsdType>();
  let choices = 0;

  const builtin = (qname: string): XsdType => ({ kind: "simple", base: qname.replace(/^xs:/, "") });

  const typeOf = (node: XmlNode): XsdType => {
    const cached = typeCache.get(node);
    if (cached) return cached;
    let t: XsdType;
    if (node.local === "simpleType") {
      const restriction = node.children.find((c) => c.local === "restriction");
      const base = (restriction?.attributes.base ?? "xs:string").replace(/^xs:/, "");
      const enumeration = restriction?.children
        .filter((c) => c.local === "enumeration")
        .map((c) => c.attributes.value ?? "");
      const min = restriction?.children.find((c) => c.local === "minInclusive")?.attributes.value;
      t = {
        kind: "simple",
        base,
        ...(enumeration && enumeration.length > 0 ? { enumeration } : {}),
        ...(min !== undefined ? { minInclusive: Number(min) } : {}),
      };
    } else if (node.children.some((c) => c.local === "simpleContent")) {
      t = { kind: "text" };
    } else {
      const children: XsdElement[] = [];
      const walk = (group: XmlNode, choice: number | undefined) => {
        for (const c of group.children) {
          if (c.local === "sequence") walk(c, choice);
          else if (c.local === "choice") walk(c, ++choices);
          else if (c.local === "element") children.push(elementOf(c, choice));
        }
      };
      walk(node, undefined);
      t = { kind: "complex", children };
    }
    typeCache.set(node, t);
    return t;
  };

  const namedType = (qname: string): XsdType => {
    const named = types.get(qname);
    return named ? typeOf(named) : builtin(qname);
  };

  const elementOf = (node: XmlNode, choice: number | undefined): XsdElement => {
    const occurs = {
      min: Number(node.attributes.minOccurs ?? "1"),
      max:
        node.attributes.maxOccurs === "unbounded"
          ? Number.POSITIVE_INFINITY
          : Number(node.attributes.maxOccurs ?? "1"),
      ...(choice !== undefined ? { choice } : {}),
    };
    const ref = node.attributes.ref;
    if (ref) {
      const target = globals.get(ref);
      if (!target) throw new Error(`XSD: element ref="${ref}" names no global element`);
      return { ...elementOf(target, undefined), ...occurs, name: ref };
    }
    const name = node.attributes.name ?? "";
    const typeName = node.attributes.type;
    const inline = node.children.find((c) => c.local === "complexType" || c.local === "simpleType");
    const type = typeName ? namedType(typeName) : inline ? typeOf(inline) : builtin("xs:string");
    return { name, ...occurs, type };
  };

  const out = new Map<string, XsdElement>();
  for (const [name, node] of globals) out.set(name, elementOf(node, undefined));
  return out;
}

/** The child of a complex element named `name`, or undefined. */
export function childOf(element: XsdElement | undefined, name: string): XsdElement | undefined {
  if (element?.type.kind !== "complex") return undefined;
  return element.type.children.find((c) => c.name === name);
}
