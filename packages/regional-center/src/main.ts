import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  baseProgram,
  configOption,
  loadConfig,
  printJson,
  printTable,
  runProgram,
  Tier,
  tierName,
  withSelf,
} from "@lrs/shared";
import { RegionalNode } from "./server.js";

const program = baseProgram(Tier.REGIONAL, (cfg) => RegionalNode.create(cfg));

const token = program.command("token").description("enrollment tokens for this center's members");
token
  .command("create")
  .description("issue a one-time token with which a member library enrolls")
  .addOption(configOption())
  .requiredOption("--id <id>", "the member's institution id")
  .option("--ttl <seconds>", "lifetime of the token", "86400")
  .option("--json", "print as JSON")
  .action(async (o: { config: string; id: string; ttl: string; json?: boolean }) => {
    const cfg = loadConfig(Tier.REGIONAL, o.config);
    const res = await withSelf(cfg, (c) =>
      c.admin.createEnrollmentToken(
        { institutionId: o.id, tier: Tier.MEMBER, region: cfg.region, ttlSeconds: Number(o.ttl) },
        { timeoutMs: 10_000 },
      ),
    );
    const expiresAt = res.expiresAt ? timestampDate(res.expiresAt).toISOString() : "";
    if (o.json) printJson({ token: res.token, expiresAt });
    else process.stdout.write(`${res.token}\n`);
  });
token
  .command("list")
  .description("list enrollment tokens and whether they were used")
  .addOption(configOption())
  .option("--json", "print as JSON")
  .action(async (o: { config: string; json?: boolean }) => {
    const cfg = loadConfig(Tier.REGIONAL, o.config);
    const res = await withSelf(cfg, (c) => c.admin.listEnrollmentTokens({}, { timeoutMs: 10_000 }));
    const rows = res.tokens.map((t) => ({
      token: t.tokenId,
      institution: t.institutionId,
      tier: tierName(t.tier),
      expires: t.expiresAt ? timestampDate(t.expiresAt).toISOString() : "",
      used: t.usedAt ? timestampDate(t.usedAt).toISOString() : "no",
    }));
    if (o.json) printJson(rows);
    else printTable(rows);
  });

await runProgram(program);
