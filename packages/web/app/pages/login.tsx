import { useEffect, useState } from "preact/hooks";
import { ApiError, api, type SessionInfo } from "../api.js";
import { formatDateTime, t } from "../i18n.js";
import { Notice } from "../ui.js";

export function LoginPage(p: { onSignedIn: (s: SessionInfo) => void }) {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  // Single sign-on, when the node has it ([web.oidc]); a refusal comes back as ?sso_error=.
  const [sso, setSso] = useState<{ label: string } | undefined>();
  const ssoError = new URLSearchParams(location.search).get("sso_error");
  useEffect(() => {
    api<{ sso?: { label: string } }>("/api/node")
      .then((n) => setSso(n.sso))
      .catch(() => undefined);
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    try {
      const s = await api<SessionInfo>("/api/login", {
        method: "POST",
        body: { name: form.get("name"), password: form.get("password") },
      });
      p.onSignedIn(s);
    } catch (err) {
      if (err instanceof ApiError && err.status === 423)
        setError(t("login.locked", { until: formatDateTime(new Date(String(err.body.lockedUntil))) }));
      else if (err instanceof ApiError && err.status === 429) setError(t("login.throttled"));
      else if (err instanceof ApiError && err.status === 403 && err.body.reason === "disabled")
        setError(t("login.disabled"));
      else if (err instanceof ApiError && err.status === 401) setError(t("login.wrong"));
      else setError(t("app.error", { message: (err as Error).message }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section>
      <h1>{t("app.title")}</h1>
      <h2>{t("login.heading")}</h2>
      <form onSubmit={submit} class="stack">
        <label>
          {t("login.name")}
          <input name="name" autocomplete="username" required />
        </label>
        <label>
          {t("login.password")}
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <button type="submit" disabled={busy}>
          {t("login.submit")}
        </button>
      </form>
      {sso && (
        <p class="row">
          <span>{t("sso.or")}</span>
          <a class="button" href="/api/oidc/login" data-testid="sso">
            {sso.label}
          </a>
        </p>
      )}
      {ssoError && (
        <Notice kind="error" testid="sso-error">
          {t("sso.error", { message: ssoError })}
        </Notice>
      )}
      {error && (
        <Notice kind="error" testid="login-error">
          {error}
        </Notice>
      )}
    </section>
  );
}
