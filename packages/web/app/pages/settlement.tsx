// National center: settle a month (LedgerService.Settle, the call `lrs-national settle` makes):
// preview it (a dry run stores nothing), settle it, see every institution's statement, the regions'
// balances, the postings held back or carried in, and download the statements as CSV.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import { LedgerService, type SettleResponse } from "../../../shared/src/gen/lrs/v1/ledger_pb.js";
import { periodOf } from "../../../shared/src/ledger/period.js";
import { errorText } from "../api.js";
import { formatDateTime, formatMinor, formatNumber, t } from "../i18n.js";
import { client } from "../rpc.js";
import { StatementTable, saveStatementsCsv } from "../statement.js";
import { Notice, RegionNetTable } from "../ui.js";

function previousPeriod(): string {
  const d = new Date();
  return periodOf(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1)));
}

function SettleResult(p: { res: SettleResponse }) {
  const r = p.res;
  return (
    <div data-testid="settlement">
      <Notice kind={r.dryRun ? "info" : "ok"} testid="settlement-state">
        {r.dryRun
          ? t("settle.preview", { period: r.period })
          : r.alreadySettled
            ? t("settle.already", { period: r.period })
            : t("settle.done", { period: r.period })}
      </Notice>
      <dl class="facts">
        <dt>{t("settle.entries")}</dt>
        <dd>{formatNumber(r.entries)}</dd>
        {r.settledAt && (
          <>
            <dt>{t("settle.settledAt")}</dt>
            <dd>{formatDateTime(timestampDate(r.settledAt))}</dd>
          </>
        )}
        <dt>{t("settle.digest")}</dt>
        <dd>
          <code>{r.digest}</code>
        </dd>
      </dl>
      {r.statements.length > 0 && (
        <button type="button" onClick={() => saveStatementsCsv(`settlement-${r.period}.csv`, r.statements)}>
          {t("ledger.csv")}
        </button>
      )}
      <h2>{t("settle.regions")}</h2>
      {r.regions.length === 0 ? (
        <p>{t("ledger.noEntries")}</p>
      ) : (
        <RegionNetTable rows={r.regions} caption={t("settle.regions")} testid="region-balances" />
      )}
      <h2>{t("settle.statements")}</h2>
      {r.statements.map((st) => (
        <details key={`${st.institutionId}-${st.currency}`}>
          <summary>
            {st.institutionId} ({st.region}) · {st.currency} · {t("ledger.net")}{" "}
            {formatMinor(st.netMinor, st.currency)}
          </summary>
          <StatementTable
            statement={st}
            caption={t("settle.statementOf", { institution: st.institutionId, period: st.period })}
          />
        </details>
      ))}
      {r.held.length > 0 && (
        <>
          <h2>{t("settle.held")}</h2>
          <ul data-testid="held">
            {r.held.map((h) => (
              <li key={h.posting?.entryId}>
                {h.posting?.entryId} ({h.posting?.payerId} → {h.posting?.payeeId}): {h.reason}
              </li>
            ))}
          </ul>
        </>
      )}
      {r.carriedIn.length > 0 && <p>{t("settle.carriedIn", { count: r.carriedIn.length })}</p>}
    </div>
  );
}

export function SettlementPage() {
  const [period, setPeriod] = useState(previousPeriod());
  const [allowOpen, setAllowOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [res, setRes] = useState<SettleResponse | undefined>();
  const [error, setError] = useState<string | undefined>();
  const run = async (dryRun: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      setRes(await client(LedgerService).settle({ period, dryRun, allowOpenPeriod: allowOpen }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section>
      <h1>{t("settle.heading")}</h1>
      <p>{t("settle.explain")}</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(true);
        }}
      >
        <label>
          {t("ledger.period")}{" "}
          <input
            type="month"
            name="period"
            value={period}
            required
            onChange={(e) => setPeriod((e.target as HTMLInputElement).value)}
          />
        </label>{" "}
        <label class="inline">
          <input
            type="checkbox"
            name="allow-open"
            checked={allowOpen}
            onChange={(e) => setAllowOpen((e.target as HTMLInputElement).checked)}
          />{" "}
          {t("settle.allowOpen")}
        </label>{" "}
        <button type="submit" disabled={busy}>
          {t("settle.previewButton")}
        </button>{" "}
        <button
          type="button"
          disabled={busy || !res || !res.dryRun || res.period !== period}
          onClick={() => run(false)}
          data-testid="settle"
        >
          {t("settle.settleButton")}
        </button>
      </form>
      <p class="hint">{t("settle.twoSteps")}</p>
      {busy && <p aria-busy="true">{t("app.loading")}</p>}
      {error && <Notice kind="error">{error}</Notice>}
      {res && <SettleResult res={res} />}
    </section>
  );
}
