// The national dashboard over plain HTTP: the page and its bundled client (built by esbuild at
// build time into dist/dashboard/public), the summary as JSON, and the same summary pushed live
// as server-sent events whenever the figures change. Loopback by default; bound anywhere else, it
// asks every visitor for the operator token.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { Logger } from "@lrs/shared";
import { type DashboardSummary, DEFAULT_WINDOW, WINDOWS } from "./model.js";

/** Where the build puts the page and its bundle (scripts/build-dashboard.mjs). */
export const PUBLIC_DIR = fileURLToPath(new URL("./public/", import.meta.url));

const ASSETS: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/assets/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/assets/app.css": { file: "app.css", type: "text/css; charset=utf-8" },
  "/assets/app.js.map": { file: "app.js.map", type: "application/json; charset=utf-8" },
  "/assets/app.css.map": { file: "app.css.map", type: "application/json; charset=utf-8" },
};

const COOKIE = "lrs_dashboard";
/** Server-sent events: the summary at most this often, and at least this often (ages move on). */
const PUSH_MIN_MS = 1_000;
const PUSH_MAX_MS = 10_000;
/** A comment line now and then keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;
/** Visitors of the event stream at once. */
const MAX_STREAMS = 100;

export interface DashboardServerOptions {
  host: string;
  port: number;
  /** Required of visitors when set (the listener is not loopback). */
  token?: string;
  /** The summary over a window of minutes. */
  summary: (windowMinutes: number) => DashboardSummary;
  /** Called with a function to call when the figures change; returns how to stop. */
  onChange: (fn: () => void) => () => void;
  log: Logger;
  /** Where index.html, app.js and app.css are (default PUBLIC_DIR). */
  publicDir?: string;
}

export interface DashboardServer {
  /** Starts listening; resolves with the dashboard's URL. */
  start(): Promise<string>;
  close(): Promise<void>;
}

/** Whether an address stays on this machine (the one rule, in @lrs/shared). */
export { isLoopback } from "@lrs/shared";

/** A token for the dashboard when none is configured: 32 random bytes, URL-safe. */
export function newDashboardToken(): string {
  return randomBytes(32).toString("base64url");
}

function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieOf(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

const SECURITY_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
};

function windowOf(url: URL): { name: string; minutes: number } | string {
  return windowNamed(url.searchParams.get("window"));
}

/** A window by its name ("24h"; none: the default), or why there is no such window. */
export function windowNamed(asked: string | null): { name: string; minutes: number } | string {
  const name = asked ?? DEFAULT_WINDOW;
  const minutes = WINDOWS[name];
  if (minutes === undefined) return `window must be one of ${Object.keys(WINDOWS).join(", ")}, not "${name}"`;
  return { name, minutes };
}

export function createDashboardServer(o: DashboardServerOptions): DashboardServer {
  const publicDir = o.publicDir ?? PUBLIC_DIR;
  const streams = new Set<http.ServerResponse>();
  /** One summary per window, made again only when the figures changed (or it got old). */
  const cache = new Map<number, { at: number; changes: number; summary: DashboardSummary }>();
  let changes = 0;

  const summary = (minutes: number) => {
    const hit = cache.get(minutes);
    if (hit && hit.changes === changes && Date.now() - hit.at < PUSH_MAX_MS) return hit.summary;
    const seen = changes;
    const s = o.summary(minutes);
    cache.set(minutes, { at: Date.now(), changes: seen, summary: s });
    return s;
  };

  const plain = (
    res: http.ServerResponse,
    status: number,
    text: string,
    extra: Record<string, string> = {},
  ) => {
    res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", ...SECURITY_HEADERS, ...extra });
    res.end(`${text}\n`);
  };

  const authorized = (req: http.IncomingMessage, url: URL, res: http.ServerResponse): boolean => {
    if (!o.token) return true;
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    if (sameToken(bearer, o.token) || sameToken(cookieOf(req, COOKIE), o.token)) return true;
    const given = url.searchParams.get("token");
    if (given !== null && sameToken(given, o.token) && req.method === "GET") {
      // Trade the token in the URL for a cookie, and take it out of the address bar (and history).
      url.searchParams.delete("token");
      res.writeHead(303, {
        Location: `${url.pathname}${url.search}`,
        "Set-Cookie": `${COOKIE}=${encodeURIComponent(o.token)}; HttpOnly; SameSite=Strict; Path=/`,
        ...SECURITY_HEADERS,
      });
      res.end();
      return false;
    }
    plain(
      res,
      401,
      "The dashboard asks for the operator token: open the URL the national center printed at start (…/?token=…), or send Authorization: Bearer TOKEN.",
      { "WWW-Authenticate": 'Bearer realm="lrs-dashboard"' },
    );
    return false;
  };

  const events = (res: http.ServerResponse, minutes: number) => {
    if (streams.size >= MAX_STREAMS) return plain(res, 503, `over ${MAX_STREAMS} live dashboards at once`);
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
      ...SECURITY_HEADERS,
    });
    streams.add(res);
    let lastSent = 0;
    let timer: NodeJS.Timeout | undefined;
    const send = () => {
      timer = undefined;
      if (res.writableEnded) return;
      try {
        res.write(`event: summary\ndata: ${JSON.stringify(summary(minutes))}\n\n`);
      } catch (err) {
        o.log.error({ err }, "dashboard summary failed");
        res.write(`event: problem\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`);
      }
      lastSent = Date.now();
    };
    const soon = () => {
      if (timer) return;
      timer = setTimeout(send, Math.max(0, lastSent + PUSH_MIN_MS - Date.now()));
    };
    res.write(`retry: 2000\n\n`);
    send();
    const off = o.onChange(soon);
    const tick = setInterval(() => {
      if (Date.now() - lastSent >= PUSH_MAX_MS) soon();
    }, PUSH_MAX_MS / 2);
    const keepalive = setInterval(() => res.write(": keepalive\n\n"), KEEPALIVE_MS);
    res.on("close", () => {
      off();
      clearInterval(tick);
      clearInterval(keepalive);
      if (timer) clearTimeout(timer);
      streams.delete(res);
    });
  };

  const server = http.createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://dashboard.invalid");
    } catch {
      return plain(res, 400, "bad request target");
    }
    if (url.pathname === "/healthz") return plain(res, 200, "ok");
    if (req.method !== "GET" && req.method !== "HEAD")
      return plain(res, 405, "GET only", { Allow: "GET, HEAD" });
    if (!authorized(req, url, res)) return;
    const asset = ASSETS[url.pathname];
    if (asset) {
      const path = `${publicDir}${asset.file}`;
      if (!existsSync(path))
        return plain(
          res,
          503,
          `The dashboard's page is not built (${path} is missing): run "npm run build" in the repository.`,
        );
      res.writeHead(200, { "Content-Type": asset.type, "Cache-Control": "no-cache", ...SECURITY_HEADERS });
      return res.end(req.method === "HEAD" ? undefined : readFileSync(path));
    }
    if (url.pathname === "/api/summary" || url.pathname === "/api/events") {
      const w = windowOf(url);
      if (typeof w === "string") return plain(res, 400, w);
      if (url.pathname === "/api/events") return events(res, w.minutes);
      try {
        const body = JSON.stringify(summary(w.minutes));
        res.writeHead(200, {
          "Content-Type": "application/json; charset=utf-8",
          "Cache-Control": "no-store",
          ...SECURITY_HEADERS,
        });
        return res.end(req.method === "HEAD" ? undefined : body);
      } catch (err) {
        o.log.error({ err }, "dashboard summary failed");
        return plain(res, 500, "the summary could not be made; see the national center's log");
      }
    }
    plain(res, 404, "not found");
  });

  const offChange = o.onChange(() => {
    changes++;
  });
  let closing: Promise<void> | undefined;
  return {
    start: () =>
      new Promise((resolve, reject) => {
        if (!existsSync(`${publicDir}app.js`))
          o.log.warn({ publicDir }, 'the dashboard\'s page is not built: run "npm run build"');
        server.once("error", reject);
        server.listen(o.port, o.host, () => {
          server.off("error", reject);
          const a = server.address() as AddressInfo;
          const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
          resolve(`http://${host}:${a.port}/`);
        });
      }),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        offChange();
        for (const s of streams) s.end();
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
