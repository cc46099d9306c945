// Writes an ISO 18626 message as XML that validates against the schema version the partner
// speaks. The writer walks the schema's content model (xsd.ts), not the Protobuf message, so
// element order, occurrence limits and closed code lists are the XSD's own: a required element
// LRS cannot fill or a code the version lacks is an error here, never a message the partner
// refuses. What the version has no element for is left out and listed in `dropped`.
import { clone, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import {
  RequestConfirmationSchema,
  RequestingAgencyMessageConfirmationSchema,
  RequestingAgencyMessageSchema,
  RequestSchema,
  SupplyingAgencyMessageConfirmationSchema,
  SupplyingAgencyMessageSchema,
} from "../gen/lrs/v1/ill_pb.js";
import { codeListOf, ISO18626_NAMESPACE } from "./iso18626-xml.js";
import {
  fieldForElement,
  fieldValues,
  type Iso18626Message,
  type Iso18626MessageKind,
  type RequestingAgencyAuthentication,
} from "./xml-message.js";
import { escapeXml } from "./xml-tree.js";
import { type Iso18626Version, iso18626Schema, type XsdElement } from "./xsd.js";

/** Raised when a message cannot be written for a version; names the element and why. */
export class Iso18626WriteError extends Error {
  override readonly name = "Iso18626WriteError";
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

export interface Iso18626WriteOptions {
  readonly version: Iso18626Version;
  /** Put in the header of a request or requesting agency message (2021 schema). */
  readonly authentication?: RequestingAgencyAuthentication;
}

export interface Iso18626Written {
  readonly xml: string;
  /** Fields that had a value but no element in this version ("SupplyingAgencyMessage.shipping_info"). */
  readonly dropped: readonly string[];
}

export const MESSAGE_SCHEMAS: Readonly<Record<Iso18626MessageKind, DescMessage>> = {
  request: RequestSchema,
  requestConfirmation: RequestConfirmationSchema,
  supplyingAgencyMessage: SupplyingAgencyMessageSchema,
  supplyingAgencyMessageConfirmation: SupplyingAgencyMessageConfirmationSchema,
  requestingAgencyMessage: RequestingAgencyMessageSchema,
  requestingAgencyMessageConfirmation: RequestingAgencyMessageConfirmationSchema,
};

const TIMESTAMP = "google.protobuf.Timestamp";
/** Required by the 1.2 schema by mistake (optional since 2021): written empty when LRS has none. */
const EMPTY_WHEN_MISSING = new Set(["multipleItemRequestId"]);

/** Where an element's values come from: the message's own fields, then borrowed ones. */
interface Source {
  readonly desc: DescMessage;
  readonly message: object;
}

class Writer {
  readonly out: string[] = [];
  readonly dropped: string[] = [];
  private readonly used = new WeakMap<object, Set<string>>();

  constructor(
    readonly version: Iso18626Version,
    readonly authentication: RequestingAgencyAuthentication | undefined,
  ) {}

  element(xsd: XsdElement, sources: readonly Source[], path: string): void {
    if (xsd.type.kind !== "complex") throw new Error(`${path} is not a complex element`);
    const [own] = sources;
    if (!own) throw new Error(`${path}: nothing to write`);
    this.out.push(`<${xsd.name}>`);
    for (const child of xsd.type.children) {
      const childPath = `${path}/${child.name}`;
      if (child.name === "requestingAgencyAuthentication") {
        const a = this.authentication;
        if (a)
          this.out.push(
            `<requestingAgencyAuthentication><accountId>${escapeXml(a.accountId)}</accountId><securityCode>${escapeXml(a.securityCode)}</securityCode></requestingAgencyAuthentication>`,
          );
        continue;
      }
      const found = this.valuesFor(sources, child.name);
      const values = found?.values ?? [];
      if (values.length < child.min && EMPTY_WHEN_MISSING.has(child.name)) {
        this.out.push(`<${child.name}/>`);
        continue;
      }
      if (values.length < child.min && child.choice === undefined)
        throw new Iso18626WriteError(childPath, `is required by ISO 18626 ${this.version} and has no value`);
      if (values.length > child.max) {
        this.dropped.push(`${childPath}[${child.max + 1}…]`);
        values.length = child.max;
      }
      for (const value of values) this.value(child, found?.field, value, childPath);
    }
    this.out.push(`</${xsd.name}>`);
    this.reportUnused(own.desc, own.message, path);
  }

  private valuesFor(
    sources: readonly Source[],
    name: string,
  ): { field: DescField; values: unknown[] } | undefined {
    for (const s of sources) {
      const field = fieldForElement(s.desc, name);
      if (!field) continue;
      this.markUsed(s.message, field.name);
      return { field, values: [...fieldValues(s.message, field)] };
    }
    return undefined;
  }

  private value(xsd: XsdElement, field: DescField | undefined, value: unknown, path: string): void {
    if (xsd.type.kind === "complex") {
      const desc = field?.message;
      if (!desc) throw new Error(`${path}: no message for a complex element`);
      this.element(xsd, [{ desc, message: value as object }, ...this.borrowed(desc, path)], path);
      return;
    }
    const text = this.text(xsd, field, value, path);
    this.out.push(`<${xsd.name}>${escapeXml(text)}</${xsd.name}>`);
  }

  /**
   * 2017 (v1.2) has no retryInfo: its offeredCosts, retryBefore and retryAfter sit in messageInfo.
   * The supplying agency message being written is the last one entered, kept here.
   */
  private current: object | undefined;
  begin(message: object): void {
    this.current = message;
  }
  private borrowed(desc: DescMessage, _path: string): Source[] {
    if (this.version !== "1.2" || desc.name !== "MessageInfo") return [];
    const retry = (this.current as { retryInfo?: object } | undefined)?.retryInfo;
    const retryDesc = SupplyingAgencyMessageSchema.fields.find((f) => f.name === "retry_info")?.message;
    return retry && retryDesc ? [{ desc: retryDesc, message: retry }] : [];
  }

  private text(xsd: XsdElement, field: DescField | undefined, value: unknown, path: string): string {
    if (field?.message?.typeName === TIMESTAMP) return timestampDate(value as Timestamp).toISOString();
    if (field?.enum) {
      const code = codeListOf(field.enum)?.toXml(value as number);
      if (code === undefined)
        throw new Iso18626WriteError(path, `value ${String(value)} has no ISO 18626 code`);
      const allowed = xsd.type.kind === "simple" ? xsd.type.enumeration : undefined;
      if (allowed && !allowed.includes(code))
        throw new Iso18626WriteError(path, `"${code}" is not a code of ISO 18626 ${this.version}`);
      return code;
    }
    if (typeof value === "boolean") return value ? "true" : "false";
    if (typeof value === "number" || typeof value === "bigint") return String(value);
    if (typeof value !== "string") throw new Error(`${path}: a ${typeof value} where text was expected`);
    if (xsd.type.kind === "simple" && xsd.type.base === "decimal" && !/^-?\d+(\.\d+)?$/.test(value.trim()))
      throw new Iso18626WriteError(path, `"${value}" is not a decimal number`);
    return value;
  }

  private markUsed(message: object, field: string): void {
    let set = this.used.get(message);
    if (!set) {
      set = new Set();
      this.used.set(message, set);
    }
    set.add(field);
  }

  /** Fields with a value that no element took, and the unused parts of borrowed messages. */
  private reportUnused(desc: DescMessage, message: object, path: string): void {
    const used = this.used.get(message) ?? new Set<string>();
    for (const field of desc.fields) {
      if (used.has(field.name) || field.name === "message_id") continue;
      const values = fieldValues(message, field);
      if (values.length === 0) continue;
      const inner = field.message && field.message.typeName !== TIMESTAMP ? values[0] : undefined;
      if (inner && this.used.has(inner as object) && field.message) {
        this.reportUnused(field.message, inner as object, `${path}/${field.name}`);
        continue;
      }
      this.dropped.push(`${path}/${field.name}`);
    }
  }
}

/**
 * 1.2 has no deliveryInfo/URL: an electronic delivery's link goes in itemId, the one element
 * of deliveryInfo that identifies what was sent (the reader takes it back).
 */
function urlAsItemId(message: Iso18626Message): object {
  if (message.case !== "supplyingAgencyMessage" || !message.value.deliveryInfo?.url) return message.value;
  const value = clone(SupplyingAgencyMessageSchema, message.value);
  const info = value.deliveryInfo;
  if (info) {
    info.itemId = [info.url, ...info.itemId];
    info.url = "";
  }
  return value;
}

/** The XML of one message for a partner on `version`; throws Iso18626WriteError. */
export function writeIso18626(message: Iso18626Message, opts: Iso18626WriteOptions): Iso18626Written {
  const schema = iso18626Schema(opts.version);
  const xsd = schema.elements.get(message.case);
  if (!xsd) throw new Error(`ISO 18626 ${opts.version} has no ${message.case}`);
  const value = opts.version === "1.2" ? urlAsItemId(message) : message.value;
  const w = new Writer(opts.version, opts.authentication);
  w.begin(value);
  w.element(xsd, [{ desc: MESSAGE_SCHEMAS[message.case], message: value }], message.case);
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<ISO18626Message xmlns="${ISO18626_NAMESPACE}" xmlns:ill="${ISO18626_NAMESPACE}" ill:version="${opts.version}">` +
    `${w.out.join("")}</ISO18626Message>\n`;
  return { xml, dropped: w.dropped };
}
