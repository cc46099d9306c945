// What a node mounts to serve the staff web application on web_listen: one listener ("web").

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isLoopback, type NodeContext, splitHostPort, Tier, tierName } from "@lrs/shared";
import { ChangeFeed } from "./events.js";
import { NodeLink } from "./node-link.js";
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
  const server = createWebServer({
    host,
    port,
    ...(useTls ? { tls: tlsFiles } : {}),
    publicDir: PUBLIC_DIR,
    node,
    accounts: new Accounts(db),
    sessions: new Sessions(db),
    audit: new AuditLog(db),
    throttle: new LoginThrottle(),
    link,
    feed: new ChangeFeed(link, log),
    maxCopyBytes: cfg.tier === Tier.MEMBER ? cfg.ill.max_copy_size : 0,
    ...(o.dashboardUrl ? { dashboardUrl: o.dashboardUrl } : {}),
    ...(o.traffic ? { traffic: o.traffic } : {}),
    log,
  });
  return {
    name: "web",
    start: async () => {
      const url = await server.start();
      log.info({ url: cfg.web.publicUrl ?? url }, "staff web application listening");
      return url;
    },
    close: async () => {
      await server.close();
      link.close();
    },
  };
}
