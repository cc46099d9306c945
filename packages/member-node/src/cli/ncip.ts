import { join } from "node:path";
import { configOption, Database, loadConfig, printJson, sharedMigrations, Tier } from "@lrs/shared";
import type { Command } from "commander";
import { NcipQueue, type NcipTask } from "../ncip/queue.js";
import { memberMigrations } from "../store/migrations.js";

function withQueue<T>(configFile: string, fn: (q: NcipQueue) => T): T {
  const cfg = loadConfig(Tier.MEMBER, configFile);
  if (!cfg.ncip) throw new Error(`${configFile} has no [ncip] section (url, agency_id, …)`);
  const db = Database.open(join(cfg.dataDir, "node.db"), [...sharedMigrations, ...memberMigrations]);
  try {
    return fn(new NcipQueue(db));
  } finally {
    db.close();
  }
}

const line = (t: NcipTask) =>
  `${t.requestId}  ${t.service}  ${t.state === "failed" ? "failed" : `waiting (try ${t.attempts + 1} at ${t.dueAt.toISOString()})`}: ${t.lastError ?? ""}`;

/** `ncip list`, `ncip retry ID`: the NCIP calls to the ILS that did not go through. */
export function addNcipCommands(program: Command): void {
  const ncip = program
    .command("ncip")
    .description(
      "NCIP calls to the library's ILS ([ncip] in the config) that failed or wait for another try",
    );
  ncip
    .command("list")
    .description("list the calls that failed for good or are waiting for another try")
    .addOption(configOption())
    .option("--json", "print them as JSON")
    .action((o: { config: string; json?: boolean }) => {
      const tasks = withQueue(o.config, (q) => q.unfinished());
      if (o.json) printJson({ tasks });
      else
        process.stdout.write(
          tasks.length === 0 ? "every NCIP call went through\n" : `${tasks.map(line).join("\n")}\n`,
        );
    });
  ncip
    .command("retry")
    .description("try a request's failed or waiting NCIP calls again now (the running node sends them)")
    .addOption(configOption())
    .argument("<request-id>", "the ILL request")
    .option("--json", "print the result as JSON")
    .action((id: string, o: { config: string; json?: boolean }) => {
      const n = withQueue(o.config, (q) => q.retry(id, new Date()));
      if (o.json) printJson({ requestId: id, calls: n });
      else
        process.stdout.write(
          n === 0 ? `${id} has no NCIP call to retry\n` : `${n} NCIP call(s) of ${id} due now\n`,
        );
      process.exitCode = n === 0 ? 2 : 0;
    });
}
