#!/usr/bin/env node
// The staff web application in a real browser: how long each page takes to become interactive,
// and how soon search results are drawn once their answer arrives (issue 13: every page of the
// demo interactive within 1 s at p95, search results drawn within 100 ms of the answer).
//
//   npx tsc -b && npm run build -w @lrs/web && node bench/web.mjs [--runs 20] [--titles 100] [--loans 30] [--keep]
//
// 1. Starts a federation of real node processes shaped like `npm start`'s (national; north-center
//    with north-univ, north-city, north-med; south-center with south-univ, south-tech, south-arts),
//    each member with `--titles` titles of its own, then `--loans` complete cross-region loans
//    through the scenario lenders, so the queues, reports and traffic figures have data.
// 2. Debian's Chromium through playwright-core, one signed-in session per node (the demo account).
//    For each page of the member's, the regional center's and the national center's application,
//    `--runs` loads: from page.goto until the page is interactive — the frame drawn (whoami) and
//    nothing on it still loading (no [aria-busy=true]), i.e. its data drawn and its handlers live.
//    The first load of each page warms the browser's cache and is not counted (a staff member's
//    browser has the bundle cached after the first page of the day).
// 3. Search: `--runs` searches at each scope from north-univ's search page. The page marks (User
//    Timing) when each message of the answer arrives in the browser ("lrs:search-answer", as the
//    stream yields it) and when the results it brought are on screen ("lrs:search-drawn": Preact
//    runs effects after the frame that drew them, so this is after the paint, at most a frame
//    late). Reported: the first results drawn after their message arrived, p50/p95/max, and the
//    answer's time (request sent to its first message) for scale.
//
// The federation lives in bench/out/web (deleted at the end unless --keep).
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Federation } from "@lrs/dev-env";
import { chromium } from "playwright-core";
import { createLoanRunner, importOwnTitles, scenarioLender } from "./loans.mjs";
import { ROOT } from "./records.mjs";
import { arg, dist, say, twoRegionSpec } from "./util.mjs";

const runs = Number(arg("--runs", "20"));
const titles = Number(arg("--titles", "100"));
const loans = Number(arg("--loans", "30"));
const keep = process.argv.includes("--keep");

const DIR = join(ROOT, "bench/out/web");
const NORTH = ["north-univ", "north-city", "north-med"];
const SOUTH = ["south-univ", "south-tech", "south-arts"];
const SPEC = twoRegionSpec(NORTH.map(scenarioLender), SOUTH.map(scenarioLender));

/** The pages of each kind of node's application (every route of its navigation). */
const PAGES = {
  "north-univ": [
    "/",
    "/new",
    "/search",
    "/copyright",
    "/acquire",
    "/visits",
    "/reports",
    "/status",
    "/directory",
    "/users",
    "/audit",
  ],
  "north-center": ["/", "/search", "/cluster", "/trace", "/directory", "/tokens", "/users", "/audit"],
  national: ["/", "/search", "/traffic", "/settlement", "/cluster", "/directory", "/users", "/audit"],
};

const ms = (v) => (v === undefined ? "–" : `${v.toFixed(v < 10 ? 1 : 0)} ms`);

async function signIn(browser, fed, id) {
  const n = fed.node(id);
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(n.web);
  await page.getByLabel("User name").fill(n.webUser);
  await page.getByLabel("Password").fill(n.webPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForSelector("[data-testid=whoami]");
  return page;
}

/** One load of a page until it is interactive, in ms. */
async function load(page, url) {
  const t0 = performance.now();
  await page.goto(url, { waitUntil: "commit" });
  await page.waitForFunction(
    () => document.querySelector("[data-testid=whoami]") && !document.querySelector("[aria-busy=true]"),
    null,
    { polling: "raf", timeout: 30_000 },
  );
  return performance.now() - t0;
}

/** One search from the search page: how long its answer took, and its first results' drawing after it arrived. */
async function search(page, scopeLabel, title) {
  await page.getByLabel(scopeLabel, { exact: true }).check();
  await page.getByLabel("Title", { exact: true }).fill(title);
  await page.evaluate(() => {
    performance.clearMarks();
    performance.clearResourceTimings();
    globalThis.__sent = performance.now();
  });
  await page.getByTestId("do-search").click();
  // Finished: the button is live again and the results it drew are marked.
  await page.waitForFunction(
    () =>
      !document.querySelector("[data-testid=do-search]")?.hasAttribute("disabled") &&
      performance.getEntriesByName("lrs:search-drawn").length > 0,
    null,
    { timeout: 30_000, polling: 20 },
  );
  return page.evaluate(() => {
    const answer = performance.getEntriesByName("lrs:search-answer")[0].startTime;
    const drawn = performance.getEntriesByName("lrs:search-drawn").find((m) => m.startTime >= answer);
    return { drawn: drawn.startTime - answer, answer: answer - globalThis.__sent };
  });
}

async function main() {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(join(DIR, "catalogs"), { recursive: true });
  say(`starting a federation of ${2 + NORTH.length + SOUTH.length + 1} nodes in ${DIR}`);
  const fed = await Federation.create(SPEC, { dir: DIR, logLevel: "warn" });
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    const holdings = await importOwnTitles(fed, [...NORTH, ...SOUTH], titles, join(DIR, "catalogs"));
    say(`imported ${holdings.size} titles; waiting for the national union catalog`);
    await fed.waitSynced(180_000);
    const runner = createLoanRunner(fed, { north: NORTH, south: SOUTH, holdings });
    const { done, failures } = await runner.run({ loans, concurrency: 10, progressEvery: 10 });
    say(`${done.length} loans done (${failures.length} failed)`);

    console.log(`\npage loads until interactive, ${runs} runs each after one warm-up (ms):`);
    console.log("node           page          p50      p95      max");
    const worst = [];
    for (const [id, paths] of Object.entries(PAGES)) {
      const page = await signIn(browser, fed, id);
      const base = fed.node(id).web.replace(/\/$/, "");
      for (const path of paths) {
        await load(page, base + path);
        const times = [];
        for (let i = 0; i < runs; i++) times.push(await load(page, base + path));
        const d = dist(times);
        worst.push(d.p95);
        console.log(
          `${id.padEnd(14)} ${path.padEnd(12)} ${ms(d.p50).padStart(8)} ${ms(d.p95).padStart(8)} ${ms(d.max).padStart(8)}`,
        );
      }
      await page.context().close();
    }
    console.log(`slowest page p95: ${ms(Math.max(...worst))}`);

    console.log(`\nsearch from north-univ's page, ${runs} searches per scope (ms):`);
    console.log("scope                  answer p50   drawn after the answer arrived p50 / p95 / max");
    const page = await signIn(browser, fed, "north-univ");
    await page.goto(`${fed.node("north-univ").web.replace(/\/$/, "")}/search`);
    const words = ["history", "science", "medicine", "water", "law", "art", "music", "children"];
    for (const scope of ["This library", "The region", "The whole federation"]) {
      const drawn = [];
      const answer = [];
      await search(page, scope, "history");
      for (let i = 0; i < runs; i++) {
        const r = await search(page, scope, words[i % words.length]);
        drawn.push(r.drawn);
        answer.push(r.answer);
      }
      const b = dist(drawn);
      console.log(
        `${scope.padEnd(22)} ${ms(dist(answer).p50).padStart(8)}     ${ms(b.p50)} / ${ms(b.p95)} / ${ms(b.max)}`,
      );
    }
  } finally {
    await browser.close();
    await fed.stopAll();
    if (!keep) rmSync(DIR, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
