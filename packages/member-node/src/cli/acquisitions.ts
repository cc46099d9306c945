/**
 * `lrs-member order …` (the library's orders, published as on-order holdings), `lrs-member retain`
 * (shared retention commitments) and `lrs-member acquire check` (buy or borrow?).
 */
import { toJson } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import {
  acquisitionsPb,
  configOption,
  Database,
  databasePath,
  loadConfig,
  type NodeConfig,
  printJson,
  selfTransport,
  Tier,
} from "@lrs/shared";
import type { Command } from "commander";
import { importOrdersCsv, importOrdersMarc, type OrderImportSummary } from "../acquisitions/order-import.js";
import { AcquisitionsError, type Order, OrderBook, type OrderState } from "../acquisitions/orders.js";
import { setRetention } from "../acquisitions/retention.js";
import { memberNodeMigrations } from "../server.js";
import { MemberCatalog } from "../store/catalog.js";
import { coverageLine, NEAR } from "./search.js";

/** Exit status: everything done; done but some rows refused; nothing done. */
const EXIT_OK = 0;
const EXIT_REJECTIONS = 2;

function withBook<T>(cfg: NodeConfig, fn: (book: OrderBook, db: Database, catalog: MemberCatalog) => T): T {
  const db = Database.open(databasePath(cfg), memberNodeMigrations(), { complete: true });
  try {
    const catalog = new MemberCatalog(db, cfg.id);
    return fn(new OrderBook(db, catalog), db, catalog);
  } finally {
    db.close();
  }
}

function orderLine(o: Order): string {
  const what = o.isbn || o.issn || "";
  const title = o.title ? ` ${o.title}` : "";
  const when = o.expectedDate ? ` expected ${o.expectedDate}` : "";
  const fund = o.fund ? ` fund ${o.fund}` : "";
  return `${o.id}  ${o.state.padEnd(9)} ${o.copies}×  ${what}${title}${when}${fund}  (record ${o.recordId})\n`;
}

function copiesOption(v: string): number {
  if (!/^\d+$/.test(v)) throw new AcquisitionsError("copies", `${JSON.stringify(v)} is not a whole number`);
  return Number(v);
}

function printImport(s: OrderImportSummary, json: boolean | undefined): void {
  if (json) printJson(s);
  else {
    process.stdout.write(
      `${s.read} read, ${s.placed.length} orders placed, ${s.duplicates.length} already placed, ${s.rejected.length} refused\n`,
    );
    for (const r of s.rejected) {
      const where = r.line !== undefined ? `line ${r.line}` : `record ${r.record}`;
      process.stderr.write(`${where}${r.field ? ` (${r.field})` : ""}: ${r.reason}\n`);
    }
  }
  process.exitCode = s.rejected.length > 0 ? EXIT_REJECTIONS : EXIT_OK;
}

export function addOrderCommands(program: Command): void {
  const order = program
    .command("order")
    .description("the library's orders: published to the union catalogs as on-order holdings, never lent");

  order
    .command("add")
    .description("place an order (by ISBN, ISSN or title)")
    .addOption(configOption())
    .option("--isbn <isbn>", "ISBN-10 or ISBN-13")
    .option("--issn <issn>", "ISSN")
    .option("--title <title>", "title (required without an ISBN or ISSN)")
    .option("--author <author>", "author")
    .option("--copies <n>", "copies ordered", copiesOption, 1)
    .option("--expected <YYYY-MM-DD>", "when the order is expected")
    .option("--fund <code>", "fund code (kept here, not published)")
    .option("--vendor-ref <ref>", "the vendor's order number: the same number is never placed twice")
    .option("--json", "print the order as JSON")
    .addHelpText(
      "after",
      "\nThe order goes on the catalog record with that ISBN/ISSN, or on a brief record made for it;\ncatalog sync sends it upward and the union catalogs show the title as on order here.",
    )
    .action(
      (o: {
        config: string;
        isbn?: string;
        issn?: string;
        title?: string;
        author?: string;
        copies: number;
        expected?: string;
        fund?: string;
        vendorRef?: string;
        json?: boolean;
      }) => {
        const cfg = loadConfig(Tier.MEMBER, o.config);
        const { order: placed, duplicate } = withBook(cfg, (book) =>
          book.add({
            ...(o.isbn !== undefined ? { isbn: o.isbn } : {}),
            ...(o.issn !== undefined ? { issn: o.issn } : {}),
            ...(o.title !== undefined ? { title: o.title } : {}),
            ...(o.author !== undefined ? { author: o.author } : {}),
            copies: o.copies,
            ...(o.expected !== undefined ? { expectedDate: o.expected } : {}),
            ...(o.fund !== undefined ? { fund: o.fund } : {}),
            ...(o.vendorRef !== undefined ? { vendorRef: o.vendorRef } : {}),
            source: "cli",
          }),
        );
        if (o.json) printJson({ ...placed, duplicate });
        else process.stdout.write(`${duplicate ? "already placed: " : "placed "}${orderLine(placed)}`);
      },
    );

  order
    .command("list")
    .description("list orders, newest first")
    .addOption(configOption())
    .option("--state <state>", "open, received or cancelled (default: all)")
    .option("--json", "print as JSON")
    .action((o: { config: string; state?: string; json?: boolean }) => {
      if (o.state !== undefined && !["open", "received", "cancelled"].includes(o.state))
        throw new Error(`--state must be open, received or cancelled, not "${o.state}"`);
      const cfg = loadConfig(Tier.MEMBER, o.config);
      const orders = withBook(cfg, (book) => book.list(o.state as OrderState | undefined));
      if (o.json) printJson(orders);
      else for (const x of orders) process.stdout.write(orderLine(x));
    });

  order
    .command("receive")
    .description("the order arrived: its on-order holding becomes the copies received")
    .addOption(configOption())
    .argument("<order-id>", "the order (ord-…)")
    .option("--barcode <barcode...>", "barcodes of the copies received (they become available items)")
    .option("--location <location>", "where the copies are shelved")
    .option("--call-number <call>", "their call number")
    .option("--json", "print the order as JSON")
    .action(
      (
        id: string,
        o: { config: string; barcode?: string[]; location?: string; callNumber?: string; json?: boolean },
      ) => {
        const cfg = loadConfig(Tier.MEMBER, o.config);
        const done = withBook(cfg, (book) =>
          book.receive(id, {
            ...(o.barcode ? { barcodes: o.barcode } : {}),
            ...(o.location ? { location: o.location } : {}),
            ...(o.callNumber ? { callNumber: o.callNumber } : {}),
          }),
        );
        if (o.json) printJson(done);
        else process.stdout.write(`received ${orderLine(done)}`);
      },
    );

  order
    .command("cancel")
    .description("cancel an open order: the union catalogs stop showing it")
    .addOption(configOption())
    .argument("<order-id>", "the order (ord-…)")
    .option("--json", "print the order as JSON")
    .action((id: string, o: { config: string; json?: boolean }) => {
      const cfg = loadConfig(Tier.MEMBER, o.config);
      const done = withBook(cfg, (book) => book.cancel(id));
      if (o.json) printJson(done);
      else process.stdout.write(`cancelled ${orderLine(done)}`);
    });

  order
    .command("import")
    .description("place the orders of a CSV file or of MARC order records")
    .addOption(configOption())
    .argument("<file>", "orders.csv, or MARC (ISO 2709 / MARCXML, plain or gzipped)")
    .option("--format <format>", "csv or marc (default: from the file name: .csv is csv, else marc)")
    .option("--json", "print the summary as JSON")
    .addHelpText(
      "after",
      `
CSV header: isbn,issn,title,author,copies,expected_date,fund,vendor_ref (any order; isbn, issn or
title on each row). MARC order records: 020 $a ISBN, 022 $a ISSN, 100 $a author, 245 $a $b title,
980 $q copies, $d expected date (YYYY-MM-DD or YYYYMMDD), $f fund, $o vendor order number.
A bad row is reported by line (CSV) or record number (MARC) and field; the others are placed.
An order with a vendor_ref already placed is not placed again.
Exit status: ${EXIT_OK} all placed; ${EXIT_REJECTIONS} some rows refused; 1 the file could not be read.`,
    )
    .action(async (file: string, o: { config: string; format?: string; json?: boolean }) => {
      const format = o.format ?? (file.toLowerCase().endsWith(".csv") ? "csv" : "marc");
      if (format !== "csv" && format !== "marc")
        throw new Error(`--format must be csv or marc, not "${format}"`);
      const cfg = loadConfig(Tier.MEMBER, o.config);
      const db = Database.open(databasePath(cfg), memberNodeMigrations(), { complete: true });
      try {
        const book = new OrderBook(db, new MemberCatalog(db, cfg.id));
        printImport(
          format === "csv" ? await importOrdersCsv(book, file) : await importOrdersMarc(book, file),
          o.json,
        );
      } finally {
        db.close();
      }
    });
}

export function addRetainCommand(program: Command): void {
  program
    .command("retain")
    .description("commit to retain copies for the region until a year (shared print), or end the commitment")
    .addOption(configOption())
    .argument("<barcodes...>", "the copies' barcodes")
    .option("--until <year>", "the last year of the commitment")
    .option("--release", "end the commitment")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      '\nThe union catalogs show the commitment (and export it as MARC 583 "committed to retain");\nthe rota asks a library whose last copies are retained after the other holders.',
    )
    .action(
      (barcodes: string[], o: { config: string; until?: string; release?: boolean; json?: boolean }) => {
        if ((o.until === undefined) === (o.release === undefined))
          throw new Error("give --until YEAR or --release (one of them)");
        const year = o.release ? null : Number(o.until);
        const cfg = loadConfig(Tier.MEMBER, o.config);
        const done = withBook(cfg, (_book, db, catalog) => setRetention(db, catalog, barcodes, year));
        if (o.json) printJson(done);
        else
          for (const r of done)
            process.stdout.write(
              `${r.barcode} (record ${r.recordId}): ${r.retainedUntil === null ? "no longer retained" : `retained for the region until ${r.retainedUntil}`}\n`,
            );
      },
    );
}

export function addAcquireCommand(program: Command): void {
  program
    .command("acquire")
    .description("acquisitions coordinated with the federation")
    .command("check")
    .description("before buying: who holds it or has it on order, ILL demand, and whether to buy or borrow")
    .addOption(configOption())
    .argument("[isbn]", "ISBN (or ISSN with --issn)")
    .option("--issn <issn>", "ISSN")
    .option("--title <title>", "title, when there is no ISBN")
    .option("--author <author>", "author, with --title")
    .option("--timeout <ms>", "deadline", "15000")
    .option("--json", "print as JSON")
    .action(
      async (
        isbn: string | undefined,
        o: {
          config: string;
          issn?: string;
          title?: string;
          author?: string;
          timeout: string;
          json?: boolean;
        },
      ) => {
        if (!isbn && !o.issn && !o.title) throw new Error("give an ISBN, --issn or --title");
        const t = selfTransport(loadConfig(Tier.MEMBER, o.config));
        try {
          const res = await createClient(acquisitionsPb.AcquisitionsService, t.transport).checkTitle(
            {
              title: {
                isbns: isbn ? [isbn] : [],
                issns: o.issn ? [o.issn] : [],
                title: o.title ?? "",
                author: o.author ?? "",
              },
            },
            { timeoutMs: Number(o.timeout) },
          );
          if (o.json) return printJson(toJson(acquisitionsPb.CheckTitleResponseSchema, res));
          const out = process.stdout;
          out.write(
            `${res.title || "(not in any union catalog)"}${res.author ? ` / ${res.author}` : ""}${res.clusterId ? `  [${res.clusterId}]` : ""}\n`,
          );
          for (const h of res.holders) {
            const order =
              h.onOrder > 0
                ? `, ${h.onOrder} on order${h.expectedDate ? ` (expected ${h.expectedDate})` : ""}`
                : "";
            const kept = h.retainedUntil > 0 ? `, retained until ${h.retainedUntil}` : "";
            out.write(
              `  ${h.institutionId.padEnd(18)} ${(NEAR[h.proximity] ?? "").padEnd(12)} ${h.copies} copies${order}${kept}\n`,
            );
          }
          out.write(`own copies: ${res.ownCopies} (${res.ownCopiesOnLoan} on loan now)\n`);
          out.write(
            `ILL requests in the last year: ${res.illRequests} in the federation, ${res.ownIllRequests} by this library's readers\n`,
          );
          out.write(`advice: ${res.summary}\n`);
          for (const r of res.reasons) out.write(`  - ${r}\n`);
          out.write(`coverage: ${coverageLine(res.coverage)}\n`);
        } finally {
          t.close();
        }
      },
    );
}
