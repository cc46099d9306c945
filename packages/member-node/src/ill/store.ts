// The member's ILL requests: the requester machine for what it borrows, the supplier machine
// for what it lends. Each event is one transaction: the transition on the timeline, the
// request's new state, the message id marked seen and the messages the effects send, in the
// outbox. Nothing here touches the network; timers and notifications are named in the
// timeline's effects for the services to carry out, except the timers: the effects that start
// and stop them write the timer rows in the transition's own transaction, so a timer survives a
// restart and never outlives the state it belongs to.
import { randomUUID } from "node:crypto";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  costsOf,
  type Database,
  ill,
  illPb,
  normalizeIsbn,
  normalizeIssn,
  type Outbox,
  parseAmount,
  parseMoney,
} from "@lrs/shared";
import { IllInputError, IllNotFoundError, IllStateError } from "./errors.js";

/** Where ILL messages go: the parent (regional center) forwards them. */
export const ILL_DESTINATION = "parent";

/** Outbox kinds: the payload is the protobuf bytes of one ISO 18626 message, and the kind says which. */
export const ILL_KINDS = ill.ILL_KINDS;

export type IllRole = "borrower" | "lender";
export type IllState = ill.RequesterState | ill.SupplierState;
export type IllEvent = ill.RequesterEvent | ill.SupplierEvent;

/** One lender of the rota and why it is there. */
export interface RotaEntry {
  readonly agencyId: string;
  readonly reason: string;
  readonly region?: string;
  /** The lender's own record id for the title, sent to it in the Request. */
  readonly recordId?: string;
  readonly clusterId?: string;
  readonly responseTimeSeconds?: number;
  readonly availability?: string;
  readonly lent?: number;
  readonly borrowed?: number;
  /** What the lender charges for this request, from its fee schedule ("8.50" EUR); absent: no fees. */
  readonly charge?: { readonly currency: string; readonly amount: string };
}

/** An ILL request as one side sees it. */
export interface IllRequest {
  readonly id: string;
  readonly role: IllRole;
  readonly state: IllState;
  readonly serviceType: illPb.ServiceType;
  /** The current lender (borrower side) or the borrower (lender side). */
  readonly partner: string | undefined;
  readonly clusterId: string | undefined;
  readonly bibliographicInfo: illPb.BibliographicInfo;
  /** The borrowing member's opaque patron id (borrower side only). */
  readonly patronId: string | undefined;
  readonly needBefore: Date | undefined;
  readonly note: string;
  readonly rota: readonly RotaEntry[];
  /** Lenders the broker left out of the rota, and why. */
  readonly excluded: readonly RotaEntry[];
  /** Something staff should look at (an ERROR confirmation, a withdrawn request…). */
  readonly attention: string | undefined;
  /** Lender side: this member's own record id for the title, when the Request named it. */
  readonly recordId?: string | undefined;
  /** Index of the current lender in the rota; -1 before the request goes out. */
  readonly rotaPosition: number;
  readonly requestingAgencyRequestId: string | undefined;
  readonly supplyingAgencyRequestId: string | undefined;
  /** The current lender's latest status (borrower side). */
  readonly supplierStatus: illPb.Status | undefined;
  readonly dueDate: Date | undefined;
  readonly renewalsUsed: number;
  readonly maxRenewals: number;
  readonly duplicateOf: string | undefined;
  /** ISO 18626 service level asked for ("Rush"); "" for normal. */
  readonly serviceLevel: string;
  /** The most the borrower pays ("10.00 EUR"); undefined: no limit. */
  readonly maximumCost: string | undefined;
  /** A copy's compliance statement ("US:CCG"); "" for a loan. */
  readonly copyrightCompliance: string;
  /** When the article appeared ("2024", "2024-05-01"); "" when not known. */
  readonly publicationDate: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What a transition leaves on the timeline besides its states. */
export interface TransitionDetail {
  /** The arriving message that caused it. */
  readonly messageId?: string;
  readonly note?: string;
  readonly effects?: readonly string[];
  /** Ids of the messages it put in the outbox. */
  readonly sent?: readonly string[];
  readonly supplierStatus?: illPb.Status;
  /** A status message that only repeated the current status: recorded, not applied. */
  readonly repeated?: boolean;
}

export interface TimelineEntry {
  readonly seq: number;
  /** Undefined on the entry that created the request. */
  readonly from: IllState | undefined;
  readonly to: IllState;
  readonly event: string;
  readonly at: Date;
  readonly detail: TransitionDetail;
}

/** The result of an event: the request after it and the entry it made. */
export interface IllOutcome {
  readonly request: IllRequest;
  readonly entry: TimelineEntry;
  /** The message had been applied before: this is the earlier outcome, nothing was applied. */
  readonly replayed: boolean;
}

export interface BorrowingInput {
  readonly patronId: string;
  readonly serviceType: illPb.ServiceType;
  /** The union catalog's cluster id, when the request comes from a search. */
  readonly clusterId?: string;
  readonly bibliographicInfo?: MessageInitShape<typeof illPb.BibliographicInfoSchema>;
  readonly needBefore?: Date;
  readonly note?: string;
  /** ISO 18626 service level ("Rush"); default normal. */
  readonly serviceLevel?: string;
  /** The most it pays ("10.00 EUR"); default no limit. */
  readonly maximumCost?: string;
  /** For a copy: the compliance statement it carries. */
  readonly copyrightCompliance?: string;
  /** For a copy: when the article appeared. */
  readonly publicationDate?: string;
}

/** A transition as written, for what must change in its transaction (IllStoreOptions.onTransition). */
export interface TransitionChange {
  /** The request after the transition. */
  readonly request: IllRequest;
  readonly from: IllState;
  readonly to: IllState;
  readonly event: string;
  readonly entry: TimelineEntry;
}

/** What a staff or system action carries besides its name. */
export interface ActionDetail {
  readonly note?: string;
  /** For `send`: the rota the broker built … */
  readonly rota?: readonly RotaEntry[];
  /** … and the holders it left out. */
  readonly excluded?: readonly RotaEntry[];
  /** For `respond_no`. */
  readonly reasonUnfilled?: illPb.ReasonUnfilled;
  /** For `ship` and `approve_renew`: otherwise the loan period from now. */
  readonly dueDate?: Date;
}

export interface IllStoreOptions {
  readonly db: Database;
  /** The node's one outbox (its worker listens on it). */
  readonly outbox: Outbox;
  /** This member's institution id. */
  readonly agencyId: string;
  /** Scheme of agency ids in headers. Default "LRS". */
  readonly agencyIdType?: string;
  /** How far back an earlier request by the same patron for the same title is a duplicate. Default 30 days. */
  readonly duplicateWindowMs?: number;
  /** Loan period granted when lending or renewing without an explicit due date. Default 28 days. */
  readonly loanPeriodMs?: number;
  /** Renewals a lender grants per loan. Default 1. */
  readonly maxRenewals?: number;
  /** How long a lender waits for the borrower's answer to its conditions. Default 7 days. */
  readonly answerTimeoutMs?: number;
  /** How long to wait for a lender whose rota entry names no response time. Default 3 days. */
  readonly defaultResponseTimeMs?: number;
  readonly now?: () => Date;
  readonly newId?: () => string;
  /**
   * Why a borrowing request must wait for staff before it goes out, besides a duplicate: asked
   * when it is validated (the copyright rule); undefined lets it go.
   */
  readonly copyrightCheck?: (request: IllRequest, at: Date) => string | undefined;
  /**
   * Called inside the transaction of every transition once it is written, for what must change
   * with it (copyright counts, ledger postings); a throw rolls the transition back.
   */
  readonly onTransition?: ReadonlyArray<(change: TransitionChange) => void>;
}

const DAY_MS = 86_400_000;

/** The durable timers: what each fires is in {@link IllStore.fireTimer}. */
export type TimerKind = "response" | "due" | "answer" | "rota" | "copy_expiry";

export interface IllTimer {
  readonly requestId: string;
  readonly kind: TimerKind;
  readonly dueAt: Date;
  /** Rota retries so far (the `rota` timer's backoff). */
  readonly attempts: number;
}

/** What firing a timer did. */
export interface TimerFiring {
  readonly fired: boolean;
  /** The event it applied or tried to apply. */
  readonly event?: IllEvent;
  readonly entry?: TimelineEntry;
  /** Why nothing was applied (the event's refusal, or the timer was not due). */
  readonly reason?: string;
}

interface TimerRow {
  request_id: string;
  kind: TimerKind;
  due_at: string;
  attempts: number;
}

/** The stored row. */
interface Row {
  id: string;
  role: IllRole;
  state: string;
  service_type: number;
  partner: string | null;
  cluster_id: string | null;
  title_key: string;
  bibliographic_info: Uint8Array;
  patron_id: string | null;
  need_before: string | null;
  note: string;
  rota: string;
  excluded: string;
  attention: string | null;
  rota_position: number;
  requesting_agency_request_id: string | null;
  supplying_agency_request_id: string | null;
  supplier_status: number | null;
  due_date: string | null;
  renewals_used: number;
  max_renewals: number;
  state_before_cancel: string | null;
  duplicate_of: string | null;
  record_id: string | null;
  // Borrowing terms (migration 110); the defaults of the columns where a row does not set them.
  service_level?: string;
  maximum_cost?: string | null;
  copyright_compliance?: string;
  publication_date?: string;
  last_transition_at: string;
  created_at: string;
  updated_at: string;
}

interface TransitionRow {
  seq: number;
  request_id: string;
  from_state: string | null;
  to_state: string;
  event: string;
  at: string;
  detail: string;
}

/** A message the effects of one transition send. */
interface Outgoing {
  readonly kind: string;
  readonly messageId: string;
  readonly payload: Uint8Array;
}

/** A transition worked out and not yet written. */
interface Planned {
  readonly next: Row;
  readonly from: string;
  readonly to: string;
  readonly event: string;
  readonly at: Date;
  readonly detail: TransitionDetail;
  readonly outgoing: readonly Outgoing[];
  /** What staff should look at after it: a text, null to clear it, undefined to leave it. */
  readonly attention?: string | null;
}

/** The ISO requesting agency request id of a borrower's request at one position of its rota. */
export function isoRequestId(requestId: string, rotaPosition: number): string {
  return `${requestId}/${rotaPosition}`;
}

/** The borrower's request id in an ISO requesting agency request id (see isoRequestId). */
export function requestIdOfIso(isoId: string): string {
  const slash = isoId.lastIndexOf("/");
  return slash < 0 ? isoId : isoId.slice(0, slash);
}

/** The member's ILL requests, both roles, over its database. */
export class IllStore {
  readonly #db: Database;
  readonly #outbox: Outbox;
  readonly #agencyId: string;
  readonly #agencyIdType: string;
  readonly #duplicateWindowMs: number;
  readonly #loanPeriodMs: number;
  readonly #maxRenewals: number;
  readonly #answerTimeoutMs: number;
  readonly #defaultResponseTimeMs: number;
  readonly #now: () => Date;
  readonly #newId: () => string;
  readonly #copyrightCheck: IllStoreOptions["copyrightCheck"];
  readonly #onTransition: NonNullable<IllStoreOptions["onTransition"]>;

  constructor(opts: IllStoreOptions) {
    this.#db = opts.db;
    this.#outbox = opts.outbox;
    this.#agencyId = opts.agencyId;
    this.#agencyIdType = opts.agencyIdType ?? "LRS";
    this.#duplicateWindowMs = opts.duplicateWindowMs ?? 30 * DAY_MS;
    this.#loanPeriodMs = opts.loanPeriodMs ?? 28 * DAY_MS;
    this.#maxRenewals = opts.maxRenewals ?? 1;
    this.#answerTimeoutMs = opts.answerTimeoutMs ?? 7 * DAY_MS;
    this.#defaultResponseTimeMs = opts.defaultResponseTimeMs ?? 3 * DAY_MS;
    this.#now = opts.now ?? (() => new Date());
    this.#newId = opts.newId ?? randomUUID;
    this.#copyrightCheck = opts.copyrightCheck;
    this.#onTransition = opts.onTransition ?? [];
  }

  /** The database the requests live in, for callers that join its transactions. */
  get database(): Database {
    return this.#db;
  }

  /**
   * Enters a borrowing request and validates it: `validated`, or `review` when the same patron
   * asked for the same cluster or title within the duplicate window.
   */
  createBorrowing(input: BorrowingInput): IllRequest {
    const patronId = input.patronId.trim();
    if (patronId === "") throw new IllInputError("patronId", "is required");
    if (!isServiceType(input.serviceType))
      throw new IllInputError("serviceType", "must be loan, copy or copy-or-loan");
    const clusterId = input.clusterId?.trim() || undefined;
    const bib = create(illPb.BibliographicInfoSchema, input.bibliographicInfo ?? {});
    if (clusterId !== undefined && bib.supplierUniqueRecordId === "") bib.supplierUniqueRecordId = clusterId;
    // Without a title, the identifiers stand for it in the duplicate check. An article is its own
    // title: two articles of one journal are not duplicates (nor is the journal's cluster shared).
    const component = [bib.titleOfComponent, bib.volume.join(" "), bib.issue, bib.pagesRequested]
      .map(normaliseTitle)
      .filter(Boolean)
      .join(" / ");
    const titleKey = [normaliseTitle(bib.title) || identifiersKey(bib), component]
      .filter(Boolean)
      .join(" / ");
    if (clusterId === undefined && titleKey === "")
      throw new IllInputError(
        "bibliographicInfo",
        "a cluster id, a title or an identifier (ISBN, ISSN) is required",
      );
    if (input.needBefore !== undefined && Number.isNaN(input.needBefore.getTime()))
      throw new IllInputError("needBefore", "is not a valid date");
    if (input.maximumCost?.trim()) {
      try {
        parseMoney(input.maximumCost);
      } catch (err) {
        throw new IllInputError("maximumCost", (err as Error).message);
      }
    }
    const now = this.#now();
    const id = this.#newId();
    return this.#db.transaction(() => {
      const duplicateOf = this.#findDuplicate(patronId, component ? undefined : clusterId, titleKey, now);
      const row: Row = {
        id,
        role: "borrower",
        state: ill.requesterMachine.initial,
        service_type: input.serviceType,
        partner: null,
        cluster_id: clusterId ?? null,
        title_key: titleKey,
        bibliographic_info: toBinary(illPb.BibliographicInfoSchema, bib),
        patron_id: patronId,
        need_before: input.needBefore?.toISOString() ?? null,
        note: input.note ?? "",
        rota: "[]",
        excluded: "[]",
        attention: null,
        rota_position: -1,
        requesting_agency_request_id: null,
        supplying_agency_request_id: null,
        supplier_status: null,
        due_date: null,
        renewals_used: 0,
        max_renewals: 0,
        state_before_cancel: null,
        duplicate_of: duplicateOf ?? null,
        record_id: null,
        service_level: input.serviceLevel?.trim() ?? "",
        maximum_cost: input.maximumCost?.trim() || null,
        copyright_compliance: input.copyrightCompliance?.trim() ?? "",
        publication_date: input.publicationDate?.trim() ?? "",
        last_transition_at: now.toISOString(),
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
      };
      this.#insert(row);
      this.#record(id, undefined, row.state, "created", now, {});
      const plan = this.#planRequester(row, "validate", now, {});
      if ("refused" in plan) throw new IllStateError(id, row.state, "validate", plan.refused);
      this.#commit(plan);
      return this.#mustGet(id);
    });
  }

  /**
   * A Request arriving at this member as a lender: creates the request in the supplier
   * machine's initial state. Idempotent by message id and by the borrower's request id.
   */
  receiveRequest(msg: illPb.Request, messageId: string): IllOutcome {
    const header = msg.header;
    const borrower = header?.requestingAgencyId?.agencyIdValue ?? "";
    const isoId = header?.requestingAgencyRequestId ?? "";
    if (messageId === "") throw new IllInputError("header.messageId", "is required");
    if (borrower === "") throw new IllInputError("header.requestingAgencyId", "is required");
    if (isoId === "") throw new IllInputError("header.requestingAgencyRequestId", "is required");
    const supplier = header?.supplyingAgencyId?.agencyIdValue ?? "";
    if (supplier !== "" && supplier !== this.#agencyId)
      throw new IllInputError("header.supplyingAgencyId", `names ${supplier}, not this member`);
    const requestType = msg.serviceInfo?.requestType ?? illPb.RequestType.UNSPECIFIED;
    if (requestType !== illPb.RequestType.NEW && requestType !== illPb.RequestType.UNSPECIFIED)
      throw new IllInputError("serviceInfo.requestType", "only a new request creates a request");
    const serviceType = msg.serviceInfo?.serviceType ?? illPb.ServiceType.UNSPECIFIED;
    if (!isServiceType(serviceType)) throw new IllInputError("serviceInfo.serviceType", "is required");
    const bib = msg.bibliographicInfo ?? create(illPb.BibliographicInfoSchema);
    const now = this.#now();
    return this.#db.transaction(() => {
      const replay = this.#replay(messageId);
      if (replay) return replay;
      const existing = this.#db.sqlite
        .prepare(
          "SELECT id FROM ill_requests WHERE role = 'lender' AND partner = ? AND requesting_agency_request_id = ?",
        )
        .get(borrower, isoId) as { id: string } | undefined;
      if (existing) {
        const first = this.#timelineRows(existing.id)[0];
        if (!first) throw new IllNotFoundError(existing.id);
        this.#markSeen(messageId, existing.id, first.seq, now);
        return { request: this.#mustGet(existing.id), entry: toEntry(first), replayed: true };
      }
      const id = this.#newId();
      const needBefore = msg.serviceInfo?.needBeforeDate;
      const row: Row = {
        id,
        role: "lender",
        state: ill.supplierMachine.initial,
        service_type: serviceType,
        partner: borrower,
        cluster_id: bib.supplierUniqueRecordId || null,
        title_key: normaliseTitle(bib.title),
        bibliographic_info: toBinary(illPb.BibliographicInfoSchema, bib),
        // The borrower's patron id means nothing here and is not kept.
        patron_id: null,
        need_before: needBefore ? timestampDate(needBefore).toISOString() : null,
        note: msg.serviceInfo?.note ?? "",
        rota: "[]",
        excluded: "[]",
        attention: null,
        rota_position: -1,
        requesting_agency_request_id: isoId,
        supplying_agency_request_id: id,
        supplier_status: null,
        due_date: null,
        renewals_used: 0,
        max_renewals: this.#maxRenewals,
        state_before_cancel: null,
        duplicate_of: null,
        record_id: ownRecordId(msg, this.#agencyId) ?? null,
        last_transition_at: now.toISOString(),
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
      };
      this.#insert(row);
      const entry = this.#record(id, undefined, row.state, "created", now, { messageId });
      this.#markSeen(messageId, id, entry.seq, now);
      return { request: this.#mustGet(id), entry, replayed: false };
    });
  }

  /**
   * Applies an arriving message: a SupplyingAgencyMessage at the borrower, a
   * RequestingAgencyMessage (or a Retry Request) at a lender. `event` is what the message is
   * for the machine (`ill.requesterEventOf`, `ill.supplierEventOf`, `ill.supplierEventOfRequest`).
   * A message id seen before returns the earlier outcome; a message that does not fit the
   * state, or comes from a lender no longer asked, throws IllStateError and changes nothing.
   */
  applyIncoming(
    requestId: string,
    event: IllEvent,
    message: illPb.SupplyingAgencyMessage | illPb.RequestingAgencyMessage | illPb.Request,
    messageId: string,
  ): IllOutcome {
    if (messageId === "") throw new IllInputError("header.messageId", "is required");
    const now = this.#now();
    return this.#db.transaction(() => {
      const replay = this.#replay(messageId);
      if (replay) return replay;
      const row = this.#row(requestId);
      const refuse = (reason: string) => new IllStateError(requestId, row.state, event, reason);
      const isoId = message.header?.requestingAgencyRequestId ?? "";
      if (isoId !== "" && isoId !== row.requesting_agency_request_id)
        throw refuse(
          `the message is for ${isoId}, the request is now ${row.requesting_agency_request_id ?? "unsent"}`,
        );
      let plan: Planned | { refused: string };
      if (row.role === "borrower") {
        if (message.$typeName !== "lrs.v1.SupplyingAgencyMessage")
          throw refuse(`a borrower takes a SupplyingAgencyMessage, not ${message.$typeName}`);
        if (!isRequesterEvent(event) || ill.requesterMachine.events[event].source !== "message")
          throw refuse(`${event} is not a lender's message`);
        plan = this.#planRequester(row, event, now, { messageId, note: message.messageInfo?.note }, message);
      } else {
        if (message.$typeName === "lrs.v1.SupplyingAgencyMessage")
          throw refuse("a lender does not take a SupplyingAgencyMessage");
        if (!isSupplierEvent(event) || ill.supplierMachine.events[event].source !== "message")
          throw refuse(`${event} is not a borrower's message`);
        const note =
          message.$typeName === "lrs.v1.RequestingAgencyMessage" ? message.note : message.serviceInfo?.note;
        plan = this.#planSupplier(row, event, now, { messageId, note: note || undefined }, {});
      }
      if ("refused" in plan) throw refuse(plan.refused);
      const entry = this.#commit(plan);
      this.#markSeen(messageId, requestId, entry.seq, now);
      return { request: this.#mustGet(requestId), entry, replayed: false };
    });
  }

  /** Applies a staff or system action (`send`, `cancel`, `respond_yes`, `ship`, …). */
  applyAction(requestId: string, action: IllEvent, detail: ActionDetail = {}): IllOutcome {
    const now = this.#now();
    return this.#db.transaction(() => {
      const row = this.#row(requestId);
      const refuse = (reason: string) => new IllStateError(requestId, row.state, action, reason);
      let plan: Planned | { refused: string };
      const base = detail.note ? { note: detail.note } : {};
      if (row.role === "borrower") {
        if (!isRequesterEvent(action) || ill.requesterMachine.events[action].source === "message")
          throw refuse(`${action} is not a borrower's action`);
        if ((detail.rota !== undefined || detail.excluded !== undefined) && action !== "send")
          throw refuse("a rota goes with send only");
        const withRota: Row = {
          ...row,
          ...(detail.rota ? { rota: JSON.stringify(validRota(detail.rota, "rota")) } : {}),
          ...(detail.excluded ? { excluded: JSON.stringify(validRota(detail.excluded, "excluded")) } : {}),
        };
        plan = this.#planRequester(withRota, action, now, base);
      } else {
        if (!isSupplierEvent(action) || ill.supplierMachine.events[action].source === "message")
          throw refuse(`${action} is not a lender's action`);
        plan = this.#planSupplier(row, action, now, base, detail);
      }
      if ("refused" in plan) throw refuse(plan.refused);
      const entry = this.#commit(plan);
      return { request: this.#mustGet(requestId), entry, replayed: false };
    });
  }

  get(id: string): IllRequest | undefined {
    const row = this.#db.sqlite.prepare("SELECT * FROM ill_requests WHERE id = ?").get(id) as Row | undefined;
    return row ? toRequest(row) : undefined;
  }

  /** The borrower's or a lender's request by the ISO requesting agency request id. */
  findByRequestingAgencyRequestId(role: IllRole, isoId: string, partner?: string): IllRequest | undefined {
    const row = this.#db.sqlite
      .prepare(
        `SELECT * FROM ill_requests WHERE role = ? AND requesting_agency_request_id = ?
         AND (? IS NULL OR partner = ?) ORDER BY rowid LIMIT 1`,
      )
      .get(role, isoId, partner ?? null, partner ?? null) as Row | undefined;
    return row ? toRequest(row) : undefined;
  }

  /** Requests, oldest first, by role and state. */
  list(filter: { role?: IllRole; status?: string } = {}): IllRequest[] {
    const rows = this.#db.sqlite
      .prepare(
        `SELECT * FROM ill_requests WHERE (? IS NULL OR role = ?) AND (? IS NULL OR state = ?)
         ORDER BY created_at, rowid`,
      )
      .all(filter.role ?? null, filter.role ?? null, filter.status ?? null, filter.status ?? null) as Row[];
    return rows.map(toRequest);
  }

  /** Pending timers of a request, soonest first. */
  timers(id: string): IllTimer[] {
    const rows = this.#db.sqlite
      .prepare("SELECT * FROM ill_timers WHERE request_id = ? ORDER BY due_at, kind")
      .all(id) as TimerRow[];
    return rows.map(toTimer);
  }

  /** Timers due before `now` (all requests), soonest first. */
  dueTimers(now: Date = this.#now(), limit = 100): IllTimer[] {
    const rows = this.#db.sqlite
      .prepare("SELECT * FROM ill_timers WHERE due_at < ? ORDER BY due_at LIMIT ?")
      .all(now.toISOString(), limit) as TimerRow[];
    return rows.map(toTimer);
  }

  /**
   * Schedules (or reschedules) the retry of a borrowing request's rota, with the note why on
   * its timeline. Only a validated request waits for its rota.
   */
  /**
   * What the broker resolved a borrowing request to, before it goes out: the cluster and, where
   * the request lacked them (made by ISBN or ISSN), the title and author, so that lenders and
   * staff see what is asked for. Only in state validated; nothing else changes.
   */
  resolveTitle(requestId: string, clusterId: string, found: { title: string; author: string }): void {
    this.#db.transaction(() => {
      const row = this.#row(requestId);
      if (row.role !== "borrower" || row.state !== "validated") return;
      const bib = fromBib(row.bibliographic_info);
      if (bib.supplierUniqueRecordId === "") bib.supplierUniqueRecordId = clusterId;
      if (bib.title === "") bib.title = found.title;
      if (bib.author === "") bib.author = found.author;
      this.#db.sqlite
        .prepare(
          "UPDATE ill_requests SET cluster_id = coalesce(cluster_id, ?), bibliographic_info = ?, title_key = CASE WHEN title_key = '' THEN ? ELSE title_key END WHERE id = ?",
        )
        .run(clusterId, toBinary(illPb.BibliographicInfoSchema, bib), normaliseTitle(bib.title), requestId);
    });
  }

  /**
   * Sets when a borrowing request's delivered copy is deleted (document delivery); an earlier
   * copy_expiry timer of the request is replaced. Call inside the transaction that stores the copy.
   */
  scheduleCopyExpiry(requestId: string, dueAt: Date): void {
    this.#row(requestId);
    this.#setTimer(requestId, "copy_expiry", dueAt);
  }

  scheduleRotaRetry(requestId: string, dueAt: Date, attempts: number, note: string): void {
    const now = this.#now();
    this.#db.transaction(() => {
      const row = this.#row(requestId);
      if (row.role !== "borrower" || row.state !== "validated")
        throw new IllStateError(
          requestId,
          row.state,
          "rota_retry",
          "only a validated request waits for its rota",
        );
      this.#setTimer(requestId, "rota", dueAt, attempts);
      this.#record(requestId, row.state, row.state, "rota_retry", later(now, row.last_transition_at), {
        note,
      });
    });
  }

  /** Makes a pending timer due now (it fires on the runner's next turn); false when there is none. */
  expediteTimer(requestId: string, kind: TimerKind): boolean {
    const now = this.#now().toISOString();
    const info = this.#db.sqlite
      .prepare("UPDATE ill_timers SET due_at = ? WHERE request_id = ? AND kind = ? AND due_at > ?")
      .run(now, requestId, kind, now);
    return info.changes > 0;
  }

  /** Drops a timer without firing it. */
  cancelTimer(requestId: string, kind: TimerKind): void {
    this.#deleteTimer(requestId, kind);
  }

  /**
   * Fires one due timer in one transaction: the timer is deleted and its event applied
   * (`response` → supplier_timeout, lender `due` → mark_overdue, `answer` → answer_timeout;
   * a borrower's `due` only leaves a note for staff). A refusal of the event drops the timer
   * all the same and is returned. The `rota` timer is the engine's: this refuses it.
   */
  fireTimer(requestId: string, kind: TimerKind): TimerFiring {
    const now = this.#now();
    return this.#db.transaction((): TimerFiring => {
      const timer = this.#db.sqlite
        .prepare("SELECT * FROM ill_timers WHERE request_id = ? AND kind = ?")
        .get(requestId, kind) as TimerRow | undefined;
      if (!timer || timer.due_at >= now.toISOString()) return { fired: false, reason: "not due" };
      if (kind === "rota") return { fired: false, reason: "the rota timer is retried by the engine" };
      this.#deleteTimer(requestId, kind);
      const row = this.#row(requestId);
      const note = `the ${kind} timer fired (due ${timer.due_at})`;
      if (row.role === "borrower" && kind === "due") {
        if (!["shipped", "received", "renew_pending", "overdue", "recalled"].includes(row.state))
          return { fired: false, reason: `nothing is due in state ${row.state}` };
        const text = `the due date ${timer.due_at.slice(0, 10)} has passed: return the item or ask for a renewal`;
        this.#setAttentionRow(row, text, now);
        const entry = this.#record(
          requestId,
          row.state,
          row.state,
          "due_date_passed",
          later(now, row.last_transition_at),
          {
            note: text,
          },
        );
        return { fired: true, entry };
      }
      const event = timerEvent(row.role, kind);
      if (!event) return { fired: false, reason: `no ${kind} timer for a ${row.role}` };
      try {
        const outcome = this.applyAction(requestId, event, { note });
        return { fired: true, event, entry: outcome.entry };
      } catch (err) {
        if (err instanceof IllStateError) return { fired: false, event, reason: err.reason };
        throw err;
      }
    });
  }

  /**
   * Leaves a note on a request's timeline without a transition (an automatic action's
   * reason, a retry); `attention` also sets what staff should look at.
   */
  note(requestId: string, event: string, note: string, opts: { attention?: string } = {}): TimelineEntry {
    const now = this.#now();
    return this.#db.transaction(() => {
      const row = this.#row(requestId);
      if (opts.attention !== undefined) this.#setAttentionRow(row, opts.attention, now);
      return this.#record(requestId, row.state, row.state, event, later(now, row.last_transition_at), {
        note,
      });
    });
  }

  /** Sets (or, with undefined, clears) what staff should look at. */
  setAttention(requestId: string, text: string | undefined): void {
    this.#setAttentionRow(this.#row(requestId), text, this.#now());
  }

  #setAttentionRow(row: Row, text: string | undefined, at: Date): void {
    this.#db.sqlite
      .prepare("UPDATE ill_requests SET attention = ?, updated_at = ? WHERE id = ?")
      .run(text ?? null, at.toISOString(), row.id);
  }

  /** A node setting (node_meta), e.g. the automatic responder's mode. */
  setting(key: string): string | undefined {
    const row = this.#db.sqlite.prepare("SELECT value FROM node_meta WHERE key = ?").get(key) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  setSetting(key: string, value: string): void {
    this.#db.sqlite
      .prepare(
        "INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      )
      .run(key, value);
  }

  /** Every transition of a request, in order. */
  timeline(id: string): TimelineEntry[] {
    this.#row(id);
    return this.#timelineRows(id).map(toEntry);
  }

  #planRequester(
    row: Row,
    event: ill.RequesterEvent,
    at: Date,
    detail: TransitionDetail,
    msg?: illPb.SupplyingAgencyMessage,
  ): Planned | { refused: string } {
    const state = row.state as ill.RequesterState;
    const rota = parseRota(row.rota);
    const incomingStatus = msg?.statusInfo?.status;
    const supplierStatus =
      incomingStatus !== undefined && incomingStatus !== illPb.Status.UNSPECIFIED
        ? incomingStatus
        : (row.supplier_status ?? undefined);
    const next: Row = { ...row, supplier_status: supplierStatus ?? null, updated_at: at.toISOString() };
    if (msg?.header?.supplyingAgencyRequestId)
      next.supplying_agency_request_id = msg.header.supplyingAgencyRequestId;
    const withStatus: TransitionDetail =
      supplierStatus !== undefined && msg ? { ...detail, supplierStatus } : detail;
    // A status the current state already stands for (e.g. a StatusRequestResponse) is
    // recorded, not applied.
    if (msg && ill.repeatsRequesterStatus(state, msg)) {
      const stamped = later(at, row.last_transition_at);
      return {
        next: { ...next, last_transition_at: stamped.toISOString() },
        from: state,
        to: state,
        event,
        at: stamped,
        detail: { ...withStatus, repeated: true },
        outgoing: [],
      };
    }
    const overCopyrightLimit = event === "validate" ? this.#copyrightCheck?.(toRequest(row), at) : undefined;
    const ctx: ill.RequesterContext = {
      lendersLeft: rota.length - (row.rota_position + 1),
      serviceType: row.service_type,
      duplicateOf: row.duplicate_of ?? undefined,
      overCopyrightLimit,
      supplierId: rota[row.rota_position]?.agencyId,
      supplierStatus,
      lastTransitionAt: new Date(row.last_transition_at),
    };
    const result = ill.transition(ill.requesterMachine, state, event, ctx, at);
    if (ill.isRefused(result)) return result;
    const outgoing: Outgoing[] = [];
    for (const effect of result.effects) {
      if (effect === "send_request_to_next_lender") {
        const position = next.rota_position + 1;
        const lender = rota[position];
        if (!lender) return { refused: "the rota has no lender left" };
        next.rota_position = position;
        next.partner = lender.agencyId;
        next.requesting_agency_request_id = isoRequestId(row.id, position);
        next.supplying_agency_request_id = null;
        next.supplier_status = null;
        next.due_date = null;
        outgoing.push(this.#request(next, illPb.RequestType.NEW));
      } else if (effect === "record_due_date" || effect === "update_due_date") {
        const due = msg?.statusInfo?.dueDate;
        next.due_date = due ? timestampDate(due).toISOString() : next.due_date;
      } else {
        const wire = ill.REQUESTER_MESSAGES[effect];
        if (wire?.requestType !== undefined) outgoing.push(this.#request(next, wire.requestType));
        else if (wire?.action !== undefined)
          outgoing.push(this.#requestingMessage(next, wire.action, detail.note));
      }
    }
    next.state = result.to;
    next.last_transition_at = result.record.at.toISOString();
    // Over the copyright rule: staff see why, on the timeline and as what to look at; letting it
    // go (approve) clears that.
    // A duplicate that is also over the rule goes to review as a duplicate: say the copyright
    // reason too, so that staff approving it know they approve both.
    const copyright =
      result.effects.includes("notify_staff_copyright") || (result.to === "review" && event === "validate")
        ? overCopyrightLimit
        : undefined;
    const attention =
      copyright !== undefined
        ? `copyright: ${copyright} (approve to send it all the same, or cancel)`
        : event === "approve" && row.attention?.startsWith("copyright: ")
          ? null
          : undefined;
    return {
      next,
      from: state,
      to: result.to,
      event,
      at: result.record.at,
      detail: {
        ...withStatus,
        ...(copyright !== undefined ? { note: [withStatus.note, copyright].filter(Boolean).join("; ") } : {}),
        effects: result.effects,
        sent: outgoing.map((m) => m.messageId),
      },
      outgoing,
      ...(attention !== undefined ? { attention } : {}),
    };
  }

  #planSupplier(
    row: Row,
    event: ill.SupplierEvent,
    at: Date,
    detail: TransitionDetail,
    action: ActionDetail,
  ): Planned | { refused: string } {
    const state = row.state as ill.SupplierState;
    const ctx: ill.SupplierContext = {
      serviceType: row.service_type,
      dueDate: row.due_date ? new Date(row.due_date) : undefined,
      renewalsUsed: row.renewals_used,
      maxRenewals: row.max_renewals,
      stateBeforeCancel: (row.state_before_cancel ?? undefined) as ill.SupplierState | undefined,
      lastTransitionAt: new Date(row.last_transition_at),
    };
    const result = ill.transition(ill.supplierMachine, state, event, ctx, at);
    if (ill.isRefused(result)) return result;
    const stamped = result.record.at;
    const next: Row = {
      ...row,
      state: result.to,
      last_transition_at: stamped.toISOString(),
      updated_at: at.toISOString(),
    };
    if (action.dueDate !== undefined && Number.isNaN(action.dueDate.getTime()))
      return { refused: "the due date is not a valid date" };
    // State first: the messages carry the due date the effects set.
    for (const effect of result.effects) {
      if (effect === "check_out_item") {
        next.due_date = (action.dueDate ?? new Date(stamped.getTime() + this.#loanPeriodMs)).toISOString();
      } else if (effect === "update_due_date") {
        const from = Math.max(stamped.getTime(), row.due_date ? Date.parse(row.due_date) : 0);
        next.renewals_used = row.renewals_used + 1;
        next.due_date = (action.dueDate ?? new Date(from + this.#loanPeriodMs)).toISOString();
      }
    }
    if (result.to === "cancel_requested" && state !== "cancel_requested") next.state_before_cancel = state;
    const outgoing: Outgoing[] = [];
    for (const effect of result.effects) {
      if (effect === "send_status") {
        outgoing.push(
          this.#supplyingMessage(next, {
            status: ill.supplierMachine.states[result.to].iso ?? illPb.Status.UNSPECIFIED,
            reasonForMessage: illPb.ReasonForMessage.STATUS_REQUEST_RESPONSE,
          }),
        );
        continue;
      }
      const wire = ill.SUPPLIER_MESSAGES[effect];
      if (!wire) continue;
      outgoing.push(
        this.#supplyingMessage(next, {
          status: wire.status ?? ill.supplierMachine.states[result.to].iso ?? illPb.Status.UNSPECIFIED,
          reasonForMessage:
            wire.reasonForMessage ??
            (state === "new"
              ? illPb.ReasonForMessage.REQUEST_RESPONSE
              : illPb.ReasonForMessage.STATUS_CHANGE),
          answerYesNo: wire.answerYesNo,
          reasonRetry: wire.reasonRetry,
          reasonUnfilled: effect === "send_unfilled" ? action.reasonUnfilled : undefined,
          note: action.note,
        }),
      );
    }
    return {
      next,
      from: state,
      to: result.to,
      event,
      at: stamped,
      detail: { ...detail, effects: result.effects, sent: outgoing.map((m) => m.messageId) },
      outgoing,
    };
  }

  #header(row: Row, messageId: string): illPb.Header {
    const me = create(illPb.AgencyIdSchema, {
      agencyIdType: this.#agencyIdType,
      agencyIdValue: this.#agencyId,
    });
    const partner = create(illPb.AgencyIdSchema, {
      agencyIdType: this.#agencyIdType,
      agencyIdValue: row.partner ?? "",
    });
    return create(illPb.HeaderSchema, {
      requestingAgencyId: row.role === "borrower" ? me : partner,
      supplyingAgencyId: row.role === "borrower" ? partner : me,
      timestamp: timestampFromDate(this.#now()),
      requestingAgencyRequestId: row.requesting_agency_request_id ?? "",
      supplyingAgencyRequestId: row.supplying_agency_request_id ?? "",
      messageId,
    });
  }

  #request(row: Row, requestType: illPb.RequestType): Outgoing {
    const messageId = this.#newId();
    const lender = parseRota(row.rota)[row.rota_position];
    const bib = fromBib(row.bibliographic_info);
    // The lender's cluster may be another catalog's (a national cluster for another region).
    if (lender?.clusterId) bib.supplierUniqueRecordId = lender.clusterId;
    const msg = create(illPb.RequestSchema, {
      header: this.#header(row, messageId),
      bibliographicInfo: bib,
      // The lender's own record id, so that it finds its item without searching.
      supplierInfo: lender?.recordId
        ? [
            {
              sortOrder: 1,
              supplierCode: { agencyIdType: this.#agencyIdType, agencyIdValue: lender.agencyId },
              bibliographicRecordId: {
                bibliographicRecordIdentifierCode: this.#agencyIdType,
                bibliographicRecordIdentifier: lender.recordId,
              },
            },
          ]
        : [],
      serviceInfo: {
        requestType,
        serviceType: row.service_type,
        needBeforeDate: row.need_before ? timestampFromDate(new Date(row.need_before)) : undefined,
        requestingAgencyPreviousRequestId:
          requestType === illPb.RequestType.RETRY ? (row.requesting_agency_request_id ?? "") : "",
        note: row.note,
        serviceLevel: row.service_level ?? "",
        copyrightCompliance: row.copyright_compliance ?? "",
      },
      patronInfo: row.patron_id ? { patronId: row.patron_id } : undefined,
      ...(row.publication_date ? { publicationInfo: { publicationDate: row.publication_date } } : {}),
      // The borrower's maximum, as ISO 18626 carries it: the lender sees what it may charge.
      ...(row.maximum_cost ? { billingInfo: { maximumCosts: costsOf(parseMoney(row.maximum_cost)) } } : {}),
    });
    return { kind: ILL_KINDS.request, messageId, payload: toBinary(illPb.RequestSchema, msg) };
  }

  #requestingMessage(row: Row, action: illPb.Action, note: string | undefined): Outgoing {
    const messageId = this.#newId();
    const msg = create(illPb.RequestingAgencyMessageSchema, {
      header: this.#header(row, messageId),
      action,
      note: note ?? "",
    });
    return {
      kind: ILL_KINDS.requestingAgencyMessage,
      messageId,
      payload: toBinary(illPb.RequestingAgencyMessageSchema, msg),
    };
  }

  #supplyingMessage(
    row: Row,
    info: {
      status: illPb.Status;
      reasonForMessage: illPb.ReasonForMessage;
      answerYesNo?: illPb.YesNo | undefined;
      reasonRetry?: illPb.ReasonRetry | undefined;
      reasonUnfilled?: illPb.ReasonUnfilled | undefined;
      note?: string | undefined;
    },
  ): Outgoing {
    const messageId = this.#newId();
    const msg = create(illPb.SupplyingAgencyMessageSchema, {
      header: this.#header(row, messageId),
      messageInfo: {
        reasonForMessage: info.reasonForMessage,
        answerYesNo: info.answerYesNo ?? illPb.YesNo.UNSPECIFIED,
        reasonRetry: info.reasonRetry ?? illPb.ReasonRetry.UNSPECIFIED,
        reasonUnfilled: info.reasonUnfilled ?? illPb.ReasonUnfilled.UNSPECIFIED,
        note: info.note ?? "",
      },
      statusInfo: {
        status: info.status,
        dueDate: row.due_date ? timestampFromDate(new Date(row.due_date)) : undefined,
        lastChange: timestampFromDate(new Date(row.last_transition_at)),
      },
    });
    return {
      kind: ILL_KINDS.supplyingAgencyMessage,
      messageId,
      payload: toBinary(illPb.SupplyingAgencyMessageSchema, msg),
    };
  }

  /** Writes a planned transition. Call inside a transaction. */
  #commit(plan: Planned): TimelineEntry {
    const n = plan.next;
    this.#db.sqlite
      .prepare(
        `UPDATE ill_requests SET state = ?, partner = ?, rota = ?, excluded = ?, rota_position = ?,
           requesting_agency_request_id = ?, supplying_agency_request_id = ?, supplier_status = ?,
           due_date = ?, renewals_used = ?, state_before_cancel = ?, last_transition_at = ?, updated_at = ?
         WHERE id = ?`,
      )
      .run(
        n.state,
        n.partner,
        n.rota,
        n.excluded,
        n.rota_position,
        n.requesting_agency_request_id,
        n.supplying_agency_request_id,
        n.supplier_status,
        n.due_date,
        n.renewals_used,
        n.state_before_cancel,
        n.last_transition_at,
        n.updated_at,
        n.id,
      );
    for (const m of plan.outgoing) this.#outbox.enqueue(ILL_DESTINATION, m.kind, m.payload, m.messageId);
    this.#syncTimers(plan);
    if (plan.attention !== undefined) this.#setAttentionRow(n, plan.attention ?? undefined, plan.at);
    const entry = this.#record(n.id, plan.from, plan.to, plan.event, plan.at, plan.detail);
    if (this.#onTransition.length > 0) {
      const change: TransitionChange = {
        request: this.#mustGet(n.id),
        from: plan.from as IllState,
        to: plan.to as IllState,
        event: plan.event,
        entry,
      };
      for (const hook of this.#onTransition) hook(change);
    }
    return entry;
  }

  /** The timers a transition's effects start and stop. Call inside its transaction. */
  #syncTimers(plan: Planned): void {
    const n = plan.next;
    const terminal =
      n.role === "borrower"
        ? ill.requesterMachine.states[plan.to as ill.RequesterState]?.terminal
        : ill.supplierMachine.states[plan.to as ill.SupplierState]?.terminal;
    if (terminal) {
      // A delivered copy outlives its request (copy_completed is terminal) until its retention ends.
      this.#db.sqlite
        .prepare("DELETE FROM ill_timers WHERE request_id = ? AND kind != 'copy_expiry'")
        .run(n.id);
      return;
    }
    // Only a validated request waits for its rota.
    if (n.role === "borrower" && plan.to !== "validated") this.#deleteTimer(n.id, "rota");
    const at = plan.at.getTime();
    for (const effect of plan.detail.effects ?? []) {
      switch (effect) {
        case "start_response_timer": {
          const seconds = parseRota(n.rota)[n.rota_position]?.responseTimeSeconds;
          const wait = seconds ? seconds * 1000 : this.#defaultResponseTimeMs;
          this.#setTimer(n.id, "response", new Date(at + wait));
          break;
        }
        case "stop_response_timer":
          this.#deleteTimer(n.id, "response");
          break;
        case "start_due_date_timer":
          if (n.due_date) this.#setTimer(n.id, "due", new Date(n.due_date));
          else this.#deleteTimer(n.id, "due");
          break;
        case "stop_due_date_timer":
          this.#deleteTimer(n.id, "due");
          break;
        case "start_answer_timer":
          this.#setTimer(n.id, "answer", new Date(at + this.#answerTimeoutMs));
          break;
        case "stop_answer_timer":
          this.#deleteTimer(n.id, "answer");
          break;
      }
    }
  }

  #setTimer(requestId: string, kind: TimerKind, dueAt: Date, attempts = 0): void {
    this.#db.sqlite
      .prepare(
        `INSERT INTO ill_timers (request_id, kind, due_at, attempts) VALUES (?, ?, ?, ?)
         ON CONFLICT (request_id, kind) DO UPDATE SET due_at = excluded.due_at, attempts = excluded.attempts`,
      )
      .run(requestId, kind, dueAt.toISOString(), attempts);
  }

  #deleteTimer(requestId: string, kind: TimerKind): void {
    this.#db.sqlite.prepare("DELETE FROM ill_timers WHERE request_id = ? AND kind = ?").run(requestId, kind);
  }

  #insert(row: Row): void {
    const columns = Object.keys(row);
    this.#db.sqlite
      .prepare(
        `INSERT INTO ill_requests (${columns.join(", ")}) VALUES (${columns.map((c) => `@${c}`).join(", ")})`,
      )
      .run(row);
  }

  #record(
    requestId: string,
    from: string | undefined,
    to: string,
    event: string,
    at: Date,
    detail: TransitionDetail,
  ): TimelineEntry {
    const info = this.#db.sqlite
      .prepare(
        "INSERT INTO ill_transitions (request_id, from_state, to_state, event, at, detail) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(requestId, from ?? null, to, event, at.toISOString(), JSON.stringify(detail));
    return {
      seq: Number(info.lastInsertRowid),
      from: from as IllState | undefined,
      to: to as IllState,
      event,
      at: new Date(at.getTime()),
      detail,
    };
  }

  #markSeen(messageId: string, requestId: string, seq: number, at: Date): void {
    this.#db.sqlite
      .prepare(
        "INSERT INTO ill_messages_seen (message_id, request_id, transition_seq, received_at) VALUES (?, ?, ?, ?)",
      )
      .run(messageId, requestId, seq, at.toISOString());
  }

  #replay(messageId: string): IllOutcome | undefined {
    const seen = this.#db.sqlite
      .prepare(
        `SELECT t.* FROM ill_messages_seen s JOIN ill_transitions t ON t.seq = s.transition_seq
         WHERE s.message_id = ?`,
      )
      .get(messageId) as TransitionRow | undefined;
    if (!seen) return undefined;
    return { request: this.#mustGet(seen.request_id), entry: toEntry(seen), replayed: true };
  }

  #findDuplicate(
    patronId: string,
    clusterId: string | undefined,
    titleKey: string,
    now: Date,
  ): string | undefined {
    const since = new Date(now.getTime() - this.#duplicateWindowMs).toISOString();
    const row = this.#db.sqlite
      .prepare(
        `SELECT id FROM ill_requests
         WHERE role = 'borrower' AND patron_id = ? AND created_at >= ? AND state != 'cancelled'
           AND ((? IS NOT NULL AND cluster_id = ?) OR (? != '' AND title_key = ?))
         ORDER BY created_at LIMIT 1`,
      )
      .get(patronId, since, clusterId ?? null, clusterId ?? null, titleKey, titleKey) as
      | { id: string }
      | undefined;
    return row?.id;
  }

  #row(id: string): Row {
    const row = this.#db.sqlite.prepare("SELECT * FROM ill_requests WHERE id = ?").get(id) as Row | undefined;
    if (!row) throw new IllNotFoundError(id);
    return row;
  }

  #mustGet(id: string): IllRequest {
    return toRequest(this.#row(id));
  }

  #timelineRows(id: string): TransitionRow[] {
    return this.#db.sqlite
      .prepare("SELECT * FROM ill_transitions WHERE request_id = ? ORDER BY seq")
      .all(id) as TransitionRow[];
  }
}

function toRequest(row: Row): IllRequest {
  return {
    id: row.id,
    role: row.role,
    state: row.state as IllState,
    serviceType: row.service_type,
    partner: row.partner ?? undefined,
    clusterId: row.cluster_id ?? undefined,
    bibliographicInfo: fromBib(row.bibliographic_info),
    patronId: row.patron_id ?? undefined,
    needBefore: row.need_before ? new Date(row.need_before) : undefined,
    note: row.note,
    rota: parseRota(row.rota),
    excluded: parseRota(row.excluded),
    attention: row.attention ?? undefined,
    recordId: row.record_id ?? undefined,
    rotaPosition: row.rota_position,
    requestingAgencyRequestId: row.requesting_agency_request_id ?? undefined,
    supplyingAgencyRequestId: row.supplying_agency_request_id ?? undefined,
    supplierStatus: row.supplier_status ?? undefined,
    dueDate: row.due_date ? new Date(row.due_date) : undefined,
    renewalsUsed: row.renewals_used,
    maxRenewals: row.max_renewals,
    duplicateOf: row.duplicate_of ?? undefined,
    serviceLevel: row.service_level ?? "",
    maximumCost: row.maximum_cost ?? undefined,
    copyrightCompliance: row.copyright_compliance ?? "",
    publicationDate: row.publication_date ?? "",
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function toTimer(row: TimerRow): IllTimer {
  return { requestId: row.request_id, kind: row.kind, dueAt: new Date(row.due_at), attempts: row.attempts };
}

function timerEvent(role: IllRole, kind: TimerKind): IllEvent | undefined {
  if (role === "borrower") return kind === "response" ? "supplier_timeout" : undefined;
  if (kind === "due") return "mark_overdue";
  if (kind === "answer") return "answer_timeout";
  return undefined;
}

function toEntry(row: TransitionRow): TimelineEntry {
  return {
    seq: row.seq,
    from: (row.from_state ?? undefined) as IllState | undefined,
    to: row.to_state as IllState,
    event: row.event,
    at: new Date(row.at),
    detail: JSON.parse(row.detail) as TransitionDetail,
  };
}

function fromBib(bytes: Uint8Array): illPb.BibliographicInfo {
  return fromBinary(illPb.BibliographicInfoSchema, new Uint8Array(bytes));
}

function parseRota(json: string): RotaEntry[] {
  return JSON.parse(json) as RotaEntry[];
}

function validRota(rota: readonly RotaEntry[], field: string): RotaEntry[] {
  return rota.map((entry, i) => {
    if (entry.agencyId.trim() === "") throw new IllInputError(`${field}[${i}].agencyId`, "is required");
    if (
      entry.responseTimeSeconds !== undefined &&
      !(Number.isFinite(entry.responseTimeSeconds) && entry.responseTimeSeconds >= 0)
    )
      throw new IllInputError(`${field}[${i}].responseTimeSeconds`, "must be a number of seconds");
    // Only the known fields, so the stored JSON stays what RotaEntry says.
    const out: { -readonly [K in keyof RotaEntry]: RotaEntry[K] } = {
      agencyId: entry.agencyId,
      reason: entry.reason,
    };
    if (entry.region) out.region = entry.region;
    if (entry.recordId) out.recordId = entry.recordId;
    if (entry.clusterId) out.clusterId = entry.clusterId;
    if (entry.responseTimeSeconds) out.responseTimeSeconds = entry.responseTimeSeconds;
    if (entry.availability) out.availability = entry.availability;
    if (entry.lent !== undefined) out.lent = entry.lent;
    if (entry.borrowed !== undefined) out.borrowed = entry.borrowed;
    if (entry.charge) {
      try {
        // Read once here so that a charge that is not an amount never reaches the ledger.
        parseAmount(entry.charge.amount, entry.charge.currency);
      } catch (err) {
        throw new IllInputError(`${field}[${i}].charge`, (err as Error).message);
      }
      out.charge = { currency: entry.charge.currency, amount: entry.charge.amount };
    }
    return out;
  });
}

/**
 * This member's own record id for the title, as the borrower's broker found it: the
 * supplierInfo entry naming this member (or naming no one).
 */
function ownRecordId(msg: illPb.Request, agencyId: string): string | undefined {
  for (const info of msg.supplierInfo) {
    const code = info.supplierCode?.agencyIdValue ?? "";
    const id = info.bibliographicRecordId?.bibliographicRecordIdentifier ?? "";
    if ((code === "" || code === agencyId) && id !== "") return id;
  }
  return undefined;
}

/** "id:isbn:9780441013593 id:issn:0028-0836": the item identifiers, normalised and sorted. */
function identifiersKey(bib: illPb.BibliographicInfo): string {
  const keys = bib.bibliographicItemId
    .map((i) => {
      const code = i.bibliographicItemIdentifierCode.trim().toLowerCase();
      const raw = i.bibliographicItemIdentifier.trim();
      const value =
        code === "isbn" ? (normalizeIsbn(raw) ?? raw) : code === "issn" ? (normalizeIssn(raw) ?? raw) : raw;
      return value ? `id:${code}:${value}` : "";
    })
    .filter((k) => k !== "");
  return [...new Set(keys)].sort().join(" ");
}

/** A title as requests are matched by it: NFKC, lower case, punctuation and symbols as spaces. */
export function normaliseTitle(title: string): string {
  return title
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
}

function isServiceType(t: illPb.ServiceType): boolean {
  return t === illPb.ServiceType.LOAN || t === illPb.ServiceType.COPY || t === illPb.ServiceType.COPY_OR_LOAN;
}

function isRequesterEvent(e: string): e is ill.RequesterEvent {
  return Object.hasOwn(ill.requesterMachine.events, e);
}

function isSupplierEvent(e: string): e is ill.SupplierEvent {
  return Object.hasOwn(ill.supplierMachine.events, e);
}

/** `at`, or the last transition's time when the clock stepped back. */
function later(at: Date, last: string): Date {
  const lastMs = Date.parse(last);
  return new Date(Math.max(at.getTime(), lastMs));
}
