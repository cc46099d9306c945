// The gauges an operator alerts on (deploy/prometheus/alerts.yaml), read when /metrics is scraped:
// outbox depth and dead letters per queue, the parent connection, the catalog sync lag, and the
// time left on the node's certificate.
import type { CatalogSyncPusher } from "../catalog-sync/pusher.js";
import type { Outbox } from "../outbox.js";
import type { CertificateInfo } from "../tls/pki.js";
import type { TrafficMetrics } from "../traffic/metrics.js";
import type { ParentLink } from "./parent-link.js";

export function registerNodeGauges(
  metrics: TrafficMetrics,
  o: {
    outbox: Outbox;
    cert: () => CertificateInfo;
    parent?: ParentLink;
    upstreamSync?: CatalogSyncPusher;
  },
): void {
  const depth = (which: "pending" | "dead") => () =>
    new Map([...o.outbox.depthByDestination()].map(([d, n]) => [d, n[which]]));
  metrics.gauge(
    "lrs_outbox_pending",
    "Cross-node messages stored and not yet delivered, by destination queue (parent or a node id).",
    depth("pending"),
    "destination",
  );
  metrics.gauge(
    "lrs_outbox_dead",
    "Dead letters: messages set aside after repeated refusals, by destination (lrs-<tier> outbox list --dead).",
    depth("dead"),
    "destination",
  );
  metrics.gauge("lrs_outbox_dead_total", "Dead letters, all destinations.", () => o.outbox.deadCount());
  metrics.gauge(
    "lrs_certificate_expiry_seconds",
    "Seconds until this node's certificate expires (notAfter); negative once expired.",
    () => (o.cert().validTo.getTime() - Date.now()) / 1000,
  );
  const parent = o.parent;
  if (parent) {
    metrics.gauge("lrs_parent_up", "1 when the connection to the parent center is up, 0 when not.", () =>
      parent.status().state === "connected" ? 1 : 0,
    );
  }
  const sync = o.upstreamSync;
  if (sync) {
    metrics.gauge("lrs_sync_lag", "Catalog changes not yet acknowledged by the parent.", () =>
      Number(sync.status().lag),
    );
    metrics.gauge(
      "lrs_sync_lag_seconds",
      "Age of the oldest catalog change not yet acknowledged by the parent (0: none waits).",
      () => sync.lagSeconds(),
    );
  }
}
