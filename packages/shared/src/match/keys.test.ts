import { beforeAll, describe, expect, it } from "vitest";
import { controlValue, subfieldValues } from "../marc/fields.js";
import { readMarcFile } from "../marc/read-marc-file.js";
import type { DataField, MarcRecord } from "../marc/record.js";
import { identifiersConflict, type MatchKeys, matchKeys, recordCompleteness } from "./keys.js";

// The sample data at the repository root; positions are 0-based, as in data/marc/OVERLAPS.md.
const DATA = new URL("../../../../data/marc/", import.meta.url);
const FILES = [
  "solrmarc-uva/uva_001_2000.mrc",
  "traject/test_data.utf8.mrc",
  "folio-mod-data-import/CornellFOLIOExemplars.mrc",
  "folio-mod-data-import/100.mrc",
  "folio-mod-data-import/UChicago_SampleBibs-distinct.xml",
  "lc-marc2bibframe2/loc_general.xml",
  "lc-marc2bibframe2/nlm.xml",
  "lc-marc2bibframe2/princeton.xml",
] as const;
type SampleFile = (typeof FILES)[number];

const records = new Map<SampleFile, MarcRecord[]>();

async function readAll(file: SampleFile): Promise<MarcRecord[]> {
  const out: MarcRecord[] = [];
  for await (const result of readMarcFile(new URL(file, DATA).pathname)) {
    if (!result.ok) throw result.error;
    out.push(result.record);
  }
  return out;
}

function rec(file: SampleFile, position: number): MarcRecord {
  const r = records.get(file)?.[position];
  if (!r) throw new Error(`no record ${file} #${position}`);
  return r;
}

/**
 * Clusters every sample record by the union catalog's rules (union/clustering.ts): records that
 * share a strong key end up together, transitively, and so do records with one fuzzy key unless
 * their identifiers conflict or one institution catalogued both — here the cataloging agency in
 * 040 $a stands for the institution. Returns the cluster id of each "file#position".
 */
function clusterAll(): Map<string, string> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let root = x;
    while (parent.get(root) !== root) root = parent.get(root)!;
    parent.set(x, root);
    return root;
  };
  const union = (a: string, b: string) => parent.set(find(a), find(b));
  const owner = new Map<string, string>();
  const fuzzyOwners = new Map<string, { id: string; keys: MatchKeys; agency: string | undefined }[]>();
  for (const [file, recs] of records) {
    recs.forEach((r, i) => {
      const id = `${file}#${i}`;
      parent.set(id, id);
      const keys = matchKeys(r);
      for (const key of keys.strong) {
        const other = owner.get(key);
        if (other === undefined) owner.set(key, id);
        else union(id, other);
      }
      if (keys.fuzzy === undefined) return;
      const agency = subfieldValues(r, "040", "a")[0];
      const seen = fuzzyOwners.get(keys.fuzzy) ?? [];
      for (const other of seen) {
        if (other.agency !== agency && !identifiersConflict(keys, other.keys)) union(id, other.id);
      }
      fuzzyOwners.set(keys.fuzzy, [...seen, { id, keys, agency }]);
    });
  }
  return new Map([...parent.keys()].map((id) => [id, find(id)]));
}

beforeAll(async () => {
  for (const file of FILES) records.set(file, await readAll(file));
});

describe("matchKeys on real records", () => {
  it("takes each identifier once, in the order oclc, lccn, isbn, issn", () => {
    // Two 035s with one OCLC number, an ISBN-13 and the same ISBN-10.
    const strongMedicine = rec("traject/test_data.utf8.mrc", 22);
    expect(controlValue(strongMedicine, "001")?.trim()).toBe("2007020969");
    expect(matchKeys(strongMedicine)).toEqual({
      strong: ["oclc:137335139", "lccn:2007020969", "isbn:9780743297790"],
      fuzzy:
        "a|strong medicine speaks a native american elder has her say an oral history|hearth amy hill|2008||atria",
    });
    expect(matchKeys(rec("folio-mod-data-import/UChicago_SampleBibs-distinct.xml", 4)).strong).toEqual([
      "oclc:1041204177",
      "lccn:2018367698",
      "isbn:9791126001774",
    ]);
    expect(matchKeys(rec("solrmarc-uva/uva_001_2000.mrc", 226)).strong).toEqual([
      "oclc:10697806",
      "lccn:sn84012147",
      "issn:0174-1578",
    ]);
  });

  it("leaves out cancelled numbers and other systems' 035s", () => {
    // 010 $z 2000314247 is a cancelled LCCN.
    expect(matchKeys(rec("traject/test_data.utf8.mrc", 28)).strong).toEqual([
      "oclc:40868083",
      "lccn:2008543486",
      "isbn:9784588460050",
    ]);
    // 020 $z only; "(Sirsi) o10696817" and "DL(OCoLC)10696817" are local.
    expect(matchKeys(rec("solrmarc-uva/uva_001_2000.mrc", 114)).strong).toEqual([
      "oclc:10696817",
      "lccn:84047775",
    ]);
    expect(matchKeys(rec("solrmarc-uva/uva_001_2000.mrc", 115)).strong).toEqual(["lccn:84047775"]);
  });

  it("builds the fuzzy key from title, author, year, edition and publisher", () => {
    expect(matchKeys(rec("lc-marc2bibframe2/nlm.xml", 87)).fuzzy).toBe(
      "a|bau und funktion tierischer zellen|klug herbert|1965|3|ziemsen",
    );
    // 245 second indicator 4: "The " is not filed on.
    expect(matchKeys(rec("solrmarc-uva/uva_001_2000.mrc", 564)).fuzzy).toBe(
      "a|collected stories|thomas dylan|1984||new directions",
    );
  });

  it("gives rare and unique material no fuzzy key", () => {
    // Three editions of Donatus, Ars minor, all "[Netherlands : Prototypography, about 1465-1480]".
    for (const i of [29, 30, 31])
      expect(matchKeys(rec("lc-marc2bibframe2/princeton.xml", i)).fuzzy).toBeUndefined();
  });
});

describe("clusters of the sample data (data/marc/OVERLAPS.md)", () => {
  let cluster: Map<string, string>;
  beforeAll(() => {
    cluster = clusterAll();
  });
  const same = (a: string, b: string) => expect(cluster.get(a), `${a} with ${b}`).toBe(cluster.get(b));
  const apart = (a: string, b: string) =>
    expect(cluster.get(a), `${a} apart from ${b}`).not.toBe(cluster.get(b));

  it("merges records of one manifestation", () => {
    const uva = "solrmarc-uva/uva_001_2000.mrc";
    same(`${uva}#114`, `${uva}#115`);
    same(`${uva}#185`, `${uva}#186`);
    same(`${uva}#660`, `${uva}#661`);
    same(`${uva}#1659`, `${uva}#1660`);
    // Two libraries (DLC-R, UIU), no shared identifier: the fuzzy key.
    same("traject/test_data.utf8.mrc#3", "traject/test_data.utf8.mrc#28");
  });

  it("leaves one library's look-alike records apart although their fuzzy keys are equal", () => {
    const hundred = "folio-mod-data-import/100.mrc";
    expect(matchKeys(rec(hundred, 87)).fuzzy).toBe(matchKeys(rec(hundred, 88)).fuzzy);
    // Volumes 1 and 2 of one Serial Set document: only 246 "v. 1" / "v. 2" tells them apart.
    apart(`${hundred}#87`, `${hundred}#88`);
    const uva = "solrmarc-uva/uva_001_2000.mrc";
    expect(matchKeys(rec(uva, 1297)).fuzzy).toBe(matchKeys(rec(uva, 1304)).fuzzy);
    apart(`${uva}#1297`, `${uva}#1304`);
  });

  it("keeps look-alikes apart", () => {
    const uva = "solrmarc-uva/uva_001_2000.mrc";
    apart(`${uva}#166`, `${uva}#564`);
    apart(`${uva}#1297`, `${uva}#1301`);
    apart(`${uva}#1666`, `${uva}#1670`);
    apart(`${uva}#226`, `${uva}#231`);
    const loc = "lc-marc2bibframe2/loc_general.xml";
    apart(`${loc}#80`, `${loc}#93`);
    apart(`${loc}#80`, `${loc}#96`);
    apart(`${loc}#93`, `${loc}#96`);
    const nlm = "lc-marc2bibframe2/nlm.xml";
    apart(`${nlm}#34`, `${nlm}#35`);
    apart(`${nlm}#35`, `${nlm}#36`);
    apart(`${nlm}#1`, `${nlm}#2`);
    apart(`${nlm}#58`, `${nlm}#59`);
    apart(`${nlm}#86`, `${nlm}#87`);
    const pu = "lc-marc2bibframe2/princeton.xml";
    apart(`${pu}#29`, `${pu}#30`);
    apart(`${pu}#29`, `${pu}#31`);
    apart(`${pu}#3`, `${pu}#4`);
  });

  it("forms no cluster larger than the known ones", () => {
    const sizes = new Map<string, number>();
    for (const root of cluster.values()) sizes.set(root, (sizes.get(root) ?? 0) + 1);
    expect(Math.max(...sizes.values())).toBe(2);
    expect([...sizes.values()].filter((n) => n === 2)).toHaveLength(5);
  });
});

function field(tag: string, ind2: string, subfields: [string, string][]): DataField {
  return { tag, ind1: " ", ind2, subfields: subfields.map(([code, value]) => ({ code, value })) };
}

function synthetic(leader: string, fields: MarcRecord["fields"]): MarcRecord {
  return { leader, fields };
}

describe("identifiersConflict", () => {
  it("vetoes a fuzzy merge when ISBNs or ISSNs disagree, not LCCNs or OCLC numbers", () => {
    const fuzzy = "a|pride and prejudice|austen jane|2003||penguin";
    const hardcover = { strong: ["isbn:9780141439518"], fuzzy };
    expect(identifiersConflict(hardcover, { strong: ["isbn:9780141040349"], fuzzy })).toBe(true);
    expect(
      identifiersConflict(hardcover, { strong: ["isbn:9780141040349", "isbn:9780141439518"], fuzzy }),
    ).toBe(false);
    expect(identifiersConflict(hardcover, { strong: ["lccn:2003265779"], fuzzy })).toBe(false);
    expect(identifiersConflict({ strong: ["issn:0174-1578"] }, { strong: ["issn:0340-7594"] })).toBe(true);
    const kubo = (i: number) => matchKeys(rec("traject/test_data.utf8.mrc", i));
    expect(identifiersConflict(kubo(3), kubo(28))).toBe(false);
  });
});

describe("thin records", () => {
  const leader = "00000cam a2200000 a 4500";
  const f008 = (date: string, type = "s") => ({
    tag: "008",
    value: `840216${type}${date}    xx            000 0 eng d`,
  });

  it("have no fuzzy key without a title or with a short title and nothing else", () => {
    expect(matchKeys(synthetic(leader, [])).fuzzy).toBeUndefined();
    expect(matchKeys(synthetic(leader, [field("245", "0", [["a", "Poems."]])])).fuzzy).toBeUndefined();
    expect(matchKeys(synthetic(leader, [field("245", "0", [["a", "   ..."]])])).fuzzy).toBeUndefined();
  });

  it("get one when an author, a year or a long title makes up for it", () => {
    expect(matchKeys(synthetic(leader, [f008("1984"), field("245", "0", [["a", "Poems."]])])).fuzzy).toBe(
      "a|poems||1984||",
    );
    expect(
      matchKeys(
        synthetic(leader, [field("100", " ", [["a", "Eliot, T. S."]]), field("245", "0", [["a", "Poems."]])]),
      ).fuzzy,
    ).toBe("a|poems|eliot t s|||");
    expect(
      matchKeys(synthetic(leader, [field("245", "0", [["a", "Collected poems of the Lake District"]])]))
        .fuzzy,
    ).toBe("a|collected poems of the lake district||||");
    // Ten CJK characters count as twenty.
    expect(
      matchKeys(synthetic(leader, [field("245", "0", [["a", "民國時期文獻資料海外拾"]])])).fuzzy,
    ).toBeDefined();
  });

  it("withhold the fuzzy key for manuscripts, questionable dates and hand-press books", () => {
    const title = field("245", "0", [["a", "Sermons on several occasions"]]);
    expect(matchKeys(synthetic("00000ctm a2200000 a 4500", [f008("1890"), title])).fuzzy).toBeUndefined();
    expect(matchKeys(synthetic(leader, [f008("1890", "q"), title])).fuzzy).toBeUndefined();
    expect(matchKeys(synthetic(leader, [f008("1750"), title])).fuzzy).toBeUndefined();
    expect(matchKeys(synthetic(leader, [f008("1890"), title])).fuzzy).toBe(
      "a|sermons on several occasions||1890||",
    );
  });
});

describe("recordCompleteness", () => {
  it("ranks by encoding level first", () => {
    const base = rec("traject/test_data.utf8.mrc", 28);
    const at = (level: string) =>
      recordCompleteness({ ...base, leader: base.leader.slice(0, 17) + level + base.leader.slice(18) });
    const order = [" ", "4", "I", "7", "K", "5", "u"].map(at);
    expect(order[0]).toBeGreaterThan(order[1]!);
    expect(order[1]).toBe(order[2]);
    expect(order[2]).toBeGreaterThan(order[3]!);
    expect(order[3]).toBe(order[4]);
    expect(order[4]).toBeGreaterThan(order[5]!);
    expect(order[5]).toBe(order[6]);
  });

  it("prefers the fuller record of a real cluster", () => {
    // Kubo Sakae: DLC-R's preliminary record (leader/17 "5") against UIU's ("4") with ISBN and OCLC.
    expect(recordCompleteness(rec("traject/test_data.utf8.mrc", 28))).toBeGreaterThan(
      recordCompleteness(rec("traject/test_data.utf8.mrc", 3)),
    );
    // A full-level record with a title and nothing else still beats UIU's long one.
    const bare = synthetic("00000cam a2200000 a 4500", [field("245", "0", [["a", "Kubo Sakae"]])]);
    expect(recordCompleteness(bare)).toBeGreaterThan(
      recordCompleteness(rec("traject/test_data.utf8.mrc", 28)),
    );
  });

  it("counts 880s and subjects within a level", () => {
    const base = rec("traject/test_data.utf8.mrc", 28);
    const without880 = { ...base, fields: base.fields.filter((f) => f.tag !== "880") };
    expect(recordCompleteness(base)).toBeGreaterThan(recordCompleteness(without880));
    expect(recordCompleteness(base) - recordCompleteness(without880)).toBeLessThan(1000);
  });
});
