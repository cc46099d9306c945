// The visit desk of two members over in-memory databases: north-a issues and blocks, south-a
// checks offline (the directory's keys and block list) and online (a router standing in for the
// tiers, answered by north-a's desk); notices are applied once by message id.
import { create, fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import {
  createLogger,
  type DirectorySource,
  type directoryPb,
  illServicePb,
  Outbox,
  visitPb,
} from "@lrs/shared";
import { lendingPolicy, memoryDatabase, shelfItem, standardDirectory } from "@lrs/shared/testing";
import { beforeEach, describe, expect, it } from "vitest";
import { ILL_DESTINATION } from "../ill/messages.js";
import { MemberCatalog } from "../store/catalog.js";
import { memberMigrations } from "../store/migrations.js";
import { VISIT_HOLD_MS, VisitDesk } from "./desk.js";
import { VisitStore } from "./store.js";

const NOW = new Date("2026-12-05T10:00:00Z");
const DAY = 86_400_000;

let directory: directoryPb.Directory;
const source: DirectorySource = {
  current: () => directory,
  onChange: () => () => {},
  isRevoked: () => false,
};

function desk(
  id: string,
  region: string,
  opts: {
    now?: () => Date;
    parent?: VisitDesk;
    catalog?: (c: MemberCatalog) => void;
    outbox?: (o: Outbox) => void;
  } = {},
): VisitDesk {
  const db = memoryDatabase(memberMigrations);
  const parent = opts.parent;
  const catalog = new MemberCatalog(db, id);
  opts.catalog?.(catalog);
  const outbox = new Outbox(db);
  opts.outbox?.(outbox);
  return new VisitDesk({
    store: new VisitStore(db),
    outbox,
    catalog,
    directory: source,
    self: { id, region },
    policy: lendingPolicy({
      visiting: { ...lendingPolicy().visiting, serves_visitors: true, federation: true, max_loans: 2 },
    }),
    parent: () =>
      createClient(
        visitPb.VisitService,
        createRouterTransport(({ service }) => {
          service(visitPb.VisitService, {
            checkVisitor: (req) => {
              if (!parent) throw new Error("unreachable");
              return parent.answer(req);
            },
          });
        }),
      ),
    onBlocksChanged: () => publish(home),
    log: createLogger(`test:${id}`),
    now: opts.now ?? (() => NOW),
  });
}

let home: VisitDesk;
/** north-a's directory entry as its node would register it. */
function publish(d: VisitDesk): void {
  directory = standardDirectory();
  const self = d.describeSelf();
  const north = directory.institutions.find((i) => i.id === "north-a")!;
  north.visitKeys = self.visitKeys;
  north.blockedVisitCredentials = self.blockedVisitCredentials;
}

beforeEach(() => {
  directory = standardDirectory();
  home = desk("north-a", "north");
  publish(home);
});

describe("the visit desk", () => {
  it("checks a credential offline against the directory: good, tampered, expired, unknown key", async () => {
    const c = home.issue(create(visitPb.IssueCredentialRequestSchema, { readerRef: "P-1", maxLoans: 3 }));
    expect(c.readerId).toMatch(/^r-/);
    const visited = desk("south-a", "south");
    const good = await visited.check(c.token, true);
    expect(good.response).toMatchObject({ mayBorrow: true, signatureValid: true, online: false });

    const [p, b, s] = c.token.split(".");
    const body = Buffer.from(b!, "base64url");
    // The reader id, changed by one letter.
    const at = body.indexOf(Buffer.from(c.readerId)) + 3;
    body[at] = body[at] === 0x61 ? 0x62 : 0x61;
    const tampered = await visited.check(`${p}.${body.toString("base64url")}.${s}`, true);
    expect(tampered.response.mayBorrow).toBe(false);
    expect(tampered.response.reasons.join()).toMatch(/signature: does not match/);

    const later = desk("south-a", "south", { now: () => new Date(NOW.getTime() + 31 * DAY) });
    const expired = await later.check(c.token, true);
    expect(expired.response.mayBorrow).toBe(false);
    expect(expired.response.reasons.join()).toMatch(/expired/);

    directory = standardDirectory();
    const unknown = await visited.check(c.token, true);
    expect(unknown.response.mayBorrow).toBe(false);
    expect(unknown.response.reasons.join()).toMatch(/not a key north-a publishes/);
  });

  it("asks the home library online (short code included), which refuses a blocked credential", async () => {
    const c = home.issue(create(visitPb.IssueCredentialRequestSchema, { readerRef: "P-2" }));
    const visited = desk("south-a", "south", { parent: home });
    const online = await visited.check(c.shortCode, false);
    expect(online.response).toMatchObject({
      mayBorrow: true,
      online: true,
      signatureValid: true,
      standing: visitPb.VisitStanding.GOOD,
    });
    home.block(create(visitPb.BlockCredentialRequestSchema, { readerRef: "P-2", reason: "lost" }));
    const blocked = await visited.check(c.shortCode, false);
    expect(blocked.response.mayBorrow).toBe(false);
    expect(blocked.response.reasons).toContain("blocked at north-a: lost");
    // Offline, through the block list the directory now carries.
    const offline = await visited.check(c.token, true);
    expect(offline.response.mayBorrow).toBe(false);
    expect(offline.response.reasons.join()).toMatch(/block list/);
    // A short code cannot be checked without the home library.
    const cut = desk("south-a", "south");
    await expect(cut.check(c.shortCode, false)).rejects.toThrow(/checked online only/);
  });

  it("tells the home library once of a loan gone overdue, which then shows it overdue", async () => {
    let now = NOW;
    let outbox: Outbox | undefined;
    const visited = desk("south-a", "south", {
      now: () => now,
      catalog: (c) =>
        c.upsert(
          {
            leader: "00000nam a2200000 a 4500",
            fields: [
              { tag: "001", value: "s1" },
              { tag: "245", ind1: "0", ind2: "0", subfields: [{ code: "a", value: "A book to lend" }] },
            ],
          },
          [shelfItem("S-1")],
        ),
      outbox: (o) => {
        outbox = o;
      },
    });
    const c = home.issue(create(visitPb.IssueCredentialRequestSchema, { readerRef: "P-3" }));
    const lent = await visited.lend(
      create(visitPb.LendToVisitorRequestSchema, { credential: c.token, itemBarcode: "S-1", offline: true }),
    );
    expect(visited.sweepOverdue()).toBe(0);
    // Past the due date (21 days by default): one notice, and none the next minute.
    now = new Date(NOW.getTime() + 22 * DAY);
    expect(visited.sweepOverdue()).toBe(1);
    expect(visited.sweepOverdue()).toBe(0);
    // What went into the outbox for the parent link, in order.
    const notices: visitPb.VisitNotice[] = [];
    for (;;) {
      const m = outbox!.nextDue(ILL_DESTINATION, Number.MAX_SAFE_INTEGER);
      if (!m || !("seq" in m)) break;
      const env = fromBinary(illServicePb.IllEnvelopeSchema, m.payload);
      expect(env.destinationAgencyId).toBe("north-a");
      if (env.message.case === "visitNotice") notices.push(env.message.value);
      outbox!.markDelivered(m.seq);
    }
    expect(notices.map((n) => n.kind)).toEqual([
      visitPb.VisitNoticeKind.LOAN,
      visitPb.VisitNoticeKind.OVERDUE,
    ]);
    // At home, in arrival order: the loan, then its overdue.
    for (const [i, n] of notices.entries()) home.receive(`m-${i}`, "south-a", n);
    const borrowed = home.list(create(visitPb.ListVisitsRequestSchema, { view: "borrowed" })).borrowed;
    expect(borrowed.map((l) => [l.loanId, l.state])).toEqual([[lent.loan!.loanId, "overdue"]]);
  });

  it("applies a loan notice once, however often it arrives", () => {
    const notice = create(visitPb.VisitNoticeSchema, {
      kind: visitPb.VisitNoticeKind.LOAN,
      loanId: "south-a:ABCDEFGHJK",
      homeAgencyId: "north-a",
      ownerAgencyId: "south-a",
      credentialId: "X",
      readerId: "r-x",
      title: "A book",
    });
    expect(home.receive("m-1", "south-a", notice).duplicate).toBe(false);
    expect(home.receive("m-1", "south-a", notice).duplicate).toBe(true);
    const listed = home.list(create(visitPb.ListVisitsRequestSchema, { view: "borrowed" }));
    expect(listed.borrowed.map((l) => [l.loanId, l.state])).toEqual([["south-a:ABCDEFGHJK", "on-loan"]]);
    expect(listed.counts.find((c) => c.institutionId === "south-a")?.borrowedFrom).toBe(1n);
  });

  it("holds a slot at home for a loan being made, so a second library's check sees it; the notice confirms it, time lapses it", async () => {
    let now = NOW;
    home = desk("north-a", "north", { now: () => now });
    publish(home);
    const book = (barcode: string) => (c: MemberCatalog) =>
      c.upsert(
        {
          leader: "00000nam a2200000 a 4500",
          fields: [
            { tag: "001", value: `r-${barcode}` },
            { tag: "245", ind1: "0", ind2: "0", subfields: [{ code: "a", value: "A book to lend" }] },
          ],
        },
        [shelfItem(barcode)],
      );
    let southOut: Outbox | undefined;
    const south = desk("south-a", "south", {
      now: () => now,
      parent: home,
      catalog: book("S-1"),
      outbox: (o) => (southOut = o),
    });
    const east = desk("north-b", "north", { now: () => now, parent: home, catalog: book("E-1") });
    const c = home.issue(create(visitPb.IssueCredentialRequestSchema, { readerRef: "P-9", maxLoans: 1 }));
    const lend = (d: VisitDesk, barcode: string) =>
      d.lend(create(visitPb.LendToVisitorRequestSchema, { credential: c.token, itemBarcode: barcode }));

    // South lends; its notice has not reached home yet: east's check sees the hold all the same.
    const lent = await lend(south, "S-1");
    await expect(lend(east, "E-1")).rejects.toThrow(
      /the reader has 1 items on loan, the most north-a allows/,
    );

    // The notice arrives: the hold is the loan now, still one.
    const m = southOut!.nextDue(ILL_DESTINATION, Number.MAX_SAFE_INTEGER);
    const env = fromBinary(illServicePb.IllEnvelopeSchema, (m as { payload: Uint8Array }).payload);
    home.receive("m-loan", "south-a", env.message.value as visitPb.VisitNotice);
    const again = await east.check(c.token, false);
    expect(again.response.loansOut).toBe(1);
    expect(again.response.mayBorrow).toBe(false);
    expect(
      home.list(create(visitPb.ListVisitsRequestSchema, { view: "borrowed" })).borrowed.map((l) => l.loanId),
    ).toEqual([lent.loan!.loanId]);

    // A check that held a slot for a loan never made: the slot lapses after the hold's time.
    const c2 = home.issue(create(visitPb.IssueCredentialRequestSchema, { readerRef: "P-10", maxLoans: 1 }));
    const held = await south.check(c2.token, false, "south-a:NEVERLENT0");
    expect(held.response.mayBorrow).toBe(true);
    expect((await east.check(c2.token, false, "north-b:OTHERLOAN0")).response.mayBorrow).toBe(false);
    // The same loan asking again is not counted against itself.
    expect((await south.check(c2.token, false, "south-a:NEVERLENT0")).response.mayBorrow).toBe(true);
    now = new Date(now.getTime() + VISIT_HOLD_MS + 1000);
    expect((await east.check(c2.token, false, "north-b:OTHERLOAN0")).response.mayBorrow).toBe(true);
  });

  it("rotates its signing key: credentials signed with the old and the new key verify offline; the old key goes when its credentials expire", async () => {
    let now = NOW;
    home = desk("north-a", "north", { now: () => now });
    publish(home);
    const old = home.issue(
      create(visitPb.IssueCredentialRequestSchema, { readerRef: "P-20", validDays: 10 }),
    );
    const rotated = home.rotateSigningKey();
    expect(rotated.key!.keyId).not.toBe(old.body!.keyId);
    expect(rotated.published.map((k) => k.keyId)).toEqual([old.body!.keyId, rotated.key!.keyId]);
    expect(timestampDate(rotated.olderKeysUntil!)).toEqual(new Date(NOW.getTime() + 10 * DAY));
    const fresh = home.issue(create(visitPb.IssueCredentialRequestSchema, { readerRef: "P-21" }));
    expect(fresh.body!.keyId).toBe(rotated.key!.keyId);

    // The rotation re-registered the entry (onBlocksChanged → publish): both verify offline.
    const visited = desk("south-a", "south", { now: () => now });
    for (const c of [old, fresh]) {
      const checked = await visited.check(c.token, true);
      expect(checked.response).toMatchObject({ mayBorrow: true, signatureValid: true });
    }
    // Past the old credential's expiry, only the new key is published.
    now = new Date(NOW.getTime() + 11 * DAY);
    expect(home.describeSelf().visitKeys.map((k) => k.keyId)).toEqual([rotated.key!.keyId]);
  });
});
