import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { controlValue } from "./fields.js";
import { readMarc, readMarcFile } from "./read-marc-file.js";
import type { MarcReadResult } from "./read-result.js";

const fixturePath = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const fixture = (name: string): Buffer => readFileSync(fixturePath(name));

const dir = mkdtempSync(join(tmpdir(), "lrs-marc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(results: AsyncIterable<MarcReadResult>): Promise<MarcReadResult[]> {
  const out: MarcReadResult[] = [];
  for await (const r of results) out.push(r);
  return out;
}

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

function ids(results: MarcReadResult[]): (string | undefined)[] {
  return results.map((r) => (r.ok ? controlValue(r.record, "001") : `error: ${r.error.reason}`));
}

describe("readMarcFile", () => {
  it("reads ISO 2709 and MARCXML files", async () => {
    expect(ids(await collect(readMarcFile(fixturePath("uva-marc8.mrc"))))).toEqual([
      "u1",
      "u9",
      "u151",
      "u399",
      "u1194",
      "u1809",
    ]);
    expect(ids(await collect(readMarcFile(fixturePath("lc-loc-general.xml"))))).toEqual([
      "16972248",
      "16614942",
    ]);
  });

  it("reads gzipped files by their content, whatever their name", async () => {
    for (const name of ["uva-marc8.mrc", "uchicago-cjk.xml"]) {
      const path = join(dir, `${name}.bin`);
      writeFileSync(path, gzipSync(fixture(name)));
      const plain = await collect(readMarcFile(fixturePath(name)));
      expect(await collect(readMarcFile(path))).toEqual(plain);
    }
  });

  it("reports damaged gzip data after the records it could read", async () => {
    const gz = gzipSync(fixture("uva-marc8.mrc"));
    const results = await collect(readMarc(chunks(gz.subarray(0, gz.length - 2000), 512)));
    const last = results[results.length - 1]!;
    expect(results.slice(0, -1).every((r) => r.ok || r.error.reason.startsWith("no record terminator"))).toBe(
      true,
    );
    expect(last.ok).toBe(false);
    expect(!last.ok && last.error.reason).toMatch(
      /^gzip data is damaged or cut short \(unexpected end of file\)/,
    );
    expect(last.index).toBe(results.length);
  });
});

describe("readMarc", () => {
  it("tells MARCXML from ISO 2709 by the first non-blank byte, in chunks of any size", async () => {
    const xml = Buffer.concat([Buffer.from("\ufeff\n  \r\n"), fixture("lc-loc-general.xml")]);
    expect(ids(await collect(readMarc(chunks(xml, 1))))).toEqual(["16972248", "16614942"]);
    expect(ids(await collect(readMarc(chunks(fixture("traject-cjk-880.mrc"), 1))))).toEqual([
      "   00314247 ",
      "   92117465 ",
    ]);
  });

  it("accepts strings and an explicit format", async () => {
    async function* strings(): AsyncGenerator<string> {
      yield fixture("lc-loc-general.xml").toString("utf8");
    }
    expect(ids(await collect(readMarc(strings(), { format: "marcxml" })))).toEqual(["16972248", "16614942"]);
  });

  it("closes its source when the reader stops early", async () => {
    for (const data of [
      fixture("uva-marc8.mrc"),
      gzipSync(fixture("uva-marc8.mrc")),
      fixture("uchicago-cjk.xml"),
    ]) {
      let closed = false;
      async function* source(): AsyncGenerator<Buffer> {
        try {
          yield* chunks(data, 1 << 16);
        } finally {
          closed = true;
        }
      }
      for await (const result of readMarc(source())) {
        expect(result.ok).toBe(true);
        break;
      }
      // The gunzip pipeline hands the close on asynchronously.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(closed).toBe(true);
    }
  });

  it("yields nothing for empty input", async () => {
    expect(await collect(readMarc(chunks(Buffer.alloc(0), 1)))).toEqual([]);
    expect(await collect(readMarc(chunks(Buffer.from("\n\n"), 1)))).toEqual([]);
  });
});
