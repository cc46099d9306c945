// Document delivery through real processes in two regions: a copy request for a periodical held
// only in a non-circulating location, the lender's upload (oversized and wrong types refused with
// the limit), the file store-and-forwarded lender → south-rc → nat → north-rc → borrower ahead of
// CopyCompleted, SHA-256 verified at each hop and at the download; a truncated or corrupted push
// refused at a center with nothing forwarded; and a copy deleted when its retention period ends.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Federation, FederationSpec } from "@lrs/dev-env";
import { recordIdOf } from "@lrs/member-node";
import { copyPb, illPb, illServicePb, readMarcFile } from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFederation } from "./harness.js";
import { lenderSide, NLM, show, staff, waitFor } from "./ill-harness.js";

/** Acta anatomica (NLM record 117811): south-a holds it in its reference room only. */
const ACTA = { record: "117811", issn: "0001-5180", journal: "Acta anatomica" };

const SPEC: FederationSpec = {
  national: { id: "nat", name: "Test National Center" },
  regions: [
    {
      region: "north",
      id: "north-rc",
      name: "North Test Center",
      members: [
        {
          id: "north-a",
          name: "North Library A (borrower)",
          extraConfig: `[ill]\ntimer_interval = "200ms"\n`,
        },
        {
          id: "north-b",
          name: "North Library B (borrower, keeps copies 3 s)",
          extraConfig: `[ill]\ntimer_interval = "200ms"\ncopy_retention = "3s"\n`,
        },
      ],
    },
    {
      region: "south",
      id: "south-rc",
      name: "South Test Center",
      members: [
        {
          id: "south-a",
          name: "South Library A (lender)",
          extraConfig: `
[lending_policy]
non_circulating_locations = ["REF"]
response_time = "60s"

[ill]
auto_respond = "availability"
timer_interval = "200ms"
max_copy_size = "4MB"
`,
        },
      ],
    },
  ],
};

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
/** A "scan": a PDF header and random bytes (random, so that no hop could pass it on by luck). */
const pdf = (bytes: number) => Buffer.concat([Buffer.from("%PDF-1.5\n"), randomBytes(bytes - 9)]);

let fed: Federation;
let destroy: () => Promise<void>;
let files: string;

beforeAll(async () => {
  ({ fed, destroy } = await startFederation(SPEC));
  files = join(fed.dir, "files");
  mkdirSync(files, { recursive: true });
  // One copy of every NLM record on south-a's shelves; Acta anatomica in the reference room.
  const lines = ["record_id,barcode,call_number,location,status,loan_rule,due_date"];
  let n = 0;
  for await (const r of readMarcFile(NLM)) {
    const id = r.ok ? recordIdOf(r.record) : undefined;
    if (id) lines.push(`${id},sa-${++n},W1 ${n},${id === ACTA.record ? "REF" : "MAIN"},available,normal,`);
  }
  const items = join(files, "south-a-items.csv");
  writeFileSync(items, `${lines.join("\n")}\n`);
  const node = fed.node("south-a");
  await fed.cli(node, ["import", "--config", node.config, "--items", items, NLM]);
  await fed.waitSynced(90_000);
});
afterAll(async () => {
  await destroy?.();
});

async function cli(member: string, args: string[]): Promise<string> {
  const node = fed.node(member);
  return fed.cli(node, [...args, "--config", node.config]);
}

/** An article request at `member` through the CLI; the lender's request once it will supply. */
async function articleRequest(member: string, title: string) {
  const r = JSON.parse(
    await cli(member, [
      "ill",
      "request",
      "--type",
      "copy",
      "--article",
      `issn=${ACTA.issn};journal=${ACTA.journal};title=${title};author=Smith, J.;volume=12;issue=3;pages=12-34;year=1997`,
      "--json",
    ]),
  ) as { id: string; rota: Array<{ agencyId: string; reason: string }>; article: Record<string, string> };
  const [lend] = await lenderSide(fed, "south-a", r.id);
  if (!lend) throw new Error(`south-a has no request for ${r.id}`);
  await waitFor(fed, "south-a", lend.id, "will_supply");
  return { request: r, lend };
}

/** Uploads through the lender's CopyStaffService directly (the node's own checks, not the CLI's). */
function uploadRpc(id: string, body: Uint8Array, announced = body.length) {
  async function* parts(): AsyncGenerator<copyPb.UploadCopyRequest> {
    yield create(copyPb.UploadCopyRequestSchema, {
      part: { case: "header", value: { requestId: id, fileName: "scan.bin", size: BigInt(announced) } },
    });
    for (let i = 0; i < body.length; i += 256 * 1024)
      yield create(copyPb.UploadCopyRequestSchema, {
        part: { case: "chunk", value: body.subarray(i, i + 256 * 1024) },
      });
  }
  return fed.withClient("south-a", copyPb.CopyStaffService, (c) =>
    c.uploadCopy(parts(), { timeoutMs: 60_000 }),
  );
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected a refusal");
    },
    (e: unknown) => ConnectError.from(e),
  );

/** Files kept in a node's copies directory (temporary files aside). */
const keptAt = (id: string) => {
  const d = join(fed.node(id).dataDir, "copies");
  return existsSync(d) ? readdirSync(d).filter((f) => f !== "tmp") : [];
};

describe("document delivery across the tiers", () => {
  it("finds a periodical held only in a reference room for a copy, not for a loan", async () => {
    const loan = await staff(fed, "north-a", (c) =>
      c.borrow(
        {
          itemIds: [{ bibliographicItemIdentifierCode: "ISSN", bibliographicItemIdentifier: ACTA.issn }],
          serviceType: illPb.ServiceType.LOAN,
          patronId: "loan-patron",
        },
        { timeoutMs: 30_000 },
      ),
    );
    expect(loan.request!.rota).toEqual([]);
    expect(loan.request!.excluded.find((e) => e.agencyId === "south-a")?.reason).toMatch(
      /non-circulating|lend/,
    );
  });

  it("delivers an uploaded copy from the lender to the borrower, verified at every hop and at the download", async () => {
    const { request, lend } = await articleRequest("north-a", "On the carpal bones");
    expect(request.rota.map((e) => e.agencyId)).toEqual(["south-a"]);
    expect(request.article).toMatchObject({ title: "On the carpal bones", pages: "12-34", volume: "12" });
    expect(lend.title).toMatch(/Acta anatomica/);
    expect(lend.bibliographicInfo).toMatchObject({
      titleOfComponent: "On the carpal bones",
      pagesRequested: "12-34",
    });

    // Too large and not a PDF or image: refused by the node with the limit / the types, nothing kept.
    const big = await refusal(uploadRpc(lend.id, pdf(4_500_000)));
    expect(big.code).toBe(Code.InvalidArgument);
    expect(big.rawMessage).toMatch(
      /larger than the limit of 4000000 bytes \(4 MB\) \(\[ill\] max_copy_size\)/,
    );
    const docx = await refusal(uploadRpc(lend.id, Buffer.from("PK\u0003\u0004 a word document")));
    expect(docx.rawMessage).toMatch(/not a PDF, JPEG, PNG or TIFF/);
    const bigFile = join(files, "big.pdf");
    writeFileSync(bigFile, pdf(4_500_000));
    await expect(cli("south-a", ["ill", "upload-copy", lend.id, bigFile])).rejects.toThrow(
      /larger than the limit/,
    );
    expect((await show(fed, "south-a", lend.id)).status).toBe("will_supply");
    expect(keptAt("south-a")).toEqual([]);

    const scan = pdf(2_500_000);
    const file = join(files, "carpal.pdf");
    writeFileSync(file, scan);
    const up = JSON.parse(await cli("south-a", ["ill", "upload-copy", lend.id, file, "--json"])) as {
      status: string;
      copy: { sha256: string; size: number; to: string };
    };
    expect(up).toMatchObject({
      status: "copy_completed",
      copy: { sha256: sha(scan), size: scan.length, to: "north-a" },
    });

    const done = await waitFor(fed, "north-a", request.id, "copy_completed", 30_000);
    expect(done.copy).toMatchObject({ state: "available", sha256: sha(scan), fileName: "carpal.pdf" });
    expect(done.copy!.size).toBe(BigInt(scan.length));
    expect(done.timers.map((t) => t.kind)).toContain("copy_expiry");
    const shown = await cli("north-a", ["ill", "show", request.id]);
    expect(shown).toMatch(/carpal\.pdf \(application\/pdf/);
    expect(shown).toMatch(new RegExp(`sha256 +${sha(scan)}`));
    expect(shown).toMatch(/available +until /);

    const out = join(files, "downloaded.pdf");
    const got = JSON.parse(
      await cli("north-a", ["ill", "download-copy", request.id, "--output", out, "--json"]),
    ) as {
      path: string;
      sha256: string;
    };
    expect(got).toMatchObject({ path: out, sha256: sha(scan) });
    expect(readFileSync(out).equals(scan)).toBe(true);

    // Every hop stored it and handed it on; none keeps it now (the borrower does, until it expires).
    const trace = JSON.parse(
      await fed.cli(fed.node("north-rc"), [
        "ill",
        "trace",
        request.id,
        "--json",
        "--config",
        fed.node("north-rc").config,
      ]),
    ) as { hops: Array<{ nodeId: string; kind: string; forwardedAt?: string; nextHop: string }> };
    const copyHops = trace.hops.filter((h) => h.kind.startsWith("CopyTransfer"));
    expect(copyHops.map((h) => h.nodeId).sort()).toEqual(["nat", "north-rc", "south-rc"]);
    for (const h of copyHops) expect(h.forwardedAt, h.nodeId).toBeDefined();
    // The file went ahead of CopyCompleted at every hop.
    for (const node of ["south-rc", "nat", "north-rc"]) {
      const at = trace.hops.filter((h) => h.nodeId === node);
      const file = at.findIndex((h) => h.kind.startsWith("CopyTransfer"));
      const message = at.findIndex((h) => h.kind === "SupplyingAgencyMessage CopyCompleted");
      expect(file, node).toBeGreaterThanOrEqual(0);
      expect(file, node).toBeLessThan(message);
    }
    for (const id of ["south-a", "south-rc", "nat", "north-rc"]) expect(keptAt(id), id).toEqual([]);
    expect(keptAt("north-a")).toHaveLength(1);
    const lent = await show(fed, "south-a", lend.id);
    expect(lent.copy).toMatchObject({ state: "sent" });
  });

  it("refuses a truncated or corrupted push at a center, and forwards nothing", async () => {
    const body = pdf(600_000);
    const header = create(copyPb.CopyTransferSchema, {
      transferId: "forged-transfer-1",
      requestingAgencyRequestId: "no-such-request/0",
      originAgencyId: "south-a",
      destinationAgencyId: "north-a",
      size: BigInt(body.length),
      sha256: sha(body),
      mediaType: "application/pdf",
      fileName: "x.pdf",
    });
    const push = (bytes: Uint8Array) =>
      fed.withClient(
        "south-rc",
        copyPb.CopyTransferService,
        (c) =>
          c.pushCopy(
            (async function* () {
              yield create(copyPb.PushCopyRequestSchema, { part: { case: "header", value: header } });
              yield create(copyPb.PushCopyRequestSchema, { part: { case: "chunk", value: bytes } });
            })(),
            { timeoutMs: 20_000 },
          ),
        "south-a",
      );
    const cut = await refusal(push(body.subarray(0, 250_000)));
    expect(cut.code).toBe(Code.DataLoss);
    expect(cut.rawMessage).toMatch(/cut short: expected 600000 bytes .* got 250000 bytes/);
    const flipped = Buffer.from(body);
    flipped[1000] = flipped[1000]! ^ 0xff;
    const corrupt = await refusal(push(flipped));
    expect(corrupt.code).toBe(Code.DataLoss);
    expect(corrupt.rawMessage).toMatch(new RegExp(`expected SHA-256 ${sha(body)}, got ${sha(flipped)}`));
    // A member may not push another member's copy either.
    const forged = await refusal(
      fed.withClient(
        "south-rc",
        copyPb.CopyTransferService,
        (c) =>
          c.pushCopy(
            (async function* () {
              yield create(copyPb.PushCopyRequestSchema, {
                part: { case: "header", value: { ...header, originAgencyId: "north-b" } },
              });
            })(),
          ),
        "south-a",
      ),
    );
    expect(forged.code).toBe(Code.PermissionDenied);
    const trace = await fed.withClient("south-rc", illServicePb.IllService, (c) =>
      c.trace({ requestId: "no-such-request" }),
    );
    expect(trace.hops).toEqual([]);
    expect(keptAt("south-rc")).toEqual([]);
  });

  it("deletes the copy when its retention period ends; the timeline says so and a download says when and why", async () => {
    const { request, lend } = await articleRequest("north-b", "On the hyoid bone");
    await uploadRpc(lend.id, pdf(300_000));
    await waitFor(fed, "north-b", request.id, "copy_completed", 30_000);
    const until = Date.now() + 20_000;
    let r = await show(fed, "north-b", request.id);
    while (r.copy?.state !== "deleted" && Date.now() < until) {
      await new Promise((res) => setTimeout(res, 250));
      r = await show(fed, "north-b", request.id);
    }
    expect(r.copy).toMatchObject({ state: "deleted" });
    expect(r.copy!.deletedReason).toMatch(/copy deleted after 3 seconds/);
    expect(r.timeline.at(-1)).toMatchObject({ event: "copy_deleted" });
    expect(r.timeline.at(-1)!.note).toMatch(/^copy deleted after 3 seconds/);
    expect(keptAt("north-b")).toEqual([]);
    await expect(
      cli("north-b", ["ill", "download-copy", request.id, "--output", join(files, "late.pdf")]),
    ).rejects.toThrow(/was deleted on \d{4}-\d\d-\d\dT[\d:.]+Z: copy deleted after 3 seconds/);
    expect(existsSync(join(files, "late.pdf"))).toBe(false);
  });
});
