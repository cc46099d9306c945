import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@lrs/shared";
import { afterEach, describe, expect, it } from "vitest";
import type { DashboardSummary } from "./model.js";
import { createDashboardServer, isLoopback } from "./server.js";

const log = createLogger("test");

function fakeSummary(windowMinutes: number, total: number): DashboardSummary {
  return { windowMinutes, searches: { total } } as unknown as DashboardSummary;
}

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function serve(token?: string) {
  const dir = mkdtempSync(join(tmpdir(), "lrs-dash-"));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "index.html"), "<!doctype html><title>x</title>");
  writeFileSync(join(dir, "app.js"), "console.log(1)");
  const listeners = new Set<() => void>();
  let total = 1;
  const server = createDashboardServer({
    host: "127.0.0.1",
    port: 0,
    ...(token ? { token } : {}),
    log,
    publicDir: `${dir}/`,
    summary: (w) => fakeSummary(w, total),
    onChange: (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  });
  const url = await server.start();
  closers.push(
    () => server.close(),
    () => rmSync(dir, { recursive: true, force: true }),
  );
  return {
    url,
    change: (n: number) => {
      total = n;
      for (const l of listeners) l();
    },
  };
}

describe("dashboard server", () => {
  it("tells loopback addresses from the others", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) expect(isLoopback(h)).toBe(true);
    for (const h of ["0.0.0.0", "::", "10.0.0.5", "dashboard.example.org"]) expect(isLoopback(h)).toBe(false);
  });

  it("serves the page, the summary by window, and says what a bad window or a missing bundle is", async () => {
    const { url } = await serve();
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
    expect(await (await fetch(`${url}assets/app.js`)).text()).toBe("console.log(1)");
    const json = (await (await fetch(`${url}api/summary?window=7d`)).json()) as DashboardSummary;
    expect(json.windowMinutes).toBe(10_080);
    const bad = await fetch(`${url}api/summary?window=2y`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/window must be one of 1h, 6h, 24h, 7d, not "2y"/);
    const css = await fetch(`${url}assets/app.css`);
    expect(css.status).toBe(503);
    expect(await css.text()).toMatch(/not built .* run "npm run build"/);
    expect((await fetch(`${url}nope`)).status).toBe(404);
    expect((await fetch(url, { method: "POST" })).status).toBe(405);
  });

  it("pushes the summary as server-sent events, again when the figures change", async () => {
    const { url, change } = await serve();
    const ac = new AbortController();
    closers.push(() => ac.abort());
    const res = await fetch(`${url}api/events?window=1h`, { signal: ac.signal });
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const events: DashboardSummary[] = [];
    let buffer = "";
    const next = async (): Promise<DashboardSummary> => {
      for (;;) {
        const m = /event: summary\ndata: (.*)\n\n/.exec(buffer);
        if (m) {
          buffer = buffer.slice(m.index + m[0].length);
          const s = JSON.parse(m[1]!) as DashboardSummary;
          events.push(s);
          return s;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buffer += new TextDecoder().decode(value);
      }
    };
    expect((await next()).searches.total).toBe(1);
    change(7);
    expect((await next()).searches.total).toBe(7);
    expect(events.map((e) => e.windowMinutes)).toEqual([60, 60]);
  });

  it("asks for the operator token beyond loopback: bearer, cookie, or once in the URL", async () => {
    const token = "t0ken-t0ken-t0ken-t0ken";
    const { url } = await serve(token);
    const refused = await fetch(url);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toMatch(/operator token/);
    expect((await fetch(`${url}api/summary`, { headers: { Authorization: "Bearer wrong" } })).status).toBe(
      401,
    );
    expect((await fetch(`${url}api/summary`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(
      200,
    );
    const redirect = await fetch(`${url}?window=1h&token=${token}`, { redirect: "manual" });
    expect(redirect.status).toBe(303);
    expect(redirect.headers.get("location")).toBe("/?window=1h");
    const cookie = redirect.headers.get("set-cookie")!;
    expect(cookie).toMatch(/HttpOnly; SameSite=Strict/);
    const withCookie = await fetch(url, { headers: { Cookie: cookie.split(";")[0]! } });
    expect(withCookie.status).toBe(200);
    // Health checks need no token.
    expect((await fetch(`${url}healthz`)).status).toBe(200);
  });
});
