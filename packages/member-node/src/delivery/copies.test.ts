// Document delivery between two members' engines in-process: the lender uploads, the file goes
// ahead of CopyCompleted through the "network" (the relays store and forward it verbatim, as
// copy.test.ts in shared shows hop by hop), the borrower keeps it for its retention period and
// deletes it then. The clock is the test's.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  COPY_KIND,
  CopyCorruptError,
  CopyRejectedError,
  CopyStore,
  CopyUnavailableError,
  copyMigrations,
  type copyPb,
  createLogger,
  type Database,
  defaultIllConfig,
  ill,
  illPb,
  illServicePb,
  Outbox,
  pushCopy,
  toConnectError,
} from "@lrs/shared";
import { lendingPolicy, memoryDatabase } from "@lrs/shared/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AutoRespondMode, IllEngine, type RegionalIll } from "../ill/engine.js";
import { IllStateError } from "../ill/errors.js";
import { MemberCatalog } from "../store/catalog.js";
import { memberMigrations } from "../store/migrations.js";
import { describePeriod, scenarioPdf } from "./copies.js";

const { ServiceType } = illPb;
const T0 = Date.parse("2026-03-02T09:00:00Z");
const DAY = 86_400_000;
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const PDF = Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(700_000, 0x42), Buffer.from("\n%%EOF\n")]);
async function* chunks(b: Uint8Array, size = 100_000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

let dir: string;
let clock = T0;
const now = () => new Date(clock);

interface Member {
  readonly id: string;
  readonly db: Database;
  readonly outbox: Outbox;
  readonly copies: CopyStore;
  readonly engine: IllEngine;
  /** What the engine's download hooks reported: the first download of each copy, and every one. */
  readonly downloads: {
    readonly first: string[];
    readonly every: Array<{ requestId: string; lender: string; bytes: number }>;
  };
}

const regional: RegionalIll = {
  buildRota: async () =>
    create(illServicePb.BuildRotaResponseSchema, {
      rota: [{ agencyId: "south-a", region: "south", included: true, reason: "other region" }],
      clusterId: "national:c9",
    }),
  getCluster: async () => {
    throw new ConnectError("no cluster", Code.NotFound);
  },
};

function member(
  id: string,
  o: { mode?: AutoRespondMode; maxBytes?: number; retention?: number } = {},
): Member {
  const db = memoryDatabase(memberMigrations, copyMigrations);
  const outbox = new Outbox(db);
  const log = createLogger(`test:${id}`);
  const copies = new CopyStore({ db, outbox, dataDir: join(dir, id), nodeId: id, log, now });
  const downloads: Member["downloads"] = { first: [], every: [] };
  const engine = new IllEngine({
    db,
    outbox,
    agencyId: id,
    ill: {
      ...defaultIllConfig(),
      auto_respond: o.mode ?? "off",
      ...(o.maxBytes ? { max_copy_size: o.maxBytes } : {}),
      ...(o.retention ? { copy_retention: o.retention } : {}),
    },
    lendingPolicy: lendingPolicy({ non_circulating_locations: ["REF"] }),
    catalog: new MemberCatalog(db, id),
    regional,
    log,
    now,
    copies,
    parentId: () => `${id.split("-")[0]}-rc`,
    onFirstCopyDownload: (r) => downloads.first.push(r.id),
    onEachCopyDownload: ({ requestId, lender, bytes }) => downloads.every.push({ requestId, lender, bytes }),
  });
  return { id, db, outbox, copies, engine, downloads };
}

let b: Member;
let l: Member;
const members = () => new Map([b, l].map((m) => [m.id, m]));

/**
 * Moves what `from` has queued for its regional center, in order, to the member it is for: an
 * envelope by Deliver, a copy by PushCopy (the relays between store and forward it as it is).
 * `dropCopies` loses the copies on the way (a transfer set aside for good).
 */
async function pump(from: Member, o: { dropCopies?: boolean } = {}): Promise<string[]> {
  const kinds: string[] = [];
  for (let next = from.outbox.nextDue("parent"); next; next = from.outbox.nextDue("parent")) {
    if ("waitMs" in next) break;
    kinds.push(next.kind);
    if (next.kind === COPY_KIND) {
      if (!o.dropCopies)
        await pushCopy(from.copies, next, {
          pushCopy: (parts: AsyncIterable<copyPb.PushCopyRequest>) =>
            members()
              .get(from === b ? l.id : b.id)!
              .engine.copies!.receive(parts, "north-rc"),
        } as never);
    } else {
      const env = ill.envelopeFromOutbox(next.kind, next.payload);
      members().get(env.destinationAgencyId)!.engine.deliver(env);
    }
    from.outbox.markDelivered(next.seq);
  }
  return kinds;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await Promise.all([b.engine.idle(), l.engine.idle()]);
    const moved = [...(await pump(b)), ...(await pump(l))];
    if (moved.length === 0) return;
  }
}

/** A copy request at the borrower, answered "will supply" by the lender; returns both ids. */
async function willSupply(serviceType = ServiceType.COPY): Promise<{ bid: string; lid: string }> {
  const r = await b.engine.borrow({
    patronId: "p1",
    serviceType,
    itemIds: [{ code: "ISSN", value: "0001-5180" }],
    title: "Acta anatomica",
    titleOfComponent: "On the carpal bones",
    authorOfComponent: "Smith, J.",
    volume: "12",
    issue: "3",
    pages: "12-34",
  });
  await settle();
  const lent = l.engine.store.list({ role: "lender" }).at(-1)!;
  expect(lent.bibliographicInfo).toMatchObject({
    title: "Acta anatomica",
    titleOfComponent: "On the carpal bones",
    volume: ["12"],
    issue: "3",
    pagesRequested: "12-34",
  });
  l.engine.store.applyAction(lent.id, "respond_yes");
  await settle();
  return { bid: r.id, lid: lent.id };
}

async function download(m: Member, id: string): Promise<{ info: copyPb.CopyInfo; bytes: Buffer }> {
  let info: copyPb.CopyInfo | undefined;
  const parts: Uint8Array[] = [];
  for await (const msg of m.engine.copies!.download(id)) {
    if (msg.part.case === "info") info = msg.part.value;
    else if (msg.part.case === "chunk") parts.push(msg.part.value);
  }
  return { info: info!, bytes: Buffer.concat(parts) };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lrs-copies-"));
  clock = T0;
  b = member("north-a");
  l = member("south-a", { maxBytes: 1_000_000 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the lender's upload", () => {
  it("stores the verified copy, queues it ahead of CopyCompleted, and delivers the request", async () => {
    const { lid } = await willSupply();
    const record = await l.engine.copies!.upload(
      { requestId: lid, fileName: "/scans/carpal.pdf", size: PDF.length, sha256: sha(PDF), note: "300 dpi" },
      chunks(PDF),
    );
    expect(record).toMatchObject({
      role: "lender",
      fileName: "carpal.pdf",
      size: PDF.length,
      sha256: sha(PDF),
    });
    expect(record.mediaType).toBe("application/pdf");
    expect(l.engine.store.get(lid)?.state).toBe("copy_completed");
    const first = l.outbox.nextDue("parent");
    expect(first && "kind" in first ? first.kind : undefined).toBe(COPY_KIND);
    // One queue to the regional center: the file, then the message saying it was delivered.
    expect(await pump(l)).toEqual([COPY_KIND, ill.ILL_KINDS.supplyingAgencyMessage]);
    expect(l.copies.get(record.transferId)?.path).toBeUndefined();
    expect(existsSync(join(dir, "south-a", "copies"))).toBe(true);
    expect(l.engine.copyInfo(lid)).toMatchObject({ state: "sent", fileName: "carpal.pdf" });
  });

  it.each([
    [
      "larger than the limit",
      PDF.length + 1_000_000,
      PDF,
      CopyRejectedError,
      /larger than the limit of 1000000 bytes/,
    ],
    [
      "not a PDF or image",
      12,
      Buffer.from("hello, world"),
      CopyRejectedError,
      /a text file, not a PDF, JPEG, PNG or TIFF/,
    ],
    [
      "cut short",
      PDF.length,
      PDF.subarray(0, 1000),
      CopyCorruptError,
      /expected 700016 bytes .* got 1000 bytes/,
    ],
  ])("refuses a copy %s and keeps nothing", async (_what, size, body, type, message) => {
    const { lid } = await willSupply();
    const err = await l.engine
      .copies!.upload({ requestId: lid, fileName: "x.pdf", size }, chunks(body))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect((err as Error).message).toMatch(message);
    expect(l.engine.store.get(lid)?.state).toBe("will_supply");
    expect(l.outbox.pendingCount()).toBe(0);
    expect(l.copies.forLocalRequest(lid)).toEqual([]);
  });

  it("refuses an upload for a request that may not be delivered as a copy now", async () => {
    const r = await b.engine.borrow({
      patronId: "p2",
      serviceType: ServiceType.COPY,
      title: "Acta anatomica",
    });
    await settle();
    const lent = l.engine.store
      .list({ role: "lender" })
      .find((x) => x.requestingAgencyRequestId?.startsWith(r.id))!;
    const early = await l.engine
      .copies!.upload({ requestId: lent.id, fileName: "x.pdf", size: PDF.length }, chunks(PDF))
      .catch((e: unknown) => e);
    expect(early).toBeInstanceOf(IllStateError);
    expect((early as Error).message).toMatch(/in state new: upload-copy refused: .*answer yes first/);
    const mine = await b.engine
      .copies!.upload({ requestId: r.id, fileName: "x.pdf", size: PDF.length }, chunks(PDF))
      .catch((e: unknown) => e);
    expect((mine as Error).message).toMatch(/uploaded by the lending library/);
  });

  it("refuses to deliver a copy by a staff action without its file", async () => {
    const { lid } = await willSupply();
    const err = await l.engine.act(lid, "deliver_copy").catch((e: unknown) => e);
    expect((err as IllStateError).reason).toMatch(/lrs-member ill upload-copy .* FILE/);
  });
});

describe("the borrower's copy", () => {
  async function delivered(): Promise<{ bid: string; lid: string }> {
    const ids = await willSupply();
    await l.engine.copies!.upload(
      { requestId: ids.lid, fileName: "carpal.pdf", size: PDF.length, sha256: sha(PDF) },
      chunks(PDF),
    );
    await settle();
    return ids;
  }

  it("arrives before CopyCompleted, is downloaded as uploaded, and the first download is reported once", async () => {
    const { bid } = await delivered();
    expect(b.engine.store.get(bid)?.state).toBe("copy_completed");
    expect(b.engine.timers(bid)).toEqual([{ kind: "copy_expiry", dueAt: new Date(T0 + 30 * DAY) }]);
    expect(b.engine.copyInfo(bid)).toMatchObject({
      state: "available",
      downloads: 0,
      originAgencyId: "south-a",
    });
    const got = await download(b, bid);
    expect(got.bytes.equals(PDF)).toBe(true);
    expect(got.info).toMatchObject({
      sha256: sha(PDF),
      fileName: "carpal.pdf",
      mediaType: "application/pdf",
    });
    await download(b, bid);
    expect(b.downloads.first).toEqual([bid]);
    // Each complete download is reported (traffic figures), with the lender and the size.
    expect(b.downloads.every).toEqual([
      { requestId: bid, lender: "south-a", bytes: PDF.length },
      { requestId: bid, lender: "south-a", bytes: PDF.length },
    ]);
    expect(b.engine.copyInfo(bid)?.downloads).toBe(2);
  });

  it("is deleted when the retention period ends; the timeline says so and a download says when and why", async () => {
    const { bid } = await delivered();
    const path = b.copies.forLocalRequest(bid)[0]!.path!;
    expect(readFileSync(path).equals(PDF)).toBe(true);
    clock = T0 + 30 * DAY - 1000;
    await b.engine.runTimers();
    expect(existsSync(path)).toBe(true);
    clock = T0 + 30 * DAY + 1000;
    await b.engine.runTimers();
    expect(existsSync(path)).toBe(false);
    expect(b.engine.timers(bid)).toEqual([]);
    expect(b.engine.store.timeline(bid).at(-1)).toMatchObject({
      event: "copy_deleted",
      detail: { note: expect.stringMatching(/^copy deleted after 30 days: carpal\.pdf/) },
    });
    const err = await download(b, bid).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopyUnavailableError);
    expect((err as Error).message).toMatch(
      /the copy of ILL request .* \(carpal\.pdf\) was deleted on 2026-04-01T09:00:01\.000Z: copy deleted after 30 days/,
    );
    expect(toConnectError(err).code).toBe(Code.FailedPrecondition);
    expect(b.engine.copyInfo(bid)).toMatchObject({ state: "deleted" });
  });

  it("refuses CopyCompleted that comes without a verified copy: the request is not shown as delivered", async () => {
    const { bid, lid } = await willSupply();
    await l.engine.copies!.upload({ requestId: lid, fileName: "carpal.pdf", size: PDF.length }, chunks(PDF));
    await pump(l, { dropCopies: true });
    await settle();
    expect(b.engine.store.get(bid)?.state).not.toBe("copy_completed");
    const refused = b.engine.messages(bid).find((m) => m.kind === "SupplyingAgencyMessage CopyCompleted");
    expect(refused?.confirmation).toMatch(/^ERROR: .*came without its copy/);
    expect(l.engine.store.get(lid)?.attention).toMatch(/came without its copy/);
    const none = await download(b, bid).catch((e: unknown) => e);
    expect((none as Error).message).toMatch(/no copy of ILL request .* has arrived/);
  });

  it("is made and delivered by the scenario lender as a PDF naming the article", async () => {
    l = member("south-a", { mode: "scenario" });
    const r = await b.engine.borrow({
      patronId: "p3",
      serviceType: ServiceType.COPY,
      title: "Acta anatomica",
      titleOfComponent: "On the carpal bones",
      pages: "12-34",
      note: "scenario:copy",
    });
    await settle();
    expect(b.engine.store.get(r.id)?.state).toBe("copy_completed");
    const got = await download(b, r.id);
    expect(got.bytes.subarray(0, 5).toString()).toBe("%PDF-");
    expect(got.bytes.toString("latin1")).toMatch(/On the carpal bones/);
    expect(got.bytes.toString("latin1")).toMatch(/pp\. 12-34/);
  });
});

it("describes retention periods as the timeline says them", () => {
  expect(describePeriod(30 * DAY)).toBe("30 days");
  expect(describePeriod(3000)).toBe("3 seconds");
  expect(describePeriod(DAY)).toBe("1 day");
  expect(describePeriod(90 * 60_000)).toBe("90 minutes");
  expect(scenarioPdf(["a (b)"]).subarray(0, 8)).toEqual(new Uint8Array(Buffer.from("%PDF-1.4")));
});
