// Single sign-on against a real OpenID provider not written for LRS (the `oidc-provider` package)
// on loopback: the staff web application's listener sends the browser there and back (here: HTTP
// requests following the redirects with a cookie jar), with PKCE; the groups map to the role; the
// session is the ordinary one; a person in no mapped group, and a local account's name, are refused;
// each sign-in is in the audit log.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Database, type OidcConfig, sharedMigrations, type TlsIdentity } from "@lrs/shared";
import Provider from "oidc-provider";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangeFeed } from "../events.js";
import { NodeLink } from "../node-link.js";
import { Notifier } from "../notify/notifier.js";
import { createSender } from "../notify/send.js";
import { NotifyStore } from "../notify/store.js";
import { createWebServer } from "../server.js";
import { Accounts } from "../store/accounts.js";
import { AuditLog } from "../store/audit.js";
import { webMigrations } from "../store/migrations.js";
import { Sessions } from "../store/sessions.js";
import { LoginThrottle } from "../throttle.js";
import { OidcLogin, roleOfGroups } from "./oidc.js";

/** The provider's people and their groups. */
const PEOPLE: Record<string, string[]> = {
  alice: ["library-staff", "everyone"],
  root: ["ill-admins"],
  mallory: ["everyone"],
  local: ["library-staff"],
};

const ROLES: OidcConfig["roles"] = { admin: ["ill-admins"], staff: ["library-staff"], viewer: [] };

let idp: Server;
let web: { start(): Promise<string>; close(): Promise<void> };
let webUrl = "";
let db: Database;
let audit: AuditLog;
let accounts: Accounts;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => resolve(new URLSearchParams(body)));
  });
}

beforeAll(async () => {
  // The provider's address first (its issuer), then the web listener (the client's redirect URI).
  let handler: (req: IncomingMessage, res: import("node:http").ServerResponse) => void = () => undefined;
  idp = createServer((req, res) => handler(req, res));
  const issuer = await listen(idp);

  db = Database.open(":memory:", [...sharedMigrations, ...webMigrations]);
  accounts = new Accounts(db, Date.now, { N: 2 ** 12, r: 8, p: 1 });
  audit = new AuditLog(db);
  const log = pino({ level: "silent" });
  const noTls = { caPem: "", certPem: "", keyPem: "" } as unknown as TlsIdentity;
  const link = new NodeLink({ endpoint: () => "127.0.0.1:1", tls: noTls, nodeId: "m" });
  const cfg: OidcConfig = {
    issuer,
    client_id: "lrs-member",
    client_secret: "a-client-secret-for-the-test",
    scopes: ["profile", "email"],
    group_claim: "groups",
    user_claim: "preferred_username",
    roles: ROLES,
  };
  const notifyStore = new NotifyStore(db);
  const notifyCfg = {
    smtp_security: "none" as const,
    digest_time: "07:00",
    interval: 1000,
    attempts: 1,
    retry_delay: 1000,
    timeout: 1000,
  };
  const server = createWebServer({
    host: "127.0.0.1",
    port: 0,
    publicDir: "/nonexistent",
    node: { id: "m", name: "Member M", tier: "member", region: "r" },
    accounts,
    sessions: new Sessions(db),
    audit,
    throttle: new LoginThrottle(),
    link,
    feed: new ChangeFeed(link, log),
    sso: new OidcLogin(cfg, () => `${webUrl}/api/oidc/callback`),
    notify: {
      store: notifyStore,
      notifier: new Notifier({
        store: notifyStore,
        sender: createSender(notifyCfg),
        cfg: notifyCfg,
        node: { id: "m", name: "Member M" },
        baseUrl: () => webUrl,
        log,
      }),
      email: false,
      events: false,
      digestTime: "07:00",
    },
    maxCopyBytes: 0,
    log,
  });
  web = server;
  webUrl = (await server.start()).replace(/\/$/, "");

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: "lrs-member",
        client_secret: "a-client-secret-for-the-test",
        redirect_uris: [`${webUrl}/api/oidc/callback`],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    claims: { openid: ["sub"], profile: ["preferred_username", "groups"], email: ["email"] },
    findAccount: (_ctx, id) =>
      PEOPLE[id]
        ? {
            accountId: id,
            claims: () => ({
              sub: id,
              preferred_username: id,
              groups: PEOPLE[id],
              email: `${id}@example.org`,
            }),
          }
        : undefined,
    // The library's staff have agreed to the application once and for all: no consent screen.
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session!.accountId!,
      });
      grant.addOIDCScope("openid profile email");
      await grant.save();
      return grant;
    },
    features: { devInteractions: { enabled: false } },
    cookies: { keys: ["a-cookie-key-for-the-test"] },
    ttl: {
      Interaction: 600,
      Grant: 3600,
      Session: 3600,
      AccessToken: 600,
      IdToken: 600,
      AuthorizationCode: 60,
    },
  });
  const callback = provider.callback();
  // The provider's login page: a form posting the person's name (the test posts it directly).
  handler = async (req, res) => {
    const m = /^\/interaction\/([^/]+)\/login$/.exec(req.url ?? "");
    if (m && req.method === "POST") {
      const form = await readForm(req);
      await provider.interactionFinished(req, res, { login: { accountId: form.get("login") ?? "" } });
      return;
    }
    callback(req, res);
  };
}, 60_000);

afterAll(async () => {
  await web?.close();
  await new Promise<void>((r) => idp?.close(() => r()));
  db?.close();
});

/** A browser's part: follow redirects, keep cookies per host, post the name at the provider's login. */
async function signInAs(
  person: string,
): Promise<{ landed: string; cookies: Map<string, Map<string, string>> }> {
  const jar = new Map<string, Map<string, string>>();
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
  let url = new URL(`${webUrl}/api/oidc/login`);
  for (let hop = 0; hop < 15; hop++) {
    const interaction = /^\/interaction\/[^/]+$/.test(url.pathname);
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
    if (next.origin === webUrl && !next.pathname.startsWith("/api/"))
      return { landed: next.href, cookies: jar };
    url = next;
  }
  throw new Error("too many redirects");
}

async function sessionOf(cookies: Map<string, Map<string, string>>) {
  const host = new URL(webUrl).host;
  const cookie = [...(cookies.get(host) ?? new Map<string, string>())]
    .map(([k, v]) => `${k}=${v}`)
    .join("; ");
  const res = await fetch(`${webUrl}/api/session`, { headers: { cookie } });
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
    expect(accounts.get("alice")).toMatchObject({ role: "staff", hasPassword: false });
    const entry = audit.list({ user: "alice" })[0]!;
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
    expect(accounts.get("mallory")).toBeUndefined();
    expect(audit.list()[0]).toMatchObject({ action: "sign-in (single sign-on)" });
    expect(audit.list()[0]!.outcome).toMatch(/^refused: mallory is in no group/);
  });

  it("does not let the provider take over a local account of the same name", async () => {
    accounts.add("local", "viewer");
    const { landed } = await signInAs("local");
    expect(new URL(landed).searchParams.get("sso_error")).toMatch(/"local" is a local account of this node/);
    expect(accounts.get("local")?.role).toBe("viewer");
  });

  it("refuses a callback that was not started here (no state)", async () => {
    const res = await fetch(`${webUrl}/api/oidc/callback?code=x&state=forged`, { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(decodeURIComponent(res.headers.get("location") ?? "")).toMatch(/was not started here/);
  });
});
