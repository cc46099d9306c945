// A new borrowing request: a loan or an article copy, from a union catalog record or by
// ISBN/ISSN/citation; the node validates it as it does for the CLI and builds the rota.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { ServiceType } from "../../../shared/src/gen/lrs/v1/ill_pb.js";
import { IllStaffService } from "../../../shared/src/gen/lrs/v1/ill_service_pb.js";
import { errorText } from "../api.js";
import { statusText, t } from "../i18n.js";
import { client } from "../rpc.js";
import { Notice } from "../ui.js";

type By = "isbn" | "issn" | "cluster" | "citation";

export function NewRequestPage() {
  const { query, route } = useLocation();
  const [service, setService] = useState<"loan" | "copy">("loan");
  const [by, setBy] = useState<By>(query.cluster ? "cluster" : "isbn");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const s = (k: string) => String(f.get(k) ?? "").trim();
    setBusy(true);
    setError(undefined);
    try {
      const itemIds =
        by === "isbn"
          ? [{ bibliographicItemIdentifierCode: "ISBN", bibliographicItemIdentifier: s("isbn") }]
          : by === "issn"
            ? [{ bibliographicItemIdentifierCode: "ISSN", bibliographicItemIdentifier: s("issn") }]
            : [];
      const needBy = s("needBy");
      const res = await client(IllStaffService).borrow(
        {
          serviceType: service === "loan" ? ServiceType.LOAN : ServiceType.COPY,
          itemIds,
          clusterId: by === "cluster" ? s("cluster") : "",
          title: s("title"),
          author: s("author"),
          patronId: s("patron"),
          note: s("note"),
          serviceLevel: s("serviceLevel"),
          ...(needBy ? { needBefore: timestampFromDate(new Date(`${needBy}T23:59:59`)) } : {}),
          ...(s("maxCost")
            ? { maximumCosts: { monetaryValue: s("maxCost"), currencyCode: s("currency").toUpperCase() } }
            : {}),
          ...(service === "copy"
            ? {
                titleOfComponent: s("articleTitle"),
                authorOfComponent: s("articleAuthor"),
                volume: s("volume"),
                issue: s("issue"),
                pages: s("pages"),
                publicationDate: s("year"),
                copyrightCompliance: s("compliance"),
              }
            : {}),
        },
        { timeoutMs: 60_000 },
      );
      const r = res.request!;
      route(`/requests/${encodeURIComponent(r.id)}?created=${encodeURIComponent(statusText(r.status))}`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section>
      <h1>{t("newRequest.heading")}</h1>
      {query.title && <p>{t("newRequest.fromRecord", { title: query.title })}</p>}
      <form onSubmit={submit} class="grid-form" data-testid="new-request">
        <fieldset>
          <legend>{t("newRequest.service")}</legend>
          {(["loan", "copy"] as const).map((v) => (
            <label key={v} class="inline">
              <input
                type="radio"
                name="service"
                value={v}
                checked={service === v}
                onChange={() => setService(v)}
              />
              {t(`newRequest.${v}`)}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>{t("newRequest.identify")}</legend>
          <label>
            {t("newRequest.by")}
            <select name="by" value={by} onChange={(e) => setBy((e.target as HTMLSelectElement).value as By)}>
              <option value="isbn">{t("newRequest.byIsbn")}</option>
              <option value="issn">{t("newRequest.byIssn")}</option>
              <option value="cluster">{t("newRequest.byCluster")}</option>
              <option value="citation">{t("newRequest.byCitation")}</option>
            </select>
          </label>
          {by === "isbn" && (
            <label>
              {t("newRequest.isbn")}
              <input name="isbn" required inputMode="numeric" />
            </label>
          )}
          {by === "issn" && (
            <label>
              {t("newRequest.issn")}
              <input name="issn" required />
            </label>
          )}
          {by === "cluster" && (
            <label>
              {t("newRequest.cluster")}
              <input name="cluster" required value={query.cluster ?? ""} />
            </label>
          )}
          <label>
            {t("newRequest.title")} {by === "citation" ? "" : `(${t("form.optional")})`}
            <input name="title" required={by === "citation"} value={query.title ?? ""} />
          </label>
          <label>
            {t("newRequest.author")} ({t("form.optional")})
            <input name="author" />
          </label>
        </fieldset>
        {service === "copy" && (
          <fieldset>
            <legend>{t("request.article")}</legend>
            <label>
              {t("newRequest.articleTitle")}
              <input name="articleTitle" required />
            </label>
            <label>
              {t("newRequest.articleAuthor")} ({t("form.optional")})
              <input name="articleAuthor" />
            </label>
            <label>
              {t("newRequest.volume")}
              <input name="volume" />
            </label>
            <label>
              {t("newRequest.issue")}
              <input name="issue" />
            </label>
            <label>
              {t("newRequest.pages")}
              <input name="pages" />
            </label>
            <label>
              {t("newRequest.year")}
              <input name="year" inputMode="numeric" />
            </label>
            <label>
              {t("newRequest.compliance")}
              <select name="compliance">
                <option value="US:CCG">{t("newRequest.ccg")}</option>
                <option value="US:CCL">{t("newRequest.ccl")}</option>
              </select>
            </label>
          </fieldset>
        )}
        <fieldset>
          <legend>{t("newRequest.patron")}</legend>
          <label>
            {t("newRequest.patron")}
            <input name="patron" required />
          </label>
          <label>
            {t("newRequest.needBy")} ({t("form.optional")})
            <input name="needBy" type="date" />
          </label>
          <label>
            {t("newRequest.maxCost")} ({t("form.optional")})
            <input name="maxCost" inputMode="decimal" pattern="\d+(\.\d{1,2})?" />
          </label>
          <label>
            {t("newRequest.currency")}
            <input name="currency" value="EUR" maxLength={3} />
          </label>
          <label>
            {t("newRequest.serviceLevel")}
            <select name="serviceLevel">
              <option value="Normal">Normal</option>
              <option value="Rush">Rush</option>
            </select>
          </label>
          <label>
            {t("newRequest.note")} ({t("form.optional")})
            <textarea name="note" rows={2} />
          </label>
        </fieldset>
        <button type="submit" disabled={busy} data-testid="submit-request">
          {busy ? t("newRequest.sending") : t("newRequest.submit")}
        </button>
      </form>
      {error && (
        <Notice kind="error" testid="request-error">
          {t("request.refused", { reason: error })}
        </Notice>
      )}
    </section>
  );
}
