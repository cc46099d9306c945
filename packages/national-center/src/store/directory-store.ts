import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Database,
  type DirectorySource,
  directoryPb,
  partnerProblem,
  Tier,
  verifierOfLegacyDigest,
} from "@lrs/shared";

type Directory = directoryPb.Directory;
type Institution = directoryPb.Institution;
type ExternalPartner = directoryPb.ExternalPartner;
const { DirectorySchema, ExternalPartnerSchema, InstitutionSchema } = directoryPb;

/** Refusals of directory changes; safe to send to the caller. */
export class DirectoryError extends Error {
  override readonly name = "DirectoryError";
}

export interface IssuedCertificate {
  serial: string;
  fingerprint: string;
  institutionId: string;
  tier: Tier;
  region: string;
  notAfter: Date;
}

/**
 * The authoritative directory at the national center. Every change bumps one
 * version number, which is what replicas compare; an unchanged registration
 * changes nothing, so registering twice is harmless.
 */
export class DirectoryStore implements DirectorySource {
  readonly #db: Database;
  readonly #authorityId: string;
  readonly #agencyIdType: string;
  readonly #partnersInRota: boolean;
  readonly #listeners = new Set<(d: Directory) => void>();
  #current: Directory;
  #revoked: Set<string>;

  constructor(
    db: Database,
    authorityId: string,
    agencyIdType = "LRS",
    opts: {
      /** [iso18626] partners_in_rota: external partners may close rotas (regions may still say no). */ partnersInRota?: boolean;
    } = {},
  ) {
    this.#db = db;
    this.#authorityId = authorityId;
    this.#agencyIdType = agencyIdType;
    this.#partnersInRota = opts.partnersInRota ?? true;
    // The federation-wide settings come from this node's configuration: a change is a new
    // directory version, so that every replica takes it.
    const settings = JSON.stringify({ agencyIdType, partnersInRota: this.#partnersInRota });
    db.transaction(() => {
      const row = db.sqlite.prepare("SELECT value FROM node_meta WHERE key = 'directory_settings'").get() as
        | { value: string }
        | undefined;
      if (row?.value === settings) return;
      db.sqlite
        .prepare(
          "INSERT INTO node_meta (key, value) VALUES ('directory_settings', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .run(settings);
      if (row || this.#version() > 0n) this.#bump();
    });
    this.#current = this.#load();
    this.#revoked = new Set(this.#current.revokedFingerprints);
  }

  #version(): bigint {
    const row = this.#db.sqlite
      .prepare("SELECT value FROM node_meta WHERE key = 'directory_version'")
      .get() as { value: string } | undefined;
    return BigInt(row?.value ?? "0");
  }

  #load(): Directory {
    const rows = this.#db.sqlite
      .prepare("SELECT data FROM institutions ORDER BY tier, region, id")
      .all() as Array<{ data: Buffer }>;
    const revoked = this.#db.sqlite
      .prepare(
        "SELECT fingerprint FROM issued_certificates WHERE revoked_at IS NOT NULL ORDER BY fingerprint",
      )
      .all() as Array<{ fingerprint: string }>;
    const partners = this.#db.sqlite
      .prepare("SELECT data FROM external_partners ORDER BY id")
      .all() as Array<{
      data: Buffer;
    }>;
    return create(DirectorySchema, {
      version: this.#version(),
      authorityId: this.#authorityId,
      institutions: rows.map((r) => fromBinary(InstitutionSchema, new Uint8Array(r.data))),
      revokedFingerprints: revoked.map((r) => r.fingerprint),
      agencyIdType: this.#agencyIdType,
      partnersOutOfRotas: !this.#partnersInRota,
      externalPartners: partners.map((r) => fromBinary(ExternalPartnerSchema, new Uint8Array(r.data))),
    });
  }

  /** Call inside the transaction that changed the tables: bumps the version. */
  #bump(): void {
    const next = this.#version() + 1n;
    this.#db.sqlite
      .prepare(
        "INSERT INTO node_meta (key, value) VALUES ('directory_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      )
      .run(next.toString());
  }

  #publish(): void {
    this.#current = this.#load();
    this.#revoked = new Set(this.#current.revokedFingerprints);
    for (const l of this.#listeners) l(this.#current);
  }

  current(): Directory {
    return this.#current;
  }

  onChange(fn: (d: Directory) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  isRevoked(fp: string): boolean {
    return this.#revoked.has(fp);
  }

  get(id: string): Institution | undefined {
    const row = this.#db.sqlite.prepare("SELECT data FROM institutions WHERE id = ?").get(id) as
      | { data: Buffer }
      | undefined;
    return row ? fromBinary(InstitutionSchema, new Uint8Array(row.data)) : undefined;
  }

  certificate(fingerprint: string): (IssuedCertificate & { revoked: boolean }) | undefined {
    const r = this.#db.sqlite
      .prepare("SELECT * FROM issued_certificates WHERE fingerprint = ?")
      .get(fingerprint) as
      | {
          serial: string;
          fingerprint: string;
          institution_id: string;
          tier: number;
          region: string;
          not_after: string;
          revoked_at: string | null;
        }
      | undefined;
    if (!r) return undefined;
    return {
      serial: r.serial,
      fingerprint: r.fingerprint,
      institutionId: r.institution_id,
      tier: r.tier as Tier,
      region: r.region,
      notAfter: new Date(r.not_after),
      revoked: r.revoked_at !== null,
    };
  }

  /** An id belongs to one place in the federation: refuse to give it a second tier or region. */
  assertIdFree(id: string, tier: Tier, region: string): void {
    const other = this.#db.sqlite
      .prepare(
        "SELECT tier, region FROM issued_certificates WHERE institution_id = ? AND (tier != ? OR region != ?) LIMIT 1",
      )
      .get(id, tier, region) as { tier: number; region: string } | undefined;
    if (other)
      throw new DirectoryError(`institution id "${id}" is already in use in region "${other.region || "-"}"`);
  }

  /** Whether this CA enrolled `id` as `tier` in `region` (with a certificate not revoked). */
  enrolledAs(id: string, tier: Tier, region: string): boolean {
    return (
      this.#db.sqlite
        .prepare(
          "SELECT 1 FROM issued_certificates WHERE institution_id = ? AND tier = ? AND region = ? AND revoked_at IS NULL LIMIT 1",
        )
        .get(id, tier, region) !== undefined
    );
  }

  /**
   * The tier and region this CA enrolled `id` in, also when its certificates have since been
   * revoked (the ledger still settles what a revoked member owes); undefined for an unknown id.
   * An id never changes tier or region (`assertIdFree`).
   */
  enrollment(id: string): { tier: Tier; region: string } | undefined {
    const r = this.#db.sqlite
      .prepare("SELECT tier, region FROM issued_certificates WHERE institution_id = ? LIMIT 1")
      .get(id) as { tier: number; region: string } | undefined;
    return r ? { tier: r.tier as Tier, region: r.region } : undefined;
  }

  recordCertificate(c: IssuedCertificate): void {
    this.#db.sqlite
      .prepare(
        `INSERT INTO issued_certificates (serial, fingerprint, institution_id, tier, region, not_after, issued_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        c.serial,
        c.fingerprint,
        c.institutionId,
        c.tier,
        c.region,
        c.notAfter.toISOString(),
        new Date().toISOString(),
      );
  }

  /**
   * Adds or updates an institution. The certificate it names must have been
   * issued by this CA to that institution and not revoked. Returns the stored
   * entry and whether anything changed.
   */
  register(inst: Institution): { institution: Institution; changed: boolean } {
    const cert = this.certificate(inst.certFingerprint);
    if (!cert || cert.institutionId !== inst.id) {
      throw new DirectoryError(
        `certificate ${inst.certFingerprint || "(none)"} was not issued to ${inst.id} by this federation`,
      );
    }
    if (cert.revoked) throw new DirectoryError(`certificate of ${inst.id} has been revoked`);
    if (cert.tier !== inst.tier || cert.region !== inst.region) {
      throw new DirectoryError(
        `${inst.id} is enrolled as tier ${Tier[cert.tier]} in region "${cert.region}", not as registered`,
      );
    }
    let result: { institution: Institution; changed: boolean } | undefined;
    this.#db.transaction(() => {
      const existing = this.get(inst.id);
      const now = timestampFromDate(new Date());
      const next = create(InstitutionSchema, {
        ...inst,
        certSerial: cert.serial,
        certNotAfter: timestampFromDate(cert.notAfter),
        registeredAt: existing?.registeredAt ?? now,
        updatedAt: existing?.updatedAt ?? now,
        revoked: false,
      });
      if (existing && equals(InstitutionSchema, existing, next)) {
        result = { institution: existing, changed: false };
        return;
      }
      next.updatedAt = now;
      this.#db.sqlite
        .prepare(
          `INSERT INTO institutions (id, tier, region, data, revoked, registered_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?)
           ON CONFLICT (id) DO UPDATE SET tier = excluded.tier, region = excluded.region, data = excluded.data, revoked = 0, updated_at = excluded.updated_at`,
        )
        .run(
          inst.id,
          inst.tier,
          inst.region,
          Buffer.from(toBinary(InstitutionSchema, next)),
          new Date().toISOString(),
          new Date().toISOString(),
        );
      this.#bump();
      result = { institution: next, changed: true };
    });
    if (result?.changed) this.#publish();
    return result!;
  }

  /** Revokes every certificate of an institution; refused everywhere once replicas have the new version. */
  revoke(id: string, reason: string): { version: bigint; fingerprints: string[] } {
    const fingerprints = this.#db.transaction(() => {
      const rows = this.#db.sqlite
        .prepare(
          "SELECT fingerprint FROM issued_certificates WHERE institution_id = ? AND revoked_at IS NULL",
        )
        .all(id) as Array<{ fingerprint: string }>;
      if (rows.length === 0 && !this.get(id))
        throw new DirectoryError(`no institution "${id}" in the directory`);
      this.#db.sqlite
        .prepare(
          "UPDATE issued_certificates SET revoked_at = ?, revoke_reason = ? WHERE institution_id = ? AND revoked_at IS NULL",
        )
        .run(new Date().toISOString(), reason, id);
      const inst = this.get(id);
      if (inst) {
        inst.revoked = true;
        inst.updatedAt = timestampFromDate(new Date());
        this.#db.sqlite
          .prepare("UPDATE institutions SET revoked = 1, data = ?, updated_at = ? WHERE id = ?")
          .run(Buffer.from(toBinary(InstitutionSchema, inst)), new Date().toISOString(), id);
      }
      this.#bump();
      return rows.map((r) => r.fingerprint);
    });
    this.#publish();
    return { version: this.#current.version, fingerprints };
  }

  /**
   * Adds or updates an external ILL partner. `inboundVerifier` (partnerVerifier of the partner's
   * secret: salted scrypt, or a certificate fingerprint) replaces what is on record; the secret LRS
   * gives the partner is kept as is, here only; an empty one keeps what is on record. Throws
   * DirectoryError naming what is wrong.
   */
  putPartner(
    partner: ExternalPartner,
    secrets: { inboundVerifier?: string; outbound?: string } = {},
  ): { partner: ExternalPartner; changed: boolean; version: bigint } {
    let result: { partner: ExternalPartner; changed: boolean } | undefined;
    this.#db.transaction(() => {
      const row = this.#db.sqlite
        .prepare("SELECT data, outbound_secret FROM external_partners WHERE id = ?")
        .get(partner.id) as { data: Buffer; outbound_secret: string } | undefined;
      const existing = row ? fromBinary(ExternalPartnerSchema, new Uint8Array(row.data)) : undefined;
      const next = create(ExternalPartnerSchema, { ...partner, updatedAt: existing?.updatedAt });
      // Never an unsalted digest from the caller: only a verifier made here.
      next.inboundSecretSha256 = "";
      next.inboundVerifier = "";
      if (secrets.inboundVerifier) next.inboundVerifier = secrets.inboundVerifier;
      else if (existing && next.inboundAuth === existing.inboundAuth) {
        next.inboundVerifier = existing.inboundVerifier;
        next.inboundSecretSha256 = existing.inboundSecretSha256;
      }
      const problem = partnerProblem(next, this.#current);
      if (problem) throw new DirectoryError(`partner ${partner.id || "(no id)"}: ${problem}`);
      const outbound = secrets.outbound ?? row?.outbound_secret ?? "";
      if (existing && equals(ExternalPartnerSchema, existing, next) && outbound === row?.outbound_secret) {
        result = { partner: existing, changed: false };
        return;
      }
      next.updatedAt = timestampFromDate(new Date());
      this.#db.sqlite
        .prepare(
          `INSERT INTO external_partners (id, data, outbound_secret, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET data = excluded.data, outbound_secret = excluded.outbound_secret, updated_at = excluded.updated_at`,
        )
        .run(next.id, Buffer.from(toBinary(ExternalPartnerSchema, next)), outbound, new Date().toISOString());
      this.#bump();
      result = { partner: next, changed: true };
    });
    if (result?.changed) this.#publish();
    return { ...result!, version: this.#current.version };
  }

  /** Removes an external partner from the directory; throws DirectoryError for an unknown id. */
  removePartner(id: string): bigint {
    this.#db.transaction(() => {
      const res = this.#db.sqlite.prepare("DELETE FROM external_partners WHERE id = ?").run(id);
      if (res.changes === 0) throw new DirectoryError(`no external partner "${id}" in the directory`);
      this.#bump();
    });
    this.#publish();
    return this.#current.version;
  }

  /**
   * Partners entered with release 0.1 have an unsalted SHA-256 of their secret in the directory,
   * which went to every node. Each is replaced by a verifier (scrypt of that digest, or the
   * certificate fingerprint) that only centers receive: the partner keeps its secret. Returns
   * the ids upgraded.
   */
  async upgradeLegacyPartnerSecrets(): Promise<string[]> {
    const legacy = this.#current.externalPartners.filter((p) => p.inboundSecretSha256 !== "");
    if (legacy.length === 0) return [];
    const verifiers = new Map<string, string>();
    for (const p of legacy) verifiers.set(p.id, await verifierOfLegacyDigest(p));
    const done: string[] = [];
    this.#db.transaction(() => {
      for (const [id, verifier] of verifiers) {
        const row = this.#db.sqlite.prepare("SELECT data FROM external_partners WHERE id = ?").get(id) as
          | { data: Buffer }
          | undefined;
        if (!row) continue;
        const p = fromBinary(ExternalPartnerSchema, new Uint8Array(row.data));
        if (p.inboundSecretSha256 === "") continue;
        p.inboundVerifier = verifier;
        p.inboundSecretSha256 = "";
        this.#db.sqlite
          .prepare("UPDATE external_partners SET data = ? WHERE id = ?")
          .run(Buffer.from(toBinary(ExternalPartnerSchema, p)), id);
        done.push(id);
      }
      if (done.length > 0) this.#bump();
    });
    if (done.length > 0) this.#publish();
    return done;
  }

  /** The secret LRS gives a partner (its security code or HTTP basic password), or "". */
  partnerOutboundSecret(id: string): string {
    const row = this.#db.sqlite
      .prepare("SELECT outbound_secret FROM external_partners WHERE id = ?")
      .get(id) as { outbound_secret: string } | undefined;
    return row?.outbound_secret ?? "";
  }
}
