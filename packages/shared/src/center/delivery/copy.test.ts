// Document delivery's building blocks: limits and types, the verified write, one hop of a copy
// (store, dedupe, refusal of truncated and corrupted streams) and the sender that streams a
// stored copy to the next hop and forgets it once acknowledged.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultIllConfig, formatSize, parseSize, toConfig } from "../../config.js";
import { Database } from "../../db.js";
import { CopyCorruptError, CopyRejectedError } from "../../delivery/errors.js";
import { writeVerified } from "../../delivery/file.js";
import { sniffCopyType } from "../../delivery/media-type.js";
import { copyMigrations } from "../../delivery/migrations.js";
import { pushCopy } from "../../delivery/sender.js";
import { COPY_KIND, CopyStore } from "../../delivery/store.js";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import {
  type CopyTransfer,
  CopyTransferSchema,
  CopyTransferService,
  type PushCopyRequest,
} from "../../gen/lrs/v1/copy_pb.js";
import type { Directory } from "../../gen/lrs/v1/directory_pb.js";
import { createLogger } from "../../log.js";
import { sharedMigrations } from "../../migrations.js";
import { Outbox } from "../../outbox.js";
import { mapErrors, toConnectError } from "../../rpc/errors.js";
import { peerKey } from "../../rpc/peer.js";
import { fixedDirectory, SOUTH_A, SOUTH_RC, standardDirectory } from "../../testing/index.js";
import type { NodeIdentity } from "../../tls/pki.js";
import { illRelayMigrations } from "../ill-broker/migrations.js";
import { IllRelay } from "../ill-broker/relay.js";
import { copyCenterService } from "./relay-service.js";

const log = createLogger("test");

const PDF = Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(600_000, 0x41), Buffer.from("\n%%EOF\n")]);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function* chunks(b: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lrs-copy-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The refusal a call ends with; fails the test when it succeeds. */
function refusal(p: Promise<unknown>): Promise<ConnectError> {
  return p.then(
    () => {
      throw new Error("expected a refusal");
    },
    (e: unknown) => ConnectError.from(e),
  );
}

const tempFiles = (d: string) => (existsSync(d) ? readdirSync(d) : []);

describe("sizes and types", () => {
  it("reads and writes sizes as people do", () => {
    expect(parseSize("50MB")).toBe(50_000_000);
    expect(parseSize("512KiB")).toBe(524_288);
    expect(parseSize("1.5 GB")).toBe(1_500_000_000);
    expect(parseSize("2048")).toBe(2048);
    expect(parseSize("50 MiB")).toBe(52_428_800);
    expect(parseSize("fifty")).toBeUndefined();
    expect(parseSize("5 TB")).toBeUndefined();
    expect(formatSize(52_428_800)).toBe("50 MiB");
    expect(formatSize(50_000_000)).toBe("50 MB");
    expect(formatSize(1500)).toBe("1.5 KB");
    expect(formatSize(12)).toBe("12 B");
    expect(defaultIllConfig().max_copy_size).toBe(50_000_000);
    expect(defaultIllConfig().copy_retention).toBe(30 * 86_400_000);
  });

  it("reads [ill] max_copy_size and copy_retention, naming the setting when wrong", () => {
    const cfg = (ill: Record<string, unknown>) =>
      toConfig(Tier.MEMBER, {
        file: "/etc/lrs/member.toml",
        fromEnv: new Map(),
        values: {
          id: "north-a",
          name: "A",
          region: "north",
          listen: "127.0.0.1:0",
          parent: "127.0.0.1:1",
          ill,
        },
      });
    expect(cfg({ max_copy_size: "20MB", copy_retention: "7d" }).ill).toMatchObject({
      max_copy_size: 20_000_000,
      copy_retention: 7 * 86_400_000,
    });
    expect(() => cfg({ max_copy_size: "lots" })).toThrow(
      /setting "ill\.max_copy_size": expected a size such as "50MB", "512KiB" or a number of bytes/,
    );
    expect(() => cfg({ copy_retention: "a month" })).toThrow(
      /setting "ill\.copy_retention": expected a duration/,
    );
  });

  it("tells PDF, JPEG, PNG and TIFF by their first bytes, and nothing else", () => {
    const b = (...x: number[]) => new Uint8Array(x);
    expect(sniffCopyType(Buffer.from("%PDF-1.7"))).toBe("application/pdf");
    expect(sniffCopyType(b(0xff, 0xd8, 0xff, 0xe0))).toBe("image/jpeg");
    expect(sniffCopyType(b(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))).toBe("image/png");
    expect(sniffCopyType(b(0x49, 0x49, 0x2a, 0x00))).toBe("image/tiff");
    expect(sniffCopyType(b(0x4d, 0x4d, 0x00, 0x2a))).toBe("image/tiff");
    expect(sniffCopyType(Buffer.from("PK\u0003\u0004"))).toBeUndefined();
    expect(sniffCopyType(Buffer.from("%PD"))).toBeUndefined();
  });
});

describe("writing a copy, verified", () => {
  const temp = () => join(dir, "tmp");

  it("writes the bytes and says their size, SHA-256 and type", async () => {
    const f = await writeVerified(chunks(PDF), {
      tempDir: temp(),
      maxBytes: 1_000_000,
      expectedSize: PDF.length,
      expectedSha256: sha(PDF),
    });
    expect(f).toMatchObject({ size: PDF.length, sha256: sha(PDF), mediaType: "application/pdf" });
    expect(readFileSync(f.tempPath).equals(PDF)).toBe(true);
  });

  it.each([
    [
      "larger than the limit, with the limit",
      { maxBytes: 100_000 },
      CopyRejectedError,
      /larger than the limit of 100000 bytes \(100 KB\) \(\[ill\] max_copy_size\)/,
    ],
    [
      "truncated, expected vs got",
      { expectedSize: PDF.length + 10 },
      CopyCorruptError,
      new RegExp(`cut short: expected ${PDF.length + 10} bytes .* got ${PDF.length} bytes`),
    ],
    [
      "longer than announced",
      { expectedSize: PDF.length - 10 },
      CopyRejectedError,
      /longer than the .* announced/,
    ],
    [
      "corrupted, expected vs got SHA-256",
      { expectedSha256: "0".repeat(64) },
      CopyCorruptError,
      new RegExp(`expected SHA-256 0{64}, got ${sha(PDF)}`),
    ],
    [
      "announced as another type",
      { expectedMediaType: "image/png" },
      CopyRejectedError,
      /announced as image\/png/,
    ],
  ])("refuses a stream %s, and keeps nothing", async (_what, o, type, message) => {
    const err = await writeVerified(chunks(PDF), { tempDir: temp(), maxBytes: 1_000_000, ...o }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(type);
    expect((err as Error).message).toMatch(message);
    expect(tempFiles(temp())).toEqual([]);
  });

  it("refuses what is not a PDF or an image, naming the allowed types", async () => {
    const err = await writeVerified(chunks(Buffer.from("PK\u0003\u0004 a word file")), {
      tempDir: temp(),
      maxBytes: 1000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopyRejectedError);
    expect((err as Error).message).toMatch(/a ZIP archive .*not a PDF, JPEG, PNG or TIFF/);
    expect(tempFiles(temp())).toEqual([]);
  });

  it("maps refusals to codes the outbox retries and sets aside", () => {
    expect(toConnectError(new CopyCorruptError("x", "1", "2")).code).toBe(Code.DataLoss);
    expect(toConnectError(new CopyRejectedError("x")).code).toBe(Code.InvalidArgument);
  });
});

const DIRECTORY: Directory = standardDirectory();
const directory = fixedDirectory(DIRECTORY);

function node(self: NodeIdentity) {
  const db = Database.open(":memory:", [...sharedMigrations, ...illRelayMigrations, ...copyMigrations]);
  const outbox = new Outbox(db);
  const dataDir = join(dir, self.id);
  const copies = new CopyStore({ db, outbox, dataDir, nodeId: self.id, log });
  const relay = new IllRelay({ db, outbox, directory, self, log });
  return { db, outbox, copies, relay, dataDir };
}

function transfer(body: Uint8Array, over: Partial<CopyTransfer> = {}): CopyTransfer {
  return create(CopyTransferSchema, {
    transferId: "transfer-0001",
    requestingAgencyRequestId: "req-1/0",
    originAgencyId: "south-a",
    destinationAgencyId: "north-a",
    size: BigInt(body.length),
    sha256: sha(body),
    mediaType: "application/pdf",
    fileName: "article.pdf",
    createdAt: timestampFromDate(new Date("2026-03-01T10:00:00Z")),
    ...over,
  });
}

async function* push(header: CopyTransfer | undefined, body: Uint8Array): AsyncGenerator<PushCopyRequest> {
  if (header) yield { $typeName: "lrs.v1.PushCopyRequest", part: { case: "header", value: header } };
  for await (const c of chunks(body))
    yield { $typeName: "lrs.v1.PushCopyRequest", part: { case: "chunk", value: c } };
}

/** CopyTransferService of a center, every call from `caller`. */
function centerClient(n: ReturnType<typeof node>, caller: NodeIdentity, maxBytes = 1_000_000) {
  const transport = createRouterTransport(
    (router) =>
      router.service(CopyTransferService, copyCenterService({ relay: n.relay, copies: n.copies, maxBytes })),
    {
      router: {
        interceptors: [
          (next) => (req) => {
            req.contextValues.set(peerKey, {
              presented: true,
              authorized: true,
              identity: caller,
              fingerprint256: "x",
            });
            return next(req);
          },
        ],
      },
    },
  );
  return createClient(CopyTransferService, transport);
}

describe("one hop of a copy (a regional center)", () => {
  it("stores a verified copy and queues it for the next hop in one go", async () => {
    const rc = node(SOUTH_RC);
    const res = await centerClient(rc, SOUTH_A).pushCopy(push(transfer(PDF), PDF));
    expect(res).toMatchObject({ duplicate: false, nodeId: "south-rc", disposition: "stored for nat" });
    const kept = rc.copies.get("transfer-0001")!;
    expect(kept).toMatchObject({
      role: "relay",
      requestId: "req-1",
      nextHop: "nat",
      receivedFrom: "south-a",
    });
    expect(readFileSync(kept.path!).equals(PDF)).toBe(true);
    const queued = rc.outbox.nextDue("parent");
    expect(queued && "kind" in queued ? queued.kind : undefined).toBe(COPY_KIND);
    expect(rc.copies.hops("req-1")[0]).toMatchObject({
      nodeId: "south-rc",
      nextHop: "nat",
      receivedFrom: "south-a",
    });
  });

  it("answers a retry of a stored transfer without storing it again", async () => {
    const rc = node(SOUTH_RC);
    await centerClient(rc, SOUTH_A).pushCopy(push(transfer(PDF), PDF));
    const again = await centerClient(rc, SOUTH_A).pushCopy(push(transfer(PDF), PDF));
    expect(again.duplicate).toBe(true);
    expect(rc.outbox.pendingCount()).toBe(1);
    expect(readdirSync(rc.copies.dir).filter((f) => f !== "tmp")).toHaveLength(1);
  });

  it.each([
    [
      "truncated",
      PDF.subarray(0, 300_000),
      Code.DataLoss,
      /cut short: expected 600016 bytes .* got 300000 bytes/,
    ],
    [
      "corrupted",
      Buffer.concat([PDF.subarray(0, 1000), Buffer.from("X"), PDF.subarray(1001)]),
      Code.DataLoss,
      /expected SHA-256 [0-9a-f]{64}, got [0-9a-f]{64}/,
    ],
  ])("refuses a %s stream; nothing is stored or forwarded", async (_what, body, code, message) => {
    const rc = node(SOUTH_RC);
    const err = await refusal(centerClient(rc, SOUTH_A).pushCopy(push(transfer(PDF), body)));
    expect(err.code).toBe(code);
    expect(err.rawMessage).toMatch(message);
    expect(rc.copies.get("transfer-0001")).toBeUndefined();
    expect(rc.outbox.pendingCount()).toBe(0);
    expect(tempFiles(rc.copies.dir).filter((f) => f !== "tmp")).toEqual([]);
    expect(tempFiles(rc.copies.tempDir)).toEqual([]);
    // The sender tries again with the whole file, and that goes through.
    expect((await centerClient(rc, SOUTH_A).pushCopy(push(transfer(PDF), PDF))).duplicate).toBe(false);
  });

  it("refuses a copy larger than the center's limit before reading it, with the limit", async () => {
    const rc = node(SOUTH_RC);
    const err = await refusal(centerClient(rc, SOUTH_A, 100_000).pushCopy(push(transfer(PDF), PDF)));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/larger than the limit of 100000 bytes/);
  });

  it("lets a member push only its own copies, as for ILL messages", async () => {
    const rc = node(SOUTH_RC);
    const err = await refusal(
      centerClient(rc, SOUTH_A).pushCopy(
        push(transfer(PDF, { originAgencyId: "north-a", destinationAgencyId: "south-a" }), PDF),
      ),
    );
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.rawMessage).toMatch(/south-a may send only its own messages, not ones from north-a/);
  });

  it("refuses a stream without its header, or with a bad one, naming the field", async () => {
    const rc = node(SOUTH_RC);
    const noHeader = await refusal(centerClient(rc, SOUTH_A).pushCopy(push(undefined, PDF)));
    expect(noHeader.rawMessage).toMatch(/must begin with the transfer's header/);
    const badSha = await refusal(
      centerClient(rc, SOUTH_A).pushCopy(push(transfer(PDF, { sha256: "abc" }), PDF)),
    );
    expect(badSha.code).toBe(Code.InvalidArgument);
    expect(badSha.rawMessage).toMatch(/header\.sha256 must be 64 lower-case hex digits/);
  });
});

describe("sending a stored copy to the next hop", () => {
  it("streams it, and deletes it here once the next hop has it; a retry after that sends nothing", async () => {
    const rc = node(SOUTH_RC);
    const nat = node({ id: "nat", tier: Tier.NATIONAL, region: "" });
    await centerClient(rc, SOUTH_A).pushCopy(push(transfer(PDF), PDF));
    const msg = rc.outbox.nextDue("parent");
    if (!msg || !("kind" in msg)) throw new Error("nothing queued");
    let calls = 0;
    const toNat = centerClient(nat, SOUTH_RC);
    const counting = {
      pushCopy: (parts: AsyncIterable<PushCopyRequest>, opts?: { timeoutMs?: number }) => {
        calls++;
        return toNat.pushCopy(parts, opts);
      },
    } as unknown as typeof toNat;
    const path = rc.copies.get("transfer-0001")!.path!;
    await pushCopy(rc.copies, msg, counting);
    expect(calls).toBe(1);
    expect(existsSync(path)).toBe(false);
    expect(rc.copies.get("transfer-0001")).toMatchObject({ path: undefined, nextHop: "nat" });
    expect(rc.copies.get("transfer-0001")!.forwardedAt).toBeInstanceOf(Date);
    const atNat = nat.copies.get("transfer-0001")!;
    expect(atNat).toMatchObject({ nextHop: "north-rc", receivedFrom: "south-rc" });
    expect(readFileSync(atNat.path!).equals(PDF)).toBe(true);
    expect(fromBinary(CopyTransferSchema, msg.payload).sha256).toBe(sha(PDF));
    // The outbox was not told before a crash: the retry finds it acknowledged.
    await pushCopy(rc.copies, msg, counting);
    expect(calls).toBe(1);
  });

  it("says so when the file is gone, so the outbox sets the message aside instead of blocking", async () => {
    const rc = node(SOUTH_RC);
    await centerClient(rc, SOUTH_A).pushCopy(push(transfer(PDF), PDF));
    const msg = rc.outbox.nextDue("parent");
    if (!msg || !("kind" in msg)) throw new Error("nothing queued");
    rmSync(rc.copies.get("transfer-0001")!.path!);
    const err = await refusal(pushCopy(rc.copies, msg, {} as never));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toMatch(/file of copy transfer transfer-0001 is missing at south-rc/);
  });

  it("a cut transfer is refused by the receiver and succeeds when sent again", async () => {
    const rc = node(SOUTH_RC);
    const nat = node({ id: "nat", tier: Tier.NATIONAL, region: "" });
    await centerClient(rc, SOUTH_A).pushCopy(push(transfer(PDF), PDF));
    const msg = rc.outbox.nextDue("parent");
    if (!msg || !("kind" in msg)) throw new Error("nothing queued");
    const toNat = centerClient(nat, SOUTH_RC);
    let cut = true;
    const flaky = {
      pushCopy: (parts: AsyncIterable<PushCopyRequest>, opts?: { timeoutMs?: number }) => {
        if (!cut) return toNat.pushCopy(parts, opts);
        cut = false;
        // The connection drops after the first chunks: the stream ends early.
        async function* half() {
          let n = 0;
          for await (const p of parts) if (n++ < 3) yield p;
        }
        return toNat.pushCopy(half(), opts);
      },
    } as unknown as typeof toNat;
    const first = await refusal(pushCopy(rc.copies, msg, flaky));
    expect(first.code).toBe(Code.DataLoss);
    expect(nat.copies.get("transfer-0001")).toBeUndefined();
    expect(rc.copies.get("transfer-0001")!.path).toBeDefined();
    await pushCopy(rc.copies, msg, flaky);
    expect(readFileSync(nat.copies.get("transfer-0001")!.path!).equals(PDF)).toBe(true);
  });
});

describe("after a crash", () => {
  it("sweeps temporary files and files no transfer keeps", async () => {
    const rc = node(SOUTH_RC);
    await centerClient(rc, SOUTH_A).pushCopy(push(transfer(PDF), PDF));
    const kept = rc.copies.get("transfer-0001")!.path!;
    writeFileSync(join(rc.copies.dir, "orphan.1234"), "x");
    await writeVerified(chunks(PDF), { tempDir: rc.copies.tempDir, maxBytes: 1_000_000 });
    expect(rc.copies.sweep()).toBe(1);
    expect(existsSync(kept)).toBe(true);
    expect(tempFiles(rc.copies.tempDir)).toEqual([]);
    expect(readdirSync(rc.copies.dir)).toEqual([kept.split("/").at(-1)]);
  });
});

// mapErrors is what the center's handler uses; a thrown domain error keeps its code through it.
it("keeps domain codes through mapErrors", async () => {
  const err = await mapErrors(async () => {
    throw new CopyCorruptError("cut", "10", "5");
  })().catch((e: unknown) => e);
  expect((err as ConnectError).code).toBe(Code.DataLoss);
});
