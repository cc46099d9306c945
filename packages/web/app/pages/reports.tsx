// The library's reports: its ledger statement by month (LedgerService.GetStatement, asked of the
// regional center as `lrs-member ledger` does) and the ILL turnaround of `lrs-member ill report`
// as charts (the same computation, ill/report.ts, over the same ListRequests answer).
import { useState } from "preact/hooks";
import { turnaround } from "../../../member-node/src/ill/report.js";
import { IllStaffService } from "../../../shared/src/gen/lrs/v1/ill_service_pb.js";
import { LedgerService } from "../../../shared/src/gen/lrs/v1/ledger_pb.js";
import { periodOf } from "../../../shared/src/ledger/period.js";
import { BarChart, type BarRow } from "../chart.js";
import { formatDate, formatDuration, formatNumber, statusText, t } from "../i18n.js";
import { client } from "../rpc.js";
import { StatementTable, saveStatementsCsv } from "../statement.js";
import { LoadState, useLoad } from "../ui.js";

const SINCE_DAYS = [7, 30, 90, 365] as const;
const DAY_MS = 86_400_000;

function StatementSection() {
  const [period, setPeriod] = useState(periodOf(new Date()));
  const [currency, setCurrency] = useState("");
  const loaded = useLoad(() => client(LedgerService).getStatement({ period, currency }), [period, currency]);
  return (
    <section aria-labelledby="statement-heading">
      <h2 id="statement-heading">{t("ledger.heading")}</h2>
      <p>{t("ledger.explain")}</p>
      <div class="toolbar">
        <label>
          {t("ledger.period")}{" "}
          <input
            type="month"
            name="period"
            value={period}
            required
            onChange={(e) => {
              const v = (e.target as HTMLInputElement).value;
              if (v) setPeriod(v);
            }}
          />
        </label>
        {loaded.data && loaded.data.currencies.length > 1 && (
          <label>
            {t("ledger.currency")}{" "}
            <select
              name="currency"
              value={currency || loaded.data.statement?.currency}
              onChange={(e) => setCurrency((e.target as HTMLSelectElement).value)}
            >
              {loaded.data.currencies.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <LoadState loaded={loaded}>
        {(res) =>
          res.statement ? (
            <>
              <p data-testid="statement-state">
                {res.settled ? t("ledger.settled") : t("ledger.open")}
                {res.statement.currency && ` · ${res.statement.currency}`}
              </p>
              <StatementTable
                statement={res.statement}
                caption={t("ledger.caption", { period: res.statement.period })}
                testid="statement"
              />
              {res.statement.lines.length > 0 && (
                <button
                  type="button"
                  onClick={() =>
                    saveStatementsCsv(
                      `statement-${res.statement!.institutionId}-${res.statement!.period}-${res.statement!.currency}.csv`,
                      [res.statement!],
                    )
                  }
                >
                  {t("ledger.csv")}
                </button>
              )}
            </>
          ) : (
            <p>{t("ledger.noEntries")}</p>
          )
        }
      </LoadState>
    </section>
  );
}

function TurnaroundSection() {
  const [days, setDays] = useState<number>(30);
  const [role, setRole] = useState("");
  const loaded = useLoad(async () => {
    const res = await client(IllStaffService).listRequests({ role, status: "", limit: 1000 });
    return turnaround(res.requests, new Date(Date.now() - days * DAY_MS));
  }, [days, role]);
  const roleText = (r: string) => t(`role_.${r}`, { defaultValue: r });
  return (
    <section aria-labelledby="turnaround-heading">
      <h2 id="turnaround-heading">{t("report.heading")}</h2>
      <p>{t("report.explain")}</p>
      <div class="toolbar">
        <label>
          {t("report.since")}{" "}
          <select
            name="since"
            value={String(days)}
            onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value))}
          >
            {SINCE_DAYS.map((d) => (
              <option key={d} value={String(d)}>
                {t("report.days", { count: d })}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("report.role")}{" "}
          <select name="role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
            <option value="">{t("report.both")}</option>
            <option value="borrower">{roleText("borrower")}</option>
            <option value="lender">{roleText("lender")}</option>
          </select>
        </label>
      </div>
      <LoadState loaded={loaded}>
        {(r) => {
          if (r.requests === 0) return <p data-testid="turnaround-none">{t("report.none")}</p>;
          const series = [
            { name: t("report.p50"), className: "bar-0" },
            { name: t("report.p90"), className: "bar-1" },
          ];
          const stays: BarRow[] = r.states
            .filter((s) => s.count > 0)
            .map((s) => ({
              label: `${roleText(s.role)} · ${statusText(s.state)}`,
              values: [s.p50Ms, s.p90Ms],
            }));
          const ends: BarRow[] = r.endToEnd.map((e) => ({
            label: `${roleText(e.role)} · ${e.type}`,
            values: [e.p50Ms, e.p90Ms],
          }));
          const outcomes: BarRow[] = r.outcomes.map((o) => ({
            label: `${roleText(o.role)} · ${statusText(o.state)}`,
            values: [o.count],
          }));
          return (
            <>
              <p data-testid="turnaround-count">
                {t("report.counted", { count: r.requests, since: formatDate(r.since) })}
              </p>
              {ends.length > 0 && (
                <BarChart
                  title={t("report.endToEnd")}
                  series={series}
                  rows={ends}
                  format={formatDuration}
                  testid="chart-end-to-end"
                />
              )}
              {stays.length > 0 && (
                <BarChart
                  title={t("report.stays")}
                  series={series}
                  rows={stays}
                  format={formatDuration}
                  testid="chart-stays"
                />
              )}
              <BarChart
                title={t("report.outcomes")}
                series={[{ name: t("report.requests"), className: "bar-0" }]}
                rows={outcomes}
                format={formatNumber}
                testid="chart-outcomes"
              />
              <table data-testid="turnaround-table">
                <caption>{t("report.stays")}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t("report.role")}</th>
                    <th scope="col">{t("report.state")}</th>
                    <th scope="col" class="num">
                      {t("report.stays_")}
                    </th>
                    <th scope="col" class="num">
                      {t("report.p50")}
                    </th>
                    <th scope="col" class="num">
                      {t("report.p90")}
                    </th>
                    <th scope="col" class="num">
                      {t("report.max")}
                    </th>
                    <th scope="col" class="num">
                      {t("report.current")}
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {r.states.map((s) => (
                    <tr key={`${s.role}-${s.state}`}>
                      <td>{roleText(s.role)}</td>
                      <td>{statusText(s.state)}</td>
                      <td class="num">{formatNumber(s.count)}</td>
                      <td class="num">{s.count ? formatDuration(s.p50Ms) : ""}</td>
                      <td class="num">{s.count ? formatDuration(s.p90Ms) : ""}</td>
                      <td class="num">{s.count ? formatDuration(s.maxMs) : ""}</td>
                      <td class="num">{formatNumber(s.current)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          );
        }}
      </LoadState>
    </section>
  );
}

export function ReportsPage() {
  return (
    <section>
      <h1>{t("report.pageHeading")}</h1>
      <StatementSection />
      <TurnaroundSection />
    </section>
  );
}
