import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { t } from "../i18n.js";
import { Notice } from "../ui.js";

export function SetPasswordPage() {
  const token = new URLSearchParams(location.search).get("token") ?? "";
  const [user, setUser] = useState<string | null | undefined>(undefined);
  const [error, setError] = useState<string | undefined>();
  const [done, setDone] = useState(false);
  useEffect(() => {
    api<{ user: string }>(`/api/password-link?token=${encodeURIComponent(token)}`)
      .then((r) => setUser(r.user))
      .catch(() => setUser(null));
  }, [token]);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    if (form.get("password") !== form.get("confirm")) return setError(t("setPassword.mismatch"));
    try {
      await api("/api/password", { method: "POST", body: { token, password: form.get("password") } });
      setDone(true);
      setError(undefined);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section>
      <h1>{t("setPassword.heading")}</h1>
      {user === null && <Notice kind="error">{t("setPassword.invalid")}</Notice>}
      {user && !done && (
        <form onSubmit={submit} class="stack">
          <p>{t("setPassword.for", { user })}</p>
          <input type="text" name="username" autocomplete="username" value={user} hidden readOnly />
          <label>
            {t("setPassword.password")}
            <input
              name="password"
              type="password"
              autocomplete="new-password"
              minLength={10}
              required
              aria-describedby="pw-hint"
            />
          </label>
          <p id="pw-hint" class="hint">
            {t("setPassword.hint")}
          </p>
          <label>
            {t("setPassword.confirm")}
            <input name="confirm" type="password" autocomplete="new-password" minLength={10} required />
          </label>
          <button type="submit">{t("setPassword.submit")}</button>
        </form>
      )}
      {error && <Notice kind="error">{error}</Notice>}
      {done && (
        <Notice kind="ok" testid="password-set">
          {t("setPassword.done")} <a href="/">{t("setPassword.toLogin")}</a>
        </Notice>
      )}
    </section>
  );
}
