import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { lendsMaterial } from "../../directory/lending-policy.js";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import { InstitutionSchema } from "../../gen/lrs/v1/directory_pb.js";
import { ServiceType } from "../../gen/lrs/v1/ill_pb.js";
import {
  Availability,
  InstitutionAvailabilitySchema,
  ItemAvailabilitySchema,
} from "../../gen/lrs/v1/search_pb.js";
import { buildRota, DEFAULT_RESPONSE_TIME_SECONDS, type RotaHolder, type RotaInput } from "./rota.js";

const NOW = new Date("2026-06-10T12:00:00Z");

/** The policy fields these cases vary. */
interface PolicyInit {
  lendsItems?: boolean;
  suppliesCopies?: boolean;
  lendsOutsideRegion?: boolean;
  lendOnlyIfMultipleCopies?: boolean;
  materialTypes?: string[];
  closedPeriods?: Array<{ from: string; to: string; reason?: string }>;
  responseTimeSeconds?: number;
}

const LENDS_ALL: PolicyInit = {
  lendsItems: true,
  suppliesCopies: true,
  lendsOutsideRegion: true,
};

function item(state: Availability, reason = "") {
  return create(ItemAvailabilitySchema, { state, reason });
}

function available(free: number, total = free) {
  return create(InstitutionAvailabilitySchema, {
    state: Availability.AVAILABLE,
    items: [
      ...Array.from({ length: free }, () => item(Availability.AVAILABLE)),
      ...Array.from({ length: total - free }, () => item(Availability.ON_LOAN)),
    ],
  });
}

function holder(
  id: string,
  o: {
    region?: string;
    policy?: PolicyInit | null;
    tier?: Tier;
    revoked?: boolean;
    known?: boolean;
    copies?: number;
    availability?: ReturnType<typeof available> | null;
    lent?: number;
    borrowed?: number;
  } = {},
): RotaHolder {
  const region = o.region ?? "north";
  return {
    agencyId: id,
    region,
    recordId: `${id}-r1`,
    clusterId: "north-rc:c1",
    institution:
      o.known === false
        ? undefined
        : create(InstitutionSchema, {
            id,
            tier: o.tier ?? Tier.MEMBER,
            region,
            revoked: o.revoked ?? false,
            ...(o.policy === null ? {} : { lendingPolicy: { ...LENDS_ALL, ...o.policy } }),
          }),
    copies: o.copies ?? 2,
    availability: o.availability === null ? undefined : (o.availability ?? available(1, 2)),
    lent: o.lent ?? 0,
    borrowed: o.borrowed ?? 0,
  };
}

function rotaOf(holders: RotaHolder[], o: Partial<RotaInput> = {}) {
  return buildRota({
    requester: { id: "north-a", region: "north" },
    serviceType: ServiceType.LOAN,
    format: "book",
    now: NOW,
    holders,
    ...o,
  });
}

describe("buildRota: who is left out, and why", () => {
  const onLoan = create(InstitutionAvailabilitySchema, {
    state: Availability.ON_LOAN,
    onLoanUntil: timestampFromDate(new Date("2026-07-01T00:00:00Z")),
    items: [item(Availability.ON_LOAN)],
  });
  const notLendable = create(InstitutionAvailabilitySchema, {
    state: Availability.NOT_LENDABLE,
    reason: "non-circulating: every copy is for use in the library only",
    items: [item(Availability.NOT_LENDABLE, "non-circulating")],
  });
  const cases: Array<{ name: string; holder: RotaHolder; input?: Partial<RotaInput>; reason: RegExp }> = [
    { name: "the requester", holder: holder("north-a"), reason: /^the requester itself$/ },
    {
      name: "unknown to the directory",
      holder: holder("x", { known: false }),
      reason: /not in the federation directory/,
    },
    { name: "revoked", holder: holder("x", { revoked: true }), reason: /revoked/ },
    { name: "not a member", holder: holder("x", { tier: Tier.REGIONAL }), reason: /not a member library/ },
    { name: "no policy", holder: holder("x", { policy: null }), reason: /no lending policy/ },
    {
      name: "lends in its own region only",
      holder: holder("x", { region: "south", policy: { lendsOutsideRegion: false } }),
      reason: /own region \(south\) only/,
    },
    {
      name: "closed today",
      holder: holder("x", {
        policy: { closedPeriods: [{ from: "2026-06-01", to: "2026-06-15", reason: "move" }] },
      }),
      reason: /closed from 2026-06-01 to 2026-06-15 \(move\)/,
    },
    {
      name: "closed through the need-before date",
      holder: holder("x", { policy: { closedPeriods: [{ from: "2026-06-20", to: "2026-06-30" }] } }),
      input: { needBefore: new Date("2026-06-25T00:00:00Z") },
      reason: /through the need-before date 2026-06-25/,
    },
    {
      name: "lends no items",
      holder: holder("x", { policy: { lendsItems: false } }),
      reason: /does not lend items/,
    },
    {
      name: "supplies no copies",
      holder: holder("x", { policy: { suppliesCopies: false } }),
      input: { serviceType: ServiceType.COPY },
      reason: /does not supply copies/,
    },
    {
      name: "neither, for copy-or-loan",
      holder: holder("x", { policy: { lendsItems: false, suppliesCopies: false } }),
      input: { serviceType: ServiceType.COPY_OR_LOAN },
      reason: /does not lend items .*, and does not supply copies/,
    },
    {
      name: "another material type",
      holder: holder("x", { policy: { materialTypes: ["book", "serial"] } }),
      input: { format: "score" },
      reason: /lends only book, serial; this is a score/,
    },
    {
      name: "a single copy under lend-only-if-multiple",
      holder: holder("x", { copies: 1, policy: { lendOnlyIfMultipleCopies: true } }),
      reason: /more than one copy, and holds 1/,
    },
    {
      name: "every copy on loan",
      holder: holder("x", { availability: onLoan }),
      reason: /every copy is on loan until 2026-07-01/,
    },
    {
      name: "not lendable",
      holder: holder("x", { availability: notLendable }),
      reason: /not lendable: non-circulating/,
    },
  ];
  it.each(cases)("$name", ({ holder: h, input, reason }) => {
    const { rota, excluded } = rotaOf([h], input);
    expect(rota).toEqual([]);
    expect(excluded).toHaveLength(1);
    expect(excluded[0]!.included).toBe(false);
    expect(excluded[0]!.reason).toMatch(reason);
  });

  it("keeps a reference copy for a copy request, and a closed period that ends before the need-before date", () => {
    const notLendable = create(InstitutionAvailabilitySchema, {
      state: Availability.NOT_LENDABLE,
      items: [item(Availability.NOT_LENDABLE, "non-circulating")],
    });
    const { rota } = rotaOf(
      [
        holder("x", {
          availability: notLendable,
          policy: { closedPeriods: [{ from: "2026-06-11", to: "2026-06-12" }] },
        }),
      ],
      { serviceType: ServiceType.COPY, needBefore: new Date("2026-06-25T00:00:00Z") },
    );
    expect(rota.map((c) => c.agencyId)).toEqual(["x"]);
    expect(rota[0]!.reason).toMatch(/1 of 1 copy on the shelf to copy/);
  });

  it("copy-or-loan falls back to a copy when the loan is refused", () => {
    const { rota } = rotaOf([holder("x", { copies: 1, policy: { lendOnlyIfMultipleCopies: true } })], {
      serviceType: ServiceType.COPY_OR_LOAN,
    });
    expect(rota[0]!.reason).toMatch(/; copy;/);
  });
});

describe("buildRota: order", () => {
  it("own region first; available before unknown; those who borrowed more first; then by id", () => {
    const unknown = create(InstitutionAvailabilitySchema, {
      state: Availability.UNKNOWN,
      reason: "no answer",
    });
    const { rota, excluded } = rotaOf([
      holder("south-a", { region: "south", lent: 0, borrowed: 9 }),
      holder("north-d", { availability: unknown, lent: 0, borrowed: 9 }),
      holder("north-c", { lent: 4, borrowed: 6 }),
      holder("north-b", { lent: 4, borrowed: 6 }),
      holder("north-e", { lent: 5, borrowed: 0 }),
      holder("north-f", { availability: null }),
      holder("south-b", { region: "south", availability: unknown }),
    ]);
    expect(excluded).toEqual([]);
    expect(rota.map((c) => c.agencyId)).toEqual([
      "north-b",
      "north-c",
      "north-e",
      "north-d",
      "north-f",
      "south-a",
      "south-b",
    ]);
    expect(rota[0]!.reason).toBe("own region; 1 of 2 copies available; lent 4, borrowed 6");
    expect(rota[3]!.reason).toBe("own region; availability unknown (no answer); lent 0, borrowed 9");
    expect(rota[4]!.reason).toMatch(/availability unknown \(not asked\)/);
    expect(rota[5]!.reason).toMatch(/^other region \(south\); 1 of 2 copies available/);
    expect(rota.every((c) => c.included)).toBe(true);
  });

  it("gives each lender its response time, or the default", () => {
    const { rota } = rotaOf([holder("x", { policy: { responseTimeSeconds: 3600 } }), holder("y")]);
    expect(Object.fromEntries(rota.map((c) => [c.agencyId, c.responseTimeSeconds]))).toEqual({
      x: 3600,
      y: DEFAULT_RESPONSE_TIME_SECONDS,
    });
  });
});

describe("lendsMaterial", () => {
  it.each([
    [[], "score", true],
    [["book"], "", true],
    [["book"], "book", true],
    [["sound"], "music sound recording", true],
    [["map"], "manuscript map", true],
    [["book"], "manuscript", false],
    [["computer file"], "computer file", true],
    [["serial"], "book", false],
  ] as const)("%j lends %s: %s", (types, format, expected) => {
    expect(lendsMaterial(types, format)).toBe(expected);
  });
});

describe("buildRota: acquisitions and shared retention", () => {
  it("never asks a library that has the title only on order", () => {
    const r = rotaOf([
      { ...holder("north-b", { copies: 0, availability: null }), onOrder: 2 },
      holder("north-c"),
    ]);
    expect(r.rota.map((c) => c.agencyId)).toEqual(["north-c"]);
    expect(r.excluded[0]).toMatchObject({
      agencyId: "north-b",
      reason: "has it on order only (2 copies): an order is not lent",
    });
  });

  it("asks a library whose last copies are retained for the region after the other copies, even less available ones", () => {
    const kept = { ...holder("north-b", { copies: 1, availability: available(1) }), retainedUntil: 2035 };
    const other = holder("north-c", { availability: null, lent: 50 });
    const far = holder("south-d", { region: "south" });
    const r = rotaOf([kept, other, far]);
    expect(r.rota.map((c) => c.agencyId)).toEqual(["north-c", "north-b", "south-d"]);
    expect(r.rota[1]!.reason).toContain("last copies retained for the region until 2035");
    // Without the commitment the available copy would be asked first.
    expect(rotaOf([{ ...kept, retainedUntil: 0 }, other, far]).rota[0]!.agencyId).toBe("north-b");
  });
});
