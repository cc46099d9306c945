import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { identityPaths, loadConfig, signCsr, splitPem, Tier, verifyChain } from "@lrs/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { caPaths, initCa, loadCa } from "./ca.js";
import { installIntermediate, requestIntermediate } from "./ca-intermediate.js";
import { adoptRoot, initRoot, rootPaths, signWithRoot } from "./ca-root.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lrs-ca-chain-"));
  process.env.NATIONAL_CA_PASSPHRASE = "offline secret";
});
afterEach(() => {
  delete process.env.NATIONAL_CA_PASSPHRASE;
  rmSync(dir, { recursive: true, force: true });
});

function config() {
  const file = join(dir, "national.toml");
  writeFileSync(
    file,
    `id = "nat"\nname = "National"\nlisten = "127.0.0.1:0"\ndata_dir = "${join(dir, "data")}"\nfederation_name = "Test"\n`,
  );
  return loadConfig(Tier.NATIONAL, file, {});
}

/** The offline round trip: request here, sign offline, install here. */
async function intermediate(cfg: ReturnType<typeof config>, rootDir: string, name = "inter.pem") {
  const req = await requestIntermediate(cfg);
  const out = join(dir, name);
  await signWithRoot(rootDir, req.csrPath, out, 365);
  return installIntermediate(cfg, readFileSync(out, "utf8"), readFileSync(rootPaths(rootDir).cert, "utf8"));
}

const csrFor = async () => {
  const { createCsr, generateKeyPair } = await import("@lrs/shared");
  return createCsr(await generateKeyPair(), "north", ["127.0.0.1"]);
};

describe("a national center signing with an intermediate", () => {
  it("builds a new federation: root offline, intermediate installed, its own certificate under it", async () => {
    const rootDir = join(dir, "offline");
    const root = await initRoot(rootDir, "Test");
    expect(readFileSync(rootPaths(rootDir).key, "utf8")).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(new X509Certificate(readFileSync(root.rootPath)).ca).toBe(true);
    const cfg = config();
    const res = await intermediate(cfg, rootDir);
    expect(res.nodeCertificateIssued).toBe(true);
    expect(res.rootFingerprint).toBe(root.fingerprint256);
    // The national center's identity: leaf + intermediate, root as the trust anchor.
    const ip = identityPaths(cfg.dataDir);
    expect(readFileSync(ip.ca, "utf8")).toBe(readFileSync(root.rootPath, "utf8"));
    expect(splitPem(readFileSync(ip.cert, "utf8"))).toHaveLength(2);
    verifyChain(readFileSync(ip.cert, "utf8"), readFileSync(ip.ca, "utf8"));
    // It signs node certificates with the chain attached.
    const ca = loadCa(cfg.dataDir);
    expect(ca.rootPem).toBe(readFileSync(root.rootPath, "utf8"));
    const issued = await signCsr(ca, await csrFor(), {
      identity: { id: "north", tier: Tier.REGIONAL, region: "n" },
    });
    expect(splitPem(issued)).toHaveLength(2);
    verifyChain(issued, ca.rootPem!);
    expect(existsSync(caPaths(cfg.dataDir).pendingKey)).toBe(false);
  });

  it("refuses a wrong passphrase, a certificate for another key, and a chain to another root", async () => {
    const rootDir = join(dir, "offline");
    await initRoot(rootDir, "Test");
    const cfg = config();
    const req = await requestIntermediate(cfg);
    process.env.NATIONAL_CA_PASSPHRASE = "wrong";
    await expect(signWithRoot(rootDir, req.csrPath, join(dir, "x.pem"), 30)).rejects.toThrow(
      /root-key\.pem cannot be decrypted with the passphrase given/,
    );
    process.env.NATIONAL_CA_PASSPHRASE = "offline secret";
    // Signed for another request: the key does not match.
    const otherCsr = join(dir, "other.csr");
    writeFileSync(otherCsr, readFileSync(req.csrPath));
    const first = join(dir, "first.pem");
    await signWithRoot(rootDir, req.csrPath, first, 30);
    await requestIntermediate(cfg); // a new request replaces the pending key
    const rootPem = readFileSync(rootPaths(rootDir).cert, "utf8");
    await expect(installIntermediate(cfg, readFileSync(first, "utf8"), rootPem)).rejects.toThrow(
      /does not match the pending intermediate key/,
    );
    // Another root.
    const otherRoot = join(dir, "other-root");
    await initRoot(otherRoot, "Other");
    await expect(
      installIntermediate(cfg, readFileSync(first, "utf8"), readFileSync(rootPaths(otherRoot).cert, "utf8")),
    ).rejects.toThrow(/does not chain to the root given: .* is not signed by/);
    // Nothing was installed.
    expect(() => loadCa(cfg.dataDir)).toThrow(/no certificate authority/);
  });

  it("rotates the intermediate: certificates of the old one stay valid, the new one signs", async () => {
    const rootDir = join(dir, "offline");
    await initRoot(rootDir, "Test");
    const cfg = config();
    await intermediate(cfg, rootDir, "one.pem");
    const before = await signCsr(loadCa(cfg.dataDir), await csrFor(), {
      identity: { id: "north", tier: Tier.REGIONAL, region: "n" },
    });
    const res = await intermediate(cfg, rootDir, "two.pem");
    expect(res.nodeCertificateIssued).toBe(false);
    expect(res.retired.map((p) => p.replace(/.*-/, ""))).toEqual(["ca.pem", "key.pem"]);
    const ca = loadCa(cfg.dataDir);
    const after = await signCsr(ca, await csrFor(), {
      identity: { id: "north", tier: Tier.REGIONAL, region: "n" },
    });
    verifyChain(before, ca.rootPem!);
    verifyChain(after, ca.rootPem!);
    expect(splitPem(after)[1]?.trim()).toBe(readFileSync(join(dir, "two.pem"), "utf8").trim());
    // A second root can never be installed over the first.
    const otherRoot = join(dir, "other-root");
    await initRoot(otherRoot, "Test");
    const req = await requestIntermediate(cfg);
    await signWithRoot(otherRoot, req.csrPath, join(dir, "three.pem"), 30);
    await expect(
      installIntermediate(
        cfg,
        readFileSync(join(dir, "three.pem"), "utf8"),
        readFileSync(rootPaths(otherRoot).cert, "utf8"),
      ),
    ).rejects.toThrow(/not this federation's trust anchor/);
  });

  it("migrates a one-CA federation: the CA is adopted as the root (re-issued, pathLen 1) and signs an intermediate", async () => {
    const cfg = config();
    await initCa(cfg);
    const oldCa = loadCa(cfg.dataDir);
    const oldLeaf = await signCsr(oldCa, await csrFor(), {
      identity: { id: "north", tier: Tier.REGIONAL, region: "n" },
    });
    const rootDir = join(dir, "offline");
    // Before adoption there is no root to sign with.
    const req0 = await requestIntermediate(cfg);
    await expect(signWithRoot(rootDir, req0.csrPath, join(dir, "x.pem"), 30)).rejects.toThrow(/no root in/);
    const adopted = await adoptRoot(cfg.dataDir, rootDir);
    const rootPem = readFileSync(adopted.rootPath, "utf8");
    expect(readFileSync(identityPaths(cfg.dataDir).ca, "utf8")).toBe(rootPem);
    verifyChain(oldLeaf, rootPem);
    const res = await intermediate(cfg, rootDir);
    expect(res.retired).toHaveLength(2);
    const ca = loadCa(cfg.dataDir);
    verifyChain(oldLeaf, ca.rootPem!);
    verifyChain(readFileSync(identityPaths(cfg.dataDir).cert, "utf8"), ca.rootPem!);
    verifyChain(
      await signCsr(ca, await csrFor(), { identity: { id: "north", tier: Tier.REGIONAL, region: "n" } }),
      ca.rootPem!,
    );
  });
});
