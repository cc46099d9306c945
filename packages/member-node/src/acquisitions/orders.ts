/**
 * The library's orders (acquisitions): what it has bought and not yet received, published to the
 * federation so that other libraries see the title on order here before they buy it too.
 *
 * An order is a row of `acq_orders` and, while it is open, one holding of a catalog record: status
 * "on_order", barcode "order:<id>", the copies and the expected date (as Koha and Evergreen show an
 * ordered title in the OPAC with an "On order" item). The holding travels up with the record
 * through catalog sync, so the union catalogs list the library as having it on order, and the rota
 * never asks it to lend (an order is not a copy). The record is the library's own record with the
 * ISBN or ISSN when it has one, else a brief record made for the order (001 "order-<id>": ISBN,
 * ISSN, author, title), removed again when the order closes and leaves it without items.
 */
import { randomBytes } from "node:crypto";
import {
  type Database,
  type HoldingData,
  isIsoDate,
  type MarcRecord,
  normalizeIsbn,
  normalizeIssn,
  ON_ORDER,
} from "@lrs/shared";
import { ftsIndexQuery, type MemberCatalog, ORDER_BARCODE_PREFIX } from "../store/catalog.js";

export type OrderState = "open" | "received" | "cancelled";

export interface Order {
  id: string;
  /** ISBN-13 ("" when the order names none). */
  isbn: string;
  issn: string;
  title: string;
  author: string;
  copies: number;
  /** YYYY-MM-DD, or "" when not known. */
  expectedDate: string;
  fund: string;
  /** The vendor's or the ILS's order number: an order imported twice with it is one order. */
  vendorRef: string;
  state: OrderState;
  /** The catalog record the on-order holding is on. */
  recordId: string;
  /** Whether that record was made for the order. */
  brief: boolean;
  /** "cli", "csv", "marc" or "ils". */
  source: string;
  createdAt: string;
  closedAt: string;
}

/** What an order is placed with; {@link OrderBook.add} checks it. */
export interface OrderInput {
  isbn?: string;
  issn?: string;
  title?: string;
  author?: string;
  copies?: number;
  expectedDate?: string;
  fund?: string;
  vendorRef?: string;
  source: string;
}

/** An order or retention commitment that cannot be made or changed; `field` names what was wrong. */
export class AcquisitionsError extends Error {
  override readonly name = "AcquisitionsError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The most copies one order may be for. */
export const MAX_ORDER_COPIES = 10_000;
const MAX_TEXT = 500;

interface OrderRow {
  id: string;
  isbn: string;
  issn: string;
  title: string;
  author: string;
  copies: number;
  expected_date: string | null;
  fund: string;
  vendor_ref: string;
  state: OrderState;
  record_id: string;
  brief: number;
  source: string;
  created_at: string;
  closed_at: string | null;
}

function fromRow(r: OrderRow): Order {
  return {
    id: r.id,
    isbn: r.isbn,
    issn: r.issn,
    title: r.title,
    author: r.author,
    copies: r.copies,
    expectedDate: r.expected_date ?? "",
    fund: r.fund,
    vendorRef: r.vendor_ref,
    state: r.state,
    recordId: r.record_id,
    brief: r.brief === 1,
    source: r.source,
    createdAt: r.created_at,
    closedAt: r.closed_at ?? "",
  };
}

function text(field: string, v: string | undefined): string {
  const s = (v ?? "").replace(/\s+/g, " ").trim();
  if (s.length > MAX_TEXT) throw new AcquisitionsError(field, `is ${s.length} characters, over ${MAX_TEXT}`);
  return s;
}

/** The order, checked and normalised, or an {@link AcquisitionsError} naming the first bad field. */
export function checkOrder(
  input: OrderInput,
): Omit<Order, "id" | "state" | "recordId" | "brief" | "createdAt" | "closedAt"> {
  const rawIsbn = text("isbn", input.isbn);
  const isbn = rawIsbn === "" ? "" : normalizeIsbn(rawIsbn);
  if (isbn === undefined)
    throw new AcquisitionsError("isbn", `${JSON.stringify(rawIsbn)} is not a valid ISBN`);
  const rawIssn = text("issn", input.issn);
  const issn = rawIssn === "" ? "" : normalizeIssn(rawIssn);
  if (issn === undefined)
    throw new AcquisitionsError("issn", `${JSON.stringify(rawIssn)} is not a valid ISSN`);
  const title = text("title", input.title);
  if (isbn === "" && issn === "" && title === "")
    throw new AcquisitionsError("isbn", "an order needs an ISBN, an ISSN or a title");
  const copies = input.copies ?? 1;
  if (!Number.isInteger(copies) || copies < 1 || copies > MAX_ORDER_COPIES)
    throw new AcquisitionsError(
      "copies",
      `${String(input.copies)} is not a whole number from 1 to ${MAX_ORDER_COPIES}`,
    );
  const expectedDate = text("expected_date", input.expectedDate);
  if (expectedDate !== "" && !isIsoDate(expectedDate))
    throw new AcquisitionsError(
      "expected_date",
      `${JSON.stringify(expectedDate)} is not a date (expected YYYY-MM-DD)`,
    );
  return {
    isbn,
    issn,
    title,
    author: text("author", input.author),
    copies,
    expectedDate,
    fund: text("fund", input.fund),
    vendorRef: text("vendor_ref", input.vendorRef),
    source: input.source,
  };
}

/** A brief MARC record for an order of a title the catalog has no record of. */
function briefRecord(id: string, o: ReturnType<typeof checkOrder>): MarcRecord {
  const fields: MarcRecord["fields"] = [{ tag: "001", value: `order-${id}` }];
  if (o.isbn) fields.push({ tag: "020", ind1: " ", ind2: " ", subfields: [{ code: "a", value: o.isbn }] });
  if (o.issn) fields.push({ tag: "022", ind1: " ", ind2: " ", subfields: [{ code: "a", value: o.issn }] });
  if (o.author)
    fields.push({ tag: "100", ind1: "1", ind2: " ", subfields: [{ code: "a", value: o.author }] });
  fields.push({
    tag: "245",
    ind1: o.author ? "1" : "0",
    ind2: "0",
    subfields: [{ code: "a", value: o.title || `[On order: ${o.isbn || o.issn}]` }],
  });
  // Leader: new, language material, monograph (serial for an ISSN-only order), encoding level 5 (partial).
  const level = o.issn && !o.isbn ? "s" : "m";
  return { leader: `00000na${level} a2200000 5 4500`, fields };
}

/** The holding an open order puts on its record. */
export function orderHolding(o: Pick<Order, "id" | "copies" | "expectedDate">): HoldingData {
  return {
    barcode: `${ORDER_BARCODE_PREFIX}${o.id}`,
    callNumber: "",
    location: "on order",
    status: ON_ORDER,
    loanRule: "",
    ...(o.copies > 1 ? { copies: o.copies } : {}),
    ...(o.expectedDate ? { expectedDate: o.expectedDate } : {}),
  };
}

/** The orders of a member, kept with its catalog in one database. */
export class OrderBook {
  readonly #db: Database;
  readonly #catalog: MemberCatalog;
  readonly #now: () => Date;

  constructor(db: Database, catalog: MemberCatalog, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#catalog = catalog;
    this.#now = now;
  }

  /** The record with this ISBN or ISSN in the catalog, if any. */
  #recordFor(o: { isbn: string; issn: string }): string | undefined {
    const q = o.isbn ? ftsIndexQuery("isbn", o.isbn) : o.issn ? ftsIndexQuery("issn", o.issn) : undefined;
    if (!q) return undefined;
    return this.#catalog.searchLocal(q, 1)[0]?.recordId;
  }

  /**
   * Places an order: written with its on-order holding (and the change that sends it upward) in
   * one transaction. An order with a vendor reference already known is not placed twice: the
   * existing order is returned with `duplicate`.
   *
   * @throws AcquisitionsError naming the bad field.
   */
  add(input: OrderInput): { order: Order; duplicate: boolean } {
    const o = checkOrder(input);
    return this.#db.transaction(() => {
      if (o.vendorRef) {
        const known = this.#db.sqlite
          .prepare("SELECT * FROM acq_orders WHERE vendor_ref = ?")
          .get(o.vendorRef) as OrderRow | undefined;
        if (known) return { order: fromRow(known), duplicate: true };
      }
      const id = `ord-${randomBytes(5).toString("hex")}`;
      const existing = this.#recordFor(o);
      const holding = orderHolding({ id, copies: o.copies, expectedDate: o.expectedDate });
      let recordId: string;
      if (existing) {
        const rec = this.#catalog.get(existing)!;
        this.#catalog.setHoldings(existing, [...rec.holdings, holding]);
        recordId = existing;
      } else {
        recordId = this.#catalog.upsert(briefRecord(id, o), [holding]).recordId;
      }
      const now = this.#now().toISOString();
      this.#db.sqlite
        .prepare(
          `INSERT INTO acq_orders (id, isbn, issn, title, author, copies, expected_date, fund, vendor_ref, state,
             record_id, brief, source, created_at)
           VALUES (@id, @isbn, @issn, @title, @author, @copies, @expected_date, @fund, @vendor_ref, 'open',
             @record_id, @brief, @source, @now)`,
        )
        .run({
          id,
          isbn: o.isbn,
          issn: o.issn,
          title: o.title,
          author: o.author,
          copies: o.copies,
          expected_date: o.expectedDate || null,
          fund: o.fund,
          vendor_ref: o.vendorRef,
          record_id: recordId,
          brief: existing ? 0 : 1,
          source: o.source,
          now,
        });
      return { order: this.get(id)!, duplicate: false };
    });
  }

  get(id: string): Order | undefined {
    const r = this.#db.sqlite.prepare("SELECT * FROM acq_orders WHERE id = ?").get(id) as
      | OrderRow
      | undefined;
    return r ? fromRow(r) : undefined;
  }

  /** Orders, newest first; only those in `state` when given. */
  list(state?: OrderState, limit = 1000): Order[] {
    const rows = (
      state
        ? this.#db.sqlite
            .prepare("SELECT * FROM acq_orders WHERE state = ? ORDER BY created_at DESC, id LIMIT ?")
            .all(state, limit)
        : this.#db.sqlite.prepare("SELECT * FROM acq_orders ORDER BY created_at DESC, id LIMIT ?").all(limit)
    ) as OrderRow[];
    return rows.map(fromRow);
  }

  /**
   * The order arrived: its on-order holding is replaced by the copies received (one item per
   * barcode given, available). A brief record left with no item is deleted: the ILS's own record
   * comes with its next import or harvest.
   *
   * @throws AcquisitionsError when there is no such open order or a barcode is already in the catalog.
   */
  receive(id: string, items: { barcodes?: string[]; location?: string; callNumber?: string } = {}): Order {
    const barcodes = (items.barcodes ?? []).map((b) => b.trim()).filter((b) => b !== "");
    const received: HoldingData[] = barcodes.map((barcode) => ({
      barcode,
      callNumber: items.callNumber ?? "",
      location: items.location ?? "",
      status: "available",
      loanRule: "standard",
    }));
    return this.#close(id, "received", received);
  }

  /** The order was cancelled: its on-order holding goes (and a brief record left without items). */
  cancel(id: string): Order {
    return this.#close(id, "cancelled", []);
  }

  #close(id: string, state: OrderState, received: HoldingData[]): Order {
    return this.#db.transaction(() => {
      const order = this.get(id);
      if (!order) throw new AcquisitionsError("order", `no order ${id}`);
      if (order.state !== "open")
        throw new AcquisitionsError("order", `order ${id} is already ${order.state}`);
      for (const h of received) {
        const owner = this.#db.sqlite
          .prepare("SELECT record_id FROM catalog_items WHERE barcode = ?")
          .get(h.barcode) as { record_id: string } | undefined;
        if (owner)
          throw new AcquisitionsError(
            "barcode",
            `${h.barcode} is already an item of record ${owner.record_id}`,
          );
      }
      const rec = this.#catalog.get(order.recordId);
      if (rec) {
        const barcode = `${ORDER_BARCODE_PREFIX}${id}`;
        const left = [...rec.holdings.filter((h) => h.barcode !== barcode), ...received];
        if (left.length === 0 && order.brief) this.#catalog.delete(order.recordId);
        else this.#catalog.setHoldings(order.recordId, left, { exact: true });
      }
      this.#db.sqlite
        .prepare("UPDATE acq_orders SET state = ?, closed_at = ? WHERE id = ?")
        .run(state, this.#now().toISOString(), id);
      return this.get(id)!;
    });
  }
}
