import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, signCsr, Tier } from "@lrs/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { caPassphrase, caPaths, encryptCaKey, initCa, loadCa } from "./ca.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lrs-ca-"));
});
afterEach(() => {
  delete process.env.NATIONAL_CA_PASSPHRASE;
  delete process.env.NATIONAL_CA_PASSPHRASE_FILE;
  rmSync(dir, { recursive: true, force: true });
});

function config() {
  const file = join(dir, "national.toml");
  writeFileSync(
    file,
    `id = "nat"\nname = "National"\nlisten = "127.0.0.1:0"\ndata_dir = "${join(dir, "data")}"\n`,
  );
  return loadConfig(Tier.NATIONAL, file, {});
}

describe("an encrypted CA key", () => {
  it("is written encrypted by ca init with a passphrase file, and opened only with it", async () => {
    const secret = join(dir, "passphrase");
    writeFileSync(secret, "correct horse battery staple\n");
    process.env.NATIONAL_CA_PASSPHRASE_FILE = secret;
    const cfg = config();
    expect((await initCa(cfg)).keyEncrypted).toBe(true);
    const stored = readFileSync(caPaths(cfg.dataDir).key, "utf8");
    expect(stored).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(caPassphrase()).toBe("correct horse battery staple");
    // It signs once opened.
    const ca = loadCa(cfg.dataDir);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    await expect(
      signCsr(ca, "not a csr", { identity: { id: "x", tier: Tier.MEMBER, region: "n" } }),
    ).rejects.toThrow(/PKCS#10/);
    delete process.env.NATIONAL_CA_PASSPHRASE_FILE;
    expect(() => loadCa(cfg.dataDir)).toThrow(
      /is encrypted: give its passphrase in NATIONAL_CA_PASSPHRASE_FILE/,
    );
    expect(() => loadCa(cfg.dataDir, "wrong")).toThrow(/cannot be decrypted with the passphrase given/);
  });

  it("encrypts an existing plain key, and re-encrypts under a new passphrase", async () => {
    const cfg = config();
    expect((await initCa(cfg)).keyEncrypted).toBe(false);
    const plain = loadCa(cfg.dataDir).keyPem;
    encryptCaKey(cfg.dataDir, "first");
    expect(loadCa(cfg.dataDir, "first").keyPem).toBe(plain);
    encryptCaKey(cfg.dataDir, "second", "first");
    expect(loadCa(cfg.dataDir, "second").keyPem).toBe(plain);
    expect(() => loadCa(cfg.dataDir, "first")).toThrow(/cannot be decrypted/);
  });
});
