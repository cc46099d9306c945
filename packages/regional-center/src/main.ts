import { join } from "node:path";
import {
  addIllCenterCommands,
  addReindexCommand,
  addTokenCommands,
  addTrafficCommand,
  addUnionCatalogCommands,
  baseProgram,
  copyMigrations,
  Database,
  illRelayMigrations,
  runProgram,
  sharedMigrations,
  Tier,
  unionCatalogMigrations,
  unionIndexRebuild,
} from "@lrs/shared";
import { RegionalNode } from "./server.js";
import { regionalMigrations } from "./store/migrations.js";

const program = baseProgram(Tier.REGIONAL, (cfg) => RegionalNode.create(cfg));

addTokenCommands(program, Tier.REGIONAL);

addUnionCatalogCommands(program, Tier.REGIONAL);

addReindexCommand(program, Tier.REGIONAL, (cfg) => {
  const db = Database.open(join(cfg.dataDir, "node.db"), [
    ...sharedMigrations,
    ...unionCatalogMigrations,
    ...illRelayMigrations,
    ...regionalMigrations,
    ...copyMigrations,
  ]);
  return { db, target: unionIndexRebuild(db) };
});

addIllCenterCommands(program, Tier.REGIONAL);

addTrafficCommand(program, Tier.REGIONAL);

await runProgram(program);
