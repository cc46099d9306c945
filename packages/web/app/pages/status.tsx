// The node's own state (GetStatus) and its outbox: pending messages and dead letters, with retry.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import { AdminService } from "../../../shared/src/gen/lrs/v1/admin_pb.js";
import { errorText } from "../api.js";
import { CatalogLoads } from "../catalog-loads.js";
import { formatDateTime, formatNumber, t } from "../i18n.js";
import { client } from "../rpc.js";
import { can, useSession } from "../session.js";
import { LoadState, Notice, useLoad } from "../ui.js";

export function StatusPage() {
  const session = useSession();
  const status = useLoad(() => client(AdminService).getStatus({}), []);
  const outbox = useLoad(() => client(AdminService).listOutbox({ limit: 100 }), []);
  const [note, setNote] = useState<{ kind: "ok" | "error"; text: string } | undefined>();
  const retry = async (messageId: string) => {
    try {
      await client(AdminService).retryOutbox({ messageId });
      setNote({ kind: "ok", text: t("status_.retried", { count: 1 }) });
      outbox.reload();
    } catch (err) {
      setNote({ kind: "error", text: errorText(err) });
    }
  };
  return (
    <section>
      <h1>{t("status_.heading")}</h1>
      <LoadState loaded={status}>
        {(s) => (
          <dl class="facts" data-testid="node-status">
            <dt>{t("status_.id")}</dt>
            <dd>
              {s.id} · {s.name}
            </dd>
            <dt>{t("status_.region")}</dt>
            <dd>{s.region}</dd>
            <dt>{t("status_.started")}</dt>
            <dd>{formatDateTime(s.startedAt ? timestampDate(s.startedAt) : undefined)}</dd>
            <dt>{t("status_.version")}</dt>
            <dd>{String(s.directoryVersion)}</dd>
            {s.catalog && (
              <>
                <dt>{t("status_.records")}</dt>
                <dd>{formatNumber(s.catalog.records)}</dd>
                <dt>{t("status_.items")}</dt>
                <dd>{formatNumber(s.catalog.holdings)}</dd>
              </>
            )}
            {s.upstreamSync && (
              <>
                <dt>Sync</dt>
                <dd>
                  {s.upstreamSync.peerId}: {String(s.upstreamSync.acknowledgedSeq)} /{" "}
                  {String(s.upstreamSync.headSeq)}
                  {s.upstreamSync.lastSyncAt
                    ? ` · ${formatDateTime(timestampDate(s.upstreamSync.lastSyncAt))}`
                    : ""}{" "}
                  {s.upstreamSync.lastError}
                </dd>
              </>
            )}
            {s.downstreamSync.length > 0 && (
              <>
                <dt>{t("center.members")}</dt>
                <dd>
                  <table data-testid="downstream-sync">
                    <caption>{t("center.members")}</caption>
                    <thead>
                      <tr>
                        <th scope="col">{t("center.peer")}</th>
                        <th scope="col">{t("center.acknowledged")}</th>
                        <th scope="col">{t("center.lag")}</th>
                        <th scope="col">{t("center.lastSync")}</th>
                        <th scope="col">{t("status_.lastError")}</th>
                      </tr>
                    </thead>
                    <tbody>
                      {s.downstreamSync.map((d) => (
                        <tr key={d.peerId}>
                          <td>{d.peerId}</td>
                          <td>{String(d.acknowledgedSeq)}</td>
                          <td>{String(d.lag)}</td>
                          <td>{formatDateTime(d.lastSyncAt ? timestampDate(d.lastSyncAt) : undefined)}</td>
                          <td>{d.lastError}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </dd>
              </>
            )}
            <dt>{t("status_.pending")}</dt>
            <dd>{formatNumber(s.outboxPending)}</dd>
            <dt>{t("status_.dead")}</dt>
            <dd>{formatNumber(s.outboxDead)}</dd>
          </dl>
        )}
      </LoadState>
      {session.node.tier === "member" && status.data && (
        <CatalogLoads loads={status.data.catalogLoads} sync={status.data.upstreamSync} />
      )}
      <h2>{t("status_.outbox")}</h2>
      {note && <Notice kind={note.kind}>{note.text}</Notice>}
      <LoadState loaded={outbox}>
        {(o) =>
          o.entries.length === 0 ? (
            <p>{t("queues.empty")}</p>
          ) : (
            <table>
              <caption>{t("status_.outbox")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("status_.destination")}</th>
                  <th scope="col">{t("col.kind")}</th>
                  <th scope="col">{t("status_.attempts")}</th>
                  <th scope="col">{t("status_.created")}</th>
                  <th scope="col">{t("status_.lastError")}</th>
                  <th scope="col">{t("status_.retry")}</th>
                </tr>
              </thead>
              <tbody>
                {o.entries.map((e) => (
                  <tr key={e.messageId}>
                    <td>{e.destination}</td>
                    <td>{e.kind}</td>
                    <td>{e.attempts}</td>
                    <td>{formatDateTime(e.createdAt ? timestampDate(e.createdAt) : undefined)}</td>
                    <td>{e.lastError}</td>
                    <td>
                      {e.deadAt && can(session, "admin") && (
                        <button type="button" onClick={() => retry(e.messageId)}>
                          {t("status_.retry")}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </LoadState>
    </section>
  );
}
