// The operators' pages of regional and national centers: directory, enrollment tokens, the
// hop-by-hop trace of an ILL request, and the union catalog's cluster view with split.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { AdminService } from "../../../shared/src/gen/lrs/v1/admin_pb.js";
import { CatalogService, type Cluster } from "../../../shared/src/gen/lrs/v1/catalog_pb.js";
import { Tier } from "../../../shared/src/gen/lrs/v1/common_pb.js";
import { DirectoryService } from "../../../shared/src/gen/lrs/v1/directory_pb.js";
import { IllService, type TraceResponse } from "../../../shared/src/gen/lrs/v1/ill_service_pb.js";
import { errorText } from "../api.js";
import { formatDateTime, t } from "../i18n.js";
import { client } from "../rpc.js";
import { can, useSession } from "../session.js";
import { LoadState, Notice, useLoad } from "../ui.js";

type Ts = Parameters<typeof timestampDate>[0] | undefined;
const when = (ts: Ts) => (ts ? formatDateTime(timestampDate(ts)) : "");
const tierText = (tier: Tier) =>
  tier === Tier.NATIONAL
    ? t("tier.national")
    : tier === Tier.REGIONAL
      ? t("tier.regional")
      : t("tier.member");

export function DirectoryPage() {
  const loaded = useLoad(async () => (await client(DirectoryService).getDirectory({})).directory!, []);
  return (
    <section>
      <h1>{t("center.directory")}</h1>
      <LoadState loaded={loaded}>
        {(d) => (
          <table data-testid="directory">
            <caption>{t("center.version", { version: String(d.version) })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("col.institution")}</th>
                <th scope="col">{t("center.tier")}</th>
                <th scope="col">{t("col.region")}</th>
                <th scope="col">{t("center.endpoint")}</th>
                <th scope="col">{t("center.certUntil")}</th>
              </tr>
            </thead>
            <tbody>
              {d.institutions.map((i) => (
                <tr key={i.id}>
                  <td>
                    {i.id} · {i.name} {i.revoked ? `(${t("center.revoked")})` : ""}
                  </td>
                  <td>{tierText(i.tier)}</td>
                  <td>{i.region}</td>
                  <td>{i.endpoint}</td>
                  <td>{when(i.certNotAfter)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </LoadState>
    </section>
  );
}

export function TokensPage() {
  const session = useSession();
  const loaded = useLoad(async () => (await client(AdminService).listEnrollmentTokens({})).tokens, []);
  const [note, setNote] = useState<{ kind: "ok" | "error"; text: string; token?: string } | undefined>();
  const create = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const id = String(f.get("id") ?? "").trim();
    try {
      const res = await client(AdminService).createEnrollmentToken({
        institutionId: id,
        tier: session.node.tier === "national" ? Tier.REGIONAL : Tier.MEMBER,
        region: String(f.get("region") ?? "").trim(),
        ttlSeconds: Math.round(Number(f.get("ttl") ?? 24) * 3600),
      });
      setNote({ kind: "ok", text: t("center.created", { id }), token: res.token });
      loaded.reload();
    } catch (err) {
      setNote({ kind: "error", text: errorText(err) });
    }
  };
  return (
    <section>
      <h1>{t("center.tokens")}</h1>
      {note && (
        <Notice kind={note.kind}>
          {note.text} {note.token && <code>{note.token}</code>}
        </Notice>
      )}
      {can(session, "admin") && (
        <form class="row" onSubmit={create} aria-labelledby="token-h">
          <h2 id="token-h">{t("center.newToken")}</h2>
          <label>
            {t("center.institution")}
            <input name="id" required />
          </label>
          {session.node.tier === "national" && (
            <label>
              {t("col.region")}
              <input name="region" required />
            </label>
          )}
          <label>
            {t("center.ttl")}
            <input name="ttl" type="number" min={1} max={720} value="24" />
          </label>
          <button type="submit">{t("center.create")}</button>
        </form>
      )}
      <LoadState loaded={loaded}>
        {(tokens) => (
          <table>
            <caption>{t("center.tokens")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("col.institution")}</th>
                <th scope="col">{t("col.region")}</th>
                <th scope="col">{t("status_.created")}</th>
                <th scope="col">{t("center.expires")}</th>
                <th scope="col">{t("center.used")}</th>
              </tr>
            </thead>
            <tbody>
              {tokens.map((k) => (
                <tr key={k.tokenId}>
                  <td>{k.institutionId}</td>
                  <td>{k.region}</td>
                  <td>{when(k.createdAt)}</td>
                  <td>{when(k.expiresAt)}</td>
                  <td>{when(k.usedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </LoadState>
    </section>
  );
}

export function TracePage() {
  const { query } = useLocation();
  const [result, setResult] = useState<TraceResponse | string | undefined>();
  const run = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    try {
      setResult(
        await client(IllService).trace(
          { requestId: String(f.get("id") ?? "").trim(), follow: f.get("follow") === "on" },
          { timeoutMs: 30_000 },
        ),
      );
    } catch (err) {
      setResult(errorText(err));
    }
  };
  return (
    <section>
      <h1>{t("center.trace")}</h1>
      <form class="row" onSubmit={run}>
        <label>
          {t("center.requestId")}
          <input name="id" required value={query.id ?? ""} />
        </label>
        <label class="inline">
          <input type="checkbox" name="follow" checked />
          {t("center.follow")}
        </label>
        <button type="submit">{t("center.run")}</button>
      </form>
      {typeof result === "string" && <Notice kind="error">{result}</Notice>}
      {result && typeof result !== "string" && (
        <table data-testid="trace">
          <caption>{t("center.hops")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("col.node")}</th>
              <th scope="col">{t("col.kind")}</th>
              <th scope="col">{t("center.receivedFrom")}</th>
              <th scope="col">{t("center.received")}</th>
              <th scope="col">{t("center.nextHop")}</th>
              <th scope="col">{t("center.forwarded")}</th>
              <th scope="col">{t("status_.attempts")}</th>
              <th scope="col">{t("status_.lastError")}</th>
            </tr>
          </thead>
          <tbody>
            {result.hops.map((h) => (
              <tr key={`${h.nodeId}-${h.messageId}`}>
                <td>{h.nodeId}</td>
                <td>{h.kind}</td>
                <td>{h.receivedFrom}</td>
                <td>{when(h.receivedAt)}</td>
                <td>{h.nextHop}</td>
                <td>{when(h.forwardedAt)}</td>
                <td>{h.attempts}</td>
                <td>{h.lastError}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function ClusterPage() {
  const session = useSession();
  const { query, route } = useLocation();
  const id = query.id ?? "";
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [note, setNote] = useState<{ kind: "ok" | "error"; text: string } | undefined>();
  const loaded = useLoad<Cluster | null>(
    async () => (id ? ((await client(CatalogService).getCluster({ clusterId: id })).cluster ?? null) : null),
    [id],
  );
  const split = async (e: Event) => {
    e.preventDefault();
    try {
      const res = await client(CatalogService).splitCluster(
        { clusterId: id, records: [...chosen] },
        {
          headers: {
            "x-lrs-reason": encodeURIComponent(
              String(new FormData(e.target as HTMLFormElement).get("reason") ?? ""),
            ),
          },
        },
      );
      setNote({ kind: "ok", text: t("center.splitDone", { id: res.newClusterId }) });
      setChosen(new Set());
      loaded.reload();
    } catch (err) {
      setNote({ kind: "error", text: errorText(err) });
    }
  };
  return (
    <section>
      <h1>{t("center.cluster")}</h1>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          route(
            `/cluster?id=${encodeURIComponent(String(new FormData(e.target as HTMLFormElement).get("id") ?? ""))}`,
          );
        }}
      >
        <label>
          {t("center.clusterId")}
          <input name="id" required value={id} />
        </label>
        <button type="submit">{t("center.show")}</button>
      </form>
      {note && <Notice kind={note.kind}>{note.text}</Notice>}
      {id && (
        <LoadState loaded={loaded}>
          {(c) =>
            c && (
              <>
                <h2>{c.title}</h2>
                <p>{[c.author, c.year, ...c.isbns, ...c.issns].filter(Boolean).join(" · ")}</p>
                <form onSubmit={split}>
                  <table data-testid="cluster-records">
                    <caption>{t("center.records")}</caption>
                    <thead>
                      <tr>
                        <th scope="col">{t("center.split")}</th>
                        <th scope="col">{t("col.institution")}</th>
                        <th scope="col">{t("search.record")}</th>
                        <th scope="col">{t("center.received")}</th>
                      </tr>
                    </thead>
                    <tbody>
                      {c.records.map((r) => {
                        const key = `${r.institutionId}/${r.recordId}`;
                        return (
                          <tr key={key}>
                            <td>
                              <input
                                type="checkbox"
                                aria-label={t("center.choose", { record: key })}
                                checked={chosen.has(key)}
                                disabled={!can(session, "staff")}
                                onChange={(e) => {
                                  const next = new Set(chosen);
                                  if ((e.target as HTMLInputElement).checked) next.add(key);
                                  else next.delete(key);
                                  setChosen(next);
                                }}
                              />
                            </td>
                            <td>{r.institutionId}</td>
                            <td>
                              {r.recordId} {r.preferred ? `(${t("center.preferred")})` : ""}
                            </td>
                            <td>{when(r.receivedAt)}</td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                  {can(session, "staff") && (
                    <div class="row">
                      <label>
                        {t("center.splitReason")}
                        <input name="reason" required />
                      </label>
                      <button type="submit" disabled={chosen.size === 0}>
                        {t("center.split")}
                      </button>
                    </div>
                  )}
                </form>
                <h3>{t("center.holdings")}</h3>
                <ul>
                  {c.holdings.map((h) => (
                    <li key={h.institutionId}>
                      {h.institutionId}: {h.holdings.length}
                    </li>
                  ))}
                </ul>
              </>
            )
          }
        </LoadState>
      )}
    </section>
  );
}
