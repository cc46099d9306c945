import { illPb, Outbox } from "@lrs/shared";
import { memoryDatabase } from "@lrs/shared/testing";
import { describe, expect, it } from "vitest";
import { memberMigrations } from "../store/migrations.js";
import { illNotifyEvents, notifyKindOf } from "./notify-events.js";
import type { TransitionRow } from "./request-row.js";
import { IllStore } from "./store.js";

const row = (from: string | null, to: string, event = "x"): TransitionRow => ({
  seq: 1,
  request_id: "r",
  from_state: from,
  to_state: to,
  event,
  at: "2026-12-05T10:00:00.000Z",
  detail: "{}",
});

describe("the ILL events staff are notified of", () => {
  it("names each kind from a timeline entry", () => {
    expect(notifyKindOf(row(null, "new", "created"), "lender", {})).toBe("lending_request");
    expect(notifyKindOf(row(null, "new", "created"), "borrower", {})).toBeUndefined();
    expect(notifyKindOf(row("shipped", "received", "receive"), "borrower", {})).toBe("arrived");
    expect(notifyKindOf(row("received", "received", "due_date_passed"), "borrower", {})).toBe("overdue");
    expect(notifyKindOf(row("received_by_borrower", "overdue", "mark_overdue"), "lender", {})).toBe(
      "overdue",
    );
    expect(notifyKindOf(row("overdue", "overdue", "notification"), "lender", {})).toBeUndefined();
    expect(notifyKindOf(row("will_supply", "copy_completed"), "borrower", {})).toBe("copy_ready");
    expect(notifyKindOf(row("sent_to_supplier", "conditional"), "borrower", {})).toBe("attention");
    expect(notifyKindOf(row("shipped", "renew_requested"), "lender", {})).toBe("attention");
    expect(notifyKindOf(row("new", "new", "message_refused"), "lender", { attention: "look" })).toBe(
      "attention",
    );
    expect(notifyKindOf(row("new", "new", "ncip"), "lender", { note: "just a note" })).toBeUndefined();
  });

  it("reads from a cursor that starts at the present, with what staff were asked to look at", () => {
    const db = memoryDatabase(memberMigrations);
    const store = new IllStore({ db, outbox: new Outbox(db), agencyId: "north-a" });
    const source = illNotifyEvents(db);
    const before = store.createBorrowing({
      patronId: "p-1",
      serviceType: illPb.ServiceType.LOAN,
      bibliographicInfo: { title: "An old request" },
    });
    const start = source.read("", 100);
    expect(start.events).toEqual([]);
    const req = store.createBorrowing({
      patronId: "p-2",
      serviceType: illPb.ServiceType.LOAN,
      bibliographicInfo: { title: "Gray's anatomy" },
    });
    store.note(req.id, "rota_refused", "the regional center refused", { attention: "no rota: correct it" });
    store.note(before.id, "copy_deleted", "a note only");
    const next = source.read(start.cursor, 100);
    expect(next.events).toEqual([
      expect.objectContaining({
        kind: "attention",
        requestId: req.id,
        role: "borrower",
        title: "Gray's anatomy",
        text: "no rota: correct it",
      }),
    ]);
    expect(Number(next.cursor)).toBeGreaterThan(Number(start.cursor));
    expect(source.read(next.cursor, 100)).toEqual({ events: [], cursor: next.cursor });
  });
});
