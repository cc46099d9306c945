// Paperwork for the ILL desk, several requests on one printout: pull slips (lending: what to
// fetch from where, by call number and barcode) and shipping labels / book bands (who it goes to,
// the request id as a Code 128 barcode the other desk scans, the due date). Opened from the
// queues with the requests ticked: /print/slips?ids=a,b and /print/labels?ids=a,b.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import JsBarcode from "jsbarcode";
import { useEffect, useRef } from "preact/hooks";
import { useLocation, useRoute } from "preact-iso";
import { IllStaffService, type StaffRequest } from "../../../shared/src/gen/lrs/v1/ill_service_pb.js";
import { formatDate, statusText, t } from "../i18n.js";
import { client } from "../rpc.js";
import { LoadState, Notice, useLoad } from "../ui.js";

/** The most requests one printout takes (each is one ShowRequest). */
export const MAX_PRINT = 50;

/** The ids in `?ids=`, each once, in order. */
export function printIds(query: Record<string, string>): string[] {
  return [
    ...new Set(
      (query.ids ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/** A Code 128 barcode of `value` as SVG (the request id the other desk scans). */
function Barcode(p: { value: string }) {
  const ref = useRef<SVGSVGElement>(null);
  useEffect(() => {
    if (ref.current)
      JsBarcode(ref.current, p.value, { format: "CODE128", height: 48, width: 2, fontSize: 14, margin: 0 });
  }, [p.value]);
  return (
    <svg ref={ref} role="img" aria-label={t("print.barcodeOf", { value: p.value })} data-barcode={p.value} />
  );
}

const date = (ts: StaffRequest["dueDate"]) => (ts ? formatDate(timestampDate(ts)) : "");

function Slip(p: { r: StaffRequest }) {
  const { r } = p;
  return (
    <article class="slip" data-testid="slip" data-request={r.id}>
      <h2>{t("print.slipHeading")}</h2>
      <p class="slip-title">
        <strong>{r.title}</strong>
        {r.author && <> · {r.author}</>}
      </p>
      <dl>
        <dt>{t("print.for")}</dt>
        <dd>{r.partnerName ? `${r.partnerName} (${r.partner})` : r.partner}</dd>
        <dt>{t("col.id")}</dt>
        <dd>{r.id}</dd>
        {r.needBefore && (
          <>
            <dt>{t("col.needBy")}</dt>
            <dd>{date(r.needBefore)}</dd>
          </>
        )}
        <dt>{t("col.status")}</dt>
        <dd>{statusText(r.status)}</dd>
      </dl>
      {r.shelfItems.length === 0 ? (
        <Notice kind="info">{t("print.noCopies")}</Notice>
      ) : (
        <table>
          <caption>{t("print.copies")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("print.location")}</th>
              <th scope="col">{t("print.callNumber")}</th>
              <th scope="col">{t("print.barcode")}</th>
              <th scope="col">{t("col.status")}</th>
            </tr>
          </thead>
          <tbody>
            {r.shelfItems.map((i) => (
              <tr key={i.barcode} data-item={i.barcode}>
                <td>{i.location}</td>
                <td>{i.callNumber}</td>
                <td>{i.barcode}</td>
                <td>{i.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {r.note && <p class="slip-note">{r.note}</p>}
      <Barcode value={r.id} />
    </article>
  );
}

/** A shipping label, always to the partner: the borrower (lending) or the lender (returning). */
function Label(p: { r: StaffRequest }) {
  const { r } = p;
  return (
    <article class="label" data-testid="label" data-request={r.id}>
      <p class="label-to">{t("print.to")}</p>
      <address data-testid="label-address">
        <strong>{r.partnerName || r.partner}</strong>
        {(r.partnerAddress || t("print.noAddress")).split("\n").map((line) => (
          <span key={line}>{line}</span>
        ))}
      </address>
      <p>
        <strong>{r.title}</strong>
      </p>
      <dl>
        <dt>{t("col.id")}</dt>
        <dd>{r.id}</dd>
        {r.dueDate && (
          <>
            <dt>{t("col.due")}</dt>
            <dd data-testid="label-due">{date(r.dueDate)}</dd>
          </>
        )}
        {/* The copy sent, when staff named it (ship --barcode). */}
        {r.role === "lender" && r.shippedBarcode && (
          <>
            <dt>{t("print.barcode")}</dt>
            <dd data-testid="label-barcode">{r.shippedBarcode}</dd>
          </>
        )}
        {/* At the borrowing library the label is also the book band: whose loan it is. */}
        {r.role === "borrower" && r.patronId && (
          <>
            <dt>{t("col.patron")}</dt>
            <dd>{r.patronId}</dd>
          </>
        )}
      </dl>
      <Barcode value={r.requestingAgencyRequestId || r.id} />
    </article>
  );
}

export function PrintPage() {
  const { params } = useRoute();
  const { query } = useLocation();
  const kind = params.kind === "labels" ? "labels" : "slips";
  const ids = printIds(query);
  const loaded = useLoad(async () => {
    if (ids.length > MAX_PRINT) throw new Error(t("print.tooMany", { max: MAX_PRINT, count: ids.length }));
    const c = client(IllStaffService);
    return Promise.all(ids.map(async (id) => (await c.showRequest({ id })).request!));
  }, [ids.join(",")]);
  return (
    <section class="print">
      <div class="actions">
        <h1>{kind === "slips" ? t("print.slipsHeading") : t("print.labelsHeading")}</h1>
        <button type="button" onClick={() => window.print()} data-testid="print-now">
          {t("print.print")}
        </button>
      </div>
      {ids.length === 0 ? (
        <Notice kind="info">{t("print.none")}</Notice>
      ) : (
        <LoadState loaded={loaded}>
          {(requests) => (
            <div class={kind === "slips" ? "slips" : "labels"}>
              {requests.map((r) =>
                kind === "slips" ? <Slip r={r} key={r.id} /> : <Label r={r} key={r.id} />,
              )}
            </div>
          )}
        </LoadState>
      )}
    </section>
  );
}
