import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import {
  createLogger,
  Database,
  LEDGER_DESTINATION,
  ledgerPb,
  Outbox,
  postingsOfPayload,
  sharedMigrations,
  toConnectError,
} from "@lrs/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LedgerRelay } from "./ledger-relay.js";
import { regionalMigrations } from "./migrations.js";

const log = createLogger("test");

function posting(over: MessageInitShape<typeof ledgerPb.LedgerPostingSchema> = {}): ledgerPb.LedgerPosting {
  return create(ledgerPb.LedgerPostingSchema, {
    entryId: "north-a:r1/charge",
    transactionId: "r1",
    kind: "loan",
    payerId: "north-a",
    payeeId: "south-a",
    currency: "EUR",
    amountMinor: 850n,
    postedAt: timestampFromDate(new Date("2026-11-03T10:00:00Z")),
    period: "2026-11",
    ...over,
  });
}

let db: Database;
let outbox: Outbox;
let relay: LedgerRelay;
beforeEach(() => {
  db = Database.open(":memory:", [...sharedMigrations, ...regionalMigrations]);
  outbox = new Outbox(db);
  relay = new LedgerRelay({ db, outbox, log });
});
afterEach(() => db.close());

/** The postings queued for the national center, in order. */
function queued(): string[] {
  const out: string[] = [];
  for (
    let m = outbox.nextDue(LEDGER_DESTINATION);
    m && !("waitMs" in m);
    m = outbox.nextDue(LEDGER_DESTINATION)
  ) {
    out.push(...postingsOfPayload(m.payload).postings.map((p) => p.entryId));
    outbox.markDelivered(m.seq);
  }
  return out;
}

describe("postings through a regional center", () => {
  it("stores a member's posting and queues it for the national center, once", () => {
    expect(relay.post([posting()], "north-a")).toEqual({ accepted: 1, duplicates: 0 });
    expect(relay.post([posting()], "north-a")).toEqual({ accepted: 0, duplicates: 1 });
    expect(queued()).toEqual(["north-a:r1/charge"]);
    const reversal = posting({
      entryId: "north-a:r1/charge/reversal",
      kind: "reversal",
      reversesEntryId: "north-a:r1/charge",
    });
    expect(relay.post([posting(), reversal], "north-a")).toEqual({ accepted: 1, duplicates: 1 });
    expect(queued()).toEqual(["north-a:r1/charge/reversal"]);
    const [first, second] = relay.list("r1");
    expect(first!.receivedFrom).toBe("north-a");
    expect(first!.forwardedAt).toBeInstanceOf(Date);
    expect(second!.posting.kind).toBe("reversal");
    expect(relay.list("r2")).toEqual([]);
  });

  it("refuses a posting with another payer, naming the entry (PermissionDenied), and stores none of the call", () => {
    const theirs = posting({ entryId: "north-b:r9/charge", payerId: "north-b", payeeId: "north-a" });
    const call = () =>
      relay.post([posting({ entryId: "north-a:r2/charge", transactionId: "r2" }), theirs], "north-a");
    expect(call).toThrow(
      'posting 2 (entry "north-b:r9/charge"): payer is north-b; north-a may post its own charges only, as the payer',
    );
    let err: unknown;
    try {
      call();
    } catch (e) {
      err = e;
    }
    expect(toConnectError(err).code).toBe(Code.PermissionDenied);
    expect(relay.list()).toEqual([]);
    expect(queued()).toEqual([]);
  });

  it("refuses an entry id that is not the member's own", () => {
    expect(() => relay.post([posting({ entryId: "north-b:r1/charge" })], "north-a")).toThrow(
      /entry ids begin with "north-a:"/,
    );
  });

  it("refuses a changed posting under a known entry id (AlreadyExists), and a malformed one (InvalidArgument)", () => {
    relay.post([posting()], "north-a");
    let err: unknown;
    try {
      relay.post([posting({ amountMinor: 900n })], "north-a");
    } catch (e) {
      err = e;
    }
    expect(toConnectError(err).code).toBe(Code.AlreadyExists);
    expect((err as Error).message).toMatch(/north-a:r1\/charge"\): was posted before with other contents/);
    try {
      relay.post([posting({ entryId: "north-a:r3/charge", currency: "EURO" })], "north-a");
    } catch (e) {
      err = e;
    }
    expect(toConnectError(err).code).toBe(Code.InvalidArgument);
    expect((err as Error).message).toMatch(/currency "EURO"/);
  });
});
