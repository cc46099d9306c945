// Copy files at one node: what arrived (verified), where it goes next, and when it was deleted.
// The same store serves the lender (its upload), the regional and national centers (relays) and
// the borrower (the delivered copy); the member adds its requests' rules on top.
import { randomBytes } from "node:crypto";
import { readdirSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Database } from "../db.js";
import {
  type CopyTransfer,
  CopyTransferSchema,
  type PushCopyRequest,
  type PushCopyResponse,
  PushCopyResponseSchema,
} from "../gen/lrs/v1/copy_pb.js";
import { type TraceHop, TraceHopSchema } from "../gen/lrs/v1/ill_service_pb.js";
import type { Logger } from "../log.js";
import type { Outbox } from "../outbox.js";
import { CopyRejectedError } from "./errors.js";
import { commitFile, removeFile, safeFileName, tooLarge, type VerifiedFile, writeVerified } from "./file.js";
import { isCopyMediaType } from "./media-type.js";

/** Outbox kind of a copy on its way to the next hop; the payload is its CopyTransfer header. */
export const COPY_KIND = "copy.transfer";

/** The outbox message id of a transfer at any node (each node has its own outbox). */
export function copyOutboxId(transferId: string): string {
  return `copy:${transferId}`;
}

export type CopyRole = "lender" | "relay" | "borrower";

/** A copy file as this node keeps (or kept) it. */
export interface CopyRecord {
  readonly transferId: string;
  readonly role: CopyRole;
  readonly requestingAgencyRequestId: string;
  /** The borrower's request id (the ISO id before its last "/"). */
  readonly requestId: string;
  readonly origin: string;
  readonly destination: string;
  readonly size: number;
  readonly sha256: string;
  readonly mediaType: string;
  readonly fileName: string;
  readonly createdAt: Date;
  readonly receivedFrom: string;
  readonly receivedAt: Date;
  /** Absolute path while the file is kept here. */
  readonly path: string | undefined;
  readonly nextHop: string | undefined;
  readonly outboxDestination: string | undefined;
  readonly forwardedAt: Date | undefined;
  readonly deletedAt: Date | undefined;
  readonly deletedReason: string | undefined;
  readonly localRequestId: string | undefined;
  readonly expiresAt: Date | undefined;
  readonly firstDownloadedAt: Date | undefined;
  readonly downloads: number;
}

interface Row {
  transfer_id: string;
  role: CopyRole;
  requesting_agency_request_id: string;
  request_id: string;
  origin: string;
  destination: string;
  size: number;
  sha256: string;
  media_type: string;
  file_name: string;
  created_at: string;
  received_from: string;
  received_at: string;
  path: string | null;
  next_hop: string | null;
  outbox_destination: string | null;
  forwarded_at: string | null;
  deleted_at: string | null;
  deleted_reason: string | null;
  local_request_id: string | null;
  expires_at: string | null;
  first_downloaded_at: string | null;
  downloads: number;
}

/** Where a stored copy goes next: an outbox destination ("parent", "child:<id>") and the node it is. */
export interface CopyRoute {
  readonly destination: string;
  readonly nextHop: string;
}

/** What the receiving node decides from a transfer's header, before any byte is kept. */
export interface CopyAcceptance {
  readonly role: "relay" | "borrower";
  /** A relay: where the copy goes next. */
  readonly route?: CopyRoute;
  /** A member: its request the copy is for. */
  readonly localRequestId?: string;
  /** A borrower: when the copy is deleted. */
  readonly expiresAt?: Date;
  /** Runs inside the transaction that stores the copy (a member sets its expiry timer). */
  readonly onStored?: (record: CopyRecord) => void;
}

export interface ReceiveOptions {
  /** The node pushing the copy (from its certificate). */
  readonly caller: string;
  /** Larger copies are refused ([ill] max_copy_size). */
  readonly maxBytes: number;
  /**
   * Authorizes and routes a transfer by its header; throws to refuse it. Called before any byte
   * is read, and again (for the duplicate check) never: a retry of a stored transfer is answered
   * from the store.
   */
  readonly accept: (header: CopyTransfer) => CopyAcceptance;
}

export interface CopyStoreOptions {
  readonly db: Database;
  readonly outbox: Outbox;
  /** The node's data directory: copies live in `<dataDir>/copies`. */
  readonly dataDir: string;
  /** This node's id, in answers. */
  readonly nodeId: string;
  readonly log: Logger;
  readonly now?: () => Date;
}

const TRANSFER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{7,127}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** The borrower's request id of an ISO request id: before its last "/". */
function requestIdOf(isoId: string): string {
  const slash = isoId.lastIndexOf("/");
  return slash < 0 ? isoId : isoId.slice(0, slash);
}

/** Checks what every hop needs of a transfer's header. Throws CopyRejectedError naming the field. */
export function checkTransfer(h: CopyTransfer): void {
  const bad = (field: string, problem: string) => new CopyRejectedError(`header.${field} ${problem}`);
  if (!TRANSFER_ID.test(h.transferId))
    throw bad("transfer_id", `"${h.transferId}" is not a transfer id (8–128 letters, digits, ".", "_", "-")`);
  if (h.requestingAgencyRequestId.trim() === "") throw bad("requesting_agency_request_id", "is required");
  if (h.originAgencyId === "") throw bad("origin_agency_id", "is required");
  if (h.destinationAgencyId === "") throw bad("destination_agency_id", "is required");
  if (h.originAgencyId === h.destinationAgencyId)
    throw bad("destination_agency_id", "must differ from the origin");
  if (h.size <= 0n) throw bad("size", "must be more than 0 bytes");
  if (!SHA256.test(h.sha256)) throw bad("sha256", "must be 64 lower-case hex digits");
  if (!isCopyMediaType(h.mediaType))
    throw bad("media_type", `"${h.mediaType}" is not application/pdf, image/jpeg, image/png or image/tiff`);
  if (h.fileName.trim() === "") throw bad("file_name", "is required");
}

/** The chunks of a push after its header; a second header is refused. */
async function* chunksAfterHeader(
  it: AsyncIterator<PushCopyRequest>,
): AsyncGenerator<Uint8Array, void, undefined> {
  for (;;) {
    const next = await it.next();
    if (next.done) return;
    const part = next.value.part;
    if (part.case !== "chunk")
      throw new CopyRejectedError(
        "only the first message of the stream may be the header; the rest are chunks",
      );
    yield part.value;
  }
}

/** The copy files of one node over its database and data directory. */
export class CopyStore {
  readonly #o: CopyStoreOptions;
  readonly #now: () => Date;
  readonly dir: string;
  readonly tempDir: string;

  constructor(o: CopyStoreOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
    this.dir = resolve(o.dataDir, "copies");
    this.tempDir = join(this.dir, "tmp");
  }

  get nodeId(): string {
    return this.#o.nodeId;
  }

  get database(): Database {
    return this.#o.db;
  }

  /**
   * Removes what a crash left behind: temporary files, and files no row keeps (stored but not
   * committed, or deleted in the database but not yet on disk). Call before the node serves.
   */
  sweep(): number {
    let removed = 0;
    rmSync(this.tempDir, { recursive: true, force: true });
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return 0;
    }
    const kept = new Set(
      (
        this.#o.db.sqlite.prepare("SELECT path FROM copy_transfers WHERE path IS NOT NULL").all() as Array<{
          path: string;
        }>
      ).map((r) => resolve(this.#o.dataDir, r.path)),
    );
    for (const name of names) {
      const path = join(this.dir, name);
      if (name === "tmp" || kept.has(path)) continue;
      rmSync(path, { force: true, recursive: true });
      removed++;
    }
    if (removed > 0) this.#o.log.info({ removed }, "removed copy files no transfer keeps");
    return removed;
  }

  get(transferId: string): CopyRecord | undefined {
    const row = this.#o.db.sqlite
      .prepare("SELECT * FROM copy_transfers WHERE transfer_id = ?")
      .get(transferId) as Row | undefined;
    return row ? this.#toRecord(row) : undefined;
  }

  /** A member's copies of one of its requests, the latest first. */
  forLocalRequest(localRequestId: string): CopyRecord[] {
    const rows = this.#o.db.sqlite
      .prepare(
        "SELECT * FROM copy_transfers WHERE local_request_id = ? ORDER BY received_at DESC, rowid DESC",
      )
      .all(localRequestId) as Row[];
    return rows.map((r) => this.#toRecord(r));
  }

  /** Copies of a borrower's request (every rota position) or of one ISO request id. */
  forRequest(requestId: string): CopyRecord[] {
    const rows = this.#o.db.sqlite
      .prepare(
        "SELECT * FROM copy_transfers WHERE request_id = ? OR requesting_agency_request_id = ? ORDER BY received_at, rowid",
      )
      .all(requestId, requestId) as Row[];
    return rows.map((r) => this.#toRecord(r));
  }

  /**
   * One hop of a copy: reads the header, lets `accept` authorize and route it, answers a retry of
   * a transfer stored already without storing it again, and otherwise writes the file, checks its
   * size and SHA-256 against the header, and stores it (and queues it for the next hop) in one
   * transaction. Throws CopyRejectedError, CopyCorruptError or what `accept` throws; nothing is
   * kept then.
   */
  async receive(parts: AsyncIterable<PushCopyRequest>, o: ReceiveOptions): Promise<PushCopyResponse> {
    const it = parts[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done || first.value.part.case !== "header")
      throw new CopyRejectedError("the stream must begin with the transfer's header");
    const header = first.value.part.value;
    checkTransfer(header);
    if (header.size > BigInt(o.maxBytes)) throw tooLarge(Number(header.size), o.maxBytes);
    const acceptance = o.accept(header);
    const seen = this.get(header.transferId);
    if (seen) {
      // A retry after a lost answer: the bytes are read and dropped, so the stream ends cleanly.
      for await (const _ of chunksAfterHeader(it)) {
        // discarded
      }
      return this.#answer(true, `already stored (${this.#disposition(seen)})`);
    }
    const file = await writeVerified(chunksAfterHeader(it), {
      tempDir: this.tempDir,
      maxBytes: o.maxBytes,
      expectedSize: Number(header.size),
      expectedSha256: header.sha256,
      expectedMediaType: header.mediaType,
    });
    const stored = await this.store(file, header, {
      role: acceptance.role,
      receivedFrom: o.caller,
      ...(acceptance.route ? { route: acceptance.route } : {}),
      ...(acceptance.localRequestId ? { localRequestId: acceptance.localRequestId } : {}),
      ...(acceptance.expiresAt ? { expiresAt: acceptance.expiresAt } : {}),
      ...(acceptance.onStored ? { onStored: acceptance.onStored } : {}),
    });
    if (!stored.stored) return this.#answer(true, `already stored (${this.#disposition(stored.record)})`);
    this.#o.log.info(
      {
        transferId: header.transferId,
        origin: header.originAgencyId,
        destination: header.destinationAgencyId,
        from: o.caller,
        size: file.size,
        nextHop: acceptance.route?.nextHop,
      },
      "copy stored, SHA-256 verified",
    );
    return this.#answer(false, this.#disposition(stored.record));
  }

  /**
   * Keeps a verified file: moves it into place and, in one transaction, records it, queues it for
   * its next hop (when routed) and runs `onStored`. A transfer stored meanwhile (a concurrent
   * retry) keeps the first copy and drops this one.
   */
  async store(
    file: VerifiedFile,
    header: CopyTransfer,
    o: {
      role: CopyRole;
      receivedFrom: string;
      route?: CopyRoute;
      localRequestId?: string;
      expiresAt?: Date;
      onStored?: (record: CopyRecord) => void;
    },
  ): Promise<{ stored: boolean; record: CopyRecord }> {
    const { db, outbox, dataDir } = this.#o;
    // A name of its own per stored file: a concurrent duplicate never overwrites a kept copy.
    const path = join(this.dir, `${header.transferId}.${randomBytes(4).toString("hex")}`);
    await commitFile(file.tempPath, path);
    let result: { stored: boolean; record: CopyRecord };
    try {
      result = db.transaction(() => {
        const seen = this.get(header.transferId);
        if (seen) return { stored: false, record: seen };
        const now = this.#now().toISOString();
        const row: Row = {
          transfer_id: header.transferId,
          role: o.role,
          requesting_agency_request_id: header.requestingAgencyRequestId,
          request_id: requestIdOf(header.requestingAgencyRequestId),
          origin: header.originAgencyId,
          destination: header.destinationAgencyId,
          size: file.size,
          sha256: file.sha256,
          media_type: file.mediaType,
          file_name: safeFileName(header.fileName),
          created_at: header.createdAt ? timestampDate(header.createdAt).toISOString() : now,
          received_from: o.receivedFrom,
          received_at: now,
          path: relative(dataDir, path),
          next_hop: o.route?.nextHop ?? null,
          outbox_destination: o.route?.destination ?? null,
          forwarded_at: null,
          deleted_at: null,
          deleted_reason: null,
          local_request_id: o.localRequestId ?? null,
          expires_at: o.expiresAt?.toISOString() ?? null,
          first_downloaded_at: null,
          downloads: 0,
        };
        const columns = Object.keys(row);
        db.sqlite
          .prepare(
            `INSERT INTO copy_transfers (${columns.join(", ")}) VALUES (${columns.map((c) => `@${c}`).join(", ")})`,
          )
          .run(row);
        if (o.route)
          outbox.enqueue(
            o.route.destination,
            COPY_KIND,
            toBinary(CopyTransferSchema, header),
            copyOutboxId(header.transferId),
          );
        const record = this.#toRecord(row);
        o.onStored?.(record);
        return { stored: true, record };
      });
    } catch (err) {
      await removeFile(path);
      throw err;
    }
    if (!result.stored) await removeFile(path);
    return result;
  }

  /**
   * The next hop acknowledged the copy: the file is no longer needed here. Idempotent; the
   * database first, then the disk (a crash in between leaves a file `sweep` removes).
   */
  async markForwarded(transferId: string, by: string): Promise<void> {
    const now = this.#now().toISOString();
    const row = this.#row(transferId);
    if (!row) return;
    this.#o.db.sqlite
      .prepare(
        `UPDATE copy_transfers SET forwarded_at = coalesce(forwarded_at, ?), path = NULL,
           deleted_at = coalesce(deleted_at, ?), deleted_reason = coalesce(deleted_reason, ?)
         WHERE transfer_id = ?`,
      )
      .run(now, now, `sent on to ${by}, which has it`, transferId);
    if (row.path) await removeFile(resolve(this.#o.dataDir, row.path));
  }

  /**
   * Marks a kept copy deleted (with the reason people will read) inside the caller's transaction
   * when there is one; returns the path to remove from disk once that commits. Undefined when
   * there was no file.
   */
  markDeleted(transferId: string, reason: string, at: Date = this.#now()): string | undefined {
    const row = this.#row(transferId);
    if (!row?.path) return undefined;
    this.#o.db.sqlite
      .prepare(
        "UPDATE copy_transfers SET path = NULL, deleted_at = ?, deleted_reason = ? WHERE transfer_id = ?",
      )
      .run(at.toISOString(), reason, transferId);
    return resolve(this.#o.dataDir, row.path);
  }

  /**
   * Counts a download; `inTransaction` runs in the same transaction when it is the first one (a
   * member posts its charge there). Returns whether it was the first.
   */
  recordDownload(transferId: string, inTransaction?: () => void): boolean {
    const at = this.#now().toISOString();
    return this.#o.db.transaction(() => {
      const row = this.#row(transferId);
      if (!row) return false;
      const first = row.first_downloaded_at === null;
      this.#o.db.sqlite
        .prepare(
          "UPDATE copy_transfers SET downloads = downloads + 1, first_downloaded_at = coalesce(first_downloaded_at, ?) WHERE transfer_id = ?",
        )
        .run(at, transferId);
      if (first) inTransaction?.();
      return first;
    });
  }

  /** The copy transfers of a request as trace hops at this node, with the outbox's word on the next hop. */
  hops(requestId: string): TraceHop[] {
    const rows = this.#o.db.sqlite
      .prepare(
        `SELECT c.*, o.delivered_at AS o_delivered_at, o.attempts AS o_attempts, o.last_error AS o_last_error
         FROM copy_transfers c LEFT JOIN outbox o ON o.message_id = 'copy:' || c.transfer_id
         WHERE c.request_id = ? OR c.requesting_agency_request_id = ?
         ORDER BY c.received_at, c.rowid`,
      )
      .all(requestId, requestId) as Array<
      Row & { o_delivered_at: string | null; o_attempts: number | null; o_last_error: string | null }
    >;
    return rows.map((r) => {
      const forwarded = r.forwarded_at ?? r.o_delivered_at;
      return create(TraceHopSchema, {
        nodeId: this.#o.nodeId,
        messageId: r.transfer_id,
        kind: `CopyTransfer ${r.media_type} ${r.size} bytes`,
        originAgencyId: r.origin,
        destinationAgencyId: r.destination,
        requestingAgencyRequestId: r.requesting_agency_request_id,
        receivedFrom: r.received_from,
        receivedAt: timestampFromDate(new Date(r.received_at)),
        nextHop: r.next_hop ?? "",
        ...(forwarded ? { forwardedAt: timestampFromDate(new Date(forwarded)) } : {}),
        attempts: r.o_attempts ?? 0,
        lastError: r.o_last_error ?? "",
      });
    });
  }

  #row(transferId: string): Row | undefined {
    return this.#o.db.sqlite.prepare("SELECT * FROM copy_transfers WHERE transfer_id = ?").get(transferId) as
      | Row
      | undefined;
  }

  #answer(duplicate: boolean, disposition: string): PushCopyResponse {
    return create(PushCopyResponseSchema, { duplicate, nodeId: this.#o.nodeId, disposition });
  }

  #disposition(r: CopyRecord): string {
    return r.nextHop ? `stored for ${r.nextHop}` : "stored here";
  }

  #toRecord(r: Row): CopyRecord {
    const date = (s: string | null) => (s === null ? undefined : new Date(s));
    return {
      transferId: r.transfer_id,
      role: r.role,
      requestingAgencyRequestId: r.requesting_agency_request_id,
      requestId: r.request_id,
      origin: r.origin,
      destination: r.destination,
      size: r.size,
      sha256: r.sha256,
      mediaType: r.media_type,
      fileName: r.file_name,
      createdAt: new Date(r.created_at),
      receivedFrom: r.received_from,
      receivedAt: new Date(r.received_at),
      path: r.path === null ? undefined : resolve(this.#o.dataDir, r.path),
      nextHop: r.next_hop ?? undefined,
      outboxDestination: r.outbox_destination ?? undefined,
      forwardedAt: date(r.forwarded_at),
      deletedAt: date(r.deleted_at),
      deletedReason: r.deleted_reason ?? undefined,
      localRequestId: r.local_request_id ?? undefined,
      expiresAt: date(r.expires_at),
      firstDownloadedAt: date(r.first_downloaded_at),
      downloads: r.downloads,
    };
  }
}
