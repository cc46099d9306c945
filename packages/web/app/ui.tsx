// Small pieces every page uses: loading/error states, notices, the async-data hook, and tables
// more than one page draws.
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { errorText } from "./api.js";
import { formatMinor, t } from "./i18n.js";

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` now and whenever `deps` change or `reload` is called; keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load()
      .then((d) => {
        if (!live) return;
        setData(d);
        setError(undefined);
      })
      .catch((err) => live && setError(errorText(err)))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}

export function Notice(p: { kind: "ok" | "error" | "info"; children: ComponentChildren; testid?: string }) {
  return (
    <p
      class={`notice notice-${p.kind}`}
      role={p.kind === "error" ? "alert" : "status"}
      data-testid={p.testid}
    >
      {p.children}
    </p>
  );
}

export function LoadState<T>(p: { loaded: Loaded<T>; children: (data: T) => ComponentChildren }) {
  if (p.loaded.error)
    return (
      <Notice kind="error">
        {t("app.error", { message: p.loaded.error })}{" "}
        <button type="button" onClick={p.loaded.reload}>
          {t("app.retry")}
        </button>
      </Notice>
    );
  if (p.loaded.data === undefined) return <p aria-busy="true">{t("app.loading")}</p>;
  return <>{p.children(p.loaded.data)}</>;
}

/** What each region owes (negative) or is owed in a month, by currency: settlement and traffic pages. */
export function RegionNetTable(p: {
  caption: string;
  testid: string;
  rows: ReadonlyArray<{ region: string; currency: string; netMinor: bigint | number }>;
}) {
  return (
    <table data-testid={p.testid}>
      <caption>{p.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{t("ledger.region")}</th>
          <th scope="col" class="num">
            {t("ledger.net")}
          </th>
        </tr>
      </thead>
      <tbody>
        {p.rows.map((r) => (
          <tr key={`${r.region}-${r.currency}`}>
            <td>{r.region}</td>
            <td class="num">{formatMinor(r.netMinor, r.currency)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
