import type { Command } from "commander";
import { type IndexRebuildTarget, rebuildSearchIndex } from "../catalog-index/rebuild.js";
import { loadConfig, type NodeConfig } from "../config.js";
import type { Database } from "../db.js";
import type { Tier } from "../gen/lrs/v1/common_pb.js";
import { initLogging } from "../log.js";
import { configOption, printJson } from "./cli.js";

/**
 * `lrs-<tier> reindex --config F`: rebuilds the catalog's search index and display fields by the
 * current rules, with progress in the log. The node may be serving meanwhile (WAL): each batch is
 * one short transaction, and searches see every record either as it was or rebuilt.
 */
export function addReindexCommand(
  program: Command,
  tier: Tier,
  open: (cfg: NodeConfig) => { db: Database; target: IndexRebuildTarget },
): void {
  program
    .command("reindex")
    .description("rebuild the catalog's search index and display fields by the current index rules")
    .addOption(configOption())
    .option("--json", "print the summary as JSON")
    .action((o: { config: string; json?: boolean }) => {
      const cfg = loadConfig(tier, o.config);
      const log = initLogging({
        level: cfg.log.level,
        ...(cfg.log.pretty === undefined ? {} : { pretty: cfg.log.pretty }),
        base: { node: cfg.id },
      });
      const { db, target } = open(cfg);
      try {
        const r = rebuildSearchIndex(db, target, log, { force: true });
        if (o.json) printJson({ what: target.what, records: r.records, ms: r.ms, fromRules: r.from });
        else
          process.stdout.write(
            `rebuilt the search index of ${r.records} records (${target.what}) in ${r.ms} ms\n`,
          );
      } finally {
        db.close();
      }
    });
}
