import { create } from "@bufbuild/protobuf";
import { Database, directoryPb, sharedMigrations, Tier } from "@lrs/shared";
import { describe, expect, it } from "vitest";
import { DirectoryError, DirectoryStore } from "./directory-store.js";
import { nationalMigrations } from "./migrations.js";

function store() {
  const db = Database.open(":memory:", [...sharedMigrations, ...nationalMigrations]);
  const dir = new DirectoryStore(db, "nat");
  dir.recordCertificate({
    serial: "01",
    fingerprint: "FP1",
    institutionId: "north-rc",
    tier: Tier.REGIONAL,
    region: "north",
    notAfter: new Date("2030-01-01"),
  });
  dir.recordCertificate({
    serial: "02",
    fingerprint: "FP2",
    institutionId: "north-a",
    tier: Tier.MEMBER,
    region: "north",
    notAfter: new Date("2030-01-01"),
  });
  return dir;
}

const inst = (id: string, tier: Tier, fp: string, extra: { name?: string } = {}) =>
  create(directoryPb.InstitutionSchema, {
    id,
    name: id,
    tier,
    region: "north",
    endpoint: "127.0.0.1:1",
    certFingerprint: fp,
    ...extra,
  });

describe("directory store", () => {
  it("bumps the version on a change and not on a repeated registration", () => {
    const dir = store();
    const seen: bigint[] = [];
    dir.onChange((d) => seen.push(d.version));
    expect(dir.register(inst("north-rc", Tier.REGIONAL, "FP1")).changed).toBe(true);
    expect(dir.register(inst("north-rc", Tier.REGIONAL, "FP1")).changed).toBe(false);
    expect(dir.register(inst("north-a", Tier.MEMBER, "FP2")).changed).toBe(true);
    expect(dir.register(inst("north-a", Tier.MEMBER, "FP2", { name: "Renamed" })).changed).toBe(true);
    expect(seen).toEqual([1n, 2n, 3n]);
    expect(dir.current().institutions.map((i) => i.id)).toEqual(["north-rc", "north-a"]);
    expect(dir.get("north-a")?.name).toBe("Renamed");
  });

  it("refuses a registration whose certificate was not issued to that institution", () => {
    const dir = store();
    expect(() => dir.register(inst("north-a", Tier.MEMBER, "FP1"))).toThrow(DirectoryError);
    expect(() => dir.register(inst("north-a", Tier.MEMBER, "FP-unknown"))).toThrow(
      /was not issued to north-a/,
    );
    expect(() => dir.register(inst("north-a", Tier.REGIONAL, "FP2"))).toThrow(/enrolled as tier MEMBER/);
  });

  it("keeps an id in one place of the federation", () => {
    const dir = store();
    expect(() => dir.assertIdFree("north-a", Tier.MEMBER, "south")).toThrow(
      /already in use in region "north"/,
    );
    expect(() => dir.assertIdFree("north-a", Tier.MEMBER, "north")).not.toThrow();
  });

  it("revokes every certificate of an institution and refuses it afterwards", () => {
    const dir = store();
    dir.register(inst("north-a", Tier.MEMBER, "FP2"));
    const res = dir.revoke("north-a", "lost laptop");
    expect(res.fingerprints).toEqual(["FP2"]);
    expect(dir.isRevoked("FP2")).toBe(true);
    expect(dir.get("north-a")?.revoked).toBe(true);
    expect(dir.current().revokedFingerprints).toEqual(["FP2"]);
    expect(() => dir.register(inst("north-a", Tier.MEMBER, "FP2"))).toThrow(/revoked/);
    expect(() => dir.revoke("nobody", "x")).toThrow(/no institution "nobody"/);
  });

  it("survives a reopen with the same version and content", () => {
    const db = Database.open(":memory:", [...sharedMigrations, ...nationalMigrations]);
    const a = new DirectoryStore(db, "nat");
    a.recordCertificate({
      serial: "01",
      fingerprint: "FP1",
      institutionId: "north-rc",
      tier: Tier.REGIONAL,
      region: "north",
      notAfter: new Date("2030-01-01"),
    });
    a.register(inst("north-rc", Tier.REGIONAL, "FP1"));
    const b = new DirectoryStore(db, "nat");
    expect(b.current().version).toBe(1n);
    expect(b.current().institutions[0]?.id).toBe("north-rc");
  });
});
