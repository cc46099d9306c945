// Document delivery at a member: the lender's staff upload the scanned copy of a copy request,
// it travels (ahead of the CopyCompleted message) through the gateways to the borrower, which
// keeps it for its retention period, lets staff download it, and then deletes it. The bytes are
// checked against their SHA-256 at every hop; the borrower takes a CopyCompleted only once its
// verified copy is here.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type CopyRecord,
  CopyRejectedError,
  type CopyStore,
  CopyUnavailableError,
  copyPb,
  fileChunks,
  formatSize,
  IllForbiddenError,
  ill,
  illPb,
  type Logger,
  removeFile,
  safeFileName,
  tooLarge,
  writeVerified,
} from "@lrs/shared";
import { IllNotFoundError, IllStateError } from "../ill/errors.js";
import { IllRefusal } from "../ill/receiver.js";
import { ILL_DESTINATION, type IllRequest, type IllStore, requestIdOfIso } from "../ill/store.js";

const { ServiceType } = illPb;

export interface CopyDeliveryOptions {
  readonly store: IllStore;
  readonly copies: CopyStore;
  /** This member. */
  readonly agencyId: string;
  /** [ill] max_copy_size. */
  readonly maxBytes: number;
  /** [ill] copy_retention, in milliseconds. */
  readonly retentionMs: number;
  /** The regional center's id, for what people read ("stored for north-rc"). */
  readonly parentId: () => string;
  readonly log: Logger;
  readonly now: () => Date;
  readonly newId: () => string;
  /** The first download of a borrowing request's copy, inside the transaction that records it. */
  readonly onFirstDownload?: (requestId: string) => void;
  /** Every complete download (traffic accounting): the lender it came from, its size, how long. */
  readonly onDownloaded?: (d: { requestId: string; lender: string; bytes: number; ms: number }) => void;
  /** Whether an agency is an external partner (outside the federation; its copies come by URL). */
  readonly isExternalPartner?: (agencyId: string) => boolean;
}

/** What staff send with an upload, before the bytes. */
export interface UploadInput {
  readonly requestId: string;
  readonly fileName: string;
  /** Bytes that will follow. */
  readonly size: number;
  /** The SHA-256 the uploader computed (hex); checked when given. */
  readonly sha256?: string;
  readonly note?: string;
}

/** "30 days", "3 seconds", "4 hours": a retention period as the timeline says it. */
export function describePeriod(ms: number): string {
  const units: ReadonlyArray<[string, number]> = [
    ["day", 86_400_000],
    ["hour", 3_600_000],
    ["minute", 60_000],
    ["second", 1000],
  ];
  for (const [unit, size] of units)
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms / size === 1 ? "" : "s"}`;
  for (const [unit, size] of units)
    if (ms >= size) {
      const n = Math.round(ms / size);
      return `${n} ${unit}${n === 1 ? "" : "s"}`;
    }
  return `${ms} ms`;
}

/** The copy of one request as staff see it (CopyInfo of ShowRequest, UploadCopy and DownloadCopy). */
export function copyInfoOf(r: CopyRecord): copyPb.CopyInfo {
  const state =
    r.role === "borrower" ? (r.path ? "available" : "deleted") : r.forwardedAt ? "sent" : "queued";
  return create(copyPb.CopyInfoSchema, {
    transferId: r.transferId,
    fileName: r.fileName,
    size: BigInt(r.size),
    sha256: r.sha256,
    mediaType: r.mediaType,
    originAgencyId: r.origin,
    destinationAgencyId: r.destination,
    state,
    storedAt: timestampFromDate(r.receivedAt),
    ...(r.forwardedAt ? { forwardedAt: timestampFromDate(r.forwardedAt) } : {}),
    ...(r.role === "borrower" && r.expiresAt ? { availableUntil: timestampFromDate(r.expiresAt) } : {}),
    // A lender's file goes once the regional center has it; that is "sent", not a deletion to show.
    ...(r.role === "borrower" && r.deletedAt ? { deletedAt: timestampFromDate(r.deletedAt) } : {}),
    deletedReason: r.role === "borrower" ? (r.deletedReason ?? "") : "",
    ...(r.firstDownloadedAt ? { firstDownloadedAt: timestampFromDate(r.firstDownloadedAt) } : {}),
    downloads: r.downloads,
  });
}

function isCopyService(t: illPb.ServiceType): boolean {
  return t === ServiceType.COPY || t === ServiceType.COPY_OR_LOAN;
}

export class CopyDelivery {
  readonly #o: CopyDeliveryOptions;

  constructor(o: CopyDeliveryOptions) {
    this.#o = o;
  }

  get maxBytes(): number {
    return this.#o.maxBytes;
  }

  /**
   * Whether a lending request may be delivered as a copy now. Asked before an upload's bytes are
   * read, and again in the transaction that delivers it. Throws IllNotFoundError, IllStateError.
   */
  checkDeliverable(requestId: string): IllRequest {
    const r = this.#o.store.get(requestId);
    if (!r) throw new IllNotFoundError(requestId);
    const refuse = (reason: string) => new IllStateError(r.id, r.state, "upload-copy", reason);
    if (r.role !== "lender")
      throw refuse("a copy is uploaded by the lending library; this is a borrowing request");
    if (!isCopyService(r.serviceType)) throw refuse("it asks for a loan, not a copy");
    if (ill.supplierMachine.rowsFor(r.state as ill.SupplierState, "deliver_copy").length === 0) {
      const states = [
        ...new Set(ill.supplierMachine.table.filter((t) => t.event === "deliver_copy").map((t) => t.from)),
      ];
      const hint =
        r.state === "new" || r.state === "expect_to_supply"
          ? ` (answer yes first: ill respond ${r.id} yes)`
          : "";
      throw refuse(`a copy is delivered in state ${states.join(" or ")}${hint}`);
    }
    return r;
  }

  /**
   * A lender's upload: checked before the bytes are read (the request, the size), written and
   * verified (size, SHA-256 when given, PDF or image by its first bytes), then in one transaction
   * stored, queued for the regional center and delivered (deliver_copy: the CopyCompleted
   * message is queued after the file). Nothing is kept when anything is refused.
   */
  async upload(input: UploadInput, chunks: AsyncIterable<Uint8Array>): Promise<CopyRecord> {
    const { copies, store, maxBytes } = this.#o;
    if (input.size <= 0) throw new CopyRejectedError("size: the copy is empty (0 bytes)");
    if (input.size > maxBytes) throw tooLarge(input.size, maxBytes);
    if (input.sha256 && !/^[0-9a-f]{64}$/.test(input.sha256))
      throw new CopyRejectedError("sha256: must be 64 lower-case hex digits");
    const request = this.checkDeliverable(input.requestId);
    const file = await writeVerified(chunks, {
      tempDir: copies.tempDir,
      maxBytes,
      expectedSize: input.size,
      ...(input.sha256 ? { expectedSha256: input.sha256 } : {}),
    });
    const fileName = safeFileName(input.fileName);
    const transfer = create(copyPb.CopyTransferSchema, {
      transferId: this.#o.newId(),
      requestingAgencyRequestId: request.requestingAgencyRequestId ?? "",
      originAgencyId: this.#o.agencyId,
      destinationAgencyId: request.partner ?? "",
      size: BigInt(file.size),
      sha256: file.sha256,
      mediaType: file.mediaType,
      fileName,
      createdAt: timestampFromDate(this.#o.now()),
    });
    const described = `${fileName}, ${formatSize(file.size)}, SHA-256 ${file.sha256}`;
    const note = [input.note?.trim(), `copy delivered: ${described}`].filter(Boolean).join("; ");
    const { record } = await copies.store(file, transfer, {
      role: "lender",
      receivedFrom: this.#o.agencyId,
      route: { destination: ILL_DESTINATION, nextHop: this.#o.parentId() },
      localRequestId: request.id,
      // In the transaction that queued the file: CopyCompleted is queued behind it.
      onStored: () => {
        this.checkDeliverable(request.id);
        store.applyAction(request.id, "deliver_copy", { note });
      },
    });
    this.#o.log.info(
      {
        requestId: request.id,
        transferId: record.transferId,
        size: record.size,
        borrower: record.destination,
      },
      "copy uploaded and queued for the borrower",
    );
    return record;
  }

  /**
   * The scenario lender's "scan": a one-page PDF naming what was asked for, uploaded as staff
   * would. A request that cannot be delivered (any more) is left alone.
   */
  async deliverGenerated(requestId: string, why: string): Promise<void> {
    const r = this.#o.store.get(requestId);
    if (!r) return;
    const bib = r.bibliographicInfo;
    const pdf = scenarioPdf([
      `Copy for ${r.partner ?? "?"}, request ${r.requestingAgencyRequestId ?? r.id}`,
      bib.title,
      [bib.titleOfComponent, bib.authorOfComponent].filter(Boolean).join(" / "),
      [
        bib.volume.length ? `vol. ${bib.volume.join(", ")}` : "",
        bib.issue ? `no. ${bib.issue}` : "",
        bib.pagesRequested ? `pp. ${bib.pagesRequested}` : "",
      ]
        .filter(Boolean)
        .join(", "),
      `(${why})`,
    ]);
    try {
      await this.upload(
        {
          requestId,
          fileName: `copy-${requestId}.pdf`,
          size: pdf.length,
          note: `automatic responder (${why})`,
        },
        (async function* () {
          yield pdf;
        })(),
      );
    } catch (err) {
      if (!(err instanceof IllStateError)) throw err;
      this.#o.log.warn({ requestId, reason: err.reason }, "automatic responder: copy not delivered");
    }
  }

  /**
   * PushCopy at the borrower, from its regional center: a copy for one of this member's borrowing
   * requests, from a lender of its rota. Stored verified, with the timer that deletes it after the
   * retention period, in one transaction.
   */
  receive(parts: AsyncIterable<copyPb.PushCopyRequest>, caller: string): Promise<copyPb.PushCopyResponse> {
    const { copies, store, agencyId } = this.#o;
    return copies.receive(parts, {
      caller,
      maxBytes: this.#o.maxBytes,
      accept: (h) => {
        if (h.destinationAgencyId !== agencyId)
          throw new CopyRejectedError(
            `header.destination_agency_id names ${h.destinationAgencyId}, not this member (${agencyId})`,
          );
        const request = store.get(requestIdOfIso(h.requestingAgencyRequestId));
        if (request?.role !== "borrower")
          throw new IllNotFoundError(requestIdOfIso(h.requestingAgencyRequestId));
        if (!request.rota.some((e) => e.agencyId === h.originAgencyId))
          throw new IllForbiddenError(
            `${h.originAgencyId} is not a lender of ILL request ${request.id}; its copy is not taken`,
          );
        const expiresAt = new Date(this.#o.now().getTime() + this.#o.retentionMs);
        return {
          role: "borrower",
          localRequestId: request.id,
          expiresAt,
          onStored: () => store.scheduleCopyExpiry(request.id, expiresAt),
        };
      },
    });
  }

  /**
   * Why a lender's CopyCompleted is refused: no verified copy of it has arrived here (the file
   * travels ahead of the message, so it is missing only when its transfer failed for good).
   */
  screenCopyCompleted(request: IllRequest, msg: illPb.SupplyingAgencyMessage): IllRefusal | undefined {
    const isoId = msg.header?.requestingAgencyRequestId ?? "";
    const lender = msg.header?.supplyingAgencyId?.agencyIdValue ?? "";
    const arrived = this.#o.copies
      .forLocalRequest(request.id)
      .some((c) => c.role === "borrower" && c.requestingAgencyRequestId === isoId && c.origin === lender);
    if (arrived) return undefined;
    // A lender outside the federation (through the ISO 18626 gateway) delivers by URL.
    if (msg.deliveryInfo?.url && this.#o.isExternalPartner?.(lender)) return undefined;
    return new IllRefusal(
      illPb.ErrorType.UNRECOGNISED_DATA_VALUE,
      `CopyCompleted for ${isoId} came without its copy: no verified file from ${lender} has arrived at ${this.#o.agencyId}, so the request is not shown as delivered; upload the copy again`,
      request.id,
    );
  }

  /** The latest copy of a request at this member (uploaded or received), if any. */
  latest(requestId: string): CopyRecord | undefined {
    return this.#o.copies.forLocalRequest(requestId)[0];
  }

  /**
   * A borrowing request's copy: its description, then its bytes. After the last chunk the download
   * is counted; the first one calls `onFirstDownload` in the same transaction. Throws
   * IllNotFoundError, IllStateError (a lending request), CopyUnavailableError (not arrived, or
   * deleted: when and why).
   */
  async *download(requestId: string): AsyncGenerator<copyPb.DownloadCopyResponse> {
    const r = this.#o.store.get(requestId);
    if (!r) throw new IllNotFoundError(requestId);
    if (r.role !== "borrower")
      throw new IllStateError(
        r.id,
        r.state,
        "download-copy",
        "a lending request's copy went to the borrower; only the borrowing library downloads it",
      );
    const copy = this.#o.copies.forLocalRequest(r.id).find((c) => c.role === "borrower");
    if (!copy) {
      const waiting =
        isCopyService(r.serviceType) && !ill.requesterMachine.states[r.state as ill.RequesterState]?.terminal;
      throw new CopyUnavailableError(
        `no copy of ILL request ${r.id} has arrived${waiting ? " yet" : ""} (state ${r.state})`,
      );
    }
    if (!copy.path)
      throw new CopyUnavailableError(
        `the copy of ILL request ${r.id} (${copy.fileName}) was deleted on ${copy.deletedAt?.toISOString() ?? "an unknown date"}: ${copy.deletedReason ?? "deleted"}`,
      );
    const started = Date.now();
    yield create(copyPb.DownloadCopyResponseSchema, { part: { case: "info", value: copyInfoOf(copy) } });
    for await (const chunk of fileChunks(copy.path))
      yield create(copyPb.DownloadCopyResponseSchema, { part: { case: "chunk", value: chunk } });
    this.#o.onDownloaded?.({
      requestId: r.id,
      lender: r.partner ?? "",
      bytes: Number(copy.size),
      ms: Date.now() - started,
    });
    try {
      const first = this.#o.copies.recordDownload(copy.transferId, () => this.#o.onFirstDownload?.(r.id));
      if (first)
        this.#o.log.info(
          { requestId: r.id, transferId: copy.transferId },
          "copy downloaded for the first time",
        );
    } catch (err) {
      // The bytes went out; the first download will be counted (and charged) at the next one.
      this.#o.log.error({ err, requestId: r.id }, "first download of the copy could not be recorded");
    }
  }

  /**
   * The copy_expiry timer: deletes the request's delivered copies whose retention is over (the
   * timeline says so; a download then says when and why), and sets the timer again for any
   * kept longer. The database first, then the disk (sweep removes what a crash left).
   */
  async expire(requestId: string): Promise<number> {
    const { store, copies } = this.#o;
    const now = this.#now();
    const paths: string[] = [];
    let deleted: CopyRecord[] = [];
    copies.database.transaction(() => {
      store.cancelTimer(requestId, "copy_expiry");
      const kept = copies.forLocalRequest(requestId).filter((c) => c.role === "borrower" && c.path);
      deleted = kept.filter((c) => !c.expiresAt || c.expiresAt.getTime() <= now.getTime());
      for (const c of deleted) {
        const period = describePeriod((c.expiresAt ?? now).getTime() - c.receivedAt.getTime());
        const path = copies.markDeleted(
          c.transferId,
          `copy deleted after ${period}, the retention period ([ill] copy_retention)`,
          now,
        );
        if (path) paths.push(path);
      }
      const later = kept
        .filter((c) => !deleted.includes(c))
        .map((c) => c.expiresAt!.getTime())
        .sort((a, b) => a - b)[0];
      if (later !== undefined) store.scheduleCopyExpiry(requestId, new Date(later));
      if (deleted.length > 0) {
        const c = deleted[0]!;
        const period = describePeriod((c.expiresAt ?? now).getTime() - c.receivedAt.getTime());
        store.note(
          requestId,
          "copy_deleted",
          `copy deleted after ${period}: ${deleted.map((d) => d.fileName).join(", ")} (the retention period, [ill] copy_retention); it can no longer be downloaded`,
        );
      }
    });
    for (const p of paths) await removeFile(p);
    if (deleted.length > 0)
      this.#o.log.info({ requestId, files: deleted.length }, "copy deleted: retention over");
    return deleted.length;
  }

  #now(): Date {
    return this.#o.now();
  }
}

/**
 * A one-page PDF with the given lines (Helvetica), well-formed (a cross-reference table with the
 * objects' byte offsets), for the scenario lender's copies.
 */
export function scenarioPdf(lines: readonly string[]): Uint8Array {
  const esc = (s: string) => s.replace(/[^\x20-\x7e]/g, "?").replace(/([\\()])/g, "\\$1");
  const text = lines
    .filter((l) => l.trim() !== "")
    .map((l, i) => `BT /F1 12 Tf 72 ${720 - i * 18} Td (${esc(l)}) Tj ET`)
    .join("\n");
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${Buffer.byteLength(text, "latin1")} >>\nstream\n${text}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, "latin1"));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, "latin1");
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new Uint8Array(Buffer.from(out, "latin1"));
}
