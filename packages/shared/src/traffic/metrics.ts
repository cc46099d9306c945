// Prometheus metrics of a node (prom-client): the traffic figures as counters and histograms, a
// few gauges of the node's state, and the process metrics; served over plain HTTP at /metrics on
// the node's metrics_listen (and, at the centers, on the SRU listener as well).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Logger } from "../log.js";
import { TRAFFIC_KINDS } from "./cells.js";
import type { TrafficSink } from "./recorder.js";

/** Seconds: RPCs and searches, from a tenth of a millisecond to a minute. */
const CALL_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds: an ILL request filled, from a minute to a month. */
const TURNAROUND_BUCKETS = [
  60,
  300,
  900,
  3600,
  4 * 3600,
  12 * 3600,
  86_400,
  2 * 86_400,
  4 * 86_400,
  7 * 86_400,
  14 * 86_400,
  30 * 86_400,
];

let processRegistry: Registry | undefined;

/** Process metrics (CPU, memory, event loop, GC), collected once per process whatever the nodes in it. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export interface NodeGauges {
  /** Traffic blocks not yet acknowledged by the parent. */
  trafficUnreported?: () => number;
}

/** One node's metrics. Counting goes through `record` (a TrafficSink of the node's recorder). */
export class TrafficMetrics implements TrafficSink {
  readonly registry = new Registry();
  readonly #calls: Counter<"method" | "caller" | "outcome">;
  readonly #callSeconds: Histogram<"method">;
  readonly #errors: Counter<"method" | "code">;
  readonly #searches: Counter<"scope" | "caller">;
  readonly #searchSeconds: Histogram<"scope">;
  readonly #syncBatches: Counter<"caller" | "phase">;
  readonly #syncRecords: Counter<"caller">;
  readonly #ill: Counter<"message">;
  readonly #turnaround: Histogram<"service">;
  readonly #downloads: Counter<"what">;
  readonly #downloadBytes: Counter<"what">;
  readonly #other: Counter<"kind" | "detail">;

  constructor(node: { id: string; tier: string; region: string; version: string }, gauges: NodeGauges = {}) {
    const registers = [this.registry];
    this.#calls = new Counter({
      name: "lrs_rpc_calls_total",
      help: "RPCs answered by this node, by method, calling institution and outcome (ok or error).",
      labelNames: ["method", "caller", "outcome"],
      registers,
    });
    this.#callSeconds = new Histogram({
      name: "lrs_rpc_duration_seconds",
      help: "Time to answer an RPC (server streams: until the stream ended).",
      labelNames: ["method"],
      buckets: CALL_BUCKETS,
      registers,
    });
    this.#errors = new Counter({
      name: "lrs_rpc_errors_total",
      help: "RPCs that failed, by method and gRPC code.",
      labelNames: ["method", "code"],
      registers,
    });
    this.#searches = new Counter({
      name: "lrs_searches_total",
      help: "Searches answered by this node, by scope and calling institution (sru: over SRU).",
      labelNames: ["scope", "caller"],
      registers,
    });
    this.#searchSeconds = new Histogram({
      name: "lrs_search_duration_seconds",
      help: "Time to answer a search, by scope.",
      labelNames: ["scope"],
      buckets: CALL_BUCKETS,
      registers,
    });
    this.#syncBatches = new Counter({
      name: "lrs_sync_batches_total",
      help: "Catalog sync batches received, by sending node and phase (batch or resync).",
      labelNames: ["caller", "phase"],
      registers,
    });
    this.#syncRecords = new Counter({
      name: "lrs_sync_records_total",
      help: "Record changes received in catalog sync batches, by sending node.",
      labelNames: ["caller"],
      registers,
    });
    this.#ill = new Counter({
      name: "lrs_ill_messages_total",
      help: "ISO 18626 messages stored by this node, by message (e.g. SupplyingAgencyMessage Loaned).",
      labelNames: ["message"],
      registers,
    });
    this.#turnaround = new Histogram({
      name: "lrs_ill_turnaround_seconds",
      help: "From an ILL request to its being filled, at the borrower, by service type.",
      labelNames: ["service"],
      buckets: TURNAROUND_BUCKETS,
      registers,
    });
    this.#downloads = new Counter({
      name: "lrs_downloads_total",
      help: "Records copied from the union catalog (record) and delivered copies downloaded (copy).",
      labelNames: ["what"],
      registers,
    });
    this.#downloadBytes = new Counter({
      name: "lrs_download_bytes_total",
      help: "Bytes of delivered copies downloaded.",
      labelNames: ["what"],
      registers,
    });
    this.#other = new Counter({
      name: "lrs_traffic_events_total",
      help: "Other traffic figures, by kind and detail.",
      labelNames: ["kind", "detail"],
      registers,
    });
    new Gauge({
      name: "lrs_node_info",
      help: "This node: institution id, tier, region and LRS version (always 1).",
      labelNames: ["id", "tier", "region", "version"],
      registers,
    }).set({ id: node.id, tier: node.tier, region: node.region || "-", version: node.version }, 1);
    this.gauge(
      "lrs_traffic_unreported_blocks",
      "Traffic blocks (node and minute) not yet acknowledged by the parent.",
      gauges.trafficUnreported,
    );
  }

  /**
   * A gauge read when /metrics is scraped: one value, or one value per label value (`label` names
   * the label; the values read replace the previous ones, so a queue that emptied shows 0 only as
   * long as `read` still lists it).
   */
  gauge(name: string, help: string, read: (() => number) | undefined): void;
  gauge(name: string, help: string, read: () => Map<string, number>, label: string): void;
  gauge(
    name: string,
    help: string,
    read: (() => number) | (() => Map<string, number>) | undefined,
    label?: string,
  ): void {
    if (!read) return;
    new Gauge({
      name,
      help,
      labelNames: label ? [label] : [],
      registers: [this.registry],
      collect() {
        let value: number | Map<string, number>;
        try {
          value = read();
        } catch {
          // The database is closing: leave the last value.
          return;
        }
        if (typeof value === "number") {
          this.set(value);
          return;
        }
        this.reset();
        for (const [v, n] of value) this.set({ [label!]: v }, n);
      },
    });
  }

  record(
    kind: string,
    detail: string,
    caller: string,
    _callee: string,
    ms: number | undefined,
    error: boolean,
    items: number,
  ): void {
    const seconds = ms === undefined ? undefined : ms / 1000;
    switch (kind) {
      case TRAFFIC_KINDS.rpc:
        this.#calls.inc({ method: detail, caller, outcome: error ? "error" : "ok" });
        if (seconds !== undefined) this.#callSeconds.observe({ method: detail }, seconds);
        return;
      case TRAFFIC_KINDS.error: {
        const space = detail.lastIndexOf(" ");
        this.#errors.inc({ method: detail.slice(0, space), code: detail.slice(space + 1) });
        return;
      }
      case TRAFFIC_KINDS.search:
        this.#searches.inc({ scope: detail, caller });
        if (seconds !== undefined) this.#searchSeconds.observe({ scope: detail }, seconds);
        return;
      case TRAFFIC_KINDS.sync:
        this.#syncBatches.inc({ caller, phase: detail });
        if (items) this.#syncRecords.inc({ caller }, items);
        return;
      case TRAFFIC_KINDS.ill:
        this.#ill.inc({ message: detail });
        return;
      case TRAFFIC_KINDS.turnaround:
        if (seconds !== undefined) this.#turnaround.observe({ service: detail }, seconds);
        return;
      case TRAFFIC_KINDS.download:
        this.#downloads.inc({ what: detail });
        if (items) this.#downloadBytes.inc({ what: detail }, items);
        return;
      default:
        this.#other.inc({ kind, detail });
    }
  }

  /** The exposition text: this node's metrics and the process's. */
  async text(): Promise<{ contentType: string; body: string }> {
    const merged = Registry.merge([processMetrics(), this.registry]);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }

  /** Answers GET /metrics (HEAD too); anything else is the caller's to answer. */
  async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" });
      res.end("GET /metrics\n");
      return;
    }
    const { contentType, body } = await this.text();
    res.writeHead(200, { "Content-Type": contentType, "Cache-Control": "no-store" });
    res.end(req.method === "HEAD" ? undefined : body);
  }
}

/** A plain-HTTP listener that serves /metrics and, when given, the node's probes (/healthz, /readyz). */
export interface MetricsServer {
  /** Starts listening; resolves with the URL of /metrics. */
  start(): Promise<string>;
  close(): Promise<void>;
}

export function createMetricsServer(o: {
  host: string;
  port: number;
  metrics: TrafficMetrics;
  log: Logger;
  /** Other paths this listener answers: true when it answered. */
  other?: (path: string, req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}): MetricsServer {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path !== "/metrics") {
      if (o.other?.(path, req, res)) return;
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
      res.end(
        `Not found. Prometheus metrics are at /metrics${o.other ? ", probes at /healthz and /readyz" : ""}\n`,
      );
      return;
    }
    o.metrics.serve(req, res).catch((err: unknown) => {
      o.log.error({ err }, "metrics request failed");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    start: () =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(o.port, o.host, () => {
          server.off("error", reject);
          const a = server.address() as AddressInfo;
          const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
          resolve(`http://${host}:${a.port}/metrics`);
        });
      }),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
