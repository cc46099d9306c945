import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { ill, type illServicePb, printTable } from "@lrs/shared";
import { humanMs, humanSeconds, type TurnaroundReport } from "../../ill/report.js";
import { formatCopy } from "../delivery.js";

import { AVAILABILITY_WORD, articleJson } from "./json.js";

/** "2025-03-10 09:00:00Z" */
function when(ts: Timestamp | undefined): string {
  return ts
    ? timestampDate(ts)
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z")
    : "-";
}

function day(ts: Timestamp | undefined): string {
  return ts ? timestampDate(ts).toISOString().slice(0, 10) : "-";
}

function describeState(r: illServicePb.StaffRequest): string {
  const states: Readonly<Record<string, { describe: string }>> =
    r.role === "borrower" ? ill.requesterMachine.states : ill.supplierMachine.states;
  const info = Object.hasOwn(states, r.status) ? states[r.status] : undefined;
  return info ? `${r.status} (${info.describe})` : r.status;
}

function titleLine(r: illServicePb.StaffRequest): string {
  if (r.title === "") return r.clusterId || "-";
  return r.author ? `${r.title} / ${r.author}` : r.title;
}

function nextLine(r: illServicePb.StaffRequest): string {
  return r.actions.length === 0
    ? "next: nothing for staff to do"
    : `next: ${r.actions.join(", ")}   (lrs-member ill <action> ${r.id})`;
}

/** Writes the lines of a request as `ill show` prints it. */
export function formatRequest(r: illServicePb.StaffRequest): string {
  const out: string[] = [];
  const field = (name: string, value: string) => out.push(`${name.padEnd(13)}${value}`);
  out.push(`ILL request ${r.id}  (${r.role}, ${r.type || "?"})`);
  field("status", describeState(r));
  field("title", titleLine(r));
  if (r.clusterId) field("cluster", r.clusterId);
  field(r.role === "borrower" ? "lender" : "borrower", r.partner || "-");
  if (r.patronId) field("patron", r.patronId);
  if (r.needBefore) field("need before", day(r.needBefore));
  if (r.dueDate) field("due", when(r.dueDate));
  if (r.dueDate || r.renewalsUsed > 0) field("renewals", `${r.renewalsUsed} of ${r.maxRenewals}`);
  if (r.supplierStatus) field("lender says", r.supplierStatus);
  if (r.requestingAgencyRequestId || r.supplyingAgencyRequestId)
    field(
      "ISO ids",
      `requester ${r.requestingAgencyRequestId || "-"}, supplier ${r.supplyingAgencyRequestId || "-"}`,
    );
  if (r.duplicateOf) field("duplicate of", r.duplicateOf);
  const article = articleJson(r.bibliographicInfo);
  if (article) {
    const where = [
      article.volume ? `vol. ${article.volume}` : "",
      article.issue ? `no. ${article.issue}` : "",
      article.pages ? `pp. ${article.pages}` : "",
    ].filter(Boolean);
    field("article", [article.title ?? "-", article.author].filter(Boolean).join(" / "));
    if (where.length > 0) field("", where.join(", "));
  }
  const ids = (r.bibliographicInfo?.bibliographicItemId ?? []).map(
    (i) => `${i.bibliographicItemIdentifierCode} ${i.bibliographicItemIdentifier}`,
  );
  if (ids.length > 0) field("identifiers", ids.join(", "));
  if (r.note) field("note", r.note);
  field("created", `${when(r.createdAt)}, updated ${when(r.updatedAt)}`);
  if (r.attention) field("ATTENTION", r.attention);

  const lender = (c: illServicePb.RotaCandidate) => {
    const bits = [
      c.agencyId.padEnd(16),
      (c.region || "-").padEnd(8),
      (AVAILABILITY_WORD[c.availability] ?? "-").padEnd(13),
      c.responseTimeSeconds ? `answers within ${humanSeconds(c.responseTimeSeconds)}` : "",
    ];
    return `${bits.join(" ").trimEnd()}${c.reason ? ` — ${c.reason}` : ""}`;
  };
  if (r.rota.length > 0) {
    const asked = r.rotaPosition >= 0 ? `, asking ${r.rotaPosition + 1} of ${r.rota.length}` : "";
    out.push("", `rota (${r.rota.length} lender${r.rota.length === 1 ? "" : "s"}${asked})`);
    r.rota.forEach((c, i) => {
      const mark = r.role === "borrower" && i === r.rotaPosition ? ">" : " ";
      out.push(`  ${mark} ${String(i + 1).padStart(2)}. ${lender(c)}`);
    });
  }
  if (r.excluded.length > 0) {
    out.push("", "left out of the rota");
    for (const c of r.excluded) out.push(`        ${lender(c)}`);
  }
  if (r.timeline.length > 0) {
    out.push("", "timeline");
    for (const t of r.timeline) {
      const move = `${t.from || "·"} → ${t.to}`;
      const extra = [t.repeated ? "(repeated status)" : "", t.note ? `"${t.note}"` : ""].filter(Boolean);
      out.push(`  ${when(t.at)}  ${move.padEnd(40)} ${t.event}${extra.length ? `  ${extra.join(" ")}` : ""}`);
    }
  }
  if (r.messages.length > 0) {
    out.push("", "messages");
    for (const m of r.messages) {
      const state =
        m.direction === "out"
          ? [
              m.deliveredAt ? `delivered ${when(m.deliveredAt)}` : "not delivered yet",
              m.confirmation ? `confirmed ${m.confirmation}` : "",
            ]
          : [m.confirmation ? `answered ${m.confirmation}` : ""];
      out.push(
        `  ${m.direction.padEnd(3)} ${when(m.at)}  ${m.kind.padEnd(34)} ${state.filter(Boolean).join(", ")}`.trimEnd(),
      );
    }
  }
  if (r.copy)
    out.push(
      "",
      r.role === "borrower" ? "copy (document delivery)" : "copy uploaded",
      ...formatCopy(r.copy, r.role),
    );
  if (r.timers.length > 0) {
    out.push("", "timers");
    for (const t of r.timers) out.push(`  ${t.kind.padEnd(10)} ${when(t.dueAt)}`);
  }
  out.push("", nextLine(r));
  return `${out.join("\n")}\n`;
}

/** One line after an action or a new request: where it stands now and what comes next. */
export function formatOutcome(r: illServicePb.StaffRequest): string {
  const last = r.timeline.at(-1);
  const move = last ? ` (${last.from || "·"} → ${last.to} by ${last.event})` : "";
  const partner = r.partner ? `, ${r.role === "borrower" ? "lender" : "borrower"} ${r.partner}` : "";
  const attention = r.attention ? `\nATTENTION: ${r.attention}` : "";
  return `${r.id}: ${r.status}${move}${partner}${attention}\n${nextLine(r)}\n`;
}

/** `ill report` as text: the turnaround tables. */
export function printReport(report: TurnaroundReport): void {
  process.stdout.write(`${report.requests} request(s) created since ${report.since.toISOString()}\n`);
  if (report.requests === 0) return;
  process.stdout.write("\ntime in each state\n");
  printTable(
    report.states.map((t) => ({
      role: t.role,
      state: t.state,
      ended: String(t.count),
      median: t.count ? humanMs(t.p50Ms) : "-",
      p90: t.count ? humanMs(t.p90Ms) : "-",
      longest: t.count ? humanMs(t.maxMs) : "-",
      "in it now": String(t.current),
    })),
  );
  process.stdout.write("\nwhere they are now\n");
  printTable(report.outcomes.map((x) => ({ role: x.role, state: x.state, requests: String(x.count) })));
  if (report.endToEnd.length > 0) {
    process.stdout.write("\nrequest to its end\n");
    printTable(
      report.endToEnd.map((x) => ({
        role: x.role,
        type: x.type,
        ended: String(x.count),
        median: humanMs(x.p50Ms),
        p90: humanMs(x.p90Ms),
      })),
    );
  }
}

/** `ill list` as text: one line a request. */
export function printRequestList(requests: readonly illServicePb.StaffRequest[]): void {
  if (requests.length === 0) {
    process.stdout.write("no ILL requests\n");
    return;
  }
  printTable(
    requests.map((r) => ({
      id: r.id,
      role: r.role,
      status: r.status,
      type: r.type,
      partner: r.partner || "-",
      title: truncate(titleLine(r), 40),
      updated: when(r.updatedAt),
    })),
  );
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
