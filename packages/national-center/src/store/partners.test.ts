import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
  Database,
  directoryPb,
  institutionByAgencyId,
  partnerByAgencyId,
  partnerVerifier,
  sha256Hex,
  sharedMigrations,
  Tier,
  verifyPartnerSecret,
  withoutPartnerVerifiers,
} from "@lrs/shared";
import { beforeAll, describe, expect, it } from "vitest";
import { DirectoryError, DirectoryStore } from "./directory-store.js";
import { nationalMigrations } from "./migrations.js";

const { PartnerAuthMethod } = directoryPb;

function store(db = Database.open(":memory:", [...sharedMigrations, ...nationalMigrations])) {
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

// Made once: each costs a scrypt of 128 MiB.
let S3CRET = "";
let S = "";
beforeAll(async () => {
  S3CRET = await partnerVerifier(PartnerAuthMethod.ACCOUNT, "s3cret");
  S = await partnerVerifier(PartnerAuthMethod.ACCOUNT, "s");
});

describe("external partners in the directory", () => {
  it("are added with a salted scrypt of their secret, replicated without ours, and bump the version once", async () => {
    const { dir } = store();
    const before = dir.current().version;
    const res = dir.putPartner(princeton(), { inboundVerifier: S3CRET, outbound: "ours" });
    expect(res.changed).toBe(true);
    expect(res.version).toBe(before + 1n);
    const d = dir.current();
    expect(d.agencyIdType).toBe("CN-LRS");
    expect(d.externalPartners).toHaveLength(1);
    const p = d.externalPartners[0]!;
    expect(p.inboundSecretSha256).toBe("");
    expect(p.inboundVerifier).toMatch(/^scrypt\$131072\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifyPartnerSecret(p, "s3cret")).toBe(true);
    expect(await verifyPartnerSecret(p, "s3cret ")).toBe(false);
    // Salted: the same secret never gives the same verifier.
    expect(await partnerVerifier(PartnerAuthMethod.ACCOUNT, "s3cret")).not.toBe(S3CRET);
    expect(
      JSON.stringify(d.externalPartners[0], (_k, v) => (typeof v === "bigint" ? String(v) : v)),
    ).not.toContain("ours");
    expect(dir.partnerOutboundSecret("princeton")).toBe("ours");
    // What members are sent: no verifier at all.
    expect(withoutPartnerVerifiers(d).externalPartners[0]?.inboundVerifier).toBe("");
    expect(d.externalPartners[0]?.inboundVerifier).toBe(S3CRET);
    // Saved again without secrets: the ones on record stay, nothing changes.
    expect(dir.putPartner(princeton()).changed).toBe(false);
    expect(dir.current().version).toBe(before + 1n);
    expect(dir.putPartner(princeton({ name: "PUL" })).changed).toBe(true);
    expect(dir.current().externalPartners[0]?.inboundVerifier).toBe(S3CRET);
    // A digest given by a caller is never kept.
    dir.putPartner(princeton({ name: "P", inboundSecretSha256: sha256Hex("x") }));
    expect(dir.current().externalPartners[0]?.inboundSecretSha256).toBe("");
  });

  it("of release 0.1 (an unsalted SHA-256 in the directory) keep their secret after the upgrade", async () => {
    const { db, dir } = store();
    dir.putPartner(princeton(), { inboundVerifier: S3CRET });
    dir.putPartner(
      princeton({
        id: "cert-partner",
        agencyIdValue: "US-CERT",
        inboundAuth: PartnerAuthMethod.CLIENT_CERTIFICATE,
        inboundAccount: "",
      }),
      { inboundVerifier: await partnerVerifier(PartnerAuthMethod.CLIENT_CERTIFICATE, "ab:cd") },
    );
    // What 0.1 stored: the digest in the partner entry, no verifier.
    const legacy = (id: string, digest: string) => {
      const row = db.sqlite.prepare("SELECT data FROM external_partners WHERE id = ?").get(id) as {
        data: Buffer;
      };
      const p = fromBinary(directoryPb.ExternalPartnerSchema, new Uint8Array(row.data));
      p.inboundVerifier = "";
      p.inboundSecretSha256 = digest;
      db.sqlite
        .prepare("UPDATE external_partners SET data = ? WHERE id = ?")
        .run(Buffer.from(toBinary(directoryPb.ExternalPartnerSchema, p)), id);
    };
    legacy("princeton", sha256Hex("s3cret"));
    legacy("cert-partner", "AB:CD");
    const reopened = new DirectoryStore(db, "nat", "CN-LRS");
    const before = reopened.current().version;
    // Before the upgrade the digest still signs the partner in.
    const old = reopened.current().externalPartners.find((p) => p.id === "princeton")!;
    expect(await verifyPartnerSecret(old, "s3cret")).toBe(true);
    expect((await reopened.upgradeLegacyPartnerSecrets()).sort()).toEqual(["cert-partner", "princeton"]);
    expect(reopened.current().version).toBe(before + 1n);
    const p = reopened.current().externalPartners.find((x) => x.id === "princeton")!;
    expect(p.inboundSecretSha256).toBe("");
    expect(p.inboundVerifier).toMatch(/^sha256\+scrypt\$/);
    expect(await verifyPartnerSecret(p, "s3cret")).toBe(true);
    expect(await verifyPartnerSecret(p, "guess")).toBe(false);
    const c = reopened.current().externalPartners.find((x) => x.id === "cert-partner")!;
    expect(c.inboundVerifier).toBe("fingerprint$AB:CD");
    expect(await verifyPartnerSecret(c, "abcd")).toBe(true);
    // Done once.
    expect(await reopened.upgradeLegacyPartnerSecrets()).toEqual([]);
    expect(reopened.current().version).toBe(before + 1n);
  });

  it("are found by agency id, and LRS institutions by theirs", () => {
    const { dir } = store();
    dir.putPartner(princeton(), { inboundVerifier: S3CRET });
    const d = dir.current();
    expect(partnerByAgencyId(d, "isil", "US-NjP")?.id).toBe("princeton");
    expect(institutionByAgencyId(d, "CN-LRS", "CN-NA")?.id).toBe("north-a");
    expect(institutionByAgencyId(d, "ISIL", "CN-NA")).toBeUndefined();
  });

  it("are refused when incomplete, naming what is missing", () => {
    const { dir } = store();
    const refused = (p: directoryPb.ExternalPartner, secret?: string) => {
      try {
        dir.putPartner(p, secret ? { inboundVerifier: S } : {});
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
    dir.putPartner(princeton(), { inboundVerifier: S });
    expect(refused(princeton({ id: "other" }), "s")).toMatch(/is partner princeton's/);
  });

  it("carry the national setting on partners in rotas; a changed setting is a new version", () => {
    const db = Database.open(":memory:", [...sharedMigrations, ...nationalMigrations]);
    const { dir } = store(db);
    expect(dir.current().partnersOutOfRotas).toBe(false);
    const v = dir.current().version;
    const off = new DirectoryStore(db, "nat", "CN-LRS", { partnersInRota: false });
    expect(off.current().partnersOutOfRotas).toBe(true);
    expect(off.current().version).toBe(v + 1n);
    // The same setting on the next start: nothing new for the replicas.
    expect(new DirectoryStore(db, "nat", "CN-LRS", { partnersInRota: false }).current().version).toBe(v + 1n);
  });

  it("are removed", () => {
    const { dir } = store();
    dir.putPartner(princeton(), { inboundVerifier: S });
    dir.removePartner("princeton");
    expect(dir.current().externalPartners).toEqual([]);
    expect(() => dir.removePartner("princeton")).toThrow(/no external partner "princeton"/);
  });
});
