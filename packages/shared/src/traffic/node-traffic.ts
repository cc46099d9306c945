// What every node has for traffic: the recorder (counting), the store (figures by minute), the
// metrics (Prometheus), and the loop that writes counts to the store once per flush interval.
import type { NodeConfig } from "../config.js";
import type { Database } from "../db.js";
import type { Logger } from "../log.js";
import { tierName } from "../tls/pki.js";
import { type NodeGauges, TrafficMetrics } from "./metrics.js";
import { TrafficRecorder } from "./recorder.js";
import { TrafficStore } from "./store.js";

export interface NodeTraffic {
  recorder: TrafficRecorder;
  store: TrafficStore;
  metrics: TrafficMetrics;
}

/** The traffic parts of a node, from its config. */
export function openNodeTraffic(cfg: NodeConfig, db: Database, version: string): NodeTraffic {
  const store = new TrafficStore(db, { nodeId: cfg.id, retentionMs: cfg.traffic.retention });
  const gauges: NodeGauges = { trafficUnreported: () => store.unreported() };
  const metrics = new TrafficMetrics(
    { id: cfg.id, tier: tierName(cfg.tier), region: cfg.region, version },
    gauges,
  );
  const recorder = new TrafficRecorder({
    nodeId: cfg.id,
    enabled: cfg.traffic.enabled,
    ...(cfg.traffic.enabled ? { sink: metrics } : {}),
  });
  return { recorder, store, metrics };
}

const PRUNE_EVERY_MS = 3_600_000;

/**
 * Writes what the recorder counted to the store every `intervalMs` (one transaction; nothing
 * when it counts nothing), prunes what is past the retention every hour, and writes what is left
 * when `signal` aborts (the server has stopped by then, so nothing more is counted).
 */
export async function runTrafficLoop(
  o: {
    recorder: TrafficRecorder;
    store: TrafficStore;
    intervalMs: number;
    log: Logger;
    /** After a flush that stored something (to wake the report upward). */
    onFlushed?: () => void;
  },
  signal: AbortSignal,
): Promise<void> {
  const flush = () => {
    try {
      const minutes = o.recorder.flush();
      if (minutes.length === 0) return;
      o.store.addLocal(minutes);
      o.onFlushed?.();
    } catch (err) {
      o.log.error({ err }, "writing traffic figures failed");
    }
  };
  const prune = () => {
    try {
      const removed = o.store.prune();
      if (removed > 0) o.log.debug({ removed }, "traffic figures past the retention removed");
    } catch (err) {
      o.log.error({ err }, "pruning traffic figures failed");
    }
  };
  // Pruned also when this node counts nothing itself: a center keeps what the tier below reports.
  prune();
  let lastPrune = Date.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      flush();
      if (Date.now() - lastPrune >= PRUNE_EVERY_MS) {
        lastPrune = Date.now();
        prune();
      }
    }, o.intervalMs);
    const stop = () => {
      clearInterval(timer);
      flush();
      resolve();
    };
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
  });
}
