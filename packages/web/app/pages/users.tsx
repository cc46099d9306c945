// Staff accounts (admins): add with a one-time password link, change role, disable, unlock.
import { useState } from "preact/hooks";
import { api, errorText, type Role } from "../api.js";
import { formatDateTime, t } from "../i18n.js";
import { LoadState, Notice, useLoad } from "../ui.js";

interface User {
  name: string;
  role: Role;
  hasPassword: boolean;
  disabled: boolean;
  lockedUntil: string | null;
  lastLoginAt: string | null;
}

const ROLES: Role[] = ["admin", "staff", "viewer"];

export function UsersPage() {
  const users = useLoad(async () => (await api<{ users: User[] }>("/api/users")).users, []);
  const [note, setNote] = useState<{ kind: "ok" | "error"; text: string; link?: string } | undefined>();
  const linkOf = (path: string) => `${location.origin}${path}`;
  const add = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    try {
      const r = await api<{ name: string; link: string }>("/api/users", {
        method: "POST",
        body: { name: f.get("name"), role: f.get("role") },
      });
      setNote({ kind: "ok", text: t("users.link", { user: r.name }), link: linkOf(r.link) });
      (e.target as HTMLFormElement).reset();
      users.reload();
    } catch (err) {
      setNote({ kind: "error", text: errorText(err) });
    }
  };
  const change = async (name: string, body: Record<string, string>) => {
    try {
      const r = await api<{ link?: string }>(`/api/users/${encodeURIComponent(name)}`, {
        method: "POST",
        body,
      });
      setNote(
        r.link ? { kind: "ok", text: t("users.link", { user: name }), link: linkOf(r.link) } : undefined,
      );
      users.reload();
    } catch (err) {
      setNote({ kind: "error", text: errorText(err) });
    }
  };
  return (
    <section>
      <h1>{t("users.heading")}</h1>
      {note && (
        <Notice kind={note.kind} testid="users-note">
          {note.text} {note.link && <code data-testid="password-link">{note.link}</code>}
        </Notice>
      )}
      <form onSubmit={add} class="row" aria-labelledby="add-h">
        <h2 id="add-h">{t("users.add")}</h2>
        <label>
          {t("users.name")}
          <input name="name" required />
        </label>
        <label>
          {t("users.role")}
          <select name="role">
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}`)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">{t("users.submit")}</button>
      </form>
      <LoadState loaded={users}>
        {(list) => (
          <table data-testid="users">
            <caption>{t("users.heading")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("col.user")}</th>
                <th scope="col">{t("col.role")}</th>
                <th scope="col">{t("users.password")}</th>
                <th scope="col">{t("col.state")}</th>
                <th scope="col">{t("col.lastLogin")}</th>
                <th scope="col">{t("col.action")}</th>
              </tr>
            </thead>
            <tbody>
              {list.map((u) => (
                <tr key={u.name}>
                  <td>{u.name}</td>
                  <td>
                    <select
                      aria-label={`${t("users.changeRole")}: ${u.name}`}
                      value={u.role}
                      onChange={(e) =>
                        change(u.name, { change: "role", role: (e.target as HTMLSelectElement).value })
                      }
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {t(`role.${r}`)}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>{u.hasPassword ? t("users.set") : t("users.notSet")}</td>
                  <td>
                    {u.disabled
                      ? t("users.disabled")
                      : u.lockedUntil
                        ? t("users.locked", { until: formatDateTime(new Date(u.lockedUntil)) })
                        : t("users.active")}
                  </td>
                  <td>{u.lastLoginAt ? formatDateTime(new Date(u.lastLoginAt)) : ""}</td>
                  <td class="row">
                    <button
                      type="button"
                      onClick={() => change(u.name, { change: u.disabled ? "enable" : "disable" })}
                    >
                      {u.disabled ? t("users.enable") : t("users.disable")}
                    </button>
                    {u.lockedUntil && (
                      <button type="button" onClick={() => change(u.name, { change: "unlock" })}>
                        {t("users.unlock")}
                      </button>
                    )}
                    <button type="button" onClick={() => change(u.name, { change: "link" })}>
                      {t("users.newLink")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </LoadState>
    </section>
  );
}
