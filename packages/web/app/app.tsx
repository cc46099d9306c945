// The application: sign-in gate, the frame (header, navigation by tier and role), the routes.
import { useCallback, useContext, useEffect, useState } from "preact/hooks";
import { LocationProvider, lazy, Route, Router, useLocation } from "preact-iso";
import { ApiError, api, type SessionInfo, setCsrf } from "./api.js";
import { LANGUAGES, type Language, language, pickedLanguage, setLanguage, t } from "./i18n.js";
import { stopLive, useLiveState } from "./live.js";
import { LoginPage } from "./pages/login.js";
import { SetPasswordPage } from "./pages/set-password.js";
import { can, SessionContext } from "./session.js";

// Each page is its own module, loaded when it is first shown: the first page loads only what it needs.
const AcquirePage = lazy(() => import("./pages/acquire.js").then((m) => m.AcquirePage));
const AuditPage = lazy(() => import("./pages/audit.js").then((m) => m.AuditPage));
const ClusterPage = lazy(() => import("./pages/center.js").then((m) => m.ClusterPage));
const DirectoryPage = lazy(() => import("./pages/center.js").then((m) => m.DirectoryPage));
const TokensPage = lazy(() => import("./pages/center.js").then((m) => m.TokensPage));
const TracePage = lazy(() => import("./pages/center.js").then((m) => m.TracePage));
const CopyrightPage = lazy(() => import("./pages/copyright.js").then((m) => m.CopyrightPage));
const NewRequestPage = lazy(() => import("./pages/new-request.js").then((m) => m.NewRequestPage));
const NotificationsPage = lazy(() => import("./pages/notifications.js").then((m) => m.NotificationsPage));
const OrdersPage = lazy(() => import("./pages/orders.js").then((m) => m.OrdersPage));
const PrintPage = lazy(() => import("./pages/print.js").then((m) => m.PrintPage));
const QueuesPage = lazy(() => import("./pages/queues.js").then((m) => m.QueuesPage));
const ReportsPage = lazy(() => import("./pages/reports.js").then((m) => m.ReportsPage));
const RequestPage = lazy(() => import("./pages/request.js").then((m) => m.RequestPage));
const SearchPage = lazy(() => import("./pages/search.js").then((m) => m.SearchPage));
const SettlementPage = lazy(() => import("./pages/settlement.js").then((m) => m.SettlementPage));
const StatusPage = lazy(() => import("./pages/status.js").then((m) => m.StatusPage));
const TrafficPage = lazy(() => import("./pages/traffic.js").then((m) => m.TrafficPage));
const UsersPage = lazy(() => import("./pages/users.js").then((m) => m.UsersPage));
const VisitsPage = lazy(() => import("./pages/visits.js").then((m) => m.VisitsPage));

/** The account keeps the language: the pages follow the person to another browser, notifications use it. */
const keepLanguage = (lang: Language) =>
  api("/api/language", { method: "POST", body: { language: lang } }).catch(() => undefined);

/**
 * On sign-in: a language picked in this browser wins (and the account learns it); a browser where
 * none was picked takes the account's; an account without one learns the browser's.
 */
async function adoptLanguage(s: SessionInfo, relabel: () => void): Promise<void> {
  const here = pickedLanguage();
  if (here || !s.language) {
    if (s.language !== language()) await keepLanguage(language() as Language);
  } else if (s.language !== language()) {
    await setLanguage(s.language);
    relabel();
  }
}

function LanguagePicker(p: { onChange: () => void; signedIn?: boolean }) {
  return (
    <label class="lang">
      <span>{t("app.language")}</span>
      <select
        value={language()}
        onChange={async (e) => {
          const lang = (e.target as HTMLSelectElement).value as Language;
          await setLanguage(lang);
          if (p.signedIn) await keepLanguage(lang);
          p.onChange();
        }}
      >
        {LANGUAGES.map((l) => (
          <option value={l.code} key={l.code} lang={l.code}>
            {l.label}
          </option>
        ))}
      </select>
    </label>
  );
}

function NavLink(p: { href: string; label: string }) {
  const { path } = useLocation();
  const current = p.href === "/" ? path === "/" || path.startsWith("/requests") : path.startsWith(p.href);
  return (
    <li>
      <a href={p.href} aria-current={current ? "page" : undefined}>
        {p.label}
      </a>
    </li>
  );
}

function Frame(p: { relabel: () => void }) {
  const ctx = useContext(SessionContext)!;
  const s = ctx.session;
  const live = useLiveState();
  const member = s.node.tier === "member";
  return (
    <>
      <a class="skip" href="#main">
        {t("app.skip")}
      </a>
      <header class="top">
        <div class="brand">
          <strong>{t("app.title")}</strong>
          <span data-testid="node-name">
            {s.node.name} · {t(`tier.${s.node.tier}`)}
          </span>
        </div>
        <nav aria-label={t("nav.label")}>
          <ul>
            {member && <NavLink href="/" label={t("nav.queues")} />}
            {member && can(s, "staff") && <NavLink href="/new" label={t("nav.newRequest")} />}
            <NavLink href="/search" label={t("nav.search")} />
            {member && <NavLink href="/copyright" label={t("nav.copyright")} />}
            {member && <NavLink href="/acquire" label={t("nav.acquire")} />}
            {member && <NavLink href="/visits" label={t("nav.visits")} />}
            {member && <NavLink href="/orders" label={t("orders.nav")} />}
            {member && <NavLink href="/reports" label={t("reports.nav")} />}
            <NavLink href="/status" label={t("nav.status")} />
            {!member && <NavLink href="/cluster" label={t("nav2.cluster")} />}
            {!member && <NavLink href="/trace" label={t("nav2.trace")} />}
            <NavLink href="/directory" label={t("nav2.directory")} />
            {!member && can(s, "admin") && <NavLink href="/tokens" label={t("nav2.tokens")} />}
            {s.traffic && <NavLink href="/traffic" label={t("reports.traffic")} />}
            {s.node.tier === "national" && can(s, "admin") && (
              <NavLink href="/settlement" label={t("reports.settlement")} />
            )}
            <NavLink href="/notifications" label={t("notify.nav")} />
            {can(s, "admin") && <NavLink href="/users" label={t("nav.users")} />}
            {can(s, "admin") && <NavLink href="/audit" label={t("nav.audit")} />}
            {s.dashboard && (
              <li>
                <a href={s.dashboard}>{t("nav.dashboard")}</a>
              </li>
            )}
          </ul>
        </nav>
        <div class="who">
          <span class={live ? "live on" : "live"} role="status">
            {live ? t("app.live") : t("app.offline")}
          </span>
          <span data-testid="whoami">{t("app.signedInAs", { user: s.user, role: t(`role.${s.role}`) })}</span>
          <LanguagePicker onChange={p.relabel} signedIn />
          <button type="button" onClick={ctx.signOut} data-testid="sign-out">
            {t("app.signOut")}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {/* Keyed by the language: a new language draws the page again (the router keeps it otherwise). */}
        <Router key={language()}>
          <Route path="/" component={member ? QueuesPage : StatusPage} />
          <Route path="/requests/:id" component={RequestPage} />
          <Route path="/new" component={NewRequestPage} />
          <Route path="/search" component={SearchPage} />
          <Route path="/copyright" component={CopyrightPage} />
          <Route path="/acquire" component={AcquirePage} />
          <Route path="/visits" component={VisitsPage} />
          <Route path="/print/:kind" component={PrintPage} />
          <Route path="/status" component={StatusPage} />
          <Route path="/users" component={UsersPage} />
          <Route path="/directory" component={DirectoryPage} />
          <Route path="/tokens" component={TokensPage} />
          <Route path="/trace" component={TracePage} />
          <Route path="/cluster" component={ClusterPage} />
          <Route path="/audit" component={AuditPage} />
          <Route path="/orders" component={OrdersPage} />
          <Route path="/reports" component={ReportsPage} />
          <Route path="/settlement" component={SettlementPage} />
          <Route path="/traffic" component={TrafficPage} />
          <Route path="/notifications" component={NotificationsPage} />
          <Route default component={() => <p>{t("app.notFound")}</p>} />
        </Router>
      </main>
    </>
  );
}

export function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [, setLabels] = useState(0);
  const relabel = useCallback(() => setLabels((n) => n + 1), []);
  useEffect(() => {
    api<SessionInfo>("/api/session")
      .then(async (s) => {
        setCsrf(s.csrf);
        await adoptLanguage(s, relabel);
        setSession(s);
      })
      .catch((err) => {
        if (err instanceof ApiError && err.status === 401) setSession(null);
        else setSession(null);
      });
  }, []);
  const signOut = useCallback(async () => {
    const out = await api<{ redirect?: string }>("/api/logout", { method: "POST", body: {} }).catch(
      () => ({}) as { redirect?: string },
    );
    stopLive();
    // Signed in through the identity provider: its session ends there too, and it sends the browser back.
    if (out.redirect) {
      location.assign(out.redirect);
      return;
    }
    setSession(null);
    history.replaceState(null, "", "/");
  }, []);
  if (location.pathname === "/set-password")
    return (
      <main id="main" class="narrow">
        <SetPasswordPage />
      </main>
    );
  if (session === undefined) return <p aria-busy="true">{t("app.loading")}</p>;
  if (session === null)
    return (
      <main id="main" class="narrow">
        <LoginPage
          onSignedIn={async (s) => {
            setCsrf(s.csrf);
            await adoptLanguage(s, relabel);
            setSession(s);
          }}
        />
        <LanguagePicker onChange={relabel} />
      </main>
    );
  return (
    <SessionContext.Provider value={{ session, signOut }}>
      <LocationProvider>
        <Frame relabel={relabel} />
      </LocationProvider>
    </SessionContext.Provider>
  );
}
