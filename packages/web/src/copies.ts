// Article copies in the browser: the lender's scan is uploaded as a plain HTTP body (browsers
// cannot stream a request to a Connect client-streaming call) and passed to the node's
// CopyStaffService.UploadCopy in chunks; the borrower's download is DownloadCopy's chunks as a file.
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { create } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { copyPb } from "@lrs/shared";
import { HttpError } from "./http-util.js";
import type { NodeLink } from "./node-link.js";

const CHUNK = 256 * 1024;

/** What the browser uploads: a file of at most `maxBytes` (the node checks again: type, size, hash). */
export async function uploadCopy(
  link: NodeLink,
  req: IncomingMessage,
  o: { requestId: string; fileName: string; note: string; maxBytes: number },
): Promise<copyPb.UploadCopyResponse> {
  const size = Number(req.headers["content-length"] ?? Number.NaN);
  if (!Number.isFinite(size) || size <= 0)
    throw new HttpError(411, "the upload needs its length (Content-Length)");
  if (size > o.maxBytes) throw new HttpError(413, `the file is larger than the limit of ${o.maxBytes} bytes`);
  // The file is read whole first, so that its SHA-256 goes in the header and the node checks it.
  const parts: Buffer[] = [];
  let got = 0;
  for await (const c of req) {
    got += (c as Buffer).length;
    if (got > size) throw new HttpError(400, `the body is longer than its Content-Length (${size})`);
    parts.push(c as Buffer);
  }
  if (got !== size) throw new HttpError(400, `the upload broke off: ${got} of ${size} bytes arrived`);
  const file = Buffer.concat(parts);
  const sha256 = createHash("sha256").update(file).digest("hex");
  async function* messages() {
    yield create(copyPb.UploadCopyRequestSchema, {
      part: {
        case: "header",
        value: { requestId: o.requestId, fileName: o.fileName, size: BigInt(size), sha256, note: o.note },
      },
    });
    for (let i = 0; i < file.length; i += CHUNK)
      yield create(copyPb.UploadCopyRequestSchema, {
        part: { case: "chunk", value: file.subarray(i, i + CHUNK) },
      });
  }
  const client = createClient(copyPb.CopyStaffService, link.transport());
  return client.uploadCopy(messages(), { timeoutMs: 120_000 });
}

/** Streams a borrower's copy to the browser as a download. */
export async function downloadCopy(link: NodeLink, requestId: string, res: ServerResponse): Promise<void> {
  const client = createClient(copyPb.CopyStaffService, link.transport());
  let started = false;
  try {
    for await (const m of client.downloadCopy({ requestId }, { timeoutMs: 120_000 })) {
      if (m.part.case === "info") {
        const info = m.part.value;
        res.writeHead(200, {
          "content-type": info.mediaType || "application/octet-stream",
          "content-length": String(info.size),
          "content-disposition": `attachment; filename*=UTF-8''${encodeURIComponent(info.fileName)}`,
          "x-copy-sha256": info.sha256,
          "cache-control": "no-store",
        });
        started = true;
      } else if (m.part.case === "chunk") {
        if (!res.write(m.part.value)) await new Promise<void>((r) => res.once("drain", () => r()));
      }
    }
    res.end();
  } catch (err) {
    if (started) res.destroy(err as Error);
    else throw err instanceof ConnectError ? new HttpError(409, err.rawMessage, { code: err.code }) : err;
  }
}
