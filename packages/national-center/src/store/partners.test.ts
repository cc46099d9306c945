import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  Database,
  directoryPb,
  institutionByAgencyId,
  partnerByAgencyId,
  sha256Hex,
  sharedMigrations,
  Tier,
} from "@lrs/shared";
import { describe, expect, it } from "vitest";
import { DirectoryError, DirectoryStore } from "./directory-store.js";
import { nationalMigrations } from "./migrations.js";

const { PartnerAuthMethod } = directoryPb;

function store() {
  const db = Database.open(":memory:", [...sharedMigrations, ...nationalMigrations]);
  const dir = new DirectoryStore(db, "nat", "CN-LRS");
  dir.recordCertificate({
    serial: "02",
    fingerprint: "FP2",
    institutionId: "north-a",
    tier: Tier.MEMBER,
    region: "north",
    notAfter: new Date("2030-01-01"),
  });
  dir.register(
    create(directoryPb.InstitutionSchema, {
      id: "north-a",
      name: "North A",
      tier: Tier.MEMBER,
      region: "north",
      endpoint: "127.0.0.1:1",
      certFingerprint: "FP2",
      isoAgencyId: "CN-NA",
    }),
  );
  return { db, dir };
}

const princeton = (
  extra: Omit<MessageInitShape<typeof directoryPb.ExternalPartnerSchema>, "$typeName"> = {},
) =>
  create(directoryPb.ExternalPartnerSchema, {
    id: "princeton",
    name: "Princeton University Library",
    agencyIdType: "ISIL",
    agencyIdValue: "US-NjP",
    endpointUrl: "https://ill.example.edu/iso18626",
    schemaVersion: "2021-2",
    inboundAuth: PartnerAuthMethod.ACCOUNT,
    inboundAccount: "princeton",
    lendsLoans: true,
    borrowsLoans: true,
    mayBorrow: true,
    mayLend: true,
    fees: { currency: "USD", loanMinor: 1200n },
    ...extra,
  });

describe("external partners in the directory", () => {
  it("are added with the digest of their secret, replicated without ours, and bump the version once", () => {
    const { dir } = store();
    const before = dir.current().version;
    const res = dir.putPartner(princeton(), { inbound: "s3cret", outbound: "ours" });
    expect(res.changed).toBe(true);
    expect(res.version).toBe(before + 1n);
    const d = dir.current();
    expect(d.agencyIdType).toBe("CN-LRS");
    expect(d.externalPartners).toHaveLength(1);
    expect(d.externalPartners[0]?.inboundSecretSha256).toBe(sha256Hex("s3cret"));
    expect(
      JSON.stringify(d.externalPartners[0], (_k, v) => (typeof v === "bigint" ? String(v) : v)),
    ).not.toContain("ours");
    expect(dir.partnerOutboundSecret("princeton")).toBe("ours");
    // Saved again without secrets: the ones on record stay, nothing changes.
    expect(dir.putPartner(princeton()).changed).toBe(false);
    expect(dir.current().version).toBe(before + 1n);
    expect(dir.putPartner(princeton({ name: "PUL" })).changed).toBe(true);
    expect(dir.current().externalPartners[0]?.inboundSecretSha256).toBe(sha256Hex("s3cret"));
  });

  it("are found by agency id, and LRS institutions by theirs", () => {
    const { dir } = store();
    dir.putPartner(princeton(), { inbound: "s3cret" });
    const d = dir.current();
    expect(partnerByAgencyId(d, "isil", "US-NjP")?.id).toBe("princeton");
    expect(institutionByAgencyId(d, "CN-LRS", "CN-NA")?.id).toBe("north-a");
    expect(institutionByAgencyId(d, "ISIL", "CN-NA")).toBeUndefined();
  });

  it("are refused when incomplete, naming what is missing", () => {
    const { dir } = store();
    const refused = (p: directoryPb.ExternalPartner, secret?: string) => {
      try {
        dir.putPartner(p, secret ? { inbound: secret } : {});
      } catch (err) {
        expect(err).toBeInstanceOf(DirectoryError);
        return (err as Error).message;
      }
      throw new Error("accepted");
    };
    expect(refused(princeton())).toMatch(/secret .* is required/);
    expect(refused(princeton({ endpointUrl: "ftp://x" }), "s")).toMatch(/not http/);
    expect(refused(princeton({ schemaVersion: "3" }), "s")).toMatch(/schema version "3"/);
    expect(refused(princeton({ inboundAuth: PartnerAuthMethod.UNSPECIFIED }), "s")).toMatch(
      /unauthenticated partner/,
    );
    expect(refused(princeton({ agencyIdType: "CN-LRS", agencyIdValue: "CN-NA" }), "s")).toMatch(
      /LRS institution/,
    );
    expect(refused(princeton({ mayBorrow: false, mayLend: false }), "s")).toMatch(/borrow, lend or both/);
    dir.putPartner(princeton(), { inbound: "s" });
    expect(refused(princeton({ id: "other" }), "s")).toMatch(/is partner princeton's/);
  });

  it("are removed", () => {
    const { dir } = store();
    dir.putPartner(princeton(), { inbound: "s" });
    dir.removePartner("princeton");
    expect(dir.current().externalPartners).toEqual([]);
    expect(() => dir.removePartner("princeton")).toThrow(/no external partner "princeton"/);
  });
});
