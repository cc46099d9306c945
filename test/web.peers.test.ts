// The staff web application in a real browser (Debian's Chromium through playwright-core): a
// cross-region loan and an article copy done only by clicking in two members' web applications
// (north-a borrows, south-a lends), the states checked through the CLI; a viewer cannot act; a
// change without the CSRF token is refused; five wrong passwords lock an account; axe-core finds
// nothing serious or critical on the pages visited. Saves the screenshots README.md shows.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { BORROWER, testFederation } from "./harness.js";
import { importCatalog, LOC, SOUTH_ONLY_ISBNS } from "./ill-harness.js";
import { DOCS, webFederation } from "./web-browser.js";

/** A borrower in the north, a lender in the south answering by hand (no automatic responder). */
const SPEC = testFederation({
  north: [
    {
      id: "north-a",
      name: "North Library A",
      extraConfig: `postal_address = """\nNorth Library A, ILL\n1 North Road\nNorth Town 10001"""\n\n${BORROWER}`,
    },
  ],
  south: [
    {
      id: "south-a",
      name: "South Library A",
      extraConfig: `[lending_policy]\nresponse_time = "1h"\n\n[lending_policy.visiting]\nserves_visitors = true\nfederation = true\n\n${BORROWER}`,
    },
  ],
});

const ctx = webFederation(SPEC, async (fed) => {
  await importCatalog(fed, "south-a", LOC);
  await fed.waitSynced(90_000);
});
const cli = ctx.cli;

const open = (node: string) => ctx.web.open(node);
const signIn = (page: Page, user: string, password: string) => ctx.web.signIn(page, user, password);
const signInDemo = (node: string) => ctx.web.signInDemo(node);
const axe = (page: Page, what: string) => ctx.web.axe(page, what);

/** Waits until the request page shows `status` (the page updates itself, live). */
async function waitStatus(page: Page, status: string, timeout = 30_000): Promise<void> {
  await page.waitForSelector(`[data-testid=status][data-status="${status}"]`, { timeout });
}

/** Clicks an action's button and waits for its outcome (a new one: the last action's stays shown). */
async function act(page: Page, verb: string): Promise<void> {
  const outcome = page.getByTestId("outcome");
  const before = (await outcome.count()) ? await outcome.textContent() : null;
  await page.getByTestId(`do-${verb}`).click();
  await expect
    .poll(async () => ((await outcome.count()) ? await outcome.textContent() : null), { timeout: 30_000 })
    .not.toBe(before);
  const text = (await outcome.textContent()) ?? "";
  expect(text, `${verb}: ${text}`).not.toMatch(/Refused/);
}

async function cliStatus(member: string, id: string): Promise<string> {
  return (JSON.parse(await cli(member, ["ill", "show", id, "--json"])) as { status: string }).status;
}

describe("the staff web application", () => {
  it("does a cross-region loan only by clicking in two members' web applications", async () => {
    const borrower = await signInDemo("north-a");
    await axe(borrower, "north-a queues");
    const lender = await signInDemo("south-a");

    // The borrower asks for a book only the south holds.
    await borrower.getByRole("link", { name: "New request" }).click();
    await borrower.getByLabel("ISBN", { exact: true }).fill(SOUTH_ONLY_ISBNS[0]!);
    await borrower.getByLabel("Patron id", { exact: true }).fill("P-1001");
    await borrower.getByLabel("Maximum cost (optional)").fill("20.00");
    await axe(borrower, "north-a new request");
    await borrower.getByTestId("submit-request").click();
    await borrower.waitForURL(/\/requests\//, { timeout: 60_000 });
    const id = decodeURIComponent(new URL(borrower.url()).pathname.split("/").pop()!);
    await waitStatus(borrower, "sent_to_supplier");
    await axe(borrower, "north-a request");
    expect(await cliStatus("north-a", id)).toBe("sent_to_supplier");

    // The lender's queue shows it without a reload (live updates).
    await lender.evaluate("window.loadMark = 7");
    await lender.getByTestId("tab-lender").click();
    const row = lender.locator("[data-testid=queue-lender] tr[data-request]").first();
    await row.waitFor({ timeout: 30_000 });
    expect(await lender.evaluate("window.loadMark")).toBe(7);
    await axe(lender, "south-a queues");
    await lender.screenshot({ path: join(DOCS, "web-queues.png"), fullPage: true });

    // Paperwork: the request ticked, a pull slip (where the copies are) and a shipping label (the
    // borrower's postal address from the directory, the request id as a barcode).
    await row.locator("input[data-select]").check();
    await lender.getByTestId("print-slips").click();
    const slip = lender.getByTestId("slip");
    await slip.waitFor();
    const slipText = (await slip.textContent()) ?? "";
    expect(slipText).toContain("North Library A");
    expect(slipText).toMatch(/QH581 \.X\d+/);
    expect(slipText).toMatch(/south-a-\d+-1/);
    expect(await slip.locator("svg[data-barcode] rect").count()).toBeGreaterThan(10);
    await axe(lender, "south-a pull slips");
    await lender.screenshot({ path: join(DOCS, "web-pull-slip.png"), fullPage: true });
    await lender.goBack();
    await lender.getByTestId("tab-lender").click();
    await row.locator("input[data-select]").check();
    await lender.getByTestId("print-labels").click();
    const address = lender.getByTestId("label-address");
    await address.waitFor();
    expect(await address.locator("span").allTextContents()).toEqual([
      "North Library A, ILL",
      "1 North Road",
      "North Town 10001",
    ]);
    await axe(lender, "south-a labels");
    await lender.goBack();
    await lender.getByTestId("tab-lender").click();
    await row.locator("a").click();
    const lendId = decodeURIComponent(new URL(lender.url()).pathname.split("/").pop()!);
    await lender.getByTestId("do-respond").waitFor();
    await axe(lender, "south-a request");
    await lender.screenshot({ path: join(DOCS, "web-request.png"), fullPage: true });

    // Respond yes, ship; the borrower receives, returns; the lender checks in.
    await act(lender, "respond");
    await waitStatus(lender, "will_supply");
    await act(lender, "ship");
    await waitStatus(lender, "shipped");
    expect(await cliStatus("south-a", lendId)).toBe("shipped");

    await waitStatus(borrower, "shipped");
    await act(borrower, "receive");
    await waitStatus(borrower, "received");
    expect(await cliStatus("north-a", id)).toBe("received");
    await act(borrower, "return");
    await waitStatus(borrower, "returned");

    await waitStatus(lender, "returned");
    await act(lender, "checkin");
    await waitStatus(lender, "completed");
    await waitStatus(borrower, "completed");
    expect(await cliStatus("north-a", id)).toBe("completed");
    expect(await cliStatus("south-a", lendId)).toBe("completed");

    // A verb the machine no longer allows is refused with the machine's reason, not done.
    const refused = await borrower.evaluate(async (reqId) => {
      const csrf = ((await (await fetch("/api/session")).json()) as { csrf: string }).csrf;
      const res = await fetch("/rpc/lrs.v1.IllStaffService/Act", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "connect-protocol-version": "1",
          "x-csrf-token": csrf,
        },
        body: JSON.stringify({ id: reqId, action: "receive" }),
      });
      return { status: res.status, body: (await res.json()) as { code: string; message: string } };
    }, id);
    expect(refused.body.code).toBe("failed_precondition");
    expect(refused.body.message).toMatch(/completed/);

    // The admin sees who did what to the request.
    await borrower.getByRole("link", { name: "Audit log" }).click();
    await borrower.waitForSelector("[data-testid=audit]");
    const audit = (await borrower.textContent("[data-testid=audit]")) ?? "";
    expect(audit).toMatch(/IllStaffService\/Act receive/);
    expect(audit).toMatch(/IllStaffService\/Borrow/);
    await axe(borrower, "north-a audit");
  }, 240_000);

  it("does an article copy: the lender uploads the scan, the borrower downloads it", async () => {
    const borrower = await signInDemo("north-a");
    const lender = await signInDemo("south-a");
    await borrower.goto(`${ctx.fed.node("north-a").web!}new`);
    await borrower.getByLabel("Article or chapter copy").check();
    await borrower.getByLabel("ISBN", { exact: true }).fill(SOUTH_ONLY_ISBNS[1]!);
    await borrower.getByLabel("Article title").fill("Chapter three");
    await borrower.getByLabel("Pages (e.g. 12-34)").fill("40-52");
    await borrower.getByLabel("Patron id", { exact: true }).fill("P-2002");
    await borrower.getByTestId("submit-request").click();
    await borrower.waitForURL(/\/requests\//, { timeout: 60_000 });
    const id = decodeURIComponent(new URL(borrower.url()).pathname.split("/").pop()!);
    await waitStatus(borrower, "sent_to_supplier");

    await lender.getByTestId("tab-lender").click();
    const row = lender.locator(`[data-testid=queue-lender] tr[data-status="new"]`).first();
    await row.waitFor({ timeout: 30_000 });
    await row.locator("a").click();
    await lender.getByTestId("do-respond").waitFor();
    await act(lender, "respond");
    await waitStatus(lender, "will_supply");
    const scan = Buffer.concat([Buffer.from("%PDF-1.5\n"), Buffer.alloc(200_000, 7)]);
    await lender.getByLabel("Scanned file (PDF, JPEG, PNG or TIFF)").setInputFiles({
      name: "chapter-3.pdf",
      mimeType: "application/pdf",
      buffer: scan,
    });
    await lender.getByTestId("do-upload").click();
    // The respond's outcome is still shown until the upload's replaces it.
    await expect
      .poll(async () => (await lender.textContent("[data-testid=outcome]")) ?? "", { timeout: 60_000 })
      .toMatch(/Uploaded chapter-3\.pdf|Refused/);
    expect(await lender.textContent("[data-testid=outcome]")).toMatch(/Uploaded chapter-3\.pdf/);

    await borrower.waitForSelector("[data-testid=do-download]", { timeout: 60_000 });
    const [download] = await Promise.all([
      borrower.waitForEvent("download"),
      borrower.getByTestId("do-download").click(),
    ]);
    expect(download.suggestedFilename()).toBe("chapter-3.pdf");
    const saved = join(ctx.fed.dir, "downloaded.pdf");
    await download.saveAs(saved);
    expect(readFileSync(saved).equals(scan)).toBe(true);
    await borrower.waitForSelector("[data-testid=outcome]");
    const shown = JSON.parse(await cli("north-a", ["ill", "show", id, "--json"])) as {
      status: string;
      copy: { downloads: number } | null;
    };
    expect(shown.copy?.downloads).toBe(1);
  }, 240_000);

  it("lets a viewer look but not act, and refuses a change without the CSRF token", async () => {
    const pw = join(ctx.fed.dir, "viewer-password");
    writeFileSync(pw, "look-but-do-not-touch\n");
    await cli("north-a", ["user", "add", "vera", "--role", "viewer", "--password-file", pw]);
    const page = await open("north-a");
    await signIn(page, "vera", "look-but-do-not-touch");
    await page.waitForSelector("[data-testid=whoami]");
    expect(await page.getByRole("link", { name: "New request" }).count()).toBe(0);
    const first = page.locator("[data-testid=queue-borrower] tr[data-request] a").first();
    await first.click();
    await page.waitForSelector("[data-testid=no-actions-role]");
    await axe(page, "north-a request as viewer");

    const tries = await page.evaluate(async () => {
      const call = async (headers: Record<string, string>) => {
        const res = await fetch("/rpc/lrs.v1.IllStaffService/Borrow", {
          method: "POST",
          headers: { "content-type": "application/json", "connect-protocol-version": "1", ...headers },
          body: JSON.stringify({ title: "Anything", patronId: "P-9" }),
        });
        return { status: res.status, body: (await res.json()) as { code: string; message: string } };
      };
      const csrf = ((await (await fetch("/api/session")).json()) as { csrf: string }).csrf;
      return { noToken: await call({}), viewer: await call({ "x-csrf-token": csrf }) };
    });
    expect(tries.noToken.status).toBe(403);
    expect(tries.noToken.body.message).toMatch(/CSRF/);
    expect(tries.viewer.status).toBe(403);
    expect(tries.viewer.body.message).toMatch(/viewer.*needs the staff role/);

    // Even an admin's change is refused without the token (a forged cross-site request has none).
    const admin = await signInDemo("north-a");
    const forged = await admin.evaluate(async () => {
      const res = await fetch("/rpc/lrs.v1.IllStaffService/Borrow", {
        method: "POST",
        headers: { "content-type": "application/json", "connect-protocol-version": "1" },
        body: JSON.stringify({ title: "Anything", patronId: "P-9" }),
      });
      return { status: res.status, body: (await res.json()) as { message: string } };
    });
    expect(forged.status).toBe(403);
    expect(forged.body.message).toMatch(/CSRF/);
  }, 120_000);

  it("issues a visiting reader's credential at home and lends to the reader at another library", async () => {
    // North-a issues its reader a credential: a QR code and a short code to type.
    const home = await signInDemo("north-a");
    await home.goto(new URL("/visits", ctx.fed.node("north-a").web!).href);
    const issue = home.getByTestId("visit-issue");
    await issue.getByLabel("Reader (library reference)").fill("reader-77");
    await issue.getByRole("button", { name: "Issue credential" }).click();
    const figure = home.getByTestId("visit-credential");
    await figure.waitFor({ timeout: 30_000 });
    expect(await figure.locator("svg").count()).toBe(1);
    const shortCode = ((await figure.locator("figcaption").textContent()) ?? "").split(" · ")[0]!.trim();
    expect(shortCode).toMatch(/^NORTH-A-/);
    await axe(home, "north-a visiting readers");

    // South-a (another region; it serves the whole federation) checks it online and lends.
    const desk = await signInDemo("south-a");
    await desk.goto(new URL("/visits", ctx.fed.node("south-a").web!).href);
    const check = desk.getByTestId("visit-check");
    await check.getByLabel("Credential (QR code text or short code)").fill(shortCode);
    await check.getByRole("button", { name: "Check / lend" }).click();
    const result = desk.getByTestId("visit-check-result");
    await result.waitFor({ timeout: 30_000 });
    expect(await result.textContent()).toContain("May borrow (checked with the home library)");
    const items = readFileSync(join(ctx.fed.dir, "south-a-items.csv"), "utf8").split("\n");
    const barcode = items[items.length - 2]!.split(",")[1]!;
    await check.getByLabel("Item barcode to lend (empty: check only)").fill(barcode);
    await check.getByRole("button", { name: "Check / lend" }).click();
    await expect
      .poll(async () => (await desk.getByTestId("visit-message").textContent()) ?? "", { timeout: 30_000 })
      .toMatch(/^Lent: loan /);
    await axe(desk, "south-a visiting readers");
    // The home library hears of the loan (a visit notice through the tiers).
    await expect
      .poll(async () => await cli("north-a", ["visit", "list", "--view", "borrowed", "--json"]), {
        timeout: 60_000,
        interval: 1000,
      })
      .toContain(barcode);
  });

  it("answers buy or borrow before ordering, naming who holds the title", async () => {
    const page = await signInDemo("north-a");
    await page.goto(new URL("/acquire", ctx.fed.node("north-a").web!).href);
    await page.getByLabel("ISBN or title").fill(SOUTH_ONLY_ISBNS[2]!);
    await page.getByRole("button", { name: "Check", exact: true }).click();
    const advice = page.locator(".advice");
    await advice.waitFor({ timeout: 30_000 });
    expect(await advice.getAttribute("data-verdict")).toBeTruthy();
    expect(await advice.locator("table").textContent()).toContain("south-a");
    await axe(page, "north-a buy or borrow");
  });

  it("shows a regional center's operators the directory, enrollment tokens and a loan's hops", async () => {
    const page = await signInDemo("north-rc");
    const web = ctx.fed.node("north-rc").web!;
    await page.goto(new URL("/directory", web).href);
    const directory = page.getByTestId("directory");
    await directory.waitFor({ timeout: 30_000 });
    for (const id of ["nat", "north-rc", "north-a", "south-a"])
      expect(await directory.textContent()).toContain(id);
    await axe(page, "north-rc directory");

    await page.goto(new URL("/tokens", web).href);
    await page.getByLabel("Institution id").fill("north-z");
    await page.getByRole("button", { name: "Create" }).click();
    await expect
      .poll(async () => (await page.locator("main").textContent()) ?? "", { timeout: 30_000 })
      .toMatch(/Token for north-z .*LRS1\./s);
    await axe(page, "north-rc tokens");

    // The first loan of this file, traced hop by hop from its borrower's regional center.
    const loans = JSON.parse(await cli("north-a", ["ill", "list", "--json"])) as Array<{
      requestingAgencyRequestId: string;
    }>;
    const isoId = loans.find((r) => r.requestingAgencyRequestId)!.requestingAgencyRequestId;
    await page.goto(new URL("/trace", web).href);
    await page.getByLabel("Request id (ISO requesting agency request id)").fill(isoId);
    await page.getByRole("button", { name: "Trace" }).click();
    const trace = page.getByTestId("trace");
    await trace.waitFor({ timeout: 30_000 });
    expect(await trace.locator("tbody tr").count()).toBeGreaterThan(1);
    await axe(page, "north-rc trace");
  });

  it("locks an account after five wrong passwords, even against the right one", async () => {
    const pw = join(ctx.fed.dir, "locky-password");
    writeFileSync(pw, "the-right-password\n");
    await cli("south-a", ["user", "add", "locky", "--role", "staff", "--password-file", pw]);
    const page = await open("south-a");
    await axe(page, "south-a sign-in");
    for (let i = 1; i <= 5; i++) {
      expect(await signIn(page, "locky", `wrong-${i}`)).toBe(i < 5 ? 401 : 423);
      await expect
        .poll(async () => (await page.textContent("[data-testid=login-error]")) ?? "")
        .toMatch(i < 5 ? /Wrong user name or password/ : /locked/);
    }
    expect(await signIn(page, "locky", "the-right-password")).toBe(423);
    await expect
      .poll(async () => (await page.textContent("[data-testid=login-error]")) ?? "")
      .toMatch(/locked/);
    expect(await page.locator("[data-testid=whoami]").count()).toBe(0);
    const users = JSON.parse(await cli("south-a", ["user", "list", "--json"])) as {
      users: Array<{ name: string; lockedUntil: string | null }>;
    };
    expect(users.users.find((u) => u.name === "locky")?.lockedUntil).toBeTruthy();
  }, 120_000);

  it("found no serious or critical accessibility violation on any page visited", () => {
    expect(ctx.web.axeFindings).toEqual([]);
  });
});
