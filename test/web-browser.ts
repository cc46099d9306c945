// The browser side of the web application's tests (web.peers.test.ts, web-pages.peers.test.ts):
// the federation and the browser they share the set-up of (webFederation), Debian's Chromium
// through playwright-core, a fresh context per session, sign-in through the form, and axe-core's
// serious and critical findings collected for one final check.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Federation, type FederationSpec, REPO_ROOT } from "@lrs/dev-env";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { runAxe } from "../packages/web/src/axe.test-util.js";
import { nodeCli, startFederation } from "./harness.js";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
];
/** Where the screenshots README.md shows are saved. */
export const DOCS = join(REPO_ROOT, "docs");

export class WebBrowser {
  /** Serious and critical axe-core violations of every page checked ("page: impact id at …"). */
  readonly axeFindings: string[] = [];
  private readonly contexts: BrowserContext[] = [];

  private constructor(
    private readonly fed: Federation,
    private readonly browser: Browser,
  ) {}

  static async launch(fed: Federation): Promise<WebBrowser> {
    return new WebBrowser(fed, await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }));
  }

  async close(): Promise<void> {
    for (const c of this.contexts) await c.close().catch(() => undefined);
    await this.browser.close();
  }

  /** A fresh browser session (its own cookies) on a node's web application. */
  async open(node: string): Promise<Page> {
    // bypassCSP: the test injects axe-core as an inline script, which the app's CSP forbids.
    const ctx = await this.browser.newContext({
      viewport: { width: 1280, height: 900 },
      bypassCSP: true,
      acceptDownloads: true,
    });
    this.contexts.push(ctx);
    const page = await ctx.newPage();
    await page.goto(this.fed.node(node).web!);
    return page;
  }

  /** Signs in through the form; resolves with the HTTP status of the sign-in. */
  async signIn(page: Page, user: string, password: string): Promise<number> {
    await page.getByLabel("User name").fill(user);
    await page.getByLabel("Password").fill(password);
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/api/login")),
      page.getByRole("button", { name: "Sign in" }).click(),
    ]);
    return res.status();
  }

  /** A session of the node's demo account (the federation's manifest gives it). */
  async signInDemo(node: string): Promise<Page> {
    const page = await this.open(node);
    const n = this.fed.node(node);
    await this.signIn(page, n.webUser!, n.webPassword!);
    await page.waitForSelector("[data-testid=whoami]");
    return page;
  }

  /** axe-core on the page as it is now; serious and critical violations are collected. */
  axe(page: Page, what: string): Promise<void> {
    return runAxe(page, what, this.axeFindings);
  }
}

export interface WebFederation {
  /** Set in beforeAll. */
  readonly fed: Federation;
  readonly web: WebBrowser;
  /** A node's CLI with its --config. */
  cli(node: string, args: string[]): Promise<string>;
}

/**
 * A test file's federation of `spec` and its browser: started in beforeAll (then `prepare`:
 * catalogs, requests …; then Chromium), stopped in afterAll.
 */
export function webFederation(
  spec: FederationSpec,
  prepare: (fed: Federation) => Promise<void>,
): WebFederation {
  let fed: Federation | undefined;
  let web: WebBrowser | undefined;
  let destroy: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ fed, destroy } = await startFederation(spec, { webUsers: true }));
    await prepare(fed);
    web = await WebBrowser.launch(fed);
    mkdirSync(DOCS, { recursive: true });
  }, 600_000);
  afterAll(async () => {
    await web?.close();
    await destroy?.();
  });
  return {
    get fed() {
      return fed!;
    },
    get web() {
      return web!;
    },
    cli: (node, args) => nodeCli(fed!, node, args),
  };
}
