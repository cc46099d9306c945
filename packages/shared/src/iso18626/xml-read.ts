// Reads ISO 18626 XML from outside the federation, tolerant of what real systems send: both
// schema versions (1.2 and 2021-2) and their element names, elements in either version's order,
// a message without the ISO18626Message wrapper or without a namespace, timestamps written
// "+0000" or without a zone. What cannot be understood is an Iso18626ReadError carrying the ISO
// error type and an errorValue that names the element, ready for a confirmation with
// messageStatus ERROR.
import { create, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ErrorType, type Header, HeaderSchema, type SupplyingAgencyMessage } from "../gen/lrs/v1/ill_pb.js";
import { codeListOf, ISO18626_NAMESPACE } from "./iso18626-xml.js";
import {
  fieldForElement,
  type Iso18626Message,
  type Iso18626MessageKind,
  isMessageKind,
  type RequestingAgencyAuthentication,
} from "./xml-message.js";
import { readXmlTree, type XmlNode, XmlReadError } from "./xml-tree.js";
import { MESSAGE_SCHEMAS } from "./xml-write.js";
import {
  childOf,
  ISO18626_VERSIONS,
  type Iso18626Version,
  iso18626Schema,
  versionOf,
  type XsdElement,
} from "./xsd.js";

/** Why a message cannot be taken, in ISO 18626 terms, with what could be read of it. */
export class Iso18626ReadError extends Error {
  override readonly name = "Iso18626ReadError";
  constructor(
    readonly errorType: ErrorType,
    /** Names the element and the problem: "request/header/timestamp: "yesterday" is not a date and time". */
    readonly errorValue: string,
    /** The message kind, when the document got that far. */
    readonly kind?: Iso18626MessageKind,
    /** The header as far as it could be read, for the confirmation's header. */
    readonly header?: Header,
    readonly version?: Iso18626Version,
  ) {
    super(errorValue);
  }
}

export interface Iso18626Read {
  readonly message: Iso18626Message;
  /** From the version attribute; undefined when the sender gave none. */
  readonly version: Iso18626Version | undefined;
  readonly authentication: RequestingAgencyAuthentication | undefined;
  /** ISO elements LRS does not carry (patronInfo/surname…), by path. */
  readonly ignored: readonly string[];
  /** Codes of open code lists LRS has no value for ("supplyingAgencyMessage/messageInfo/reasonUnfilled: LocalReason"). */
  readonly uncoded: readonly string[];
}

const TIMESTAMP = "google.protobuf.Timestamp";
/** Required by the schemas but left out by real systems; the gateway fills them. */
const TOLERATED_MISSING = new Set(["lastChange"]);

function badly(value: string): never {
  throw new Iso18626ReadError(ErrorType.BADLY_FORMED_MESSAGE, value);
}

/**
 * "2024-05-01T10:00:00Z", "…+02:00", "…+0000", "…" without a zone (UTC), fractions, or a
 * bare date (midnight UTC).
 */
export function parseIsoDateTime(text: string): Date | undefined {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(
      text.trim(),
    );
  if (!m) return undefined;
  const [, y, mo, d, h = "00", mi = "00", s = "00", frac = "", zone = "Z"] = m;
  let offset = "Z";
  if (zone !== "Z") {
    const digits = zone.slice(1).replace(":", "").padEnd(4, "0");
    offset = `${zone[0]}${digits.slice(0, 2)}:${digits.slice(2, 4)}`;
  }
  const ms = frac ? frac.slice(0, 4).padEnd(4, "0") : "";
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${ms}${offset}`);
  if (Number.isNaN(date.getTime())) return undefined;
  // Date rolls 2024-02-31 over to March: refuse what is not a real day.
  if (Number(d) > 31 || Number(mo) > 12 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60)
    return undefined;
  return date;
}

class Reader {
  readonly ignored: string[] = [];
  readonly uncoded: string[] = [];
  authentication: RequestingAgencyAuthentication | undefined;
  /** 1.2's messageInfo/offeredCosts, retryBefore and retryAfter, moved to retryInfo. */
  retry12: Record<string, unknown> | undefined;

  /** Reads `node` as `desc`; `xsds` is the node's model in each version (undefined where absent). */
  message(node: XmlNode, xsds: readonly (XsdElement | undefined)[], desc: DescMessage, path: string): object {
    if (node.text.trim() !== "") badly(`${path}: text where only elements belong`);
    const init: Record<string, unknown> = {};
    const counts = new Map<string, number>();
    for (const child of node.children) {
      const childPath = `${path}/${child.local}`;
      const childXsds = xsds.map((x) => childOf(x, child.local));
      if (childXsds.every((x) => x === undefined))
        throw new Iso18626ReadError(
          ErrorType.UNRECOGNISED_DATA_ELEMENT,
          `${childPath}: not an element of ${path}`,
        );
      counts.set(child.local, (counts.get(child.local) ?? 0) + 1);
      if (child.local === "requestingAgencyAuthentication") {
        this.authentication = {
          accountId: child.children.find((c) => c.local === "accountId")?.text.trim() ?? "",
          securityCode: child.children.find((c) => c.local === "securityCode")?.text.trim() ?? "",
        };
        continue;
      }
      let field = fieldForElement(desc, child.local);
      let target = init;
      if (!field && desc.name === "MessageInfo") {
        // ISO 18626 v1.2 keeps these three in messageInfo; LRS (like 2021) in retryInfo.
        const retryDesc = MESSAGE_SCHEMAS.supplyingAgencyMessage.fields.find(
          (f) => f.name === "retry_info",
        )?.message;
        field = retryDesc ? fieldForElement(retryDesc, child.local) : undefined;
        if (field) {
          this.retry12 ??= {};
          target = this.retry12;
        }
      }
      if (!field) {
        this.ignored.push(childPath);
        continue;
      }
      const value = this.value(child, childXsds, field, childPath);
      if (value === undefined) continue;
      if (field.fieldKind === "list") {
        const list = (target[field.localName] as unknown[] | undefined) ?? [];
        list.push(value);
        target[field.localName] = list;
      } else if (field.oneof) {
        if (target[field.oneof.localName] !== undefined) badly(`${path}: more than one of its choices`);
        target[field.oneof.localName] = { case: field.localName, value };
      } else {
        if (target[field.localName] !== undefined) badly(`${childPath}: appears more than once`);
        target[field.localName] = value;
      }
    }
    this.checkRequired(xsds, counts, path);
    return create(desc, init as never);
  }

  /** An element the schemas require (in every version that has this element) is missing. */
  private checkRequired(
    xsds: readonly (XsdElement | undefined)[],
    counts: Map<string, number>,
    path: string,
  ): void {
    const known = xsds.filter((x): x is XsdElement => x !== undefined);
    const first = known[0];
    if (first?.type.kind !== "complex") return;
    for (const particle of first.type.children) {
      if (particle.choice !== undefined || TOLERATED_MISSING.has(particle.name)) continue;
      const required = known.every((x) => {
        const p = childOf(x, particle.name);
        return p !== undefined && p.min > 0 && p.choice === undefined;
      });
      if (required && !counts.has(particle.name)) badly(`${path}/${particle.name}: missing`);
    }
  }

  private value(
    node: XmlNode,
    xsds: readonly (XsdElement | undefined)[],
    field: DescField,
    path: string,
  ): unknown {
    const sub = field.message;
    if (sub && sub.typeName !== TIMESTAMP) return this.message(node, xsds, sub, path);
    if (node.children.length > 0) badly(`${path}: elements where only text belongs`);
    const text = node.text.trim();
    if (sub) {
      const date = parseIsoDateTime(text);
      if (!date)
        throw new Iso18626ReadError(
          ErrorType.UNRECOGNISED_DATA_VALUE,
          `${path}: "${text}" is not a date and time`,
        );
      return timestampFromDate(date);
    }
    if (field.enum) {
      const list = codeListOf(field.enum);
      const value = list?.fromXml(text);
      if (value !== undefined) return value;
      if (list && !list.closed) {
        if (text !== "") this.uncoded.push(`${path}: ${text}`);
        return undefined;
      }
      const type =
        list?.isoName === "type_action"
          ? ErrorType.UNSUPPORTED_ACTION_TYPE
          : list?.isoName === "type_reasonForMessage"
            ? ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE
            : ErrorType.UNRECOGNISED_DATA_VALUE;
      throw new Iso18626ReadError(type, `${path}: "${text}" is not a code of ${list?.isoName ?? "its list"}`);
    }
    const scalar =
      field.fieldKind === "list" ? field.scalar : field.fieldKind === "scalar" ? field.scalar : undefined;
    // ScalarType: 8 = bool, 13 = uint32 (the only non-string scalars in ill.proto).
    if (scalar === 8) {
      if (/^(true|1|Y)$/i.test(text)) return true;
      if (/^(false|0|N)$/i.test(text)) return false;
      throw new Iso18626ReadError(
        ErrorType.UNRECOGNISED_DATA_VALUE,
        `${path}: "${text}" is not true or false`,
      );
    }
    if (scalar === 13) {
      if (!/^\+?\d{1,9}$/.test(text))
        throw new Iso18626ReadError(
          ErrorType.UNRECOGNISED_DATA_VALUE,
          `${path}: "${text}" is not a whole number ≥ 0`,
        );
      return Number(text);
    }
    const decimal = xsds.some((x) => x?.type.kind === "simple" && x.type.base === "decimal");
    if (decimal && !/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text))
      throw new Iso18626ReadError(
        ErrorType.UNRECOGNISED_DATA_VALUE,
        `${path}: "${text}" is not a decimal number`,
      );
    return text;
  }
}

function messageRoot(root: XmlNode): { node: XmlNode; version: Iso18626Version | undefined } {
  if (root.uri !== "" && root.uri !== ISO18626_NAMESPACE)
    badly(`${root.local}: namespace "${root.uri}" is not ISO 18626's (${ISO18626_NAMESPACE})`);
  if (root.local === "ISO18626Message") {
    const version = versionOf(root.attributes.version);
    if (root.text.trim() !== "") badly("ISO18626Message: text where only elements belong");
    const [node, extra] = root.children;
    if (!node) badly("ISO18626Message: no message inside");
    if (extra) badly(`ISO18626Message: more than one message inside (${node.local}, ${extra.local})`);
    if (!isMessageKind(node.local))
      throw new Iso18626ReadError(
        ErrorType.UNRECOGNISED_DATA_ELEMENT,
        `ISO18626Message/${node.local}: not an ISO 18626 message`,
      );
    return { node, version };
  }
  if (isMessageKind(root.local)) return { node: root, version: versionOf(root.attributes.version) };
  return badly(
    `${root.local}: not an ISO 18626 message (the root is ISO18626Message or one of the six messages)`,
  );
}

/** The header of a message as far as it can be read, ignoring whatever is wrong in it. */
function salvageHeader(node: XmlNode): Header | undefined {
  const h = node.children.find((c) => c.local === "header" || c.local === "confirmationHeader");
  if (!h) return undefined;
  const text = (name: string) => h.children.find((c) => c.local === name)?.text.trim() ?? "";
  const agency = (name: string) => {
    const a = h.children.find((c) => c.local === name);
    if (!a) return undefined;
    const part = (p: string) => a.children.find((c) => c.local === p)?.text.trim() ?? "";
    return { agencyIdType: part("agencyIdType"), agencyIdValue: part("agencyIdValue") };
  };
  const ts = parseIsoDateTime(text("timestamp"));
  return create(HeaderSchema, {
    supplyingAgencyId: agency("supplyingAgencyId"),
    requestingAgencyId: agency("requestingAgencyId"),
    requestingAgencyRequestId: text("requestingAgencyRequestId"),
    supplyingAgencyRequestId: text("supplyingAgencyRequestId"),
    ...(ts ? { timestamp: timestampFromDate(ts) } : {}),
  });
}

/** 1.2 carries an electronic delivery's link as an itemId (see the writer); it is the URL. */
function urlFromItemId(sam: SupplyingAgencyMessage): void {
  const info = sam.deliveryInfo;
  if (info?.url !== "") return;
  const i = info.itemId.findIndex((id) => /^https?:\/\//i.test(id));
  if (i < 0) return;
  info.url = info.itemId[i] ?? "";
  info.itemId.splice(i, 1);
}

/** Reads one ISO 18626 message; throws Iso18626ReadError. */
export function readIso18626(text: string): Iso18626Read {
  let root: XmlNode;
  try {
    root = readXmlTree(text);
  } catch (err) {
    if (err instanceof XmlReadError) badly(`not well-formed XML: ${err.message}`);
    throw err;
  }
  const { node, version } = messageRoot(root);
  const kind = node.local as Iso18626MessageKind;
  const reader = new Reader();
  const xsds = ISO18626_VERSIONS.map((v) => iso18626Schema(v).elements.get(kind));
  let value: object;
  try {
    value = reader.message(node, xsds, MESSAGE_SCHEMAS[kind], kind);
  } catch (err) {
    if (err instanceof Iso18626ReadError)
      throw new Iso18626ReadError(err.errorType, err.errorValue, kind, salvageHeader(node), version);
    throw err;
  }
  if (reader.retry12 && kind === "supplyingAgencyMessage") {
    const sam = value as { retryInfo?: Record<string, unknown> };
    const retryDesc = MESSAGE_SCHEMAS.supplyingAgencyMessage.fields.find(
      (f) => f.name === "retry_info",
    )?.message;
    if (retryDesc) sam.retryInfo = { ...create(retryDesc), ...(sam.retryInfo ?? {}), ...reader.retry12 };
  }
  if (kind === "supplyingAgencyMessage") urlFromItemId(value as SupplyingAgencyMessage);
  return {
    message: { case: kind, value } as Iso18626Message,
    version,
    authentication: reader.authentication,
    ignored: reader.ignored,
    uncoded: reader.uncoded,
  };
}
