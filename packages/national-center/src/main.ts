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
import { initCa } from "./ca.js";
import { NationalNode } from "./server.js";

const program = baseProgram(Tier.NATIONAL, (cfg) => NationalNode.create(cfg));

const ca = program.command("ca").description("the federation's certificate authority");
ca.command("init")
  .description("create the federation CA and this national center's certificate (once)")
  .addOption(configOption())
  .option("--json", "print as JSON")
  .action(async (o: { config: string; json?: boolean }) => {
    const cfg = loadConfig(Tier.NATIONAL, o.config);
    const res = await initCa(cfg);
    if (o.json) printJson(res);
    else
      process.stdout.write(
        `created federation CA ${res.caPath}\nCA SHA-256 ${res.caFingerprint}\nnational center certificate SHA-256 ${res.nodeFingerprint}\n`,
      );
  });

const token = program.command("token").description("enrollment tokens for regional centers");
token
  .command("create")
  .description("issue a one-time token with which a regional center enrolls")
  .addOption(configOption())
  .requiredOption("--id <id>", "the regional center's institution id")
  .requiredOption("--region <code>", "the region it serves")
  .option("--ttl <seconds>", "lifetime of the token", "86400")
  .option("--json", "print as JSON")
  .action(async (o: { config: string; id: string; region: string; ttl: string; json?: boolean }) => {
    const cfg = loadConfig(Tier.NATIONAL, o.config);
    const res = await withSelf(cfg, (c) =>
      c.admin.createEnrollmentToken(
        { institutionId: o.id, tier: Tier.REGIONAL, region: o.region, ttlSeconds: Number(o.ttl) },
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
    const cfg = loadConfig(Tier.NATIONAL, o.config);
    const res = await withSelf(cfg, (c) => c.admin.listEnrollmentTokens({}, { timeoutMs: 10_000 }));
    const rows = res.tokens.map((t) => ({
      token: t.tokenId,
      institution: t.institutionId,
      tier: tierName(t.tier),
      region: t.region,
      expires: t.expiresAt ? timestampDate(t.expiresAt).toISOString() : "",
      used: t.usedAt ? timestampDate(t.usedAt).toISOString() : "no",
    }));
    if (o.json) printJson(rows);
    else printTable(rows);
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

await runProgram(program);
