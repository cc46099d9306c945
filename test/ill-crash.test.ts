// Nothing lost, nothing done twice: a cross-region loan goes on while the borrower's regional
// center, the national center or the lender is killed (SIGKILL, no clean shutdown) at each step,
// and finishes once the node is back; timers survive a kill of the borrower.
import type { Federation, FederationSpec } from "@lrs/dev-env";
import { describe, expect, it } from "vitest";
import {
  act,
  borrow,
  ILL_SPEC,
  LENDER,
  lenderSide,
  SOUTH_ONLY_ISBNS,
  show,
  useIllFederation,
  waitFor,
} from "./ill-harness.js";

let fed: Federation;
// The lender answers within 20 s here, not the 3 s of the other ILL tests: a killed node is back
// within that even on a busy machine (CI runs two such files at once), so a loan never runs out of
// lenders while its hop is down — which is not what these tests are about.
const RESPONSE_TIME_S = 20;
const CRASH_SPEC: FederationSpec = {
  ...ILL_SPEC,
  regions: ILL_SPEC.regions.map((r) =>
    r.region !== "south"
      ? r
      : { ...r, members: r.members.map((m) => ({ ...m, extraConfig: LENDER(`${RESPONSE_TIME_S}s`) })) },
  ),
};
useIllFederation((started) => {
  fed = started;
}, CRASH_SPEC);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills `victim`, does `step` (its messages must wait in an outbox), and brings the victim back. */
async function withVictimDown<T>(victim: string, step: () => Promise<T>): Promise<T> {
  await fed.stop(victim, "SIGKILL");
  try {
    const out = await step();
    await sleep(800);
    return out;
  } finally {
    await fed.start(victim);
  }
}

const count = (r: { timeline: Array<{ event: string }> }, event: string) =>
  r.timeline.filter((t) => t.event === event).length;

describe.each([
  ["north-rc", 9],
  ["nat", 10],
  ["south-a", 11],
] as const)("a cross-region loan while %s is killed at each step", (victim, isbnIndex) => {
  it("finishes with every message applied exactly once", async () => {
    const patron = `crash-${victim}`;
    // The request: at north-rc the rota cannot be built yet (north-a retries); at nat and south-a
    // the Request waits in the outbox of the hop before.
    const r =
      victim === "north-rc"
        ? await withVictimDown(victim, () =>
            borrow(fed, "north-a", SOUTH_ONLY_ISBNS[isbnIndex]!, "scenario:loaned", patron),
          )
        : await (async () => {
            const made = await borrow(
              fed,
              "north-a",
              SOUTH_ONLY_ISBNS[isbnIndex]!,
              "scenario:loaned",
              patron,
            );
            // Killed just after the request left the borrower: it is somewhere on the way.
            await fed.stop(victim, "SIGKILL");
            await sleep(800);
            await fed.start(victim);
            return made;
          })();
    await waitFor(fed, "north-a", r.id, "shipped", 60_000);
    // Received, on its way through a dead node.
    await withVictimDown(victim, () => act(fed, "north-a", r.id, "receive"));
    // Returned: the ShippedReturn, and the lender's LoanCompleted on the way back.
    await withVictimDown(victim, async () => {
      await sleep(300);
      return act(fed, "north-a", r.id, "return");
    });
    const done = await waitFor(fed, "north-a", r.id, "completed", 60_000);
    const lent = await lenderSide(fed, "south-a", r.id);
    expect(lent.length).toBe(1);
    const lender = await waitFor(fed, "south-a", lent[0]!.id, "completed", 60_000);
    // Each message applied once on each side.
    for (const e of ["send", "loaned", "receive", "return", "loan_completed"])
      expect(count(done, e), e).toBe(1);
    for (const e of ["respond_yes", "ship", "received", "shipped_return", "check_in"])
      expect(count(lender, e), e).toBe(1);
    for (const m of done.messages.filter((x) => x.direction === "out" && !x.kind.includes("Confirmation")))
      expect(m.confirmation, m.kind).toBe("OK");
  });
});

describe("timers", () => {
  it("a response timer survives a kill of the borrower and still moves the request on", async () => {
    const r = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[12]!, "scenario:no-answer", "crash-timer");
    const sent = await show(fed, "north-a", r.id);
    expect(sent.timers.map((t) => t.kind)).toContain("response");
    await fed.stop("north-a", "SIGKILL");
    // Past the lender's response time while the borrower is down.
    await sleep(RESPONSE_TIME_S * 1000 + 500);
    await fed.start("north-a");
    // Timed out, the lender withdrew (its Cancel accepted), and the rota is at its end.
    const end = await waitFor(fed, "north-a", r.id, "end_of_rota", 30_000);
    expect(count(end, "supplier_timeout")).toBeGreaterThanOrEqual(1);
  });
});
