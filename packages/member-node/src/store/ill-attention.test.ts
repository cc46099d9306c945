import { create, toBinary } from "@bufbuild/protobuf";
import { type Database, illPb } from "@lrs/shared";
import { memoryDatabase } from "@lrs/shared/testing";
import { describe, expect, it } from "vitest";
import { illAttention } from "./ill-attention.js";
import { memberMigrations } from "./migrations.js";

const NOW = new Date("2026-11-20T12:00:00Z");
const DAY = 86_400_000;

function open(): Database {
  const db = memoryDatabase(memberMigrations);
  return db;
}

function put(
  db: Database,
  id: string,
  role: "borrower" | "lender",
  state: string,
  o: { due?: Date; changed?: Date; attention?: string; title?: string } = {},
): void {
  const changed = (o.changed ?? NOW).toISOString();
  db.sqlite
    .prepare(
      `INSERT INTO ill_requests (id, role, state, service_type, partner, bibliographic_info, due_date, attention,
         last_transition_at, created_at, updated_at)
       VALUES (?, ?, ?, 1, 'south-a', ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      id,
      role,
      state,
      Buffer.from(
        toBinary(
          illPb.BibliographicInfoSchema,
          create(illPb.BibliographicInfoSchema, { title: o.title ?? id }),
        ),
      ),
      o.due?.toISOString() ?? null,
      o.attention ?? null,
      changed,
      changed,
      changed,
    );
}

describe("ILL requests that need attention", () => {
  it("finds loans past their due date, requests unchanged for a week, and those marked for staff", () => {
    const db = open();
    put(db, "late", "borrower", "received", { due: new Date(NOW.getTime() - 2 * DAY), title: "A late book" });
    put(db, "out-ok", "lender", "shipped", {
      due: new Date(NOW.getTime() + 9 * DAY),
      changed: new Date(NOW.getTime() - 20 * DAY),
    });
    put(db, "overdue", "lender", "overdue");
    put(db, "stuck", "borrower", "sent_to_supplier", { changed: new Date(NOW.getTime() - 8 * DAY) });
    put(db, "fresh", "borrower", "sent_to_supplier", { changed: new Date(NOW.getTime() - DAY) });
    put(db, "flagged", "borrower", "will_supply", { attention: "south-a refused our message: ERROR" });
    put(db, "done", "borrower", "completed", { changed: new Date(NOW.getTime() - 30 * DAY) });
    const a = illAttention(db, NOW);
    expect(a).toMatchObject({ open: 6, overdue: 2, stale: 1, attention: 1 });
    expect(a.items.map((i) => [i.requestId, i.reason])).toEqual([
      ["late", "overdue"],
      ["overdue", "overdue"],
      ["flagged", "attention"],
      ["stuck", "stale"],
    ]);
    const late = a.items[0]!;
    expect(late.title).toBe("A late book");
    expect(late.note).toBe(`due ${new Date(NOW.getTime() - 2 * DAY).toISOString().slice(0, 10)}`);
    expect(a.items[2]!.note).toMatch(/refused our message/);
  });
});
