// The member's ILL requests: the requester machine for what it borrows, the supplier machine
// for what it lends, kept in its database. Each event is one transaction: the transition on the
// timeline, the request's new state, the message id marked seen and the messages the effects
// send, in the outbox. What an event does is planned from the row alone (planning.ts, with the
// messages of messages.ts and the wording of staff-notices.ts); this file reads the rows, writes
// the plan, and keeps the durable timers: the effects that start and stop them write the timer
// rows in the transition's own transaction, so a timer survives a restart and never outlives the
// state it belongs to. Nothing here touches the network.
import { randomUUID } from "node:crypto";
import { toBinary } from "@bufbuild/protobuf";
import { type Database, ill, illPb, type Outbox } from "@lrs/shared";
import { IllInputError, IllNotFoundError, IllStateError } from "./errors.js";
import { ILL_DESTINATION } from "./messages.js";
import {
  borrowerHasItem,
  borrowingRow,
  checkBorrowing,
  checkIncomingRequest,
  isRequesterEvent,
  isSupplierEvent,
  later,
  lendingRow,
  type PlanContext,
  type Planned,
  planRequester,
  planSupplier,
  type Refused,
  type TimerRules,
  timerChanges,
  timerEvent,
  validRota,
} from "./planning.js";
import type {
  ActionDetail,
  BorrowingInput,
  IllEvent,
  IllOutcome,
  IllRequest,
  IllRole,
  IllState,
  IllTimer,
  TimelineEntry,
  TimerFiring,
  TimerKind,
  TransitionChange,
  TransitionDetail,
} from "./request.js";
import {
  fromBib,
  type Row,
  type TimerRow,
  type TransitionRow,
  toEntry,
  toRequest,
  toTimer,
} from "./request-row.js";
import { dueDatePassedNotice, timerFiredNote } from "./staff-notices.js";
import { normaliseTitle } from "./title-key.js";

// What the rest of the member imports from here: the request, and the ids and kinds of its messages.
export { ILL_DESTINATION, ILL_KINDS, isoRequestId, requestIdOfIso } from "./messages.js";
export type * from "./request.js";
export { normaliseTitle } from "./title-key.js";

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

/** When a new request's rota is asked for again if the first attempt left no trace (createBorrowing). */
export const ROTA_GUARD_MS = 120_000;

/** The member's ILL requests, both roles, over its database. */
export class IllStore {
  readonly #db: Database;
  readonly #outbox: Outbox;
  readonly #agencyId: string;
  readonly #duplicateWindowMs: number;
  readonly #maxRenewals: number;
  readonly #now: () => Date;
  readonly #newId: () => string;
  readonly #plan: PlanContext;
  readonly #timerRules: TimerRules;
  readonly #onTransition: NonNullable<IllStoreOptions["onTransition"]>;

  constructor(opts: IllStoreOptions) {
    this.#db = opts.db;
    this.#outbox = opts.outbox;
    this.#agencyId = opts.agencyId;
    this.#duplicateWindowMs = opts.duplicateWindowMs ?? 30 * DAY_MS;
    this.#maxRenewals = opts.maxRenewals ?? 1;
    this.#now = opts.now ?? (() => new Date());
    this.#newId = opts.newId ?? randomUUID;
    this.#plan = {
      agencyId: opts.agencyId,
      agencyIdType: opts.agencyIdType ?? "LRS",
      now: this.#now,
      newId: this.#newId,
      loanPeriodMs: opts.loanPeriodMs ?? 28 * DAY_MS,
      copyrightCheck: opts.copyrightCheck,
    };
    this.#timerRules = {
      answerTimeoutMs: opts.answerTimeoutMs ?? 7 * DAY_MS,
      defaultResponseTimeMs: opts.defaultResponseTimeMs ?? 3 * DAY_MS,
    };
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
    const checked = checkBorrowing(input);
    const now = this.#now();
    const id = this.#newId();
    return this.#db.transaction(() => {
      const duplicateOf = this.#findDuplicate(
        checked.patronId,
        checked.component ? undefined : checked.clusterId,
        checked.titleKey,
        now,
      );
      const row = borrowingRow(input, checked, { id, now, duplicateOf });
      this.#insert(row);
      this.#record(id, undefined, row.state, "created", now, {});
      const plan = planRequester(this.#plan, row, "validate", now, {});
      if ("refused" in plan) throw new IllStateError(id, row.state, "validate", plan.refused);
      this.#commit(plan);
      // The rota is asked for at once, outside this transaction; should that attempt be lost (the
      // node killed, a write refused on a full disk) this timer asks again: a validated request
      // is never left without something to move it on.
      if (this.#mustGet(id).state === "validated")
        this.#setTimer(id, "rota", new Date(now.getTime() + ROTA_GUARD_MS));
      return this.#mustGet(id);
    });
  }

  /**
   * A Request arriving at this member as a lender: creates the request in the supplier
   * machine's initial state. Idempotent by message id and by the borrower's request id.
   */
  receiveRequest(msg: illPb.Request, messageId: string): IllOutcome {
    const checked = checkIncomingRequest(msg, messageId, this.#agencyId);
    const now = this.#now();
    return this.#db.transaction(() => {
      const replay = this.#replay(messageId);
      if (replay) return replay;
      const existing = this.#db.sqlite
        .prepare(
          "SELECT id FROM ill_requests WHERE role = 'lender' AND partner = ? AND requesting_agency_request_id = ?",
        )
        .get(checked.borrower, checked.isoId) as { id: string } | undefined;
      if (existing) {
        const first = this.#timelineRows(existing.id)[0];
        if (!first) throw new IllNotFoundError(existing.id);
        this.#markSeen(messageId, existing.id, first.seq, now);
        return { request: this.#mustGet(existing.id), entry: toEntry(first), replayed: true };
      }
      const id = this.#newId();
      const row = lendingRow(msg, checked, {
        id,
        now,
        agencyId: this.#agencyId,
        maxRenewals: this.#maxRenewals,
      });
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
      let plan: Planned | Refused;
      if (row.role === "borrower") {
        if (message.$typeName !== "lrs.v1.SupplyingAgencyMessage")
          throw refuse(`a borrower takes a SupplyingAgencyMessage, not ${message.$typeName}`);
        if (!isRequesterEvent(event) || ill.requesterMachine.events[event].source !== "message")
          throw refuse(`${event} is not a lender's message`);
        plan = planRequester(
          this.#plan,
          row,
          event,
          now,
          { messageId, note: message.messageInfo?.note },
          message,
        );
      } else {
        if (message.$typeName === "lrs.v1.SupplyingAgencyMessage")
          throw refuse("a lender does not take a SupplyingAgencyMessage");
        if (!isSupplierEvent(event) || ill.supplierMachine.events[event].source !== "message")
          throw refuse(`${event} is not a borrower's message`);
        const note =
          message.$typeName === "lrs.v1.RequestingAgencyMessage" ? message.note : message.serviceInfo?.note;
        plan = planSupplier(this.#plan, row, event, now, { messageId, note: note || undefined }, {});
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
      let plan: Planned | Refused;
      const base = {
        ...(detail.note ? { note: detail.note } : {}),
        ...(detail.itemBarcode ? { itemBarcode: detail.itemBarcode } : {}),
      };
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
        plan = planRequester(this.#plan, withRota, action, now, base);
      } else {
        if (!isSupplierEvent(action) || ill.supplierMachine.events[action].source === "message")
          throw refuse(`${action} is not a lender's action`);
        plan = planSupplier(this.#plan, row, action, now, base, detail);
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

  /**
   * A page of requests, newest first, by role and state: at most `limit`, those created before
   * `before` (a request of an earlier page: its creation time and id) when given. Pages follow
   * each other without a gap or a repeat while requests are added (they go to the front).
   */
  latest(
    filter: { role?: IllRole; status?: string },
    page: { limit: number; before?: { createdAt: string; id: string } | undefined },
  ): IllRequest[] {
    const rows = this.#db.sqlite
      .prepare(
        `SELECT * FROM ill_requests WHERE (? IS NULL OR role = ?) AND (? IS NULL OR state = ?)
           AND (? IS NULL OR (created_at, id) < (?, ?))
         ORDER BY created_at DESC, id DESC LIMIT ?`,
      )
      .all(
        filter.role ?? null,
        filter.role ?? null,
        filter.status ?? null,
        filter.status ?? null,
        page.before?.createdAt ?? null,
        page.before?.createdAt ?? null,
        page.before?.id ?? null,
        page.limit,
      ) as Row[];
    return rows.map(toRequest);
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

  /**
   * Schedules (or reschedules) the retry of a borrowing request's rota, with the note why on
   * its timeline. Only a validated request waits for its rota.
   */
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
      const note = timerFiredNote(kind, timer.due_at);
      if (row.role === "borrower" && kind === "due") {
        if (!borrowerHasItem(row.state))
          return { fired: false, reason: `nothing is due in state ${row.state}` };
        const text = dueDatePassedNotice(timer.due_at);
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
        ...(opts.attention ? { attention: opts.attention } : {}),
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
    const detail = plan.attention ? { ...plan.detail, attention: plan.attention } : plan.detail;
    const entry = this.#record(n.id, plan.from, plan.to, plan.event, plan.at, detail);
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
    const id = plan.next.id;
    for (const change of timerChanges(plan, this.#timerRules)) {
      if (change.op === "set") this.#setTimer(id, change.kind, change.dueAt);
      else if (change.op === "delete") this.#deleteTimer(id, change.kind);
      else
        this.#db.sqlite
          .prepare("DELETE FROM ill_timers WHERE request_id = ? AND kind != 'copy_expiry'")
          .run(id);
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
