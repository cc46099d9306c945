import { CopyrightService } from "../../../shared/src/gen/lrs/v1/copyright_pb.js";
import { formatNumber, t } from "../i18n.js";
import { client } from "../rpc.js";
import { LoadState, useLoad } from "../ui.js";

export function CopyrightPage() {
  const loaded = useLoad(() => client(CopyrightService).listCopyrightCounts({}), []);
  return (
    <section>
      <h1>{t("copyright.heading")}</h1>
      <LoadState loaded={loaded}>
        {(res) => (
          <>
            <p>
              {res.rule} {res.compliance}
            </p>
            {res.counts.length === 0 ? (
              <p>{t("copyright.none")}</p>
            ) : (
              <table>
                <caption>{t("copyright.heading")}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t("copyright.title")}</th>
                    <th scope="col">{t("copyright.year")}</th>
                    <th scope="col">{t("copyright.count")}</th>
                  </tr>
                </thead>
                <tbody>
                  {res.counts.map((c) => (
                    <tr key={`${c.journalKey}-${c.year}`}>
                      <td>
                        {c.title} {c.issn && `(${c.issn})`}
                      </td>
                      <td>{c.year}</td>
                      <td>
                        {formatNumber(c.count)} / {formatNumber(c.limit)}
                        {c.pending ? ` (+${formatNumber(c.pending)})` : ""}
                      </td>
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
