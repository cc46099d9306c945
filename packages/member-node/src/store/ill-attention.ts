// The member's ILL requests that need someone to look at them, for its traffic health report (the
// national dashboard's "needs attention" panel): loans past their due date, requests that have not
// moved for a week, and requests the engine marked for staff. Read-only over the ILL tables.
import { create, fromBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Database, ill, illPb, trafficPb } from "@lrs/shared";

/** An open request that has not changed for this long is stale (unless an item is out: then its due date counts). */
export const STALE_AFTER_MS = 7 * 86_400_000;
/** A note for staff older than this is no longer news. */
const ATTENTION_WITHIN_MS = 30 * 86_400_000;
/** Requests listed in a report (the counts cover them all). */
export const ATTENTION_LISTED = 10;

const TERMINAL = [
  ...ill.REQUESTER_STATES.filter((s) => ill.requesterMachine.states[s].terminal),
  ...ill.SUPPLIER_STATES.filter((s) => ill.supplierMachine.states[s].terminal),
];
/** States in which the item is out: late means past the due date, not unchanged. */
const ITEM_OUT = [
  "shipped",
  "received",
  "renew_pending",
  "overdue",
  "recalled",
  "received_by_borrower",
  "renew_requested",
];

interface Row {
  id: string;
  role: string;
  state: string;
  partner: string | null;
  bibliographic_info: Buffer;
  due_date: string | null;
  attention: string | null;
  last_transition_at: string;
  updated_at: string;
  reason: "overdue" | "attention" | "stale";
}

export interface IllAttention {
  open: number;
  overdue: number;
  stale: number;
  attention: number;
  items: trafficPb.AttentionItem[];
}

const list = (xs: readonly string[]) => xs.map((s) => `'${s}'`).join(", ");

/** Counts and the first few of the member's requests that need attention, as of `now`. */
export function illAttention(db: Database, now = new Date()): IllAttention {
  const nowIso = now.toISOString();
  const staleIso = new Date(now.getTime() - STALE_AFTER_MS).toISOString();
  const recentIso = new Date(now.getTime() - ATTENTION_WITHIN_MS).toISOString();
  const open = `state NOT IN (${list(TERMINAL)})`;
  const out = `state IN (${list(ITEM_OUT)})`;
  const overdue = `${open} AND (state = 'overdue' OR (${out} AND due_date IS NOT NULL AND due_date < @now))`;
  const stale = `${open} AND NOT (${out}) AND last_transition_at < @stale`;
  const attention = `attention IS NOT NULL AND updated_at >= @recent`;
  const params = { now: nowIso, stale: staleIso, recent: recentIso };
  const count = (where: string) =>
    (db.sqlite.prepare(`SELECT count(*) AS n FROM ill_requests WHERE ${where}`).get(params) as { n: number })
      .n;
  const rows = db.sqlite
    .prepare(
      `SELECT *, CASE WHEN ${overdue} THEN 'overdue' WHEN ${attention} THEN 'attention' ELSE 'stale' END AS reason
       FROM ill_requests WHERE (${overdue}) OR (${attention}) OR (${stale})
       ORDER BY CASE WHEN ${overdue} THEN 0 WHEN ${attention} THEN 1 ELSE 2 END, updated_at
       LIMIT ${ATTENTION_LISTED}`,
    )
    .all(params) as Row[];
  return {
    open: count(open),
    overdue: count(overdue),
    stale: count(stale),
    attention: count(attention),
    items: rows.map((r) => {
      let title = "";
      try {
        title = fromBinary(illPb.BibliographicInfoSchema, r.bibliographic_info).title;
      } catch {
        // An unreadable record: the id is enough to find it.
      }
      const since =
        r.reason === "overdue" && r.due_date
          ? r.due_date
          : r.reason === "attention"
            ? r.updated_at
            : r.last_transition_at;
      return create(trafficPb.AttentionItemSchema, {
        requestId: r.id,
        role: r.role,
        status: r.state,
        partner: r.partner ?? "",
        title,
        reason: r.reason,
        note:
          r.reason === "overdue"
            ? `due ${r.due_date?.slice(0, 10) ?? "date passed"}`
            : r.reason === "attention"
              ? (r.attention ?? "")
              : `unchanged since ${r.last_transition_at.slice(0, 10)}`,
        since: timestampFromDate(new Date(since)),
      });
    }),
  };
}
