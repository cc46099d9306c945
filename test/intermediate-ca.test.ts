// A federation whose national center signs with an online intermediate under an offline root:
// the regional centers and members enroll (their tokens pin the root), present their certificate
// followed by the intermediate, and talk mTLS (a national search); a renewal hands out the chain;
// after the intermediate is rotated (a new one signed by the same root) the nodes still talk, and
// a renewal then carries the new intermediate. OpenSSL verifies a node's chain on its own.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { type Federation, REPO_ROOT } from "@lrs/dev-env";
import { caPin, splitPem, verifyChain } from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, nationalSearch, pem, startFederation } from "./harness.js";

let fed: Federation;
let destroy: () => Promise<void>;
const LOC = join(REPO_ROOT, "data/marc/lc-marc2bibframe2/loc_general.xml");
const ROOT_DIR = "offline-root";
const rootPem = () => pem(join(fed.dir, ROOT_DIR, "root.pem"));

const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

beforeAll(async () => {
  ({ fed, destroy } = await startFederation(undefined, {
    offlineRoot: ROOT_DIR,
    env: { NATIONAL_CA_PASSPHRASE: "offline root passphrase for the test" },
  }));
  await fed.importCatalog("south-a", [LOC]);
  await fed.waitSynced();
}, 480_000);
afterAll(async () => {
  await destroy?.();
});

async function searchFinds(from: string, holder: string): Promise<boolean> {
  const res = await eventually(
    () => nationalSearch(fed, from),
    (r) => r.holders.has(holder),
    60_000,
  );
  return res.messages.at(-1)?.final === true;
}

/** The intermediate a node presents (the second certificate of its cert.pem). */
const intermediateOf = (id: string) => splitPem(pem(fed.node(id).cert))[1]?.trim();

async function renew(id: string): Promise<string> {
  const n = fed.node(id);
  const out = JSON.parse(await fed.cli(n, ["renew", "--config", n.config, "--json"])) as {
    fingerprint: string;
  };
  return out.fingerprint;
}

describe("a national center with an online intermediate under an offline root", () => {
  it("enrolls every node with the root as trust anchor and leaf + intermediate as its chain", async () => {
    const root = rootPem();
    const intermediate = pem(join(fed.node("nat").dataDir, "ca", "ca.pem")).trim();
    for (const n of fed.manifest.nodes) {
      expect(pem(n.caCert), n.id).toBe(root);
      const chain = splitPem(pem(n.cert));
      expect(chain, n.id).toHaveLength(2);
      expect(chain[1]?.trim(), n.id).toBe(intermediate);
      verifyChain(pem(n.cert), root);
    }
    // Tokens pin the root: the national center hands out tokens with its pin.
    const nat = fed.node("nat");
    const token = await fed.cli(nat, [
      "token",
      "create",
      "--config",
      nat.config,
      "--id",
      "east-rc",
      "--region",
      "east",
    ]);
    expect(token.split(".")[3]).toBe(caPin(root));
  });

  it.skipIf(!hasOpenssl)(
    "OpenSSL verifies a member's chain to the root (skipped when openssl is not installed)",
    () => {
      const dir = join(fed.dir, "openssl");
      execFileSync("mkdir", ["-p", dir]);
      const [leaf, intermediate] = splitPem(pem(fed.node("north-a").cert));
      const write = (name: string, text: string) => {
        execFileSync("sh", ["-c", `cat > ${join(dir, name)}`], { input: text });
        return join(dir, name);
      };
      const out = execFileSync(
        "openssl",
        [
          "verify",
          "-CAfile",
          join(fed.dir, ROOT_DIR, "root.pem"),
          "-untrusted",
          write("intermediate.pem", intermediate!),
          write("leaf.pem", leaf!),
        ],
        { encoding: "utf8" },
      );
      expect(out).toMatch(/leaf\.pem: OK/);
    },
  );

  it("nodes talk mTLS through the chain: a national search from north reaches south", async () => {
    expect(await searchFinds("north-a", "south-a")).toBe(true);
  });

  it("renewal (member through its regional center, regional at the national center) hands out the chain", async () => {
    for (const id of ["north-a", "north-rc"]) {
      const before = pem(fed.node(id).cert);
      const fp = await renew(id);
      expect(pem(fed.node(id).cert)).not.toBe(before);
      expect(splitPem(pem(fed.node(id).cert))).toHaveLength(2);
      verifyChain(pem(fed.node(id).cert), rootPem());
      expect(fp).toMatch(/^[0-9A-F:]+$/);
    }
    expect(await searchFinds("north-a", "south-a")).toBe(true);
  });

  it("after the intermediate is rotated the nodes still talk, and renewals carry the new intermediate", async () => {
    const old = intermediateOf("north-a");
    await fed.stop("nat");
    const res = await fed.installIntermediate();
    expect(res.nodeCertificateIssued).toBe(false);
    await fed.start("nat");
    const next = pem(join(fed.node("nat").dataDir, "ca", "ca.pem")).trim();
    expect(next).not.toBe(old);
    // Certificates from the old intermediate are still good: nobody renewed yet.
    expect(intermediateOf("south-a")).toBe(old);
    expect(await searchFinds("north-a", "south-a")).toBe(true);
    // Renewed nodes present the new intermediate beside nodes still on the old one.
    await renew("north-rc");
    await renew("north-a");
    expect(intermediateOf("north-a")).toBe(next);
    expect(intermediateOf("north-rc")).toBe(next);
    expect(intermediateOf("south-rc")).toBe(old);
    verifyChain(pem(fed.node("north-a").cert), rootPem());
    expect(await searchFinds("north-a", "south-a")).toBe(true);
  }, 240_000);
});
