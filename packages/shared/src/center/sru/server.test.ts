import { pino } from "pino";
import { SaxesParser } from "saxes";
import { describe, expect, it } from "vitest";
import { catalogBackend, expectedTitles, logLines, start, stopServer } from "./server.fixture.js";
import { createSruServer, type SruBackend, type SruLimits } from "./server.js";
import { escapeXml } from "./xml.js";

const NS = {
  srw: "http://www.loc.gov/zing/srw/",
  sru2: "http://docs.oasis-open.org/ns/search-ws/sruResponse",
  diag1: "http://www.loc.gov/zing/srw/diagnostic/",
  diag2: "http://docs.oasis-open.org/ns/search-ws/diagnostic",
  soap11: "http://schemas.xmlsoap.org/soap/envelope/",
  marc: "http://www.loc.gov/MARC21/slim",
  dc: "http://purl.org/dc/elements/1.1/",
  zeerex: "http://explain.z3950.org/dtd/2.0/",
};

// ------------------------------------------------------------------ XML reading

interface XNode {
  uri: string;
  local: string;
  attrs: Record<string, string>;
  children: XNode[];
  /** All text below the element. */
  text: string;
}

function parseXml(xml: string): XNode {
  const parser = new SaxesParser({ xmlns: true });
  const stack: XNode[] = [];
  let root: XNode | undefined;
  parser.on("opentag", (tag) => {
    const attrs: Record<string, string> = {};
    for (const a of Object.values(tag.attributes))
      if (a.prefix !== "xmlns" && a.name !== "xmlns") attrs[a.local] = a.value;
    const node: XNode = { uri: tag.uri, local: tag.local, attrs, children: [], text: "" };
    stack.at(-1)?.children.push(node);
    root ??= node;
    stack.push(node);
  });
  parser.on("text", (t) => {
    for (const n of stack) n.text += t;
  });
  parser.on("closetag", () => {
    stack.pop();
  });
  parser.write(xml).close();
  if (!root) throw new Error("no root element");
  return root;
}

function findAll(node: XNode, local: string, uri?: string): XNode[] {
  const out: XNode[] = [];
  const walk = (n: XNode) => {
    for (const c of n.children) {
      if (c.local === local && (uri === undefined || c.uri === uri)) out.push(c);
      walk(c);
    }
  };
  walk(node);
  return out;
}

function find(node: XNode, local: string, uri?: string): XNode | undefined {
  return findAll(node, local, uri)[0];
}

function textOf(node: XNode, local: string, uri?: string): string | undefined {
  return find(node, local, uri)?.text.trim();
}

function childText(node: XNode, local: string): string | undefined {
  return node.children.find((c) => c.local === local)?.text.trim();
}

interface Diag {
  uri: string | undefined;
  details: string | undefined;
  message: string | undefined;
}

function diagnosticsOf(doc: XNode): Diag[] {
  const list = doc.children.find((c) => c.local === "diagnostics");
  return (list?.children ?? []).map((d) => ({
    uri: childText(d, "uri"),
    details: childText(d, "details"),
    message: childText(d, "message"),
  }));
}

/** A node holding `node`, so that searches below it find `node` itself. */
function wrap(node: XNode): XNode {
  return { uri: "", local: "", attrs: {}, children: [node], text: node.text };
}

/** The MARCXML records of a response, each as the 245 $a of its record. */
function titlesOf(doc: XNode): string[] {
  return findAll(doc, "record", NS.marc).map((rec) => {
    const f245 = findAll(rec, "datafield", NS.marc).find((f) => f.attrs.tag === "245");
    return f245?.children.find((s) => s.attrs.code === "a")?.text ?? "";
  });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A 245 $a less its closing ISBD punctuation. */
function chopped(title: string): string {
  return title.replace(/[\s:/;]+$/, "");
}

interface Reply {
  status: number;
  type: string | null;
  text: string;
  doc: XNode;
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type"), text, doc: parseXml(text) };
}

async function get(base: string, params: Record<string, string>): Promise<Reply> {
  const url = new URL(base);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return reply(await fetch(url));
}

async function post(base: string, params: Record<string, string>): Promise<Reply> {
  return reply(
    await fetch(base, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(params).toString(),
    }),
  );
}

async function soap(base: string, xml: string): Promise<Reply> {
  return reply(
    await fetch(base, {
      method: "POST",
      headers: { "content-type": "text/xml; charset=utf-8", soapaction: '""' },
      body: xml,
    }),
  );
}

/** The SOAP request yaz-client 5 sends for `find` (maximumRecords 0) and `show` (a page). */
function yazSoapSearch(query: string, page?: { start: number; max: number; schema?: string }): string {
  const paging = page
    ? `<zs:startRecord>${page.start}</zs:startRecord><zs:maximumRecords>${page.max}</zs:maximumRecords>` +
      (page.schema ? `<zs:recordSchema>${page.schema}</zs:recordSchema>` : "")
    : "<zs:maximumRecords>0</zs:maximumRecords>";
  return (
    '<?xml version="1.0"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>' +
    `<zs:searchRetrieveRequest xmlns:zs="http://www.loc.gov/zing/srw/"><zs:version>1.2</zs:version><zs:query>${escapeXml(query)}</zs:query>${paging}` +
    "</zs:searchRetrieveRequest></SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
  );
}

/** The response element inside a SOAP envelope. */
function soapBody(doc: XNode): XNode {
  expect([doc.uri, doc.local]).toEqual([NS.soap11, "Envelope"]);
  const body = doc.children.find((c) => c.local === "Body" && c.uri === NS.soap11);
  const first = body?.children[0];
  if (!first) throw new Error("empty SOAP Body");
  return first;
}

// ------------------------------------------------------------------ tests

describe("SRU server", () => {
  it("answers a bare base URL with explain: a ZeeRex record of the server, indexes, schemas and limits", async () => {
    const base = await start();
    const r = await get(base, {});
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/xml/);
    expect([r.doc.uri, r.doc.local]).toEqual([NS.sru2, "explainResponse"]);
    expect(childText(r.doc, "version")).toBe("2.0");
    expect(textOf(r.doc, "recordSchema")).toBe(NS.zeerex);
    const explain = find(r.doc, "explain", NS.zeerex)!;
    const url = new URL(base);
    expect(textOf(explain, "host")).toBe("127.0.0.1");
    expect(textOf(explain, "port")).toBe(url.port);
    expect(textOf(explain, "database")).toBe("sru");
    expect(textOf(find(explain, "databaseInfo")!, "title")).toBe("North regional union catalog");
    expect(find(explain, "implementation")?.attrs.identifier).toBe("north-center");
    const indexes = findAll(explain, "index").map((ix) => {
      const name = find(ix, "name")!;
      return `${name.attrs.set}.${name.text}`;
    });
    expect(indexes.sort()).toEqual(
      [
        "dc.title",
        "dc.creator",
        "dc.subject",
        "dc.publisher",
        "dc.date",
        "bath.isbn",
        "bath.issn",
        "rec.identifier",
        "cql.anywhere",
      ].sort(),
    );
    expect(findAll(explain, "schema").map((s) => [s.attrs.name, s.attrs.identifier])).toEqual([
      ["marcxml", "info:srw/schema/1/marcxml-v1.1"],
      ["dc", "info:srw/schema/1/dc-v1.1"],
    ]);
    const config = (el: string, type: string) =>
      findAll(explain, el).find((n) => n.attrs.type === type && n.text !== "")?.text;
    expect(config("setting", "maximumRecords")).toBe("100");
    expect(config("default", "numberOfRecords")).toBe("10");
    expect(config("setting", "maximumRequestBytes")).toBe("65536");
  });

  it("answers explain in 1.2 by GET (string-packed too) and by SOAP", async () => {
    const base = await start({ limits: { maxRecords: 25 } });
    const xml = await get(base, { version: "1.2", operation: "explain" });
    expect([xml.doc.uri, xml.doc.local]).toEqual([NS.srw, "explainResponse"]);
    expect(childText(xml.doc, "version")).toBe("1.2");
    expect(textOf(xml.doc, "recordPacking")).toBe("xml");

    const packed = await get(base, { version: "1.2", operation: "explain", recordPacking: "string" });
    expect(textOf(packed.doc, "recordPacking")).toBe("string");
    const inner = parseXml(textOf(packed.doc, "recordData")!);
    expect([inner.uri, inner.local]).toEqual([NS.zeerex, "explain"]);
    expect(findAll(inner, "setting").find((s) => s.attrs.type === "maximumRecords")?.text).toBe("25");

    const viaSoap = await soap(
      base,
      `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${NS.soap11}"><SOAP-ENV:Body><SRW:explainRequest xmlns:SRW="${NS.srw}">` +
        "<SRW:version>1.1</SRW:version></SRW:explainRequest></SOAP-ENV:Body></SOAP-ENV:Envelope>",
    );
    const body = soapBody(viaSoap.doc);
    expect([body.uri, body.local]).toEqual([NS.srw, "explainResponse"]);
    expect(childText(body, "version")).toBe("1.1");
    expect(find(body, "explain", NS.zeerex)).toBeDefined();
  });

  it("searchRetrieve 1.2 by GET: the count, MARCXML records with positions, the next position, the echo", async () => {
    const base = await start();
    const expected = await expectedTitles("dc.title=biography", 1, 3);
    expect(expected.total).toBe(11);
    const r = await get(base, {
      version: "1.2",
      operation: "searchRetrieve",
      query: "dc.title=biography",
      maximumRecords: "3",
    });
    expect([r.doc.uri, r.doc.local]).toEqual([NS.srw, "searchRetrieveResponse"]);
    expect(childText(r.doc, "version")).toBe("1.2");
    expect(childText(r.doc, "numberOfRecords")).toBe("11");
    const records = findAll(r.doc, "record", NS.srw);
    expect(records.map((rec) => childText(rec, "recordPosition"))).toEqual(["1", "2", "3"]);
    expect(records.map((rec) => childText(rec, "recordSchema"))).toEqual(
      Array(3).fill("info:srw/schema/1/marcxml-v1.1"),
    );
    expect(records.map((rec) => childText(rec, "recordPacking"))).toEqual(["xml", "xml", "xml"]);
    expect(titlesOf(r.doc)).toEqual(expected.titles);
    // The union holdings come with each record: one 852 per holding institution.
    for (const rec of findAll(r.doc, "record", NS.marc)) {
      const holdings = findAll(rec, "datafield", NS.marc).filter((f) => f.attrs.tag === "852");
      expect(holdings.map((h) => h.children.find((s) => s.attrs.code === "a")?.text)).toEqual(["north-lib"]);
    }
    expect(childText(r.doc, "nextRecordPosition")).toBe("4");
    const echo = find(r.doc, "echoedSearchRetrieveRequest", NS.srw)!;
    expect(echo.children.map((c) => [c.local, c.text])).toEqual([
      ["version", "1.2"],
      ["query", "dc.title=biography"],
      ["maximumRecords", "3"],
    ]);
    expect(diagnosticsOf(r.doc)).toEqual([]);
  });

  it("pages with startRecord, and leaves nextRecordPosition out after the last record", async () => {
    const base = await start();
    const expected = await expectedTitles("dc.title=biography", 10, 5);
    const r = await get(base, {
      version: "1.2",
      operation: "searchRetrieve",
      query: "dc.title=biography",
      startRecord: "10",
      maximumRecords: "5",
    });
    expect(findAll(r.doc, "recordPosition").map((p) => p.text)).toEqual(["10", "11"]);
    expect(titlesOf(r.doc)).toEqual(expected.titles);
    expect(childText(r.doc, "nextRecordPosition")).toBeUndefined();
  });

  it("speaks SRU 2.0: its namespace, recordXMLEscaping, an exact count", async () => {
    const base = await start();
    const expected = await expectedTitles("medicine", 1, 10);
    const r = await get(base, { version: "2.0", query: "medicine", recordXMLEscaping: "string" });
    expect([r.doc.uri, r.doc.local]).toEqual([NS.sru2, "searchRetrieveResponse"]);
    expect(childText(r.doc, "numberOfRecords")).toBe("2");
    const records = findAll(r.doc, "record", NS.sru2);
    expect(records.map((rec) => childText(rec, "recordXMLEscaping"))).toEqual(["string", "string"]);
    // Escaped into a string, the record parses as MARCXML once read back.
    const titles = records.map((rec) => titlesOf(wrap(parseXml(childText(rec, "recordData")!))));
    expect(titles.flat()).toEqual(expected.titles);
    expect(childText(r.doc, "resultCountPrecision")).toBe("exact");
  });

  it("answers POST forms like GET", async () => {
    const base = await start();
    const params = { version: "1.2", operation: "searchRetrieve", query: "medicine", maximumRecords: "2" };
    const byGet = await get(base, params);
    const byPost = await post(base, params);
    expect(byPost.status).toBe(200);
    expect(childText(byPost.doc, "numberOfRecords")).toBe("2");
    expect(byPost.text).toBe(byGet.text);
  });

  it("answers SOAP as yaz-client sends it, in a SOAP envelope, whatever the prefix", async () => {
    const base = await start();
    const expected = await expectedTitles("medicine", 1, 1);
    const count = await soap(base, yazSoapSearch("medicine"));
    expect(count.status).toBe(200);
    expect(count.type).toMatch(/^text\/xml/);
    const body = soapBody(count.doc);
    expect([body.uri, body.local]).toEqual([NS.srw, "searchRetrieveResponse"]);
    expect(childText(body, "numberOfRecords")).toBe("2");
    expect(findAll(body, "record", NS.srw)).toEqual([]);

    const page = await soap(base, yazSoapSearch("medicine", { start: 1, max: 1 }));
    expect(titlesOf(soapBody(page.doc))).toEqual(expected.titles);

    const other = await soap(
      base,
      `<soap:Envelope xmlns:soap="${NS.soap11}"><soap:Body><SRW:searchRetrieveRequest xmlns:SRW="${NS.srw}">` +
        "<SRW:version>1.1</SRW:version><SRW:query>medicine</SRW:query><SRW:startRecord>2</SRW:startRecord>" +
        "<SRW:maximumRecords>1</SRW:maximumRecords><SRW:recordSchema>dc</SRW:recordSchema>" +
        "</SRW:searchRetrieveRequest></soap:Body></soap:Envelope>",
    );
    const dcBody = soapBody(other.doc);
    expect(childText(dcBody, "version")).toBe("1.1");
    expect(textOf(dcBody, "recordSchema")).toBe("info:srw/schema/1/dc-v1.1");
    expect(textOf(dcBody, "recordPosition")).toBe("2");
    expect(textOf(dcBody, "title", NS.dc)).toBeTruthy();
  });

  it("writes Dublin Core records when asked by the schema's URI", async () => {
    const base = await start();
    const expected = await expectedTitles("medicine", 1, 2);
    const r = await get(base, {
      version: "1.2",
      operation: "searchRetrieve",
      query: "medicine",
      recordSchema: "info:srw/schema/1/dc-v1.1",
    });
    const dcRecords = findAll(r.doc, "dc", "info:srw/schema/1/dc-schema");
    expect(dcRecords).toHaveLength(2);
    const titles = dcRecords.map((d) => textOf(d, "title", NS.dc));
    // dc:title is 245 with its subtitle; it starts where 245 $a does, less the ISBD punctuation.
    expect(titles).toEqual(expected.titles.map((t) => expect.stringMatching(`^${escapeRegExp(chopped(t))}`)));
    for (const d of dcRecords) expect(findAll(d, "language", NS.dc).length).toBeGreaterThan(0);
  });

  describe("diagnostics", () => {
    const cases: Array<[string, Record<string, string>, number, string | undefined, RegExp?]> = [
      ["an unsupported version", { version: "3.0", query: "medicine" }, 5, "2.0", /3\.0/],
      ["a missing query", { version: "1.2", operation: "searchRetrieve" }, 7, "query"],
      [
        "startRecord 0",
        { version: "1.2", operation: "searchRetrieve", query: "x", startRecord: "0" },
        6,
        "startRecord",
      ],
      [
        "startRecord abc",
        { version: "1.2", query: "x", operation: "searchRetrieve", startRecord: "abc" },
        6,
        "startRecord",
      ],
      [
        "maximumRecords -1",
        { version: "1.2", query: "x", operation: "searchRetrieve", maximumRecords: "-1" },
        6,
        "maximumRecords",
      ],
      [
        "recordPacking json",
        { version: "1.2", query: "x", operation: "searchRetrieve", recordPacking: "json" },
        71,
        "json",
      ],
      [
        "an unknown record schema",
        { version: "1.2", query: "x", operation: "searchRetrieve", recordSchema: "mods" },
        66,
        "mods",
      ],
      ["a PQF query type", { version: "2.0", query: "@attr 1=4 x", queryType: "pqf" }, 6, "queryType"],
      [
        "a CQL syntax error",
        { version: "1.2", operation: "searchRetrieve", query: "dc.title=(" },
        10,
        "9",
        /position 9/,
      ],
      [
        "an unclosed parenthesis",
        { version: "1.2", operation: "searchRetrieve", query: "(medicine" },
        13,
        "0",
        /position 0/,
      ],
      [
        "an unsupported index",
        { version: "1.2", operation: "searchRetrieve", query: "dc.format=x" },
        16,
        "dc.format",
        /position 0/,
      ],
      [
        "an unknown context set",
        { version: "1.2", operation: "searchRetrieve", query: "foo.bar=x" },
        15,
        "foo",
      ],
      [
        "an unsupported relation",
        { version: "1.2", operation: "searchRetrieve", query: 'dc.title within "a b"' },
        22,
        undefined,
      ],
      ["an unsupported operation", { version: "1.2", operation: "update" }, 4, "update"],
    ];
    it.each(cases)("for %s", async (_name, params, code, details, message) => {
      const base = await start();
      const r = await get(base, params);
      expect(r.status).toBe(200);
      const diags = diagnosticsOf(r.doc);
      expect(diags).toHaveLength(1);
      expect(diags[0]?.uri).toBe(`info:srw/diagnostic/1/${code}`);
      if (details !== undefined) expect(diags[0]?.details).toBe(details);
      expect(diags[0]?.message).toBeTruthy();
      if (message) expect(diags[0]?.message).toMatch(message);
      if (r.doc.local === "searchRetrieveResponse") {
        expect(childText(r.doc, "numberOfRecords")).toBe("0");
        expect(findAll(r.doc, "recordData")).toEqual([]);
      }
    });

    it("in the 2.0 diagnostic namespace for 2.0 requests", async () => {
      const base = await start();
      const r = await get(base, { version: "2.0", query: "dc.title=(" });
      expect(find(r.doc, "diagnostic", NS.diag2)).toBeDefined();
      const r1 = await get(base, { version: "1.2", operation: "searchRetrieve", query: "dc.title=(" });
      expect(find(r1.doc, "diagnostic", NS.diag1)).toBeDefined();
    });

    it("names every bad parameter of a request at once", async () => {
      const base = await start();
      const r = await get(base, {
        version: "1.2",
        operation: "searchRetrieve",
        startRecord: "x",
        maximumRecords: "y",
        recordSchema: "mods",
      });
      expect(diagnosticsOf(r.doc).map((d) => d.uri?.split("/").pop())).toEqual(["7", "6", "6", "66"]);
    });

    it("61 for a start beyond the last record, with the count", async () => {
      const base = await start();
      const r = await get(base, {
        version: "1.2",
        operation: "searchRetrieve",
        query: "medicine",
        startRecord: "50",
      });
      expect(childText(r.doc, "numberOfRecords")).toBe("2");
      expect(diagnosticsOf(r.doc)).toEqual([
        { uri: "info:srw/diagnostic/1/61", details: "50", message: expect.stringMatching(/50.*2 records/) },
      ]);
      // Asking for no records is no error, nor is the first page of nothing.
      const none = await get(base, { version: "1.2", operation: "searchRetrieve", query: "zzzzqqq" });
      expect([childText(none.doc, "numberOfRecords"), diagnosticsOf(none.doc)]).toEqual(["0", []]);
      const count = await get(base, {
        version: "1.2",
        operation: "searchRetrieve",
        query: "medicine",
        startRecord: "50",
        maximumRecords: "0",
      });
      expect(diagnosticsOf(count.doc)).toEqual([]);
    });

    it("answers scan with diagnostic 4 in a scanResponse", async () => {
      const base = await start();
      const r = await get(base, { version: "1.2", operation: "scan", scanClause: "dc.title=a" });
      expect([r.doc.uri, r.doc.local]).toEqual([NS.srw, "scanResponse"]);
      expect(diagnosticsOf(r.doc).map((d) => [d.uri, d.details])).toEqual([
        ["info:srw/diagnostic/1/4", "scan"],
      ]);
    });
  });

  describe("limits", () => {
    it("clamps maximumRecords to the limit (the server may return fewer) and pages on from there", async () => {
      const base = await start({ limits: { maxRecords: 4, defaultRecords: 2 } });
      const r = await get(base, {
        version: "1.2",
        operation: "searchRetrieve",
        query: "dc.title=biography",
        maximumRecords: "50",
      });
      expect(findAll(r.doc, "record", NS.srw)).toHaveLength(4);
      expect(childText(r.doc, "nextRecordPosition")).toBe("5");
      expect(diagnosticsOf(r.doc)).toEqual([]);
      // The echo says what was asked; explain says what the limit is.
      expect(textOf(find(r.doc, "echoedSearchRetrieveRequest")!, "maximumRecords")).toBe("50");
      const byDefault = await get(base, {
        version: "1.2",
        operation: "searchRetrieve",
        query: "dc.title=biography",
      });
      expect(findAll(byDefault.doc, "record", NS.srw)).toHaveLength(2);
    });

    it("refuses a request over the size limit with HTTP 413 and a diagnostic stating the limit", async () => {
      const base = await start({ limits: { maxRequestBytes: 1024 } });
      const long = "medicine ".repeat(200);

      const viaGet = await get(base, { version: "1.2", operation: "searchRetrieve", query: long });
      expect(viaGet.status).toBe(413);
      const [d] = diagnosticsOf(viaGet.doc);
      expect(d?.uri).toBe("info:srw/diagnostic/1/12");
      expect(d?.details).toBe("1024");
      expect(d?.message).toMatch(/at most 1024 bytes/);

      const viaPost = await post(base, { version: "1.2", operation: "searchRetrieve", query: long });
      expect(viaPost.status).toBe(413);
      expect(viaPost.doc.uri).toBe(NS.srw);
      expect(diagnosticsOf(viaPost.doc)[0]?.details).toBe("1024");

      const viaSoap = await soap(base, yazSoapSearch(long));
      expect(viaSoap.status).toBe(413);
      expect(diagnosticsOf(soapBody(viaSoap.doc))[0]?.uri).toBe("info:srw/diagnostic/1/12");

      // Just under the limit is fine.
      const fits = await get(base, { version: "1.2", operation: "searchRetrieve", query: "medicine" });
      expect(fits.status).toBe(200);
    });
  });

  it("turns SRU 1.1 sortKeys into a CQL sortBy; an unknown sort path is a non-fatal diagnostic", async () => {
    const seen: string[] = [];
    const base = await start({ backend: catalogBackend(seen) });
    await get(base, {
      version: "1.1",
      operation: "searchRetrieve",
      query: "medicine",
      sortKeys: "title,,0 date",
    });
    expect(seen.at(-1)).toBe("medicine sortBy dc.title/sort.descending dc.date/sort.ascending");
    // The query's own sortBy wins.
    await get(base, {
      version: "1.1",
      operation: "searchRetrieve",
      query: "medicine sortBy dc.date",
      sortKeys: "title,,0",
    });
    expect(seen.at(-1)).toBe("medicine sortBy dc.date");
    const r = await get(base, {
      version: "1.1",
      operation: "searchRetrieve",
      query: "medicine",
      sortKeys: "dc.format",
    });
    expect(seen.at(-1)).toBe("medicine");
    expect(findAll(r.doc, "record", NS.srw)).toHaveLength(2);
    expect(diagnosticsOf(r.doc).map((d) => [d.uri, d.details])).toEqual([
      ["info:srw/diagnostic/1/88", "dc.format"],
    ]);
  });

  describe("a backend that fails or hangs", () => {
    it("is a general system error, without the cause", async () => {
      const backend: SruBackend = {
        search: async () => {
          throw new Error("SQLITE_BUSY at /var/lib/lrs/secret.db");
        },
      };
      const base = await start({ backend });
      const r = await get(base, { version: "1.2", operation: "searchRetrieve", query: "medicine" });
      expect(diagnosticsOf(r.doc).map((d) => d.uri)).toEqual(["info:srw/diagnostic/1/1"]);
      expect(r.text).not.toMatch(/secret|SQLITE/);
      expect(logLines.some((l) => l.level === 50 && l.msg === "SRU search failed")).toBe(true);
    });

    it("times out with diagnostic 2 and aborts the search", async () => {
      let aborted = false;
      const backend: SruBackend = {
        search: (_q, _s, _m, signal) =>
          new Promise((_resolve, reject) => {
            signal.addEventListener("abort", () => {
              aborted = true;
              reject(new Error("aborted"));
            });
          }),
      };
      const base = await start({ backend, limits: { searchTimeoutMs: 50 } });
      const r = await get(base, { version: "1.2", operation: "searchRetrieve", query: "medicine" });
      expect(diagnosticsOf(r.doc).map((d) => [d.uri, d.message])).toEqual([
        ["info:srw/diagnostic/1/2", "the search did not finish within 50 ms"],
      ]);
      expect(aborted).toBe(true);
    });

    it("is abandoned when the server closes", async () => {
      let called: () => void = () => {};
      const reached = new Promise<void>((resolve) => {
        called = resolve;
      });
      const backend: SruBackend = {
        search: () => {
          called();
          return new Promise(() => {});
        },
      };
      const base = await start({ backend });
      const pending = get(base, { version: "1.2", operation: "searchRetrieve", query: "medicine" });
      await reached;
      await stopServer();
      const r = await pending;
      expect(diagnosticsOf(r.doc).map((d) => [d.uri, d.message])).toEqual([
        ["info:srw/diagnostic/1/2", "the server is shutting down"],
      ]);
    });
  });

  it("answers what is not SRU with HTTP errors: unknown path, method, body type, broken SOAP", async () => {
    const base = await start();
    const url = new URL(base);
    expect((await fetch(new URL("/other", url))).status).toBe(404);
    const put = await fetch(base, { method: "PUT", body: "x" });
    expect([put.status, put.headers.get("allow")]).toEqual([405, "GET, HEAD, POST"]);
    const text = await fetch(base, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "query=x",
    });
    expect(text.status).toBe(415);
    for (const broken of [
      "<SOAP-ENV:Envelope xmlns:SOAP-ENV",
      "<notSoap/>",
      `<!DOCTYPE x [<!ENTITY a "b">]><SOAP-ENV:Envelope xmlns:SOAP-ENV="${NS.soap11}"/>`,
      `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${NS.soap11}"><SOAP-ENV:Body/></SOAP-ENV:Envelope>`,
    ]) {
      const r = await soap(base, broken);
      expect(r.status).toBe(500);
      const fault = soapBody(r.doc);
      expect(fault.local).toBe("Fault");
      expect(childText(fault, "faultcode")).toBe("SOAP-ENV:Client");
      expect(childText(fault, "faultstring")).toBeTruthy();
    }
  });

  it("refuses impossible limits when created", () => {
    const make = (limits: Partial<SruLimits>) => () =>
      createSruServer({
        host: "127.0.0.1",
        port: 0,
        backend: catalogBackend(),
        databaseInfo: { title: "t", description: "d", nodeId: "n" },
        limits,
        log: pino({ level: "silent" }),
      });
    expect(make({ maxRecords: 0 })).toThrow(/maxRecords/);
    expect(make({ defaultRecords: 20, maxRecords: 10 })).toThrow(/defaultRecords/);
    expect(make({ maxRequestBytes: 1.5 })).toThrow(/maxRequestBytes/);
  });
});
