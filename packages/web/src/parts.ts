// What a node mounts to serve the staff web application on web_listen: one listener ("web").

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isLoopback, type NodeContext, splitHostPort, Tier, tierName } from "@lrs/shared";
import { OidcLogin } from "./auth/oidc.js";
import { webBaseUrl } from "./cli.js";
import { ChangeFeed } from "./events.js";
import { NodeLink } from "./node-link.js";
import type { NotifyEventSource } from "./notify/events.js";
import { Notifier } from "./notify/notifier.js";
import { createSender } from "./notify/send.js";
import { NotifyStore } from "./notify/store.js";
import { createWebServer, type WebNodeInfo } from "./server.js";
import { Accounts } from "./store/accounts.js";
import { AuditLog } from "./store/audit.js";
import { Sessions } from "./store/sessions.js";
import { LoginThrottle } from "./throttle.js";

/** Where the bundled browser app is (scripts/build-app.mjs writes it). */
export const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), "public");

export interface WebPartsOptions {
  ctx: NodeContext;
  /** The node's gRPC address once it listens. */
  address: () => string;
  /** The national dashboard's URL, when this node serves it. */
  dashboardUrl?: () => string;
  /** The traffic dashboard's figures by window name (the national center). */
  traffic?: (window: string | null) => object | string;
  /** The node's events staff can be notified of (a member's ILL); absent: tests only. */
  notifyEvents?: NotifyEventSource;
}

/** The "web" listener of a node: the staff web application at web_listen. */
export function webListener(o: WebPartsOptions) {
  const { cfg, db, log: nodeLog, tls } = o.ctx;
  const { host, port } = splitHostPort(cfg.web.listen);
  const log = nodeLog.child({ part: "web" });
  // HTTPS always, except on loopback (the machine itself): then plain HTTP, unless a certificate is configured.
  const useTls = !isLoopback(host) || !!cfg.web.certFile;
  const tlsFiles = cfg.web.certFile
    ? { keyPem: readFileSync(cfg.web.keyFile!, "utf8"), certPem: readFileSync(cfg.web.certFile, "utf8") }
    : { keyPem: tls.keyPem, certPem: tls.certPem };
  const link = new NodeLink({ endpoint: o.address, tls, nodeId: cfg.id });
  const node: WebNodeInfo = {
    id: cfg.id,
    name: cfg.name,
    tier: tierName(cfg.tier) as WebNodeInfo["tier"],
    region: cfg.region ?? "",
  };
  const notifyStore = new NotifyStore(db);
  const accounts = new Accounts(db);
  const sender = createSender(cfg.notifications);
  const notifier = new Notifier({
    store: notifyStore,
    ...(o.notifyEvents ? { source: o.notifyEvents } : {}),
    sender,
    cfg: cfg.notifications,
    node: { id: cfg.id, name: cfg.name },
    baseUrl: () => webBaseUrl(cfg),
    languageOf: (u) => accounts.language(u),
    log: log.child({ part: "notify" }),
  });
  const server = createWebServer({
    host,
    port,
    ...(useTls ? { tls: tlsFiles } : {}),
    publicDir: PUBLIC_DIR,
    node,
    accounts,
    sessions: new Sessions(db),
    audit: new AuditLog(db),
    throttle: new LoginThrottle(),
    link,
    feed: new ChangeFeed(link, log),
    ...(cfg.web.oidc
      ? { sso: new OidcLogin(cfg.web.oidc, () => `${webBaseUrl(cfg)}/api/oidc/callback`) }
      : {}),
    notify: {
      store: notifyStore,
      notifier,
      email: sender.email,
      events: !!o.notifyEvents,
      digestTime: cfg.notifications.digest_time,
      webhookHosts: sender.webhookHosts,
    },
    maxCopyBytes: cfg.tier === Tier.MEMBER ? cfg.ill.max_copy_size : 0,
    ...(o.dashboardUrl ? { dashboardUrl: o.dashboardUrl } : {}),
    ...(o.traffic ? { traffic: o.traffic } : {}),
    log,
  });
  return {
    name: "web",
    start: async () => {
      const url = await server.start();
      notifier.start();
      log.info({ url: cfg.web.publicUrl ?? url }, "staff web application listening");
      return url;
    },
    close: async () => {
      await server.close();
      await notifier.stop();
      link.close();
    },
  };
}
