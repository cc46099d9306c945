// A staff web application on its own for tests of what needs no node behind it (sign-in, single
// sign-on, notifications settings): the real listener over an in-memory database, and an OpenID
// provider not written for LRS (the `oidc-provider` package) on loopback, with a login form.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Database, type OidcConfig, sharedMigrations, type TlsIdentity } from "@lrs/shared";
import Provider from "oidc-provider";
import pino from "pino";
import { OidcLogin } from "./auth/oidc.js";
import { ChangeFeed } from "./events.js";
import { NodeLink } from "./node-link.js";
import { Notifier } from "./notify/notifier.js";
import { createSender } from "./notify/send.js";
import { NotifyStore } from "./notify/store.js";
import { createWebServer } from "./server.js";
import { Accounts } from "./store/accounts.js";
import { AuditLog } from "./store/audit.js";
import { webMigrations } from "./store/migrations.js";
import { Sessions } from "./store/sessions.js";
import { LoginThrottle } from "./throttle.js";

/** The bundled browser app (npm run build -w @lrs/web). */
export const BUILT_APP = join(dirname(fileURLToPath(import.meta.url)), "../dist/public");

export function listen(server: Server): Promise<string> {
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

export interface Standalone {
  url: string;
  db: Database;
  accounts: Accounts;
  audit: AuditLog;
  /** The provider's address, when started with one. */
  issuer?: string;
  close(): Promise<void>;
}

/**
 * Starts the web listener (member "m") and, with `people` (name → groups), an OpenID provider it
 * signs in with under `roles`.
 */
export async function startStandalone(
  o: {
    people?: Record<string, string[]>;
    roles?: OidcConfig["roles"];
    /** Whether the provider offers RP-initiated logout (its end_session_endpoint); default yes. */
    providerLogout?: boolean;
  } = {},
): Promise<Standalone> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
  const idp = o.people ? createServer((req, res) => handler(req, res)) : undefined;
  const issuer = idp ? await listen(idp) : undefined;
  let url = "";
  const db = Database.open(":memory:", [...sharedMigrations, ...webMigrations]);
  const accounts = new Accounts(db, Date.now, { N: 2 ** 12, r: 8, p: 1 });
  const audit = new AuditLog(db);
  const log = pino({ level: "silent" });
  const noTls = { caPem: "", certPem: "", keyPem: "" } as unknown as TlsIdentity;
  const link = new NodeLink({ endpoint: () => "127.0.0.1:1", tls: noTls, nodeId: "m" });
  const secret = "a-client-secret-for-the-test";
  const notifyStore = new NotifyStore(db);
  const notifyCfg = {
    smtp_security: "none" as const,
    digest_time: "07:00",
    interval: 1000,
    attempts: 1,
    retry_delay: 1000,
    timeout: 1000,
    // The browser test's webhook is on this machine: allowed by name, as an operator would.
    webhook_hosts: ["127.0.0.1"],
    default_language: "en" as const,
  };
  const sender = createSender(notifyCfg);
  const server = createWebServer({
    host: "127.0.0.1",
    port: 0,
    publicDir: BUILT_APP,
    node: { id: "m", name: "Member M", tier: "member", region: "r" },
    accounts,
    sessions: new Sessions(db),
    audit,
    throttle: new LoginThrottle(),
    link,
    feed: new ChangeFeed(link, log),
    ...(issuer
      ? {
          sso: new OidcLogin(
            {
              issuer,
              client_id: "lrs-member",
              client_secret: secret,
              scopes: ["profile", "email"],
              group_claim: "groups",
              user_claim: "preferred_username",
              roles: o.roles ?? { admin: [], staff: [], viewer: [] },
            },
            () => `${url}/api/oidc/callback`,
          ),
        }
      : {}),
    notify: {
      store: notifyStore,
      notifier: new Notifier({
        store: notifyStore,
        sender,
        cfg: notifyCfg,
        node: { id: "m", name: "Member M" },
        baseUrl: () => url,
        languageOf: (u) => accounts.language(u),
        log,
      }),
      email: false,
      events: false,
      digestTime: "07:00",
      webhookHosts: sender.webhookHosts,
    },
    maxCopyBytes: 0,
    log,
  });
  url = (await server.start()).replace(/\/$/, "");
  if (idp && issuer && o.people) {
    const people = o.people;
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: "lrs-member",
          client_secret: secret,
          redirect_uris: [`${url}/api/oidc/callback`],
          post_logout_redirect_uris: [`${url}/`],
          grant_types: ["authorization_code"],
          response_types: ["code"],
        },
      ],
      claims: { openid: ["sub"], profile: ["preferred_username", "groups"], email: ["email"] },
      findAccount: (_ctx, id) =>
        people[id]
          ? {
              accountId: id,
              claims: () => ({
                sub: id,
                preferred_username: id,
                groups: people[id],
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
      features: {
        devInteractions: { enabled: false },
        rpInitiatedLogout: { enabled: o.providerLogout ?? true },
      },
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
    // The provider's login page: a form that posts the person's name.
    handler = async (req, res) => {
      const path = req.url ?? "";
      const login = /^\/interaction\/([^/]+)\/login$/.exec(path);
      if (login && req.method === "POST") {
        const form = await readForm(req);
        await provider.interactionFinished(req, res, { login: { accountId: form.get("login") ?? "" } });
        return;
      }
      if (/^\/interaction\/[^/]+$/.test(path) && req.method === "GET") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(
          `<!doctype html><html lang="en"><title>Library sign-in</title><main><h1>Library sign-in</h1><form method="post" action="${path}/login"><label>Library account <input name="login"></label> <button>Continue</button></form></main></html>`,
        );
        return;
      }
      callback(req, res);
    };
  }
  return {
    url,
    db,
    accounts,
    audit,
    ...(issuer ? { issuer } : {}),
    async close() {
      await server.close();
      if (idp) await new Promise<void>((r) => idp.close(() => r()));
      db.close();
    },
  };
}
