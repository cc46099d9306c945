// A person's own notifications: which events reach them by e-mail or webhook, each at once or
// in a daily digest; a test message; what was sent and what failed, with retry.
import { useEffect, useState } from "preact/hooks";
import { api, errorText } from "../api.js";
import { formatDateTime, t } from "../i18n.js";
import { can, useSession } from "../session.js";
import { LoadState, Notice, useLoad } from "../ui.js";

type Channel = "email" | "webhook";
const CHANNELS: Channel[] = ["email", "webhook"];

interface Settings {
  email: string;
  webhookUrl: string;
  webhookSecret: string;
  mode: "each" | "digest";
  subscriptions: Array<{ kind: string; channel: Channel }>;
}

interface Delivery {
  id: number;
  user: string;
  channel: Channel;
  target: string;
  kind: string;
  requestId: string | null;
  status: "pending" | "sent" | "failed";
  attempts: number;
  nextAt: string;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
}

interface State {
  settings: Settings;
  kinds: string[];
  email: boolean;
  events: boolean;
  digestTime: string;
  waiting: number;
  deliveries: Delivery[];
}

const key = (kind: string, channel: Channel) => `${kind}:${channel}`;

function SettingsForm(p: { state: State; onSaved: (text: string) => void; onError: (text: string) => void }) {
  const s = p.state.settings;
  const [email, setEmail] = useState(s.email);
  const [webhookUrl, setWebhookUrl] = useState(s.webhookUrl);
  const [mode, setMode] = useState(s.mode);
  const [chosen, setChosen] = useState(new Set(s.subscriptions.map((x) => key(x.kind, x.channel))));
  useEffect(() => {
    setEmail(s.email);
    setWebhookUrl(s.webhookUrl);
    setMode(s.mode);
    setChosen(new Set(s.subscriptions.map((x) => key(x.kind, x.channel))));
  }, [s]);
  const save = async (rotateSecret = false) => {
    try {
      await api("/api/notifications", {
        method: "POST",
        body: {
          email,
          webhookUrl,
          mode,
          rotateSecret,
          subscriptions: [...chosen].map((k) => {
            const [kind, channel] = k.split(":");
            return { kind, channel };
          }),
        },
      });
      p.onSaved(rotateSecret ? t("notify.rotated") : t("notify.saved"));
    } catch (err) {
      p.onError(errorText(err));
    }
  };
  const toggle = (k: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(k);
    else next.delete(k);
    setChosen(next);
  };
  return (
    <form
      class="stack"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label>
        {t("notify.email")}
        <input
          type="email"
          name="email"
          value={email}
          autocomplete="email"
          onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
        />
      </label>
      <label>
        {t("notify.webhook")}
        <input
          type="url"
          name="webhookUrl"
          value={webhookUrl}
          placeholder="https://"
          onInput={(e) => setWebhookUrl((e.target as HTMLInputElement).value)}
        />
      </label>
      <fieldset>
        <legend>{t("notify.mode")}</legend>
        {(["each", "digest"] as const).map((m) => (
          <label class="inline" key={m}>
            <input type="radio" name="mode" checked={mode === m} onChange={() => setMode(m)} />
            {m === "each" ? t("notify.each") : t("notify.digest", { time: p.state.digestTime })}
          </label>
        ))}
      </fieldset>
      <table data-testid="notify-subscriptions">
        <caption>{t("notify.which")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("notify.event")}</th>
            {CHANNELS.map((c) => (
              <th scope="col" key={c}>
                {t(`notify.channel.${c}`)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {p.state.kinds.map((kind) => (
            <tr key={kind}>
              <th scope="row">{t(`notify.kind.${kind}`)}</th>
              {CHANNELS.map((c) => (
                <td key={c}>
                  <input
                    type="checkbox"
                    aria-label={`${t(`notify.channel.${c}`)}: ${t(`notify.kind.${kind}`)}`}
                    checked={chosen.has(key(kind, c))}
                    onChange={(e) => toggle(key(kind, c), (e.target as HTMLInputElement).checked)}
                  />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <div class="row">
        <button type="submit">{t("form.save")}</button>
      </div>
      {s.webhookSecret && (
        <p>
          {t("notify.secret")} <code data-testid="webhook-secret">{s.webhookSecret}</code>{" "}
          <button type="button" onClick={() => void save(true)}>
            {t("notify.rotate")}
          </button>
        </p>
      )}
    </form>
  );
}

function DeliveryTable(p: {
  testid: string;
  caption: string;
  deliveries: Delivery[];
  showUser?: boolean;
  retry: (id: number) => void;
}) {
  return (
    <table data-testid={p.testid}>
      <caption>{p.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{t("notify.when")}</th>
          {p.showUser && <th scope="col">{t("col.user")}</th>}
          <th scope="col">{t("notify.event")}</th>
          <th scope="col">{t("notify.to")}</th>
          <th scope="col">{t("notify.status")}</th>
          <th scope="col">{t("notify.tries")}</th>
          <th scope="col">{t("notify.error")}</th>
          <th scope="col">{t("col.action")}</th>
        </tr>
      </thead>
      <tbody>
        {p.deliveries.length === 0 && (
          <tr>
            <td colSpan={p.showUser ? 8 : 7}>{t("notify.none")}</td>
          </tr>
        )}
        {p.deliveries.map((d) => (
          <tr key={d.id} data-status={d.status}>
            <td>{formatDateTime(new Date(d.sentAt ?? d.createdAt))}</td>
            {p.showUser && <td>{d.user}</td>}
            <td>{t(`notify.kind.${d.kind}`)}</td>
            <td>
              {t(`notify.channel.${d.channel}`)}: {d.target}
            </td>
            <td>
              {d.status === "pending" && d.lastError
                ? t("notify.state.retrying", { at: formatDateTime(new Date(d.nextAt)) })
                : t(`notify.state.${d.status}`)}
            </td>
            <td>{d.attempts}</td>
            <td>{d.lastError ?? ""}</td>
            <td>
              {(d.status === "failed" || (d.status === "pending" && d.lastError)) && (
                <button type="button" onClick={() => p.retry(d.id)}>
                  {t("notify.retry")}
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Every user's failing deliveries (admins). */
function AllFailing(p: { retry: (id: number) => Promise<void>; tick: number }) {
  const all = useLoad(
    async () =>
      (await api<{ deliveries: Delivery[] }>("/api/notifications/deliveries?all=1&failing=1")).deliveries,
    [p.tick],
  );
  return (
    <LoadState loaded={all}>
      {(list) => (
        <DeliveryTable
          testid="notify-all-failing"
          caption={t("notify.allFailing")}
          deliveries={list}
          showUser
          retry={(id) => void p.retry(id).then(all.reload)}
        />
      )}
    </LoadState>
  );
}

export function NotificationsPage() {
  const state = useLoad(() => api<State>("/api/notifications"), []);
  const session = useSession();
  const [tick, setTick] = useState(0);
  const [note, setNote] = useState<{ kind: "ok" | "error"; text: string } | undefined>();
  const act = async (
    path: string,
    body: unknown,
    done: (r: Record<string, unknown>) => { kind: "ok" | "error"; text: string },
  ) => {
    try {
      const r = await api<Record<string, unknown>>(path, { method: "POST", body });
      setNote(done(r));
    } catch (err) {
      setNote({ kind: "error", text: errorText(err) });
    }
    state.reload();
    setTick((n) => n + 1);
  };
  const outcome = (r: Record<string, unknown>): { kind: "ok" | "error"; text: string } => {
    const d = r.delivery as Delivery | undefined;
    return d?.status === "sent"
      ? { kind: "ok", text: t("notify.testSent", { target: d.target }) }
      : { kind: "error", text: t("notify.testFailed", { error: d?.lastError ?? "" }) };
  };
  return (
    <section>
      <h1>{t("notify.heading")}</h1>
      {note && (
        <Notice kind={note.kind} testid="notify-note">
          {note.text}
        </Notice>
      )}
      <LoadState loaded={state}>
        {(s) => (
          <>
            {!s.events && <Notice kind="info">{t("notify.noEvents")}</Notice>}
            {!s.email && <Notice kind="info">{t("notify.noEmail")}</Notice>}
            <SettingsForm
              state={s}
              onSaved={(text) => {
                setNote({ kind: "ok", text });
                state.reload();
              }}
              onError={(text) => setNote({ kind: "error", text })}
            />
            <div class="row">
              {s.settings.email && (
                <button
                  type="button"
                  onClick={() => act("/api/notifications/test", { channel: "email" }, outcome)}
                >
                  {t("notify.testEmail")}
                </button>
              )}
              {s.settings.webhookUrl && (
                <button
                  type="button"
                  onClick={() => act("/api/notifications/test", { channel: "webhook" }, outcome)}
                >
                  {t("notify.testWebhook")}
                </button>
              )}
              {s.waiting > 0 && (
                <button
                  type="button"
                  onClick={() =>
                    act("/api/notifications/digest", {}, (r) => ({
                      kind: "ok",
                      text: t("notify.digestSent", { count: (r.deliveries as unknown[]).length }),
                    }))
                  }
                >
                  {t("notify.digestNow", { count: s.waiting })}
                </button>
              )}
            </div>
            {can(session, "admin") && (
              <AllFailing
                tick={tick}
                retry={(id) => act(`/api/notifications/deliveries/${id}/retry`, {}, outcome)}
              />
            )}
            <DeliveryTable
              testid="notify-deliveries"
              caption={t("notify.deliveries")}
              deliveries={s.deliveries}
              retry={(id) => act(`/api/notifications/deliveries/${id}/retry`, {}, outcome)}
            />
          </>
        )}
      </LoadState>
    </section>
  );
}
