import { toJson } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { configOption, loadConfig, printJson, searchPb, selfTransport, Tier } from "@lrs/shared";
import type { Command } from "commander";

const { Scope, Proximity, Availability, NodeCoverage_Status } = searchPb;

const SCOPES: Record<string, searchPb.Scope> = {
  local: Scope.LOCAL,
  region: Scope.REGION,
  national: Scope.NATIONAL,
};
export const NEAR: Record<number, string> = {
  [Proximity.OWN]: "own",
  [Proximity.REGION]: "region",
  [Proximity.OTHER_REGION]: "other region",
};
const AVAIL: Record<number, string> = {
  [Availability.AVAILABLE]: "available",
  [Availability.ON_LOAN]: "on loan",
  [Availability.NOT_LENDABLE]: "not lendable",
  [Availability.UNKNOWN]: "unknown",
};
const COVER: Record<number, string> = {
  [NodeCoverage_Status.ANSWERED]: "answered",
  [NodeCoverage_Status.TIMED_OUT]: "timed out",
  [NodeCoverage_Status.FAILED]: "failed",
  [NodeCoverage_Status.SKIPPED]: "skipped",
};

/** A state as words, with the date for "on loan until 2026-12-14" (due dates are whole days, UTC). */
function stateText(state: searchPb.Availability, until: Timestamp | undefined): string {
  const words = AVAIL[state] ?? "?";
  if (state !== Availability.ON_LOAN || !until) return words;
  return `${words} until ${timestampDate(until).toISOString().slice(0, 10)}`;
}

/** The coverage line: which node answered, timed out or failed. */
export function coverageLine(coverage: searchPb.NodeCoverage[]): string {
  return coverage
    .map(
      (c) =>
        `${c.nodeId} ${COVER[c.status] ?? "?"}${c.fallback ? " (fallback)" : ""}${c.status === NodeCoverage_Status.ANSWERED ? ` ${c.hits} hits ${c.elapsedMs} ms` : c.detail ? `: ${c.detail}` : ""}`,
    )
    .join("; ");
}

function printPage(m: searchPb.SearchResponse): void {
  const scope = Object.keys(SCOPES).find((k) => SCOPES[k] === m.answeredScope) ?? "?";
  process.stdout.write(`${m.total} hits (${scope}${m.final ? "" : ", first answer; more coming"})\n`);
  m.hits.forEach((h, i) => {
    process.stdout.write(
      `${String(i + 1).padStart(3)}. ${h.title}${h.author ? ` / ${h.author}` : ""}${h.year ? ` (${h.year})` : ""}  [${h.id}]\n`,
    );
    for (const x of h.holdings) {
      const avail = x.availability
        ? `, ${AVAIL[x.availability]}${x.availabilityReason ? ` (${x.availabilityReason})` : ""}`
        : "";
      const ordered =
        x.onOrder > 0
          ? `, ${x.onOrder} on order${x.expectedDate ? ` (expected ${x.expectedDate})` : ""}`
          : "";
      const kept = x.retainedUntil > 0 ? `, retained for the region until ${x.retainedUntil}` : "";
      process.stdout.write(
        `       ${x.institutionId.padEnd(18)} ${NEAR[x.proximity] ?? ""}, ${x.items} item(s)${ordered}${kept}${x.callNumber ? `, ${x.callNumber}` : ""}${avail}\n`,
      );
    }
  });
  for (const f of m.facets) {
    process.stdout.write(
      `  ${f.name}: ${f.values
        .slice(0, 8)
        .map((v) => `${v.value} (${v.count})`)
        .join(", ")}\n`,
    );
  }
  if (m.nextCursor) process.stdout.write(`next page: --cursor ${m.nextCursor}\n`);
  process.stdout.write(`coverage: ${coverageLine(m.coverage)}\n`);
}

export function addSearchCommand(program: Command): void {
  program
    .command("search")
    .description(
      "search the catalogs with CQL: this library's (local), its region's or the whole federation's",
    )
    .addOption(configOption())
    .argument("<query>", "CQL, e.g. 'dc.title=history and dc.date within \"1990 2000\"'")
    .option("--scope <scope>", "local, region or national", "region")
    .option("--page-size <n>", "hits per page (at most 100)", "20")
    .option("--cursor <cursor>", "the next page of an earlier search")
    .option("--facets", "count hits by region, institution, year, language and format")
    .option("--availability", "ask the holding libraries, live, whether they can lend")
    .option("--timeout <ms>", "deadline for the whole search", "8000")
    .option("--json", "print each answer as JSON")
    .action(
      async (
        query: string,
        o: {
          config: string;
          scope: string;
          pageSize: string;
          cursor?: string;
          facets?: boolean;
          availability?: boolean;
          timeout: string;
          json?: boolean;
        },
      ) => {
        const scope = SCOPES[o.scope.toLowerCase()];
        if (scope === undefined)
          throw new Error(`--scope must be local, region or national, not "${o.scope}"`);
        const t = selfTransport(loadConfig(Tier.MEMBER, o.config));
        try {
          const client = createClient(searchPb.SearchService, t.transport);
          for await (const m of client.search(
            {
              query,
              scope,
              pageSize: Number(o.pageSize),
              cursor: o.cursor ?? "",
              facets: o.facets === true,
              availability: o.availability === true,
            },
            { timeoutMs: Number(o.timeout) },
          )) {
            if (o.json) printJson(toJson(searchPb.SearchResponseSchema, m));
            else printPage(m);
          }
        } finally {
          t.close();
        }
      },
    );
}

/** `lrs-member availability CLUSTER`: "can I get it?" — every holding library asked live. */
export function addAvailabilityCommand(program: Command): void {
  program
    .command("availability")
    .description("ask every library that holds a cluster, live, whether it can lend it now")
    .addOption(configOption())
    .argument("<cluster-id>", 'a regional ("north-center:c42") or national ("national:c7") cluster id')
    .option("--timeout <ms>", "deadline for all the answers", "5000")
    .option("--json", "print as JSON")
    .action(async (clusterId: string, o: { config: string; timeout: string; json?: boolean }) => {
      const t = selfTransport(loadConfig(Tier.MEMBER, o.config));
      try {
        const res = await createClient(searchPb.SearchService, t.transport).checkAvailability(
          { clusterId },
          { timeoutMs: Number(o.timeout) },
        );
        if (o.json) return printJson(toJson(searchPb.CheckAvailabilityResponseSchema, res));
        for (const i of res.institutions) {
          process.stdout.write(
            `${i.institutionId.padEnd(18)} ${(i.region || "-").padEnd(8)} ${stateText(i.state, i.onLoanUntil)}${i.reason ? ` — ${i.reason}` : ""}\n`,
          );
          for (const it of i.items) {
            process.stdout.write(
              `    ${it.barcode.padEnd(16)} ${it.location.padEnd(10)} ${stateText(it.state, it.due)}${it.reason ? ` (${it.reason})` : ""}  ${it.callNumber}\n`,
            );
          }
        }
        process.stdout.write(`coverage: ${coverageLine(res.coverage)}\n`);
      } finally {
        t.close();
      }
    });
}
