import {
  addReindexCommand,
  baseProgram,
  configOption,
  Database,
  databasePath,
  loadConfig,
  type NodeConfig,
  printJson,
  runProgram,
  Tier,
} from "@lrs/shared";
import { addNotifyCommands, addUserCommands } from "@lrs/web";
import { copyRecord } from "./catalog/copy-cataloging.js";
import { BUILTIN_MAPS, resolveHoldingsMap } from "./catalog/holdings-map.js";
import { EXIT_FAILED, EXIT_OK, EXIT_REJECTIONS, exitCodeOf, importMarcFiles } from "./catalog/import.js";
import { addAcquireCommand, addOrderCommands, addRetainCommand } from "./cli/acquisitions.js";
import { addCopyrightCommand } from "./cli/copyright.js";
import { addCopyCommands } from "./cli/delivery.js";
import { addHarvestCommand } from "./cli/harvest.js";
import { addIllCommands } from "./cli/ill/commands.js";
import { createProgressReporter, formatSummary } from "./cli/import-report.js";
import { addLedgerCommand } from "./cli/ledger.js";
import { addNcipCommands } from "./cli/ncip.js";
import { addAvailabilityCommand, addSearchCommand } from "./cli/search.js";
import { addVisitCommands } from "./cli/visit.js";
import { MemberNode, memberNodeMigrations } from "./server.js";
import { MemberCatalog } from "./store/catalog.js";
import { memberIndexRebuild } from "./store/reindex.js";

/** The node's database, opened by a CLI command while the node may be serving from it (WAL). */
function openCatalog(cfg: NodeConfig): { db: Database; catalog: MemberCatalog } {
  const db = Database.open(databasePath(cfg), memberNodeMigrations(), { complete: true });
  return { db, catalog: new MemberCatalog(db, cfg.id) };
}

const IMPORT_HELP = `
Formats: MARC 21 ISO 2709 (UTF-8, or MARC-8 when leader/09 is blank) and MARCXML, each plain or
gzipped; told from the content, not the file name.

Record id: the record's 001; without one, its first 035 $a. Records are added or replaced by id;
a record whose MARC and items are unchanged is left alone (no change is sent upward). A record
whose leader/05 is "d" deletes the record with its id.

Items (--holdings-map):
  auto       per record, the first of koha, evergreen, 852 that has an item with a barcode (default)
  koha       952: $p barcode, $o call number, $a/$b home/holding branch, $c shelving location,
             $y item type (loan rule), $0 withdrawn, $1 lost, $4 damaged, $7 not for loan,
             $q due date (on loan until)
  evergreen  949: $i barcode, $a call number, $m library, $l shelving location, $k current
             location (status), $t item type (loan rule), $r N = does not circulate
  852        852: $p barcode, $k $h $i $m (or $j) call number, $b / $c location
  none       no items from the records
  FILE.json  {"tag":"949","barcode":"i","callNumber":"a","location":"ml","status":"k","loanRule":"t"}
--items FILE.csv (header record_id,barcode,call_number,location,status,loan_rule,due_date) sets
the items of the records it lists, instead of their holdings fields; rows for records already in
the catalog update their items. due_date (optional, YYYY-MM-DD) is when a copy on loan is due back;
a row whose due_date is not a date is rejected.

A malformed record is rejected with its number in the file and its byte offset (line for MARCXML);
the rest of the file is imported. A MARCXML record of any size is accepted (it is kept as MARCXML
when it is over ISO 2709's 99,999 bytes); an ISO 2709 record cannot be longer than that, and an
items row longer than 8,192 characters is refused.

Exit status: ${EXIT_OK} everything imported; ${EXIT_REJECTIONS} completed, but some records or rows were rejected;
${EXIT_FAILED} a file could not be read at all, or the import stopped.`;

const program = baseProgram(Tier.MEMBER, (cfg) => MemberNode.create(cfg), memberNodeMigrations);
addUserCommands(program, Tier.MEMBER);
addNotifyCommands(program, Tier.MEMBER);

addReindexCommand(program, Tier.MEMBER, (cfg) => {
  const { db } = openCatalog(cfg);
  return { db, target: memberIndexRebuild(db) };
});

program
  .command("import")
  .description("import MARC records and their items into the local catalog")
  .addOption(configOption())
  .argument("[paths...]", "MARC files (ISO 2709 or MARCXML, plain or gzipped)")
  .option(
    "--items <file.csv>",
    "items file: record_id,barcode,call_number,location,status,loan_rule[,due_date]",
  )
  .option(
    "--holdings-map <map>",
    `where items are in the records: ${BUILTIN_MAPS.join(", ")} or FILE.json`,
    "auto",
  )
  .option("--json", "print the summary as JSON")
  .addHelpText("after", IMPORT_HELP)
  .action(
    async (paths: string[], o: { config: string; items?: string; holdingsMap: string; json?: boolean }) => {
      if (paths.length === 0 && !o.items)
        throw new Error("nothing to import: give MARC files, --items FILE.csv, or both");
      const cfg = loadConfig(Tier.MEMBER, o.config);
      const holdingsMap = resolveHoldingsMap(o.holdingsMap);
      const { db, catalog } = openCatalog(cfg);
      const reporter = createProgressReporter(process.stderr);
      // The first Ctrl-C finishes the batch being written and prints the summary; a second one kills.
      const abort = new AbortController();
      const onSigint = () => {
        if (abort.signal.aborted) process.exit(130);
        abort.abort();
      };
      process.on("SIGINT", onSigint);
      try {
        const summary = await importMarcFiles(catalog, paths, {
          holdingsMap,
          ...(o.items ? { itemsFile: o.items } : {}),
          onProgress: (p) => reporter.onProgress(p),
          onRejection: (r) => reporter.onRejection(r),
          signal: abort.signal,
        });
        reporter.stop();
        if (o.json) printJson({ ...summary, records: catalog.count(), exitCode: exitCodeOf(summary) });
        else
          process.stdout.write(
            `${formatSummary(summary)}catalog: ${catalog.count()} records, ${catalog.itemCount()} items\n`,
          );
        process.exitCode = exitCodeOf(summary);
      } finally {
        reporter.stop();
        process.off("SIGINT", onSigint);
        db.close();
      }
    },
  );

addHarvestCommand(program);

program
  .command("delete")
  .description("delete records (and their items) from the local catalog by record id")
  .addOption(configOption())
  .argument("<recordIds...>", "record ids (the records' 001, or 035 $a when they have no 001)")
  .option("--json", "print the result as JSON")
  .addHelpText(
    "after",
    `\nEach deletion is sent upward as a tombstone.\nExit status: ${EXIT_OK} all deleted; ${EXIT_REJECTIONS} some ids were not in the catalog (the others are deleted).`,
  )
  .action((ids: string[], o: { config: string; json?: boolean }) => {
    const cfg = loadConfig(Tier.MEMBER, o.config);
    const { db, catalog } = openCatalog(cfg);
    try {
      const deleted: string[] = [];
      const notFound: string[] = [];
      for (const id of ids) (catalog.delete(id) ? deleted : notFound).push(id);
      if (o.json) printJson({ deleted, notFound });
      else {
        for (const id of deleted) process.stdout.write(`deleted ${id}\n`);
        for (const id of notFound) process.stderr.write(`not in the catalog: ${id}\n`);
      }
      process.exitCode = notFound.length > 0 ? EXIT_REJECTIONS : EXIT_OK;
    } finally {
      db.close();
    }
  });

program
  .command("copy-record")
  .description(
    "copy a cluster's preferred record from the union catalog into this catalog (counted as a download)",
  )
  .addOption(configOption())
  .argument("<cluster-id>", 'a regional ("north-center:c42") or national ("national:c7") cluster id')
  .option("--json", "print the result as JSON")
  .action(async (clusterId: string, o: { config: string; json?: boolean }) => {
    const cfg = loadConfig(Tier.MEMBER, o.config);
    const { db, catalog } = openCatalog(cfg);
    try {
      const res = await copyRecord(cfg, catalog, clusterId);
      if (o.json) printJson(res);
      else {
        process.stdout.write(
          `${res.outcome === "unchanged" ? "already copied" : res.outcome === "added" ? "copied" : "updated copy"} ${res.source.institutionId}/${res.source.recordId} as ${res.recordId}: ${res.title}\n`,
        );
      }
    } finally {
      db.close();
    }
  });

addSearchCommand(program);
addAvailabilityCommand(program);
addIllCommands(program);
// Document delivery belongs with ILL: `lrs-member ill upload-copy`, `ill download-copy`.
addCopyCommands(program.commands.find((c) => c.name() === "ill")!);
addLedgerCommand(program);
addOrderCommands(program);
addRetainCommand(program);
addAcquireCommand(program);
addCopyrightCommand(program);
addNcipCommands(program);
addVisitCommands(program);

await runProgram(program);
