// The ILL desk's queues: borrowing and lending by status with counts, what needs attention, live.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import { IllStaffService, type StaffRequest } from "../../../shared/src/gen/lrs/v1/ill_service_pb.js";
import { formatDate, formatDateTime, formatNumber, statusText, t } from "../i18n.js";
import { useLive } from "../live.js";
import { client } from "../rpc.js";
import { LoadState, useLoad } from "../ui.js";

type Side = "borrower" | "lender";

const when = (ts: StaffRequest["updatedAt"]) => (ts ? timestampDate(ts) : undefined);

interface Selection {
  chosen: ReadonlySet<string>;
  toggle: (ids: string[], on: boolean) => void;
}

function RequestTable(p: {
  rows: StaffRequest[];
  caption: string;
  testid: string;
  showAttention?: boolean;
  selection?: Selection;
}) {
  if (p.rows.length === 0) return <p data-testid={`${p.testid}-empty`}>{t("queues.empty")}</p>;
  const sel = p.selection;
  return (
    <table data-testid={p.testid}>
      <caption>{p.caption}</caption>
      <thead>
        <tr>
          {sel && (
            <th scope="col">
              <input
                type="checkbox"
                aria-label={t("queues.selectAll")}
                checked={p.rows.every((r) => sel.chosen.has(r.id))}
                onChange={(e) =>
                  sel.toggle(
                    p.rows.map((r) => r.id),
                    (e.target as HTMLInputElement).checked,
                  )
                }
              />
            </th>
          )}
          <th scope="col">{t("col.id")}</th>
          <th scope="col">{t("col.title")}</th>
          <th scope="col">{t("col.partner")}</th>
          <th scope="col">{t("col.status")}</th>
          {p.showAttention && <th scope="col">{t("col.attention")}</th>}
          <th scope="col">{t("col.needBy")}</th>
          <th scope="col">{t("col.updated")}</th>
        </tr>
      </thead>
      <tbody>
        {p.rows.map((r) => (
          <tr key={r.id} data-request={r.id} data-status={r.status}>
            {sel && (
              <td>
                <input
                  type="checkbox"
                  aria-label={t("queues.select", { id: r.id })}
                  data-select={r.id}
                  checked={sel.chosen.has(r.id)}
                  onChange={(e) => sel.toggle([r.id], (e.target as HTMLInputElement).checked)}
                />
              </td>
            )}
            <td>
              <a href={`/requests/${encodeURIComponent(r.id)}`}>{r.id}</a>
            </td>
            <td>{r.title}</td>
            <td>{r.partner}</td>
            <td>{statusText(r.status)}</td>
            {p.showAttention && <td>{r.attention}</td>}
            <td>{formatDate(when(r.needBefore))}</td>
            <td>{formatDateTime(when(r.updatedAt))}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function QueuesPage() {
  const [side, setSide] = useState<Side>("borrower");
  const [status, setStatus] = useState("");
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const selection: Selection = {
    chosen,
    toggle: (ids, on) =>
      setChosen((prev) => {
        const next = new Set(prev);
        for (const id of ids) on ? next.add(id) : next.delete(id);
        return next;
      }),
  };
  const printHref = (kind: string) => `/print/${kind}?ids=${[...chosen].map(encodeURIComponent).join(",")}`;
  const loaded = useLoad(
    async () => (await client(IllStaffService).listRequests({ limit: 1000 })).requests,
    [],
  );
  useLive(loaded.reload);
  return (
    <section>
      <h1>{t("queues.heading")}</h1>
      <LoadState loaded={loaded}>
        {(all) => {
          const mine = all.filter((r) => r.role === side);
          const counts = new Map<string, number>();
          for (const r of mine) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
          const attention = all.filter((r) => r.attention || r.status === "overdue");
          const shown = status ? mine.filter((r) => r.status === status) : mine;
          return (
            <>
              <section aria-labelledby="attention-h" class="attention">
                <h2 id="attention-h">
                  {t("queues.attention")} ({formatNumber(attention.length)})
                </h2>
                {attention.length === 0 ? (
                  <p>{t("queues.noAttention")}</p>
                ) : (
                  <RequestTable
                    rows={attention}
                    caption={t("queues.attention")}
                    testid="attention"
                    showAttention
                  />
                )}
              </section>
              <div class="tabs">
                {(["borrower", "lender"] as const).map((s) => (
                  <button
                    type="button"
                    key={s}
                    aria-pressed={side === s}
                    data-testid={`tab-${s}`}
                    onClick={() => {
                      setSide(s);
                      setStatus("");
                      setChosen(new Set());
                    }}
                  >
                    {s === "borrower" ? t("queues.borrowing") : t("queues.lending")} (
                    {formatNumber(all.filter((r) => r.role === s).length)})
                  </button>
                ))}
              </div>
              <h2>{t("queues.byStatus")}</h2>
              <ul class="counts" data-testid="status-counts">
                <li>
                  <button type="button" aria-pressed={status === ""} onClick={() => setStatus("")}>
                    {t("queues.allStatuses")} · {t("queues.count", { count: mine.length })}
                  </button>
                </li>
                {[...counts].map(([s, n]) => (
                  <li key={s}>
                    <button
                      type="button"
                      aria-pressed={status === s}
                      data-status={s}
                      onClick={() => setStatus(s)}
                    >
                      {statusText(s)} · {formatNumber(n)}
                    </button>
                  </li>
                ))}
              </ul>
              <div class="actions">
                {side === "lender" && (
                  <a
                    class="button"
                    href={printHref("slips")}
                    aria-disabled={chosen.size === 0}
                    data-testid="print-slips"
                  >
                    {t("queues.printSlips", { count: chosen.size })}
                  </a>
                )}
                <a
                  class="button"
                  href={printHref("labels")}
                  aria-disabled={chosen.size === 0}
                  data-testid="print-labels"
                >
                  {t("queues.printLabels", { count: chosen.size })}
                </a>
              </div>
              <RequestTable
                rows={shown}
                selection={selection}
                testid={`queue-${side}`}
                caption={t("queues.caption", {
                  role: t(`role_.${side}`),
                  status: status ? statusText(status) : t("queues.allStatuses"),
                })}
              />
            </>
          );
        }}
      </LoadState>
    </section>
  );
}
