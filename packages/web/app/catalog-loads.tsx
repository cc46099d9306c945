// A member's catalog as loaded: the latest imports (`lrs-member import`) and harvests from the ILS
// (OAI-PMH), what each added, changed and refused (each refusal naming its record), how it ended;
// and how far the regional center has taken the catalog's changes (the sync lag).
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { CatalogLoad, SyncPosition } from "../../shared/src/gen/lrs/v1/admin_pb.js";
import { formatDateTime, formatNumber, t } from "./i18n.js";

function SyncLine(p: { sync: SyncPosition }) {
  const s = p.sync;
  return (
    <p data-testid="sync-lag">
      {t("loads.sync", {
        peer: s.peerId,
        lag: formatNumber(s.lag),
        when: s.lastSyncAt ? formatDateTime(timestampDate(s.lastSyncAt)) : t("loads.never"),
      })}
      {s.resyncing && ` ${t("loads.resyncing")}`}
      {s.lastError && ` ${t("loads.syncError", { error: s.lastError })}`}
    </p>
  );
}

export function CatalogLoads(p: { loads: CatalogLoad[]; sync: SyncPosition | undefined }) {
  return (
    <section aria-labelledby="loads-heading">
      <h2 id="loads-heading">{t("loads.heading")}</h2>
      {p.sync && <SyncLine sync={p.sync} />}
      {p.loads.length === 0 ? (
        <p>{t("loads.none")}</p>
      ) : (
        <table data-testid="catalog-loads">
          <caption>{t("loads.caption")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("loads.kind")}</th>
              <th scope="col">{t("loads.source")}</th>
              <th scope="col">{t("loads.finished")}</th>
              <th scope="col" class="num">
                {t("loads.added")}
              </th>
              <th scope="col" class="num">
                {t("loads.updated")}
              </th>
              <th scope="col" class="num">
                {t("loads.deleted")}
              </th>
              <th scope="col" class="num">
                {t("loads.rejected")}
              </th>
              <th scope="col">{t("loads.outcome")}</th>
            </tr>
          </thead>
          <tbody>
            {p.loads.map((l, i) => (
              <tr key={`${l.kind}-${i}`}>
                <td>{t(`loads.kind_.${l.kind}`, { defaultValue: l.kind })}</td>
                <td class="wrap">{l.source}</td>
                <td>{formatDateTime(l.finishedAt ? timestampDate(l.finishedAt) : undefined)}</td>
                <td class="num">{formatNumber(l.added)}</td>
                <td class="num">{formatNumber(l.updated)}</td>
                <td class="num">{formatNumber(l.deleted)}</td>
                <td class="num">{formatNumber(l.rejected)}</td>
                <td>
                  {l.outcome === "ok"
                    ? t("loads.ok")
                    : l.outcome === "interrupted"
                      ? t("loads.interrupted")
                      : l.outcome}
                  {l.rejections.length > 0 && (
                    <details>
                      <summary>{t("loads.rejections", { count: l.rejections.length })}</summary>
                      <ul>
                        {l.rejections.map((r) => (
                          <li key={r}>{r}</li>
                        ))}
                      </ul>
                    </details>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
