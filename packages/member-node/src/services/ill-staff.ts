// IllStaffService: the staff side of ILL at a member, what its CLI calls with the node's own
// certificate. The CLI speaks in verbs ("ship", "receive", "respond no"); this file maps them to
// the events of the request's machine, and says what the current state allows, straight from
// the machine tables in @lrs/shared (ill/requester-machine.ts, ill/supplier-machine.ts).
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  AUTO_RESPOND_MODES,
  type copyPb,
  ill,
  illPb,
  illServicePb,
  MoneyError,
  mapErrors,
  moneyOfCosts,
  normalizeIsbn,
  normalizeIssn,
} from "@lrs/shared";
import { parsePublicationDate } from "../fees/copyright.js";
import {
  type BorrowInput,
  type IllEngine,
  type MessageLogEntry,
  rotaCandidateOf,
  type ShelfItem,
  type TimerInfo,
} from "../ill/engine.js";
import { IllNotFoundError, IllStateError } from "../ill/errors.js";
import type { IllEvent, IllRequest, IllRole, TimelineEntry } from "../ill/store.js";

const { ServiceType } = illPb;

/** What the service needs of the engine (tests hand in a fake). */
export type IllStaffEngine = Pick<
  IllEngine,
  "store" | "borrow" | "act" | "messages" | "timers" | "autoResponder" | "setAutoResponder"
> &
  Partial<Pick<IllEngine, "copyInfo" | "shelfItems">>;

/** A partner institution as labels print it (the directory's name and postal address). */
export type PartnerLookup = (id: string) => { name: string; postalAddress: string } | undefined;

/** The borrowing library's verbs. */
export const BORROWER_VERBS = [
  "receive",
  "return",
  "renew",
  "cancel",
  "approve",
  "accept",
  "reject",
  "status",
] as const;
/** The lending library's verbs. */
export const LENDER_VERBS = [
  "respond",
  "pick",
  "ship",
  "checkin",
  "recall",
  "overdue",
  "lost",
  "approve-renew",
  "refuse-renew",
  "accept-cancel",
  "refuse-cancel",
  "cancel",
] as const;
export type BorrowerVerb = (typeof BORROWER_VERBS)[number];
export type LenderVerb = (typeof LENDER_VERBS)[number];
export type IllVerb = BorrowerVerb | LenderVerb;
/** Every verb of ActRequest.action, each once. */
export const ILL_VERBS: readonly IllVerb[] = [...new Set<IllVerb>([...BORROWER_VERBS, ...LENDER_VERBS])];

/** The answers of `respond`. */
export const RESPOND_ANSWERS = ["yes", "no", "conditional", "expect"] as const;
export type RespondAnswer = (typeof RESPOND_ANSWERS)[number];

const BORROWER_EVENT: Readonly<Record<BorrowerVerb, ill.RequesterEvent>> = {
  receive: "receive",
  return: "return",
  renew: "renew",
  cancel: "cancel",
  approve: "approve",
  accept: "accept_conditions",
  reject: "reject_conditions",
  status: "status_request",
};

// The lender's verbs that stand for one event whatever the request; respond, ship and cancel
// depend on the answer, the service type or the state.
const LENDER_EVENT: Readonly<Record<Exclude<LenderVerb, "respond" | "ship" | "cancel">, ill.SupplierEvent>> =
  {
    pick: "pick",
    checkin: "check_in",
    recall: "recall",
    overdue: "mark_overdue",
    lost: "complete_without_return",
    "approve-renew": "approve_renew",
    "refuse-renew": "refuse_renew",
    "accept-cancel": "accept_cancel",
    "refuse-cancel": "refuse_cancel",
  };

const RESPOND_EVENT: Readonly<Record<RespondAnswer, ill.SupplierEvent>> = {
  yes: "respond_yes",
  no: "respond_no",
  conditional: "respond_conditional",
  expect: "respond_expect",
};

/** How `ship` goes out: the item (a loan) or a copy. */
export const SHIP_AS = ["loan", "copy"] as const;

/** Verbs that take a due date. */
export const DUE_DATE_VERBS: readonly IllVerb[] = ["ship", "approve-renew"];

/** The part of a request the verb mapping reads. */
export type RequestState = Pick<IllRequest, "id" | "role" | "state" | "serviceType">;

const isBorrowerVerb = (v: string): v is BorrowerVerb => (BORROWER_VERBS as readonly string[]).includes(v);
const isLenderVerb = (v: string): v is LenderVerb => (LENDER_VERBS as readonly string[]).includes(v);
const isVerb = (v: string): v is IllVerb => isBorrowerVerb(v) || isLenderVerb(v);
const isAnswer = (a: string): a is RespondAnswer => (RESPOND_ANSWERS as readonly string[]).includes(a);

/** `ship` for a loan, `deliver_copy` for a copy; a copy-or-loan request ships the item unless told. */
function shipEvent(serviceType: illPb.ServiceType, as: string): ill.SupplierEvent {
  if (as === "copy") return "deliver_copy";
  if (as === "loan") return "ship";
  return serviceType === ServiceType.COPY ? "deliver_copy" : "ship";
}

/**
 * The events a verb may stand for in this request's state, for the list of allowed actions: every
 * answer of `respond`, both ways of shipping a copy-or-loan request.
 */
function candidateEvents(r: RequestState, verb: IllVerb): IllEvent[] {
  if (r.role === "borrower") return isBorrowerVerb(verb) ? [BORROWER_EVENT[verb]] : [];
  if (!isLenderVerb(verb)) return [];
  switch (verb) {
    case "respond":
      return RESPOND_ANSWERS.map((a) => RESPOND_EVENT[a]);
    case "ship":
      return r.serviceType === ServiceType.COPY_OR_LOAN
        ? ["ship", "deliver_copy"]
        : [shipEvent(r.serviceType, "")];
    case "cancel":
      return [lenderCancelEvent(r.state)];
    default:
      return [LENDER_EVENT[verb]];
  }
}

/** At a lender, `cancel` accepts the borrower's cancel when one is waiting, and otherwise answers no. */
function lenderCancelEvent(state: string): ill.SupplierEvent {
  return state === "cancel_requested" ? "accept_cancel" : "respond_no";
}

/** Whether the role's machine has a row for `event` from `state` (guards aside). */
function hasRow(role: IllRole, state: string, event: IllEvent): boolean {
  if (role === "borrower") {
    const m = ill.requesterMachine;
    return (
      Object.hasOwn(m.states, state) &&
      Object.hasOwn(m.events, event) &&
      m.rowsFor(state as ill.RequesterState, event as ill.RequesterEvent).length > 0
    );
  }
  const m = ill.supplierMachine;
  return (
    Object.hasOwn(m.states, state) &&
    Object.hasOwn(m.events, event) &&
    m.rowsFor(state as ill.SupplierState, event as ill.SupplierEvent).length > 0
  );
}

/**
 * The CLI verbs the request's state allows for its role: those with a row from the current state
 * for one of their events in the machine table. Guards are not evaluated (a `ship` of a copy
 * request, an `overdue` before the due date may still be refused).
 */
export function allowedActions(r: RequestState): string[] {
  const verbs: readonly IllVerb[] = r.role === "borrower" ? BORROWER_VERBS : LENDER_VERBS;
  const allowed: string[] = verbs.filter((verb) =>
    candidateEvents(r, verb).some((e) => hasRow(r.role, r.state, e)),
  );
  // A copy goes with its file (document delivery): `ill upload-copy` delivers it, not `ship`.
  if (r.role === "lender" && r.serviceType !== ServiceType.LOAN && hasRow(r.role, r.state, "deliver_copy")) {
    const ship = allowed.indexOf("ship");
    if (r.serviceType === ServiceType.COPY && ship >= 0) allowed.splice(ship, 1, UPLOAD_COPY);
    else allowed.splice(ship >= 0 ? ship + 1 : allowed.length, 0, UPLOAD_COPY);
  }
  return allowed;
}

/** The CLI command that delivers a copy (document delivery), listed among a request's actions. */
export const UPLOAD_COPY = "upload-copy";

/** What an ActRequest says besides the request id. */
export interface ActInput {
  readonly verb: string;
  /** For `respond`: yes, no, conditional, expect. For `ship`: loan or copy (copy-or-loan requests). */
  readonly answer?: string;
  /** An ISO 18626 reasonUnfilled code, for `respond no` and a lender's `cancel`. */
  readonly reason?: string;
}

/** A verb resolved against a request: the machine event, and the reason an Unfilled carries. */
export interface ResolvedAction {
  readonly verb: IllVerb;
  readonly event: IllEvent;
  readonly reasonUnfilled?: illPb.ReasonUnfilled;
}

const invalid = (msg: string) => new ConnectError(msg, Code.InvalidArgument);
const refused = (msg: string) => new ConnectError(msg, Code.FailedPrecondition);

/** "respond no", "ship as copy", "pick": the verb as staff typed it, for messages. */
function verbText(verb: string, answer: string | undefined): string {
  return answer ? `${verb} ${verb === "ship" ? `as ${answer}` : answer}` : verb;
}

/** The ISO reasonUnfilled for an XML code ("NotOnShelf"; case does not matter). */
export function parseReasonUnfilled(code: string): illPb.ReasonUnfilled {
  const list = ill.ISO18626_CODES.reasonUnfilled;
  const exact = list.fromXml(code);
  if (exact !== undefined) return exact;
  for (const [value, xml] of list.codes) if (xml.toLowerCase() === code.toLowerCase()) return value;
  throw invalid(
    `reason: "${code}" is not an ISO 18626 reasonUnfilled code; use one of ${[...list.codes.values()].join(", ")}`,
  );
}

/**
 * Maps a verb to its machine event for this request. Throws InvalidArgument for an unknown verb,
 * answer or reason, and FailedPrecondition for a verb of the other role or one the state does
 * not allow (with the machine's refusal and what is allowed now).
 */
export function resolveAction(r: RequestState, input: ActInput): ResolvedAction {
  const verb = input.verb.trim().toLowerCase();
  const answer = input.answer?.trim().toLowerCase() || undefined;
  const reason = input.reason?.trim() || undefined;
  if (!isVerb(verb))
    throw invalid(`action: unknown action "${input.verb}"; use one of ${ILL_VERBS.join(", ")}`);
  const roleVerbs: readonly string[] = r.role === "borrower" ? BORROWER_VERBS : LENDER_VERBS;
  if (!roleVerbs.includes(verb)) {
    const theirs = r.role === "borrower" ? "a lender's" : "a borrower's";
    const ours = r.role === "borrower" ? "a borrowing" : "a lending";
    throw refused(`${verb} is ${theirs} action: ILL request ${r.id} is ${ours} request (${r.state})`);
  }
  let event: IllEvent;
  if (verb === "respond") {
    if (answer === undefined || !isAnswer(answer))
      throw invalid(
        `answer: respond takes ${RESPOND_ANSWERS.join(", ")}${answer ? `, not "${answer}"` : ""}`,
      );
    event = RESPOND_EVENT[answer];
  } else if (verb === "ship" && r.role === "lender") {
    if (answer !== undefined && !(SHIP_AS as readonly string[]).includes(answer))
      throw invalid(`answer: ship takes ${SHIP_AS.join(" or ")}, not "${answer}"`);
    event = shipEvent(r.serviceType, answer ?? "");
  } else {
    if (answer !== undefined) throw invalid(`answer: only respond and ship take an answer, not ${verb}`);
    const [only] = candidateEvents(r, verb);
    if (only === undefined) throw new Error(`no event for ${verb}`);
    event = only;
  }
  let reasonUnfilled: illPb.ReasonUnfilled | undefined;
  if (reason !== undefined) {
    if (!(verb === "respond" && answer === "no") && !(verb === "cancel" && r.role === "lender"))
      throw invalid(
        `reason: only respond no and a lender's cancel take a reason, not ${verbText(verb, answer)}`,
      );
    reasonUnfilled = parseReasonUnfilled(reason);
  }
  if (!hasRow(r.role, r.state, event)) {
    const now = allowedActions(r);
    throw refused(
      `ILL request ${r.id} in state ${r.state}: ${verbText(verb, answer)} refused: event ${event} is not allowed in state ${r.state}; allowed now: ${now.length > 0 ? now.join(", ") : "nothing"}`,
    );
  }
  return event === "respond_no" ? { verb, event, reasonUnfilled } : { verb, event };
}

/** "loan", "copy", "copy-or-loan": the service type as the CLI and StaffRequest.type name it. */
export function serviceTypeName(t: illPb.ServiceType): string {
  switch (t) {
    case ServiceType.LOAN:
      return "loan";
    case ServiceType.COPY:
      return "copy";
    case ServiceType.COPY_OR_LOAN:
      return "copy-or-loan";
    default:
      return "";
  }
}

/** The service type named by `serviceTypeName`, or undefined. */
export function parseServiceType(name: string): illPb.ServiceType | undefined {
  switch (name.trim().toLowerCase()) {
    case "loan":
      return ServiceType.LOAN;
    case "copy":
      return ServiceType.COPY;
    case "copy-or-loan":
      return ServiceType.COPY_OR_LOAN;
    default:
      return undefined;
  }
}

function toTimelineEntry(e: TimelineEntry): illServicePb.TimelineEntry {
  return create(illServicePb.TimelineEntrySchema, {
    seq: BigInt(e.seq),
    from: e.from ?? "",
    to: e.to,
    event: e.event,
    at: timestampFromDate(e.at),
    note: e.detail.note ?? "",
    effects: [...(e.detail.effects ?? [])],
    messageId: e.detail.messageId ?? "",
    sent: [...(e.detail.sent ?? [])],
    repeated: e.detail.repeated === true,
  });
}

function toMessageEntry(m: MessageLogEntry): illServicePb.MessageLogEntry {
  return create(illServicePb.MessageLogEntrySchema, {
    messageId: m.messageId,
    direction: m.direction,
    kind: m.kind,
    at: timestampFromDate(m.at),
    deliveredAt: m.deliveredAt ? timestampFromDate(m.deliveredAt) : undefined,
    confirmedAt: m.confirmedAt ? timestampFromDate(m.confirmedAt) : undefined,
    confirmation: m.confirmation ?? "",
  });
}

/** What a StaffRequest carries beyond the request itself (ShowRequest fills all three). */
export interface StaffRequestDetail {
  readonly timeline?: readonly TimelineEntry[];
  readonly messages?: readonly MessageLogEntry[];
  readonly timers?: readonly TimerInfo[];
  /** A copy request's file (document delivery). */
  readonly copy?: copyPb.CopyInfo | undefined;
  /** Lender side: this library's copies of the title (pull slips). */
  readonly shelfItems?: readonly ShelfItem[];
  /** The partner's name and postal address (labels). */
  readonly partner?: { name: string; postalAddress: string } | undefined;
}

/** A request as staff see it, with the verbs its state allows. */
export function toStaffRequest(r: IllRequest, detail: StaffRequestDetail = {}): illServicePb.StaffRequest {
  const bib = r.bibliographicInfo;
  return create(illServicePb.StaffRequestSchema, {
    id: r.id,
    role: r.role,
    status: r.state,
    type: serviceTypeName(r.serviceType),
    partner: r.partner ?? "",
    clusterId: r.clusterId ?? "",
    title: bib.title,
    author: bib.author,
    patronId: r.patronId ?? "",
    note: r.note,
    needBefore: r.needBefore ? timestampFromDate(r.needBefore) : undefined,
    dueDate: r.dueDate ? timestampFromDate(r.dueDate) : undefined,
    createdAt: timestampFromDate(r.createdAt),
    updatedAt: timestampFromDate(r.updatedAt),
    rota: r.rota.map((e) => rotaCandidateOf(e, true)),
    excluded: r.excluded.map((e) => rotaCandidateOf(e, false)),
    rotaPosition: r.rotaPosition,
    requestingAgencyRequestId: r.requestingAgencyRequestId ?? "",
    supplyingAgencyRequestId: r.supplyingAgencyRequestId ?? "",
    supplierStatus:
      r.supplierStatus === undefined ? "" : (ill.ISO18626_CODES.status.toXml(r.supplierStatus) ?? ""),
    renewalsUsed: r.renewalsUsed,
    maxRenewals: r.maxRenewals,
    duplicateOf: r.duplicateOf ?? "",
    attention: r.attention ?? "",
    actions: allowedActions(r),
    timeline: (detail.timeline ?? []).map(toTimelineEntry),
    shippedBarcode: detail.timeline?.findLast((e) => e.detail.itemBarcode)?.detail.itemBarcode ?? "",
    messages: (detail.messages ?? []).map(toMessageEntry),
    timers: (detail.timers ?? []).map((t) =>
      create(illServicePb.TimerEntrySchema, { kind: t.kind, dueAt: timestampFromDate(t.dueAt) }),
    ),
    ...(detail.copy ? { copy: detail.copy } : {}),
    bibliographicInfo: bib,
    shelfItems: (detail.shelfItems ?? []).map((i) => create(illServicePb.ShelfItemSchema, i)),
    partnerName: detail.partner?.name ?? "",
    partnerAddress: detail.partner?.postalAddress ?? "",
  });
}

/** The library's own use, when a request names no patron. */
export const LIBRARY_PATRON = "library";

/**
 * Checks a BorrowRequest: a service type, and something to find the title by (a cluster id, an
 * ISBN or ISSN, or a title). ISBNs become ISBN-13 and ISSNs "1234-5679"; a wrong check digit is
 * refused, as it is a typo that could name another book.
 */
export function validateBorrow(req: illServicePb.BorrowRequest, now: Date): BorrowInput {
  if (serviceTypeName(req.serviceType) === "")
    throw invalid("service_type: is required: loan, copy or copy-or-loan");
  const itemIds = req.itemIds.map((id, i) => {
    const code = id.bibliographicItemIdentifierCode.trim().toUpperCase();
    const value = id.bibliographicItemIdentifier.trim();
    if (code === "") throw invalid(`item_ids[${i}]: the identifier code (ISBN, ISSN, ...) is required`);
    if (value === "") throw invalid(`item_ids[${i}]: the ${code} is empty`);
    if (code === "ISBN") {
      const isbn = normalizeIsbn(value);
      if (isbn === undefined) throw invalid(`item_ids[${i}]: "${value}" is not a valid ISBN`);
      return { code, value: isbn };
    }
    if (code === "ISSN") {
      const issn = normalizeIssn(value);
      if (issn === undefined) throw invalid(`item_ids[${i}]: "${value}" is not a valid ISSN`);
      return { code, value: issn };
    }
    return { code, value };
  });
  const clusterId = req.clusterId.trim();
  const title = req.title.trim();
  const author = req.author.trim();
  if (clusterId === "" && title === "" && !itemIds.some((i) => i.code === "ISBN" || i.code === "ISSN"))
    throw invalid("cluster_id: a cluster id, an ISBN or ISSN (item_ids), or a title is required");
  const terms = borrowTerms(req, now);
  const article = articleOf(req);
  let needBefore: Date | undefined;
  if (req.needBefore) {
    needBefore = timestampDate(req.needBefore);
    if (Number.isNaN(needBefore.getTime())) throw invalid("need_before: is not a valid date");
    if (needBefore.getTime() <= now.getTime())
      throw invalid(`need_before: ${needBefore.toISOString()} is not in the future`);
  }
  return {
    patronId: req.patronId.trim() || LIBRARY_PATRON,
    serviceType: req.serviceType,
    ...(clusterId ? { clusterId } : {}),
    ...(itemIds.length > 0 ? { itemIds } : {}),
    ...(title ? { title } : {}),
    ...(author ? { author } : {}),
    ...(needBefore ? { needBefore } : {}),
    ...(req.note.trim() ? { note: req.note.trim() } : {}),
    ...terms,
    ...article,
  };
}

/** The longest a component field (an article's title, its authors) may be. */
const MAX_COMPONENT = 1000;

/**
 * The article or chapter of a copy request: its title and authors, volume, issue and pages
 * ("12-34", "5", "e1-e9", "12-15, 20"). They go with a copy (or copy-or-loan) request only.
 */
function articleOf(
  req: illServicePb.BorrowRequest,
): Pick<BorrowInput, "titleOfComponent" | "authorOfComponent" | "volume" | "issue" | "pages"> {
  const fields = {
    title_of_component: req.titleOfComponent.trim(),
    author_of_component: req.authorOfComponent.trim(),
    volume: req.volume.trim(),
    issue: req.issue.trim(),
    pages: req.pages.trim(),
  };
  const given = Object.entries(fields).filter(([, v]) => v !== "");
  if (given.length === 0) return {};
  if (req.serviceType === ServiceType.LOAN)
    throw invalid(`${given[0]![0]}: goes with a copy (or copy-or-loan) request, not a loan`);
  for (const [name, value] of given)
    if (value.length > MAX_COMPONENT) throw invalid(`${name}: longer than ${MAX_COMPONENT} characters`);
  if (fields.volume.length > 50) throw invalid("volume: longer than 50 characters");
  if (fields.issue.length > 50) throw invalid("issue: longer than 50 characters");
  const range = "[A-Za-z]{0,2}\\d{1,6}(?:\\s*[-–]\\s*[A-Za-z]{0,2}\\d{1,6})?";
  if (fields.pages !== "" && !new RegExp(`^${range}(?:\\s*,\\s*${range})*$`).test(fields.pages))
    throw invalid(`pages: "${fields.pages}" is not a page range such as 12-34, 5, e1-e9 or 12-15, 20`);
  return {
    ...(fields.title_of_component ? { titleOfComponent: fields.title_of_component } : {}),
    ...(fields.author_of_component ? { authorOfComponent: fields.author_of_component } : {}),
    ...(fields.volume ? { volume: fields.volume } : {}),
    ...(fields.issue ? { issue: fields.issue } : {}),
    ...(fields.pages ? { pages: fields.pages } : {}),
  };
}

/** ISO 18626 service levels, as ISO spells them. */
export const SERVICE_LEVELS = ["Normal", "Express", "Rush", "SecondaryMail", "Standard", "Urgent"] as const;

/**
 * The terms of a BorrowRequest: the service level (an ISO code, any case), the maximum cost (an
 * amount in an ISO 4217 currency), and for a copy its compliance statement and the article's
 * publication date (not in the future).
 */
function borrowTerms(
  req: illServicePb.BorrowRequest,
  now: Date,
): Pick<BorrowInput, "serviceLevel" | "maximumCost" | "copyrightCompliance" | "publicationDate"> {
  const out: {
    -readonly [K in
      | "serviceLevel"
      | "maximumCost"
      | "copyrightCompliance"
      | "publicationDate"]?: BorrowInput[K];
  } = {};
  const level = req.serviceLevel.trim();
  if (level !== "") {
    const iso = SERVICE_LEVELS.find((l) => l.toLowerCase() === level.toLowerCase());
    if (!iso) throw invalid(`service_level: "${level}" is not one of ${SERVICE_LEVELS.join(", ")}`);
    if (iso !== "Normal") out.serviceLevel = iso;
  }
  try {
    const max = moneyOfCosts(req.maximumCosts, "maximum_costs");
    if (max) out.maximumCost = max;
  } catch (err) {
    if (err instanceof MoneyError) throw invalid(err.message);
    throw err;
  }
  const compliance = req.copyrightCompliance.trim();
  if (compliance !== "") {
    if (req.serviceType === ServiceType.LOAN)
      throw invalid("copyright_compliance: goes with a copy request, not a loan");
    if (!/^[A-Za-z0-9][A-Za-z0-9:._ -]{0,63}$/.test(compliance))
      throw invalid(
        `copyright_compliance: "${compliance}" is not a compliance code (letters, digits and ":._-", at most 64, e.g. "US:CCG")`,
      );
    out.copyrightCompliance = compliance;
  }
  const published = req.publicationDate.trim();
  if (published !== "") {
    const p = parsePublicationDate(published);
    if (!p)
      throw invalid(`publication_date: "${published}" is not a year or a date (2024, 2024-05 or 2024-05-01)`);
    if (Date.UTC(p.year, p.month - 1, p.day) > now.getTime())
      throw invalid(`publication_date: ${published} is in the future`);
    out.publicationDate = published;
  }
  return out;
}

/** ListRequests without a limit answers this many; more than MAX_LIST is never answered at once. */
export const DEFAULT_LIST = 100;
export const MAX_LIST = 1000;

/** Where the next page of ListRequests begins: after this request (opaque to callers). */
function pageToken(r: IllRequest): string {
  return Buffer.from(JSON.stringify([r.createdAt.toISOString(), r.id])).toString("base64url");
}

function readPageToken(token: string): { createdAt: string; id: string } | undefined {
  if (token === "") return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && typeof v[1] === "string")
      return { createdAt: v[0], id: v[1] };
  } catch {
    // Not ours: said below.
  }
  throw invalid("page_token: not a token this node gave (use the next_page_token of the previous answer)");
}

/** The state names of a role's machine, or of both. */
function stateNames(role: IllRole | undefined): string[] {
  const names: string[] = [];
  if (role !== "lender") names.push(...ill.REQUESTER_STATES);
  if (role !== "borrower") names.push(...ill.SUPPLIER_STATES);
  return [...new Set(names)];
}

/**
 * IllStaffService over the member's ILL engine. The node's policy lets only its own certificate
 * call it. `now` is for the need-before and due-date checks.
 */
export function illStaffService(
  engine: IllStaffEngine,
  now: () => Date = () => new Date(),
  partnerOf: PartnerLookup = () => undefined,
): ServiceImpl<typeof illServicePb.IllStaffService> {
  const partner = (r: IllRequest) => (r.partner ? partnerOf(r.partner) : undefined);
  const full = async (r: IllRequest) =>
    toStaffRequest(r, {
      timeline: engine.store.timeline(r.id),
      messages: engine.messages(r.id),
      timers: engine.timers(r.id),
      copy: engine.copyInfo?.(r.id),
      partner: partner(r),
      ...(r.role === "lender" && engine.shelfItems ? { shelfItems: await engine.shelfItems(r) } : {}),
    });
  const mustGet = (id: string) => {
    const trimmed = id.trim();
    if (trimmed === "") throw invalid("id: is required");
    const r = engine.store.get(trimmed);
    if (!r) throw new IllNotFoundError(trimmed);
    return r;
  };

  return {
    borrow: mapErrors(async (req: illServicePb.BorrowRequest) => {
      const input = validateBorrow(req, now());
      const r = await engine.borrow(input);
      return create(illServicePb.BorrowResponseSchema, { request: await full(r) });
    }),

    listRequests: mapErrors((req: illServicePb.ListRequestsRequest) => {
      const role = req.role.trim().toLowerCase();
      if (role !== "" && role !== "borrower" && role !== "lender")
        throw invalid(`role: "${req.role}" is neither borrower nor lender`);
      const roleFilter = role === "" ? undefined : (role as IllRole);
      const status = req.status.trim().toLowerCase();
      const states = stateNames(roleFilter);
      if (status !== "" && !states.includes(status))
        throw invalid(
          `status: "${req.status}" is not a state${roleFilter ? ` of a ${roleFilter}'s request` : ""}; use one of ${states.join(", ")}`,
        );
      const limit = Math.min(req.limit || DEFAULT_LIST, MAX_LIST);
      // Staff look at the latest: newest first, a page at a time.
      const requests = engine.store.latest(
        { ...(roleFilter ? { role: roleFilter } : {}), ...(status ? { status } : {}) },
        { limit, before: readPageToken(req.pageToken) },
      );
      const last = requests.at(-1);
      return create(illServicePb.ListRequestsResponseSchema, {
        nextPageToken: requests.length === limit && last ? pageToken(last) : "",
        requests: requests.map((r) =>
          toStaffRequest(r, {
            timeline: engine.store.timeline(r.id),
            copy: engine.copyInfo?.(r.id),
            partner: partner(r),
          }),
        ),
      });
    }),

    showRequest: mapErrors(async (req: illServicePb.ShowRequestRequest) => {
      return create(illServicePb.ShowRequestResponseSchema, { request: await full(mustGet(req.id)) });
    }),

    act: mapErrors(async (req: illServicePb.ActRequest) => {
      const r = mustGet(req.id);
      const action = resolveAction(r, { verb: req.action, answer: req.answer, reason: req.reason });
      let dueDate: Date | undefined;
      if (req.dueDate) {
        if (!DUE_DATE_VERBS.includes(action.verb))
          throw invalid(`due_date: only ${DUE_DATE_VERBS.join(" and ")} take a due date, not ${action.verb}`);
        dueDate = timestampDate(req.dueDate);
        if (Number.isNaN(dueDate.getTime())) throw invalid("due_date: is not a valid date");
        if (dueDate.getTime() <= now().getTime())
          throw invalid(`due_date: ${dueDate.toISOString()} is not in the future`);
      }
      const note = req.note.trim();
      const itemBarcode = req.itemBarcode.trim();
      if (itemBarcode) {
        if (action.verb !== "ship" || action.event !== "ship")
          throw invalid(`item_barcode: only ship (a loan) names the copy sent, not ${action.verb}`);
        const copies = ((await engine.shelfItems?.(r)) ?? []).map((i) => i.barcode);
        if (!copies.includes(itemBarcode))
          throw invalid(
            `item_barcode: ${itemBarcode} is not a copy of this title in the catalog${copies.length > 0 ? ` (its copies: ${copies.slice(0, 10).join(", ")})` : ""}`,
          );
      }
      let after: IllRequest;
      try {
        after = await engine.act(r.id, action.event, {
          ...(note ? { note } : {}),
          ...(action.reasonUnfilled !== undefined ? { reasonUnfilled: action.reasonUnfilled } : {}),
          ...(dueDate ? { dueDate } : {}),
          ...(itemBarcode ? { itemBarcode } : {}),
        });
      } catch (err) {
        // The machine's refusal (a guard, or the state moved meanwhile), in the staff's words.
        if (err instanceof IllStateError)
          throw refused(
            `ILL request ${err.requestId} in state ${err.state}: ${verbText(action.verb, req.answer.trim().toLowerCase())} refused: ${err.reason}`,
          );
        throw err;
      }
      return create(illServicePb.ActResponseSchema, { request: await full(after) });
    }),

    setAutoResponder: mapErrors((req: illServicePb.SetAutoResponderRequest) => {
      const text = req.mode.trim().toLowerCase();
      // An empty mode asks for the current one.
      if (text !== "") {
        const mode = AUTO_RESPOND_MODES.find((m) => m === text);
        if (mode === undefined)
          throw invalid(`mode: "${req.mode}" is not one of ${AUTO_RESPOND_MODES.join(", ")}`);
        engine.setAutoResponder(mode);
      }
      return create(illServicePb.SetAutoResponderResponseSchema, { mode: engine.autoResponder() });
    }),
  };
}
