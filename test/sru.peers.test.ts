// The union catalogs' SRU service against a client not written for LRS: yaz-client (Debian
// package yaz) searching a regional and the national center of a running federation. A peers
// test: `npm run test:peers` runs it, `npm test` does not (see vitest.config.ts).
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Federation, REPO_ROOT } from "@lrs/dev-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFederation } from "./harness.js";

const LOC = join(REPO_ROOT, "data/marc/lc-marc2bibframe2/loc_general.xml");

let fed: Federation;
let destroy: () => Promise<void>;

beforeAll(async () => {
  ({ fed, destroy } = await startFederation());
  await fed.cli(fed.node("north-a"), ["import", "--config", fed.node("north-a").config, LOC]);
  await fed.waitSynced(60_000);
});
afterAll(async () => {
  await destroy?.();
});

/** Runs yaz-client on a command file, as a librarian would type the commands. */
function yazClient(name: string, commands: string[]): string {
  const file = join(fed.dir, `${name}.yaz`);
  writeFileSync(file, `${commands.join("\n")}\nquit\n`);
  return execFileSync("yaz-client", ["-f", file], { timeout: 20_000, cwd: fed.dir }).toString();
}

describe("yaz-client against a running federation's SRU listeners", () => {
  it("searches the regional union catalog in its default mode (SRU 1.2 over SOAP) and shows a record", () => {
    const out = yazClient("north", [`open ${fed.node("north-rc").sru}`, "find history", "show 1"]);
    expect(out).toMatch(/Number of hits: [1-9]\d*/);
    expect(out).toContain('<record xmlns="http://www.loc.gov/MARC21/slim">');
    expect(out).toContain("(LRS)north-rc:c");
  });

  it("searches the national union catalog by GET with CQL, and gets a diagnostic for a broken query", () => {
    const out = yazClient("national", [
      `open ${fed.node("nat").sru}`,
      "sru get 1.2",
      "querytype cql",
      "find dc.title=history",
      "show 1",
      "find dc.title=(",
    ]);
    expect(out).toMatch(/Number of hits: [1-9]\d*/);
    expect(out).toContain("(LRS)nat:c");
    expect(out).toContain("SRW diagnostic info:srw/diagnostic/1/10");
  });
});
