// The staff web application's report and settlement pages in a real browser (Debian's Chromium
// through playwright-core): a member's ledger statement by month and its ILL turnaround charts, the
// national center's traffic figures and a month's settlement — each checked against what the CLI
// says (`lrs-member ledger --csv`, `ill report --json`, `lrs-national settle --csv`), in English and
// Chinese, a viewer refused the settlement, a change without the CSRF token refused, axe-checked.
// Saves the screenshots README.md shows.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ledgerPb } from "@lrs/shared";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { BORROWER, testFederation } from "./harness.js";
import { borrow, importCatalog, LENDER, LOC, SOUTH_ONLY_ISBNS, waitFor } from "./ill-harness.js";
import { DOCS, webFederation } from "./web-browser.js";

/** One region: north-a borrows, north-b lends as the scenario lender. */
const SPEC = testFederation({
  north: [
    { id: "north-a", name: "North Library A", extraConfig: BORROWER },
    { id: "north-b", name: "North Library B", extraConfig: LENDER("1h") },
  ],
});

/** What `lrs-member import` said of north-b's catalog. */
let imported: { added: number; updated: number; rejected: number };
/** This month: the charges are posted in it, and it is settled (allowed while open). */
const PERIOD = new Date().toISOString().slice(0, 7);

/** Charges north-a owes north-b, posted at the regional center as north-a (its certificate). */
function charge(entryId: string, amountMinor: bigint): ledgerPb.LedgerPosting {
  return create(ledgerPb.LedgerPostingSchema, {
    entryId,
    transactionId: entryId.split(":")[1]!,
    kind: "loan",
    payerId: "north-a",
    payeeId: "north-b",
    currency: "EUR",
    amountMinor,
    postedAt: timestampFromDate(new Date()),
    period: PERIOD,
    note: "web pages test",
  });
}

const ctx = webFederation(SPEC, async (fed) => {
  imported = await importCatalog(fed, "north-b", LOC);
  await fed.waitSynced(90_000);
  // Two requests with timelines for the turnaround report: one lent, one that ends unfilled.
  const lent = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[0]!, "scenario:loaned", "P-1");
  const unfilled = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[1]!, "scenario:unfilled", "P-2");
  await waitFor(fed, "north-a", lent.id, "shipped", 60_000);
  await waitFor(fed, "north-a", unfilled.id, ["end_of_rota", "unfilled"], 60_000);
  await fed.withClient(
    "north-rc",
    ledgerPb.LedgerService,
    (c) =>
      c.postEntries(
        { postings: [charge("north-a:web-1", 850n), charge("north-a:web-2", 1250n)] },
        { timeoutMs: 10_000 },
      ),
    "north-a",
  );
});
const cli = ctx.cli;

/** Clicks a button that saves a file and returns the file's text. */
async function downloaded(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent("download"), click()]);
  const path = join(ctx.fed.dir, `dl-${Date.now()}-${download.suggestedFilename()}`);
  await download.saveAs(path);
  return { name: download.suggestedFilename(), text: readFileSync(path, "utf8") };
}

/** A change made from the page's own script: without the CSRF token, and with it. */
async function settleFromScript(page: Page) {
  return page.evaluate(async (period) => {
    const call = async (headers: Record<string, string>) => {
      const res = await fetch("/rpc/lrs.v1.LedgerService/Settle", {
        method: "POST",
        headers: { "content-type": "application/json", "connect-protocol-version": "1", ...headers },
        body: JSON.stringify({ period, dryRun: true, allowOpenPeriod: true }),
      });
      return { status: res.status, body: (await res.json()) as { code: string; message: string } };
    };
    const csrf = ((await (await fetch("/api/session")).json()) as { csrf: string }).csrf;
    return { noToken: await call({}), withToken: await call({ "x-csrf-token": csrf }) };
  }, PERIOD);
}

describe("the staff web application's reports and settlement", () => {
  it("shows a member its ledger statement by month and the ILL turnaround as charts, as the CLI has them", async () => {
    const page = await ctx.web.signInDemo("north-a");
    await page.getByRole("link", { name: "Reports" }).click();
    const statement = page.getByTestId("statement");
    await statement.waitFor({ timeout: 30_000 });
    expect(await statement.locator("tbody tr").count()).toBe(1);
    expect(await statement.locator("tbody tr td").first().textContent()).toBe("north-b");
    // 8.50 + 12.50 owed: the net is −21.00 in euros, in the page's English.
    expect(await page.getByTestId("statement-net").textContent()).toMatch(/^-€21\.00$/);
    expect(await page.getByTestId("statement-state").textContent()).toMatch(/Open/);

    // The CSV saved in the browser is the file `lrs-member ledger --csv` writes.
    const csv = await downloaded(page, () => page.getByRole("button", { name: "Download CSV" }).click());
    expect(csv.name).toBe(`statement-north-a-${PERIOD}-EUR.csv`);
    const cliCsv = join(ctx.fed.dir, "north-a-statement.csv");
    await cli("north-a", ["ledger", "--period", PERIOD, "--csv", cliCsv]);
    expect(csv.text).toBe(readFileSync(cliCsv, "utf8"));

    // The turnaround charts count what `ill report` counts.
    await page.getByTestId("chart-outcomes").waitFor({ timeout: 30_000 });
    const report = JSON.parse(await cli("north-a", ["ill", "report", "--json"])) as {
      requests: number;
      endToEnd: unknown[];
    };
    expect(report.requests).toBe(2);
    expect(await page.getByTestId("turnaround-count").textContent()).toMatch(/^2 requests made since/);
    expect(await page.getByTestId("chart-end-to-end").locator("rect").count()).toBe(
      2 * report.endToEnd.length,
    );
    expect(await page.getByTestId("chart-stays").locator("rect").count()).toBeGreaterThan(1);
    await ctx.web.axe(page, "north-a reports");
    await page.screenshot({ path: join(DOCS, "web-reports.png"), fullPage: true });

    // The same page in Chinese: its text, the money in the Chinese locale.
    await page.getByLabel("Language").selectOption("zh-Hans");
    await page.getByRole("heading", { name: "账目对账单" }).waitFor();
    expect(await page.getByTestId("statement-net").textContent()).toMatch(/21\.00/);
    expect(await page.getByTestId("turnaround-count").textContent()).toMatch(/共 2 个请求/);
    await ctx.web.axe(page, "north-a reports (zh-Hans)");
    await page.getByLabel("语言").selectOption("en");
  });

  it("shows the national center's traffic figures in the application, and settles a month", async () => {
    const page = await ctx.web.signInDemo("nat");
    await page.getByRole("link", { name: "Traffic", exact: true }).click();
    const nodes = page.getByTestId("traffic-nodes");
    await nodes.waitFor({ timeout: 30_000 });
    for (const id of ["nat", "north-rc", "north-a", "north-b"])
      await nodes.locator("th", { hasText: `(${id})` }).waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: "1h" }).click();
    await page.waitForSelector('button[aria-pressed="true"]:has-text("1h")');
    await ctx.web.axe(page, "nat traffic");
    await page.screenshot({ path: join(DOCS, "web-traffic.png"), fullPage: true });

    // Settle this month: preview (nothing stored), then settle; statements, balances and CSV.
    await page.getByRole("link", { name: "Settlement" }).click();
    await page.getByLabel("Month", { exact: true }).fill(PERIOD);
    await page.getByLabel("The month has not ended: settle it anyway").check();
    expect(await page.getByTestId("settle").isDisabled()).toBe(true);
    await page.getByRole("button", { name: "Preview" }).click();
    await expect
      .poll(async () => (await page.getByTestId("settlement-state").textContent()) ?? "", { timeout: 30_000 })
      .toMatch(/Preview of/);
    await page.getByTestId("settle").click();
    await expect
      .poll(async () => (await page.getByTestId("settlement-state").textContent()) ?? "", { timeout: 30_000 })
      .toBe(`${PERIOD} is settled.`);
    const balances = (await page.getByTestId("region-balances").textContent()) ?? "";
    expect(balances).toContain("north");
    await page.getByText(/^north-a \(north\) · EUR/).click();
    await ctx.web.axe(page, "nat settlement");
    await page.screenshot({ path: join(DOCS, "web-settlement.png"), fullPage: true });
    const csv = await downloaded(page, () => page.getByRole("button", { name: "Download CSV" }).click());
    expect(csv.name).toBe(`settlement-${PERIOD}.csv`);

    // The CLI finds the month settled, with the same statements.
    const cliCsv = join(ctx.fed.dir, "nat-settlement.csv");
    const again = JSON.parse(
      await cli("nat", ["settle", "--period", PERIOD, "--allow-open", "--csv", cliCsv, "--json"]),
    ) as { alreadySettled?: boolean };
    expect(again.alreadySettled).toBe(true);
    expect(csv.text).toBe(readFileSync(cliCsv, "utf8"));
    expect(csv.text).toMatch(/north-a,north,EUR,north-b,north,2100,0,-2100,2,/);

    // The member's statement now says it is final.
    const member = await ctx.web.signInDemo("north-a");
    await member.getByRole("link", { name: "Reports" }).click();
    await expect
      .poll(async () => (await member.getByTestId("statement-state").textContent()) ?? "", {
        timeout: 30_000,
      })
      .toMatch(/Settled/);
  });

  it("shows a member its catalog's imports, as the import reported them, and the sync lag", async () => {
    const page = await ctx.web.signInDemo("north-b");
    await page.getByRole("link", { name: "Node status" }).click();
    const loads = page.getByTestId("catalog-loads");
    await loads.waitFor({ timeout: 30_000 });
    const cells = await loads.locator("tbody tr").first().locator("td").allTextContents();
    expect(cells[0]).toBe("Import");
    expect(cells[1]).toContain("loc_general.xml");
    expect(cells.slice(3, 7)).toEqual([
      String(imported.added),
      String(imported.updated),
      "0",
      String(imported.rejected),
    ]);
    expect(cells[7]).toMatch(/^done/);
    expect(await page.getByTestId("sync-lag").textContent()).toMatch(/Changes not yet taken by \S+: 0 /);
    await ctx.web.axe(page, "north-b status");
  });

  it("places, lists and receives an order from the web, as `lrs-member order` sees it", async () => {
    const page = await ctx.web.signInDemo("north-a");
    await page.getByRole("link", { name: "Orders" }).click();
    const form = page.getByTestId("order-form");
    await form.getByLabel("Title", { exact: true }).fill("A Field Guide to Northern Mosses");
    await form.getByLabel("Author", { exact: true }).fill("Moss, Ada");
    await form.getByLabel("Copies").fill("2");
    await form.getByLabel("Vendor's order number").fill("V-900");
    await ctx.web.axe(page, "north-a orders");
    await page.getByTestId("place-order").click();
    const row = page.locator("[data-testid=orders] tr[data-order]").first();
    await row.waitFor({ timeout: 30_000 });
    const id = (await row.getAttribute("data-order"))!;
    let orders = JSON.parse(await cli("north-a", ["order", "list", "--json"])) as Array<{
      id: string;
      state: string;
      copies: number;
      source: string;
    }>;
    expect(orders.find((o) => o.id === id)).toMatchObject({ state: "open", copies: 2, source: "web" });
    await page.screenshot({ path: join(DOCS, "web-orders.png"), fullPage: true });

    await row.locator("summary").click();
    await row.getByLabel("Barcodes received").fill("MOSS-1 MOSS-2");
    await row.getByRole("button", { name: "Receive" }).click();
    await page.getByText(`Order ${id} received.`).waitFor({ timeout: 30_000 });
    orders = JSON.parse(await cli("north-a", ["order", "list", "--json"])) as typeof orders;
    expect(orders.find((o) => o.id === id)?.state).toBe("received");
    // Received once; a second time the order book refuses it, with its reason.
    const again = await page.evaluate(async (orderId) => {
      const csrf = ((await (await fetch("/api/session")).json()) as { csrf: string }).csrf;
      const res = await fetch("/rpc/lrs.v1.AcquisitionsService/CancelOrder", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "connect-protocol-version": "1",
          "x-csrf-token": csrf,
        },
        body: JSON.stringify({ id: orderId }),
      });
      return { status: res.status, body: (await res.json()) as { code: string; message: string } };
    }, id);
    expect(again.body.code).toBe("failed_precondition");
    expect(again.body.message).toMatch(/already received/);
  });

  it("keeps a viewer out of settlement, and refuses a change without the CSRF token", async () => {
    const pw = join(ctx.fed.dir, "viewer-password");
    writeFileSync(pw, "a-viewer-password\n");
    await cli("nat", ["user", "add", "vic", "--role", "viewer", "--password-file", pw]);
    const page = await ctx.web.open("nat");
    await ctx.web.signIn(page, "vic", "a-viewer-password");
    await page.waitForSelector("[data-testid=whoami]");
    // The traffic figures are readable; the settlement is not offered, and refused when asked for.
    expect(await page.getByRole("link", { name: "Traffic", exact: true }).count()).toBe(1);
    expect(await page.getByRole("link", { name: "Settlement" }).count()).toBe(0);
    const viewer = await settleFromScript(page);
    expect(viewer.noToken.status).toBe(403);
    expect(viewer.noToken.body.message).toMatch(/CSRF/);
    expect(viewer.withToken.status).toBe(403);
    expect(viewer.withToken.body.message).toMatch(/viewer.*needs the admin role/);

    // The admin, too, is refused without the token; with it the preview goes through.
    const admin = await settleFromScript(await ctx.web.signInDemo("nat"));
    expect(admin.noToken.status).toBe(403);
    expect(admin.withToken.status).toBe(200);
  });

  it("found no serious or critical accessibility violation on any page visited", () => {
    expect(ctx.web.axeFindings).toEqual([]);
  });
});
