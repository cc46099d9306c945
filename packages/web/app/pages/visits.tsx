// Reciprocal borrowing at the desk: check a visiting reader's credential and lend, take returns
// (also of other libraries' items, shipped to their owners), issue and block this library's own
// readers' credentials, and see the loans, shipments and counts per institution. Every action is
// a VisitStaffService call, as `lrs-member visit` makes it.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import QRCode from "qrcode";
import {
  type CheckCredentialResponse,
  type IssueCredentialResponse,
  type VisitLoan,
  VisitStaffService,
} from "../../../shared/src/gen/lrs/v1/visit_pb.js";
import { errorText } from "../api.js";
import { formatNumber, t } from "../i18n.js";
import { client } from "../rpc.js";
import { LoadState, Notice, useLoad } from "../ui.js";

const day = (ts?: { seconds: bigint; nanos: number }) =>
  ts
    ? timestampDate(ts as never)
        .toISOString()
        .slice(0, 10)
    : "–";

function fields(e: Event): (k: string) => string {
  e.preventDefault();
  const f = new FormData(e.target as HTMLFormElement);
  return (k) => String(f.get(k) ?? "").trim();
}

function LoanTable(p: { loans: VisitLoan[]; caption: string; testid: string }) {
  if (p.loans.length === 0) return <p>{t("visits.none")}</p>;
  return (
    <table data-testid={p.testid}>
      <caption>{p.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{t("visits.loan")}</th>
          <th scope="col">{t("visits.state")}</th>
          <th scope="col">{t("visits.home")}</th>
          <th scope="col">{t("visits.owner")}</th>
          <th scope="col">{t("visits.item")}</th>
          <th scope="col">{t("visits.due")}</th>
          <th scope="col">{t("visits.returnedAt")}</th>
          <th scope="col">{t("visits.shipment")}</th>
        </tr>
      </thead>
      <tbody>
        {p.loans.map((l) => (
          <tr key={l.loanId}>
            <td>{l.loanId}</td>
            <td>{l.state}</td>
            <td>{l.homeAgencyId || "–"}</td>
            <td>{l.ownerAgencyId}</td>
            <td>
              {l.itemBarcode} {l.title}
            </td>
            <td>{day(l.dueAt)}</td>
            <td>{l.returnedAtAgencyId || "–"}</td>
            <td>{l.shipmentId || "–"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function VisitsPage() {
  const loaded = useLoad(() => client(VisitStaffService).listVisits({}), []);
  const [check, setCheck] = useState<CheckCredentialResponse | undefined>();
  const [issued, setIssued] = useState<{ res: IssueCredentialResponse; svg: string } | undefined>();
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | undefined>();
  const run = async (fn: () => Promise<string>) => {
    setMessage(undefined);
    try {
      setMessage({ kind: "ok", text: await fn() });
      loaded.reload();
    } catch (err) {
      setMessage({ kind: "error", text: errorText(err) });
    }
  };
  const onCheck = (e: Event) => {
    const s = fields(e);
    const credential = s("credential");
    const offline = s("offline") === "on";
    const item = s("item");
    void run(async () => {
      if (item) {
        const res = await client(VisitStaffService).lendToVisitor(
          { credential, itemBarcode: item, offline },
          { timeoutMs: 30_000 },
        );
        setCheck(res.check);
        return t("visits.lent", { loan: res.loan?.loanId ?? "", due: day(res.loan?.dueAt) });
      }
      const res = await client(VisitStaffService).checkCredential(
        { credential, offline },
        { timeoutMs: 30_000 },
      );
      setCheck(res);
      return res.mayBorrow ? t("visits.mayBorrow") : t("visits.mayNotBorrow");
    });
  };
  const onReturn = (e: Event) => {
    const s = fields(e);
    void run(async () => {
      const res = await client(VisitStaffService).returnFromVisitor({
        loanId: s("loan"),
        itemBarcode: s("barcode"),
        tracking: s("tracking"),
      });
      const l = res.loan!;
      return l.state === "in-transit"
        ? t("visits.shipTo", { owner: l.ownerAgencyId, shipment: l.shipmentId })
        : t("visits.returned", { loan: l.loanId });
    });
  };
  const onReceive = (e: Event) => {
    const s = fields(e);
    void run(async () => {
      const res = await client(VisitStaffService).receiveShipment({ shipmentId: s("shipment") });
      return t("visits.received", { loan: res.loan?.loanId ?? "" });
    });
  };
  const onIssue = (e: Event) => {
    const s = fields(e);
    void run(async () => {
      const res = await client(VisitStaffService).issueCredential({
        readerRef: s("reader"),
        maxLoans: Number(s("maxLoans") || 0),
        validDays: Number(s("days") || 0),
      });
      setIssued({ res, svg: await QRCode.toString(res.token, { type: "svg", errorCorrectionLevel: "M" }) });
      return t("visits.issued", { code: res.shortCode });
    });
  };
  const onBlock = (e: Event) => {
    const s = fields(e);
    const unblock = s("unblock") === "on";
    void run(async () => {
      const res = await client(VisitStaffService).blockCredential({
        readerRef: s("reader"),
        credentialId: s("credential"),
        reason: s("reason"),
        unblock,
      });
      return t(unblock ? "visits.unblocked" : "visits.blocked", { ids: res.credentialIds.join(", ") });
    });
  };
  return (
    <section>
      <h1>{t("visits.heading")}</h1>
      {message && (
        <Notice kind={message.kind} testid="visit-message">
          {message.text}
        </Notice>
      )}
      <h2>{t("visits.deskHeading")}</h2>
      <form onSubmit={onCheck} class="grid-form" data-testid="visit-check">
        <label>
          {t("visits.credential")}
          <input name="credential" required autoComplete="off" />
        </label>
        <label>
          {t("visits.itemToLend")}
          <input name="item" autoComplete="off" />
        </label>
        <label class="inline">
          <input type="checkbox" name="offline" /> {t("visits.offline")}
        </label>
        <button type="submit">{t("visits.checkOrLend")}</button>
      </form>
      {check && (
        <dl data-testid="visit-check-result">
          <dt>{t("visits.result")}</dt>
          <dd>
            {check.mayBorrow ? t("visits.mayBorrow") : t("visits.mayNotBorrow")} (
            {check.online ? t("visits.online") : t("visits.offlineChecked")})
          </dd>
          {check.body && (
            <>
              <dt>{t("visits.home")}</dt>
              <dd>
                {check.body.homeAgencyId} · {check.body.readerId} · {day(check.body.expiresAt)}
              </dd>
            </>
          )}
          <dt>{t("visits.loansHere")}</dt>
          <dd>
            {formatNumber(check.loansHere)} / {formatNumber(check.maxLoansHere)}
          </dd>
          {check.reasons.map((r) => (
            <dd key={r}>{r}</dd>
          ))}
        </dl>
      )}
      <form onSubmit={onReturn} class="grid-form" data-testid="visit-return">
        <label>
          {t("visits.loan")}
          <input name="loan" autoComplete="off" />
        </label>
        <label>
          {t("visits.item")}
          <input name="barcode" autoComplete="off" />
        </label>
        <label>
          {t("visits.tracking")}
          <input name="tracking" autoComplete="off" />
        </label>
        <button type="submit">{t("visits.return")}</button>
      </form>
      <form onSubmit={onReceive} class="grid-form" data-testid="visit-receive">
        <label>
          {t("visits.shipment")}
          <input name="shipment" required autoComplete="off" />
        </label>
        <button type="submit">{t("visits.receive")}</button>
      </form>
      <h2>{t("visits.readersHeading")}</h2>
      <form onSubmit={onIssue} class="grid-form" data-testid="visit-issue">
        <label>
          {t("visits.reader")}
          <input name="reader" required autoComplete="off" />
        </label>
        <label>
          {t("visits.maxLoans")}
          <input name="maxLoans" type="number" min="1" max="100" />
        </label>
        <label>
          {t("visits.days")}
          <input name="days" type="number" min="1" max="400" />
        </label>
        <button type="submit">{t("visits.issue")}</button>
      </form>
      {issued && (
        <figure data-testid="visit-credential">
          {/* The SVG is made here, by the QR library, from the token: no markup from elsewhere. */}
          <div style="max-width: 16rem" dangerouslySetInnerHTML={{ __html: issued.svg }} />
          <figcaption>
            {issued.res.shortCode} · {issued.res.readerId} · {day(issued.res.body?.expiresAt)}
          </figcaption>
        </figure>
      )}
      <form onSubmit={onBlock} class="grid-form" data-testid="visit-block">
        <label>
          {t("visits.reader")}
          <input name="reader" autoComplete="off" />
        </label>
        <label>
          {t("visits.credential")}
          <input name="credential" autoComplete="off" />
        </label>
        <label>
          {t("visits.reason")}
          <input name="reason" autoComplete="off" />
        </label>
        <label class="inline">
          <input type="checkbox" name="unblock" /> {t("visits.unblock")}
        </label>
        <button type="submit">{t("visits.block")}</button>
      </form>
      <LoadState loaded={loaded}>
        {(res) => (
          <>
            <h2>{t("visits.lentHeading")}</h2>
            <LoanTable loans={res.lent} caption={t("visits.lentHeading")} testid="visit-lent" />
            <h2>{t("visits.borrowedHeading")}</h2>
            <LoanTable loans={res.borrowed} caption={t("visits.borrowedHeading")} testid="visit-borrowed" />
            <h2>{t("visits.shipmentsHeading")}</h2>
            <LoanTable
              loans={res.shipments}
              caption={t("visits.shipmentsHeading")}
              testid="visit-shipments"
            />
            <h2>{t("visits.countsHeading")}</h2>
            {res.counts.length === 0 ? (
              <p>{t("visits.none")}</p>
            ) : (
              <table data-testid="visit-counts">
                <caption>{t("visits.countsHeading")}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t("visits.institution")}</th>
                    <th scope="col">{t("visits.visits")}</th>
                    <th scope="col">{t("visits.lentTo")}</th>
                    <th scope="col">{t("visits.borrowedFrom")}</th>
                  </tr>
                </thead>
                <tbody>
                  {res.counts.map((c) => (
                    <tr key={c.institutionId}>
                      <td>{c.institutionId}</td>
                      <td>{formatNumber(Number(c.visits))}</td>
                      <td>{formatNumber(Number(c.lentTo))}</td>
                      <td>{formatNumber(Number(c.borrowedFrom))}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </LoadState>
    </section>
  );
}
