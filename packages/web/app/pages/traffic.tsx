// National center: the traffic dashboard's figures inside the staff application (same sign-in,
// language and roles). The figures are the dashboard's own (dashboard/data.ts buildSummary, served
// at /api/traffic); this page draws them as tables and refreshes them every few seconds.
import { useEffect, useState } from "preact/hooks";
import type { DashboardSummary, Health, Latency } from "../../../national-center/src/dashboard/model.js";
import { WINDOWS } from "../../../national-center/src/dashboard/model.js";
import { api } from "../api.js";
import { formatDateTime, formatNumber, t } from "../i18n.js";
import { LoadState, RegionNetTable, useLoad } from "../ui.js";

const REFRESH_MS = 5_000;

const ms = (v: number | undefined) => (v === undefined ? "–" : `${formatNumber(Math.round(v))} ms`);
const latency = (l: Latency) => `${ms(l.p50)} / ${ms(l.p95)}`;

function HealthBadge(p: { health: Health }) {
  return <span class={`health health-${p.health}`}>{t(`traffic.health.${p.health}`)}</span>;
}

function Figures(p: { s: DashboardSummary }) {
  const s = p.s;
  const nodes = [
    s.tree.national,
    ...s.tree.regions.flatMap((r) => [...(r.center ? [r.center] : []), ...r.members]),
  ];
  return (
    <>
      <p data-testid="traffic-as-of">
        {s.federation} · {t("traffic.asOf", { when: formatDateTime(new Date(s.asOf)) })}
      </p>
      <dl class="facts" data-testid="traffic-kpis">
        <dt>{t("traffic.calls")}</dt>
        <dd>{formatNumber(s.totals.calls)}</dd>
        <dt>{t("traffic.errors")}</dt>
        <dd>{formatNumber(s.totals.errors)}</dd>
        <dt>{t("traffic.searches")}</dt>
        <dd>{formatNumber(s.searches.total)}</dd>
        <dt>{t("traffic.illRequests")}</dt>
        <dd>
          {formatNumber(s.ill.requests)} ·{" "}
          {t("traffic.filled", {
            filled: formatNumber(s.ill.filled),
            unfilled: formatNumber(s.ill.unfilled),
          })}
        </dd>
        <dt>{t("traffic.attention")}</dt>
        <dd>
          {t("traffic.attentionCounts", {
            open: formatNumber(s.ill.counts.open),
            overdue: formatNumber(s.ill.counts.overdue),
            attention: formatNumber(s.ill.counts.attention),
          })}
        </dd>
        <dt>{t("traffic.catalog")}</dt>
        <dd>
          {t("traffic.catalogCounts", {
            records: formatNumber(s.catalog.records),
            clusters: formatNumber(s.catalog.clusters),
          })}
        </dd>
      </dl>
      <table data-testid="traffic-nodes">
        <caption>{t("traffic.nodes")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("traffic.node")}</th>
            <th scope="col">{t("ledger.region")}</th>
            <th scope="col">{t("traffic.healthCol")}</th>
            <th scope="col">{t("traffic.lastContact")}</th>
            <th scope="col" class="num">
              {t("center.lag")}
            </th>
            <th scope="col" class="num">
              {t("status_.pending")}
            </th>
            <th scope="col" class="num">
              {t("traffic.illOpen")}
            </th>
            <th scope="col" class="num">
              {t("traffic.perMinute")}
            </th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((n) => (
            <tr key={n.id}>
              <th scope="row">
                {n.name} <small>({n.id})</small>
              </th>
              <td>{n.region}</td>
              <td>
                <HealthBadge health={n.health} />
              </td>
              <td>{n.lastContact ? formatDateTime(new Date(n.lastContact)) : ""}</td>
              <td class="num">{n.syncLag === undefined ? "" : formatNumber(n.syncLag)}</td>
              <td class="num">{n.outboxPending === undefined ? "" : formatNumber(n.outboxPending)}</td>
              <td class="num">{n.illOpen === undefined ? "" : formatNumber(n.illOpen)}</td>
              <td class="num">{formatNumber(Math.round(n.callsPerMinute))}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {s.ill.matrix.length > 0 && (
        <table data-testid="traffic-ill">
          <caption>{t("traffic.illFlows")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("traffic.from")}</th>
              <th scope="col">{t("traffic.to")}</th>
              <th scope="col" class="num">
                {t("traffic.illRequests")}
              </th>
              <th scope="col" class="num">
                {t("traffic.filledCol")}
              </th>
              <th scope="col" class="num">
                {t("traffic.unfilledCol")}
              </th>
            </tr>
          </thead>
          <tbody>
            {s.ill.matrix.map((c) => (
              <tr key={`${c.from}-${c.to}`}>
                <td>{c.from}</td>
                <td>{c.to}</td>
                <td class="num">{formatNumber(c.requests)}</td>
                <td class="num">{formatNumber(c.filled)}</td>
                <td class="num">{formatNumber(c.unfilled)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {s.searches.table.length > 0 && (
        <table data-testid="traffic-searches">
          <caption>{t("traffic.searchTable")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("ledger.region")}</th>
              <th scope="col">{t("traffic.scope")}</th>
              <th scope="col" class="num">
                {t("traffic.searches")}
              </th>
              <th scope="col" class="num">
                {t("traffic.errors")}
              </th>
              <th scope="col" class="num">
                {t("traffic.latency")}
              </th>
            </tr>
          </thead>
          <tbody>
            {s.searches.table.map((r) => (
              <tr key={`${r.region}-${r.scope}`}>
                <td>{r.region}</td>
                <td>{r.scope}</td>
                <td class="num">{formatNumber(r.searches)}</td>
                <td class="num">{formatNumber(r.errors)}</td>
                <td class="num">{latency(r.latency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {s.settlement.available && s.settlement.regions.length > 0 && (
        <RegionNetTable
          rows={s.settlement.regions}
          caption={t("traffic.position", { period: s.settlement.period ?? "" })}
          testid="traffic-settlement"
        />
      )}
      {s.totals.topErrors.length > 0 && (
        <>
          <h2>{t("traffic.topErrors")}</h2>
          <ul>
            {s.totals.topErrors.map((e) => (
              <li key={`${e.node}-${e.error}`}>
                {e.node}: {e.error} ({formatNumber(e.count)})
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}

export function TrafficPage() {
  const [win, setWin] = useState("24h");
  const loaded = useLoad(() => api<DashboardSummary>(`/api/traffic?window=${win}`), [win]);
  useEffect(() => {
    const timer = setInterval(loaded.reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [loaded.reload]);
  return (
    <section>
      <h1>{t("dashboard.heading")}</h1>
      <fieldset class="toolbar">
        <legend>{t("traffic.window")}</legend>
        {Object.keys(WINDOWS).map((w) => (
          <button type="button" key={w} aria-pressed={w === win} onClick={() => setWin(w)}>
            {w}
          </button>
        ))}
      </fieldset>
      <LoadState loaded={loaded}>{(s) => <Figures s={s} />}</LoadState>
    </section>
  );
}
