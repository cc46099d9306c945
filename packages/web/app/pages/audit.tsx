// The audit log (admins): every staff action, who, what, which request, when, how it ended.
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { formatDateTime, t } from "../i18n.js";
import { LoadState, useLoad } from "../ui.js";

interface Entry {
  seq: number;
  at: string;
  user: string;
  action: string;
  requestId: string | null;
  outcome: string;
  remote: string | null;
}

export function AuditPage() {
  const [filter, setFilter] = useState({ user: "", request: "" });
  const loaded = useLoad(async () => {
    const q = new URLSearchParams({ limit: "200" });
    if (filter.user) q.set("user", filter.user);
    if (filter.request) q.set("request", filter.request);
    return (await api<{ entries: Entry[] }>(`/api/audit?${q}`)).entries;
  }, [filter.user, filter.request]);
  return (
    <section>
      <h1>{t("audit.heading")}</h1>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.target as HTMLFormElement);
          setFilter({ user: String(f.get("user") ?? ""), request: String(f.get("request") ?? "") });
        }}
      >
        <label>
          {t("audit.filterUser")}
          <input name="user" />
        </label>
        <label>
          {t("audit.filterRequest")}
          <input name="request" />
        </label>
        <button type="submit">{t("audit.apply")}</button>
      </form>
      <LoadState loaded={loaded}>
        {(entries) =>
          entries.length === 0 ? (
            <p>{t("audit.empty")}</p>
          ) : (
            <table data-testid="audit">
              <caption>{t("audit.heading")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("col.when")}</th>
                  <th scope="col">{t("col.user")}</th>
                  <th scope="col">{t("col.action")}</th>
                  <th scope="col">{t("col.id")}</th>
                  <th scope="col">{t("col.outcome")}</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.seq}>
                    <td>{formatDateTime(new Date(e.at))}</td>
                    <td>{e.user}</td>
                    <td>{e.action}</td>
                    <td>
                      {e.requestId && (
                        <a href={`/requests/${encodeURIComponent(e.requestId)}`}>{e.requestId}</a>
                      )}
                    </td>
                    <td>{e.outcome}</td>
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
