// The notifications page and single sign-on in a real browser (Debian's Chromium through
// playwright-core), against the standalone web listener and an OpenID provider not written for LRS
// (oidc-provider): sign in with the provider's button and form, choose notifications, see a failed
// test message with its error, switch to Simplified Chinese, sign out (at the provider too); a
// person in no mapped group is sent back with the reason. axe-core finds nothing serious or critical on these pages. Saves the screenshot
// docs/notifications.md shows.
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAxe } from "./axe.test-util.js";
import { BUILT_APP, type Standalone, startStandalone } from "./standalone.test-util.js";

const DOCS = join(BUILT_APP, "../../../../docs");

let app: Standalone;
let browser: Browser;
const findings: string[] = [];

beforeAll(async () => {
  app = await startStandalone({
    people: { alice: ["library-staff"], mallory: ["everyone"] },
    roles: { admin: [], staff: ["library-staff"], viewer: [] },
  });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

const axe = (page: Page, what: string) => runAxe(page, what, findings);

async function signInWithProvider(person: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await ctx.newPage();
  await page.goto(app.url);
  const button = page.getByTestId("sso");
  await expect
    .poll(() => button.textContent(), { timeout: 20_000 })
    .toMatch(/^Sign in with 127\.0\.0\.1:\d+$/);
  await axe(page, "sign-in page with single sign-on");
  await button.click();
  await page.getByLabel("Library account").fill(person);
  await page.getByRole("button", { name: "Continue" }).click();
  return page;
}

describe("notifications and single sign-on in the browser", () => {
  it("signs in through the provider, then chooses notifications on the page", async () => {
    const page = await signInWithProvider("alice");
    await expect.poll(() => page.getByTestId("whoami").textContent(), { timeout: 20_000 }).toContain("alice");
    await page.getByRole("link", { name: "Notifications" }).click();
    await page.getByRole("heading", { name: "My notifications" }).waitFor();
    await page.getByLabel("E-mail address").fill("alice@library.example.org");
    await page.getByLabel(/^Webhook address/).fill("http://127.0.0.1:9/hook");
    await page.getByLabel("E-mail: A new lending request").check();
    await page.getByLabel("Webhook: An overdue").check();
    await page.getByLabel(/A daily digest/).check();
    await page.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => page.getByTestId("notify-note").textContent()).toBe("Saved.");
    expect(await page.getByTestId("webhook-secret").textContent()).toHaveLength(43);
    // This node has no SMTP server: the test e-mail fails, and the page shows it with the reason.
    await page.getByRole("button", { name: "Send me a test e-mail" }).click();
    await expect
      .poll(() => page.getByTestId("notify-note").textContent())
      .toMatch(/Not sent: this node sends no e-mail/);
    await expect
      .poll(() => page.locator("[data-testid=notify-deliveries] tr[data-status=failed]").count())
      .toBe(1);
    await axe(page, "notifications");
    await page.screenshot({ path: join(DOCS, "web-notifications.png"), fullPage: true });
    const saved = app.db.sqlite
      .prepare("SELECT kind, channel FROM web_notify_subscriptions WHERE user_name = 'alice' ORDER BY kind")
      .all();
    expect(saved).toEqual([
      { kind: "lending_request", channel: "email" },
      { kind: "overdue", channel: "webhook" },
    ]);
    await page.getByLabel("Language").selectOption("zh-Hans");
    // The choice is kept (localStorage): the page comes back in Chinese.
    await page.reload();
    await page.getByRole("heading", { name: "我的通知" }).waitFor();
    await axe(page, "notifications (zh-Hans)");
    // Signing out ends the provider's session too: its page asks, then sends the browser back.
    await page.getByTestId("sign-out").click();
    await page.getByRole("button", { name: /sign me out/i }).click();
    await page.getByTestId("sso").waitFor({ timeout: 20_000 });
    expect(new URL(page.url()).origin).toBe(app.url);
    // The provider asks who it is again (its session is over).
    await page.getByTestId("sso").click();
    await page.getByLabel("Library account").waitFor({ timeout: 20_000 });
  }, 120_000);

  it("sends a person in no mapped group back to the sign-in page with the reason", async () => {
    const page = await signInWithProvider("mallory");
    await expect
      .poll(() => page.getByTestId("sso-error").textContent(), { timeout: 20_000 })
      .toMatch(/mallory is in no group that gives a role here/);
    await axe(page, "sign-in page with a refusal");
  }, 120_000);

  it("axe-core found nothing serious or critical", () => {
    expect(findings).toEqual([]);
  });
});
