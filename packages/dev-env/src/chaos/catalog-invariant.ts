// The union catalogs' invariant: once sync has settled, every regional center holds exactly the
// records its members hold, and the national center every member's — the same record ids per
// institution (a deleted record gone everywhere) and, per record, the same copies with the same
// status and due date. Read from the nodes' own databases (read-only; SQLite's WAL lets a reader
// in beside the running node), so that nothing is left out the way a count would leave it.
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { Federation } from "../federation.js";

/** institution → record id → the record's copies, each "barcode status due-date", sorted. */
type Holdings = Map<string, Map<string, string>>;

const copy = (barcode: string, status: string, due: string | null | undefined) =>
  `${barcode} ${status}${due ? ` due ${due}` : ""}`;

function read<T>(fed: Federation, id: string, fn: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(join(fed.node(id).dataDir, "node.db"), {
    readonly: true,
    fileMustExist: true,
  });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** What a member holds: its records and their items. */
function memberHoldings(fed: Federation, member: string): Map<string, string> {
  return read(fed, member, (db) => {
    const out = new Map<string, string[]>();
    for (const r of db.prepare("SELECT record_id FROM catalog_records").all() as Array<{ record_id: string }>)
      out.set(r.record_id, []);
    const items = db
      .prepare("SELECT record_id, barcode, status, due_date FROM catalog_items")
      .all() as Array<{ record_id: string; barcode: string; status: string; due_date: string | null }>;
    for (const i of items) out.get(i.record_id)?.push(copy(i.barcode, i.status, i.due_date));
    return new Map([...out].map(([id, copies]) => [id, copies.sort().join(", ")]));
  });
}

/** What a union catalog holds, per institution. */
function unionHoldings(fed: Federation, center: string): Holdings {
  return read(fed, center, (db) => {
    const out: Holdings = new Map();
    const rows = db.prepare("SELECT institution_id, record_id, holdings FROM union_records").all() as Array<{
      institution_id: string;
      record_id: string;
      holdings: string;
    }>;
    for (const r of rows) {
      const copies = (
        JSON.parse(r.holdings) as Array<{ barcode: string; status: string; dueDate?: string }>
      ).map((h) => copy(h.barcode, h.status, h.dueDate));
      const mine = out.get(r.institution_id) ?? new Map<string, string>();
      out.set(r.institution_id, mine);
      mine.set(r.record_id, copies.sort().join(", "));
    }
    return out;
  });
}

/** At most this many differences are named per catalog and institution; the rest are counted. */
const NAMED = 8;

/**
 * Each union catalog (`centers`: center → the members whose records it must hold) compared with
 * the members' own catalogs, record by record. Returns a sentence per difference.
 */
export function checkUnionCatalogs(
  fed: Federation,
  centers: ReadonlyMap<string, readonly string[]>,
): string[] {
  const members = new Set([...centers.values()].flat());
  const held = new Map([...members].map((m) => [m, memberHoldings(fed, m)]));
  const out: string[] = [];
  for (const [center, ms] of centers) {
    const union = unionHoldings(fed, center);
    for (const inst of union.keys())
      if (!ms.includes(inst))
        out.push(`${center} holds ${union.get(inst)!.size} record(s) of ${inst}, not one of its members`);
    for (const m of ms) {
      const mine = held.get(m)!;
      const theirs = union.get(m) ?? new Map<string, string>();
      const diffs: string[] = [];
      for (const [id, copies] of mine) {
        const u = theirs.get(id);
        if (u === undefined) diffs.push(`${center} lacks ${m}'s record ${id}`);
        else if (u !== copies)
          diffs.push(`${center} has ${m}'s record ${id} with copies [${u}], ${m} [${copies}]`);
      }
      for (const id of theirs.keys())
        if (!mine.has(id)) diffs.push(`${center} still holds ${m}'s record ${id}, which ${m} no longer has`);
      out.push(...diffs.slice(0, NAMED));
      if (diffs.length > NAMED) out.push(`${center}: ${diffs.length - NAMED} more difference(s) with ${m}`);
    }
  }
  return out;
}
