import { baseProgram, runProgram, Tier } from "@lrs/shared";
import { MemberNode } from "./server.js";

const program = baseProgram(Tier.MEMBER, (cfg) => MemberNode.create(cfg));

await runProgram(program);
