// Interlibrary loan through real processes in two regions: the broker's rota, the store-and-forward
// path member → regional → national → regional → member and back, and every path of both state
// machines, driven by the scenario lender (a token in the request's note picks its answer).
import { Code, ConnectError } from "@connectrpc/connect";
import type { Federation } from "@lrs/dev-env";
import { illPb } from "@lrs/shared";
import { describe, expect, it } from "vitest";
import {
  act,
  BOTH_REGIONS_ISBNS,
  borrow,
  lenderSide,
  SOUTH_ONLY_ISBNS,
  show,
  useIllFederation,
  waitFor,
} from "./ill-harness.js";

let fed: Federation;
useIllFederation((started) => {
  fed = started;
});

const events = (r: { timeline: Array<{ event: string }> }) => r.timeline.map((t) => t.event);

describe("interlibrary loan across the tiers", () => {
  it("lends across regions from request to check-in, and every hop can say where the request is", async () => {
    const r = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[0]!, "scenario:loaned", "patron-1");
    expect(r.role).toBe("borrower");
    expect(r.type).toBe("loan");
    expect(r.rota.map((e) => e.agencyId)).toEqual(["south-a"]);
    expect(r.rota[0]!.reason).toMatch(/region/);
    // Asked for by ISBN; the broker's cluster gives it its title.
    expect(r.title).toMatch(/Russell Crowe/);
    expect(r.clusterId).not.toBe("");
    const shipped = await waitFor(fed, "north-a", r.id, "shipped");
    expect(shipped.partner).toBe("south-a");
    expect(shipped.dueDate).toBeDefined();
    await act(fed, "north-a", r.id, "receive");
    await act(fed, "north-a", r.id, "return");
    const done = await waitFor(fed, "north-a", r.id, "completed");
    expect(events(done)).toEqual(
      expect.arrayContaining([
        "created",
        "validate",
        "send",
        "loaned",
        "receive",
        "return",
        "loan_completed",
      ]),
    );
    const [lent, ...more] = await lenderSide(fed, "south-a", r.id);
    expect(more).toEqual([]);
    expect(lent!.status).toBe("completed");
    expect(lent!.partner).toBe("north-a");
    // Every message the borrower sent was confirmed by the lender, and the other way round.
    const outgoing = done.messages.filter((m) => m.direction === "out" && !m.kind.includes("Confirmation"));
    expect(outgoing.length).toBeGreaterThanOrEqual(3);
    for (const m of outgoing) expect(m.confirmation, m.kind).toBe("OK");
    // The path: north-rc → nat → south-rc → south-a, each hop with its own record.
    const trace = JSON.parse(
      await fed.cli(fed.node("north-rc"), [
        "ill",
        "trace",
        r.id,
        "--json",
        "--config",
        fed.node("north-rc").config,
      ]),
    ) as { hops: Array<{ nodeId: string; kind: string; nextHop: string }> };
    const requestHops = trace.hops.filter((h) => h.kind === "Request").map((h) => h.nodeId);
    expect(requestHops).toEqual(expect.arrayContaining(["north-rc", "nat", "south-rc"]));
  });

  it("asks its own region first, says why each holder is in the rota or left out, and moves on when a lender cannot supply", async () => {
    const r = await borrow(
      fed,
      "north-a",
      BOTH_REGIONS_ISBNS[0]!,
      "scenario:north-b=unfilled scenario:south-a=loaned",
      "patron-2",
    );
    expect(r.rota.map((e) => e.agencyId)).toEqual(["north-b", "south-a"]);
    expect(r.excluded.find((e) => e.agencyId === "north-c")?.reason).toMatch(/lend/);
    const shipped = await waitFor(fed, "north-a", r.id, "shipped");
    expect(shipped.partner).toBe("south-a");
    expect(shipped.rotaPosition).toBe(1);
    expect(events(shipped)).toContain("unfilled");
    const [refused] = await lenderSide(fed, "north-b", r.id);
    expect(refused!.status).toBe("unfilled");
  });

  it("passes over a lender that does not answer within its response time, and withdraws the request there", async () => {
    const r = await borrow(
      fed,
      "north-a",
      BOTH_REGIONS_ISBNS[1]!,
      "scenario:north-b=no-answer scenario:south-a=loaned",
      "patron-3",
    );
    expect(r.rota[0]!.agencyId).toBe("north-b");
    const shipped = await waitFor(fed, "north-a", r.id, "shipped", 30_000);
    expect(shipped.partner).toBe("south-a");
    expect(events(shipped)).toContain("supplier_timeout");
    const [silent] = await lenderSide(fed, "north-b", r.id);
    expect(silent!.status).toBe("cancelled");
  });

  it("moves on when a lender that said it will supply finds it cannot", async () => {
    const r = await borrow(
      fed,
      "north-a",
      BOTH_REGIONS_ISBNS[2]!,
      "scenario:north-b=will-supply-then-unfilled scenario:south-a=loaned",
      "patron-4",
    );
    const shipped = await waitFor(fed, "north-a", r.id, "shipped");
    expect(shipped.partner).toBe("south-a");
    expect(events(shipped)).toEqual(expect.arrayContaining(["will_supply", "unfilled", "loaned"]));
  });

  it("takes a conditional offer to staff; accepted, the lender's staff ship it", async () => {
    const r = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[1]!, "scenario:conditional", "patron-5");
    await waitFor(fed, "north-a", r.id, "conditional");
    await act(fed, "north-a", r.id, "accept");
    const [lend] = await lenderSide(fed, "south-a", r.id);
    await waitFor(fed, "south-a", lend!.id, "will_supply");
    await act(fed, "south-a", lend!.id, "ship");
    await waitFor(fed, "north-a", r.id, "shipped");
  });

  it("tells the borrower when a loan is overdue, and completes it once returned", async () => {
    const r = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[2]!, "scenario:overdue", "patron-6");
    await waitFor(fed, "north-a", r.id, "shipped");
    await act(fed, "north-a", r.id, "receive");
    await waitFor(fed, "north-a", r.id, "overdue", 30_000);
    await act(fed, "north-a", r.id, "return");
    await waitFor(fed, "north-a", r.id, "completed");
  });

  it("passes on a recall; the borrower returns the item", async () => {
    const r = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[3]!, "scenario:recalled", "patron-7");
    await waitFor(fed, "north-a", r.id, "shipped");
    await act(fed, "north-a", r.id, "receive");
    await waitFor(fed, "north-a", r.id, "recalled");
    await act(fed, "north-a", r.id, "return");
    await waitFor(fed, "north-a", r.id, "completed");
  });

  it("renews a loan once, as the lender's policy allows", async () => {
    const r = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[4]!, "scenario:loaned", "patron-8");
    const shipped = await waitFor(fed, "north-a", r.id, "shipped");
    await act(fed, "north-a", r.id, "receive");
    await act(fed, "north-a", r.id, "renew");
    const [lend] = await lenderSide(fed, "south-a", r.id);
    await waitFor(fed, "south-a", lend!.id, "renew_requested");
    await act(fed, "south-a", lend!.id, "approve-renew");
    const renewed = await waitFor(fed, "north-a", r.id, "received");
    expect(renewed.dueDate!.seconds).toBeGreaterThan(shipped.dueDate!.seconds);
  });

  it("ends the rota when nobody can supply, and tells the borrower", async () => {
    const r = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[5]!, "scenario:unfilled", "patron-9");
    const end = await waitFor(fed, "north-a", r.id, "end_of_rota");
    expect(events(end)).toContain("unfilled");
  });

  it("ends at once when no member holds the title", async () => {
    const r = await borrow(fed, "north-a", "9780000000002", "", "patron-10");
    expect(r.rota).toEqual([]);
    expect(r.status).toBe("end_of_rota");
  });

  it("a lender that refuses the request itself (an error) is passed over", async () => {
    const r = await borrow(
      fed,
      "north-a",
      BOTH_REGIONS_ISBNS[3]!,
      "scenario:north-b=error scenario:south-a=loaned",
      "patron-11",
    );
    const shipped = await waitFor(fed, "north-a", r.id, "shipped", 30_000);
    expect(shipped.partner).toBe("south-a");
    const refused = shipped.messages.find((m) => m.kind === "Request" && m.confirmation?.startsWith("ERROR"));
    expect(refused).toBeDefined();
    expect(await lenderSide(fed, "north-b", r.id, 500)).toEqual([]);
  });

  it("cancels while the lender has not decided; the lender confirms", async () => {
    const r = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[6]!, "scenario:no-answer", "patron-12");
    const [lend] = await lenderSide(fed, "south-a", r.id);
    expect(lend!.status).toBe("new");
    await act(fed, "north-a", r.id, "cancel");
    await waitFor(fed, "north-a", r.id, "cancelled");
    await waitFor(fed, "south-a", lend!.id, "cancelled");
  });

  it("puts a duplicate request in review; approved, it goes out", async () => {
    const first = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[7]!, "scenario:no-answer", "patron-13");
    const again = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[7]!, "scenario:no-answer", "patron-13");
    expect(again.status).toBe("review");
    expect(again.duplicateOf).toBe(first.id);
    await act(fed, "north-a", again.id, "approve");
    await waitFor(fed, "north-a", again.id, "sent_to_supplier");
  });

  it("refuses an action the request's state does not allow, and changes nothing", async () => {
    const r = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[8]!, "scenario:no-answer", "patron-14");
    const before = await show(fed, "north-a", r.id);
    const err = await act(fed, "north-a", r.id, "receive").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.FailedPrecondition);
    expect((err as ConnectError).rawMessage).toMatch(/sent_to_supplier/);
    const after = await show(fed, "north-a", r.id);
    expect(after.timeline.length).toBe(before.timeline.length);
    const wrongRole = await act(fed, "north-a", r.id, "ship").catch((e: unknown) => e);
    expect((wrongRole as ConnectError).rawMessage).toMatch(/lender/);
  });
});

describe("more paths of both machines", () => {
  it("delivers a copy: the lender sends it, the request is complete without a return", async () => {
    const r = await borrow(
      fed,
      "north-a",
      SOUTH_ONLY_ISBNS[13]!,
      "scenario:copy",
      "patron-20",
      illPb.ServiceType.COPY,
    );
    expect(r.type).toBe("copy");
    const done = await waitFor(fed, "north-a", r.id, "copy_completed");
    expect(done.partner).toBe("south-a");
    const [lend] = await lenderSide(fed, "south-a", r.id);
    expect(lend!.status).toBe("copy_completed");
  });

  it("rejecting a conditional offer moves on to the next lender", async () => {
    const r = await borrow(
      fed,
      "north-a",
      BOTH_REGIONS_ISBNS[4]!,
      "scenario:north-b=conditional scenario:south-a=loaned",
      "patron-21",
    );
    await waitFor(fed, "north-a", r.id, "conditional");
    await act(fed, "north-a", r.id, "reject");
    const shipped = await waitFor(fed, "north-a", r.id, "shipped");
    expect(shipped.partner).toBe("south-a");
    const [offered] = await lenderSide(fed, "north-b", r.id);
    await waitFor(fed, "north-b", offered!.id, "cancelled");
  });

  it("a refused renewal keeps the old due date", async () => {
    const r = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[14]!, "scenario:loaned", "patron-22");
    const shipped = await waitFor(fed, "north-a", r.id, "shipped");
    await act(fed, "north-a", r.id, "receive");
    await act(fed, "north-a", r.id, "renew");
    const [lend] = await lenderSide(fed, "south-a", r.id);
    await waitFor(fed, "south-a", lend!.id, "renew_requested");
    await act(fed, "south-a", lend!.id, "refuse-renew");
    const after = await waitFor(fed, "north-a", r.id, "received");
    expect(events(after)).toContain("renew_refused");
    expect(after.dueDate!.seconds).toBe(shipped.dueDate!.seconds);
  });

  it("a lender may refuse a cancel once it has decided; the borrower is back where it was", async () => {
    const r = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[15]!, "scenario:no-answer", "patron-23");
    const [lend] = await lenderSide(fed, "south-a", r.id);
    await act(fed, "south-a", lend!.id, "respond", { answer: "yes" });
    await waitFor(fed, "north-a", r.id, "will_supply");
    await act(fed, "north-a", r.id, "cancel");
    await waitFor(fed, "south-a", lend!.id, "cancel_requested");
    await act(fed, "south-a", lend!.id, "refuse-cancel");
    const back = await waitFor(fed, "north-a", r.id, "will_supply");
    expect(events(back)).toEqual(expect.arrayContaining(["cancel", "cancel_refused"]));
    await act(fed, "south-a", lend!.id, "ship");
    await waitFor(fed, "north-a", r.id, "shipped");
  });

  it("staff answer by hand when the responder is off: no, with an ISO reason", async () => {
    const r = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[16]!, "scenario:no-answer", "patron-24");
    const [lend] = await lenderSide(fed, "south-a", r.id);
    const bad = await act(fed, "south-a", lend!.id, "respond", { answer: "no", reason: "Lost" }).catch(
      (e: unknown) => e,
    );
    expect((bad as ConnectError).code).toBe(Code.InvalidArgument);
    expect((bad as ConnectError).rawMessage).toMatch(/NotOnShelf/);
    await act(fed, "south-a", lend!.id, "respond", { answer: "no", reason: "NotOnShelf" });
    const end = await waitFor(fed, "north-a", r.id, "end_of_rota");
    expect(end.supplierStatus).toBe("Unfilled");
  });
});

describe("the staff CLI", () => {
  const cli = (member: string, ...args: string[]) =>
    fed.cli(fed.node(member), ["ill", ...args, "--config", fed.node(member).config]);

  it("requests, lists, shows and acts, as JSON and for people", async () => {
    const made = JSON.parse(
      await cli(
        "north-a",
        "request",
        "--isbn",
        SOUTH_ONLY_ISBNS[17]!,
        "--type",
        "loan",
        "--note",
        "scenario:loaned",
        "--patron",
        "patron-30",
        "--json",
      ),
    ) as { id: string; status: string; type: string; partner: string | null; timeline: unknown[] };
    expect(made).toMatchObject({ type: "loan" });
    expect(made.timeline.length).toBeGreaterThan(0);
    await waitFor(fed, "north-a", made.id, "shipped");
    const list = JSON.parse(
      await cli("north-a", "list", "--role", "borrower", "--status", "shipped", "--json"),
    ) as Array<{
      id: string;
      partner: string;
    }>;
    expect(list.find((x) => x.id === made.id)?.partner).toBe("south-a");
    const received = JSON.parse(await cli("north-a", "receive", made.id, "--json")) as { status: string };
    expect(received.status).toBe("received");
    const human = await cli("north-a", "show", made.id);
    expect(human).toContain(made.id);
    expect(human).toMatch(/south-a/);
    expect(human).toMatch(/received/);
    // The lender's side, in its own CLI.
    const lent = JSON.parse(await cli("south-a", "list", "--role", "lender", "--json")) as Array<{
      id: string;
      requestingAgencyRequestId: string;
      status: string;
    }>;
    expect(lent.find((x) => x.requestingAgencyRequestId.startsWith(`${made.id}/`))?.status).toBe(
      "received_by_borrower",
    );
  });

  it("reports turnaround per status from the timelines", async () => {
    const report = JSON.parse(
      await cli("north-a", "report", "--since", "1d", "--role", "borrower", "--json"),
    ) as {
      requests: number;
      states: Array<{ state: string; count: number; p50Ms: number }>;
      endToEnd: Array<{ type: string; count: number }>;
    };
    expect(report.requests).toBeGreaterThan(10);
    expect(report.states.find((s) => s.state === "sent_to_supplier")?.count).toBeGreaterThan(0);
    expect(report.states.find((s) => s.state === "shipped")?.count).toBeGreaterThan(0);
    expect(report.endToEnd.find((e) => e.type === "loan")?.count).toBeGreaterThan(0);
    expect(await cli("north-a", "report")).toMatch(/time in each state/);
  });

  it("shows an empty outbox once every message has been acknowledged", async () => {
    const node = fed.node("north-a");
    const out = JSON.parse(await fed.cli(node, ["outbox", "--config", node.config, "--json"])) as {
      pending?: number;
      dead?: number;
    };
    expect(out.dead ?? 0).toBe(0);
    const human = await fed.cli(node, ["outbox", "--dead", "--config", node.config]);
    expect(human).toMatch(/set aside/);
  });

  it("fails with a clear message and a non-zero exit", async () => {
    await expect(cli("north-a", "request", "--type", "loan")).rejects.toThrow(/cluster|isbn|title/i);
    await expect(cli("north-a", "receive", "no-such-request")).rejects.toThrow(/no-such-request/);
  });
});
