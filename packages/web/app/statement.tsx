// One institution's ledger statement for a month: a line per counterparty, the totals, in the
// user's locale and the statement's currency; and its CSV (the same file `lrs-member ledger --csv`
// and `lrs-national settle --csv` write). Used by the member's reports and the national settlement.
import type { Statement } from "../../shared/src/gen/lrs/v1/ledger_pb.js";
import { statementsCsv } from "../../shared/src/ledger/statement-text.js";
import { saveFile } from "./api.js";
import { formatMinor, formatNumber, t } from "./i18n.js";

export function StatementTable(p: { statement: Statement; caption: string; testid?: string }) {
  const st = p.statement;
  const money = (m: bigint) => formatMinor(m, st.currency);
  if (st.lines.length === 0) return <p data-testid={p.testid}>{t("ledger.noEntries")}</p>;
  return (
    <table data-testid={p.testid}>
      <caption>{p.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{t("ledger.counterparty")}</th>
          <th scope="col">{t("ledger.region")}</th>
          <th scope="col" class="num">
            {t("ledger.payable")}
          </th>
          <th scope="col" class="num">
            {t("ledger.receivable")}
          </th>
          <th scope="col" class="num">
            {t("ledger.net")}
          </th>
          <th scope="col" class="num">
            {t("ledger.entries")}
          </th>
        </tr>
      </thead>
      <tbody>
        {st.lines.map((l) => (
          <tr key={l.counterpartyId}>
            <td>{l.counterpartyId}</td>
            <td>{l.counterpartyRegion}</td>
            <td class="num">{money(l.payableMinor)}</td>
            <td class="num">{money(l.receivableMinor)}</td>
            <td class="num">{money(l.netMinor)}</td>
            <td class="num">{formatNumber(l.entries)}</td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row" colSpan={2}>
            {t("ledger.total")}
          </th>
          <td class="num">{money(st.totalPayableMinor)}</td>
          <td class="num">{money(st.totalReceivableMinor)}</td>
          <td class="num" data-testid={p.testid ? `${p.testid}-net` : undefined}>
            {money(st.netMinor)}
          </td>
          <td />
        </tr>
      </tfoot>
    </table>
  );
}

/** Saves statements as the CSV the CLIs write. */
export function saveStatementsCsv(name: string, statements: readonly Statement[]): void {
  saveFile(name, new Blob([statementsCsv(statements)], { type: "text/csv;charset=utf-8" }));
}
