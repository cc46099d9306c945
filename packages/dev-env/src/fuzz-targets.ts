import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseHoldingsMapSpec, readItemsCsv, specMap } from "@lrs/member-node";
import {
  createCertificateAuthority,
  createCsr,
  decodeMarc8,
  generateKeyPair,
  ill,
  parseConfigText,
  parseCql,
  parseIso2709,
  parseMarcXml,
  parseOaiResponse,
  parseToken,
  signCsr,
  Tier,
  toConfig,
  validateCql,
} from "@lrs/shared";
import {
  DEFAULT_SRU_LIMITS,
  decodeOaiToken,
  encodeOaiToken,
  interpretRequest,
  parseOaiRequest,
  rawFromForm,
  rawFromSoap,
} from "@lrs/shared/center";
import fc from "fast-check";
import { REPO_ROOT } from "./federation.js";

/**
 * The parsers a stranger's (or a careless operator's) input reaches, as fuzz targets: what a
 * valid input looks like (seeds, mutated byte by byte) and random ones, and the only errors
 * each may end with. Used by test/parsers-fuzz.test.ts (a few hundred inputs each, in
 * `npm test`) and bench/fuzz.mjs (as many as you like, findings in BENCHMARKS.md).
 */
export interface FuzzTarget<T = unknown> {
  name: string;
  /** Inputs: random, and seeds with a few bytes changed, cut or repeated. */
  input: fc.Arbitrary<T>;
  /** Parses one input; resolves (whatever it found) or throws one of `errors`. */
  run: (input: T) => unknown;
  /** Error class names `run` may throw: documented, with a message for the person. */
  errors: string[];
}

/**
 * Longest one input may take before it counts as a hang: far above what any input takes on an
 * idle machine (a CSR signature is milliseconds), so a loaded shared machine gives no false alarm.
 */
export const FUZZ_TIME_LIMIT_MS = 5_000;

const FIXTURES = join(REPO_ROOT, "packages/shared/src/marc/fixtures");
const fixture = (name: string) => readFileSync(join(FIXTURES, name));

/** A seed with some bytes overwritten, a cut, and a slice repeated: what damaged files look like. */
function mutated(seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      seed: fc.constantFrom(...seeds),
      writes: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      cut: fc.option(fc.nat()),
      repeat: fc.option(fc.tuple(fc.nat(), fc.nat({ max: 64 }), fc.nat({ max: 20 }))),
    })
    .map(({ seed, writes, cut, repeat }) => {
      let b = Buffer.from(seed);
      for (const [at, v] of writes) if (b.length) b[at % b.length] = v;
      if (repeat && b.length) {
        const [at, len, times] = repeat;
        const s = b.subarray(at % b.length, (at % b.length) + len);
        b = Buffer.concat([b.subarray(0, at % b.length), ...Array(times).fill(s), b.subarray(at % b.length)]);
      }
      if (cut !== null && b.length) b = b.subarray(0, cut % (b.length + 1));
      return new Uint8Array(b);
    });
}

const bytes = (seeds: Uint8Array[]) =>
  fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }) },
    { weight: 3, arbitrary: mutated(seeds) },
  );

const text = (seeds: string[], extra: string[] = []) =>
  fc.oneof(
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
    {
      weight: 3,
      arbitrary: mutated(seeds.map((s) => Buffer.from(s))).map((b) => Buffer.from(b).toString("utf8")),
    },
    ...(extra.length ? [{ weight: 1, arbitrary: fc.constantFrom(...extra) }] : []),
  );

const drain = (it: Iterable<unknown>) => {
  let n = 0;
  for (const _ of it) n++;
  return n;
};

const CQL_SEEDS = [
  'dc.title = "history of science" and dc.date > 1990',
  'bath.isbn=9780131103627 or (dc.creator any "smith jones" not dc.subject=medicine)',
  'cql.serverChoice all "a b c" sortBy dc.title/sort.descending',
  "dc.title=hist* prox/unit=word/distance<=3 dc.creator=w?lls",
  '> dc = "info:srw/cql-context-set/1/dc-v1.1" dc.title = x',
];
const DEEP = `${"(".repeat(5000)}x${")".repeat(5000)}`;

const SRU_SEEDS = [
  "operation=searchRetrieve&version=1.2&query=dc.title%3Dhistory&maximumRecords=10&recordSchema=marcxml",
  "version=2.0&query=dc.creator%3Dsmith&startRecord=3&recordXMLEscaping=string&sortKeys=dc.title,,1",
  "operation=explain&version=1.1&recordPacking=xml",
  "operation=scan&version=1.1&scanClause=dc.title%3Dhist&maximumTerms=5",
  "x-unknown=1&query=a&maximumRecords=-1&startRecord=999999999999999999",
];
const SOAP_SEED = `<?xml version="1.0"?><SOAP:Envelope xmlns:SOAP="http://schemas.xmlsoap.org/soap/envelope/"><SOAP:Body><SRW:searchRetrieveRequest xmlns:SRW="http://www.loc.gov/zing/srw/"><SRW:version>1.1</SRW:version><SRW:query>dc.title=history</SRW:query><SRW:maximumRecords>5</SRW:maximumRecords></SRW:searchRetrieveRequest></SOAP:Body></SOAP:Envelope>`;
const XXE = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><SOAP:Envelope xmlns:SOAP="http://schemas.xmlsoap.org/soap/envelope/"><SOAP:Body>&e;</SOAP:Body></SOAP:Envelope>`;

// ISO 18626 as partners send it: a 2021-2 request in the ISO18626Message wrapper, and a 1.2
// supplyingAgencyMessage without the wrapper and with a "+0000" timestamp (both are accepted).
const ISO18626_SEEDS = [
  `<?xml version="1.0" encoding="UTF-8"?><ISO18626Message xmlns="http://illtransactions.org/2013/iso18626" ill:version="2021-2" xmlns:ill="http://illtransactions.org/2013/iso18626"><request><header><supplyingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>LRS</agencyIdValue></supplyingAgencyId><requestingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>US-NjP</agencyIdValue></requestingAgencyId><multipleItemRequestId></multipleItemRequestId><timestamp>2026-12-05T10:00:00Z</timestamp><requestingAgencyRequestId>P-1</requestingAgencyRequestId></header><bibliographicInfo><title>Moby Dick</title><bibliographicItemId><bibliographicItemIdentifier>9780142437247</bibliographicItemIdentifier><bibliographicItemIdentifierCode>ISBN</bibliographicItemIdentifierCode></bibliographicItemId></bibliographicInfo><serviceInfo><serviceType>Loan</serviceType><needBeforeDate>2027-01-01T00:00:00Z</needBeforeDate><note>scenario:loaned</note></serviceInfo></request></ISO18626Message>`,
  `<supplyingAgencyMessage xmlns="http://illtransactions.org/2013/iso18626"><header><supplyingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>US-NjP</agencyIdValue></supplyingAgencyId><requestingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>LRS</agencyIdValue></requestingAgencyId><timestamp>2026-12-05T10:00:00+0000</timestamp><requestingAgencyRequestId>R-1</requestingAgencyRequestId><supplyingAgencyRequestId>S-9</supplyingAgencyRequestId></header><messageInfo><reasonForMessage>StatusChange</reasonForMessage></messageInfo><statusInfo><status>Loaned</status><lastChange>2026-12-05T10:00:00Z</lastChange></statusInfo><deliveryInfo><dateSent>2026-12-05T10:00:00Z</dateSent><itemId>BC-1</itemId><loanCondition>NoReproduction</loanCondition></deliveryInfo></supplyingAgencyMessage>`,
];

/**
 * Well-formed documents with element values replaced by random text (escaped), elements dropped
 * or repeated: what reaches the reader's checks of values, codes and dates, which byte-level
 * damage seldom gets past the XML parser to.
 */
function xmlValues(seeds: string[]): fc.Arbitrary<string> {
  const esc = (v: string) => v.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return fc
    .record({
      seed: fc.constantFrom(...seeds),
      values: fc.array(fc.tuple(fc.nat(), fc.string({ maxLength: 40 })), { maxLength: 6 }),
      drop: fc.option(fc.nat()),
      repeat: fc.option(fc.nat()),
    })
    .map(({ seed, values, drop, repeat }) => {
      // Leaf elements: <name>text</name> with no child element.
      const leaves = [...seed.matchAll(/<([A-Za-z][\w:]*)>([^<]*)<\/\1>/g)];
      if (!leaves.length) return seed;
      let out = seed;
      const replace = (m: RegExpMatchArray, by: string) => {
        out = out.replace(m[0], by);
      };
      for (const [i, v] of values) {
        const m = leaves[i % leaves.length]!;
        replace(m, `<${m[1]}>${esc(v)}</${m[1]}>`);
      }
      if (drop != null) replace(leaves[drop % leaves.length]!, "");
      if (repeat != null) {
        const m = leaves[repeat % leaves.length]!;
        replace(m, m[0] + m[0]);
      }
      return out;
    });
}

const OAI_TOKEN = encodeOaiToken({
  metadataPrefix: "marc21",
  set: "region:north",
  after: 100,
  upto: 5000,
  cursor: 100,
  completeListSize: 4900,
  expires: Date.UTC(2100, 0, 1),
});
const OAI_REQUEST_SEEDS = [
  "verb=ListRecords&metadataPrefix=marc21&from=2026-01-01&until=2026-12-05T10:00:00Z&set=region:north",
  `verb=ListIdentifiers&resumptionToken=${OAI_TOKEN}`,
  "verb=GetRecord&identifier=oai:lrs:nat:c1&metadataPrefix=oai_dc",
  "verb=Identify",
];

const OAI_FIXTURES = join(REPO_ROOT, "packages/member-node/src/catalog/fixtures/oai");
const oaiFixture = (name: string) => readFileSync(join(OAI_FIXTURES, name), "utf8");

const CONFIG_SEED = `id = "north-a"
name = "North Library A"
listen = "127.0.0.1:7001"
data_dir = "/var/lib/lrs"
region = "north"
parent = "127.0.0.1:7000"
metrics_listen = "127.0.0.1:9464"
subjects = ["science"]

[ill]
auto_respond = "availability"

[lending_policy]
lends_outside_region = true
response_time = "2d"

[fees]
currency = "EUR"
`;

const CSV_SEED = `record_id,barcode,call_number,location,status,loan_rule,due_date
rec-1,B0001,QA76 .K5,Main / Stacks,available,standard,
rec-1,B0002,"QA76 .K5 c.2","Main, ""Annex""",on_loan,short,2026-12-24
rec-2,B0003,,Reference,not_for_loan,reference,
`;

const MAP_SEED = JSON.stringify({
  tag: "949",
  barcode: "p",
  callNumber: "a",
  location: "lm",
  status: "s",
  statusValues: { "-": "available", o: "on_loan" },
  dueDate: "q",
  keepFields: false,
});

const TOKEN_SEED = `LRS1.0123456789ab.${"A".repeat(32)}.${"b".repeat(43)}`;

/** Every target; the CSR target needs a CA and a real request, so this is async. */
export async function fuzzTargets(): Promise<FuzzTarget[]> {
  const marc = [fixture("uva-marc8.mrc"), fixture("traject-cjk-880.mrc"), fixture("traject-hebrew880s.mrc")];
  const xml = [fixture("lc-loc-general.xml").toString("utf8"), fixture("uchicago-cjk.xml").toString("utf8")];
  const sample = parseIso2709(marc[0]!).next().value;
  const record = sample?.ok ? sample.record : undefined;
  const ca = await createCertificateAuthority("Fuzz");
  const csr = await createCsr(await generateKeyPair(), "fuzz-a", ["localhost", "127.0.0.1"]);

  const targets: FuzzTarget[] = [
    {
      name: "ISO 2709",
      input: bytes(marc),
      run: (b) => drain(parseIso2709(b as Uint8Array)),
      errors: [],
    },
    {
      name: "MARC-8",
      input: bytes(marc),
      run: (b) => decodeMarc8(b as Uint8Array, () => {}),
      errors: [],
    },
    {
      name: "MARCXML",
      input: text(xml, ["<collection><record>".repeat(2000), "<record><leader>x</leader>"]),
      run: (s) => parseMarcXml(s as string).length,
      errors: [],
    },
    {
      name: "CQL",
      input: text(CQL_SEEDS, [DEEP, "a".repeat(300_000), 'dc.title="unterminated']),
      run: (q) => validateCql(parseCql(q as string)),
      errors: ["CqlParseError"],
    },
    {
      name: "SRU parameters",
      input: text(SRU_SEEDS, [`query=${encodeURIComponent(DEEP)}`, `query=${"%".repeat(1000)}`]),
      run: (s) => interpretRequest(rawFromForm(s as string, "get"), DEFAULT_SRU_LIMITS),
      errors: ["CqlParseError"],
    },
    {
      name: "SRU SOAP body",
      input: text([SOAP_SEED], [XXE, `<a>${"<b>".repeat(10_000)}`]),
      run: (s) => interpretRequest(rawFromSoap(s as string), DEFAULT_SRU_LIMITS),
      errors: ["SoapRequestError", "CqlParseError"],
    },
    {
      name: "TOML config",
      input: text([CONFIG_SEED], ["a = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1"]),
      run: (s) =>
        toConfig(Tier.MEMBER, {
          file: "fuzz.toml",
          values: parseConfigText(s as string, "fuzz.toml"),
          fromEnv: new Map(),
        }),
      errors: ["ConfigError"],
    },
    {
      name: "items CSV",
      input: text(
        [CSV_SEED],
        ['record_id,barcode\n"never closed', `record_id,barcode\n${"x".repeat(100_000)},1`],
      ),
      run: async (s) => {
        const chunks = (async function* () {
          yield Buffer.from(s as string);
        })();
        return readItemsCsv(chunks);
      },
      errors: ["ItemsCsvError"],
    },
    {
      name: "holdings map",
      input: text([MAP_SEED], ["[]", "null", '{"tag":"949","barcode":"p","__proto__":{"x":1}}']),
      run: (s) => {
        let value: unknown;
        try {
          value = JSON.parse(s as string);
        } catch {
          return undefined; // not JSON: the CLI reports JSON.parse's SyntaxError with the file name
        }
        const map = specMap(parseHoldingsMapSpec(value, "fuzz.json"), "fuzz");
        return record ? map.extract(record) : undefined;
      },
      errors: ["HoldingsMapError"],
    },
    {
      name: "enrollment token",
      input: text([TOKEN_SEED], [`LRS1.${"a".repeat(100_000)}`]),
      run: (s) => parseToken(s as string),
      errors: ["TokenFormatError"],
    },
    {
      name: "ISO 18626 XML",
      input: fc.oneof(
        xmlValues(ISO18626_SEEDS),
        text(ISO18626_SEEDS, [
          XXE,
          `<request>${"<a>".repeat(10_000)}`,
          `<request xmlns="http://illtransactions.org/2013/iso18626">${"<header/>".repeat(20_000)}</request>`,
        ]),
      ),
      run: (s) => ill.readIso18626(s as string),
      errors: ["Iso18626ReadError"],
    },
    {
      name: "OAI-PMH request",
      input: text(OAI_REQUEST_SEEDS, ["verb=ListRecords&resumptionToken=e30", `verb=${"x".repeat(20_000)}`]),
      run: (s) => {
        const args = new Map<string, string[]>();
        for (const [k, v] of new URLSearchParams(s as string)) args.set(k, [...(args.get(k) ?? []), v]);
        const req = parseOaiRequest(args);
        return "resumptionToken" in req && req.resumptionToken !== undefined
          ? decodeOaiToken(req.resumptionToken, Date.now())
          : req;
      },
      errors: ["OaiError"],
    },
    {
      name: "OAI-PMH response",
      input: fc.oneof(
        xmlValues(["koha-page1.xml", "koha-bad-token.xml"].map(oaiFixture)),
        text(["koha-page1.xml", "evergreen-page1.xml", "koha-bad-token.xml"].map(oaiFixture), [
          oaiFixture("not-oai.html"),
          oaiFixture("truncated.xml"),
          XXE,
        ]),
      ),
      run: (s) => parseOaiResponse(s as string),
      errors: ["OaiResponseError"],
    },
    {
      name: "certificate request",
      input: text([csr], ["-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----"]),
      run: (s) => signCsr(ca, s as string, { identity: { id: "fuzz-a", tier: Tier.MEMBER, region: "f" } }),
      errors: ["CsrError"],
    },
  ];
  return targets;
}

/** What is wrong with one run of a target on one input, or undefined when it behaved. */
export async function checkOne(target: FuzzTarget, input: unknown): Promise<string | undefined> {
  const started = performance.now();
  let problem: string | undefined;
  try {
    await target.run(input);
  } catch (err) {
    const e = err as Error;
    if (!(e instanceof Error)) problem = `threw a non-error: ${String(err)}`;
    else if (!target.errors.includes(e.name)) problem = `threw ${e.name}: ${e.message.slice(0, 300)}`;
    else if (!e.message.trim()) problem = `threw ${e.name} without a message`;
  }
  const ms = performance.now() - started;
  if (!problem && ms > FUZZ_TIME_LIMIT_MS)
    problem = `took ${Math.round(ms)} ms (limit ${FUZZ_TIME_LIMIT_MS} ms)`;
  return problem;
}

/** Inputs kept from earlier findings, by target name: they must keep behaving. */
export function regressionInputs(
  file: string,
): Record<string, Array<{ input: string; encoding: "base64" | "utf8" }>> {
  return JSON.parse(readFileSync(file, "utf8"));
}
