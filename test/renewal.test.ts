// Certificates renew themselves: a federation whose national center issues 45-second certificates
// (renewed once two thirds of their 105-second validity, 60 s of it back-dated, have passed) keeps
// serving a national search well after every node's first short certificate has expired. Also
// `lrs-<tier> renew` by hand, the warning in `status`, and a revoked member refused renewal.
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Federation, REPO_ROOT, sleep } from "@lrs/dev-env";
import { type adminPb, describeCertificate, directoryPb } from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, nationalSearch, pem, startFederation } from "./harness.js";

let fed: Federation;
let destroy: () => Promise<void>;

const CHECK = "500ms";
const ENV = {
  NATIONAL_RENEW_CHECK_INTERVAL: CHECK,
  REGIONAL_RENEW_CHECK_INTERVAL: CHECK,
  MEMBER_RENEW_CHECK_INTERVAL: CHECK,
};
const LOC = join(REPO_ROOT, "data/marc/lc-marc2bibframe2/loc_general.xml");

beforeAll(async () => {
  ({ fed, destroy } = await startFederation(undefined, { env: ENV }));
  await fed.importCatalog("south-a", [LOC]);
  await fed.waitSynced();
  // From now on the national center issues short-lived certificates.
  appendFileSync(fed.node("nat").config, '\n[operations]\ncertificate_lifetime = "45s"\n');
  await fed.restart("nat");
}, 300_000);
afterAll(async () => {
  await destroy?.();
});

describe("certificate renewal", () => {
  const first = new Map<string, { fingerprint: string; notAfter: Date }>();

  it("`renew` by hand gives every node a new key and certificate, the running node serving with it", async () => {
    for (const n of fed.manifest.nodes) {
      const before = describeCertificate(pem(n.cert));
      const out = JSON.parse(await fed.cli(n, ["renew", "--config", n.config, "--json"])) as {
        running: boolean;
        fingerprint: string;
        notAfter: string;
        previousFingerprint: string;
      };
      expect(out.running, n.id).toBe(true);
      // Renewal by a running node happens at once when the certificate is due; by hand the previous
      // one may already be a short one the node renewed itself since.
      expect(out.fingerprint).not.toBe(before.fingerprint256);
      const onDisk = describeCertificate(pem(n.cert));
      expect(onDisk.identity).toEqual(before.identity);
      const left = new Date(out.notAfter).getTime() - Date.now();
      expect(left).toBeLessThanOrEqual(45_000);
      first.set(n.id, { fingerprint: out.fingerprint, notAfter: new Date(out.notAfter) });
    }
  });

  it("`status` warns that the certificate expires within 30 days", async () => {
    const n = fed.node("north-a");
    const out = await fed.cli(n, ["status", "--config", n.config]);
    expect(out).toMatch(/^WARNING\s+the certificate expires .* \(in less than a day\)/m);
  });

  it("every node renews by itself and the federation keeps serving after the first short certificates expired", async () => {
    const lastExpiry = Math.max(...[...first.values()].map((f) => f.notAfter.getTime()));
    await sleep(Math.max(0, lastExpiry - Date.now()) + 3_000);
    for (const n of fed.manifest.nodes) {
      const st = await eventually(
        () => fed.status(n.id),
        (s: adminPb.GetStatusResponse) =>
          s.certFingerprint !== first.get(n.id)!.fingerprint &&
          !!s.certNotAfter &&
          timestampDate(s.certNotAfter).getTime() > Date.now() &&
          (n.tier === "national" || s.parent?.state === "connected"),
      );
      expect(describeCertificate(pem(n.cert)).fingerprint256, n.id).toBe(st.certFingerprint);
    }
    // Member → regional → national → other region → its member, and back.
    const res = await eventually(
      () => nationalSearch(fed, "north-a"),
      (r) => r.holders.has("south-a"),
    );
    expect(res.messages.at(-1)?.final).toBe(true);
    // The directory carries the renewed fingerprints (registered again after each renewal).
    const dir = await fed.withClient("nat", directoryPb.DirectoryService, (c) => c.getDirectory({}));
    const southA = dir.directory!.institutions.find((i) => i.id === "south-a")!;
    expect(southA.certFingerprint).not.toBe(first.get("south-a")!.fingerprint);
  }, 180_000);

  it("a revoked member is refused renewal and keeps its old identity", async () => {
    const nat = fed.node("nat");
    await fed.cli(nat, ["revoke", "north-b", "--config", nat.config, "--reason", "test"]);
    const n = fed.node("north-b");
    // Its regional center learns of the revocation through the directory; then north-b is refused.
    const before = describeCertificate(pem(n.cert)).fingerprint256;
    await fed.stop("north-b");
    const err = await eventually(
      () =>
        fed.cli(n, ["renew", "--config", n.config]).then(
          () => "renewed",
          (e: Error) => e.message,
        ),
      (m) => m !== "renewed" && /revoked/.test(m),
    );
    expect(err).toMatch(/revoked/);
    expect(describeCertificate(pem(n.cert)).fingerprint256).toBe(before);
  });
});
