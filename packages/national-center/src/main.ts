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
  printJson,
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
import { caPassphrase, encryptCaKey, initCa } from "./ca.js";
import { addLedgerCommands } from "./ledger-cli.js";
import { addPartnerCommands } from "./partner-cli.js";
import { NationalNode, nationalNodeMigrations } from "./server.js";

const program = baseProgram(
  Tier.NATIONAL,
  (cfg) => NationalNode.create(cfg),
  () => nodeMigrations(nationalNodeMigrations()),
);
addUserCommands(program, Tier.NATIONAL);

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
        `created federation CA ${res.caPath}${res.keyEncrypted ? " (key encrypted with the passphrase given)" : ""}\nCA SHA-256 ${res.caFingerprint}\nnational center certificate SHA-256 ${res.nodeFingerprint}\n`,
      );
  });

ca.command("encrypt-key")
  .description(
    "keep the CA key encrypted (PKCS#8, AES-256) under the passphrase in NATIONAL_CA_PASSPHRASE_FILE or NATIONAL_CA_PASSPHRASE; the node then needs it to start",
  )
  .addOption(configOption())
  .option("--current-passphrase-file <file>", "the key's present passphrase, when it is already encrypted")
  .action((o: { config: string; currentPassphraseFile?: string }) => {
    const cfg = loadConfig(Tier.NATIONAL, o.config);
    const passphrase = caPassphrase();
    if (!passphrase)
      throw new Error("set NATIONAL_CA_PASSPHRASE_FILE (or NATIONAL_CA_PASSPHRASE) to the new passphrase");
    const current = o.currentPassphraseFile
      ? caPassphrase({ NATIONAL_CA_PASSPHRASE_FILE: o.currentPassphraseFile })
      : undefined;
    const path = encryptCaKey(cfg.dataDir, passphrase, current);
    process.stdout.write(`the CA key ${path} is now encrypted\n`);
  });

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
addReportCommands(program, Tier.NATIONAL, nationalNodeMigrations);

addIllCenterCommands(program, Tier.NATIONAL);

addTrafficCommand(program, Tier.NATIONAL);

addLedgerCommands(program);

addPartnerCommands(program);

await runProgram(program);
