import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { controlValue, subfieldValues } from "./fields.js";
import { parseIso2709 } from "./iso2709.js";
import { MARCXML_NAMESPACE, marcXmlCollection, parseMarcXml, readMarcXml, toMarcXml } from "./marcxml.js";
import type { MarcXmlResult } from "./read-result.js";
import type { MarcRecord } from "./record.js";

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

function records(results: MarcXmlResult[]): MarcRecord[] {
  return results.map((r) => {
    if (!r.ok) throw r.error;
    return r.record;
  });
}

const LEADER = "00000nam a2200000 a 4500";

function doc(...recordBodies: string[]): string {
  return `<collection>${recordBodies.map((b) => `<record><leader>${LEADER}</leader>${b}</record>`).join("\n")}</collection>`;
}

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function collect(stream: AsyncIterable<Buffer | string>): Promise<MarcXmlResult[]> {
  const out: MarcXmlResult[] = [];
  for await (const r of readMarcXml(stream)) out.push(r);
  return out;
}

describe("parseMarcXml", () => {
  it("reads LC's file with mixed prefixes (marcxml:collection around marc:record)", () => {
    const results = parseMarcXml(fixture("lc-loc-general.xml").toString("utf8"));
    expect(results.map((r) => [r.index, r.line, r.ok])).toEqual([
      [1, 2, true],
      [2, 2, true],
    ]);
    const [first, second] = records(results);
    expect(first!.leader).toBe("00986cam a22002895a 4500");
    expect(controlValue(first!, "001")).toBe("16972248");
    expect(controlValue(first!, "008")).toBe("110922s2010    enk           000 0 eng  ");
    expect(subfieldValues(first!, "245", "a")).toEqual([
      "Immanuel Velikovsky - The Truth Behind the Torment.",
    ]);
    expect(subfieldValues(second!, "245", "b")).toEqual(["the biography /"]);
    expect(second!.fields.find((f) => f.tag === "100")).toEqual({
      tag: "100",
      ind1: "1",
      ind2: " ",
      subfields: [{ code: "a", value: "Moss, Simon." }],
    });
  });

  it("reads Korean 880 fields (UChicago sample, marc: prefix)", () => {
    // Checked against `yaz-marcdump -i marcxml -o line`.
    const [record] = records(parseMarcXml(fixture("uchicago-cjk.xml").toString("utf8")));
    expect(subfieldValues(record!, "880", "6")).toEqual(["245-01", "264-02", "490-03", "700-04", "830-05"]);
    expect(subfieldValues(record!, "880", "a")[0]).toBe("노동 조합 의 사회적 위상 과 미래 역할 /");
    expect(subfieldValues(record!, "880", "b")).toEqual(["한국 노동 연구원,"]);
    expect(subfieldValues(record!, "245", "a")).toEqual([
      "Nodong chohap ŭi sahoejŏk wisang kwa mirae yŏkhal /",
    ]);
  });

  it("reads a lone record, with or without a namespace", () => {
    const body = `<leader>${LEADER}</leader><controlfield tag="001">x1</controlfield>`;
    for (const xml of [
      `<record>${body}</record>`,
      `<?xml version="1.0"?>\n<record xmlns="${MARCXML_NAMESPACE}">${body}</record>`,
      `<m:record xmlns:m="${MARCXML_NAMESPACE}">${body.replace(/<(\/?)/g, "<$1m:")}</m:record>`,
    ]) {
      const [record] = records(parseMarcXml(xml));
      expect(controlValue(record!, "001")).toBe("x1");
    }
  });

  it("finds records inside other XML, such as an OAI-PMH response", () => {
    const xml = `<OAI-PMH><ListRecords><record><header><identifier>oai:1</identifier></header><metadata>
      <marc:record xmlns:marc="${MARCXML_NAMESPACE}"><marc:leader>${LEADER}</marc:leader>
      <marc:controlfield tag="001">oai1</marc:controlfield></marc:record></metadata></record></ListRecords></OAI-PMH>`;
    const results = parseMarcXml(xml);
    expect(results).toHaveLength(1);
    expect(controlValue(records(results)[0]!, "001")).toBe("oai1");
  });

  it("reads a bare ampersand as itself, warns, and loses nothing after it", () => {
    const xml = doc(
      '<datafield tag="245" ind1="1" ind2="0"><subfield code="a">AT&T &amp; Bell &#233;dition</subfield></datafield>',
      '<controlfield tag="001">next</controlfield>',
    );
    const results = parseMarcXml(xml);
    const [first, second] = records(results);
    expect(subfieldValues(first!, "245", "a")).toEqual(["AT&T & Bell édition"]);
    expect(controlValue(second!, "001")).toBe("next");
    expect(results[0]!.ok && results[0]!.warnings).toEqual([
      expect.objectContaining({ field: "245", reason: "unescaped '&' read as a literal ampersand" }),
    ]);
    expect(results[1]!.ok && results[1]!.warnings).toEqual([]);
  });

  it("leaves ampersands in CDATA and comments alone", () => {
    const xml = doc(
      '<datafield tag="500" ind1=" " ind2=" "><subfield code="a"><![CDATA[R&D <b>]]><!-- a & b --></subfield></datafield>',
    );
    const results = parseMarcXml(xml);
    expect(subfieldValues(records(results)[0]!, "500", "a")).toEqual(["R&D <b>"]);
    expect(results[0]!.ok && results[0]!.warnings).toEqual([]);
  });

  it("reports a record XML cannot read, with its line and field, and reads the next one", () => {
    const xml = doc(
      '<controlfield tag="001">one</controlfield>',
      '<datafield tag="245" ind1="1" ind2="0">\n<subfield code="a">A&nbsp;B</subfield></datafield>',
      '<controlfield tag="001">three</controlfield>',
    );
    const results = parseMarcXml(xml);
    expect(results.map((r) => [r.index, r.ok])).toEqual([
      [1, true],
      [2, false],
      [3, true],
    ]);
    const bad = results[1]!;
    if (bad.ok) throw new Error("unreachable");
    expect(bad.line).toBe(2);
    expect(bad.error.name).toBe("MarcParseError");
    expect(bad.error.recordIndex).toBe(2);
    expect(bad.error.offset).toBeUndefined();
    expect(bad.error.line).toBe(3);
    expect(bad.error.field).toBe("245");
    expect(bad.error.reason).toMatch(/^line 3, column \d+: undefined entity/);
    expect(bad.error.message).toMatch(/^record 2 at line 3, field 245: line 3, column \d+: undefined entity/);
  });

  it("reports records without a leader, tags or codes", () => {
    const xml = `<collection>
      <record><controlfield tag="001">no leader</controlfield></record>
      <record><leader>${LEADER}</leader><datafield ind1=" " ind2=" "><subfield code="a">x</subfield></datafield></record>
      <record><leader>${LEADER}</leader><datafield tag="245" ind1=" " ind2=" "><subfield>x</subfield></datafield></record>
      <record><leader>${LEADER}</leader><datafield tag="24" ind1=" " ind2=" "/></record>
    </collection>`;
    const results = parseMarcXml(xml);
    expect(
      results.map((r) =>
        r.ok ? "ok" : [r.error.field, r.error.reason.replace(/^line \d+, column \d+: /, "")],
      ),
    ).toEqual([
      [undefined, "record has no leader"],
      [undefined, "datafield has no tag attribute"],
      ["245", "subfield has no code attribute"],
      ["24", 'tag "24" is not three characters'],
    ]);
  });

  it("reports a document cut short and keeps what came before", () => {
    const xml = `<collection><record><leader>${LEADER}</leader><controlfield tag="001">one</controlfield></record>
      <record><leader>${LEADER}</leader><controlfield tag="001">tw`;
    const results = parseMarcXml(xml);
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    expect(!results[1]!.ok && results[1]!.error.reason).toMatch(/unclosed tag: controlfield/);
  });

  it("reads documents concatenated one after another", () => {
    const one = `<?xml version="1.0" encoding="UTF-8"?>\n<record><leader>${LEADER}</leader><controlfield tag="001">a</controlfield></record>\n`;
    const results = parseMarcXml(one + one.replace(">a<", ">b<"));
    expect(records(results).map((r) => controlValue(r, "001"))).toEqual(["a", "b"]);
  });

  it("mends a leader of the wrong length and warns", () => {
    const results = parseMarcXml(`<collection><record><leader>00000nam</leader></record>
      <record><leader>
        ${LEADER}
      </leader></record></collection>`);
    expect(results.map((r) => r.ok && r.record.leader)).toEqual(["00000nam                ", LEADER]);
    expect(results[0]!.ok && results[0]!.warnings[0]?.reason).toBe(
      "leader is 8 characters long, not 24; trimmed, then padded or cut",
    );
    expect(results[1]!.ok && results[1]!.warnings).toHaveLength(1);
  });

  it("reads an indicator of the wrong length by its first character, with a warning", () => {
    const results = parseMarcXml(
      doc('<datafield tag="245" ind1="10" ind2=""><subfield code="a">x</subfield></datafield>'),
    );
    expect(results[0]!.ok && results[0]!.record.fields[0]).toMatchObject({ ind1: "1", ind2: " " });
    expect(results[0]!.ok && results[0]!.warnings.map((w) => w.reason)).toEqual([
      'ind1 "10" is not one character; read as "1"',
      'ind2 "" is not one character; read as " "',
    ]);
  });
});

describe("readMarcXml", () => {
  it("gives the same records whatever the chunking, also across multibyte characters and '&' references", async () => {
    const xml = Buffer.from(
      doc(
        '<datafield tag="880" ind1="1" ind2="0"><subfield code="a">노동 조합 &amp; AT&T &#xE9;</subfield></datafield>',
        '<controlfield tag="001">2</controlfield>',
      ),
    );
    const expected = parseMarcXml(xml.toString("utf8"));
    for (const size of [1, 2, 3, 5, 64, xml.length]) {
      const results = await collect(chunks(xml, size));
      expect(records(results)).toEqual(records(expected));
      expect(results.map((r) => r.ok && r.warnings.length)).toEqual([1, 0]);
    }
    const fromStrings = await collect(chunks(fixture("uchicago-cjk.xml"), 7));
    expect(records(fromStrings)).toEqual(records(parseMarcXml(fixture("uchicago-cjk.xml").toString("utf8"))));
  });

  it("skips a byte order mark", async () => {
    const results = await collect(
      chunks(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), fixture("lc-loc-general.xml")]), 1000),
    );
    expect(results.map((r) => r.ok)).toEqual([true, true]);
  });
});

describe("toMarcXml", () => {
  it("round-trips: MARC-8 ISO 2709 → MARCXML → the same records", () => {
    const fromIso = [...parseIso2709(fixture("uva-marc8.mrc"))].map((r) => {
      if (!r.ok) throw r.error;
      return r.record;
    });
    expect(records(parseMarcXml(marcXmlCollection(fromIso)))).toEqual(fromIso);
    for (const record of fromIso) {
      expect(records(parseMarcXml(toMarcXml(record)))).toEqual([record]);
      expect(records(parseMarcXml(toMarcXml(record, { declaration: true, collection: true })))).toEqual([
        record,
      ]);
    }
  });

  it("escapes markup and drops what XML 1.0 cannot hold", () => {
    const record: MarcRecord = {
      leader: LEADER,
      fields: [
        { tag: "001", value: "a<b>&c" },
        {
          tag: "245",
          ind1: '"',
          ind2: "0",
          subfields: [{ code: "a", value: 'Tom & "Jerry" <1950>\u0001\u0008\ud800\ufffe ok\t𠀋' }],
        },
      ],
    };
    const xml = toMarcXml(record, { declaration: true });
    expect(xml).toContain('<controlfield tag="001">a&lt;b&gt;&amp;c</controlfield>');
    expect(xml).toContain('<datafield tag="245" ind1="&quot;" ind2="0">');
    expect(xml).toContain("Tom &amp; &quot;Jerry&quot; &lt;1950&gt; ok\t𠀋</subfield>");
    expect(
      xml.startsWith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<record xmlns="http://www.loc.gov/MARC21/slim">',
      ),
    ).toBe(true);
    const [back] = records(parseMarcXml(xml));
    expect(subfieldValues(back!, "245", "a")).toEqual(['Tom & "Jerry" <1950> ok\t𠀋']);
    expect(controlValue(back!, "001")).toBe("a<b>&c");
  });

  it("writes a collection document", () => {
    const xml = marcXmlCollection([
      { leader: LEADER, fields: [{ tag: "001", value: "1" }] },
      { leader: LEADER, fields: [{ tag: "001", value: "2" }] },
    ]);
    expect(xml).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        `<collection xmlns="${MARCXML_NAMESPACE}">`,
        "  <record>",
        `    <leader>${LEADER}</leader>`,
        '    <controlfield tag="001">1</controlfield>',
        "  </record>",
        "  <record>",
        `    <leader>${LEADER}</leader>`,
        '    <controlfield tag="001">2</controlfield>',
        "  </record>",
        "</collection>",
        "",
      ].join("\n"),
    );
  });
});
