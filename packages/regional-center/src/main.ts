import { addTokenCommands, addTrafficCommand, baseProgram, runProgram, Tier } from "@lrs/shared";
import { addIllCenterCommands, addUnionCatalogCommands } from "@lrs/shared/center";
import { addUserCommands } from "@lrs/web";
import { RegionalNode } from "./server.js";

const program = baseProgram(Tier.REGIONAL, (cfg) => RegionalNode.create(cfg));
addUserCommands(program, Tier.REGIONAL);

addTokenCommands(program, Tier.REGIONAL);

addUnionCatalogCommands(program, Tier.REGIONAL);

addIllCenterCommands(program, Tier.REGIONAL);

addTrafficCommand(program, Tier.REGIONAL);

await runProgram(program);
