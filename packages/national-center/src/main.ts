import {
  addReindexCommand,
  addTokenCommands,
  addTrafficCommand,
  baseProgram,
  configOption,
  Database,
  databasePath,
  loadConfig,
  nodeMigrations,
  runProgram,
  Tier,
  withSelf,
} from "@lrs/shared";
import {
  addIllCenterCommands,
  addReportCommands,
  addUnionCatalogCommands,
  unionIndexRebuild,
} from "@lrs/shared/center";
import { addUserCommands } from "@lrs/web";
import { addCaCommands } from "./ca-cli.js";
import { addLedgerCommands } from "./ledger-cli.js";
import { addPartnerCommands } from "./partner-cli.js";
import { NationalNode, nationalNodeMigrations } from "./server.js";

const program = baseProgram(
  Tier.NATIONAL,
  (cfg) => NationalNode.create(cfg),
  () => nodeMigrations(nationalNodeMigrations()),
);
addUserCommands(program, Tier.NATIONAL);

addCaCommands(program);

addTokenCommands(program, Tier.NATIONAL);

addReindexCommand(program, Tier.NATIONAL, (cfg) => {
  const db = Database.open(databasePath(cfg), nodeMigrations(nationalNodeMigrations()));
  return { db, target: unionIndexRebuild(db) };
});

program
  .command("revoke")
  .description("revoke an institution's certificates; every node refuses them from then on")
  .addOption(configOption())
  .argument("<institution-id>")
  .option("--reason <text>", "why", "revoked by operator")
  .action(async (id: string, o: { config: string; reason: string }) => {
    const cfg = loadConfig(Tier.NATIONAL, o.config);
    const res = await withSelf(cfg, (c) =>
      c.admin.revokeInstitution({ institutionId: id, reason: o.reason }, { timeoutMs: 10_000 }),
    );
    process.stdout.write(
      `revoked ${id}: ${res.revokedFingerprints.length} certificate(s); directory version ${res.directoryVersion}\n`,
    );
  });

addUnionCatalogCommands(program, Tier.NATIONAL);
// The demand report names the regions (of the directory) that never sent their ILL demand.
addReportCommands(
  program,
  Tier.NATIONAL,
  () => nodeMigrations(nationalNodeMigrations()),
  (db) =>
    (
      db.sqlite
        .prepare("SELECT DISTINCT region FROM institutions WHERE tier = ? AND revoked = 0 ORDER BY region")
        .all(Tier.REGIONAL) as Array<{ region: string }>
    ).map((r) => r.region),
);

addIllCenterCommands(program, Tier.NATIONAL);

addTrafficCommand(program, Tier.NATIONAL);

addLedgerCommands(program);

addPartnerCommands(program);

await runProgram(program);
