// Statements for people and spreadsheets: the same text and CSV from `lrs-national settle`,
// `lrs-national ledger` and `lrs-member ledger`.
import { formatAmount } from "../fees/money.js";
import type { RegionBalance, Statement } from "../gen/lrs/v1/ledger_pb.js";
import { csvField } from "../util/csv.js";

function table(rows: string[][], indent: string): string {
  const width = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map(
      (r) =>
        `${indent}${r
          .map((c, i) => (i === 0 || i === 1 ? c.padEnd(width[i]!) : c.padStart(width[i]!)))
          .join("  ")
          .trimEnd()}\n`,
    )
    .join("");
}

/**
 * One institution's statement as text: a heading, a line per counterparty and the totals.
 * Amounts in the currency's major unit ("12.50"); net is what the institution is owed (negative:
 * what it owes).
 */
export function statementText(st: Statement, status: string): string {
  const money = (m: bigint) => (st.currency ? formatAmount(m, st.currency) : m.toString());
  const head = `${st.institutionId}${st.region ? ` (region ${st.region})` : ""}, ${st.period}${st.currency ? `, ${st.currency}` : ""}: ${status}\n`;
  if (st.lines.length === 0) return `${head}  no entries\n`;
  const rows = [
    ["COUNTERPARTY", "REGION", "PAYABLE", "RECEIVABLE", "NET", "ENTRIES"],
    ...st.lines.map((l) => [
      l.counterpartyId,
      l.counterpartyRegion || "-",
      money(l.payableMinor),
      money(l.receivableMinor),
      money(l.netMinor),
      String(l.entries),
    ]),
    [
      "total",
      "",
      money(st.totalPayableMinor),
      money(st.totalReceivableMinor),
      money(st.netMinor),
      String(st.lines.reduce((n, l) => n + l.entries, 0)),
    ],
  ];
  return head + table(rows, "  ");
}

/** The regions' net positions as text, one line per region and currency. */
export function regionsText(regions: readonly RegionBalance[]): string {
  if (regions.length === 0) return "";
  const rows = [
    ["REGION", "CURRENCY", "NET"],
    ...regions.map((r) => [r.region || "(national)", r.currency, formatAmount(r.netMinor, r.currency)]),
  ];
  return table(rows, "");
}

/** The columns of the statements' CSV (one line per institution, currency and counterparty). */
export const STATEMENT_CSV_HEADER = [
  "period",
  "institution_id",
  "region",
  "currency",
  "counterparty_id",
  "counterparty_region",
  "payable_minor",
  "receivable_minor",
  "net_minor",
  "entries",
  "payable",
  "receivable",
  "net",
] as const;

/**
 * The statements as CSV (RFC 4180, header first): one line per institution and counterparty, the
 * amounts both in minor units (exact, for machines) and as decimals (for people).
 */
export function statementsCsv(statements: readonly Statement[]): string {
  const out = [STATEMENT_CSV_HEADER.join(",")];
  for (const st of statements) {
    for (const l of st.lines) {
      out.push(
        [
          st.period,
          st.institutionId,
          st.region,
          st.currency,
          l.counterpartyId,
          l.counterpartyRegion,
          l.payableMinor.toString(),
          l.receivableMinor.toString(),
          l.netMinor.toString(),
          String(l.entries),
          formatAmount(l.payableMinor, st.currency),
          formatAmount(l.receivableMinor, st.currency),
          formatAmount(l.netMinor, st.currency),
        ]
          .map(csvField)
          .join(","),
      );
    }
  }
  return `${out.join("\r\n")}\r\n`;
}
