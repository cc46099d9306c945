import { toJson } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import type { Command } from "commander";
import { loadConfig } from "../../config.js";
import type { Tier } from "../../gen/lrs/v1/common_pb.js";
import { IllService, TraceResponseSchema } from "../../gen/lrs/v1/ill_service_pb.js";
import { NodeCoverage_Status } from "../../gen/lrs/v1/search_pb.js";
import { configOption, printJson, printTable, selfTransport } from "../../node/cli.js";

/** How long `ill trace` waits: it may ask the national center and, through it, another region. */
const TRACE_TIMEOUT_MS = 15_000;

function when(t: Timestamp | undefined): string {
  return t ? timestampDate(t).toISOString().replace("T", " ").slice(0, 19) : "";
}

/** `ill trace`: where the messages of an ILL request went, at a regional or the national center. */
export function addIllCenterCommands(program: Command, tier: Tier): void {
  const ill = program.command("ill").description("interlibrary loan messages relayed by this center");
  ill
    .command("trace")
    .description(
      "show every message of a request that passed through this center (and, unless --no-follow, the next centers)",
    )
    .addOption(configOption())
    .argument("<request-id>", 'the borrower\'s request id, or an ISO request id ("<request id>/<position>")')
    .option("--json", "print as JSON")
    .option("--no-follow", "only what this center saw")
    .action(async (requestId: string, o: { config: string; json?: boolean; follow: boolean }) => {
      const cfg = loadConfig(tier, o.config);
      const t = selfTransport(cfg);
      let res: Awaited<ReturnType<ReturnType<typeof createClient<typeof IllService>>["trace"]>>;
      try {
        res = await createClient(IllService, t.transport).trace(
          { requestId, follow: o.follow },
          { timeoutMs: TRACE_TIMEOUT_MS },
        );
      } finally {
        t.close();
      }
      if (o.json) return printJson(toJson(TraceResponseSchema, res));
      if (res.hops.length === 0)
        process.stdout.write(`no message of request ${requestId} passed through ${cfg.id}\n`);
      printTable(
        res.hops.map((h) => ({
          at: h.nodeId,
          received: when(h.receivedAt),
          kind: h.kind,
          from: h.originAgencyId,
          to: h.destinationAgencyId,
          request: h.requestingAgencyRequestId,
          "came from": h.receivedFrom,
          "next hop": h.nextHop || "-",
          forwarded: h.forwardedAt
            ? when(h.forwardedAt)
            : `waiting${h.attempts ? ` (${h.attempts} attempts${h.lastError ? `: ${h.lastError}` : ""})` : ""}`,
          message: h.messageId,
        })),
      );
      const missing = res.coverage.filter((c) => c.status !== NodeCoverage_Status.ANSWERED);
      for (const c of missing)
        process.stdout.write(`${c.nodeId}: ${NodeCoverage_Status[c.status].toLowerCase()} ${c.detail}\n`);
    });
}
