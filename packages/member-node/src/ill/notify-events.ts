// The member's ILL events that staff can be notified of, read from the requests' timelines
// (ill_transitions, in the order written) after a cursor: a new lending request, a request that
// needs attention, an item that arrived, an overdue, a copy ready to download.
import { type Database, ill } from "@lrs/shared";
import type { NotifyEvent, NotifyEventSource, NotifyKind } from "@lrs/web";
import type { TransitionDetail } from "./request.js";
import type { Row, TransitionRow } from "./request-row.js";
import { fromBib } from "./request-row.js";

/** States in which a request waits for this library's staff (besides what the store marks). */
const WAITS_FOR_STAFF: Record<"borrower" | "lender", readonly string[]> = {
  borrower: ["conditional"],
  lender: ["renew_requested", "cancel_requested"],
};

/** What a timeline entry is for staff notifications, if anything. */
export function notifyKindOf(
  t: TransitionRow,
  role: "borrower" | "lender",
  detail: TransitionDetail,
): NotifyKind | undefined {
  if (t.from_state === null) return role === "lender" ? "lending_request" : undefined;
  const into = (state: string) => t.to_state === state && t.from_state !== state;
  if (t.event === "due_date_passed" || into("overdue")) return "overdue";
  if (role === "borrower" && into("received")) return "arrived";
  if (role === "borrower" && into("copy_completed")) return "copy_ready";
  if (detail.attention || WAITS_FOR_STAFF[role].some(into)) return "attention";
  return undefined;
}

function describe(role: "borrower" | "lender", state: string): string {
  const states = (role === "borrower" ? ill.requesterMachine.states : ill.supplierMachine.states) as Record<
    string,
    { describe: string }
  >;
  return states[state]?.describe ?? state;
}

/** The notifier's view of the member's ILL timelines; the cursor is the last transition's seq. */
export function illNotifyEvents(db: Database): NotifyEventSource {
  const after = db.sqlite.prepare(
    `SELECT t.*, r.role, r.partner, r.bibliographic_info, r.note FROM ill_transitions t
       JOIN ill_requests r ON r.id = t.request_id
     WHERE t.seq > ? ORDER BY t.seq LIMIT ?`,
  );
  const last = db.sqlite.prepare("SELECT coalesce(max(seq), 0) AS seq FROM ill_transitions");
  return {
    read(cursor, limit) {
      // The first read starts from now: what happened before notifications existed is not news.
      if (cursor === "") return { events: [], cursor: String((last.get() as { seq: number }).seq) };
      const rows = after.all(Number(cursor), limit) as Array<
        TransitionRow & Pick<Row, "role" | "partner" | "bibliographic_info" | "note">
      >;
      const events: NotifyEvent[] = [];
      for (const r of rows) {
        const detail = JSON.parse(r.detail) as TransitionDetail;
        const kind = notifyKindOf(r, r.role, detail);
        if (!kind) continue;
        const partner = r.partner ?? "";
        const title = fromBib(r.bibliographic_info).title;
        const text =
          kind === "lending_request"
            ? `${partner || "a library"} asks to borrow this${r.note ? ` (note: ${r.note})` : ""}`
            : (detail.attention ?? detail.note ?? describe(r.role, r.to_state));
        events.push({
          kind,
          requestId: r.request_id,
          role: r.role,
          title,
          partner,
          state: r.to_state,
          text,
          ...(kind === "lending_request" && r.note ? { note: r.note } : {}),
          at: r.at,
        });
      }
      return { events, cursor: String(rows.at(-1)?.seq ?? Number(cursor)) };
    },
  };
}
