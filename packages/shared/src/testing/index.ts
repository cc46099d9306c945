/**
 * `@lrs/shared/testing`: what unit tests of every package set up the same way — the standard
 * directory (a national center, two regions with a center and a member each) and the identities
 * of its nodes, a directory that never changes, an in-memory database with its migrations, the
 * default lending policy and `[ill]` settings, an item on the shelf. Tests only: production code never imports this
 * entry point (`scripts/check-boundaries.mjs`, run by `npm test`).
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { HoldingData } from "../catalog-sync/change-feed.js";
import {
  defaultIllConfig,
  defaultLendingPolicy,
  type IllConfig,
  type LendingPolicyConfig,
} from "../config.js";
import { Database, type Migration } from "../db.js";
import type { DirectorySource } from "../directory/source.js";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import { type Directory, DirectorySchema, type InstitutionSchema } from "../gen/lrs/v1/directory_pb.js";
import { sharedMigrations } from "../migrations.js";
import type { NodeIdentity } from "../tls/pki.js";

/** A directory that never changes: one snapshot, nothing revoked. */
export function fixedDirectory(directory: Directory): DirectorySource {
  return { current: () => directory, onChange: () => () => {}, isRevoked: () => false };
}

type InstitutionInit = MessageInitShape<typeof InstitutionSchema>;

/** The standard federation of the tests: nat; north-rc with north-a; south-rc with south-a. */
export const STANDARD_INSTITUTIONS: readonly InstitutionInit[] = [
  { id: "nat", tier: Tier.NATIONAL },
  { id: "north-rc", tier: Tier.REGIONAL, region: "north" },
  { id: "south-rc", tier: Tier.REGIONAL, region: "south" },
  { id: "north-a", tier: Tier.MEMBER, region: "north" },
  { id: "south-a", tier: Tier.MEMBER, region: "south" },
];

/** The standard federation's directory (version 2, authority nat), with `extra` institutions after it. */
export function standardDirectory(...extra: InstitutionInit[]): Directory {
  return create(DirectorySchema, {
    version: 2n,
    authorityId: "nat",
    institutions: [...STANDARD_INSTITUTIONS, ...extra],
  });
}

/** A member's identity; its region is the id's first part ("north-a": north). */
export function memberIdentity(id: string, region = id.split("-")[0] ?? ""): NodeIdentity {
  return { id, tier: Tier.MEMBER, region };
}

/** The identities of the standard federation's nodes, as a caller's certificate names them. */
export const NAT: NodeIdentity = { id: "nat", tier: Tier.NATIONAL, region: "" };
export const NORTH_RC: NodeIdentity = { id: "north-rc", tier: Tier.REGIONAL, region: "north" };
export const SOUTH_RC: NodeIdentity = { id: "south-rc", tier: Tier.REGIONAL, region: "south" };
export const NORTH_A: NodeIdentity = memberIdentity("north-a");
export const SOUTH_A: NodeIdentity = memberIdentity("south-a");

/** An in-memory database with the shared migrations and then `more` (a member's, a center's). */
export function memoryDatabase(...more: ReadonlyArray<readonly Migration[]>): Database {
  return Database.open(":memory:", [...sharedMigrations, ...more.flat()]);
}

/** The default `[lending_policy]` (lends items and copies, 28 days, one renewal), with `overrides`. */
export function lendingPolicy(overrides: Partial<LendingPolicyConfig> = {}): LendingPolicyConfig {
  return { ...defaultLendingPolicy(), ...overrides };
}

/** The default `[ill]` settings, with `overrides`. */
export function illConfig(overrides: Partial<IllConfig> = {}): IllConfig {
  return { ...defaultIllConfig(), ...overrides };
}

/** An item on the shelf (call number PL 1, location MAIN, available, standard loan rule), with `extra`. */
export function shelfItem(barcode: string, extra: Partial<HoldingData> = {}): HoldingData {
  return {
    barcode,
    callNumber: "PL 1",
    location: "MAIN",
    status: "available",
    loanRule: "standard",
    ...extra,
  };
}
