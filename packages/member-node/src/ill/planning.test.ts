// Transition planning without a database: rows made by the planning functions themselves, plans
// checked as values, messages decoded from the plan's payloads.
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { illPb } from "@lrs/shared";
import { describe, expect, it } from "vitest";
import { IllInputError } from "./errors.js";
import { ILL_KINDS } from "./messages.js";
import {
  borrowingRow,
  checkBorrowing,
  checkIncomingRequest,
  lendingRow,
  type PlanContext,
  type Planned,
  planRequester,
  planSupplier,
  type Refused,
  timerChanges,
  validRota,
} from "./planning.js";
import type { BorrowingInput } from "./request.js";
import type { Row } from "./request-row.js";

const DAY = 86_400_000;
const T0 = new Date("2025-03-10T09:00:00Z");
const RULES = { defaultResponseTimeMs: 3 * DAY, answerTimeoutMs: 7 * DAY };

function context(agencyId: string, o: Partial<PlanContext> = {}): PlanContext {
  let n = 0;
  return {
    agencyId,
    agencyIdType: "LRS",
    now: () => T0,
    newId: () => `m${++n}`,
    loanPeriodMs: 28 * DAY,
    ...o,
  };
}

function planned(p: Planned | Refused): Planned {
  if ("refused" in p) throw new Error(`refused: ${p.refused}`);
  return p;
}

const BOOK: BorrowingInput = {
  patronId: " p-1 ",
  serviceType: illPb.ServiceType.LOAN,
  bibliographicInfo: { title: "The Left Hand of Darkness!", author: "Le Guin, Ursula K." },
};

function newBorrowing(input: BorrowingInput = BOOK, duplicateOf?: string): Row {
  return borrowingRow(input, checkBorrowing(input), { id: "b1", now: T0, duplicateOf });
}

describe("a new borrowing request", () => {
  it("is keyed by its normalised title, an article by its component too, a bare ISBN by the identifier", () => {
    expect(checkBorrowing(BOOK)).toMatchObject({
      patronId: "p-1",
      titleKey: "the left hand of darkness",
      component: "",
    });
    const article = checkBorrowing({
      ...BOOK,
      serviceType: illPb.ServiceType.COPY,
      bibliographicInfo: {
        title: "Nature",
        titleOfComponent: "Carpal tunnel",
        volume: ["12"],
        pagesRequested: "3-9",
      },
    });
    expect(article.titleKey).toBe("nature / carpal tunnel / 12 / 3 9");
    expect(article.component).toBe("carpal tunnel / 12 / 3 9");
    const byIsbn = checkBorrowing({
      ...BOOK,
      bibliographicInfo: {
        bibliographicItemId: [
          { bibliographicItemIdentifierCode: "ISBN", bibliographicItemIdentifier: "0-441-47812-3" },
        ],
      },
    });
    expect(byIsbn.titleKey).toBe("id:isbn:9780441478125");
  });

  it("names the field that is wrong", () => {
    const wrong = (input: BorrowingInput) => {
      try {
        checkBorrowing(input);
      } catch (err) {
        return err instanceof IllInputError ? err.message : "not an IllInputError";
      }
      return "accepted";
    };
    expect(wrong({ ...BOOK, patronId: " " })).toMatch(/patronId/);
    expect(wrong({ ...BOOK, bibliographicInfo: {} })).toMatch(
      /bibliographicInfo.*cluster id, a title or an identifier/,
    );
    expect(wrong({ ...BOOK, needBefore: new Date("never") })).toMatch(/needBefore/);
    expect(wrong({ ...BOOK, maximumCost: "lots" })).toMatch(/maximumCost/);
  });

  it("is validated, or goes to review as a duplicate saying the copyright reason too", () => {
    const ok = planned(planRequester(context("B"), newBorrowing(), "validate", T0, {}));
    expect(ok).toMatchObject({ from: "new", to: "validated", outgoing: [] });
    expect(ok.attention).toBeUndefined();
    const over = context("B", { copyrightCheck: () => "the sixth copy from Nature this year" });
    const dup = planned(planRequester(over, newBorrowing(BOOK, "b0"), "validate", T0, { note: "again" }));
    expect(dup.to).toBe("review");
    expect(dup.detail.note).toBe("again; the sixth copy from Nature this year");
    expect(dup.attention).toBe(
      "copyright: the sixth copy from Nature this year (approve to send it all the same, or cancel)",
    );
    // Approving clears the copyright notice.
    const approved = planned(
      planRequester(over, { ...dup.next, attention: dup.attention ?? null }, "approve", T0, {}),
    );
    expect(approved.attention).toBeNull();
  });
});

describe("sending to the rota", () => {
  const rota = validRota(
    [
      { agencyId: "L1", reason: "own region", recordId: "rec-7", responseTimeSeconds: 3600 },
      { agencyId: "L2", reason: "other region" },
    ],
    "rota",
  );

  function sent(): Planned {
    const ctx = context("B");
    const validated = planned(planRequester(ctx, newBorrowing(), "validate", T0, {})).next;
    return planned(planRequester(ctx, { ...validated, rota: JSON.stringify(rota) }, "send", T0, {}));
  }

  it("sends the Request to the first lender, naming its record, and starts its response timer", () => {
    const plan = sent();
    expect(plan.to).toBe("sent_to_supplier");
    expect(plan.next).toMatchObject({
      partner: "L1",
      rota_position: 0,
      requesting_agency_request_id: "b1/0",
    });
    expect(plan.outgoing.map((m) => m.kind)).toEqual([ILL_KINDS.request]);
    expect(plan.detail.sent).toEqual([plan.outgoing[0]?.messageId]);
    const req = fromBinary(illPb.RequestSchema, plan.outgoing[0]!.payload);
    expect(req.header).toMatchObject({
      requestingAgencyId: { agencyIdValue: "B" },
      supplyingAgencyId: { agencyIdValue: "L1" },
      requestingAgencyRequestId: "b1/0",
    });
    expect(req.supplierInfo[0]?.bibliographicRecordId?.bibliographicRecordIdentifier).toBe("rec-7");
    expect(req.patronInfo?.patronId).toBe("p-1");
    expect(timerChanges(plan, RULES)).toContainEqual({
      op: "set",
      kind: "response",
      dueAt: new Date(T0.getTime() + 3_600_000),
    });
  });

  it("refuses a rota entry without an agency", () => {
    expect(() => validRota([{ agencyId: " ", reason: "x" }], "rota")).toThrow(/rota\[0\]\.agencyId/);
  });
});

describe("lending", () => {
  function incoming(): illPb.Request {
    const ctx = context("B");
    const validated = planned(planRequester(ctx, newBorrowing(), "validate", T0, {})).next;
    const rota = JSON.stringify([{ agencyId: "L1", reason: "own region", recordId: "rec-7" }]);
    const plan = planned(planRequester(ctx, { ...validated, rota }, "send", T0, {}));
    return fromBinary(illPb.RequestSchema, plan.outgoing[0]!.payload);
  }

  function lenderRow(): Row {
    const msg = incoming();
    return lendingRow(msg, checkIncomingRequest(msg, "m1", "L1"), {
      id: "l1",
      now: T0,
      agencyId: "L1",
      maxRenewals: 1,
    });
  }

  it("takes the Request as it came, with its own record id, and refuses one for another member", () => {
    expect(lenderRow()).toMatchObject({
      role: "lender",
      state: "new",
      partner: "B",
      requesting_agency_request_id: "b1/0",
      record_id: "rec-7",
      patron_id: null,
      title_key: "the left hand of darkness",
    });
    expect(() => checkIncomingRequest(incoming(), "m1", "L9")).toThrow(/header\.supplyingAgencyId: names L1/);
  });

  it("ships with the loan period as due date, tells the borrower, and starts the due timer", () => {
    const ctx = context("L1");
    const yes = planned(planSupplier(ctx, lenderRow(), "respond_yes", T0, {}, {}));
    expect(yes.to).toBe("will_supply");
    const at = new Date(T0.getTime() + DAY);
    const shipped = planned(planSupplier(ctx, yes.next, "ship", at, {}, { note: "mind the cover" }));
    const due = new Date(at.getTime() + 28 * DAY);
    expect(shipped.next.due_date).toBe(due.toISOString());
    const sam = fromBinary(illPb.SupplyingAgencyMessageSchema, shipped.outgoing[0]!.payload);
    expect(sam.statusInfo?.status).toBe(illPb.Status.LOANED);
    expect(sam.messageInfo?.note).toBe("mind the cover");
    expect(timestampDate(sam.statusInfo!.dueDate!)).toEqual(due);
    expect(timerChanges(shipped, RULES)).toContainEqual({ op: "set", kind: "due", dueAt: due });
  });

  it("refuses what the state does not allow, and a due date that is no date", () => {
    const ctx = context("L1");
    expect(planSupplier(ctx, lenderRow(), "check_in", T0, {}, {})).toHaveProperty("refused");
    const yes = planned(planSupplier(ctx, lenderRow(), "respond_yes", T0, {}, {}));
    expect(planSupplier(ctx, yes.next, "ship", T0, {}, { dueDate: new Date("never") })).toEqual({
      refused: "the due date is not a valid date",
    });
  });

  it("clears every timer but a copy's expiry when the request ends", () => {
    const ctx = context("L1");
    const no = planned(planSupplier(ctx, lenderRow(), "respond_no", T0, {}, {}));
    expect(no.to).toBe("unfilled");
    expect(timerChanges(no, RULES)).toEqual([{ op: "clear" }]);
  });
});
