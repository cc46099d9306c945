// Before buying: who holds a title or has it on order in the region and the nation, how often it
// was asked for through ILL, this library's own copies, and the advice (buy or borrow) with its
// reasons — AcquisitionsService.CheckTitle at the member, the same call as `lrs-member acquire check`.
import { useState } from "preact/hooks";
import {
  AcquisitionsService,
  type CheckTitleResponse,
} from "../../../shared/src/gen/lrs/v1/acquisitions_pb.js";
import { Proximity } from "../../../shared/src/gen/lrs/v1/search_pb.js";
import { errorText } from "../api.js";
import { formatNumber, t } from "../i18n.js";
import { client } from "../rpc.js";
import { can, useSession } from "../session.js";
import { Notice } from "../ui.js";

const PROXIMITY: Record<number, string> = {
  [Proximity.OWN]: "search.own",
  [Proximity.REGION]: "search.ownRegion",
  [Proximity.OTHER_REGION]: "search.otherRegion",
};

/** An ISBN-like entry (digits, hyphens, a final X) is an ISBN; anything else a title. */
export function titleQueryOf(entry: string): { isbns: string[]; title: string } {
  const v = entry.trim();
  return /^[0-9][0-9\s-]{8,16}[0-9Xx]$/.test(v) ? { isbns: [v], title: "" } : { isbns: [], title: v };
}

/** A shared retention commitment on copies of this library (or its end): SetRetention. */
function RetentionForm() {
  const [barcodes, setBarcodes] = useState("");
  const [year, setYear] = useState("");
  const [done, setDone] = useState<{ kind: "ok" | "error"; text: string } | undefined>();
  const submit = async (e: Event, release: boolean) => {
    e.preventDefault();
    const list = barcodes.split(/[\s,]+/).filter((b) => b !== "");
    try {
      const res = await client(AcquisitionsService).setRetention({
        barcodes: list,
        retainedUntil: release ? 0 : Number(year),
      });
      setDone({
        kind: "ok",
        text: res.items
          .map((i) =>
            i.retainedUntil
              ? t("acquire.retainedDone", { barcode: i.barcode, year: i.retainedUntil })
              : t("acquire.released", { barcode: i.barcode }),
          )
          .join(" "),
      });
    } catch (err) {
      setDone({ kind: "error", text: errorText(err) });
    }
  };
  return (
    <form onSubmit={(e) => submit(e, false)}>
      <h2>{t("acquire.retainHeading")}</h2>
      <label>
        {t("acquire.barcodes")}{" "}
        <input
          name="barcodes"
          value={barcodes}
          onInput={(e) => setBarcodes((e.target as HTMLInputElement).value)}
          required
        />
      </label>{" "}
      <label>
        {t("acquire.until")}{" "}
        <input
          name="year"
          inputMode="numeric"
          value={year}
          onInput={(e) => setYear((e.target as HTMLInputElement).value)}
        />
      </label>{" "}
      <button type="submit">{t("acquire.retain")}</button>{" "}
      <button type="button" onClick={(e) => submit(e, true)}>
        {t("acquire.release")}
      </button>
      {done && <Notice kind={done.kind}>{done.text}</Notice>}
    </form>
  );
}

export function AcquirePage() {
  const session = useSession();
  const [entry, setEntry] = useState("");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<CheckTitleResponse | string | undefined>();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!entry.trim()) return;
    setBusy(true);
    try {
      setResult(
        await client(AcquisitionsService).checkTitle({ title: titleQueryOf(entry) }, { timeoutMs: 20_000 }),
      );
    } catch (err) {
      setResult(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section>
      <h1>{t("acquire.heading")}</h1>
      <form onSubmit={submit}>
        <label>
          {t("acquire.entry")}{" "}
          <input
            name="title"
            value={entry}
            onInput={(e) => setEntry((e.target as HTMLInputElement).value)}
            required
          />
        </label>{" "}
        <button type="submit" disabled={busy}>
          {t("acquire.check")}
        </button>
      </form>
      {typeof result === "string" && <Notice kind="error">{result}</Notice>}
      {result && typeof result !== "string" && (
        <div class="advice" data-verdict={result.verdict}>
          <h2>
            {result.title || t("acquire.unknown")} {result.author && `/ ${result.author}`}
          </h2>
          <p class="summary">
            <strong>{result.summary}</strong>
          </p>
          <ul>
            {result.reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
          <p>
            {t("acquire.own", {
              copies: formatNumber(result.ownCopies),
              out: formatNumber(result.ownCopiesOnLoan),
            })}{" "}
            {t("acquire.demand", {
              all: formatNumber(result.illRequests),
              own: formatNumber(result.ownIllRequests),
            })}
          </p>
          {result.holders.length > 0 && (
            <table>
              <caption>{t("acquire.holders")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("acquire.library")}</th>
                  <th scope="col">{t("acquire.where")}</th>
                  <th scope="col">{t("acquire.copies")}</th>
                  <th scope="col">{t("acquire.onOrder")}</th>
                  <th scope="col">{t("acquire.retained")}</th>
                </tr>
              </thead>
              <tbody>
                {result.holders.map((h) => (
                  <tr key={h.institutionId}>
                    <td>{h.institutionId}</td>
                    <td>{t(PROXIMITY[h.proximity] ?? "search.otherRegion")}</td>
                    <td>{formatNumber(h.copies)}</td>
                    <td>
                      {h.onOrder > 0 ? formatNumber(h.onOrder) : ""} {h.expectedDate && `(${h.expectedDate})`}
                    </td>
                    <td>{h.retainedUntil > 0 ? h.retainedUntil : ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
      {can(session, "staff") && <RetentionForm />}
    </section>
  );
}
