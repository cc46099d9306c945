// `lrs-regional report …` and `lrs-national report …`: the collection reports of
// union/collection-report.ts as CSV, read from the node's database (WAL: the node may be running).
import { createWriteStream } from "node:fs";
import type { Command } from "commander";
import { loadConfig } from "../config.js";
import { Database, type Migration } from "../db.js";
import { type Tier, Tier as TierEnum } from "../gen/lrs/v1/common_pb.js";
import { databasePath } from "../node/base-node.js";
import { configOption } from "../node/cli.js";
import { csvLine } from "../util/csv.js";
import {
  DEMAND_COLUMNS,
  OVERLAP_COLUMNS,
  overlap,
  SHARED_COLUMNS,
  sharedHoldings,
  UNIQUE_COLUMNS,
  unheldDemand,
  uniqueHoldings,
} from "./union/collection-report.js";
import { DemandLog, yearBefore } from "./union/demand.js";

interface Out {
  write(fields: ReadonlyArray<string | number>): Promise<void>;
  close(): Promise<void>;
  rows: number;
}

/** A CSV sink on a file or standard output that waits when the stream is full (bounded memory). */
function csvOut(path: string | undefined): Out {
  const stream: NodeJS.WritableStream = path ? createWriteStream(path) : process.stdout;
  const out: Out = {
    rows: 0,
    async write(fields) {
      out.rows++;
      if (!stream.write(csvLine(fields))) await new Promise<void>((r) => stream.once("drain", () => r()));
    },
    async close() {
      if (path) await new Promise<void>((r) => stream.end(() => r()));
    },
  };
  return out;
}

/**
 * What a demand report covers, for its reader (standard error): since when requests were
 * counted and, at the national center, which regions sent theirs and which never did.
 */
export function demandCoverage(
  db: Database,
  tier: Tier,
  since: Date,
  regions: ((db: Database) => string[]) | undefined,
): string[] {
  const log = new DemandLog(db);
  const day = (d: Date) => d.toISOString().slice(0, 10);
  if (tier !== TierEnum.NATIONAL) {
    const from = log.countingSince();
    return [
      from > since
        ? `ILL demand is counted since ${day(from)} (when this center began counting), not since ${day(since)}: earlier requests are not in the report`
        : `ILL demand since ${day(since)}`,
    ];
  }
  const sources = log.sources();
  const lines = sources.map(
    (s) =>
      `${s.region} (${s.center}): counted since ${day(s.countingSince)}, last heard from ${s.lastReceivedAt.toISOString()}`,
  );
  const latest = sources.reduce<Date | undefined>(
    (m, s) => (!m || s.countingSince > m ? s.countingSince : m),
    undefined,
  );
  if (latest && latest > since)
    lines.push(`not every region counted since ${day(since)}: the report is whole from ${day(latest)} only`);
  const heard = new Set(sources.map((s) => s.region));
  const missing = (regions?.(db) ?? []).filter((r) => !heard.has(r));
  if (missing.length > 0)
    lines.push(
      `regions that never sent their demand (their members' requests are missing): ${missing.join(", ")}`,
    );
  if (sources.length === 0) lines.push("no region has sent its ILL demand yet");
  return lines;
}

export function addReportCommands(
  program: Command,
  tier: Tier,
  migrations: () => Migration[],
  /** At the national center: the federation's regions (to name those that never reported demand). */
  regions?: (db: Database) => string[],
): void {
  const report = program
    .command("report")
    .description("collection reports over the union catalog, as CSV (streamed: bounded memory at any size)");
  const open = (config: string) => {
    const cfg = loadConfig(tier, config);
    return { cfg, db: Database.open(databasePath(cfg), migrations(), { complete: true }) };
  };
  const run = async (
    o: { config: string; output?: string },
    columns: readonly string[],
    rows: (db: Database, id: (n: number) => string) => Iterable<Array<string | number>>,
  ) => {
    const { cfg, db } = open(o.config);
    const out = csvOut(o.output);
    try {
      await out.write(columns);
      for (const row of rows(db, (n) => `${cfg.id}:c${n}`)) await out.write(row);
    } finally {
      await out.close();
      db.close();
    }
    process.stderr.write(`${out.rows - 1} rows\n`);
  };

  report
    .command("unique")
    .description("titles held by one library only: the last copies to keep")
    .addOption(configOption())
    .option("--institution <id>", "only this library's last copies")
    .option("-o, --output <file.csv>", "where to write (default: standard output)")
    .action((o: { config: string; institution?: string; output?: string }) =>
      run(o, UNIQUE_COLUMNS, (db, id) => uniqueHoldings(db, id, o.institution)),
    );

  report
    .command("shared")
    .description("titles held by many libraries: candidates for shared retention or withdrawal")
    .addOption(configOption())
    .option("--min <n>", "at least this many holding libraries", "3")
    .option("-o, --output <file.csv>", "where to write (default: standard output)")
    .action((o: { config: string; min: string; output?: string }) => {
      const min = Number(o.min);
      if (!Number.isInteger(min) || min < 2)
        throw new Error(`--min must be a whole number of 2 or more, not "${o.min}"`);
      return run(o, SHARED_COLUMNS, (db, id) => sharedHoldings(db, id, min));
    });

  report
    .command("overlap")
    .description("titles two libraries both hold, and each one's own")
    .addOption(configOption())
    .argument("<a>", "a library")
    .argument("<b>", "another library")
    .option("-o, --output <file.csv>", "where to write (default: standard output)")
    .action(async (a: string, b: string, o: { config: string; output?: string }) => {
      if (a === b) throw new Error("give two different libraries");
      const { cfg, db } = open(o.config);
      const out = csvOut(o.output);
      let pending: Promise<void> = Promise.resolve();
      try {
        await out.write(OVERLAP_COLUMNS);
        const s = overlap(
          db,
          (n) => `${cfg.id}:c${n}`,
          a,
          b,
          (row) => {
            pending = pending.then(() => out.write(row));
          },
        );
        await pending;
        process.stderr.write(`both ${s.both}, only ${a} ${s.onlyA}, only ${b} ${s.onlyB}\n`);
      } finally {
        await out.close();
        db.close();
      }
    });

  report
    .command("demand")
    .description(
      "ILL demand for titles nobody holds (a regional center: its members' requests; the national center: every region's, as they sent them)",
    )
    .addOption(configOption())
    .option("--since <date>", "requests since this day (default: a year ago)")
    .option("-o, --output <file.csv>", "where to write (default: standard output)")
    .action((o: { config: string; since?: string; output?: string }) => {
      const since = o.since ? new Date(`${o.since}T00:00:00Z`) : yearBefore(new Date());
      if (Number.isNaN(since.getTime()))
        throw new Error(`--since must be a day (YYYY-MM-DD), not "${o.since}"`);
      return run(o, DEMAND_COLUMNS, (db) => {
        for (const line of demandCoverage(db, tier, since, regions)) process.stderr.write(`${line}\n`);
        return unheldDemand(db, since);
      });
    });
}
