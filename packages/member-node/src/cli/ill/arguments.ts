// What `lrs-member ill …` checks of its arguments before it asks the node: days, ISO reason
// codes, and the BorrowRequest of `ill request`.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { costsOf, ill, illPb, illServicePb, normalizeIsbn, normalizeIssn, parseMoney } from "@lrs/shared";
import { articleRequest } from "../../ill/article.js";
import { LIBRARY_PATRON, parseServiceType } from "../../services/ill-staff.js";

/** A "YYYY-MM-DD" day as midnight UTC; `what` names the option in the error. */
export function parseDay(what: string, text: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!m || !d || d.toISOString().slice(0, 10) !== text.trim())
    throw new Error(`${what}: "${text}" is not a date (YYYY-MM-DD)`);
  return d;
}

export function futureDay(what: string, text: string, now: Date): Date {
  const d = parseDay(what, text);
  if (d.getTime() <= now.getTime()) throw new Error(`${what}: ${text} is not in the future`);
  return d;
}

export const REASON_CODES = [...ill.ISO18626_CODES.reasonUnfilled.codes.values()];

/** An ISO reasonUnfilled code, any case, as ISO spells it. */
export function reasonCode(text: string): string {
  const code = REASON_CODES.find((c) => c.toLowerCase() === text.trim().toLowerCase());
  if (!code)
    throw new Error(`--reason: "${text}" is not an ISO 18626 reason; use one of ${REASON_CODES.join(", ")}`);
  return code;
}

export function borrowRequest(
  o: {
    cluster?: string | undefined;
    isbn?: string | undefined;
    issn?: string | undefined;
    title?: string | undefined;
    author?: string | undefined;
    type: string;
    needBefore?: string | undefined;
    note?: string | undefined;
    patron?: string | undefined;
    maxCost?: string | undefined;
    rush?: boolean | undefined;
    published?: string | undefined;
    compliance?: string | undefined;
    article?: string | undefined;
  },
  now: Date,
): illServicePb.BorrowRequest {
  // An article names the journal (the title), its ISSN and year; the rest is as for any request.
  if (o.article !== undefined)
    return articleRequest(o, o.article, (plain) => borrowRequest({ ...plain, article: undefined }, now));
  const serviceType = parseServiceType(o.type);
  if (serviceType === undefined) throw new Error(`--type: "${o.type}" is not loan, copy or copy-or-loan`);
  const cluster = o.cluster?.trim() ?? "";
  const title = o.title?.trim() ?? "";
  const itemIds: { bibliographicItemIdentifierCode: string; bibliographicItemIdentifier: string }[] = [];
  if (o.isbn !== undefined) {
    if (normalizeIsbn(o.isbn) === undefined)
      throw new Error(`--isbn: "${o.isbn}" is not a valid ISBN (10 or 13 digits with a correct check digit)`);
    itemIds.push({ bibliographicItemIdentifierCode: "ISBN", bibliographicItemIdentifier: o.isbn.trim() });
  }
  if (o.issn !== undefined) {
    if (normalizeIssn(o.issn) === undefined)
      throw new Error(`--issn: "${o.issn}" is not a valid ISSN (8 digits, e.g. 0028-0836)`);
    itemIds.push({ bibliographicItemIdentifierCode: "ISSN", bibliographicItemIdentifier: o.issn.trim() });
  }
  if (cluster === "" && title === "" && itemIds.length === 0)
    throw new Error("say what to borrow: --cluster ID, --isbn ISBN, --issn ISSN or --title TITLE");
  if (o.author !== undefined && title === "") throw new Error("--author goes with --title");
  const patron = o.patron?.trim() || LIBRARY_PATRON;
  let maximumCosts: { currencyCode: string; monetaryValue: string } | undefined;
  if (o.maxCost !== undefined) {
    try {
      maximumCosts = costsOf(parseMoney(o.maxCost));
    } catch (err) {
      throw new Error(`--max-cost: ${(err as Error).message}`);
    }
  }
  const copy = serviceType !== illPb.ServiceType.LOAN;
  if (o.published !== undefined && !copy)
    throw new Error("--published goes with a copy (--type copy or copy-or-loan)");
  if (o.compliance !== undefined && !copy)
    throw new Error("--compliance goes with a copy (--type copy or copy-or-loan)");
  if (o.published !== undefined && !/^\d{4}(-\d{2}(-\d{2})?)?$/.test(o.published.trim()))
    throw new Error(`--published: "${o.published}" is not a year or a date (2024, 2024-05 or 2024-05-01)`);
  return create(illServicePb.BorrowRequestSchema, {
    ...(maximumCosts ? { maximumCosts } : {}),
    serviceLevel: o.rush ? "Rush" : "",
    publicationDate: o.published?.trim() ?? "",
    copyrightCompliance: o.compliance?.trim() ?? "",
    clusterId: cluster,
    itemIds,
    title,
    author: o.author?.trim() ?? "",
    serviceType,
    needBefore:
      o.needBefore === undefined
        ? undefined
        : timestampFromDate(futureDay("--need-before", o.needBefore, now)),
    note: o.note?.trim() ?? "",
    patronId: patron,
  });
}
