// The visiting-reader desk of a member: as the home library it issues and blocks its readers'
// credentials and answers checks of them; as the visited library it checks credentials (online
// through the tiers, offline against the directory), lends to visitors and takes returns, its
// own items' or, for another library, as a shipment back to the owner. Every loan, return,
// overdue and shipment is told to the libraries concerned by a notice queued in the same
// transaction (notices.ts).

import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import {
  type DirectorySource,
  formatOfLeader,
  type HoldingData,
  institutionsOf,
  type LendingPolicyConfig,
  type Logger,
  lendsMaterial,
  type Outbox,
  parseMoney,
  TRAFFIC_KINDS,
  type TrafficRecorder,
  visit,
  visitPb,
} from "@lrs/shared";
import { GONE, NON_CIRCULATING_RULES, ON_LOAN } from "../catalog/availability.js";
import type { MemberLedger } from "../fees/ledger.js";
import type { MemberCatalog } from "../store/catalog.js";
import { VisitInputError, VisitNotFoundError, VisitRefusedError } from "./errors.js";
import { noticeOf, sendNotice } from "./notices.js";
import { type LoanRow, loanMessage, type VisitStore } from "./store.js";

const { VisitStanding, VisitNoticeKind } = visitPb;
const DAY_MS = 86_400_000;
/** Item statuses a visitor cannot borrow: out, gone, or on its way back from a return elsewhere. */
const NOT_ON_SHELF = new Set([...ON_LOAN, ...GONE, "in_transit"]);
const MAX_REF_LENGTH = 64;
/**
 * How long the home library holds a slot of a reader's loan limit for a loan a visited library is
 * making: long enough for the loan's notice to arrive through the tiers (or be queued while a hop
 * is down: it confirms whenever it arrives), short enough that a loan never made frees the slot.
 */
export const VISIT_HOLD_MS = 15 * 60_000;
/** How long a credential check waits for the home library through the tiers. */
export const ONLINE_CHECK_TIMEOUT_MS = 15_000;

export interface VisitDeskOptions {
  store: VisitStore;
  outbox: Outbox;
  catalog: MemberCatalog;
  directory: DirectorySource;
  /** This member. */
  self: { id: string; region: string };
  /** `[lending_policy]` (its `visiting` part is this library's visiting-reader policy). */
  policy: LendingPolicyConfig;
  /** The regional center's VisitService: the way to a reader's home library. */
  parent: () => Client<typeof visitPb.VisitService>;
  /** Charges for loans of own readers elsewhere. */
  ledger?: Pick<MemberLedger, "chargeVisitLoan">;
  traffic?: TrafficRecorder;
  /** The directory entry must change (a credential blocked or unblocked). */
  onBlocksChanged: () => void;
  log: Logger;
  now?: () => Date;
}

/** A credential as the desk read it, with the check's answer. */
export interface Checked {
  response: visitPb.CheckCredentialResponse;
  body?: visitPb.VisitCredentialBody;
}

export class VisitDesk {
  readonly #o: VisitDeskOptions;
  readonly #now: () => Date;

  constructor(o: VisitDeskOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
    // The key exists before the node registers, so the directory publishes it from the start.
    o.store.signingKey(this.#now());
  }

  /** The key ids last put in the directory entry: an older key dropped when its credentials expire. */
  #publishedKeyIds = "";

  get #visiting() {
    return this.#o.policy.visiting;
  }

  /** What this member adds to its directory entry: its keys and its blocked credentials. */
  describeSelf() {
    const visitKeys = this.#o.store.publishedKeys(this.#now());
    this.#publishedKeyIds = visitKeys.map((k) => k.keyId).join(" ");
    return {
      visitKeys,
      blockedVisitCredentials: this.#o.store.blockedUnexpired(this.#now()),
    };
  }

  // ---- the home library ----

  issue(req: visitPb.IssueCredentialRequest): visitPb.IssueCredentialResponse {
    const ref = req.readerRef.trim();
    if (ref === "")
      throw new VisitInputError("reader_ref: the library's reference for the reader is required");
    if (ref.length > MAX_REF_LENGTH)
      throw new VisitInputError(
        `reader_ref: ${ref.length} characters, more than the ${MAX_REF_LENGTH} allowed`,
      );
    if (req.validDays > 400) throw new VisitInputError("valid_days: at most 400");
    if (req.maxLoans > 100) throw new VisitInputError("max_loans: at most 100");
    const now = this.#now();
    const { store } = this.#o;
    return store.db.transaction(() => {
      const key = store.signingKey(now);
      const readerId = store.readerId(ref);
      const credentialId = visit.newCredentialId();
      const expiresAt = new Date(now.getTime() + (req.validDays || this.#visiting.credential_days) * DAY_MS);
      const maxLoans = req.maxLoans || this.#visiting.max_loans;
      const signed = visit.signCredential(
        {
          credentialId,
          homeAgencyId: this.#o.self.id,
          readerId,
          privileges: { maxLoans, materialTypes: req.materialTypes },
          issuedAt: now,
          expiresAt,
        },
        key,
      );
      const token = visit.credentialToken(signed);
      store.addCredential({
        credential_id: credentialId,
        reader_id: readerId,
        token,
        max_loans: maxLoans,
        issued_at: now.toISOString(),
        expires_at: expiresAt.toISOString(),
        key_id: key.keyId,
      });
      this.#o.log.info(
        { credentialId, readerId, expiresAt: expiresAt.toISOString() },
        "visiting-reader credential issued",
      );
      return create(visitPb.IssueCredentialResponseSchema, {
        body: visit.credentialBody(signed),
        token,
        shortCode: visit.shortCode(this.#o.self.id, credentialId),
        readerId,
      });
    });
  }

  block(req: visitPb.BlockCredentialRequest): visitPb.BlockCredentialResponse {
    const { store } = this.#o;
    let ids: string[];
    if (req.credentialId) {
      const id = this.#credentialIdOf(req.credentialId);
      if (!store.credential(id))
        throw new VisitNotFoundError(`no credential ${req.credentialId} was issued here`);
      ids = [id];
    } else if (req.readerRef) {
      const readerId = store.readerId(req.readerRef);
      ids = store.credentialsOfReader(readerId).map((c) => c.credential_id);
      if (ids.length === 0) throw new VisitNotFoundError(`reader ${req.readerRef} has no credential`);
    } else throw new VisitInputError("credential_id or reader_ref is required");
    if (!req.unblock && req.reason.trim() === "")
      throw new VisitInputError('reason is required ("overdue", "lost", "left", ...)');
    store.setBlock(ids, req.unblock ? undefined : req.reason.trim(), this.#now());
    this.#o.log.info(
      { credentialIds: ids, blocked: !req.unblock, reason: req.reason },
      "visiting-reader credential block changed",
    );
    // Online checks see it at once; the directory carries it to offline checks everywhere.
    this.#o.onBlocksChanged();
    return create(visitPb.BlockCredentialResponseSchema, { credentialIds: ids });
  }

  /** A credential id from an id or a short code of this library's. */
  #credentialIdOf(text: string): string {
    const t = text.trim();
    if (/^[0-9A-Z]{10}$/.test(t)) return t;
    const c = visit.parseShortCode(t);
    if (c.homeAgencyId !== this.#o.self.id)
      throw new VisitInputError(`${t} is a credential of ${c.homeAgencyId}, not of this library`);
    return c.credentialId;
  }

  /** The home library's answer to a visited library's check (VisitService.CheckVisitor). */
  answer(req: visitPb.CheckVisitorRequest): visitPb.CheckVisitorResponse {
    const res = create(visitPb.CheckVisitorResponseSchema, { answeredBy: this.#o.self.id });
    const c = req.homeAgencyId === this.#o.self.id ? this.#o.store.credential(req.credentialId) : undefined;
    if (!c) {
      res.standing = VisitStanding.UNKNOWN;
      return res;
    }
    res.credential = visit.parseToken(c.token);
    const now = this.#now();
    const { store } = this.#o;
    const loanId = req.reserveForLoanId.trim().slice(0, MAX_REF_LENGTH * 2);
    // Loans made and loans being made elsewhere (holds) count alike; a check and its hold are one
    // transaction, so a second library's check sees the first's hold.
    return store.db.transaction(() => {
      res.loansOut = store.openLoansOfReader(c.reader_id) + store.activeHolds(c.reader_id, now, loanId);
      if (c.block_reason) {
        res.standing = VisitStanding.BLOCKED;
        res.blockReason = c.block_reason;
      } else if (c.expires_at <= now.toISOString()) res.standing = VisitStanding.EXPIRED;
      else if (res.loansOut >= c.max_loans) res.standing = VisitStanding.OVER_LIMIT;
      else res.standing = VisitStanding.GOOD;
      if (res.standing === VisitStanding.GOOD && loanId && !store.loan(loanId, "borrowed")) {
        const expires = new Date(now.getTime() + VISIT_HOLD_MS);
        store.hold({
          loanId,
          credentialId: c.credential_id,
          readerId: c.reader_id,
          visited: req.visitedAgencyId,
          now,
          expires,
        });
        res.holdExpiresAt = timestampFromDate(expires);
      }
      return res;
    });
  }

  // ---- the visited library ----

  /**
   * Checks a credential (a QR code's token, or a short code): this library's policy for the home
   * institution, the signature against the directory's keys, the published block list and, online,
   * the home library's word. Offline when asked, or when the home library cannot be reached and
   * the token is at hand (a short code is checked online only).
   */
  async check(text: string, offline: boolean, reserveForLoanId = ""): Promise<Checked> {
    const now = this.#now();
    const dir = institutionsOf(this.#o.directory);
    const res = create(visitPb.CheckCredentialResponseSchema, {
      maxLoansHere: this.#visiting.max_loans,
      loanPeriodDays: this.#visiting.loan_period_days,
    });
    // Why not (any refusal means no loan), and what staff should know besides.
    const refusals: string[] = [];
    const notes: string[] = [];
    const refuse = (why: string) => refusals.push(why);
    let credential: visitPb.VisitCredential | undefined;
    let homeId: string;
    let credentialId: string;
    if (visit.isToken(text)) {
      credential = visit.parseToken(text);
      const body = visit.credentialBody(credential);
      homeId = body.homeAgencyId;
      credentialId = body.credentialId;
    } else {
      ({ homeAgencyId: homeId, credentialId } = visit.parseShortCode(text));
    }
    const home = dir.get(homeId);
    const me = {
      ...(dir.get(this.#o.self.id) ?? { id: this.#o.self.id, region: this.#o.self.region }),
      visitingPolicy: visit.visitingPolicyOf(this.#visiting),
    };
    const policyRefusal = visit.visitRefusal(me as Parameters<typeof visit.visitRefusal>[0], home);
    if (policyRefusal) refuse(policyRefusal);
    if (homeId === this.#o.self.id)
      refuse("the reader is this library's own: lend as to any reader, not as a visitor");
    if (!offline && home) {
      try {
        const answer = await this.#o
          .parent()
          .checkVisitor(
            { homeAgencyId: homeId, credentialId, visitedAgencyId: this.#o.self.id, reserveForLoanId },
            { timeoutMs: ONLINE_CHECK_TIMEOUT_MS },
          );
        res.online = true;
        res.standing = answer.standing;
        res.blockReason = answer.blockReason;
        res.loansOut = answer.loansOut;
        if (answer.credential) {
          if (credential && !sameCredential(credential, answer.credential))
            refuse("the credential differs from the one the home library issued under this id");
          credential ??= answer.credential;
        }
      } catch (err) {
        if (!credential)
          throw new VisitRefusedError(
            `${homeId} could not be asked (${(err as Error).message}); a short code is checked online only: scan the reader's QR code to check it offline`,
          );
        this.#o.log.warn({ err, home: homeId }, "home library not reachable: credential checked offline");
        notes.push(`${homeId} not reachable: checked offline`);
      }
    }
    if (credential && home) {
      try {
        res.body = visit.verifyCredential(credential, { keys: home.visitKeys, now });
        res.signatureValid = true;
      } catch (err) {
        if (!(err instanceof visit.CredentialError)) throw err;
        res.body = safeBody(credential);
        refuse(`credential refused: ${err.message}`);
      }
    }
    if (home?.blockedVisitCredentials.includes(credentialId) && res.standing !== VisitStanding.BLOCKED)
      refuse(`blocked at ${homeId} (the directory's block list)`);
    switch (res.standing) {
      case VisitStanding.BLOCKED:
        refuse(`blocked at ${homeId}: ${res.blockReason || "no reason given"}`);
        break;
      case VisitStanding.EXPIRED:
        refuse(`${homeId} says the credential has expired`);
        break;
      case VisitStanding.OVER_LIMIT:
        refuse(`the reader has ${res.loansOut} items on loan, the most ${homeId} allows`);
        break;
      case VisitStanding.UNKNOWN:
        refuse(`${homeId} issued no credential ${credentialId}`);
        break;
      default:
        break;
    }
    if (res.body) {
      res.loansHere = this.#o.store.openLoansHere(homeId, res.body.readerId);
      if (res.loansHere >= this.#visiting.max_loans)
        refuse(`the reader has ${res.loansHere} items on loan here, the most this library lends a visitor`);
      const privileges = res.body.privileges?.maxLoans ?? 0;
      if (!res.online && res.loansHere >= privileges)
        refuse(`the reader has ${res.loansHere} items on loan here, the most ${homeId} allows`);
    }
    if (offline) notes.push("checked offline, as asked");
    res.reasons = [...notes, ...refusals];
    res.mayBorrow = res.body !== undefined && res.signatureValid && refusals.length === 0;
    this.#o.store.recordCheck(homeId, credentialId, res.online, res.mayBorrow, now);
    this.#o.traffic?.add(TRAFFIC_KINDS.visit, "visit", homeId, this.#o.self.id);
    return { response: res, ...(res.body ? { body: res.body } : {}) };
  }

  async lend(req: visitPb.LendToVisitorRequest): Promise<visitPb.LendToVisitorResponse> {
    const barcode = req.itemBarcode.trim();
    if (barcode === "") throw new VisitInputError("item_barcode is required");
    // The item first (no slot is held at home for an item this library would not lend), then the
    // credential: the loan's id is chosen before, and the home library holds a slot of the reader's
    // limit for it; then the item again, with the loan, in one transaction.
    this.#lendableItem(barcode);
    const loanId = `${this.#o.self.id}:${visit.newCredentialId()}`;
    const { response, body } = await this.check(req.credential, req.offline, loanId);
    if (!response.mayBorrow || !body) throw new VisitRefusedError(`not lent: ${response.reasons.join("; ")}`);
    const { store } = this.#o;
    const now = this.#now();
    const loan = store.db.transaction(() => {
      const { recordId, rec, format } = this.#lendableItem(barcode);
      const granted = body.privileges?.materialTypes ?? [];
      if (!lendsMaterial(granted, format))
        throw new VisitRefusedError(
          `${body.homeAgencyId} lets the reader borrow ${granted.join(", ")}, not ${format}`,
        );
      const due = new Date(now.getTime() + this.#visiting.loan_period_days * DAY_MS);
      const fee = this.#visiting.fee_per_loan ? parseMoney(this.#visiting.fee_per_loan) : undefined;
      const row: LoanRow = {
        loan_id: loanId,
        role: "lent",
        home_agency_id: body.homeAgencyId,
        owner_agency_id: this.#o.self.id,
        credential_id: body.credentialId,
        reader_id: body.readerId,
        item_barcode: barcode,
        record_id: recordId,
        title: rec.title,
        lent_at: now.toISOString(),
        due_at: due.toISOString(),
        returned_at: null,
        returned_at_agency_id: "",
        shipment_id: "",
        tracking: "",
        received_at: null,
        overdue_at: null,
        fee_currency: fee?.currency ?? "",
        fee_minor: Number(fee?.minor ?? 0n),
      };
      store.upsertLoan(row);
      this.#setItem(recordId, barcode, { status: "on_loan", dueDate: due.toISOString().slice(0, 10) });
      sendNotice(
        this.#o.outbox,
        this.#o.self.id,
        row.home_agency_id,
        noticeOf(VisitNoticeKind.LOAN, row, now),
      );
      return row;
    });
    this.#o.traffic?.add(TRAFFIC_KINDS.visit, "loan", loan.home_agency_id, this.#o.self.id);
    this.#o.log.info(
      { loanId: loan.loan_id, home: loan.home_agency_id, barcode },
      "lent to a visiting reader",
    );
    return create(visitPb.LendToVisitorResponseSchema, { loan: loanMessage(loan, now), check: response });
  }

  /** An item this library lends visitors, with its record and format; else why not. */
  #lendableItem(barcode: string) {
    const { store, catalog } = this.#o;
    const recordId = store.itemRecord(barcode);
    const rec = recordId ? catalog.get(recordId) : undefined;
    if (!recordId || !rec) throw new VisitNotFoundError(`no item ${barcode} in this catalog`);
    const holding = rec.holdings.find((h) => h.barcode === barcode)!;
    if (NOT_ON_SHELF.has(holding.status.toLowerCase()))
      throw new VisitRefusedError(`item ${barcode} is ${holding.status}`);
    if (NON_CIRCULATING_RULES.has(holding.loanRule.toLowerCase()))
      throw new VisitRefusedError(`item ${barcode} does not circulate (${holding.loanRule})`);
    if (store.openLoanOfItem(barcode))
      throw new VisitRefusedError(`item ${barcode} is on loan to a visitor already`);
    const format = formatOfLeader(rec.record.leader[6] ?? "", rec.record.leader[7] ?? "");
    if (!lendsMaterial(this.#visiting.material_types, format))
      throw new VisitRefusedError(
        `this library lends visitors ${this.#visiting.material_types.join(", ")}, not ${format || "this material"}`,
      );
    return { recordId, rec, format };
  }

  /** An item's status in the catalog (its change goes to the union catalog like any other). */
  #setItem(recordId: string, barcode: string, change: Pick<HoldingData, "status" | "dueDate">): void {
    const rec = this.#o.catalog.get(recordId);
    if (!rec) return;
    const holdings = rec.holdings.map((h) => {
      if (h.barcode !== barcode) return h;
      const { dueDate: _old, ...rest } = h;
      return { ...rest, status: change.status, ...(change.dueDate ? { dueDate: change.dueDate } : {}) };
    });
    this.#o.catalog.setHoldings(recordId, holdings);
  }

  /**
   * An item lent to a visiting reader came back here: this library's own (the loan ends), or
   * another's (it goes back to its owner as a shipment, told to the owner, who tells the home).
   */
  returnItem(req: visitPb.ReturnFromVisitorRequest): visitPb.VisitLoan {
    const { store } = this.#o;
    const now = this.#now();
    const loanId = req.loanId.trim();
    const own = loanId
      ? store.loan(loanId, "lent")
      : req.itemBarcode.trim()
        ? store.openLoanOfItem(req.itemBarcode.trim())
        : undefined;
    if (!loanId && !req.itemBarcode.trim()) throw new VisitInputError("loan_id or item_barcode is required");
    if (!own && !loanId) throw new VisitNotFoundError(`item ${req.itemBarcode} is not on loan to a visitor`);
    if (own) {
      if (own.returned_at)
        throw new VisitRefusedError(
          own.shipment_id
            ? `loan ${own.loan_id} was returned at ${own.returned_at_agency_id}: take the shipment (visit receive ${own.shipment_id})`
            : `loan ${own.loan_id} was returned on ${own.returned_at}`,
        );
      const row = store.db.transaction(() => {
        const r: LoanRow = { ...own, returned_at: now.toISOString(), returned_at_agency_id: this.#o.self.id };
        store.upsertLoan(r);
        this.#setItem(r.record_id, r.item_barcode, { status: "available" });
        sendNotice(
          this.#o.outbox,
          this.#o.self.id,
          r.home_agency_id,
          noticeOf(VisitNoticeKind.RETURN, r, now),
        );
        return r;
      });
      this.#o.traffic?.add(TRAFFIC_KINDS.visit, "return", row.home_agency_id, this.#o.self.id);
      return loanMessage(row, now);
    }
    // Another library's item: the loan id names its owner.
    const owner = loanId.slice(0, loanId.indexOf(":"));
    const ownerInst = institutionsOf(this.#o.directory).get(owner);
    if (!ownerInst || owner === "")
      throw new VisitNotFoundError(`loan ${loanId} names no member of the federation`);
    const existing = store.loan(loanId, "shipment");
    if (existing) return loanMessage(existing, now);
    const row = store.db.transaction(() => {
      const r: LoanRow = {
        loan_id: loanId,
        role: "shipment",
        home_agency_id: "",
        owner_agency_id: owner,
        credential_id: "",
        reader_id: "",
        item_barcode: req.itemBarcode.trim(),
        record_id: "",
        title: "",
        lent_at: null,
        due_at: null,
        returned_at: now.toISOString(),
        returned_at_agency_id: this.#o.self.id,
        shipment_id: `${this.#o.self.id}:S${visit.newCredentialId()}`,
        tracking: req.tracking.trim(),
        received_at: null,
        overdue_at: null,
        fee_currency: "",
        fee_minor: 0,
      };
      store.upsertLoan(r);
      sendNotice(
        this.#o.outbox,
        this.#o.self.id,
        owner,
        noticeOf(VisitNoticeKind.RETURNED_ELSEWHERE, r, now),
      );
      return r;
    });
    this.#o.log.info(
      { loanId, owner, shipmentId: row.shipment_id },
      "visitor's return of another library's item: shipped to its owner",
    );
    return loanMessage(row, now);
  }

  /** The owner takes in the shipment of its item, returned at another library. */
  receiveShipment(shipmentId: string): visitPb.VisitLoan {
    const { store } = this.#o;
    const now = this.#now();
    const r = store.shipment(shipmentId.trim());
    if (r?.role !== "lent")
      throw new VisitNotFoundError(`no shipment ${shipmentId} of this library's items is expected`);
    if (r.received_at) return loanMessage(r, now);
    const row = store.db.transaction(() => {
      const next: LoanRow = { ...r, received_at: now.toISOString() };
      store.upsertLoan(next);
      this.#setItem(next.record_id, next.item_barcode, { status: "available" });
      const notice = noticeOf(VisitNoticeKind.SHIPMENT_RECEIVED, next, now);
      sendNotice(this.#o.outbox, this.#o.self.id, next.returned_at_agency_id, notice);
      sendNotice(this.#o.outbox, this.#o.self.id, next.home_agency_id, notice);
      return next;
    });
    return loanMessage(row, now);
  }

  /** Loans here past due are told to the readers' home libraries, once each. */
  sweepOverdue(): number {
    const { store } = this.#o;
    const now = this.#now();
    return store.db.transaction(() => {
      const due = store.overdueUnreported(now);
      for (const r of due) {
        const next = { ...r, overdue_at: now.toISOString() };
        store.upsertLoan(next);
        sendNotice(
          this.#o.outbox,
          this.#o.self.id,
          r.home_agency_id,
          noticeOf(VisitNoticeKind.OVERDUE, next, now),
        );
      }
      return due.length;
    });
  }

  /**
   * Home library: rotates the credential signing key. Credentials issued from now on are signed
   * with the new key; the directory entry changes at once and keeps the older keys while
   * credentials they signed are unexpired, so every credential out there still verifies offline.
   */
  rotateSigningKey(): visitPb.RotateSigningKeyResponse {
    const now = this.#now();
    const key = this.#o.store.rotateKey(now);
    const published = this.#o.store.publishedKeys(now);
    const until = this.#o.store.olderKeysUntil(now);
    this.#o.log.info(
      { keyId: key.keyId, published: published.map((k) => k.keyId), olderKeysUntil: until?.toISOString() },
      "visiting-reader signing key rotated",
    );
    this.#o.onBlocksChanged();
    return create(visitPb.RotateSigningKeyResponseSchema, {
      key: published.find((k) => k.keyId === key.keyId),
      published,
      ...(until ? { olderKeysUntil: timestampFromDate(until) } : {}),
    });
  }

  /** The directory entry's keys are out of date (an older key's last credential expired). */
  #keysChanged(): boolean {
    const now = this.#o.store
      .publishedKeys(this.#now())
      .map((k) => k.keyId)
      .join(" ");
    return this.#publishedKeyIds !== "" && now !== this.#publishedKeyIds;
  }

  /** Runs the overdue sweep once a minute until the signal aborts. */
  async run(signal: AbortSignal, everyMs = 60_000): Promise<void> {
    while (!signal.aborted) {
      try {
        const n = this.sweepOverdue();
        if (n > 0) this.#o.log.info({ overdue: n }, "overdue loans to visitors told to their home libraries");
        if (this.#keysChanged()) this.#o.onBlocksChanged();
      } catch (err) {
        this.#o.log.error({ err }, "overdue sweep failed");
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, everyMs);
        signal.addEventListener(
          "abort",
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
    }
  }

  list(req: visitPb.ListVisitsRequest): visitPb.ListVisitsResponse {
    const { store } = this.#o;
    const now = this.#now();
    const view = req.view;
    if (!["", "lent", "borrowed", "shipments", "credentials"].includes(view))
      throw new VisitInputError(`view: "${view}" is not one of lent, borrowed, shipments, credentials`);
    const want = (v: string) => view === "" || view === v;
    return create(visitPb.ListVisitsResponseSchema, {
      lent: want("lent") ? store.loans("lent", req.openOnly).map((r) => loanMessage(r, now)) : [],
      borrowed: want("borrowed") ? store.loans("borrowed", req.openOnly).map((r) => loanMessage(r, now)) : [],
      shipments: want("shipments")
        ? store.loans("shipment", req.openOnly).map((r) => loanMessage(r, now))
        : [],
      credentials: want("credentials")
        ? store.credentials().map((c) =>
            create(visitPb.VisitCredentialRowSchema, {
              body: visit.credentialBody(visit.parseToken(c.token)),
              readerRef: c.reader_ref,
              blockReason: c.block_reason ?? "",
              ...(c.blocked_at ? { blockedAt: timestampFromDate(new Date(c.blocked_at)) } : {}),
            }),
          )
        : [],
      counts: store.counts(),
    });
  }

  // ---- notices from other members ----

  /** Applies a visit notice for this member, once by message id. */
  receive(
    messageId: string,
    origin: string,
    n: visitPb.VisitNotice,
  ): { duplicate: boolean; disposition: string } {
    const { store } = this.#o;
    const now = this.#now();
    return store.db.transaction(() => {
      const kind = VisitNoticeKind[n.kind] ?? String(n.kind);
      if (store.seen(messageId, kind, n.loanId, origin, now))
        return { duplicate: true, disposition: "duplicate" };
      const at = n.at ? timestampDate(n.at).toISOString() : now.toISOString();
      // Only the library that lent an item speaks for its loan (the relay vouches for the origin;
      // the loan id names the lender): a return elsewhere is the one notice from another library.
      const owner = n.loanId.slice(0, n.loanId.indexOf(":"));
      if (n.kind !== VisitNoticeKind.RETURNED_ELSEWHERE && owner !== origin) {
        this.#o.log.warn(
          { loanId: n.loanId, from: origin, kind },
          "visit notice about another library's loan ignored",
        );
        return { duplicate: false, disposition: `refused: ${origin} did not make loan ${n.loanId}` };
      }
      const iso = (t?: { seconds: bigint }) => (t ? timestampDate(t as never).toISOString() : null);
      switch (n.kind) {
        case VisitNoticeKind.LOAN: {
          store.releaseHold(n.loanId);
          store.upsertLoan({
            loan_id: n.loanId,
            role: "borrowed",
            home_agency_id: this.#o.self.id,
            owner_agency_id: origin,
            credential_id: n.credentialId,
            reader_id: n.readerId,
            item_barcode: n.itemBarcode,
            title: n.title,
            lent_at: iso(n.lentAt),
            due_at: iso(n.dueAt),
            fee_currency: n.feeCurrency,
            fee_minor: Number(n.feeMinor),
          });
          this.#charge(origin, n, now);
          return { duplicate: false, disposition: `loan ${n.loanId} recorded` };
        }
        case VisitNoticeKind.RETURN:
          store.upsertLoan({
            loan_id: n.loanId,
            role: "borrowed",
            home_agency_id: this.#o.self.id,
            owner_agency_id: n.ownerAgencyId || origin,
            returned_at: at,
            returned_at_agency_id: n.returnedAtAgencyId || origin,
            shipment_id: n.shipmentId,
            tracking: n.tracking,
          });
          return { duplicate: false, disposition: `return of ${n.loanId} recorded` };
        case VisitNoticeKind.OVERDUE:
          store.upsertLoan({
            loan_id: n.loanId,
            role: "borrowed",
            home_agency_id: this.#o.self.id,
            owner_agency_id: origin,
            overdue_at: at,
          });
          return { duplicate: false, disposition: `${n.loanId} overdue` };
        case VisitNoticeKind.RETURNED_ELSEWHERE: {
          const r = store.loan(n.loanId, "lent");
          if (!r) {
            this.#o.log.warn(
              { loanId: n.loanId, from: origin },
              "return elsewhere of a loan this library did not make",
            );
            return { duplicate: false, disposition: `no loan ${n.loanId} here` };
          }
          if (r.returned_at) return { duplicate: false, disposition: `${n.loanId} was returned already` };
          const next: LoanRow = {
            ...r,
            returned_at: at,
            returned_at_agency_id: origin,
            shipment_id: n.shipmentId,
            tracking: n.tracking,
          };
          store.upsertLoan(next);
          this.#setItem(r.record_id, r.item_barcode, { status: "in_transit" });
          sendNotice(
            this.#o.outbox,
            this.#o.self.id,
            r.home_agency_id,
            noticeOf(VisitNoticeKind.RETURN, next, now),
          );
          return { duplicate: false, disposition: `${n.loanId} returned at ${origin}, in transit` };
        }
        case VisitNoticeKind.SHIPMENT_RECEIVED: {
          const role = store.loan(n.loanId, "shipment") ? "shipment" : "borrowed";
          store.upsertLoan({
            loan_id: n.loanId,
            role,
            home_agency_id: n.homeAgencyId,
            owner_agency_id: n.ownerAgencyId || origin,
            returned_at_agency_id: n.returnedAtAgencyId,
            shipment_id: n.shipmentId,
            received_at: at,
          });
          return { duplicate: false, disposition: `shipment ${n.shipmentId} received by ${origin}` };
        }
        default:
          throw new VisitInputError(`visitNotice.kind: ${n.kind} is not a notice this member knows`);
      }
    });
  }

  /** The charge for a loan of one of our readers, as the lender's published policy allows. */
  #charge(owner: string, n: visitPb.VisitNotice, now: Date): void {
    if (!this.#o.ledger || n.feeMinor <= 0n || n.feeCurrency === "") return;
    const published = institutionsOf(this.#o.directory).get(owner)?.visitingPolicy;
    if (!published || published.feeCurrency !== n.feeCurrency) {
      this.#o.log.warn(
        { loanId: n.loanId, owner },
        "visit loan fee not posted: the lender publishes no such fee",
      );
      return;
    }
    // biome-ignore lint/complexity/useMathMinMax: bigint amounts; Math.min takes numbers only
    const minor = n.feeMinor < published.feePerLoanMinor ? n.feeMinor : published.feePerLoanMinor;
    this.#o.ledger.chargeVisitLoan({
      loanId: n.loanId,
      ownerId: owner,
      money: { currency: n.feeCurrency, minor },
      at: now,
      title: n.title,
    });
  }
}

function sameCredential(a: visitPb.VisitCredential, b: visitPb.VisitCredential): boolean {
  return (
    Buffer.from(a.body).equals(Buffer.from(b.body)) &&
    Buffer.from(a.signature).equals(Buffer.from(b.signature))
  );
}

function safeBody(c: visitPb.VisitCredential): visitPb.VisitCredentialBody | undefined {
  try {
    return visit.credentialBody(c);
  } catch {
    return undefined;
  }
}
