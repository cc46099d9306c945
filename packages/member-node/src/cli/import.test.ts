/**
 * `lrs-member import` and `lrs-member delete` as an operator runs them: the built program (run
 * `npx tsc -b` first), a config file, real MARC files, exit codes and output.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Database, INDEX_RULES_VERSION, parseIso2709 } from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memberNodeMigrations } from "../server.js";
import { MemberCatalog } from "../store/catalog.js";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const BIN = join(ROOT, "packages/member-node/bin/lrs-member.js");
const FIXTURES = join(ROOT, "packages/shared/src/marc/fixtures");
const UVA6 = join(FIXTURES, "uva-marc8.mrc");
const LC2 = join(FIXTURES, "lc-loc-general.xml");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function lrsMember(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
    });
  });
}

let dir: string;
let config: string;

beforeAll(() => {
  if (!existsSync(join(ROOT, "packages/member-node/dist/main.js"))) {
    throw new Error("packages/member-node is not built: run `npx tsc -b` first");
  }
  dir = mkdtempSync(join(tmpdir(), "lrs-cli-"));
  config = join(dir, "member.toml");
  writeFileSync(
    config,
    [
      'id = "cli-member"',
      'name = "CLI Test Library"',
      'region = "north"',
      'listen = "127.0.0.1:0"',
      'parent = "127.0.0.1:1"',
      'data_dir = "data"',
      "",
    ].join("\n"),
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function openCatalog(): { db: Database; catalog: MemberCatalog } {
  const db = Database.open(join(dir, "data", "node.db"), memberNodeMigrations());
  return { db, catalog: new MemberCatalog(db, "cli-member") };
}

describe("lrs-member import", () => {
  it("imports, prints a summary and exits 0; a second run changes nothing", async () => {
    const first = await lrsMember("import", "--config", config, UVA6, LC2);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^import finished after [\d.]+ s, \d+ records\/s$/m);
    expect(first.stdout).toMatch(/^ {2}added {13}8$/m);
    expect(first.stdout).toMatch(/^ {2}rejected {10}0$/m);
    expect(first.stdout).toMatch(/^catalog: 8 records, 0 items$/m);

    const again = await lrsMember("import", "--config", config, "--json", UVA6, LC2);
    expect(again.code).toBe(0);
    const s = JSON.parse(again.stdout);
    expect(s).toMatchObject({ added: 0, updated: 0, unchanged: 8, rejected: 0, records: 8, exitCode: 0 });

    const { db, catalog } = openCatalog();
    try {
      expect(catalog.headSeq()).toBe(8n);
      expect(catalog.institutionId).toBe("cli-member");
    } finally {
      db.close();
    }
  });

  it("exits 2 when records were rejected, naming each with its number and byte offset", async () => {
    const bytes = Buffer.from(readFileSync(UVA6));
    const offsets = [...parseIso2709(bytes)].map((r) => r.offset);
    bytes.write("00X1", offsets[1]! + 27, "latin1");
    const corrupt = join(dir, "corrupt.mrc");
    writeFileSync(corrupt, bytes);
    const r = await lrsMember("import", "--config", config, corrupt);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`rejected: corrupt.mrc record 2 at byte ${offsets[1]}: directory entry`);
    expect(r.stdout).toMatch(/^ {2}rejected {10}1/m);
    expect(r.stdout).toMatch(/completed with 1 rejected/);
  });

  it("exits 1 when a file cannot be read, after importing the others", async () => {
    const items = join(dir, "items.csv");
    writeFileSync(items, "record_id,barcode,call_number,location\nu1,CLI-1,GV 1580,MAIN\n");
    const r = await lrsMember("import", "--config", config, "--items", items, join(dir, "missing.mrc"), UVA6);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/cannot read .*missing\.mrc/);
    expect(r.stdout).toMatch(/^ {2}updated {11}1$/m);
    expect(r.stdout).toMatch(/^catalog: 8 records, 1 items$/m);
  });

  it("explains formats, holdings maps and exit codes in --help", async () => {
    const r = await lrsMember("import", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--holdings-map <map>");
    expect(r.stdout).toMatch(/Exit status: 0 everything imported; 2 completed, but some/);
  });
});

describe("lrs-member delete", () => {
  it("deletes by record id and leaves a tombstone; exits 2 for ids not in the catalog", async () => {
    const r = await lrsMember("delete", "--config", config, "u1", "nosuch");
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("deleted u1\n");
    expect(r.stderr).toBe("not in the catalog: nosuch\n");
    const { db, catalog } = openCatalog();
    try {
      expect(catalog.get("u1")).toBeUndefined();
      const last = catalog.changesAfter(catalog.headSeq() - 1n, 1)[0]!;
      expect(last.change).toMatchObject({ kind: "delete", recordId: "u1", institutionId: "cli-member" });
    } finally {
      db.close();
    }
    const again = await lrsMember("delete", "--config", config, "--json", "u9");
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ deleted: ["u9"], notFound: [] });
  });
});

describe("lrs-member reindex", () => {
  it("rebuilds an index built by older rules: display columns and full text, with progress logged", async () => {
    expect((await lrsMember("import", "--config", config, UVA6, LC2)).code).toBeLessThan(2);
    const { db, catalog } = openCatalog();
    let before: Array<{ record_id: string; title: string; author: string }>;
    try {
      before = db.sqlite
        .prepare("SELECT record_id, title, author FROM catalog_records ORDER BY id")
        .all() as typeof before;
      expect(before.length).toBeGreaterThan(0);
      // What a catalog indexed by other rules looks like: other display values, no full text, rules 1.
      db.sqlite.exec(`UPDATE catalog_records SET title = 'old', author = 'old';
        INSERT INTO catalog_fts (catalog_fts) VALUES ('delete-all');
        INSERT INTO node_meta (key, value) VALUES ('search_index_rules', '1')
          ON CONFLICT (key) DO UPDATE SET value = excluded.value;`);
      expect(catalog.searchLocal(`title : "${before[0]!.title.split(" ")[0]!.toLowerCase()}"`, 10)).toEqual(
        [],
      );
    } finally {
      db.close();
    }
    const run = await lrsMember("reindex", "--config", config, "--json");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      what: "local catalog",
      records: before.length,
      fromRules: 1,
    });
    const logged = run.stderr
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { msg: string; records?: number });
    expect(logged.map((l) => l.msg)).toEqual(["rebuilding the search index", "search index rebuilt"]);

    const after = openCatalog();
    try {
      const rows = after.db.sqlite
        .prepare("SELECT record_id, title, author FROM catalog_records ORDER BY id")
        .all() as typeof before;
      expect(rows).toEqual(before);
      const word = before[0]!.title.split(" ")[0]!.toLowerCase();
      expect(after.catalog.searchLocal(`title : "${word}"`, 10).map((h) => h.recordId)).toContain(
        before[0]!.record_id,
      );
      const rules = after.db.sqlite
        .prepare("SELECT value FROM node_meta WHERE key = 'search_index_rules'")
        .get() as {
        value: string;
      };
      expect(Number(rules.value)).toBe(INDEX_RULES_VERSION);
    } finally {
      after.db.close();
    }
  }, 120_000);
});
