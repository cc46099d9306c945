// `lrs-national traffic` (and `lrs-regional traffic`): the traffic figures the node holds, for
// people without a browser: searches by region and scope with latency percentiles, the ILL flow
// between regions, fill rate, turnaround, errors, and every node's last report.
import { timestampDate, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import type { Command } from "commander";
import { loadConfig, parseDuration } from "../config.js";
import type { Tier } from "../gen/lrs/v1/common_pb.js";
import { DirectoryService } from "../gen/lrs/v1/directory_pb.js";
import { TrafficService } from "../gen/lrs/v1/traffic_pb.js";
import { ValidationError } from "../rpc/errors.js";
import { tierName } from "../tls/pki.js";
import { blockFromWire } from "../traffic/convert.js";
import {
  callTotals,
  errorTable,
  formatMs,
  gatewayTraffic,
  type InstitutionInfo,
  illFlow,
  searchTable,
  turnaround,
} from "../traffic/summary.js";
import { configOption, printJson, printTable, selfTransport } from "./cli.js";

/** "1h", "30m", "7d", or an ISO time: the start of the span asked for. */
export function parseSince(text: string, now = Date.now()): Date {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(now - ms);
  const at = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(at.getTime()))
    throw new ValidationError(`--since "${text}": expected a duration such as 1h, 30m, 7d, or an ISO time`);
  return at;
}

const pct = (x: number | undefined) => (x === undefined ? "–" : `${(x * 100).toFixed(0)}%`);
const ago = (ms: number) => (ms < 60_000 ? `${Math.round(ms / 1000)} s ago` : `${formatMs(ms)} ago`);

export function addTrafficCommand(program: Command, tier: Tier): void {
  const name = `lrs-${tierName(tier)}`;
  program
    .command("traffic")
    .description("the traffic figures this node holds: searches, ILL flow between regions, errors, nodes")
    .addOption(configOption())
    .option("--since <when>", "from when: a duration back from now (1h, 30m, 7d) or an ISO time", "1h")
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      `
Examples:
  ${name} traffic --config national.toml                 # the last hour
  ${name} traffic --config national.toml --since 24h --json

Searches count where they entered the federation (the node whose own client asked, or SRU), with
their end-to-end latency; ILL messages count once, where they arrived. Figures reach the national
center once per reporting interval ([traffic] flush_interval) of each node.`,
    )
    .action(async (o: { config: string; since: string; json?: boolean }) => {
      const cfg = loadConfig(tier, o.config);
      const since = parseSince(o.since);
      const t = selfTransport(cfg);
      try {
        const traffic = createClient(TrafficService, t.transport);
        const directory = createClient(DirectoryService, t.transport);
        const [res, dir] = await Promise.all([
          traffic.getTraffic({ since: timestampFromMs(since.getTime()) }, { timeoutMs: 30_000 }),
          directory.getDirectory({}, { timeoutMs: 10_000 }),
        ]);
        const infos = new Map<string, InstitutionInfo>(
          (dir.directory?.institutions ?? []).map((i) => [
            i.id,
            { id: i.id, name: i.name, tier: i.tier, region: i.region },
          ]),
        );
        const lookup = (id: string) => infos.get(id);
        const blocks = res.blocks.map(blockFromWire);
        const from = res.since ? timestampDate(res.since) : since;
        const until = res.until ? timestampDate(res.until) : new Date();
        const minutes = Math.max(1, Math.round((until.getTime() - from.getTime()) / 60_000));
        const searches = searchTable(blocks, lookup, minutes);
        const flow = illFlow(blocks, lookup);
        const turn = turnaround(blocks);
        const errors = errorTable(blocks);
        const totals = callTotals(blocks);
        const gateway = gatewayTraffic(blocks);
        const now = Date.now();
        const nodes = res.health.map((h) => ({
          node: h.nodeId,
          region: infos.get(h.nodeId)?.region || "-",
          lastContact: h.observedAt ? new Date(timestampMs(h.observedAt)).toISOString() : undefined,
          syncLag: Number(h.syncLag),
          outboxPending: h.outboxPending,
          illOpen: h.illOpen,
          illOverdue: h.illOverdue,
          illStale: h.illStale,
          illAttention: h.illAttention,
        }));
        if (o.json)
          return printJson({
            since: from.toISOString(),
            until: until.toISOString(),
            minutes,
            searches,
            ill: { ...flow.totals, matrix: flow.cells, balances: flow.balances, turnaround: turn },
            gateway,
            errors,
            totals,
            nodes,
          });
        const out = (s = "") => process.stdout.write(`${s}\n`);
        out(`traffic at ${cfg.id} from ${from.toISOString()} to ${until.toISOString()} (${minutes} min)`);
        out(
          `${totals.calls} calls answered, ${totals.errors} failed; ${totals.syncRecords} records synced; ${totals.downloads.record} records and ${totals.downloads.copy} copies downloaded`,
        );
        out();
        out("searches, by the region they came from and their scope");
        if (searches.length === 0) out("  none");
        else
          printTable(
            searches.map((r) => ({
              region: r.region,
              scope: r.scope,
              searches: String(r.searches),
              "per min": r.perMinute.toFixed(2),
              p50: formatMs(r.latency.p50),
              p95: formatMs(r.latency.p95),
              p99: formatMs(r.latency.p99),
              errors: String(r.errors),
            })),
          );
        out();
        out("interlibrary loan between regions (borrowers → lenders)");
        if (flow.cells.length === 0) out("  none");
        else
          printTable(
            flow.cells.map((c) => ({
              from: c.from,
              to: c.to,
              requests: String(c.requests),
              filled: String(c.filled),
              unfilled: String(c.unfilled),
              "fill rate": pct(c.filled + c.unfilled > 0 ? c.filled / (c.filled + c.unfilled) : undefined),
            })),
          );
        out(
          `fill rate ${pct(flow.totals.fillRate)}: ${flow.totals.filled} filled, ${flow.totals.unfilled} unfilled, of ${flow.totals.requests} requests (${flow.totals.messages} ISO messages)`,
        );
        if (turn.length > 0) {
          out();
          out("turnaround, request → filled");
          printTable(
            turn.map((r) => ({
              service: r.serviceType,
              filled: String(r.filled),
              p50: formatMs(r.latency.p50),
              p95: formatMs(r.latency.p95),
              p99: formatMs(r.latency.p99),
            })),
          );
        }
        out();
        out("outside partners, through the ISO 18626 gateway (messages received and sent)");
        if (gateway.length === 0) out("  none");
        else
          printTable(
            gateway.map((g) => ({
              partner: g.partner,
              received: String(g.received),
              refused: String(g.refused),
              sent: String(g.sent),
              errors: String(g.failed),
              "p95 answer": formatMs(g.latency.p95),
              kinds: Object.entries(g.byKind)
                .map(([k, n]) => `${k} ${n}`)
                .join(", "),
            })),
          );
        out();
        out("errors");
        if (errors.length === 0) out("  none");
        else
          printTable(
            errors.slice(0, 20).map((e) => ({ node: e.node, error: e.error, count: String(e.count) })),
          );
        out();
        out("nodes, as they last reported");
        if (nodes.length === 0) out("  none");
        else
          printTable(
            nodes.map((n) => ({
              node: n.node,
              region: n.region,
              "last contact": n.lastContact ? ago(now - Date.parse(n.lastContact)) : "-",
              "sync lag": String(n.syncLag),
              outbox: String(n.outboxPending),
              "ill open": String(n.illOpen),
              overdue: String(n.illOverdue),
              stale: String(n.illStale),
            })),
          );
      } finally {
        t.close();
      }
    });
}
