import { join } from "node:path";
import { configOption, Database, loadConfig, printJson, sharedMigrations, Tier } from "@lrs/shared";
import { type Command, Option } from "commander";
import { HarvestError, type HarvestSummary, harvestCatalog } from "../catalog/harvest.js";
import { MemberCatalog } from "../store/catalog.js";
import { HarvestBusyError } from "../store/harvest-lock.js";
import { memberMigrations } from "../store/migrations.js";

function formatSummary(s: HarvestSummary): string {
  const lines = [
    `harvested ${s.source}${s.full ? " (full)" : s.from ? ` from ${s.from}` : " (everything: first harvest)"}${s.resumed ? ", resumed where the last one stopped" : ""}`,
    `${s.pages} pages: ${s.added} added, ${s.updated} updated, ${s.unchanged} unchanged, ${s.deleted} deleted, ${s.rejected} rejected; ${s.items} items (${Math.round(s.recordsPerSecond)} records/s)`,
  ];
  if (s.restarted)
    lines.push("the ILS refused a resumption token: the list was asked for again (nothing doubled)");
  for (const r of s.rejections.slice(0, 20)) lines.push(`  rejected ${r.identifier}: ${r.reason}`);
  if (s.rejections.length > 20) lines.push(`  … and ${s.rejected - 20} more (--json lists up to 1000)`);
  if (s.nextFrom) lines.push(`next harvest asks from ${s.nextFrom}`);
  return `${lines.join("\n")}\n`;
}

/** `harvest`: runs the `[harvest]` of the config once. */
export function addHarvestCommand(program: Command): void {
  program
    .command("harvest")
    .description(
      "harvest the library's ILS over OAI-PMH ([harvest] in the config) into the local catalog, once",
    )
    .addOption(configOption())
    .addOption(new Option("--full", "harvest everything again, not only what changed since the last harvest"))
    .option("--json", "print the summary as JSON")
    .addHelpText(
      "after",
      `
Incremental from the start of the last harvest that finished; a harvest that failed half-way
resumes at the page it had not written. Exit status: 0 done, 2 done with rejected records,
1 the ILS could not be harvested (what was written stays; run again to resume), or another
harvest (the node's schedule, or another lrs-member harvest) is running.`,
    )
    .action(async (o: { config: string; full?: boolean; json?: boolean }) => {
      const cfg = loadConfig(Tier.MEMBER, o.config);
      if (!cfg.harvest) throw new Error(`${o.config} has no [harvest] section (url, metadata_prefix, …)`);
      const db = Database.open(join(cfg.dataDir, "node.db"), [...sharedMigrations, ...memberMigrations]);
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.on("SIGINT", onSigint);
      try {
        const s = await harvestCatalog(db, new MemberCatalog(db, cfg.id), cfg.harvest, {
          full: o.full ?? false,
          signal: abort.signal,
          onProgress: (p) => {
            if (!o.json && process.stderr.isTTY) {
              process.stderr.write(`\rpage ${p.pages}: ${p.records}${p.total ? `/${p.total}` : ""} records`);
            }
          },
          onRetry: (err, attempt, ms) =>
            process.stderr.write(`${err.message}; try ${attempt + 1} in ${Math.round(ms / 1000)}s\n`),
        });
        if (!o.json && process.stderr.isTTY) process.stderr.write("\n");
        if (o.json) printJson(s);
        else process.stdout.write(formatSummary(s));
        process.exitCode = s.rejected > 0 ? 2 : 0;
      } catch (err) {
        if (!(err instanceof HarvestError || err instanceof HarvestBusyError)) throw err;
        if (o.json) printJson({ error: err.message });
        process.stderr.write(`harvest failed: ${err.message}\n`);
        process.exitCode = 1;
      } finally {
        process.off("SIGINT", onSigint);
        db.close();
      }
    });
}
