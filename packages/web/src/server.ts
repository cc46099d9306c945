// The staff web application's listener: the browser app (static files), sign-in and accounts
// (/api), the node's own Connect services (/rpc, see proxy.ts), live updates and copies.

import { timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import type { Logger } from "pino";
import { type OidcLogin, SsoRefused } from "./auth/oidc.js";
import { downloadCopy, uploadCopy } from "./copies.js";
import type { ChangeFeed } from "./events.js";
import { field, HttpError, parseCookies, readJson, sendJson, sessionCookie } from "./http-util.js";
import type { NodeLink } from "./node-link.js";
import { type NotifyParts, notifyRoutes } from "./notify/routes.js";
import { connectError, proxyRpc } from "./proxy.js";
import { roleAllows } from "./roles.js";
import { AccountError, type Accounts, parseRole } from "./store/accounts.js";
import type { AuditLog } from "./store/audit.js";
import { ABSOLUTE_MS, type Session, type Sessions } from "./store/sessions.js";
import type { LoginThrottle } from "./throttle.js";

export interface WebNodeInfo {
  id: string;
  name: string;
  tier: "member" | "regional" | "national";
  region: string;
}

export interface WebServerOptions {
  host: string;
  port: number;
  /** HTTPS with this key and certificate; absent: plain HTTP (loopback only, checked by the caller). */
  tls?: { keyPem: string; certPem: string };
  publicDir: string;
  node: WebNodeInfo;
  accounts: Accounts;
  sessions: Sessions;
  audit: AuditLog;
  throttle: LoginThrottle;
  link: NodeLink;
  feed: ChangeFeed;
  /** Single sign-on, when [web.oidc] is set. */
  sso?: OidcLogin;
  /** Staff notifications (/api/notifications). */
  notify: NotifyParts;
  /** The largest article copy accepted (the node's [ill] max_copy_size). */
  maxCopyBytes: number;
  /** Where the national dashboard is, when this node has one. */
  dashboardUrl?: () => string;
  /**
   * The traffic dashboard's figures over a window ("24h"), or why there is no such window: the
   * national center's dashboard data, shown in the application to a signed-in user.
   */
  traffic?: (window: string | null) => object | string;
  log: Logger;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
};

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createWebServer(o: WebServerOptions) {
  const secure = !!o.tls;
  const COOKIE = secure ? "__Host-lrs_session" : "lrs_session";
  let server: Server | undefined;

  const sessionOf = (req: IncomingMessage): { id: string; session: Session } | undefined => {
    const id = parseCookies(req.headers.cookie).get(COOKIE);
    if (!id) return undefined;
    const session = o.sessions.get(id);
    return session ? { id, session } : undefined;
  };
  const remoteOf = (req: IncomingMessage) => req.socket.remoteAddress ?? "";
  /** What the browser learns of its session and node, at sign-in and on every page load. */
  const sessionInfo = (session: Session) => ({
    user: session.user,
    role: session.role,
    csrf: session.csrf,
    expiresAt: new Date(session.expiresAt).toISOString(),
    language: o.accounts.language(session.user) ?? null,
    node: o.node,
    ...(o.dashboardUrl?.() ? { dashboard: o.dashboardUrl() } : {}),
    ...(o.traffic ? { traffic: true } : {}),
  });

  /** A change must come from this application's own pages: Origin (when sent) is ours, and the CSRF token matches. */
  const originOk = (req: IncomingMessage) => {
    const origin = req.headers.origin;
    if (!origin) return true;
    return origin === `${secure ? "https" : "http"}://${req.headers.host}`;
  };
  const csrfOk = (req: IncomingMessage, s: Session | undefined) => {
    const token = req.headers["x-csrf-token"];
    return !!s && typeof token === "string" && originOk(req) && sameToken(token, s.csrf);
  };

  function requireSession(
    req: IncomingMessage,
    change: boolean,
    need: "viewer" | "staff" | "admin" = "viewer",
  ) {
    const s = sessionOf(req);
    if (!s) throw new HttpError(401, "not signed in (or the session has ended)");
    if (change && !csrfOk(req, s.session))
      throw new HttpError(403, "the request carries no valid CSRF token (reload the page)");
    if (!roleAllows(s.session.role, need))
      throw new HttpError(403, `${s.session.user} is ${s.session.role}: this needs the ${need} role`);
    return s;
  }

  async function serveStatic(res: ServerResponse, path: string): Promise<void> {
    const rel = normalize(path).replace(/^(\.\.[/\\])+/, "");
    const file = rel.startsWith("/assets/") ? join(o.publicDir, rel) : join(o.publicDir, "index.html");
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-cache",
        ...SECURITY_HEADERS,
      });
      res.end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end(
        rel.startsWith("/assets/")
          ? `no such file: ${rel}\n`
          : "the web application is not built (npm run build)\n",
      );
    }
  }

  async function api(req: IncomingMessage, res: ServerResponse, path: string, url: URL): Promise<void> {
    const remote = remoteOf(req);
    const post = req.method === "POST";
    if (path === "/api/session" && req.method === "GET") {
      const s = sessionOf(req);
      if (!s) throw new HttpError(401, "not signed in");
      return sendJson(res, 200, sessionInfo(s.session));
    }
    if (path === "/api/node" && req.method === "GET")
      return sendJson(res, 200, { node: o.node, ...(o.sso ? { sso: { label: o.sso.label } } : {}) });
    if (path.startsWith("/api/oidc/") && req.method === "GET") return sso(req, res, path, url);
    if (path === "/api/login" && post) {
      if (!originOk(req)) throw new HttpError(403, "sign-in from another site is refused");
      const wait = o.throttle.waitMs(remote);
      if (wait > 0)
        throw new HttpError(
          429,
          `too many wrong sign-ins from this address: try again in ${Math.ceil(wait / 60_000)} min`,
          {
            retryAfterSeconds: Math.ceil(wait / 1000),
          },
        );
      const body = await readJson(req);
      const name = field(body, "name");
      const result = await o.accounts.login(name, field(body, "password"));
      if (!result.ok) {
        o.throttle.failed(remote);
        o.audit.record({
          user: name,
          action: "sign-in",
          requestId: null,
          detail: null,
          outcome: result.reason,
          remote,
        });
        if (result.reason === "locked")
          throw new HttpError(423, "the account is locked after too many wrong passwords", {
            lockedUntil: result.lockedUntil?.toISOString(),
            reason: "locked",
          });
        if (result.reason === "disabled")
          throw new HttpError(403, "the account is disabled", { reason: "disabled" });
        throw new HttpError(401, "wrong user name or password", { reason: "wrong" });
      }
      o.throttle.succeeded(remote);
      const { id, session } = o.sessions.create(result.user.name);
      o.audit.record({
        user: result.user.name,
        action: "sign-in",
        requestId: null,
        detail: null,
        outcome: "ok",
        remote,
      });
      return sendJson(res, 200, sessionInfo(session), {
        "set-cookie": sessionCookie(COOKIE, id, { maxAgeSeconds: ABSOLUTE_MS / 1000, secure }),
      });
    }
    if (path === "/api/logout" && post) {
      const s = requireSession(req, true);
      const idToken = o.sessions.end(s.id);
      // Signed in through the provider: its session ends too, when it offers that (the browser goes there).
      let redirect: string | undefined;
      if (idToken && o.sso)
        redirect = await o.sso.endSessionUrl(idToken).catch((err: unknown) => {
          o.log.warn({ err }, "single sign-on: the provider's session cannot be ended; signed out here only");
          return undefined;
        });
      o.audit.record({
        user: s.session.user,
        action: "sign-out",
        requestId: null,
        detail: redirect ? "and at the identity provider" : null,
        outcome: "ok",
        remote,
      });
      return sendJson(res, 200, redirect ? { redirect } : {}, {
        "set-cookie": sessionCookie(COOKIE, "", { maxAgeSeconds: 0, secure }),
      });
    }
    if (path === "/api/language" && post) {
      // The person's language: the pages follow them to another browser, their notifications are in it.
      const s = requireSession(req, true);
      o.accounts.setLanguage(s.session.user, field(await readJson(req), "language"));
      return sendJson(res, 200, { language: o.accounts.language(s.session.user) });
    }
    if (path === "/api/password-link" && req.method === "GET") {
      const user = o.accounts.linkUser(url.searchParams.get("token") ?? "");
      if (!user) throw new HttpError(404, "this link is not valid: it was used already or has expired");
      return sendJson(res, 200, { user });
    }
    if (path === "/api/password" && post) {
      if (!originOk(req)) throw new HttpError(403, "a password change from another site is refused");
      const body = await readJson(req);
      const user = await o.accounts.setPasswordWithLink(field(body, "token"), field(body, "password"));
      o.audit.record({ user, action: "set password", requestId: null, detail: null, outcome: "ok", remote });
      return sendJson(res, 200, { user });
    }
    if (path === "/api/events" && req.method === "GET") {
      requireSession(req, false);
      return o.feed.subscribe(res);
    }
    if (path === "/api/users" && req.method === "GET") {
      requireSession(req, false, "admin");
      return sendJson(res, 200, { users: o.accounts.list() });
    }
    if (path === "/api/users" && post) {
      const s = requireSession(req, true, "admin");
      const body = await readJson(req);
      const name = field(body, "name");
      const role = parseRole(field(body, "role"));
      const token = o.accounts.add(name, role);
      o.audit.record({
        user: s.session.user,
        action: `add user ${name} (${role})`,
        requestId: null,
        detail: null,
        outcome: "ok",
        remote,
      });
      return sendJson(res, 200, { name, role, link: `/set-password?token=${token}` });
    }
    const userPath = /^\/api\/users\/([^/]+)$/.exec(path);
    if (userPath && post) {
      const s = requireSession(req, true, "admin");
      const name = decodeURIComponent(userPath[1]!);
      const body = await readJson(req);
      const what = field(body, "change");
      let out: Record<string, unknown> = {};
      if (what === "role") o.accounts.setRole(name, parseRole(field(body, "role")));
      else if (what === "disable") o.accounts.setDisabled(name, true);
      else if (what === "enable") o.accounts.setDisabled(name, false);
      else if (what === "unlock") o.accounts.unlock(name);
      else if (what === "link") out = { link: `/set-password?token=${o.accounts.newPasswordLink(name)}` };
      else throw new HttpError(400, `"change" must be role, disable, enable, unlock or link, not "${what}"`);
      o.audit.record({
        user: s.session.user,
        action: `user ${name}: ${what}${what === "role" ? ` ${String(body.role)}` : ""}`,
        requestId: null,
        detail: null,
        outcome: "ok",
        remote,
      });
      return sendJson(res, 200, { user: o.accounts.get(name), ...out });
    }
    if (path === "/api/traffic" && req.method === "GET" && o.traffic) {
      requireSession(req, false);
      const summary = o.traffic(url.searchParams.get("window"));
      if (typeof summary === "string") throw new HttpError(400, summary);
      return sendJson(res, 200, summary);
    }
    if (path === "/api/audit" && req.method === "GET") {
      requireSession(req, false, "admin");
      const before = Number(url.searchParams.get("before") ?? "0");
      return sendJson(res, 200, {
        entries: o.audit.list({
          ...(url.searchParams.get("user") ? { user: url.searchParams.get("user")! } : {}),
          ...(url.searchParams.get("request") ? { requestId: url.searchParams.get("request")! } : {}),
          ...(before > 0 ? { before } : {}),
          limit: Number(url.searchParams.get("limit") ?? "100") || 100,
        }),
      });
    }
    if (path === "/api/notifications" || path.startsWith("/api/notifications/"))
      return notifyRoutes(o.notify, o.audit, req, res, path, url, (change, need) =>
        requireSession(req, change, need),
      );
    const copyPath = /^\/api\/copies\/([^/]+)\/(upload|download)$/.exec(path);
    if (copyPath && post) {
      const s = requireSession(req, true, "staff");
      const requestId = decodeURIComponent(copyPath[1]!);
      const record = (outcome: string, detail: string | null = null) =>
        o.audit.record({
          user: s.session.user,
          action: `copy ${copyPath[2]}`,
          requestId,
          detail,
          outcome,
          remote,
        });
      try {
        if (copyPath[2] === "upload") {
          const fileName = decodeURIComponent(String(req.headers["x-file-name"] ?? ""));
          if (!fileName) throw new HttpError(400, "the upload needs the file's name (X-File-Name)");
          const note = decodeURIComponent(String(req.headers["x-note"] ?? ""));
          const out = await uploadCopy(o.link, req, { requestId, fileName, note, maxBytes: o.maxCopyBytes });
          record("ok", fileName);
          return sendJson(res, 200, {
            status: out.status,
            copy: out.copy
              ? { fileName: out.copy.fileName, size: String(out.copy.size), sha256: out.copy.sha256 }
              : null,
          });
        }
        await downloadCopy(o.link, requestId, res);
        record("ok");
        return;
      } catch (err) {
        record(`refused: ${(err as Error).message}`);
        throw err;
      }
    }
    throw new HttpError(404, `no such page: ${req.method} ${path}`);
  }

  /** Single sign-on: to the provider and back; the session is the same as a password sign-in's. */
  async function sso(req: IncomingMessage, res: ServerResponse, path: string, url: URL): Promise<void> {
    if (!o.sso) throw new HttpError(404, "single sign-on is not set up on this node ([web.oidc])");
    const STATE = secure ? "__Host-lrs_oidc" : "lrs_oidc";
    const stateCookie = (value: string, maxAge: number) =>
      `${STATE}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure ? "; Secure" : ""}`;
    const redirect = (to: string, cookies: string[]) => {
      res.writeHead(302, { location: to, "cache-control": "no-store", "set-cookie": cookies });
      res.end();
    };
    if (path === "/api/oidc/login") {
      const { url: to, state } = await o.sso.begin();
      return redirect(to, [stateCookie(state, 600)]);
    }
    if (path !== "/api/oidc/callback") throw new HttpError(404, `no such page: GET ${path}`);
    const remote = remoteOf(req);
    const clear = stateCookie("", 0);
    try {
      const person = await o.sso.finish(url.search, parseCookies(req.headers.cookie).get(STATE));
      const user = o.accounts.ssoSignIn(person.name, person.subject, person.role);
      const { id } = o.sessions.create(user.name, person.idToken || undefined);
      o.audit.record({
        user: user.name,
        action: "sign-in (single sign-on)",
        requestId: null,
        detail: `${person.role} from groups ${person.groups.join(", ")}`,
        outcome: "ok",
        remote,
      });
      return redirect("/", [clear, sessionCookie(COOKIE, id, { maxAgeSeconds: ABSOLUTE_MS / 1000, secure })]);
    } catch (err) {
      if (!(err instanceof SsoRefused) && !(err instanceof AccountError)) {
        o.log.warn({ err }, "single sign-on failed");
      }
      const why = (err as Error).message;
      o.audit.record({
        user: "(single sign-on)",
        action: "sign-in (single sign-on)",
        requestId: null,
        detail: null,
        outcome: `refused: ${why}`,
        remote,
      });
      return redirect(`/?sso_error=${encodeURIComponent(why)}`, [clear]);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname;
    if (secure) res.setHeader("strict-transport-security", "max-age=31536000");
    try {
      if (path.startsWith("/rpc/")) {
        const s = sessionOf(req)?.session;
        return await proxyRpc(
          { link: o.link, audit: o.audit },
          req,
          res,
          path.slice(5),
          s,
          csrfOk(req, s),
          remoteOf(req),
        );
      }
      if (path.startsWith("/api/")) return await api(req, res, path, url);
      if (req.method !== "GET" && req.method !== "HEAD")
        throw new HttpError(405, `${req.method} is not allowed here`);
      return await serveStatic(res, path);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (path.startsWith("/rpc/")) return connectError(res, 500, "internal", (err as Error).message);
      if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message, ...err.extra });
      if (err instanceof AccountError) return sendJson(res, 400, { error: err.message, field: err.field });
      const e = err as { rawMessage?: string; message: string };
      if (e.rawMessage !== undefined) return sendJson(res, 409, { error: e.rawMessage });
      o.log.error({ err, path }, "web request failed");
      return sendJson(res, 500, { error: "internal error (see the node's log)" });
    }
  }

  return {
    async start(): Promise<string> {
      const listener = (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
      server = o.tls
        ? createHttpsServer({ key: o.tls.keyPem, cert: o.tls.certPem }, listener)
        : createHttpServer(listener);
      await new Promise<void>((resolve, reject) => {
        server!.once("error", reject);
        server!.listen(o.port, o.host, () => resolve());
      });
      const a = server.address() as AddressInfo;
      const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
      return `${secure ? "https" : "http"}://${host}:${a.port}/`;
    },
    async close(): Promise<void> {
      o.feed.close();
      if (!server) return;
      server.closeAllConnections();
      await new Promise<void>((r) => server!.close(() => r()));
    },
  };
}
