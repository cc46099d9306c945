import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { controlValue, subfieldValues } from "./fields.js";
import { MAX_RECORD_LENGTH, parseIso2709, readIso2709, toIso2709 } from "./iso2709.js";
import type { Iso2709Result, MarcReadOk } from "./read-result.js";
import { MarcParseError } from "./read-result.js";
import type { MarcRecord } from "./record.js";

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

function okRecords(results: Iterable<Iso2709Result>): MarcRecord[] {
  return [...results].map((r) => {
    if (!r.ok) throw r.error;
    return r.record;
  });
}

function sample(id: string, title = "Paléolithique et préhistoire"): MarcRecord {
  return {
    leader: "00000cam a2200000 a 4500",
    fields: [
      { tag: "001", value: id },
      { tag: "008", value: "840329s1985    flua     b    001 0 eng  " },
      { tag: "020", ind1: " ", ind2: " ", subfields: [{ code: "a", value: "9780126017205" }] },
      {
        tag: "245",
        ind1: "1",
        ind2: "0",
        subfields: [
          { code: "a", value: title },
          { code: "c", value: "Wu Rukang." },
        ],
      },
      {
        tag: "880",
        ind1: "1",
        ind2: "0",
        subfields: [
          { code: "6", value: "245-01/$1" },
          { code: "a", value: "中国古人类学" },
        ],
      },
    ],
  };
}

/** Positions 00–04 (record length) and 12–16 (base address) are recomputed by the writer. */
function withoutLengths(record: MarcRecord): MarcRecord {
  return { ...record, leader: `${record.leader.slice(5, 12)}${record.leader.slice(17)}` };
}

describe("parseIso2709 on MARC-8 records (solrmarc uva_001_2000.mrc)", () => {
  // Expected strings were checked against `yaz-marcdump -f MARC-8 -t UTF-8 -o line` (NFC).
  const buf = fixture("uva-marc8.mrc");
  const results = [...parseIso2709(buf)];
  const records = okRecords(results);

  it("reads every record, numbered from 1, at its byte offset", () => {
    expect(results.map((r) => r.index)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(records.map((r) => controlValue(r, "001"))).toEqual([
      "u1",
      "u9",
      "u151",
      "u399",
      "u1194",
      "u1809",
    ]);
    let offset = 0;
    for (const r of results) {
      expect(r.offset).toBe(offset);
      offset += Number(buf.toString("latin1", offset, offset + 5));
    }
    expect(offset).toBe(buf.length);
    for (const r of results) {
      expect((r as MarcReadOk).encoding).toBe("marc-8");
      expect((r as MarcReadOk).warnings).toEqual([]);
    }
  });

  it("marks the decoded records as Unicode in leader/09", () => {
    expect(buf[9]).toBe(0x20);
    expect(records.every((r) => r.leader[9] === "a")).toBe(true);
    expect(records[0]!.leader).toBe("01021nam a2200277 a 4500");
  });

  it("decodes ANSEL diacritics, ligatures and spacing letters", () => {
    expect(subfieldValues(records[1]!, "100", "a")).toEqual(["Kogan, Ėmilʹ,"]);
    expect(subfieldValues(records[1]!, "245", "a")).toEqual(["Du bon usage de Soljénitsyne :"]);
    expect(subfieldValues(records[1]!, "500", "a")[0]).toBe("Translation of: Soli\u0361anoĭ stolp.");
    expect(subfieldValues(records[5]!, "700", "a")[0]).toBe("Wu, Ju-kʻang.");
    expect(subfieldValues(records[5]!, "650", "a")).toContain("Paléolithique");
  });

  it("decodes subscripts and superscripts", () => {
    expect(subfieldValues(records[2]!, "245", "a")).toEqual([
      "La tombe de Pached à Deir el-Médineh (n₋p0₋s 3) /",
    ]);
    expect(subfieldValues(records[3]!, "300", "b")).toEqual(["analog, 33 ¹/₃ rpm, stereo. ;"]);
    expect(subfieldValues(records[4]!, "500", "a")).toContain("Signatures: *⁸(-*8) 2*⁴ A-N⁸ O⁴.");
  });

  it("decodes EACC (CJK) in an 880 field", () => {
    expect(subfieldValues(records[5]!, "880", "6")).toEqual(["740-01/$1"]);
    expect(subfieldValues(records[5]!, "880", "a")).toEqual(["中国古人类学与旧石器时代考古学．"]);
    expect(subfieldValues(records[5]!, "066", "c")).toEqual(["$1"]);
  });
});

describe("parseIso2709 on UTF-8 records (traject test_data.utf8.mrc)", () => {
  it("reads CJK and Korean 880 fields", () => {
    const records = okRecords(parseIso2709(fixture("traject-cjk-880.mrc")));
    expect(records).toHaveLength(2);
    expect(subfieldValues(records[0]!, "880", "a")).toEqual([
      "吉田一,",
      "久保栄 「火山灰地」 を読む /",
      "東京 :",
      "久保栄,",
    ]);
    expect(subfieldValues(records[1]!, "880", "b")).toEqual(["大陸　研究所，"]);
    expect(subfieldValues(records[1]!, "880", "a")[2]).toBe("서울　持別市　：");
  });

  it("composes decomposed UTF-8 to NFC", () => {
    const record = sample("nfc", "Pale\u0301olithique");
    const [result] = parseIso2709(toIso2709(record));
    expect(result?.ok && subfieldValues(result.record, "245", "a")).toEqual(["Paléolithique"]);
  });

  it("keeps a record whose UTF-8 is invalid, with U+FFFD and a warning naming the field", () => {
    const good = toIso2709(sample("bad-utf8", "Caf\u00e9"));
    const at = good.indexOf(Buffer.from("Caf\u00e9"));
    // é is C3 A9; a lone C3 followed by "A" is not UTF-8.
    good[at + 4] = 0x41;
    const [result] = [...parseIso2709(good)];
    expect(result?.ok).toBe(true);
    if (!result?.ok) return;
    expect(subfieldValues(result.record, "245", "a")).toEqual(["Caf\ufffdA"]);
    expect(result.warnings).toEqual([
      { field: "245", offset: at + 3, reason: "invalid UTF-8, replaced by U+FFFD" },
    ]);
  });
});

describe("parseIso2709 on damaged input", () => {
  const one = toIso2709(sample("one"));
  const three = toIso2709(sample("three"));

  /** A file of three records whose second one is `bad`. */
  function around(bad: Buffer): { results: Iso2709Result[]; badOffset: number } {
    const results = [...parseIso2709(Buffer.concat([one, bad, three]))];
    return { results, badOffset: one.length };
  }

  function expectOnlySecondBad(results: Iso2709Result[], badOffset: number, bad: Buffer): MarcParseError {
    expect(results).toHaveLength(3);
    expect(results[0]!.ok && controlValue(results[0]!.record, "001")).toBe("one");
    expect(results[2]!.ok && controlValue(results[2]!.record, "001")).toBe("three");
    expect(results[2]!.index).toBe(3);
    const second = results[1]!;
    expect(second.ok).toBe(false);
    if (second.ok) throw new Error("unreachable");
    expect(second.index).toBe(2);
    expect(second.offset).toBe(badOffset);
    expect(Buffer.from(second.raw!)).toEqual(bad);
    expect(second.error).toBeInstanceOf(MarcParseError);
    expect(second.error.name).toBe("MarcParseError");
    expect(second.error.recordIndex).toBe(2);
    expect(second.error.offset).toBe(badOffset);
    return second.error;
  }

  function damaged(edit: (buf: Buffer) => void): Buffer {
    const buf = Buffer.from(toIso2709(sample("two")));
    edit(buf);
    return buf;
  }

  it("reports a record length that is not a number", () => {
    const bad = damaged((b) => b.write("0x3a1", 0, "latin1"));
    const { results, badOffset } = around(bad);
    const error = expectOnlySecondBad(results, badOffset, bad);
    expect(error.reason).toBe('record length "0x3a1" in the leader is not a number');
    expect(error.message).toBe(
      `record 2 at byte ${badOffset}: record length "0x3a1" in the leader is not a number`,
    );
    expect(error.field).toBeUndefined();
  });

  it("reports a record length that does not match the record", () => {
    const bad = damaged((b) => b.write("00100", 0, "latin1"));
    const { results, badOffset } = around(bad);
    expect(expectOnlySecondBad(results, badOffset, bad).reason).toBe(
      `record is ${bad.length} bytes long (up to its terminator) but its leader says 100`,
    );
  });

  it("reports a bad base address", () => {
    const bad = damaged((b) => b.write("00010", 12, "latin1"));
    const { results, badOffset } = around(bad);
    expect(expectOnlySecondBad(results, badOffset, bad).reason).toBe(
      `base address of data 10 is outside the record (${bad.length} bytes)`,
    );
  });

  it("reports a directory entry that is not numeric, naming its field", () => {
    // Directory entries start at 24, 12 bytes each; the fourth is 245's.
    const bad = damaged((b) => b.write("x", 24 + 3 * 12 + 3, "latin1"));
    const { results, badOffset } = around(bad);
    const error = expectOnlySecondBad(results, badOffset, bad);
    expect(error.field).toBe("245");
    expect(error.reason).toMatch(/^directory entry "245x\d{3}\d{5}" has a non-numeric length or start$/);
    expect(error.message).toBe(`record 2 at byte ${badOffset}, field 245: ${error.reason}`);
  });

  it("reports a field that runs past the end of the record", () => {
    const bad = damaged((b) => b.write("9999", 24 + 4 * 12 + 3, "latin1"));
    const { results, badOffset } = around(bad);
    const error = expectOnlySecondBad(results, badOffset, bad);
    expect(error.field).toBe("880");
    expect(error.reason).toMatch(/^field \(start \d+, length 9999\) runs past the end of the record data/);
  });

  it("reports a field without its terminator", () => {
    const bad = damaged((b) => {
      const base = Number(b.toString("latin1", 12, 17));
      const start = Number(b.toString("latin1", 24 + 3 * 12 + 7, 24 + 3 * 12 + 12));
      const length = Number(b.toString("latin1", 24 + 3 * 12 + 3, 24 + 3 * 12 + 7));
      b[base + start + length - 1] = 0x2e;
    });
    const { results, badOffset } = around(bad);
    const error = expectOnlySecondBad(results, badOffset, bad);
    expect(error.field).toBe("245");
    expect(error.reason).toMatch(/does not end with a field terminator$/);
  });

  it("recovers the next record when one is missing its record terminator", () => {
    const bad = damaged((b) => {
      b[b.length - 1] = 0x20;
    });
    const { results, badOffset } = around(bad);
    expect(expectOnlySecondBad(results, badOffset, bad).reason).toBe(
      `record does not end with a record terminator (0x1D); the next record starts after ${bad.length} bytes`,
    );
  });

  it("recovers the next record when one is cut short", () => {
    const bad = toIso2709(sample("two")).subarray(0, 100);
    const { results, badOffset } = around(bad);
    expect(expectOnlySecondBad(results, badOffset, bad).reason).toMatch(
      /^record does not end with a record terminator/,
    );
  });

  it("reports a last record cut short", () => {
    const cut = toIso2709(sample("two")).subarray(0, 80);
    const results = [...parseIso2709(Buffer.concat([one, cut]), { startIndex: 10, startOffset: 1000 })];
    expect(results.map((r) => [r.ok, r.index, r.offset])).toEqual([
      [true, 11, 1000],
      [false, 12, 1000 + one.length],
    ]);
    expect(!results[1]!.ok && results[1]!.error.reason).toBe(
      "no record terminator (0x1D) before the end of the data",
    );
  });

  it("skips line breaks, blanks, NUL and ^Z between and after records", () => {
    const records = okRecords(
      parseIso2709(
        Buffer.concat([Buffer.from("\r\n"), one, Buffer.from("\n\0"), three, Buffer.from("\x1a\n")]),
      ),
    );
    expect(records.map((r) => controlValue(r, "001"))).toEqual(["one", "three"]);
  });

  it("reads missing indicators as blanks and keeps text found before the first delimiter", () => {
    const record: MarcRecord = {
      leader: "00000nam a2200000 a 4500",
      fields: [{ tag: "903", ind1: " ", ind2: " ", subfields: [{ code: "", value: "002857678" }] }],
    };
    const [result] = [...parseIso2709(toIso2709(record))];
    expect(result?.ok && result.record.fields).toEqual(record.fields);
    expect(result?.ok && result.warnings[0]?.reason).toBe(
      "data before the first subfield delimiter, kept as a subfield with an empty code",
    );
  });

  it("lets the caller override leader/09", () => {
    const latin = Buffer.from(
      toIso2709({ leader: "00000nam a2200000 a 4500", fields: [{ tag: "001", value: "x" }] }),
    );
    const [asMarc8] = [...parseIso2709(toIso2709(sample("m8", "Soljénitsyne")), { encoding: "marc-8" })];
    expect(asMarc8?.ok && asMarc8.encoding).toBe("marc-8");
    // UTF-8 é (C3 A9) read as MARC-8 is two ANSEL positions: C3 is ©, A9 is ♭.
    expect(asMarc8?.ok && subfieldValues(asMarc8.record, "245", "a")).toEqual(["Solj©♭nitsyne"]);
    expect([...parseIso2709(latin, { encoding: "utf-8" })][0]?.ok).toBe(true);
  });
});

describe("toIso2709", () => {
  it("computes lengths and the base address in bytes and writes UTF-8", () => {
    const buf = toIso2709(sample("len"));
    expect(Number(buf.toString("latin1", 0, 5))).toBe(buf.length);
    expect(buf.toString("latin1", 9, 12)).toBe("a22");
    expect(buf.toString("latin1", 20, 24)).toBe("4500");
    const base = Number(buf.toString("latin1", 12, 17));
    expect(buf[base - 1]).toBe(0x1e);
    expect(buf[buf.length - 1]).toBe(0x1d);
    // 245 holds "é" twice: two bytes each.
    const entry = buf.toString("latin1", 24 + 3 * 12, 24 + 4 * 12);
    expect(entry.slice(0, 3)).toBe("245");
    const text = "10\x1faPaléolithique et préhistoire\x1fcWu Rukang.\x1e";
    expect(Number(entry.slice(3, 7))).toBe(Buffer.byteLength(text));
    expect(
      buf
        .subarray(base + Number(entry.slice(7)), base + Number(entry.slice(7)) + Buffer.byteLength(text))
        .toString(),
    ).toBe(text);
  });

  it("drops separator characters from text", () => {
    const record = sample("sep", "a\x1eb\x1fc\x1dd");
    const [result] = [...parseIso2709(toIso2709(record))];
    expect(result?.ok && subfieldValues(result.record, "245", "a")).toEqual(["abcd"]);
  });

  it("refuses what ISO 2709 cannot hold", () => {
    expect(() => toIso2709({ leader: "", fields: [{ tag: "24", value: "x" }] })).toThrow(RangeError);
    expect(() => toIso2709(sample("big", "x".repeat(10_000)))).toThrow(
      /field 245 is \d+ bytes, over ISO 2709's 9999/,
    );
    const many: MarcRecord = {
      leader: "",
      fields: Array.from({ length: 20 }, () => ({
        tag: "500",
        ind1: " ",
        ind2: " ",
        subfields: [{ code: "a", value: "y".repeat(9000) }],
      })),
    };
    expect(() => toIso2709(many)).toThrow(`over ISO 2709's ${MAX_RECORD_LENGTH}`);
  });

  it("round-trips every fixture: parse, write, parse gives the same records", () => {
    for (const name of ["uva-marc8.mrc", "traject-cjk-880.mrc", "traject-hebrew880s.mrc"]) {
      const first = okRecords(parseIso2709(fixture(name)));
      const written = Buffer.concat(first.map(toIso2709));
      const second = okRecords(parseIso2709(written));
      expect(second.map(withoutLengths)).toEqual(first.map(withoutLengths));
      // Written again, the bytes do not change.
      expect(Buffer.concat(second.map(toIso2709))).toEqual(written);
    }
  });
});

describe("readIso2709", () => {
  async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
    for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
  }

  async function collect(stream: AsyncIterable<Buffer>): Promise<Iso2709Result[]> {
    const out: Iso2709Result[] = [];
    for await (const r of readIso2709(stream)) out.push(r);
    return out;
  }

  it("gives what parseIso2709 gives, whatever the chunk size", async () => {
    const bad = Buffer.from(toIso2709(sample("bad")));
    bad.write("zzzzz", 0, "latin1");
    const file = Buffer.concat([
      fixture("uva-marc8.mrc"),
      bad,
      Buffer.from("\n"),
      fixture("traject-cjk-880.mrc"),
      Buffer.from("0012"),
    ]);
    const expected = [...parseIso2709(file)];
    expect(expected.map((r) => r.ok)).toEqual([true, true, true, true, true, true, false, true, true, false]);
    for (const size of [1, 7, 100, 4096, file.length]) {
      const results = await collect(chunks(file, size));
      expect(results.map((r) => [r.index, r.offset, r.ok])).toEqual(
        expected.map((r) => [r.index, r.offset, r.ok]),
      );
      expect(results.map((r) => (r.ok ? r.record : r.error.message))).toEqual(
        expected.map((r) => (r.ok ? r.record : r.error.message)),
      );
    }
  });

  it("gives up on a run of bytes with no terminator, then reads on", async () => {
    const garbage = Buffer.alloc(3 * MAX_RECORD_LENGTH, 0x41);
    const file = Buffer.concat([garbage, Buffer.from([0x1d]), toIso2709(sample("after"))]);
    const results = await collect(chunks(file, 65536));
    expect(results.map((r) => [r.index, r.offset, r.ok])).toEqual([
      [1, 0, false],
      [2, garbage.length + 1, true],
    ]);
    expect(!results[0]!.ok && results[0]!.error.reason).toBe(
      `no record terminator (0x1D) within ${MAX_RECORD_LENGTH} bytes`,
    );
  });
});
