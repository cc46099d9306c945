// `lrs-member ill …` without a running node: the commands run in-process against IllStaffService
// through an in-memory router over a real IllStore (the engine's network side faked), and a few
// through the built program to prove the wiring and the exit codes.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { type Database, illPb, illServicePb, Outbox } from "@lrs/shared";
import { memoryDatabase } from "@lrs/shared/testing";
import { Command, CommanderError } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AutoRespondMode, BorrowInput } from "../ill/engine.js";
import { humanSeconds } from "../ill/report.js";
import { type ActionDetail, type IllEvent, type IllRequest, IllStore } from "../ill/store.js";
import { type IllStaffEngine, illStaffService } from "../services/ill-staff.js";
import { memberMigrations } from "../store/migrations.js";
import { parseDay } from "./ill/arguments.js";
import { addIllCommands } from "./ill/commands.js";
import { type IllRequestJson, requestJson } from "./ill/json.js";

const T0 = new Date("2025-03-10T09:00:00Z");
const { ServiceType } = illPb;

class FakeEngine implements IllStaffEngine {
  mode: AutoRespondMode = "off";
  readonly acted: Array<{ event: IllEvent; detail: ActionDetail | undefined }> = [];
  constructor(readonly store: IllStore) {}
  async borrow(input: BorrowInput): Promise<IllRequest> {
    const r = this.store.createBorrowing({
      patronId: input.patronId,
      serviceType: input.serviceType,
      clusterId: input.clusterId ?? (input.title ? undefined : `isbn:${input.itemIds?.[0]?.value}`),
      bibliographicInfo: { title: input.title ?? "", author: input.author ?? "" },
    });
    return this.store.applyAction(r.id, "send", {
      rota: [
        { agencyId: "north-b", reason: "own region", region: "north", availability: "available" },
        { agencyId: "south-a", reason: "other region", region: "south", responseTimeSeconds: 3 },
      ],
      excluded: [{ agencyId: "north-c", reason: "lends no items", region: "north" }],
    }).request;
  }
  async act(id: string, event: IllEvent, detail?: ActionDetail): Promise<IllRequest> {
    this.acted.push({ event, detail });
    return this.store.applyAction(id, event, detail).request;
  }
  messages(id: string) {
    return [
      {
        messageId: `${id}-m1`,
        direction: "out" as const,
        kind: "Request",
        at: T0,
        deliveredAt: T0,
        confirmedAt: T0,
        confirmation: "OK",
      },
    ];
  }
  timers() {
    return [{ kind: "response", dueAt: new Date(T0.getTime() + 3000) }];
  }
  autoResponder(): AutoRespondMode {
    return this.mode;
  }
  setAutoResponder(mode: AutoRespondMode): void {
    this.mode = mode;
  }
}

interface Ran {
  out: string;
  err: string;
  error: unknown;
}

let db: Database;
let store: IllStore;
let engine: FakeEngine;
let connects: number;
let closes: number;
let n: number;

beforeEach(() => {
  db = memoryDatabase(memberMigrations);
  n = 0;
  store = new IllStore({
    db,
    outbox: new Outbox(db),
    agencyId: "north-a",
    now: () => T0,
    newId: () => `id-${++n}`,
  });
  engine = new FakeEngine(store);
  connects = 0;
  closes = 0;
});
afterEach(() => db.close());

/** Runs `lrs-member ill ARGS` in-process; stdout and commander's output are captured. */
async function ill(...args: string[]): Promise<Ran> {
  const transport = createRouterTransport((router) => {
    router.service(
      illServicePb.IllStaffService,
      illStaffService(engine, () => T0),
    );
  });
  const client = createClient(illServicePb.IllStaffService, transport);
  let out = "";
  let err = "";
  const program = new Command("lrs-member")
    .exitOverride()
    .configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  addIllCommands(program, {
    connect: () => {
      connects++;
      return { client, close: () => closes++ };
    },
    now: () => T0,
  });
  const write = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  try {
    await program.parseAsync(["ill", ...args], { from: "user" });
    return { out, err, error: undefined };
  } catch (error) {
    return { out, err, error };
  } finally {
    write.mockRestore();
  }
}

const C = ["--config", "member.toml"];

function message(r: Ran): string {
  expect(r.error).toBeInstanceOf(Error);
  return r.error instanceof ConnectError ? r.error.rawMessage : (r.error as Error).message;
}

async function borrowed(): Promise<IllRequestJson> {
  const r = await ill("request", ...C, "--isbn", "0-19-282760-X", "--type", "loan", "--json");
  expect(r.error).toBeUndefined();
  return JSON.parse(r.out) as IllRequestJson;
}

function lendingRequest(): IllRequest {
  const messageId = `in-${++n}`;
  return store.receiveRequest(
    create(illPb.RequestSchema, {
      header: {
        requestingAgencyId: { agencyIdType: "LRS", agencyIdValue: "south-a" },
        supplyingAgencyId: { agencyIdType: "LRS", agencyIdValue: "north-a" },
        requestingAgencyRequestId: `south-req-${n}/0`,
        messageId,
      },
      serviceInfo: { requestType: illPb.RequestType.NEW, serviceType: ServiceType.LOAN },
      bibliographicInfo: { title: "Lent Title" },
    }),
    messageId,
  ).request;
}

describe("ill request: arguments checked before the node is called", () => {
  it("needs something to find the title by", async () => {
    const r = await ill("request", ...C, "--type", "loan");
    expect(message(r)).toBe("say what to borrow: --cluster ID, --isbn ISBN, --issn ISSN or --title TITLE");
    expect(connects).toBe(0);
  });

  it("refuses a type that is not loan, copy or copy-or-loan", async () => {
    const r = await ill("request", ...C, "--title", "Middlemarch", "--type", "book");
    expect(r.error).toBeInstanceOf(CommanderError);
    expect((r.error as CommanderError).exitCode).not.toBe(0);
    expect(r.err).toMatch(/argument 'book' is invalid. Allowed choices are loan, copy, copy-or-loan/);
  });

  it("needs a type", async () => {
    const r = await ill("request", ...C, "--title", "Middlemarch");
    expect((r.error as CommanderError).code).toBe("commander.missingMandatoryOptionValue");
    expect(r.err).toMatch(/--type <type>/);
  });

  it("refuses a date that is not a day, and a day already past", async () => {
    const bad = await ill("request", ...C, "--title", "M", "--type", "loan", "--need-before", "2025-02-30");
    expect(message(bad)).toBe('--need-before: "2025-02-30" is not a date (YYYY-MM-DD)');
    const past = await ill("request", ...C, "--title", "M", "--type", "loan", "--need-before", "2025-03-10");
    expect(message(past)).toBe("--need-before: 2025-03-10 is not in the future");
    expect(connects).toBe(0);
  });

  it("refuses a mistyped ISBN or ISSN, and an author without a title", async () => {
    expect(message(await ill("request", ...C, "--isbn", "9780192827600", "--type", "loan"))).toMatch(
      /^--isbn: "9780192827600" is not a valid ISBN/,
    );
    expect(message(await ill("request", ...C, "--issn", "0028-0837", "--type", "copy"))).toMatch(
      /^--issn: "0028-0837" is not a valid ISSN/,
    );
    expect(
      message(await ill("request", ...C, "--isbn", "9780192827609", "--author", "E", "--type", "loan")),
    ).toBe("--author goes with --title");
    expect(connects).toBe(0);
  });

  it("parses days strictly", () => {
    expect(parseDay("--due", "2024-02-29").toISOString()).toBe("2024-02-29T00:00:00.000Z");
    expect(() => parseDay("--due", "2023-02-29")).toThrow(/not a date/);
    expect(() => parseDay("--due", "1/3/2025")).toThrow(/not a date/);
  });
});

describe("ill request, list, show", () => {
  it("prints the new request as JSON with every documented key", async () => {
    const j = await borrowed();
    expect(Object.keys(j)).toEqual([
      "id",
      "role",
      "status",
      "type",
      "partner",
      "clusterId",
      "title",
      "author",
      "patronId",
      "note",
      "needBefore",
      "dueDate",
      "createdAt",
      "updatedAt",
      "rotaPosition",
      "requestingAgencyRequestId",
      "supplyingAgencyRequestId",
      "supplierStatus",
      "renewalsUsed",
      "maxRenewals",
      "duplicateOf",
      "attention",
      "actions",
      "rota",
      "excluded",
      "timeline",
      "messages",
      "timers",
      "identifiers",
      "article",
      "copy",
    ]);
    expect(j).toMatchObject({
      id: "id-1",
      role: "borrower",
      status: "sent_to_supplier",
      type: "loan",
      partner: "north-b",
      patronId: "library",
      needBefore: null,
      attention: null,
      rotaPosition: 0,
      requestingAgencyRequestId: "id-1/0",
      actions: ["cancel", "status"],
      messages: [
        {
          messageId: "id-1-m1",
          direction: "out",
          kind: "Request",
          at: "2025-03-10T09:00:00.000Z",
          deliveredAt: "2025-03-10T09:00:00.000Z",
          confirmedAt: "2025-03-10T09:00:00.000Z",
          confirmation: "OK",
        },
      ],
      timers: [{ kind: "response", dueAt: "2025-03-10T09:00:03.000Z" }],
    });
    expect(j.rota).toEqual([
      {
        position: 1,
        agencyId: "north-b",
        region: "north",
        recordId: null,
        clusterId: null,
        reason: "own region",
        responseTimeSeconds: null,
        availability: "available",
        lent: 0,
        borrowed: 0,
        charge: null,
        current: true,
      },
      expect.objectContaining({ position: 2, agencyId: "south-a", responseTimeSeconds: 3, current: false }),
    ]);
    expect(j.excluded).toEqual([
      expect.objectContaining({ position: null, agencyId: "north-c", reason: "lends no items" }),
    ]);
    expect(j.timeline.map((t) => [t.from, t.to, t.event])).toEqual([
      [null, "new", "created"],
      ["new", "validated", "validate"],
      ["validated", "sent_to_supplier", "send"],
    ]);
    expect(j.timeline[2]).toMatchObject({
      seq: 3,
      at: "2025-03-10T09:00:00.000Z",
      note: "",
      repeated: false,
    });
    expect(closes).toBe(connects);
  });

  it("prints one line and the next actions without --json", async () => {
    const r = await ill(
      "request",
      ...C,
      "--title",
      "Middlemarch",
      "--author",
      "Eliot",
      "--type",
      "copy-or-loan",
    );
    expect(r.error).toBeUndefined();
    expect(r.out).toBe(
      "id-1: sent_to_supplier (validated → sent_to_supplier by send), lender north-b\nnext: cancel, status   (lrs-member ill <action> id-1)\n",
    );
  });

  it("reports turnaround as tables: time in each state, where requests are, nothing for a quiet period", async () => {
    await borrowed();
    lendingRequest();
    const r = await ill("report", ...C, "--since", "3650d");
    expect(r.error).toBeUndefined();
    const lines = r.out.split("\n");
    expect(lines[0]).toMatch(/^2 request\(s\) created since \d{4}-\d\d-\d\dT/);
    expect(lines.slice(1, 4)).toEqual([
      "",
      "time in each state",
      expect.stringMatching(/^ROLE\s+STATE\s+ENDED\s+MEDIAN\s+P90\s+LONGEST\s+IN IT NOW$/),
    ]);
    expect(r.out).toContain("\nwhere they are now\n");
    expect(r.out).toMatch(/\nlender +new +1\n/);
    const quiet = await ill("report", ...C, "--since", "1s", "--role", "lender");
    expect(quiet.out).toMatch(/^0 request\(s\) created since [^\n]+\n$/);
  });

  it("lists as a table, or as an array of requests without messages and timers", async () => {
    await borrowed();
    const lent = lendingRequest();
    const table = await ill("list", ...C);
    const lines = table.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID\s+ROLE\s+STATUS\s+TYPE\s+PARTNER\s+TITLE\s+UPDATED$/);
    expect(lines[1]).toMatch(
      new RegExp(`^${lent.id} +lender +new +loan +south-a +Lent Title +2025-03-10 09:00:00Z$`),
    );
    expect(lines[2]).toMatch(/^id-1\s+borrower\s+sent_to_supplier\s+loan\s+north-b\s+isbn:9780192827609/);
    const json = JSON.parse((await ill("list", ...C, "--role", "lender", "--json")).out) as IllRequestJson[];
    expect(json.map((r) => [r.id, r.role, r.status, r.messages, r.timers])).toEqual([
      [lent.id, "lender", "new", null, null],
    ]);
    expect(json[0]!.timeline).toHaveLength(1);
    expect((await ill("list", ...C, "--status", "shipped")).out).toBe("no ILL requests\n");
    expect(message(await ill("list", ...C, "--limit", "0"))).toBe(
      '--limit: "0" is not a positive whole number',
    );
    expect(message(await ill("list", ...C, "--status", "lost"))).toMatch(/^status: "lost" is not a state/);
  });

  it("shows a request as a readable block", async () => {
    const j = await borrowed();
    const r = await ill("show", ...C, j.id);
    expect(r.error).toBeUndefined();
    expect(r.out).toContain("ILL request id-1  (borrower, loan)\n");
    expect(r.out).toContain("status       sent_to_supplier (sent to the current lender, no decision yet)\n");
    expect(r.out).toContain("lender       north-b\n");
    expect(r.out).toContain("rota (2 lenders, asking 1 of 2)\n");
    expect(r.out).toMatch(/^ {2}> {2}1\. north-b\s+north\s+available\s+— own region$/m);
    expect(r.out).toMatch(/^ {5}2\. south-a\s+south\s+-\s+answers within 3s — other region$/m);
    expect(r.out).toMatch(/left out of the rota\n\s+north-c\s+north\s+-\s+— lends no items\n/);
    expect(r.out).toMatch(/^ {2}2025-03-10 09:00:00Z {2}· → new\s+created$/m);
    expect(r.out).toMatch(/^ {2}2025-03-10 09:00:00Z {2}validated → sent_to_supplier\s+send$/m);
    expect(r.out).toMatch(
      /^ {2}out 2025-03-10 09:00:00Z {2}Request\s+delivered 2025-03-10 09:00:00Z, confirmed OK$/m,
    );
    expect(r.out).toMatch(/^timers\n {2}response {3}2025-03-10 09:00:03Z$/m);
    expect(r.out).toMatch(/next: cancel, status {3}\(lrs-member ill <action> id-1\)\n$/);
  });

  it("reports an unknown request with the node's message", async () => {
    const r = await ill("show", ...C, "nope");
    expect(r.error).toBeInstanceOf(ConnectError);
    expect((r.error as ConnectError).code).toBe(Code.NotFound);
    expect(message(r)).toBe("no ILL request nope");
  });
});

describe("ill actions", () => {
  it("answers no with an ISO reason in any case; refuses --reason with another answer", async () => {
    const lent = lendingRequest();
    expect(message(await ill("respond", ...C, lent.id, "yes", "--reason", "NotHeld"))).toBe(
      "--reason goes with respond no",
    );
    expect(message(await ill("respond", ...C, lent.id, "no", "--reason", "gone"))).toMatch(
      /^--reason: "gone" is not an ISO 18626 reason; use one of NonCirculating, /,
    );
    const maybe = await ill("respond", ...C, lent.id, "maybe");
    expect(maybe.err).toMatch(
      /value 'maybe' is invalid for argument 'answer'. Allowed choices are yes, no, conditional, expect/,
    );
    const r = await ill(
      "respond",
      ...C,
      lent.id,
      "no",
      "--reason",
      "notonshelf",
      "--note",
      "sorry",
      "--json",
    );
    expect(JSON.parse(r.out)).toMatchObject({ id: lent.id, role: "lender", status: "unfilled", actions: [] });
    expect(engine.acted).toEqual([
      { event: "respond_no", detail: { note: "sorry", reasonUnfilled: illPb.ReasonUnfilled.NOT_ON_SHELF } },
    ]);
  });

  it("ships with a due date in the future; only ship and approve-renew take one", async () => {
    const lent = lendingRequest();
    await ill("respond", ...C, lent.id, "yes");
    expect(message(await ill("ship", ...C, lent.id, "--due", "2025-03-01"))).toBe(
      "--due: 2025-03-01 is not in the future",
    );
    const pick = await ill("pick", ...C, lent.id, "--due", "2025-04-01");
    expect(pick.err).toMatch(/unknown option '--due'/);
    const r = await ill("ship", ...C, lent.id, "--due", "2025-04-01", "--json");
    expect(JSON.parse(r.out)).toMatchObject({ status: "shipped", dueDate: "2025-04-01T00:00:00.000Z" });
  });

  it("reports what the state does not allow, with the node's message", async () => {
    const j = await borrowed();
    const r = await ill("receive", ...C, j.id);
    expect(r.error).toBeInstanceOf(ConnectError);
    expect((r.error as ConnectError).code).toBe(Code.FailedPrecondition);
    expect(message(r)).toBe(
      "ILL request id-1 in state sent_to_supplier: receive refused: event receive is not allowed in state sent_to_supplier; allowed now: cancel, status",
    );
    const cancel = await ill("cancel", ...C, j.id, "--note", "no longer needed");
    expect(cancel.out).toMatch(/^id-1: cancel_pending \(sent_to_supplier → cancel_pending by cancel\)/);
  });

  it("switches the automatic responder and shows it", async () => {
    expect((await ill("auto-respond", ...C, "scenario")).out).toBe("automatic responder: scenario\n");
    expect(JSON.parse((await ill("auto-respond", ...C, "--json")).out)).toEqual({ mode: "scenario" });
    expect((await ill("auto-respond", ...C, "always")).err).toMatch(
      /Allowed choices are off, availability, scenario/,
    );
  });
});

describe("ill --help", () => {
  it("gives every command --config, --json and an example", async () => {
    const program = new Command("lrs-member");
    addIllCommands(program);
    const group = program.commands.find((c) => c.name() === "ill")!;
    const names = group.commands.map((c) => c.name());
    expect(names).toEqual(
      expect.arrayContaining([
        "request",
        "list",
        "show",
        "respond",
        "pick",
        "ship",
        "receive",
        "return",
        "checkin",
        "renew",
        "cancel",
        "recall",
        "approve",
        "accept",
        "reject",
        "status",
        "overdue",
        "lost",
        "approve-renew",
        "refuse-renew",
        "accept-cancel",
        "refuse-cancel",
        "auto-respond",
      ]),
    );
    for (const name of names) {
      const r = await ill(name, "--help");
      expect((r.error as CommanderError).code, name).toBe("commander.helpDisplayed");
      expect(r.out, name).toMatch(/-c, --config <file>/);
      expect(r.out, name).toMatch(/--json/);
      expect(r.out, name).toMatch(/Examples?:\n {2}\$ lrs-member ill /);
    }
  });

  it("documents the JSON shape on the group", async () => {
    const r = await ill("--help");
    expect(r.out).toMatch(/--json prints a request as one object/);
  });
});

describe("requestJson", () => {
  it("turns empty strings into null and keeps text as text", () => {
    const j = requestJson(
      create(illServicePb.StaffRequestSchema, { id: "x", role: "lender", status: "new", type: "copy" }),
      false,
    );
    expect(j).toMatchObject({
      partner: null,
      clusterId: null,
      title: "",
      note: "",
      createdAt: null,
      messages: null,
    });
  });
});

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const BIN = join(ROOT, "packages/member-node/bin/lrs-member.js");

function lrsMember(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
    });
  });
}

describe.skipIf(!existsSync(join(ROOT, "packages/member-node/dist/main.js")))("the built lrs-member", () => {
  it("exits 1 with one clear line when ill request has nothing to borrow", async () => {
    const r = await lrsMember("ill", "request", "--config", "nowhere.toml", "--type", "loan");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "error: say what to borrow: --cluster ID, --isbn ISBN, --issn ISSN or --title TITLE\n",
    );
  });

  it("lists the ill commands in its help", async () => {
    const r = await lrsMember("ill", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/request \[options\]/);
    expect(r.stdout).toMatch(/auto-respond \[options\] \[mode\]/);
  });
});

describe("response times for people", () => {
  it("says days, hours, minutes and seconds, the two largest", () => {
    expect(humanSeconds(259_200)).toBe("3d");
    expect(humanSeconds(90)).toBe("1m 30s");
    expect(humanSeconds(93_784)).toBe("1d 2h");
    expect(humanSeconds(0)).toBe("0s");
  });
});
