/**
 * Items from the holdings fields of bibliographic records, as library systems export them.
 *
 * Every built-in map makes one item per field that has a barcode; a field without one (an 852 that
 * only names a library, a 952 note) makes none. The fields items were made from are removed from
 * the stored record — as Koha and Evergreen do on import — so that the record sent to the union
 * catalog, and copied from it by other libraries, carries no local item data.
 *
 * Statuses use the federation's words where the export says enough ("available", "on_loan",
 * "lost", "missing", "withdrawn", "damaged", "on_order"); otherwise the system's own code,
 * lower-cased. An item nothing is said about is "available". Loan rules are the system's item type
 * code as it is ("BK", "SOUND"), "reference" or "non_circulating" where the export says so, and
 * "standard" when there is no item type. An item on loan carries its due date where the export has
 * one (Koha's 952 $q).
 */
import { readFileSync } from "node:fs";
import { type DataField, type HoldingData, isIsoDate, type MarcRecord } from "@lrs/shared";

/** Turns the holdings fields of one record into items. */
export interface HoldingsMap {
  /** Name shown in messages ("koha", "evergreen", "852", or the JSON file). */
  readonly name: string;
  /** Items from the record's holdings fields, and the record without the fields they came from. */
  extract(record: MarcRecord): { items: HoldingData[]; record: MarcRecord };
}

function sub(field: DataField, code: string): string | undefined {
  for (const sf of field.subfields) if (sf.code === code) return sf.value.trim();
  return undefined;
}

function subs(field: DataField, codes: string, sep: string): string {
  const out: string[] = [];
  for (const sf of field.subfields) {
    if (codes.includes(sf.code) && sf.value.trim() !== "") out.push(sf.value.trim());
  }
  return out.join(sep);
}

function isData(f: MarcRecord["fields"][number]): f is DataField {
  return "subfields" in f;
}

/** A map that reads one tag and makes one item per field with a barcode. */
function fieldMap(name: string, tag: string, item: (f: DataField) => HoldingData | undefined): HoldingsMap {
  return {
    name,
    extract(record) {
      const items: HoldingData[] = [];
      const used = new Set<DataField>();
      for (const f of record.fields) {
        if (f.tag !== tag || !isData(f)) continue;
        const h = item(f);
        if (h && h.barcode !== "") {
          items.push(h);
          used.add(f);
        }
      }
      if (used.size === 0) return { items, record };
      return { items, record: { ...record, fields: record.fields.filter((f) => !used.has(f as DataField)) } };
    },
  };
}

function nonZero(v: string | undefined): boolean {
  return v !== undefined && v !== "" && v !== "0";
}

/**
 * The calendar date a subfield gives, YYYY-MM-DD: the value itself, or its first ten characters
 * when a time follows ("2025-02-01 23:59:00", "2025-02-01T23:59:00"); undefined when it is not a
 * date.
 */
export function dateOf(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const day = v.slice(0, 10);
  if (v.length > 10 && v[10] !== " " && v[10] !== "T") return undefined;
  return isIsoDate(day) ? day : undefined;
}

/**
 * Koha, MARC 21 framework, field 952 (the default "Koha to MARC mapping" of the items table):
 * $p barcode; $o full call number; $a home library and $b holding library (branch codes), $c
 * shelving location → location "branch / shelving location" ($b, else $a); $y item type → loan
 * rule; status from $0 withdrawn, $1 lost (4 = missing in inventory, other non-zero values lost),
 * $4 damaged, $q date due (on loan), $7 not for loan (-1 ordered → "on_order"; positive values →
 * loan rule "non_circulating"). $q is Koha's items.onloan, which holds the due date of the current
 * checkout: any value means "on loan", and a date (YYYY-MM-DD, possibly with a time) is kept as
 * the item's due date.
 */
export const kohaMap: HoldingsMap = fieldMap("koha", "952", (f) => {
  const barcode = sub(f, "p") ?? "";
  const notForLoan = sub(f, "7");
  const lost = sub(f, "1");
  let status = "available";
  if (nonZero(sub(f, "0"))) status = "withdrawn";
  else if (nonZero(lost)) status = lost === "4" ? "missing" : "lost";
  else if (notForLoan === "-1") status = "on_order";
  else if (sub(f, "q")) status = "on_loan";
  else if (nonZero(sub(f, "4"))) status = "damaged";
  const dueDate = status === "on_loan" ? dateOf(sub(f, "q")) : undefined;
  const branch = sub(f, "b") || sub(f, "a") || "";
  const shelf = sub(f, "c") ?? "";
  const itemType = sub(f, "y") ?? "";
  const loanRule = notForLoan && Number(notForLoan) > 0 ? "non_circulating" : itemType || "standard";
  return {
    barcode,
    callNumber: sub(f, "o") ?? "",
    location: [branch, shelf].filter((s) => s !== "").join(" / "),
    status,
    loanRule,
    ...(dueDate ? { dueDate } : {}),
  };
});

const SIRSI_STATUS: Record<string, string> = {
  CHECKEDOUT: "on_loan",
  "CHECKED-OUT": "on_loan",
  MISSING: "missing",
  LOST: "lost",
  "LOST-ASSUM": "lost",
  "LOST-CLAIM": "lost",
  "LOST-PAID": "lost",
  DISCARD: "withdrawn",
  WITHDRAWN: "withdrawn",
  DAMAGED: "damaged",
  ON_ORDER: "on_order",
  "ON-ORDER": "on_order",
};

/**
 * Evergreen, field 949 as in Evergreen's own test datasets (jazz_1k.mrc, lul_fre_*.mrc: a
 * SirsiDynix Unicorn export loaded through a holdings import profile): $i barcode; $a call number;
 * $m library and $l shelving location → location "library / shelving location"; $k current
 * location when the item is not on the shelf (CHECKEDOUT, MISSING, LOST…, others lower-cased, e.g.
 * "bindery", "inprocess") → status; $t item type → loan rule ("REFERENCE" → "reference"), $r N
 * (does not circulate) → "non_circulating". $w (call number scheme), $c (copy), $p (price), $v,
 * $x and $o (notes) are not used. This layout has no due date: a checked-out item is "on_loan"
 * without one. Evergreen's import profiles are configurable: a library whose 949 differs (or
 * exports a due date) writes a JSON map.
 */
export const evergreenMap: HoldingsMap = fieldMap("evergreen", "949", (f) => {
  const current = (sub(f, "k") ?? "").toUpperCase();
  const itemType = sub(f, "t") ?? "";
  const circulates = (sub(f, "r") ?? "Y").toUpperCase() !== "N";
  let loanRule = itemType || "standard";
  if (itemType.toUpperCase() === "REFERENCE") loanRule = "reference";
  if (!circulates) loanRule = "non_circulating";
  return {
    barcode: sub(f, "i") ?? "",
    callNumber: sub(f, "a") ?? "",
    location: [sub(f, "m"), sub(f, "l")].filter((s) => s).join(" / "),
    status: current === "" ? "available" : (SIRSI_STATUS[current] ?? current.toLowerCase()),
    loanRule,
  };
});

/**
 * MARC 21 852 (Location): $p piece designation (barcode); call number from $k prefix, $h
 * classification part, $i item part, $m suffix — or $j shelving control number when there is no
 * $h; location "$b / $c" (sublocation or collection / shelving location). 852 has no status and no
 * due date; items are "available" with loan rule "standard".
 */
export const marc852Map: HoldingsMap = fieldMap("852", "852", (f) => {
  const classed = sub(f, "h") !== undefined;
  return {
    barcode: sub(f, "p") ?? "",
    callNumber: classed ? subs(f, "khim", " ") : subs(f, "kjm", " "),
    location: subs(f, "bc", " / "),
    status: "available",
    loanRule: "standard",
  };
});

/**
 * The default: for each record, the first of Koha 952, Evergreen 949 and 852 that yields an item
 * with a barcode. Fields of the other kinds stay in the record.
 */
export const autoMap: HoldingsMap = {
  name: "auto",
  extract(record) {
    for (const m of [kohaMap, evergreenMap, marc852Map]) {
      const r = m.extract(record);
      if (r.items.length > 0) return r;
    }
    return { items: [], record };
  },
};

/** Reads no holdings fields: items come only from a CSV file, or not at all. */
export const noneMap: HoldingsMap = { name: "none", extract: (record) => ({ items: [], record }) };

/**
 * A mapping written as JSON, for exports the built-in maps do not describe:
 *
 * ```json
 * { "tag": "949", "barcode": "i", "callNumber": "a", "location": "ml", "status": "k",
 *   "loanRule": "t", "dueDate": "d", "statusValues": { "CHECKEDOUT": "on_loan" },
 *   "loanRuleValues": { "REF": "reference" }, "keepFields": false }
 * ```
 *
 * `tag` and `barcode` (one subfield code) are required. `dueDate` is one subfield code too: its
 * value, when it is a date (YYYY-MM-DD, possibly with a time after it), is the item's due date,
 * and an item with a due date and no status is "on_loan". `callNumber`, `location`, `status` and
 * `loanRule` are strings of subfield codes whose values are joined in field order (call number
 * with a space, location with " / ", the others with a space). `statusValues` / `loanRuleValues` translate
 * values (exact match, else the value as it is); an empty status is "available" and an empty loan
 * rule "standard". With `keepFields: true` the holdings fields stay in the stored record.
 */
export interface HoldingsMapSpec {
  tag: string;
  barcode: string;
  callNumber?: string;
  location?: string;
  status?: string;
  loanRule?: string;
  dueDate?: string;
  statusValues?: Record<string, string>;
  loanRuleValues?: Record<string, string>;
  keepFields?: boolean;
}

/** Thrown when a mapping file cannot be used; the message says why. */
export class HoldingsMapError extends Error {
  override readonly name = "HoldingsMapError";
}

const SPEC_KEYS = new Set([
  "tag",
  "barcode",
  "callNumber",
  "location",
  "status",
  "loanRule",
  "dueDate",
  "statusValues",
  "loanRuleValues",
  "keepFields",
]);

/** Checks a parsed JSON mapping; `source` names it in messages. */
export function parseHoldingsMapSpec(value: unknown, source: string): HoldingsMapSpec {
  const fail = (why: string): never => {
    throw new HoldingsMapError(`holdings map ${source}: ${why}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("expected a JSON object");
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!SPEC_KEYS.has(k)) fail(`unknown key "${k}"`);
  if (typeof o.tag !== "string" || !/^\d{3}$/.test(o.tag) || o.tag < "010") {
    fail('"tag" must be a data field tag such as "949"');
  }
  if (typeof o.barcode !== "string" || o.barcode.length !== 1)
    fail('"barcode" must be one subfield code such as "p"');
  if (o.dueDate !== undefined && (typeof o.dueDate !== "string" || o.dueDate.length !== 1))
    fail('"dueDate" must be one subfield code such as "q"');
  for (const k of ["callNumber", "location", "status", "loanRule"]) {
    if (o[k] !== undefined && typeof o[k] !== "string") fail(`"${k}" must be a string of subfield codes`);
  }
  for (const k of ["statusValues", "loanRuleValues"]) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== "object" || v === null || Array.isArray(v)) fail(`"${k}" must be an object of strings`);
    for (const x of Object.values(v as object))
      if (typeof x !== "string") fail(`"${k}" must be an object of strings`);
  }
  if (o.keepFields !== undefined && typeof o.keepFields !== "boolean")
    fail('"keepFields" must be true or false');
  return o as unknown as HoldingsMapSpec;
}

/** A {@link HoldingsMap} from a {@link HoldingsMapSpec}. */
export function specMap(spec: HoldingsMapSpec, name: string): HoldingsMap {
  const translate = (v: string, table: Record<string, string> | undefined) => table?.[v] ?? v;
  const map = fieldMap(name, spec.tag, (f) => {
    const status = subs(f, spec.status ?? "", " ");
    const loanRule = subs(f, spec.loanRule ?? "", " ");
    const dueDate = spec.dueDate ? dateOf(sub(f, spec.dueDate)) : undefined;
    return {
      barcode: sub(f, spec.barcode) ?? "",
      callNumber: subs(f, spec.callNumber ?? "", " "),
      location: subs(f, spec.location ?? "", " / "),
      status: status === "" ? (dueDate ? "on_loan" : "available") : translate(status, spec.statusValues),
      loanRule: loanRule === "" ? "standard" : translate(loanRule, spec.loanRuleValues),
      ...(dueDate ? { dueDate } : {}),
    };
  });
  if (!spec.keepFields) return map;
  return { name, extract: (record) => ({ items: map.extract(record).items, record }) };
}

/** The names `--holdings-map` accepts besides a JSON file. */
export const BUILTIN_MAPS = ["auto", "koha", "evergreen", "852", "none"] as const;

/** Resolves `--holdings-map`: a built-in name or the path of a JSON mapping. */
export function resolveHoldingsMap(nameOrFile: string): HoldingsMap {
  switch (nameOrFile) {
    case "auto":
      return autoMap;
    case "koha":
      return kohaMap;
    case "evergreen":
      return evergreenMap;
    case "852":
      return marc852Map;
    case "none":
      return noneMap;
  }
  let text: string;
  try {
    text = readFileSync(nameOrFile, "utf8");
  } catch (err) {
    throw new HoldingsMapError(
      `holdings map ${JSON.stringify(nameOrFile)} is neither ${BUILTIN_MAPS.join(", ")} nor a readable JSON file (${(err as Error).message})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new HoldingsMapError(`holdings map ${nameOrFile}: not valid JSON (${(err as Error).message})`);
  }
  return specMap(parseHoldingsMapSpec(json, nameOrFile), nameOrFile);
}
