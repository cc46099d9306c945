import {
  addReindexCommand,
  addTokenCommands,
  addTrafficCommand,
  baseProgram,
  Database,
  databasePath,
  runProgram,
  Tier,
} from "@lrs/shared";
import {
  addIllCenterCommands,
  addReportCommands,
  addUnionCatalogCommands,
  unionIndexRebuild,
} from "@lrs/shared/center";
import { addUserCommands } from "@lrs/web";
import { RegionalNode, regionalNodeMigrations } from "./server.js";

const program = baseProgram(Tier.REGIONAL, (cfg) => RegionalNode.create(cfg), regionalNodeMigrations);
addUserCommands(program, Tier.REGIONAL);

addTokenCommands(program, Tier.REGIONAL);

addUnionCatalogCommands(program, Tier.REGIONAL);
addReportCommands(program, Tier.REGIONAL, regionalNodeMigrations);

addReindexCommand(program, Tier.REGIONAL, (cfg) => {
  const db = Database.open(databasePath(cfg), regionalNodeMigrations());
  return { db, target: unionIndexRebuild(db) };
});

addIllCenterCommands(program, Tier.REGIONAL);

addTrafficCommand(program, Tier.REGIONAL);

await runProgram(program);
