/**
 * The SRU server against a client not written for LRS: yaz-client (Debian package yaz). A peers
 * test: `npm run test:peers` runs it, `npm test` does not (see vitest.config.ts).
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { expectedTitles, logLines, start } from "./server.fixture.js";

const ZEEREX = "http://explain.z3950.org/dtd/2.0/";

const execFileAsync = promisify(execFile);

/** Fails (not skips): CI installs yaz, and this test is the proof that a real SRU client gets on with the server. */
function requireYazClient(): void {
  const probe = spawnSync("yaz-client", ["-V"], { encoding: "utf8", timeout: 10_000 });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      "yaz-client is not installed: install the Debian package yaz (apt-get install -y yaz) to run this test; CI's .ci/run installs it",
    );
  }
}

/** Runs yaz-client on a command file (which reads no .yazclientrc) and returns what it printed. */
async function yazClient(commands: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "lrs-yaz-"));
  try {
    const file = join(dir, "commands");
    writeFileSync(file, `${commands.join("\n")}\nquit\n`);
    const { stdout } = await execFileAsync("yaz-client", ["-f", file], {
      cwd: dir,
      env: { ...process.env, HOME: dir },
      timeout: 20_000,
      maxBuffer: 8 * 1024 * 1024,
    });
    return stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Text as yaz-client prints a record's XML (libxml2 writes quotes in text as they are). */
function asPrinted(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function requests(): Array<{ binding: unknown; operation: unknown; version: unknown }> {
  return logLines
    .filter((l) => l.msg === "SRU request")
    .map((l) => ({ binding: l.binding, operation: l.operation, version: l.version }));
}

describe("yaz-client against the SRU server", () => {
  it("searches, shows a record and explains in its default mode, which is SRU 1.2 over SOAP", async () => {
    requireYazClient();
    const base = await start();
    const expected = await expectedTitles("medicine", 1, 1);
    const out = await yazClient([`open ${base}`, "find medicine", "show 1", "explain"]);
    expect(out).toContain("Number of hits: 2");
    expect(out).toContain("pos=1 schema=info:srw/schema/1/marcxml-v1.1");
    expect(out).toContain(`<subfield code="a">${asPrinted(expected.titles[0]!)}</subfield>`);
    expect(out).toContain(`<explain xmlns="${ZEEREX}">`);
    expect(out).not.toMatch(/diagnostic|HTTP Error|Fault/);
    expect(requests()).toEqual([
      { binding: "soap", operation: "searchRetrieve", version: "1.2" },
      { binding: "soap", operation: "searchRetrieve", version: "1.2" },
      { binding: "soap", operation: "explain", version: "1.2" },
    ]);
  });

  it("searches and shows MARCXML and Dublin Core records with `sru get 1.2`, and by `sru post`", async () => {
    requireYazClient();
    const base = await start();
    const expected = await expectedTitles("dc.title=biography", 2, 1);
    const out = await yazClient([
      `open ${base}`,
      "sru get 1.2",
      "querytype cql",
      "find dc.title=biography",
      "show 2",
      "schema dc",
      "show 3",
      "sru post 1.2",
      "find medicine",
      "find dc.title=(",
    ]);
    expect(out).toContain("Number of hits: 11");
    expect(out).toContain(`<subfield code="a">${asPrinted(expected.titles[0]!)}</subfield>`);
    expect(out).toContain("pos=3 schema=info:srw/schema/1/dc-v1.1");
    expect(out).toMatch(/<dc:title>[^<]+<\/dc:title>/);
    expect(out).toContain("Number of hits: 2");
    expect(out).toContain("SRW diagnostic info:srw/diagnostic/1/10");
    expect(requests()).toEqual([
      { binding: "get", operation: "searchRetrieve", version: "1.2" },
      { binding: "get", operation: "searchRetrieve", version: "1.2" },
      { binding: "get", operation: "searchRetrieve", version: "1.2" },
      { binding: "post", operation: "searchRetrieve", version: "1.2" },
      { binding: "post", operation: "searchRetrieve", version: "1.2" },
    ]);
  });
});
