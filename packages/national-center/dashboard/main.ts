// The national dashboard in the browser: one server-sent event stream from the national center
// (/api/events) brings the whole summary whenever the figures change; every panel is drawn again
// from it in place, the charts take their new data without being rebuilt.
import "./style.css";
import type {
  DashboardSummary,
  Health,
  NodeView,
  RegionView,
  SettlementView,
} from "../src/dashboard/model.js";
import { DEFAULT_WINDOW, WINDOWS } from "../src/dashboard/model.js";
import { Chart, PALETTE } from "./charts.js";
import { fill, fmtAgo, fmtInt, fmtMoney, fmtMs, fmtPct, fmtRate, fmtSpan, h, table } from "./dom.js";

const HEALTH_TEXT: Record<Health, string> = {
  ok: "reporting",
  late: "late",
  down: "silent",
  unknown: "no report yet",
  revoked: "revoked",
};

interface Panels {
  kpis: HTMLElement;
  tree: HTMLElement;
  searchTable: HTMLElement;
  searchChart: Chart;
  latencyChart: Chart;
  searchEmpty: HTMLElement;
  ill: HTMLElement;
  turnaround: HTMLElement;
  attention: HTMLElement;
  catalog: HTMLElement;
  balance: HTMLElement;
  visits: HTMLElement;
  gateway: HTMLElement;
  settlement: HTMLElement;
  errors: HTMLElement;
  status: HTMLElement;
  windowTitles: HTMLElement[];
}

let last: DashboardSummary | undefined;
let lastAt = 0;
let connected = false;

function currentWindow(): string {
  const w = new URLSearchParams(location.search).get("window") ?? localStorage.getItem("lrs-window");
  return w && WINDOWS[w] !== undefined ? w : DEFAULT_WINDOW;
}

function panel(title: string, cls: string, testid: string, ...body: Array<Node | string>): HTMLElement {
  return h("section", { class: `panel ${cls}`, "data-testid": testid }, h("h2", null, title), ...body);
}

function layout(root: HTMLElement, onWindow: (w: string) => void): Panels {
  const windowButtons = h(
    "nav",
    { class: "windows", "aria-label": "time window" },
    ...Object.keys(WINDOWS).map((w) => {
      const b = h(
        "button",
        { type: "button", "data-window": w, "aria-pressed": String(w === currentWindow()) },
        w,
      );
      b.addEventListener("click", () => onWindow(w));
      return b;
    }),
  );
  const status = h("span", { class: "status", "data-testid": "status" }, "connecting…");
  const kpis = h("div", { class: "kpis", "data-testid": "kpis" });
  const tree = h("div", { class: "tree" });
  const searchChartEl = h("div", { class: "chart" });
  const latencyChartEl = h("div", { class: "chart" });
  const searchEmpty = h("p", { class: "empty", hidden: true });
  const searchTable = h("div", { class: "table-wrap" });
  const ill = h("div");
  const turnaround = h("div");
  const attention = h("div");
  const catalog = h("div");
  const balance = h("div");
  const visits = h("div");
  const gateway = h("div");
  const settlement = h("div");
  const errors = h("div");
  const windowTitle = () => h("span", { class: "window-title" });
  const wIll = windowTitle();
  const wBalance = windowTitle();
  const wVisits = windowTitle();
  const wGateway = windowTitle();
  fill(
    root,
    h(
      "header",
      { class: "top" },
      h(
        "div",
        { class: "title" },
        h("h1", { "data-testid": "federation" }, "LRS"),
        h("span", { class: "subtitle" }, "federated traffic, live"),
      ),
      h("div", { class: "controls" }, status, windowButtons),
    ),
    kpis,
    h(
      "main",
      { class: "grid" },
      panel("Federation", "p-tree", "federation-tree", tree),
      panel(
        "Searches per minute, by region and scope",
        "p-searches",
        "searches",
        searchEmpty,
        searchChartEl,
        h("h3", null, "latency per minute (all searches)"),
        latencyChartEl,
      ),
      panel(
        "Searches in the last hour, with latency percentiles",
        "p-search-table",
        "search-table",
        searchTable,
      ),
      panel("Interlibrary loan between regions", "p-ill", "ill-flow", h("p", { class: "hint" }, wIll), ill),
      panel("Turnaround, request → filled", "p-turnaround", "turnaround", turnaround),
      panel("Requests that need attention", "p-attention", "attention", attention),
      panel("Union catalog", "p-catalog", "catalog", catalog),
      panel(
        "Lend : borrow, per institution",
        "p-balance",
        "balance",
        h("p", { class: "hint" }, wBalance),
        balance,
      ),
      panel(
        "Visiting readers: in person, lend : borrow",
        "p-visits",
        "visits",
        h("p", { class: "hint" }, wVisits),
        visits,
        "Outside partners (ISO 18626 gateway)",
        "p-gateway",
        "gateway",
        h("p", { class: "hint" }, wGateway),
        gateway,
      ),
      panel("Settlement position", "p-settlement", "settlement", settlement),
      panel("Errors in the last hour", "p-errors", "errors", errors),
    ),
  );
  return {
    kpis,
    tree,
    searchTable,
    searchChart: new Chart(searchChartEl, { format: (v) => fmtRate(v), height: 190 }),
    latencyChart: new Chart(latencyChartEl, {
      format: (v) => fmtMs(v),
      logScale: true,
      height: 150,
      points: true,
    }),
    searchEmpty,
    ill,
    turnaround,
    attention,
    catalog,
    balance,
    visits,
    gateway,
    settlement,
    errors,
    status,
    windowTitles: [wIll, wBalance, wVisits, wGateway],
  };
}

function kpi(label: string, value: string, testid: string, sub?: string, tone?: string): HTMLElement {
  return h(
    "div",
    { class: `kpi${tone ? ` ${tone}` : ""}` },
    h("div", { class: "kpi-label" }, label),
    h("div", { class: "kpi-value", "data-testid": testid }, value),
    sub ? h("div", { class: "kpi-sub" }, sub) : null,
  );
}

function allNodes(s: DashboardSummary): NodeView[] {
  return [s.tree.national, ...s.tree.regions.flatMap((r) => [...(r.center ? [r.center] : []), ...r.members])];
}

function renderKpis(p: Panels, s: DashboardSummary): void {
  const nodes = allNodes(s);
  const healthy = nodes.filter((n) => n.health === "ok").length;
  const today = s.catalog.days.at(-1);
  const span = fmtSpan(s.windowMinutes);
  fill(
    p.kpis,
    kpi(
      "searches · last hour",
      fmtInt(s.searches.total),
      "kpi-searches",
      `p95 ${fmtMs(s.searches.overall.p95)}`,
    ),
    kpi(
      `ILL requests · ${span}`,
      fmtInt(s.ill.requests),
      "kpi-ill-requests",
      `${fmtInt(s.ill.filled)} filled · ${fmtInt(s.ill.unfilled)} unfilled`,
    ),
    kpi("fill rate", fmtPct(s.ill.fillRate), "kpi-fill-rate", "of answered requests"),
    kpi(
      "union catalog",
      fmtInt(s.catalog.records),
      "kpi-catalog",
      `${fmtInt(s.catalog.clusters)} clusters${today ? ` · +${fmtInt(today.added)} today` : ""}`,
    ),
    kpi(
      "nodes reporting",
      `${healthy}/${nodes.length}`,
      "kpi-nodes",
      healthy === nodes.length ? "all well" : `${nodes.length - healthy} need a look`,
      healthy === nodes.length ? "good" : "warn",
    ),
    kpi(
      "errors · last hour",
      fmtInt(s.totals.errors),
      "kpi-errors",
      `of ${fmtInt(s.totals.calls)} calls`,
      s.totals.errors > 0 ? "warn" : undefined,
    ),
  );
}

function dot(health: Health): HTMLElement {
  return h("span", {
    class: `dot ${health}`,
    title: HEALTH_TEXT[health],
    role: "img",
    "aria-label": HEALTH_TEXT[health],
  });
}

function nodeRow(n: NodeView, now: number): HTMLElement {
  const badges: Array<HTMLElement | null> = [
    n.syncLag
      ? h(
          "span",
          { class: "badge warn", title: "catalog changes not yet acknowledged" },
          `lag ${fmtInt(n.syncLag)}`,
        )
      : null,
    n.resyncing ? h("span", { class: "badge warn" }, "resyncing") : null,
    n.outboxPending
      ? h("span", { class: "badge", title: "messages waiting to be delivered" }, `outbox ${n.outboxPending}`)
      : null,
    n.illOverdue ? h("span", { class: "badge bad" }, `${n.illOverdue} overdue`) : null,
    n.illStale ? h("span", { class: "badge warn" }, `${n.illStale} stale`) : null,
    n.illOpen ? h("span", { class: "badge dim", title: "ILL requests open" }, `${n.illOpen} ILL open`) : null,
  ];
  return h(
    "li",
    { class: `node ${n.tier}`, "data-node": n.id, "data-health": n.health },
    dot(n.health),
    h("span", { class: "node-name", title: n.id }, n.name),
    h("span", { class: "node-id" }, n.id),
    h(
      "span",
      { class: "node-meta" },
      n.tier === "national" ? "this node" : fmtAgo(n.lastContact, now),
      n.callsPerMinute > 0 ? ` · ${fmtRate(n.callsPerMinute)} calls/min` : "",
      n.searches > 0 ? ` · ${fmtInt(n.searches)} searches` : "",
    ),
    h("span", { class: "badges" }, ...badges),
  );
}

function renderTree(p: Panels, s: DashboardSummary, now: number): void {
  const region = (r: RegionView) =>
    h(
      "li",
      { class: "region" },
      h("div", { class: "region-name" }, r.region),
      h(
        "ul",
        null,
        r.center ? nodeRow(r.center, now) : h("li", { class: "node missing" }, "no regional center"),
        h("li", { class: "members" }, h("ul", null, ...r.members.map((m) => nodeRow(m, now)))),
      ),
    );
  fill(
    p.tree,
    h("ul", { class: "tree-root" }, nodeRow(s.tree.national, now), ...s.tree.regions.map(region)),
    s.tree.regions.length === 0
      ? h("p", { class: "empty" }, "No regional center has registered yet: lrs-national token create …")
      : null,
  );
}

function seriesColor(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

function renderSearches(p: Panels, s: DashboardSummary): void {
  const xs = s.searches.minutes.map((m) => m / 1000);
  const any = s.searches.total > 0;
  p.searchEmpty.hidden = any;
  fill(
    p.searchEmpty,
    "No searches in the last hour. They appear here a reporting interval after someone searches — try ",
    h("code", null, "lrs-member search --config … history --scope national"),
    ".",
  );
  p.searchChart.update(
    xs,
    s.searches.series.map((r, i) => ({
      label: `${r.region} · ${r.scope}`,
      color: seriesColor(i),
      values: r.counts,
    })),
  );
  p.latencyChart.update(xs, [
    { label: "p50", color: "#b5e48c", values: s.searches.latency.p50 },
    { label: "p95", color: "#ffb703", values: s.searches.latency.p95 },
    { label: "p99", color: "#f72585", values: s.searches.latency.p99 },
  ]);
  fill(
    p.searchTable,
    s.searches.table.length === 0
      ? h("p", { class: "empty" }, "Nothing yet.")
      : table(
          null,
          ["region", "scope", "searches", "p50", "p95", "p99", "err"].map((c, i) =>
            h("th", { class: i >= 2 ? "num" : null }, c),
          ),
          s.searches.table.map((r) =>
            h(
              "tr",
              null,
              h("td", null, r.region),
              h("td", null, h("span", { class: `scope ${r.scope}` }, r.scope)),
              h("td", { class: "num", title: `${fmtRate(r.perMinute)} a minute` }, fmtInt(r.searches)),
              h("td", { class: "num" }, fmtMs(r.latency.p50)),
              h("td", { class: "num" }, fmtMs(r.latency.p95)),
              h("td", { class: "num" }, fmtMs(r.latency.p99)),
              h("td", { class: `num${r.errors ? " bad" : ""}` }, fmtInt(r.errors)),
            ),
          ),
        ),
  );
}

function renderIll(p: Panels, s: DashboardSummary): void {
  const { ill } = s;
  if (ill.regions.length === 0) {
    fill(p.ill, h("p", { class: "empty" }, "No interlibrary loan traffic in this window."));
  } else {
    const max = Math.max(1, ...ill.matrix.map((c) => c.requests));
    const cellOf = (from: string, to: string) => ill.matrix.find((c) => c.from === from && c.to === to);
    fill(
      p.ill,
      table(
        { class: "matrix", "data-testid": "ill-matrix" },
        [h("th", { class: "corner" }, "borrowers ↓ lenders →"), ...ill.regions],
        ill.regions.map((from) =>
          h(
            "tr",
            null,
            h("th", null, from),
            ...ill.regions.map((to) => {
              const c = cellOf(from, to);
              if (!c) return h("td", { class: "cell empty-cell" }, "·");
              const alpha = 0.12 + 0.6 * (c.requests / max);
              return h(
                "td",
                {
                  class: "cell",
                  style: `background: rgba(76, 201, 240, ${alpha.toFixed(2)})`,
                  title: `${from} → ${to}: ${c.requests} requests, ${c.filled} filled, ${c.unfilled} unfilled`,
                },
                h("div", { class: "cell-main" }, fmtInt(c.requests)),
                h(
                  "div",
                  { class: "cell-sub" },
                  h("span", { class: "good" }, `✓ ${fmtInt(c.filled)}`),
                  " ",
                  h("span", { class: "bad" }, `✗ ${fmtInt(c.unfilled)}`),
                ),
              );
            }),
          ),
        ),
      ),
      h(
        "div",
        { class: "fill" },
        h(
          "div",
          { class: "fill-bar", role: "img", "aria-label": `fill rate ${fmtPct(ill.fillRate)}` },
          h("div", { class: "fill-filled", style: `width: ${((ill.fillRate ?? 0) * 100).toFixed(1)}%` }),
        ),
        h(
          "p",
          null,
          h("strong", null, fmtPct(ill.fillRate)),
          ` filled of answered · ${fmtInt(ill.requests)} requests · ${fmtInt(ill.messages)} ISO messages`,
        ),
      ),
    );
  }
  fill(
    p.turnaround,
    ill.turnaround.length === 0
      ? h("p", { class: "empty" }, "No request filled in this window yet.")
      : table(
          null,
          ["service", "filled", "p50", "p95", "p99"],
          ill.turnaround.map((t) =>
            h(
              "tr",
              null,
              h("td", null, t.serviceType),
              h("td", { class: "num" }, fmtInt(t.filled)),
              h("td", { class: "num" }, fmtMs(t.latency.p50)),
              h("td", { class: "num" }, fmtMs(t.latency.p95)),
              h("td", { class: "num" }, fmtMs(t.latency.p99)),
            ),
          ),
        ),
  );
}

function renderAttention(p: Panels, s: DashboardSummary, now: number): void {
  const { counts, attention } = s.ill;
  fill(
    p.attention,
    h(
      "p",
      { class: "counts" },
      h("span", { class: `badge ${counts.overdue ? "bad" : "dim"}` }, `${counts.overdue} overdue`),
      h("span", { class: `badge ${counts.stale ? "warn" : "dim"}` }, `${counts.stale} stale`),
      h("span", { class: `badge ${counts.attention ? "warn" : "dim"}` }, `${counts.attention} flagged`),
      h("span", { class: "badge dim" }, `${counts.open} open`),
    ),
    attention.length === 0
      ? h("p", { class: "empty good" }, "Nothing needs attention.")
      : table(
          null,
          ["library", "request", "", "status", "why", "since"],
          attention.map((a) =>
            h(
              "tr",
              null,
              h("td", null, a.node),
              h(
                "td",
                { title: a.title },
                h("code", null, a.requestId),
                a.title ? h("div", { class: "muted" }, a.title) : null,
              ),
              h("td", null, a.role),
              h("td", null, a.status),
              h(
                "td",
                null,
                h("span", { class: `badge ${a.reason === "overdue" ? "bad" : "warn"}` }, a.reason),
                " ",
                a.note,
              ),
              h("td", null, fmtAgo(a.since, now)),
            ),
          ),
        ),
  );
}

function renderCatalog(p: Panels, s: DashboardSummary): void {
  const c = s.catalog;
  const max = Math.max(1, ...c.days.flatMap((d) => [d.added, d.downloaded, d.merges]));
  const bar = (v: number, cls: string, label: string) =>
    h("div", {
      class: `bar ${cls}`,
      style: `height: ${((v / max) * 100).toFixed(1)}%`,
      title: `${label}: ${v}`,
    });
  fill(
    p.catalog,
    h(
      "div",
      { class: "stats" },
      ...[
        ["records", c.records],
        ["clusters", c.clusters],
        ["merges", c.merges],
        ["downloads", c.downloads],
      ].map(([k, v]) =>
        h(
          "div",
          { class: "stat" },
          h("div", { class: "stat-value" }, fmtInt(v as number)),
          h("div", { class: "stat-label" }, k as string),
        ),
      ),
    ),
    c.days.length === 0
      ? h("p", { class: "empty" }, "No day sampled yet.")
      : h(
          "div",
          { class: "days" },
          h(
            "div",
            { class: "legend" },
            h("span", { class: "key added" }, "added"),
            h("span", { class: "key downloaded" }, "downloaded"),
            h("span", { class: "key merges" }, "merges"),
          ),
          h(
            "div",
            { class: "day-bars" },
            ...c.days.map((d) =>
              h(
                "div",
                {
                  class: "day",
                  title: `${d.day}: ${d.added} added, ${d.downloaded} downloaded, ${d.merges} merges`,
                },
                h(
                  "div",
                  { class: "day-group" },
                  bar(d.added, "added", "added"),
                  bar(d.downloaded, "downloaded", "downloaded"),
                  bar(d.merges, "merges", "merges"),
                ),
                h("div", { class: "day-label" }, d.day.slice(5)),
              ),
            ),
          ),
        ),
  );
}

function renderVisits(p: Panels, s: DashboardSummary): void {
  const v = s.visits;
  const table = (caption: string, rows: DashboardSummary["visits"]["regions"]) =>
    h(
      "table",
      null,
      h("caption", null, caption),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          ...["", "visits", "lent", "borrowed", "returns", "lend : borrow"].map((c) => h("th", null, c)),
        ),
      ),
      h(
        "tbody",
        null,
        ...rows
          .slice(0, 16)
          .map((r) =>
            h(
              "tr",
              null,
              h(
                "td",
                null,
                r.name,
                r.region && r.region !== r.id ? h("span", { class: "muted" }, ` ${r.region}`) : "",
              ),
              h("td", { class: "num" }, String(r.visits)),
              h("td", { class: "num" }, String(r.lent)),
              h("td", { class: "num" }, String(r.borrowed)),
              h("td", { class: "num" }, String(r.returns)),
              h("td", { class: "num" }, `${r.lent} : ${r.borrowed}`),
            ),
          ),
      ),
    );
  fill(
    p.visits,
    v.visits + v.loans === 0
      ? h("p", { class: "empty" }, "No visiting reader checked or lent to in this window.")
      : h(
          "div",
          { class: "table-wrap" },
          h("p", null, `${v.visits} visits, ${v.loans} loans to visiting readers`),
          table("per region", v.regions),
          table("per institution", v.institutions),
        ),
  );
}

function renderBalance(p: Panels, s: DashboardSummary): void {
  const max = Math.max(1, ...s.balance.flatMap((b) => [b.lent, b.borrowed]));
  fill(
    p.balance,
    s.balance.length === 0
      ? h("p", { class: "empty" }, "No loan or copy filled in this window.")
      : h(
          "div",
          { class: "balance" },
          ...s.balance
            .slice(0, 16)
            .map((b) =>
              h(
                "div",
                { class: "balance-row", title: `${b.name}: lent ${b.lent}, borrowed ${b.borrowed}` },
                h("div", { class: "balance-name" }, b.name, h("span", { class: "muted" }, ` ${b.region}`)),
                h(
                  "div",
                  { class: "balance-bars" },
                  h(
                    "div",
                    { class: "side left" },
                    h("div", { class: "bar-borrowed", style: `width: ${(b.borrowed / max) * 100}%` }),
                  ),
                  h(
                    "div",
                    { class: "side right" },
                    h("div", { class: "bar-lent", style: `width: ${(b.lent / max) * 100}%` }),
                  ),
                ),
                h("div", { class: "balance-ratio num" }, `${b.lent} : ${b.borrowed}`),
              ),
            ),
          h(
            "p",
            { class: "hint" },
            h("span", { class: "key lent" }, "lent"),
            " ",
            h("span", { class: "key borrowed" }, "borrowed"),
          ),
        ),
  );
}

function renderGateway(p: Panels, s: DashboardSummary): void {
  fill(
    p.gateway,
    s.gateway.length === 0
      ? h("p", { class: "empty" }, "No message exchanged with an outside partner in this window.")
      : table(
          null,
          ["partner", "received", "refused", "sent", "errors", "p95 answer"],
          s.gateway.map((g) =>
            h(
              "tr",
              {
                title: Object.entries(g.byKind)
                  .map(([k, n]) => `${k}: ${n}`)
                  .join(", "),
              },
              h("td", null, g.name, h("span", { class: "muted" }, ` ${g.partner}`)),
              h("td", { class: "num" }, fmtInt(g.received)),
              h("td", { class: `num${g.refused > 0 ? " bad" : ""}` }, fmtInt(g.refused)),
              h("td", { class: "num" }, fmtInt(g.sent)),
              h("td", { class: `num${g.failed > 0 ? " bad" : ""}` }, fmtInt(g.failed)),
              h("td", { class: "num" }, fmtMs(g.latency.p95)),
            ),
          ),
        ),
  );
}

function renderSettlement(p: Panels, st: SettlementView): void {
  if (!st.available) {
    fill(
      p.settlement,
      h("p", { class: "empty" }, "This national center keeps no ledger: there is no settlement to show."),
    );
    return;
  }
  const head = h(
    "p",
    { class: "hint" },
    st.period ? `period ${st.period} · ` : "",
    st.settled
      ? h("span", { class: "badge good" }, "settled")
      : h("span", { class: "badge dim" }, "open, as the postings stand"),
  );
  if (st.note) {
    fill(p.settlement, head, h("p", { class: "empty" }, st.note));
    return;
  }
  if (st.regions.length === 0 && st.institutions.length === 0) {
    fill(p.settlement, head, h("p", { class: "empty" }, "No fees posted in this period."));
    return;
  }
  const net = (minor: number, currency: string) =>
    h("span", { class: minor > 0 ? "good" : minor < 0 ? "bad" : "" }, fmtMoney(minor, currency));
  fill(
    p.settlement,
    head,
    table(
      null,
      ["region", h("th", { class: "num" }, "net position")],
      st.regions.map((r) =>
        h("tr", null, h("td", null, r.region), h("td", { class: "num" }, net(r.netMinor, r.currency))),
      ),
    ),
    table(
      null,
      ["institution", ...["owes", "is owed", "net"].map((c) => h("th", { class: "num" }, c))],
      [...st.institutions]
        .sort((a, b) => Math.abs(b.netMinor) - Math.abs(a.netMinor))
        .slice(0, 12)
        .map((i) =>
          h(
            "tr",
            null,
            h("td", null, i.institution, h("span", { class: "muted" }, ` ${i.region}`)),
            h("td", { class: "num" }, fmtMoney(i.payableMinor, i.currency)),
            h("td", { class: "num" }, fmtMoney(i.receivableMinor, i.currency)),
            h("td", { class: "num" }, net(i.netMinor, i.currency)),
          ),
        ),
    ),
  );
}

function renderErrors(p: Panels, s: DashboardSummary): void {
  const t = s.totals;
  fill(
    p.errors,
    h(
      "p",
      { class: "hint" },
      `${fmtInt(t.calls)} calls · ${fmtInt(t.syncRecords)} records synced · ${fmtInt(t.downloads.record)} records and ${fmtInt(t.downloads.copy)} copies downloaded`,
    ),
    t.topErrors.length === 0
      ? h("p", { class: "empty good" }, "No failed calls.")
      : table(
          null,
          ["node", "call and code", "count"],
          t.topErrors.map((e) =>
            h(
              "tr",
              null,
              h("td", null, e.node),
              h("td", null, h("code", null, e.error)),
              h("td", { class: "num bad" }, fmtInt(e.count)),
            ),
          ),
        ),
  );
}

function render(p: Panels, s: DashboardSummary): void {
  const now = Date.now();
  const title = document.querySelector("[data-testid=federation]");
  if (title) title.textContent = s.federation;
  document.title = `${s.federation} — traffic`;
  for (const el of p.windowTitles) el.textContent = `last ${fmtSpan(s.windowMinutes)}`;
  renderKpis(p, s);
  renderTree(p, s, now);
  renderSearches(p, s);
  renderIll(p, s);
  renderAttention(p, s, now);
  renderCatalog(p, s);
  renderBalance(p, s);
  renderVisits(p, s);
  renderGateway(p, s);
  renderSettlement(p, s.settlement);
  renderErrors(p, s);
}

function showStatus(p: Panels): void {
  const age = lastAt ? Math.round((Date.now() - lastAt) / 1000) : undefined;
  p.status.className = `status ${connected ? "live" : "off"}`;
  p.status.textContent = connected
    ? `live · updated ${age === undefined ? "—" : age < 2 ? "just now" : `${age} s ago`}`
    : "reconnecting…";
}

function start(): void {
  const root = document.getElementById("app")!;
  let source: EventSource | undefined;
  const connect = (w: string) => {
    source?.close();
    source = new EventSource(`/api/events?window=${encodeURIComponent(w)}`);
    source.addEventListener("summary", (e) => {
      last = JSON.parse((e as MessageEvent<string>).data) as DashboardSummary;
      lastAt = Date.now();
      connected = true;
      root.removeAttribute("aria-busy");
      render(panels, last);
      showStatus(panels);
    });
    source.addEventListener("open", () => {
      connected = true;
      showStatus(panels);
    });
    source.addEventListener("error", () => {
      connected = false;
      showStatus(panels);
    });
  };
  const panels = layout(root, (w) => {
    localStorage.setItem("lrs-window", w);
    const url = new URL(location.href);
    url.searchParams.set("window", w);
    history.replaceState(null, "", url);
    for (const b of document.querySelectorAll<HTMLButtonElement>("[data-window]"))
      b.setAttribute("aria-pressed", String(b.dataset.window === w));
    connect(w);
  });
  connect(currentWindow());
  // Ages ("12 s ago") move on between updates.
  setInterval(() => {
    showStatus(panels);
    if (last) renderTree(panels, last, Date.now());
  }, 1000);
}

start();
