// A federation for interlibrary loan tests: a borrower and lenders in two regions, each lender's
// automatic responder in scenario mode (the request's note picks its answer), short response
// times so that a silent lender is passed over in seconds, and a catalog with known holdings.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Federation, type FederationOptions, type FederationSpec, REPO_ROOT } from "@lrs/dev-env";
import { recordIdOf } from "@lrs/member-node";
import { illPb, illServicePb, readMarcFile } from "@lrs/shared";
import { afterAll, beforeAll } from "vitest";
import { nodeCli, startFederation } from "./harness.js";

export const LOC = join(REPO_ROOT, "data/marc/lc-marc2bibframe2/loc_general.xml");
export const NLM = join(REPO_ROOT, "data/marc/lc-marc2bibframe2/nlm.xml");
/** In LOC only: held by south-a alone (another region than the borrower's). */
export const SOUTH_ONLY_ISBNS = [
  "9781921667473",
  "9781844549511",
  "9781844549368",
  "9781920397043",
  "9781450071772",
  "9781582435459",
  "9781742371313",
  "9781592983490",
  "9789810854324",
  "9780980709711",
  "9781844549443",
  "9780968071120",
  "9781557535412",
  "9781604139495",
  "9781843582687",
  "9780973833560",
  "9781894791229",
  "9781439196786",
  "9781877443039",
  "9780531237014",
  "9781847326751",
];
/** In NLM: held by north-b and south-a (and north-c, which lends no items). */
export const BOTH_REGIONS_ISBNS = [
  "9782225428906",
  "9782225466731",
  "9780879692872",
  "9789514225994",
  "9780121569303",
  "9780407014992",
  "9780407001749",
  "9780071370875",
  "9780071623438",
  "9780071471855",
  "9780071437493",
];

export const LENDER = (responseTime: string) => `
[lending_policy]
response_time = "${responseTime}"

[ill]
auto_respond = "scenario"
timer_interval = "200ms"
`;

export const ILL_SPEC: FederationSpec = {
  national: { id: "nat", name: "Test National Center" },
  regions: [
    {
      region: "north",
      id: "north-rc",
      name: "North Test Center",
      members: [
        {
          id: "north-a",
          name: "North Library A (borrower)",
          extraConfig: `[ill]\ntimer_interval = "200ms"\n`,
        },
        { id: "north-b", name: "North Library B", extraConfig: LENDER("3s") },
        {
          id: "north-c",
          name: "North Library C (lends no items)",
          extraConfig: `[lending_policy]\nlends_items = false\nsupplies_copies = false\n\n[ill]\ntimer_interval = "200ms"\n`,
        },
      ],
    },
    {
      region: "south",
      id: "south-rc",
      name: "South Test Center",
      members: [{ id: "south-a", name: "South Library A", extraConfig: LENDER("3s") }],
    },
  ],
};

/** Two available copies of every record of `files`, as an items CSV for `lrs-member import --items`. */
export async function writeItems(memberId: string, files: string[], out: string): Promise<void> {
  const lines = ["record_id,barcode,call_number,location,status,loan_rule,due_date"];
  let n = 0;
  for (const f of files)
    for await (const r of readMarcFile(f)) {
      if (!r.ok) continue;
      const id = recordIdOf(r.record);
      if (!id) continue;
      for (const copy of [1, 2])
        lines.push(`${id},${memberId}-${++n}-${copy},QH581 .X${n},MAIN,available,normal,`);
    }
  writeFileSync(out, `${lines.join("\n")}\n`);
}

/** ILL_SPEC's lender settings: a short response time and the scenario responder. */
export const lenderConfig = LENDER;

export async function startIllFederation(
  spec: FederationSpec = ILL_SPEC,
  opts: Pick<FederationOptions, "env"> = {},
): Promise<{ fed: Federation; destroy: () => Promise<void> }> {
  const { fed, destroy } = await startFederation(spec, opts);
  try {
    const itemsDir = join(fed.dir, "items");
    mkdirSync(itemsDir, { recursive: true });
    const imp = async (id: string, files: string[]) => {
      const items = join(itemsDir, `${id}.csv`);
      await writeItems(id, files, items);
      const node = fed.node(id);
      await fed.cli(node, ["import", "--config", node.config, "--items", items, ...files]);
    };
    await Promise.all([imp("north-b", [NLM]), imp("north-c", [NLM]), imp("south-a", [LOC, NLM])]);
    await fed.waitSynced(90_000);
    return { fed, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}

/**
 * The ILL federation of a test file: started before its tests (`onStarted` gets it), destroyed
 * after them — also when a test failed; a start that fails half-way destroys what it started.
 */
export function useIllFederation(
  onStarted: (fed: Federation) => void,
  spec: FederationSpec = ILL_SPEC,
  opts: Pick<FederationOptions, "env"> = {},
): void {
  let destroy: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const started = await startIllFederation(spec, opts);
    destroy = started.destroy;
    onStarted(started.fed);
  });
  afterAll(async () => {
    await destroy?.();
  });
}

export type Staff = illServicePb.StaffRequest;

export const isbn = (value: string) => [
  { bibliographicItemIdentifierCode: "ISBN", bibliographicItemIdentifier: value },
];

export function staff<T>(
  fed: Federation,
  member: string,
  fn: (c: import("@connectrpc/connect").Client<typeof illServicePb.IllStaffService>) => Promise<T>,
): Promise<T> {
  return fed.withClient(member, illServicePb.IllStaffService, fn);
}

/** A loan request at `member` for an ISBN, the lender's answer chosen by `note`. */
export async function borrow(
  fed: Federation,
  member: string,
  value: string,
  note: string,
  patronId: string,
  serviceType = illPb.ServiceType.LOAN,
): Promise<Staff> {
  const res = await staff(fed, member, (c) =>
    c.borrow({ itemIds: isbn(value), serviceType, note, patronId }, { timeoutMs: 30_000 }),
  );
  return res.request!;
}

export async function show(fed: Federation, member: string, id: string): Promise<Staff> {
  return (await staff(fed, member, (c) => c.showRequest({ id }))).request!;
}

export async function act(
  fed: Federation,
  member: string,
  id: string,
  action: string,
  extra: { answer?: string; reason?: string; note?: string } = {},
): Promise<Staff> {
  return (await staff(fed, member, (c) => c.act({ id, action, ...extra }))).request!;
}

/** Waits until the request at `member` is in `status` (one of them); fails with its timeline otherwise. */
export async function waitFor(
  fed: Federation,
  member: string,
  id: string,
  status: string | string[],
  timeoutMs = 20_000,
): Promise<Staff> {
  const want = Array.isArray(status) ? status : [status];
  const until = Date.now() + timeoutMs;
  let last: Staff | undefined;
  for (;;) {
    try {
      last = await show(fed, member, id);
      if (want.includes(last.status)) return last;
    } catch (err) {
      // The node may be restarting in a crash test.
      if (Date.now() > until) throw err;
    }
    if (Date.now() > until) {
      const tl = last?.timeline.map((t) => `${t.from || "·"} → ${t.to} (${t.event}) ${t.note}`).join("\n  ");
      throw new Error(
        `${member} ${id}: waited ${timeoutMs} ms for ${want.join("|")}, it is ${last?.status}\n  ${tl ?? ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** The lender's side of a borrower's request: the one lender request whose ISO id names it. */
export async function lenderSide(
  fed: Federation,
  lender: string,
  borrowerRequestId: string,
  timeoutMs = 20_000,
): Promise<Staff[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await staff(fed, lender, (c) => c.listRequests({ role: "lender" }));
    const mine = res.requests.filter((r) => r.requestingAgencyRequestId.startsWith(`${borrowerRequestId}/`));
    if (mine.length > 0 || Date.now() > until) return mine;
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Imports MARC `records` into a member's catalog with two items per record; returns `import --json`. */
export async function importCatalog(
  fed: Federation,
  member: string,
  records: string,
): Promise<{ added: number; updated: number; rejected: number }> {
  const items = join(fed.dir, `${member}-items.csv`);
  await writeItems(member, [records], items);
  return JSON.parse(await nodeCli(fed, member, ["import", "--items", items, records, "--json"]));
}
