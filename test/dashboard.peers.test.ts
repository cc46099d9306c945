// The national dashboard in a real browser (headless Chromium from the system, driven through
// playwright-core): it opens on a running federation and its numbers move, without a reload, as
// the test searches and lends. Saves docs/dashboard.png, the screenshot README.md shows.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Federation, REPO_ROOT } from "@lrs/dev-env";
import { searchPb } from "@lrs/shared";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  act,
  BOTH_REGIONS_ISBNS,
  borrow,
  SOUTH_ONLY_ISBNS,
  startIllFederation,
  waitFor,
} from "./ill-harness.js";

const CHROMIUM = "/usr/bin/chromium";
const FAST = {
  MEMBER_TRAFFIC_FLUSH_INTERVAL: "1s",
  REGIONAL_TRAFFIC_FLUSH_INTERVAL: "1s",
  NATIONAL_TRAFFIC_FLUSH_INTERVAL: "1s",
};

let fed: Federation;
let destroy: () => Promise<void>;
let browser: Browser | undefined;
let page: Page;

beforeAll(async () => {
  ({ fed, destroy } = await startIllFederation(undefined, { env: FAST }));
  browser = await chromium.launch({ executablePath: CHROMIUM });
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
});

afterAll(async () => {
  await browser?.close();
  await destroy?.();
});

/** A KPI's number as the page shows it now. */
async function kpi(id: string): Promise<number> {
  const text = (await page.textContent(`[data-testid=${id}]`)) ?? "";
  return Number(text.replace(/[^\d.]/g, "") || "NaN");
}

/** Waits until the page shows at least `min` for a KPI (the page updates itself: no reload). */
async function waitKpi(id: string, min: number, timeoutMs = 30_000): Promise<void> {
  await expect.poll(() => kpi(id), { timeout: timeoutMs, interval: 200 }).toBeGreaterThanOrEqual(min);
}

/** Waits until a panel's text matches. */
async function waitText(testid: string, re: RegExp, timeoutMs = 30_000): Promise<string> {
  await expect
    .poll(async () => (await page.textContent(`[data-testid=${testid}]`)) ?? "", {
      timeout: timeoutMs,
      interval: 200,
    })
    .toMatch(re);
  return (await page.textContent(`[data-testid=${testid}]`)) ?? "";
}

async function searches(member: string, n: number): Promise<void> {
  const scopes = [searchPb.Scope.LOCAL, searchPb.Scope.REGION, searchPb.Scope.NATIONAL];
  await fed.withClient(member, searchPb.SearchService, async (c) => {
    for (let i = 0; i < n; i++)
      for await (const _ of c.search({ query: i % 2 ? "history" : "medicine", scope: scopes[i % 3]! }))
        void _;
  });
}

describe("the national dashboard", () => {
  it("shows the federation live: numbers move as members search and lend, without a reload", async () => {
    const url = fed.node("nat").dashboard;
    expect(url, "the manifest gives the national center's dashboard").toBeDefined();
    await page.goto(url!);
    await page.waitForSelector("[data-testid=kpi-searches]");
    // Marks this page load: a reload would lose it.
    await page.evaluate("window.loadMark = 42");
    expect(await page.textContent("[data-testid=federation]")).toBe("LRS Demo Federation");
    const tree = await page.textContent("[data-testid=federation-tree]");
    for (const id of ["nat", "north-rc", "south-rc", "north-a", "north-b", "north-c", "south-a"])
      expect(tree).toContain(id);
    await page.waitForSelector("[data-testid=status].live");
    const before = await kpi("kpi-searches");
    const illBefore = await kpi("kpi-ill-requests");

    await searches("north-a", 6);
    await searches("south-a", 3);
    await waitKpi("kpi-searches", before + 9);
    expect(await page.textContent("[data-testid=search-table]")).toMatch(/north.*local/s);

    // A loan across regions, and one the north lender cannot fill and the south one fills.
    const loan = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[1]!, "scenario:loaned", "dash-1");
    const second = await borrow(
      fed,
      "north-a",
      BOTH_REGIONS_ISBNS[1]!,
      "scenario:north-b=unfilled scenario:south-a=loaned",
      "dash-2",
    );
    await waitFor(fed, "north-a", loan.id, "shipped");
    await waitFor(fed, "north-a", second.id, "shipped", 30_000);
    await act(fed, "north-a", loan.id, "receive");
    await waitKpi("kpi-ill-requests", illBefore + 3);
    const matrix = await waitText("ill-matrix", /✓ 2/);
    expect(matrix).toMatch(/north/);
    expect(matrix).toMatch(/south/);
    expect(matrix).toContain("✗ 1");
    await waitText("turnaround", /loan/);
    expect(await page.textContent("[data-testid=kpi-fill-rate]")).toBe("67%");
    expect(await page.textContent("[data-testid=balance]")).toMatch(/South Library A/);
    expect(await page.evaluate("window.loadMark")).toBe(42);

    mkdirSync(join(REPO_ROOT, "docs"), { recursive: true });
    await page.waitForTimeout(1_500);
    await page.screenshot({ path: join(REPO_ROOT, "docs/dashboard.png"), fullPage: true });
  });

  it("answers the summary as JSON too, and refuses a window it does not offer", async () => {
    const url = fed.node("nat").dashboard!;
    const res = await fetch(`${url}api/summary?window=1h`);
    expect(res.status).toBe(200);
    const s = (await res.json()) as { windowMinutes: number; searches: { total: number } };
    expect(s.windowMinutes).toBe(60);
    expect(s.searches.total).toBeGreaterThanOrEqual(9);
    const bad = await fetch(`${url}api/summary?window=3w`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/window must be one of 1h, 6h, 24h, 7d/);
  });
});
