// `lrs-national ca …`: the federation's certificate authority. One CA at the national center
// (`init`), or an offline root (`root init|sign|adopt`, on a machine that never serves) signing
// the national center's online intermediate (`intermediate request|install`).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { configOption, loadConfig, printJson, Tier } from "@lrs/shared";
import type { Command } from "commander";
import { CaError, caPassphrase, encryptCaKey, initCa } from "./ca.js";
import { installIntermediate, requestIntermediate } from "./ca-intermediate.js";
import { adoptRoot, initRoot, type RootSummary, signWithRoot } from "./ca-root.js";

const PASSPHRASE_HELP =
  "the key's passphrase is read from the file named by NATIONAL_CA_PASSPHRASE_FILE, else NATIONAL_CA_PASSPHRASE";

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new CaError(`cannot read the ${what} ${path}: ${(err as Error).message}`);
  }
}

function positive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new CaError(`${name} must be a whole number of days, not "${value}"`);
  return n;
}

function printRoot(verb: string, r: RootSummary, json?: boolean): void {
  if (json) {
    printJson(r);
    return;
  }
  process.stdout.write(
    `${verb} root ${r.rootPath} (key ${r.keyPath}, encrypted)\nroot SHA-256 ${r.fingerprint256}\nvalid until ${r.notAfter}\n` +
      "Give root.pem to the national center; keep root-key.pem and its passphrase offline.\n",
  );
}

export function addCaCommands(program: Command): void {
  const ca = program.command("ca").description("the federation's certificate authority");
  ca.command("init")
    .description(
      "create the federation CA and this national center's certificate (once; one CA, no offline root)",
    )
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
    .option("--json", "print as JSON")
    .action((o: { config: string; currentPassphraseFile?: string; json?: boolean }) => {
      const cfg = loadConfig(Tier.NATIONAL, o.config);
      const passphrase = caPassphrase();
      if (!passphrase)
        throw new CaError(
          "set NATIONAL_CA_PASSPHRASE_FILE (or NATIONAL_CA_PASSPHRASE) to the new passphrase",
        );
      const current = o.currentPassphraseFile
        ? caPassphrase({ NATIONAL_CA_PASSPHRASE_FILE: o.currentPassphraseFile })
        : undefined;
      const path = encryptCaKey(cfg.dataDir, passphrase, current);
      if (o.json) printJson({ keyPath: path, encrypted: true });
      else process.stdout.write(`the CA key ${path} is now encrypted\n`);
    });

  const root = ca
    .command("root")
    .description("the offline root (run on a machine that never serves; see docs/operations.md)");
  root
    .command("init")
    .description(
      `create an offline root: an encrypted key and a self-signed root certificate (pathLen 1); ${PASSPHRASE_HELP}`,
    )
    .requiredOption("--out <dir>", "directory for root.pem and root-key.pem (created; must not hold a root)")
    .option("--federation-name <name>", "the federation's name, in the certificate", "LRS Federation")
    .option("--years <n>", "validity in years", "20")
    .option("--json", "print as JSON")
    .action(async (o: { out: string; federationName: string; years: string; json?: boolean }) => {
      printRoot(
        "created",
        await initRoot(resolve(o.out), o.federationName, positive(o.years, "--years")),
        o.json,
      );
    });
  root
    .command("sign")
    .description(
      `sign an intermediate's request with the offline root (a CA certificate, pathLen 0); ${PASSPHRASE_HELP}`,
    )
    .requiredOption("--root <dir>", "the root's directory (root.pem, root-key.pem)")
    .requiredOption("--csr <file>", "the request from `ca intermediate request`")
    .requiredOption("--out <file>", "where to write the intermediate certificate")
    .option("--days <n>", "validity in days (never beyond the root's)", "1825")
    .option("--json", "print as JSON")
    .action(async (o: { root: string; csr: string; out: string; days: string; json?: boolean }) => {
      const r = await signWithRoot(
        resolve(o.root),
        resolve(o.csr),
        resolve(o.out),
        positive(o.days, "--days"),
      );
      if (o.json) printJson(r);
      else
        process.stdout.write(
          `signed intermediate ${r.certPath}\n${r.subject}\nSHA-256 ${r.fingerprint256}\nvalid until ${r.notAfter}\n`,
        );
    });
  root
    .command("adopt")
    .description(
      `migrate a one-CA federation: re-issue this national center's CA certificate as a root (same key and name, pathLen 1) and copy it with its key to --out for the offline machine; ${PASSPHRASE_HELP} (also used to encrypt the copied key)`,
    )
    .addOption(configOption())
    .requiredOption("--out <dir>", "directory for root.pem and root-key.pem (created; must not hold a root)")
    .option("--json", "print as JSON")
    .action(async (o: { config: string; out: string; json?: boolean }) => {
      const cfg = loadConfig(Tier.NATIONAL, o.config);
      printRoot("adopted the federation CA as", await adoptRoot(cfg.dataDir, resolve(o.out)), o.json);
    });

  const intermediate = ca.command("intermediate").description("the national center's online intermediate");
  intermediate
    .command("request")
    .description(
      `make a new intermediate key (kept here; encrypted when a passphrase is given) and a certificate request for the offline root; ${PASSPHRASE_HELP}`,
    )
    .addOption(configOption())
    .option("--json", "print as JSON")
    .action(async (o: { config: string; json?: boolean }) => {
      const cfg = loadConfig(Tier.NATIONAL, o.config);
      const r = await requestIntermediate(cfg);
      if (o.json) printJson(r);
      else
        process.stdout.write(
          `intermediate request ${r.csrPath} (key ${r.keyPath}${r.keyEncrypted ? ", encrypted" : ""})\nTake the request to the offline root: lrs-national ca root sign --root DIR --csr FILE --out FILE\n`,
        );
    });
  intermediate
    .command("install")
    .description(
      "check a signed intermediate (a CA certificate, chaining to the root, for the pending key) and sign with it from now on; restart the national center afterwards",
    )
    .addOption(configOption())
    .requiredOption("--cert <file>", "the intermediate certificate from `ca root sign`")
    .requiredOption("--root <file>", "the root certificate (root.pem): the federation's trust anchor")
    .option("--json", "print as JSON")
    .action(async (o: { config: string; cert: string; root: string; json?: boolean }) => {
      const cfg = loadConfig(Tier.NATIONAL, o.config);
      const r = await installIntermediate(
        cfg,
        readPem(o.cert, "intermediate certificate"),
        readPem(o.root, "root certificate"),
      );
      if (o.json) printJson(r);
      else
        process.stdout.write(
          `installed intermediate SHA-256 ${r.intermediateFingerprint} (valid until ${r.notAfter}) under root SHA-256 ${r.rootFingerprint}\n` +
            (r.nodeCertificateIssued ? "issued the national center's own certificate\n" : "") +
            (r.retired.length
              ? `retired: ${r.retired.join(", ")} (a previous intermediate's key: destroy it; a one-CA federation's key: it is the root key, keep it only offline)\n`
              : "") +
            "Restart the national center to sign with it.\n",
        );
    });
}
