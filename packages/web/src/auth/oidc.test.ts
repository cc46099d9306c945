// Single sign-on against a real OpenID provider not written for LRS (the `oidc-provider` package)
// on loopback: the staff web application's listener sends the browser there and back (here: HTTP
// requests following the redirects with a cookie jar), with PKCE; the groups map to the role; the
// session is the ordinary one; a person in no mapped group, and a local account's name, are refused;
// each sign-in is in the audit log.
import type { OidcConfig } from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Standalone, startStandalone } from "../standalone.test-util.js";
import { roleOfGroups } from "./oidc.js";

/** The provider's people and their groups. */
const PEOPLE: Record<string, string[]> = {
  alice: ["library-staff", "everyone"],
  root: ["ill-admins"],
  mallory: ["everyone"],
  local: ["library-staff"],
};

const ROLES: OidcConfig["roles"] = { admin: ["ill-admins"], staff: ["library-staff"], viewer: [] };

let app: Standalone;
let webUrl = "";

beforeAll(async () => {
  app = await startStandalone({ people: PEOPLE, roles: ROLES });
  webUrl = app.url;
}, 60_000);

afterAll(async () => {
  await app?.close();
});

/** A browser's part: follow redirects, keep cookies per host, post the name at the provider's login. */
type Jar = Map<string, Map<string, string>>;

async function signInAs(
  person: string,
  base = webUrl,
  jar: Jar = new Map(),
): Promise<{ landed: string; cookies: Jar; askedToSignIn: boolean }> {
  let askedToSignIn = false;
  const cookieHeader = (url: URL) =>
    [...(jar.get(url.host) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join("; ");
  const keep = (url: URL, res: Response) => {
    const c = jar.get(url.host) ?? new Map<string, string>();
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const i = pair!.indexOf("=");
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (value === "" || /max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line)) c.delete(name);
      else c.set(name, value);
    }
    jar.set(url.host, c);
  };
  let url = new URL(`${base}/api/oidc/login`);
  for (let hop = 0; hop < 15; hop++) {
    const interaction = /^\/interaction\/[^/]+$/.test(url.pathname);
    askedToSignIn ||= interaction;
    const res = await fetch(interaction ? new URL(`${url.pathname}/login`, url) : url, {
      method: interaction ? "POST" : "GET",
      redirect: "manual",
      headers: {
        cookie: cookieHeader(url),
        ...(interaction ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      ...(interaction ? { body: new URLSearchParams({ login: person }).toString() } : {}),
    });
    keep(url, res);
    const location = res.headers.get("location");
    if (res.status < 300 || res.status >= 400 || !location) {
      throw new Error(`stopped at ${url.href} with HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
    }
    const next = new URL(location, url);
    if (next.origin === base && !next.pathname.startsWith("/api/"))
      return { landed: next.href, cookies: jar, askedToSignIn };
    url = next;
  }
  throw new Error("too many redirects");
}

const cookieOf = (cookies: Jar, base: string) =>
  [...(cookies.get(new URL(base).host) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join("; ");

/** Signs out at the web application (the browser's button: a POST with the CSRF token). */
async function signOut(cookies: Jar, base = webUrl): Promise<{ redirect?: string }> {
  const cookie = cookieOf(cookies, base);
  const { csrf } = (await (await fetch(`${base}/api/session`, { headers: { cookie } })).json()) as {
    csrf: string;
  };
  const res = await fetch(`${base}/api/logout`, {
    method: "POST",
    headers: { cookie, "content-type": "application/json", "x-csrf-token": csrf },
    body: "{}",
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { redirect?: string };
}

async function sessionOf(cookies: Jar, base = webUrl) {
  const host = new URL(base).host;
  const cookie = [...(cookies.get(host) ?? new Map<string, string>())]
    .map(([k, v]) => `${k}=${v}`)
    .join("; ");
  const res = await fetch(`${base}/api/session`, { headers: { cookie } });
  return { status: res.status, body: (await res.json()) as { user?: string; role?: string; csrf?: string } };
}

describe("single sign-on (OpenID Connect)", () => {
  it("maps groups to roles, highest first", () => {
    expect(roleOfGroups(ROLES, ["everyone", "ill-admins", "library-staff"])).toBe("admin");
    expect(roleOfGroups(ROLES, ["library-staff"])).toBe("staff");
    expect(roleOfGroups(ROLES, ["everyone"])).toBeUndefined();
  });

  it("offers the button on the sign-in page", async () => {
    const node = (await (await fetch(`${webUrl}/api/node`)).json()) as { sso?: { label: string } };
    expect(node.sso?.label).toMatch(/^Sign in with 127\.0\.0\.1:\d+$/);
  });

  it("signs a person in through the provider: the account is made with the role of their group", async () => {
    const { landed, cookies } = await signInAs("alice");
    expect(landed).toBe(`${webUrl}/`);
    const s = await sessionOf(cookies);
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ user: "alice", role: "staff" });
    expect(s.body.csrf).toHaveLength(43);
    expect(app.accounts.get("alice")).toMatchObject({ role: "staff", hasPassword: false });
    const entry = app.audit.list({ user: "alice" })[0]!;
    expect(entry).toMatchObject({ action: "sign-in (single sign-on)", outcome: "ok" });
    expect(entry.detail).toContain("library-staff");

    const admin = await signInAs("root");
    expect((await sessionOf(admin.cookies)).body).toMatchObject({ user: "root", role: "admin" });
  });

  it("refuses a person in no mapped group, saying why, and records it", async () => {
    const { landed, cookies } = await signInAs("mallory");
    const error = new URL(landed).searchParams.get("sso_error") ?? "";
    expect(error).toMatch(/mallory is in no group that gives a role here \(groups: everyone\)/);
    expect((await sessionOf(cookies)).status).toBe(401);
    expect(app.accounts.get("mallory")).toBeUndefined();
    expect(app.audit.list()[0]).toMatchObject({ action: "sign-in (single sign-on)" });
    expect(app.audit.list()[0]!.outcome).toMatch(/^refused: mallory is in no group/);
  });

  it("does not let the provider take over a local account of the same name", async () => {
    app.accounts.add("local", "viewer");
    const { landed } = await signInAs("local");
    expect(new URL(landed).searchParams.get("sso_error")).toMatch(/"local" is a local account of this node/);
    expect(app.accounts.get("local")?.role).toBe("viewer");
  });

  it("signs out at the provider too (RP-initiated logout), which sends the browser back", async () => {
    const { cookies, askedToSignIn } = await signInAs("alice");
    expect(askedToSignIn).toBe(true);
    // While the provider's session lives, signing in again asks nothing.
    expect((await signInAs("alice", webUrl, cookies)).askedToSignIn).toBe(false);
    const { redirect } = await signOut(cookies);
    expect((await sessionOf(cookies)).status).toBe(401);
    const end = new URL(redirect!);
    expect(end.origin).toBe(app.issuer);
    expect(end.searchParams.get("post_logout_redirect_uri")).toBe(`${webUrl}/`);
    expect(end.searchParams.get("id_token_hint")?.split(".")).toHaveLength(3);
    // The provider's own page asks to confirm (its form, with its xsrf token); confirmed, it sends the browser back.
    const idp = new URL(app.issuer!);
    const page = await fetch(end, { headers: { cookie: cookieOf(cookies, app.issuer!) } });
    const html = await page.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
    expect(action && xsrf, html.slice(0, 300)).toBeTruthy();
    const confirmed = await fetch(new URL(action!, idp), {
      method: "POST",
      redirect: "manual",
      headers: {
        cookie: cookieOf(cookies, app.issuer!),
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ xsrf: xsrf!, logout: "yes" }).toString(),
    });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get("location")).toBe(`${webUrl}/`);
    // The provider's session is over: the next sign-in asks for the account again.
    const again = await signInAs("alice", webUrl, cookies);
    expect(again.askedToSignIn).toBe(true);
    expect((await sessionOf(again.cookies)).body).toMatchObject({ user: "alice" });
    expect(app.audit.list({ user: "alice" }).find((e) => e.action === "sign-out")?.detail).toBe(
      "and at the identity provider",
    );
  });

  it("signs out here only when the provider offers no end-session endpoint", async () => {
    const plain = await startStandalone({ people: PEOPLE, roles: ROLES, providerLogout: false });
    try {
      const { cookies } = await signInAs("alice", plain.url);
      expect((await sessionOf(cookies, plain.url)).status).toBe(200);
      expect(await signOut(cookies, plain.url)).toEqual({});
      expect((await sessionOf(cookies, plain.url)).status).toBe(401);
    } finally {
      await plain.close();
    }
  });

  it("refuses a callback that was not started here (no state)", async () => {
    const res = await fetch(`${webUrl}/api/oidc/callback?code=x&state=forged`, { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(decodeURIComponent(res.headers.get("location") ?? "")).toMatch(/was not started here/);
  });
});
