import { join } from "node:path";
import {
  addReindexCommand,
  addTokenCommands,
  addTrafficCommand,
  baseProgram,
  copyMigrations,
  Database,
  runProgram,
  sharedMigrations,
  Tier,
} from "@lrs/shared";
import {
  addIllCenterCommands,
  addUnionCatalogCommands,
  illRelayMigrations,
  unionCatalogMigrations,
  unionIndexRebuild,
} from "@lrs/shared/center";
import { addUserCommands } from "@lrs/web";
import { RegionalNode } from "./server.js";
import { regionalMigrations } from "./store/migrations.js";

const program = baseProgram(Tier.REGIONAL, (cfg) => RegionalNode.create(cfg));
addUserCommands(program, Tier.REGIONAL);

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
