// The document delivery commands against an in-memory node: `ill request --article` parsing, the
// upload's checks before anything is sent, and the download's SHA-256 check while writing (a
// truncated or corrupted download leaves no file).
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { CopyRejectedError, copyPb } from "@lrs/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseArticle } from "../ill/article.js";
import { copyStaffService } from "../services/copy-staff.js";
import { type CopyCliDeps, downloadCopy, uploadCopy } from "./delivery.js";
import { borrowRequest } from "./ill/arguments.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(300_000, 7),
]);
const NOW = new Date("2026-03-02T09:00:00Z");

describe("ill request --article", () => {
  it("maps an article to the journal, its ISSN, the component fields and the year", () => {
    const req = borrowRequest(
      {
        type: "copy",
        article:
          "issn=0001-5180;journal=Acta anatomica;title=On carpal bones\\; a study;author=Smith, J.;volume=12;issue=3;pages=12-34;year=1998",
      },
      NOW,
    );
    expect(req).toMatchObject({
      title: "Acta anatomica",
      titleOfComponent: "On carpal bones; a study",
      authorOfComponent: "Smith, J.",
      volume: "12",
      issue: "3",
      pages: "12-34",
      publicationDate: "1998",
      itemIds: [{ bibliographicItemIdentifierCode: "ISSN", bibliographicItemIdentifier: "0001-5180" }],
    });
  });

  it.each([
    ["issn=0001-5181;title=x", /issn "0001-5181" is not a valid ISSN/],
    ["issn=0001-5180;title=x;colour=red", /unknown key "colour"; use issn, journal, title/],
    ["issn=0001-5180;title=x;pages=twelve", /pages "twelve" is not a page range/],
    ["issn=0001-5180;title=x;year=98", /year "98" is not a year/],
    ["issn=0001-5180;title", /"title" is not key=value/],
    ["issn=0001-5180;title=a;title=b", /key "title" is given twice/],
    ["issn=0001-5180;title=", /key "title" has no value/],
    ["title=x", /name the journal: issn=… or journal=…/],
    ["journal=Nature", /name the article: title=…/],
  ])("refuses %s, naming the key", (text, message) => {
    expect(() => parseArticle(text)).toThrow(message);
  });

  it("goes with a copy, and refuses options it would contradict", () => {
    expect(() => borrowRequest({ type: "loan", article: "journal=Nature;title=x" }, NOW)).toThrow(
      /--article goes with --type copy or copy-or-loan/,
    );
    expect(() =>
      borrowRequest({ type: "copy", article: "journal=Nature;title=x", issn: "0028-0836" }, NOW),
    ).toThrow(/--issn and --article/);
    expect(() =>
      borrowRequest({ type: "copy", article: "journal=Nature;title=x;year=2020", published: "2021" }, NOW),
    ).toThrow(/give the publication date once/);
  });
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lrs-copy-cli-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A node whose CopyStaffService downloads `body` announced as `announced`, and takes uploads. */
function node(o: { body?: Uint8Array; announced?: Uint8Array; maxBytes?: number } = {}) {
  const uploads: Array<{ size: number; sha256?: string | undefined; bytes: Buffer; fileName: string }> = [];
  const announced = o.announced ?? o.body ?? PNG;
  const transport = createRouterTransport((router) =>
    router.service(
      copyPb.CopyStaffService,
      copyStaffService(
        {
          checkDeliverable: () => {
            throw new Error("not used");
          },
          upload: async (input, chunks) => {
            const parts: Uint8Array[] = [];
            for await (const c of chunks) parts.push(c);
            const bytes = Buffer.concat(parts);
            uploads.push({ size: input.size, sha256: input.sha256, bytes, fileName: input.fileName });
            return {
              transferId: "t-00000001",
              role: "lender",
              fileName: input.fileName,
              size: bytes.length,
              sha256: sha(bytes),
              mediaType: "image/png",
              origin: "south-a",
              destination: "north-a",
              receivedAt: NOW,
            } as never;
          },
          download: async function* () {
            yield create(copyPb.DownloadCopyResponseSchema, {
              part: {
                case: "info",
                value: {
                  fileName: "article.png",
                  size: BigInt(announced.length),
                  sha256: sha(announced),
                  mediaType: "image/png",
                },
              },
            });
            yield create(copyPb.DownloadCopyResponseSchema, {
              part: { case: "chunk", value: o.body ?? PNG },
            });
          },
        },
        () => "copy_completed",
      ),
    ),
  );
  const progress: string[] = [];
  const deps: CopyCliDeps = {
    connect: () => ({
      client: createClient(copyPb.CopyStaffService, transport),
      maxBytes: o.maxBytes ?? 1_000_000,
      close: () => {},
    }),
    progress: (line) => progress.push(line),
  };
  return { deps, uploads, progress };
}

describe("ill upload-copy", () => {
  it("streams the file with its SHA-256 and reports progress", async () => {
    const file = join(dir, "scan.png");
    writeFileSync(file, PNG);
    const n = node();
    const res = await uploadCopy(n.deps, { config: "x.toml", id: "lend-1", file });
    expect(n.uploads).toEqual([{ size: PNG.length, sha256: sha(PNG), bytes: PNG, fileName: "scan.png" }]);
    expect(res).toMatchObject({ requestId: "lend-1", status: "copy_completed", copy: { sha256: sha(PNG) } });
    expect(n.progress.at(-1)).toMatch(/\(100%\)$/);
  });

  it("refuses a file over the limit or of another type before sending it", async () => {
    const big = join(dir, "big.png");
    writeFileSync(big, PNG);
    const n = node({ maxBytes: 1000 });
    await expect(uploadCopy(n.deps, { config: "x.toml", id: "lend-1", file: big })).rejects.toThrow(
      /larger than the limit of 1000 bytes \(1 KB\) \(\[ill\] max_copy_size\)/,
    );
    const doc = join(dir, "letter.docx");
    writeFileSync(doc, Buffer.from("PK\u0003\u0004rest of a word file"));
    const err = await uploadCopy(node().deps, { config: "x.toml", id: "lend-1", file: doc }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CopyRejectedError);
    expect((err as Error).message).toMatch(/ZIP archive .*not a PDF, JPEG, PNG or TIFF/);
    expect(n.uploads).toEqual([]);
  });
});

describe("ill download-copy", () => {
  it("writes the file and checks its SHA-256", async () => {
    const out = join(dir, "got.png");
    const res = await downloadCopy(node().deps, { config: "x.toml", id: "b-1", output: out });
    expect(res).toMatchObject({ path: out, size: PNG.length, sha256: sha(PNG) });
    expect(readFileSync(out).equals(PNG)).toBe(true);
    await expect(downloadCopy(node().deps, { config: "x.toml", id: "b-1", output: out })).rejects.toThrow(
      /exists; give --output FILE or --force/,
    );
  });

  it.each([
    [
      "corrupted",
      Buffer.concat([PNG.subarray(0, 10), Buffer.from([1]), PNG.subarray(11)]),
      /corrupt: expected SHA-256/,
    ],
    ["truncated", PNG.subarray(0, 1000), /cut short: expected 300008 bytes, got 1000/],
  ])("keeps nothing of a %s download", async (_what, body, message) => {
    const out = join(dir, "got.png");
    await expect(
      downloadCopy(node({ body, announced: PNG }).deps, { config: "x.toml", id: "b-1", output: out }),
    ).rejects.toThrow(message);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
