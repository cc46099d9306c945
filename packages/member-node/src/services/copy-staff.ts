// Document delivery at a member: CopyStaffService (the node's own CLI uploads a lender's copy and
// downloads a borrower's) and CopyTransferService (the regional center delivers copies for this
// member's borrowing requests).
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { CopyRejectedError, copyPb, mapErrors, peerKey, ValidationError } from "@lrs/shared";
import type { CopyDelivery } from "../delivery/copies.js";
import { copyInfoOf } from "../delivery/copies.js";

/** The chunks of an upload after its header; a second header is refused. */
async function* uploadChunks(it: AsyncIterator<copyPb.UploadCopyRequest>): AsyncGenerator<Uint8Array> {
  for (;;) {
    const next = await it.next();
    if (next.done) return;
    if (next.value.part.case !== "chunk")
      throw new CopyRejectedError(
        "only the first message of an upload may be the header; the rest are chunks",
      );
    yield next.value.part.value;
  }
}

/** CopyStaffService over the engine's document delivery. The node's policy lets only its own certificate call it. */
export function copyStaffService(
  copies: Pick<CopyDelivery, "upload" | "download" | "checkDeliverable">,
  status: (requestId: string) => string,
): ServiceImpl<typeof copyPb.CopyStaffService> {
  return {
    uploadCopy: mapErrors(async (parts: AsyncIterable<copyPb.UploadCopyRequest>) => {
      const it = parts[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done || first.value.part.case !== "header")
        throw new ValidationError("an upload begins with its header (request id, file name, size)");
      const h = first.value.part.value;
      const requestId = h.requestId.trim();
      if (requestId === "") throw new ValidationError("header.request_id: is required");
      const record = await copies.upload(
        {
          requestId,
          fileName: h.fileName,
          size: Number(h.size),
          ...(h.sha256 ? { sha256: h.sha256.trim().toLowerCase() } : {}),
          ...(h.note.trim() ? { note: h.note.trim() } : {}),
        },
        uploadChunks(it),
      );
      return create(copyPb.UploadCopyResponseSchema, { copy: copyInfoOf(record), status: status(requestId) });
    }),

    downloadCopy: (req: copyPb.DownloadCopyRequest) => {
      const requestId = req.requestId.trim();
      return mapStream(() => {
        if (requestId === "") throw new ValidationError("request_id: is required");
        return copies.download(requestId);
      });
    },
  };
}

/** A server stream whose errors reach the caller with their proper codes (mapErrors for streams). */
async function* mapStream<T>(open: () => AsyncGenerator<T>): AsyncGenerator<T> {
  const wrapped = mapErrors(async () => open());
  const gen = await wrapped();
  const next = mapErrors((g: AsyncGenerator<T>) => g.next());
  for (;;) {
    const r = await next(gen);
    if (r.done) return;
    yield r.value;
  }
}

/** CopyTransferService at a member: copies for its borrowing requests, from its regional center (policy: parent). */
export function copyTransferService(
  copies: Pick<CopyDelivery, "receive">,
): ServiceImpl<typeof copyPb.CopyTransferService> {
  return {
    pushCopy: mapErrors((parts: AsyncIterable<copyPb.PushCopyRequest>, ctx: HandlerContext) =>
      copies.receive(parts, ctx.values.get(peerKey).identity!.id),
    ),
  };
}
