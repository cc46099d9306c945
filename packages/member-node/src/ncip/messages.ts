// NCIP 2.02 (ANSI/NISO Z39.83-1-2012) messages as LRS sends them to a library's ILS and reads the
// answers: LookupItem, CheckOutItem, CheckInItem, AcceptItem and DeleteItem, in the namespace and
// element order of ncip_v2_02.xsd. Answers are read with the same safe XML reader as ISO 18626
// (no DTD, limits on size, depth and elements); a Problem (Unknown Item, User Blocked, …) is an
// answer like any other and is returned, not thrown: only what is not NCIP at all throws.
import { ill } from "@lrs/shared";

export const NCIP_NAMESPACE = "http://www.niso.org/2008/ncip";
export const NCIP_VERSION = "http://www.niso.org/schemas/ncip/v2_02/ncip_v2_02.xsd";

/** NCIP answers are small: an item and its optional fields. */
export const NCIP_XML_LIMITS: ill.XmlLimits = { maxChars: 1_000_000, maxDepth: 20, maxElements: 10_000 };

/** Who sends, to whom (InitiationHeader). */
export interface NcipHeader {
  /** This library as the ILS knows it. */
  readonly fromAgencyId: string;
  /** The ILS's agency. */
  readonly toAgencyId: string;
  /** FromAgencyAuthentication, when the ILS asks for one. */
  readonly authentication?: string;
}

export interface LookupItemInput {
  readonly barcode: string;
}

export interface CheckOutItemInput {
  /** The patron record the item is lent to (the borrowing library's). */
  readonly userId: string;
  readonly barcode: string;
  /** The ILL request it belongs to. */
  readonly requestId: string;
  readonly dueDate?: Date;
}

export interface CheckInItemInput {
  readonly barcode: string;
}

export interface AcceptItemInput {
  /** The ILL request (RequestId: the ILS files the hold under it). */
  readonly requestId: string;
  /** The patron the hold is for. */
  readonly userId: string;
  /** The temporary item's barcode. */
  readonly barcode: string;
  readonly title: string;
  readonly author: string;
  /** When the lender wants it back. */
  readonly dateForReturn?: Date;
  readonly pickupLocation?: string;
}

export interface DeleteItemInput {
  readonly barcode: string;
}

export type NcipRequest =
  | { readonly service: "LookupItem"; readonly input: LookupItemInput }
  | { readonly service: "CheckOutItem"; readonly input: CheckOutItemInput }
  | { readonly service: "CheckInItem"; readonly input: CheckInItemInput }
  | { readonly service: "AcceptItem"; readonly input: AcceptItemInput }
  | { readonly service: "DeleteItem"; readonly input: DeleteItemInput };

export type NcipService = NcipRequest["service"];

/** One NCIP Problem: its type (from the Problem Type scheme) and what it names. */
export interface NcipProblem {
  readonly type: string;
  readonly detail: string;
  readonly element: string;
  readonly value: string;
}

/** What an answer said, the parts LRS uses. */
export interface NcipAnswer {
  readonly service: string;
  /** Non-empty: the ILS refused (nothing else in the answer counts). */
  readonly problems: readonly NcipProblem[];
  readonly itemId?: string;
  readonly userId?: string;
  readonly requestId?: string;
  /** LookupItem: "Available On Shelf", "On Loan", … (NCIP's Circulation Status scheme). */
  readonly circulationStatus?: string;
  readonly title?: string;
  /** LookupItem: the most specific location name given. */
  readonly location?: string;
  /** CheckOutItem, LookupItem: when the item is due back. */
  readonly dateDue?: Date;
}

/** The answer was not an NCIP message (HTML, another XML, not XML, over a limit). */
export class NcipResponseError extends Error {
  override readonly name = "NcipResponseError";
}

/** Problem types that may pass if asked again (the ILS said so). */
const TEMPORARY_PROBLEMS = new Set(["temporary processing failure", "system unavailable"]);

export function isTemporaryProblem(p: NcipProblem): boolean {
  return TEMPORARY_PROBLEMS.has(p.type.trim().toLowerCase());
}

/** "Unknown Item (ItemIdentifierValue "123"): no such barcode". */
export function describeProblem(p: NcipProblem): string {
  const named = p.element
    ? ` (${p.element}${p.value ? ` "${p.value}"` : ""})`
    : p.value
      ? ` ("${p.value}")`
      : "";
  return `${p.type || "Problem"}${named}${p.detail ? `: ${p.detail}` : ""}`;
}

const esc = ill.escapeXml;

function el(name: string, ...children: Array<string | undefined>): string {
  return `<${name}>${children.filter((c) => c !== undefined).join("")}</${name}>`;
}

function text(name: string, value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : `<${name}>${esc(value)}</${name}>`;
}

/** xs:dateTime in UTC, whole seconds, as ILSs read it. */
function dateTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function header(h: NcipHeader): string {
  return el(
    "InitiationHeader",
    el("FromAgencyId", text("AgencyId", h.fromAgencyId)),
    text("FromAgencyAuthentication", h.authentication),
    el("ToAgencyId", text("AgencyId", h.toAgencyId)),
  );
}

function itemId(h: NcipHeader, barcode: string): string {
  return el("ItemId", text("AgencyId", h.toAgencyId), text("ItemIdentifierValue", barcode));
}

function requestIdOf(h: NcipHeader, requestId: string): string {
  return el("RequestId", text("AgencyId", h.fromAgencyId), text("RequestIdentifierValue", requestId));
}

function userId(h: NcipHeader, id: string): string {
  return el("UserId", text("AgencyId", h.toAgencyId), text("UserIdentifierValue", id));
}

function body(h: NcipHeader, r: NcipRequest): string {
  switch (r.service) {
    case "LookupItem":
      return el(
        "LookupItem",
        header(h),
        itemId(h, r.input.barcode),
        text("ItemElementType", "Bibliographic Description"),
        text("ItemElementType", "Circulation Status"),
        text("ItemElementType", "Location"),
      );
    case "CheckOutItem":
      return el(
        "CheckOutItem",
        header(h),
        userId(h, r.input.userId),
        itemId(h, r.input.barcode),
        requestIdOf(h, r.input.requestId),
        r.input.dueDate ? text("DesiredDateDue", dateTime(r.input.dueDate)) : undefined,
      );
    case "CheckInItem":
      return el("CheckInItem", header(h), itemId(h, r.input.barcode));
    case "AcceptItem":
      return el(
        "AcceptItem",
        header(h),
        requestIdOf(h, r.input.requestId),
        text("RequestedActionType", "Hold For Pickup"),
        userId(h, r.input.userId),
        itemId(h, r.input.barcode),
        r.input.dateForReturn ? text("DateForReturn", dateTime(r.input.dateForReturn)) : undefined,
        el(
          "ItemOptionalFields",
          el("BibliographicDescription", text("Author", r.input.author), text("Title", r.input.title)),
        ),
        text("PickupLocation", r.input.pickupLocation),
      );
    case "DeleteItem":
      return el("DeleteItem", header(h), itemId(h, r.input.barcode));
  }
}

/** The whole NCIPMessage document for one request. */
export function writeNcip(h: NcipHeader, r: NcipRequest): string {
  // The schema qualifies attributes (attributeFormDefault): version needs the namespace's prefix.
  return `<?xml version="1.0" encoding="UTF-8"?>\n<NCIPMessage xmlns="${NCIP_NAMESPACE}" xmlns:ncip="${NCIP_NAMESPACE}" ncip:version="${NCIP_VERSION}">${body(h, r)}</NCIPMessage>\n`;
}

const child = (n: ill.XmlNode | undefined, local: string) => n?.children.find((c) => c.local === local);
const childText = (n: ill.XmlNode | undefined, local: string) => child(n, local)?.text.trim() || undefined;

/** Every descendant named `local`, document order. */
function descendants(n: ill.XmlNode, local: string, out: ill.XmlNode[] = []): ill.XmlNode[] {
  for (const c of n.children) {
    if (c.local === local) out.push(c);
    descendants(c, local, out);
  }
  return out;
}

function problemOf(n: ill.XmlNode): NcipProblem {
  return {
    type: childText(n, "ProblemType") ?? "",
    detail: childText(n, "ProblemDetail") ?? "",
    element: childText(n, "ProblemElement") ?? "",
    value: childText(n, "ProblemValue") ?? "",
  };
}

function dateOf(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  return ill.parseIsoDateTime(value);
}

/**
 * Reads an NCIP answer; `expected` is the service asked ("LookupItem" → LookupItemResponse).
 *
 * @throws NcipResponseError when the text is not an NCIP 2 message answering that service
 */
export function readNcip(xml: string, expected: NcipService): NcipAnswer {
  const start = xml.trimStart().slice(0, 100).toLowerCase();
  if (start.startsWith("<!doctype html") || start.startsWith("<html"))
    throw new NcipResponseError("the ILS answered with an HTML page, not NCIP XML (is the NCIP URL right?)");
  let root: ill.XmlNode;
  try {
    root = ill.readXmlTree(xml, NCIP_XML_LIMITS);
  } catch (err) {
    if (err instanceof ill.XmlReadError)
      throw new NcipResponseError(`the answer is not NCIP XML: ${err.message}`);
    throw err;
  }
  if (root.local !== "NCIPMessage")
    throw new NcipResponseError(`the answer is <${root.local}>, not <NCIPMessage>`);
  if (root.uri !== NCIP_NAMESPACE && root.uri !== "")
    throw new NcipResponseError(`the answer's namespace is ${root.uri}, not NCIP 2's ${NCIP_NAMESPACE}`);
  // A responder that could not read the request may answer with a bare Problem.
  const bare = root.children.filter((c) => c.local === "Problem");
  if (bare.length > 0) return { service: expected, problems: bare.map(problemOf) };
  const response = root.children[0];
  if (!response) throw new NcipResponseError("the NCIPMessage is empty");
  if (response.local !== `${expected}Response`)
    throw new NcipResponseError(`the answer is ${response.local}, not ${expected}Response`);
  const problems = response.children.filter((c) => c.local === "Problem").map(problemOf);
  if (problems.length > 0) return { service: expected, problems };
  const optional = child(response, "ItemOptionalFields");
  const locations = optional ? descendants(optional, "LocationNameValue") : [];
  const title = childText(child(optional, "BibliographicDescription"), "Title");
  const status = childText(optional, "CirculationStatus");
  const location = locations.at(-1)?.text.trim();
  const dateDue = dateOf(childText(response, "DateDue") ?? childText(optional, "DateDue"));
  const item = childText(child(response, "ItemId"), "ItemIdentifierValue");
  const user = childText(child(response, "UserId"), "UserIdentifierValue");
  const request = childText(child(response, "RequestId"), "RequestIdentifierValue");
  return {
    service: expected,
    problems: [],
    ...(item ? { itemId: item } : {}),
    ...(user ? { userId: user } : {}),
    ...(request ? { requestId: request } : {}),
    ...(status ? { circulationStatus: status } : {}),
    ...(title ? { title } : {}),
    ...(location ? { location } : {}),
    ...(dateDue ? { dateDue } : {}),
  };
}

/** Circulation statuses (NCIP's scheme) in which the item can be lent now. */
const ON_SHELF = new Set(["available on shelf", "available for pickup"]);
const OUT = new Set(["on loan", "claimed returned", "in transit between library locations", "on order"]);

/** An NCIP circulation status in the catalog's words: "available", "on_loan", or "missing", "lost"… */
export function itemStatusOf(circulationStatus: string | undefined): string {
  const s = (circulationStatus ?? "").trim().toLowerCase();
  if (ON_SHELF.has(s)) return "available";
  if (s === "on loan") return "on_loan";
  if (s === "lost") return "lost";
  if (s === "missing") return "missing";
  if (s === "on order") return "on_order";
  if (OUT.has(s)) return "on_loan";
  // In Process, Not Available, Circulation Status Undefined, a local value: not on the shelf.
  return "not_available";
}
