// One request: summary, exactly the actions its state machine allows (each refused with the
// machine's reason), the copy, the rota with reasons and charges, timeline, messages, timers.
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useCallback, useState } from "preact/hooks";
import { useRoute } from "preact-iso";
import type { Costs } from "../../../shared/src/gen/lrs/v1/ill_pb.js";
import {
  IllStaffService,
  type RotaCandidate,
  type StaffRequest,
} from "../../../shared/src/gen/lrs/v1/ill_service_pb.js";
import { api, downloadFile, errorText, uploadFile } from "../api.js";
import { formatBytes, formatDate, formatDateTime, formatMoney, statusText, t } from "../i18n.js";
import { useLive } from "../live.js";
import { client } from "../rpc.js";
import { can, useSession } from "../session.js";
import { LoadState, Notice, useLoad } from "../ui.js";
import { availabilityText } from "./search.js";

const REASONS = [
  "NotHeld",
  "NotOnShelf",
  "NonCirculating",
  "NotAvailableForILL",
  "PolicyProblem",
  "PoorCondition",
];
const ANSWERS = ["yes", "no", "conditional", "expect"] as const;
const DUE_VERBS = new Set(["ship", "approve-renew"]);

const date = (ts: StaffRequest["updatedAt"]) => (ts ? timestampDate(ts) : undefined);
const money = (c: Costs | undefined) =>
  c?.monetaryValue ? formatMoney(c.monetaryValue, c.currencyCode) : "";

/** The request's service type as StaffRequest names it ("loan", "copy", "copy-or-loan"). */
function serviceText(type: string): string {
  if (type === "copy") return t("request.copy");
  if (type === "loan") return t("request.loan");
  return t("request.copyOrLoan");
}

type Outcome = { kind: "ok" | "error"; text: string } | undefined;

function ActionForm(p: { r: StaffRequest; verb: string; onDone: (o: Outcome) => void }) {
  const [answer, setAnswer] = useState<string>("yes");
  const [busy, setBusy] = useState(false);
  const id = `act-${p.verb}`;
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const due = String(form.get("due") ?? "");
    setBusy(true);
    try {
      const res = await client(IllStaffService).act({
        id: p.r.id,
        action: p.verb,
        ...(p.verb === "respond" ? { answer } : {}),
        ...(p.verb === "respond" && answer === "no" ? { reason: String(form.get("reason") ?? "") } : {}),
        note: String(form.get("note") ?? ""),
        ...(due ? { dueDate: timestampFromDate(new Date(`${due}T23:59:59`)) } : {}),
      });
      p.onDone({
        kind: "ok",
        text: t("request.done", {
          action: t(`verb.${p.verb}`),
          status: statusText(res.request?.status ?? ""),
        }),
      });
    } catch (err) {
      p.onDone({ kind: "error", text: t("request.refused", { reason: errorText(err) }) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="action" onSubmit={submit} data-testid={id} aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>{t(`verb.${p.verb}`)}</h3>
      {p.verb === "respond" && (
        <label>
          {t("request.answer")}
          <select
            name="answer"
            value={answer}
            onChange={(e) => setAnswer((e.target as HTMLSelectElement).value)}
          >
            {ANSWERS.map((a) => (
              <option key={a} value={a}>
                {t(`answer.${a}`)}
              </option>
            ))}
          </select>
        </label>
      )}
      {p.verb === "respond" && answer === "no" && (
        <label>
          {t("request.reason")}
          <select name="reason">
            {REASONS.map((r) => (
              <option key={r} value={r}>
                {t(`reasonUnfilled.${r}`)}
              </option>
            ))}
          </select>
        </label>
      )}
      {DUE_VERBS.has(p.verb) && (
        <label>
          {t("request.dueDate")} ({t("form.optional")})
          <input type="date" name="due" />
        </label>
      )}
      <label>
        {t("request.note")} ({t("form.optional")})
        <input name="note" />
      </label>
      <button type="submit" disabled={busy} data-testid={`do-${p.verb}`}>
        {t(`verb.${p.verb}`)}
      </button>
    </form>
  );
}

function CopyPanel(p: { r: StaffRequest; canAct: boolean; onDone: (o: Outcome) => void }) {
  const [progress, setProgress] = useState<number | undefined>();
  const c = p.r.copy;
  const upload = p.canAct && p.r.actions.includes("upload-copy");
  const download = p.canAct && p.r.role === "borrower" && c?.state === "available";
  const doUpload = async (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const file = (form.elements.namedItem("file") as HTMLInputElement).files?.[0];
    if (!file) return;
    const note = String(new FormData(form).get("note") ?? "");
    try {
      setProgress(0);
      const res = await uploadFile(
        `/api/copies/${encodeURIComponent(p.r.id)}/upload`,
        file,
        { "x-note": encodeURIComponent(note) },
        setProgress,
      );
      p.onDone({
        kind: "ok",
        text: t("copy.uploaded", {
          name: file.name,
          size: formatBytes(file.size),
          status: statusText(String(res.status)),
        }),
      });
    } catch (err) {
      p.onDone({ kind: "error", text: t("request.refused", { reason: errorText(err) }) });
    } finally {
      setProgress(undefined);
    }
  };
  const doDownload = async () => {
    try {
      const name = await downloadFile(`/api/copies/${encodeURIComponent(p.r.id)}/download`);
      p.onDone({ kind: "ok", text: t("copy.downloaded", { name }) });
    } catch (err) {
      p.onDone({ kind: "error", text: t("request.refused", { reason: errorText(err) }) });
    }
  };
  if (!c && !upload) return null;
  return (
    <section aria-labelledby="copy-h" data-testid="copy">
      <h2 id="copy-h">{t("copy.heading")}</h2>
      {c ? (
        <dl class="facts">
          <dt>{t("copy.file_")}</dt>
          <dd data-testid="copy-file">{c.fileName}</dd>
          <dt>{t("copy.size")}</dt>
          <dd>{formatBytes(c.size)}</dd>
          <dt>{t("copy.state")}</dt>
          <dd data-testid="copy-state">{c.state}</dd>
          {c.availableUntil && (
            <>
              <dt>{t("copy.until")}</dt>
              <dd>{formatDateTime(timestampDate(c.availableUntil))}</dd>
            </>
          )}
          {c.deletedAt && (
            <>
              <dt>{t("copy.state")}</dt>
              <dd>
                {t("copy.deleted", {
                  when: formatDateTime(timestampDate(c.deletedAt)),
                  why: c.deletedReason,
                })}
              </dd>
            </>
          )}
          <dt>{t("copy.downloads")}</dt>
          <dd>{c.downloads}</dd>
        </dl>
      ) : (
        <p>{t("copy.none")}</p>
      )}
      {upload && (
        <form onSubmit={doUpload} class="stack" data-testid="upload-form">
          <label>
            {t("copy.file")}
            <input type="file" name="file" accept=".pdf,.jpg,.jpeg,.png,.tif,.tiff" required />
          </label>
          <label>
            {t("copy.note")} ({t("form.optional")})
            <input name="note" />
          </label>
          <button type="submit" disabled={progress !== undefined} data-testid="do-upload">
            {t("copy.upload")}
          </button>
          {progress !== undefined && (
            <progress
              max={1}
              value={progress}
              aria-label={t("copy.uploading", { percent: Math.round(progress * 100) })}
            />
          )}
        </form>
      )}
      {download && (
        <button type="button" onClick={doDownload} data-testid="do-download">
          {t("copy.download")}
        </button>
      )}
    </section>
  );
}

function RotaTable(p: { rows: RotaCandidate[]; caption: string; excluded?: boolean; position?: number }) {
  return (
    <table>
      <caption>{p.caption}</caption>
      <thead>
        <tr>
          {!p.excluded && <th scope="col">{t("col.position")}</th>}
          <th scope="col">{t("col.library")}</th>
          <th scope="col">{t("col.region")}</th>
          <th scope="col">{t("col.reason")}</th>
          <th scope="col">{t("col.availability")}</th>
          <th scope="col">{t("col.charge")}</th>
        </tr>
      </thead>
      <tbody>
        {p.rows.map((c, i) => (
          <tr key={`${c.agencyId}-${i}`} aria-current={!p.excluded && p.position === i ? "true" : undefined}>
            {!p.excluded && (
              <td>
                {i + 1}
                {p.position === i ? ` (${t("request.current")})` : ""}
              </td>
            )}
            <td>{c.agencyId}</td>
            <td>{c.region}</td>
            <td>{c.reason}</td>
            <td>{c.availability ? availabilityText(c.availability) : ""}</td>
            <td>{money(c.charge)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function RequestPage() {
  const { params } = useRoute();
  const id = decodeURIComponent(params.id ?? "");
  const session = useSession();
  const canAct = can(session, "staff");
  const [outcome, setOutcome] = useState<Outcome>();
  const loaded = useLoad(async () => (await client(IllStaffService).showRequest({ id })).request!, [id]);
  useLive(loaded.reload);
  const done = useCallback(
    (o: Outcome) => {
      setOutcome(o);
      loaded.reload();
    },
    [loaded.reload],
  );
  const audit = useLoad(
    async () =>
      can(session, "admin")
        ? (
            await api<{
              entries: Array<{ seq: number; at: string; user: string; action: string; outcome: string }>;
            }>(`/api/audit?request=${encodeURIComponent(id)}`)
          ).entries
        : [],
    [id, outcome],
  );
  return (
    <section>
      <p>
        <a href="/">{t("request.back")}</a>
      </p>
      <h1>{t("request.heading", { id })}</h1>
      {outcome && (
        <Notice kind={outcome.kind} testid="outcome">
          {outcome.text}
        </Notice>
      )}
      <LoadState loaded={loaded}>
        {(r) => (
          <>
            <dl class="facts" data-testid="summary">
              <dt>{t("col.title")}</dt>
              <dd>{r.title}</dd>
              <dt>{t("col.status")}</dt>
              <dd data-testid="status" data-status={r.status}>
                {statusText(r.status)}
              </dd>
              <dt>{t("request.role")}</dt>
              <dd>{t(`role_.${r.role}`)}</dd>
              <dt>{t("request.type")}</dt>
              <dd>{serviceText(r.type)}</dd>
              <dt>{t("request.partner")}</dt>
              <dd>{r.partner}</dd>
              {r.patronId && (
                <>
                  <dt>{t("request.patron")}</dt>
                  <dd>{r.patronId}</dd>
                </>
              )}
              {r.needBefore && (
                <>
                  <dt>{t("request.needBy")}</dt>
                  <dd>{formatDate(date(r.needBefore))}</dd>
                </>
              )}
              {r.dueDate && (
                <>
                  <dt>{t("request.due")}</dt>
                  <dd>{formatDate(date(r.dueDate))}</dd>
                </>
              )}
              <dt>{t("request.renewals")}</dt>
              <dd>{t("request.renewalsOf", { used: r.renewalsUsed, max: r.maxRenewals })}</dd>
              <dt>{t("request.isoIds")}</dt>
              <dd>
                {r.requestingAgencyRequestId} {r.supplyingAgencyRequestId}
              </dd>
              {r.attention && (
                <>
                  <dt>{t("request.attention")}</dt>
                  <dd>{r.attention}</dd>
                </>
              )}
              {r.duplicateOf && (
                <>
                  <dt>{t("request.duplicateOf", { id: "" })}</dt>
                  <dd>
                    <a href={`/requests/${encodeURIComponent(r.duplicateOf)}`}>{r.duplicateOf}</a>
                  </dd>
                </>
              )}
            </dl>
            <section aria-labelledby="actions-h">
              <h2 id="actions-h">{t("request.actions")}</h2>
              {!canAct ? (
                <p data-testid="no-actions-role">{t("app.forbidden", { role: t(`role.${session.role}`) })}</p>
              ) : r.actions.filter((a) => a !== "upload-copy").length === 0 ? (
                <p data-testid="no-actions">{t("request.noActions")}</p>
              ) : (
                <div class="actions">
                  {r.actions
                    .filter((a) => a !== "upload-copy")
                    .map((verb) => (
                      <ActionForm key={`${r.status}-${verb}`} r={r} verb={verb} onDone={done} />
                    ))}
                </div>
              )}
            </section>
            <CopyPanel r={r} canAct={canAct} onDone={done} />
            {(r.rota.length > 0 || r.excluded.length > 0) && (
              <section aria-labelledby="rota-h">
                <h2 id="rota-h">{t("request.rota")}</h2>
                {r.rota.length > 0 && (
                  <RotaTable rows={r.rota} caption={t("request.rota")} position={r.rotaPosition} />
                )}
                {r.excluded.length > 0 && (
                  <RotaTable rows={r.excluded} caption={t("request.excluded")} excluded />
                )}
              </section>
            )}
            <section aria-labelledby="timeline-h">
              <h2 id="timeline-h">{t("request.timeline")}</h2>
              <table data-testid="timeline">
                <caption>{t("request.timeline")}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t("col.when")}</th>
                    <th scope="col">{t("col.from")}</th>
                    <th scope="col">{t("col.to")}</th>
                    <th scope="col">{t("col.event")}</th>
                    <th scope="col">{t("col.note")}</th>
                  </tr>
                </thead>
                <tbody>
                  {r.timeline.map((e) => (
                    <tr key={String(e.seq)}>
                      <td>{formatDateTime(date(e.at))}</td>
                      <td>{statusText(e.from)}</td>
                      <td>{statusText(e.to)}</td>
                      <td>{e.event}</td>
                      <td>{e.note}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
            {r.messages.length > 0 && (
              <section aria-labelledby="messages-h">
                <h2 id="messages-h">{t("request.messages")}</h2>
                <table>
                  <caption>{t("request.messages")}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t("col.when")}</th>
                      <th scope="col">{t("col.direction")}</th>
                      <th scope="col">{t("col.kind")}</th>
                      <th scope="col">{t("col.delivered")}</th>
                      <th scope="col">{t("col.confirmed")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {r.messages.map((m) => (
                      <tr key={m.messageId}>
                        <td>{formatDateTime(date(m.at))}</td>
                        <td>{m.direction}</td>
                        <td>{m.kind}</td>
                        <td>{formatDateTime(date(m.deliveredAt))}</td>
                        <td>
                          {formatDateTime(date(m.confirmedAt))} {m.confirmation}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </section>
            )}
            {r.timers.length > 0 && (
              <section aria-labelledby="timers-h">
                <h2 id="timers-h">{t("request.timers")}</h2>
                <ul>
                  {r.timers.map((tm) => (
                    <li key={tm.kind}>
                      {tm.kind}: {formatDateTime(date(tm.dueAt))}
                    </li>
                  ))}
                </ul>
              </section>
            )}
          </>
        )}
      </LoadState>
      {can(session, "admin") && audit.data && audit.data.length > 0 && (
        <section aria-labelledby="audit-h">
          <h2 id="audit-h">{t("request.audit")}</h2>
          <ul data-testid="request-audit">
            {audit.data.map((e) => (
              <li key={e.seq}>
                {formatDateTime(new Date(e.at))} · {e.user} · {e.action} · {e.outcome}
              </li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
