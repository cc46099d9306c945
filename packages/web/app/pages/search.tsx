// Search the catalog, the region or the federation: simple fields or CQL, facets, holdings
// nearest first, live availability on demand, and which nodes answered.
import { useEffect, useState } from "preact/hooks";
import {
  Availability,
  type CheckAvailabilityResponse,
  type Facet,
  type NodeCoverage,
  NodeCoverage_Status,
  Proximity,
  Scope,
  type SearchHit,
  SearchService,
} from "../../../shared/src/gen/lrs/v1/search_pb.js";
import { errorText } from "../api.js";
import { formatNumber, t } from "../i18n.js";
import { client } from "../rpc.js";
import { can, useSession } from "../session.js";
import { Notice } from "../ui.js";

const SCOPES = [
  ["local", Scope.LOCAL],
  ["region", Scope.REGION],
  ["national", Scope.NATIONAL],
] as const;
const FIELDS = ["any", "title", "author", "subject", "isbn"] as const;

/** A CQL query from the simple form: each filled field, ANDed; phrases quoted. */
export function cqlOf(fields: Record<string, string>): string {
  const quote = (v: string) => `"${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
  return Object.entries(fields)
    .filter(([, v]) => v.trim())
    .map(([k, v]) => (k === "any" ? quote(v.trim()) : `${k}=${quote(v.trim())}`))
    .join(" AND ");
}

const PROXIMITY: Record<number, string> = {
  [Proximity.OWN]: "search.own",
  [Proximity.REGION]: "search.ownRegion",
  [Proximity.OTHER_REGION]: "search.otherRegion",
};
const COVERAGE: Record<number, string> = {
  [NodeCoverage_Status.ANSWERED]: "search.covAnswered",
  [NodeCoverage_Status.TIMED_OUT]: "search.covTimedOut",
  [NodeCoverage_Status.FAILED]: "search.covFailed",
  [NodeCoverage_Status.SKIPPED]: "search.covSkipped",
};

export function availabilityText(a: Availability): string {
  const key =
    a === Availability.AVAILABLE
      ? "available"
      : a === Availability.ON_LOAN
        ? "on_loan"
        : a === Availability.NOT_LENDABLE
          ? "not_lendable"
          : "unknown";
  return t(`search.${key}`);
}

interface Results {
  total: bigint;
  hits: SearchHit[];
  facets: Facet[];
  coverage: NodeCoverage[];
}

function Hit(p: { hit: SearchHit; member: boolean; canRequest: boolean }) {
  const [avail, setAvail] = useState<CheckAvailabilityResponse | string | undefined>();
  const h = p.hit;
  const check = async () => {
    try {
      setAvail(await client(SearchService).checkAvailability({ clusterId: h.id }, { timeoutMs: 15_000 }));
    } catch (err) {
      setAvail(errorText(err));
    }
  };
  return (
    <li class="hit" data-cluster={h.id}>
      <h3>{h.title}</h3>
      <p>
        {[h.author, h.publisher, h.year, h.language, h.format].filter(Boolean).join(" · ")}
        {h.isbns.length > 0 && ` · ISBN ${h.isbns.join(", ")}`}
        {h.issns.length > 0 && ` · ISSN ${h.issns.join(", ")}`}
      </p>
      <table>
        <caption>{t("search.holdings")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("col.institution")}</th>
            <th scope="col">{t("col.region")}</th>
            <th scope="col">{t("col.items")}</th>
            <th scope="col">{t("col.callNumber")}</th>
            <th scope="col">{t("col.locations")}</th>
          </tr>
        </thead>
        <tbody>
          {h.holdings.map((x) => (
            <tr key={x.institutionId}>
              <td>
                {x.institutionId} {PROXIMITY[x.proximity] ? `(${t(PROXIMITY[x.proximity]!)})` : ""}
              </td>
              <td>{x.region}</td>
              <td>{formatNumber(x.items)}</td>
              <td>{x.callNumber}</td>
              <td>{x.locations.join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="row">
        <button type="button" onClick={check}>
          {t("search.availability")}
        </button>
        {p.member && p.canRequest && (
          <a
            class="button"
            href={`/new?cluster=${encodeURIComponent(h.id)}&title=${encodeURIComponent(h.title)}`}
          >
            {t("search.request")}
          </a>
        )}
      </div>
      {typeof avail === "string" && <Notice kind="error">{avail}</Notice>}
      {avail && typeof avail !== "string" && (
        <ul>
          {avail.institutions.map((i) => (
            <li key={i.institutionId}>
              {i.institutionId}: {availabilityText(i.state)} {i.reason}
              {i.items.length > 0 &&
                ` — ${i.items.map((it) => `${it.barcode} ${it.callNumber} ${availabilityText(it.state)}`).join("; ")}`}
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

export function SearchPage() {
  const session = useSession();
  const member = session.node.tier === "member";
  const [mode, setMode] = useState<"simple" | "cql">("simple");
  const [scope, setScope] = useState<Scope>(member ? Scope.REGION : Scope.REGION);
  const [results, setResults] = useState<Results | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [query, setQuery] = useState("");
  // User Timing for bench/web.mjs: an answer's message arrived ("lrs:search-answer"), and its
  // results are on screen — Preact runs effects after the frame that drew them ("lrs:search-drawn").
  useEffect(() => {
    if (results) performance.mark("lrs:search-drawn");
  }, [results]);
  const run = async (q: string) => {
    if (!q) return;
    setBusy(true);
    setError(undefined);
    setQuery(q);
    const out: Results = { total: 0n, hits: [], facets: [], coverage: [] };
    try {
      for await (const page of client(SearchService).search(
        { query: q, scope, facets: true, pageSize: 20 },
        { timeoutMs: 30_000 },
      )) {
        performance.mark("lrs:search-answer");
        out.total = page.total > out.total ? page.total : out.total;
        out.hits.push(...page.hits);
        if (page.facets.length) out.facets = page.facets;
        if (page.coverage.length) out.coverage = page.coverage;
        setResults({ ...out, hits: [...out.hits] });
        if (page.final || out.hits.length >= 20) break;
      }
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    if (mode === "cql") return void run(String(f.get("cql") ?? ""));
    void run(cqlOf(Object.fromEntries(FIELDS.map((k) => [k, String(f.get(k) ?? "")]))));
  };
  const refine = (facet: string, value: string) =>
    run(`${query} AND ${facet}="${value.replaceAll('"', '\\"')}"`);
  return (
    <section>
      <h1>{t("search.heading")}</h1>
      <form onSubmit={submit} class="grid-form" data-testid="search-form">
        <fieldset>
          <legend>{t("search.scope")}</legend>
          {SCOPES.filter(([k]) => member || k !== "local").map(([k, v]) => (
            <label key={k} class="inline">
              <input type="radio" name="scope" checked={scope === v} onChange={() => setScope(v)} />
              {t(`search.${k}`)}
            </label>
          ))}
        </fieldset>
        <div class="tabs">
          <button type="button" aria-pressed={mode === "simple"} onClick={() => setMode("simple")}>
            {t("search.simple")}
          </button>
          <button type="button" aria-pressed={mode === "cql"} onClick={() => setMode("cql")}>
            {t("search.cql")}
          </button>
        </div>
        {mode === "simple" ? (
          <fieldset>
            <legend>{t("search.simple")}</legend>
            {FIELDS.map((k) => (
              <label key={k}>
                {t(`search.${k}`)}
                <input name={k} />
              </label>
            ))}
          </fieldset>
        ) : (
          <label>
            {t("search.query")}
            <input name="cql" required placeholder='title="medicine" AND author=smith' />
          </label>
        )}
        <button type="submit" disabled={busy} data-testid="do-search">
          {t("search.submit")}
        </button>
      </form>
      {error && <Notice kind="error">{error}</Notice>}
      {results && (
        <div class="results">
          <aside aria-labelledby="facets-h">
            <h2 id="facets-h">{t("search.facets")}</h2>
            {results.facets.map((f) => (
              <section key={f.name}>
                <h3>{t(`search.facet.${f.name}`, { defaultValue: f.name })}</h3>
                <ul>
                  {f.values.slice(0, 10).map((v) => (
                    <li key={v.value}>
                      <button type="button" class="link" onClick={() => refine(f.name, v.value)}>
                        {v.value} ({formatNumber(v.count)})
                      </button>
                    </li>
                  ))}
                </ul>
              </section>
            ))}
            <h2>{t("search.coverage")}</h2>
            <ul data-testid="coverage">
              {results.coverage.map((c) => (
                <li key={c.nodeId}>
                  {c.nodeId}: {t(COVERAGE[c.status] ?? "search.covSkipped")} · {formatNumber(c.hits)} ·{" "}
                  {formatNumber(c.elapsedMs)} ms {c.detail}
                </li>
              ))}
            </ul>
          </aside>
          <div>
            <p data-testid="result-count" role="status">
              {t("search.results", { count: Number(results.total) })}
            </p>
            {results.hits.length === 0 ? (
              <p>{t("search.noResults")}</p>
            ) : (
              <ol class="hits" data-testid="hits">
                {results.hits.map((h) => (
                  <Hit key={h.id} hit={h} member={member} canRequest={can(session, "staff")} />
                ))}
              </ol>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
