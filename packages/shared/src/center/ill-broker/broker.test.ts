import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Database } from "../../db.js";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import { type Directory, DirectorySchema, ExternalPartnerSchema } from "../../gen/lrs/v1/directory_pb.js";
import { ServiceType } from "../../gen/lrs/v1/ill_pb.js";
import {
  type BuildRotaRequest,
  BuildRotaRequestSchema,
  BuildRotaResponseSchema,
} from "../../gen/lrs/v1/ill_service_pb.js";
import {
  Availability,
  type CheckAvailabilityRequest,
  InstitutionAvailabilitySchema,
  ItemAvailabilitySchema,
  NodeCoverage_Status,
} from "../../gen/lrs/v1/search_pb.js";
import { IllForbiddenError } from "../../iso18626/route-errors.js";
import { createLogger } from "../../log.js";
import { toIso2709 } from "../../marc/iso2709.js";
import { sharedMigrations } from "../../migrations.js";
import { NotFoundError, ValidationError } from "../../rpc/errors.js";
import { NATIONAL_SHARE } from "../../search/deadline.js";
import { fixedDirectory, NAT, NORTH_A, NORTH_RC } from "../../testing/index.js";
import type { NodeIdentity } from "../../tls/pki.js";
import type { PeerClients } from "../peers.js";
import { unionCatalogMigrations } from "../union/migrations.js";
import { UnionCatalog } from "../union/union-catalog.js";
import { RotaBroker, type RotaBrokerOptions, titleQuery } from "./broker.js";
import { illRelayMigrations } from "./migrations.js";
import { IllRelay } from "./relay.js";

const log = createLogger("test");
const ISBN = "9780306406157";
const NOW = new Date("2026-06-10T12:00:00Z");

const lends = { lendsItems: true, suppliesCopies: true, lendsOutsideRegion: true };
const DIRECTORY: Directory = create(DirectorySchema, {
  version: 1n,
  authorityId: "nat",
  institutions: [
    { id: "nat", tier: Tier.NATIONAL },
    { id: "north-rc", tier: Tier.REGIONAL, region: "north" },
    { id: "south-rc", tier: Tier.REGIONAL, region: "south" },
    { id: "north-a", tier: Tier.MEMBER, region: "north", lendingPolicy: lends },
    { id: "north-b", tier: Tier.MEMBER, region: "north", lendingPolicy: lends },
    { id: "north-c", tier: Tier.MEMBER, region: "north", lendingPolicy: { ...lends, lendsItems: false } },
    { id: "south-a", tier: Tier.MEMBER, region: "south", lendingPolicy: lends },
    {
      id: "south-b",
      tier: Tier.MEMBER,
      region: "south",
      lendingPolicy: { ...lends, lendsOutsideRegion: false },
    },
  ],
});
const directory = fixedDirectory(DIRECTORY);
const regionOf = (id: string) => DIRECTORY.institutions.find((i) => i.id === id)?.region;

function marc(id: string, title: string, author: string, leader = "00000nam a2200000 a 4500"): Uint8Array {
  return toIso2709({
    leader,
    fields: [
      { tag: "001", value: id },
      { tag: "008", value: "200101s2020    xxu           000 0 eng d" },
      { tag: "020", ind1: " ", ind2: " ", subfields: [{ code: "a", value: ISBN }] },
      { tag: "100", ind1: "1", ind2: " ", subfields: [{ code: "a", value: author }] },
      { tag: "245", ind1: "1", ind2: "0", subfields: [{ code: "a", value: title }] },
    ],
  });
}

function hold(union: UnionCatalog, institutionId: string, recordId: string, copies = 1) {
  union.apply(institutionId, {
    kind: "upsert",
    institutionId,
    recordId,
    marc: marc(recordId, "Signals and systems", "Oppenheim, Alan"),
    holdings: Array.from({ length: copies }, (_, i) => ({
      barcode: `${recordId}-${i}`,
      callNumber: "QA1",
      location: "stacks",
      status: "available",
      loanRule: "standard",
    })),
    changedAt: NOW,
  });
}

/** Members (or regional centers) answering availability: every institution asked is as `states` says. */
function fakePeers(states: Record<string, Availability>, asked: string[] = []): PeerClients {
  return {
    regionOf,
    client: (_service: unknown, id: string) => ({
      checkAvailability: async (req: CheckAvailabilityRequest) => {
        asked.push(id);
        if (states[id] === undefined) throw new ConnectError(`${id} is down`, Code.Unavailable);
        const institutions = [...new Set(req.records.map((r) => r.institutionId))].map((inst) =>
          create(InstitutionAvailabilitySchema, {
            institutionId: inst,
            state: states[inst] ?? states[id],
            items: [create(ItemAvailabilitySchema, { state: states[inst] ?? states[id] })],
          }),
        );
        return { institutions, coverage: [] };
      },
    }),
  } as unknown as PeerClients;
}

function open(nodeId: string) {
  const db = Database.open(":memory:", [
    ...sharedMigrations,
    ...unionCatalogMigrations,
    ...illRelayMigrations,
  ]);
  const union = new UnionCatalog(db, { nodeId });
  return { db, union };
}

function broker(
  n: ReturnType<typeof open>,
  self: NodeIdentity,
  peers: PeerClients,
  national?: RotaBrokerOptions["national"],
): RotaBroker {
  const relay = new IllRelay({ db: n.db, outbox: undefined as never, directory, self, log });
  return new RotaBroker({
    self,
    db: n.db,
    union: n.union,
    directory,
    peers,
    relay,
    log,
    now: () => NOW,
    ...(national ? { national } : {}),
  });
}

const byIsbn = (o: MessageInitShape<typeof BuildRotaRequestSchema> = {}) =>
  create(BuildRotaRequestSchema, {
    itemIds: [{ bibliographicItemIdentifierCode: "ISBN", bibliographicItemIdentifier: "0-306-40615-2" }],
    serviceType: ServiceType.LOAN,
    ...o,
  });

describe("BuildRota at a regional center", () => {
  let n: ReturnType<typeof open>;
  beforeEach(() => {
    n = open("north-rc");
    hold(n.union, "north-a", "a1");
    hold(n.union, "north-b", "b1", 2);
    hold(n.union, "north-c", "c1");
  });
  afterEach(() => n.db.close());

  it("puts its own region first and appends what the national center answers for the others", async () => {
    const sent: BuildRotaRequest[] = [];
    const located: string[] = [];
    const b = broker(
      n,
      NORTH_RC,
      fakePeers({ "north-b": Availability.AVAILABLE, "north-c": Availability.AVAILABLE }),
      {
        id: () => "nat",
        catalog: {
          locateRecord: async (r: { institutionId: string; recordId: string }) => {
            located.push(`${r.institutionId}/${r.recordId}`);
            return { clusterId: "nat:c5" };
          },
        } as never,
        ill: {
          buildRota: async (req: BuildRotaRequest) => {
            sent.push(req);
            return create(BuildRotaResponseSchema, {
              clusterId: "nat:c5",
              rota: [
                { agencyId: "south-a", region: "south", included: true, reason: "other region (south); …" },
              ],
              excluded: [
                {
                  agencyId: "south-b",
                  region: "south",
                  reason: "lends to members of its own region (south) only",
                },
              ],
              coverage: [{ nodeId: "south-rc", status: NodeCoverage_Status.ANSWERED }],
            });
          },
        } as never,
      },
    );
    const res = await b.buildRota(byIsbn(), NORTH_A);
    expect(res.clusterId).toMatch(/^north-rc:c\d+$/);
    expect(res.rota.map((c) => c.agencyId)).toEqual(["north-b", "south-a"]);
    expect(res.rota[0]!.reason).toBe("own region; 1 of 1 copy available; lent 0, borrowed 0");
    expect(res.excluded.map((c) => [c.agencyId, c.reason])).toEqual([
      ["north-a", "the requester itself"],
      ["north-c", "does not lend items (lending policy)"],
      ["south-b", "lends to members of its own region (south) only"],
    ]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      clusterId: "nat:c5",
      requestingAgencyId: "north-a",
      excludeRegions: ["north"],
    });
    expect(located).toHaveLength(1);
    expect(res.coverage.map((c) => c.nodeId).sort()).toEqual(["nat", "north-b", "north-c", "south-rc"]);
  });

  it("asks the national center with the request's maximum cost, service level and pages", async () => {
    const sent: BuildRotaRequest[] = [];
    const b = broker(n, NORTH_RC, fakePeers({ "north-b": Availability.AVAILABLE }), {
      id: () => "nat",
      catalog: { locateRecord: async () => ({ clusterId: "nat:c5" }) } as never,
      ill: {
        buildRota: async (req: BuildRotaRequest) => {
          sent.push(req);
          return create(BuildRotaResponseSchema, { clusterId: "nat:c5" });
        },
      } as never,
    });
    const terms = {
      maximumCosts: { currencyCode: "EUR", monetaryValue: "10.00" },
      serviceLevel: "Rush",
      pages: 12,
    };
    await b.buildRota(byIsbn(terms), NORTH_A);
    expect(sent[0]).toMatchObject(terms);
    await expect(
      b.buildRota(byIsbn({ maximumCosts: { currencyCode: "EUR", monetaryValue: "ten" } }), NORTH_A),
    ).rejects.toThrow(/^maximum_costs: "ten" is not an amount/);
  });

  it("builds its own region's rota when the national center is unreachable, and says so", async () => {
    const b = broker(n, NORTH_RC, fakePeers({ "north-b": Availability.AVAILABLE }), {
      id: () => "nat",
      catalog: {
        locateRecord: async () => {
          throw new ConnectError("connect ECONNREFUSED", Code.Unavailable);
        },
      } as never,
      ill: {} as never,
    });
    const res = await b.buildRota(byIsbn(), NORTH_A);
    expect(res.rota.map((c) => c.agencyId)).toEqual(["north-b"]);
    const nat = res.coverage.find((c) => c.nodeId === "nat");
    expect(nat).toMatchObject({ status: NodeCoverage_Status.FAILED });
    expect(nat!.detail).toMatch(/other regions not asked: .*ECONNREFUSED/);
    // north-c did not answer: unknown (kept), but it lends no items, so it is out anyway.
    expect(res.excluded.find((c) => c.agencyId === "north-c")!.reason).toMatch(/does not lend items/);
  });

  it("a hung national center or member (alive, silent) costs the rota at most its share of the deadline", async () => {
    /** Never answers: a node alive but silent; the call ends at its deadline, as a transport ends it. */
    const hang = (_req: unknown, o: { signal?: AbortSignal; timeoutMs?: number }) =>
      new Promise((_resolve, reject) => {
        const fail = () => reject(new ConnectError("the operation timed out", Code.DeadlineExceeded));
        o.signal?.addEventListener("abort", fail);
        setTimeout(fail, o.timeoutMs ?? 60_000);
      });
    const peers = fakePeers({ "north-b": Availability.AVAILABLE });
    const hungPeers = {
      ...peers,
      client: (service: unknown, id: string) =>
        id === "north-c" ? { checkAvailability: hang } : peers.client(service as never, id),
    } as unknown as PeerClients;
    const b = broker(n, NORTH_RC, hungPeers, {
      id: () => "nat",
      catalog: { locateRecord: hang } as never,
      ill: { buildRota: hang } as never,
    });
    const deadlineMs = 2_000;
    const started = Date.now();
    const res = await b.buildRota(byIsbn({ serviceType: ServiceType.COPY }), NORTH_A, {
      timeoutMs: deadlineMs,
    });
    const took = Date.now() - started;
    // Half the deadline (NATIONAL_SHARE), not the whole of it; the own region is in the rota.
    expect(took).toBeLessThan(deadlineMs * NATIONAL_SHARE + 300);
    expect(res.rota.map((c) => c.agencyId)).toEqual(["north-b", "north-c"]);
    expect(res.coverage.find((c) => c.nodeId === "nat")!.status).toBe(NodeCoverage_Status.TIMED_OUT);
    expect(res.coverage.find((c) => c.nodeId === "north-c")!.status).toBe(NodeCoverage_Status.TIMED_OUT);
  });

  it("keeps a holder whose availability is unknown after those available", async () => {
    hold(n.union, "north-d" as string, "d1");
    const b = broker(n, NORTH_RC, fakePeers({ "north-b": Availability.AVAILABLE }));
    const res = await b.buildRota(byIsbn({ serviceType: ServiceType.COPY }), NORTH_A);
    expect(res.rota.map((c) => [c.agencyId, c.availability])).toEqual([
      ["north-b", Availability.AVAILABLE],
      ["north-c", Availability.UNKNOWN],
    ]);
    expect(res.rota[1]!.reason).toMatch(/availability unknown \(no answer from north-c/);
    expect(res.excluded.find((c) => c.agencyId === "north-d")!.reason).toBe(
      "not in the federation directory",
    );
  });

  it("finds the title by its words, and refuses what it cannot find", async () => {
    const b = broker(n, NORTH_RC, fakePeers({ "north-b": Availability.AVAILABLE }));
    const res = await b.buildRota(
      create(BuildRotaRequestSchema, { title: 'Signals and "systems"*', author: "Oppenheim" }),
      NORTH_A,
    );
    expect(res.rota.map((c) => c.agencyId)).toEqual(["north-b"]);
    await expect(
      b.buildRota(create(BuildRotaRequestSchema, { title: "Nothing like it" }), NORTH_A),
    ).rejects.toThrow(NotFoundError);
    await expect(
      b.buildRota(create(BuildRotaRequestSchema, { clusterId: "north-rc:c999" }), NORTH_A),
    ).rejects.toThrow(/no cluster north-rc:c999/);
    await expect(
      b.buildRota(
        byIsbn({
          itemIds: [{ bibliographicItemIdentifierCode: "ISBN", bibliographicItemIdentifier: "123" }],
        }),
        NORTH_A,
      ),
    ).rejects.toThrow(new ValidationError('item_ids[0]: "123" is not a valid ISBN'));
  });

  it("builds rotas for the caller only, and for its own members when asked by itself", async () => {
    const b = broker(n, NORTH_RC, fakePeers({}));
    await expect(b.buildRota(byIsbn({ requestingAgencyId: "north-b" }), NORTH_A)).rejects.toThrow(
      IllForbiddenError,
    );
    await expect(b.buildRota(byIsbn(), NORTH_RC)).rejects.toThrow(/requesting_agency_id is required/);
    await expect(b.buildRota(byIsbn({ requestingAgencyId: "south-a" }), NORTH_RC)).rejects.toThrow(
      /south-a is not a member of region north/,
    );
    const res = await b.buildRota(byIsbn({ requestingAgencyId: "north-b" }), NORTH_RC);
    expect(res.excluded.find((c) => c.agencyId === "north-b")!.reason).toBe("the requester itself");
  });
});

describe("BuildRota at the national center", () => {
  it("answers a regional center for the other regions, availability asked of their centers", async () => {
    const n = open("nat");
    hold(n.union, "north-a", "a1");
    hold(n.union, "south-a", "s1");
    hold(n.union, "south-b", "s2");
    const asked: string[] = [];
    const b = broker(n, NAT, fakePeers({ "south-rc": Availability.AVAILABLE }, asked));
    const res = await b.buildRota(
      byIsbn({ requestingAgencyId: "north-a", excludeRegions: ["north"] }),
      NORTH_RC,
    );
    expect(res.clusterId).toMatch(/^nat:c\d+$/);
    expect(res.rota.map((c) => c.agencyId)).toEqual(["south-a"]);
    expect(res.rota[0]!.reason).toMatch(/^other region \(south\); 1 of 1 copy available/);
    expect(res.excluded.map((c) => c.agencyId)).toEqual(["south-b"]);
    expect(asked).toEqual(["south-rc"]);
    await expect(
      b.buildRota(byIsbn({ requestingAgencyId: "south-a", excludeRegions: ["north"] }), NORTH_RC),
    ).rejects.toThrow(/south-a is not a member of region north/);
    await expect(
      b.buildRota(
        create(BuildRotaRequestSchema, { clusterId: "north-rc:c1", requestingAgencyId: "north-a" }),
        NORTH_RC,
      ),
    ).rejects.toThrow(/not a national cluster/);
    n.db.close();
  });
});

describe("a partner's request to the federation (broker mode) at the national center", () => {
  it("takes holders of every region that lend outside it, and is refused at a regional center", async () => {
    const n = open("nat");
    hold(n.union, "north-a", "a1");
    hold(n.union, "south-a", "s1");
    hold(n.union, "south-b", "s2");
    const b = broker(
      n,
      NAT,
      fakePeers({ "north-rc": Availability.AVAILABLE, "south-rc": Availability.AVAILABLE }),
    );
    const res = await b.buildRotaForPartner(
      "princeton",
      { ...byIsbn(), title: "", author: "", serviceLevel: "" },
      10_000,
    );
    expect(res.rota.map((c) => c.agencyId)).toEqual(["north-a", "south-a"]);
    expect(res.rota[0]!.reason).toMatch(/^other region \(north\)/);
    // A partner is of no region: south-b lends inside its own only.
    expect(res.excluded.map((c) => [c.agencyId, c.reason])).toEqual([
      ["south-b", expect.stringMatching(/own region \(south\) only/)],
    ]);
    await expect(
      b.buildRotaForPartner(
        "princeton",
        { ...byIsbn(), itemIds: [], title: " ", author: "", serviceLevel: "" },
        1000,
      ),
    ).rejects.toThrow(/give a title or an ISBN/);
    n.db.close();
    const r = open("north-rc");
    await expect(
      broker(r, NORTH_RC, fakePeers({})).buildRotaForPartner(
        "princeton",
        { ...byIsbn(), title: "", author: "", serviceLevel: "" },
        1000,
      ),
    ).rejects.toThrow(/only at the national center/);
    r.db.close();
  });
});

describe("external partners closing a regional rota", () => {
  const partner = create(ExternalPartnerSchema, {
    id: "princeton",
    name: "Princeton",
    agencyIdType: "ISIL",
    agencyIdValue: "US-NjP",
    mayLend: true,
    lendsLoans: true,
  });
  /** The rota north-a gets, with the region's and the national center's setting. */
  const rotaWith = async (regionAllows: boolean, nationalAllows: boolean) => {
    const n = open("north-rc");
    hold(n.union, "north-b", "b1");
    const dir = fixedDirectory(
      create(DirectorySchema, {
        ...DIRECTORY,
        externalPartners: [partner],
        partnersOutOfRotas: !nationalAllows,
      }),
    );
    const relay = new IllRelay({ db: n.db, outbox: undefined as never, directory: dir, self: NORTH_RC, log });
    const b = new RotaBroker({
      self: NORTH_RC,
      db: n.db,
      union: n.union,
      directory: dir,
      peers: fakePeers({ "north-b": Availability.AVAILABLE }),
      relay,
      log,
      now: () => NOW,
      partnersInRota: regionAllows,
    });
    const res = await b.buildRota(byIsbn(), NORTH_A);
    n.db.close();
    return res.rota.map((c) => c.agencyId);
  };

  it("only when both the region and the national center let them in", async () => {
    expect(await rotaWith(true, true)).toEqual(["north-b", "princeton"]);
    expect(await rotaWith(true, false)).toEqual(["north-b"]);
    expect(await rotaWith(false, true)).toEqual(["north-b"]);
  });
});

describe("titleQuery", () => {
  it("quotes the user's words so that CQL and masking characters are only searched for", () => {
    expect(titleQuery('A "b" c*', "")).toBe('dc.title all "A \\"b\\" c\\*"');
    expect(titleQuery("T", "Au")).toBe('dc.title all "T" and dc.creator all "Au"');
    expect(titleQuery("  ", "Au")).toBeUndefined();
  });
});
