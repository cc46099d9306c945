// What a delivery says: the e-mail's subject and text, and the webhook's JSON body. In English
// (the node's staff read its web pages in their own language; the mail goes out as one text).
import type { NotifyEvent, NotifyKind } from "./events.js";
import type { Delivery } from "./store.js";

export const KIND_TITLES: Record<NotifyKind, string> = {
  lending_request: "New lending request",
  attention: "A request needs attention",
  arrived: "An item arrived",
  overdue: "Overdue",
  copy_ready: "A copy is ready to download",
};

export interface NodeRef {
  id: string;
  name: string;
}

function eventLines(e: NotifyEvent, baseUrl: string): string[] {
  const other = e.partner ? (e.role === "lender" ? `borrower ${e.partner}` : `lender ${e.partner}`) : "";
  return [
    `${KIND_TITLES[e.kind]}: ${e.title || "(no title)"}`,
    `  ${e.text}`,
    `  ${e.role === "lender" ? "Lending" : "Borrowing"} request ${e.requestId}${other ? `, ${other}` : ""}, now ${e.state.replaceAll("_", " ")} (${e.at})`,
    `  ${baseUrl}/requests/${encodeURIComponent(e.requestId)}`,
  ];
}

/** The e-mail of a delivery. */
export function emailOf(d: Delivery, node: NodeRef, baseUrl: string): { subject: string; text: string } {
  const footer = [
    "",
    "--",
    `${node.name} (${node.id}), LRS interlibrary loan.`,
    `Choose what reaches you: ${baseUrl}/notifications`,
  ];
  if (d.kind === "test")
    return {
      subject: `[${node.name}] Test notification`,
      text: [
        `This is a test of ${d.user}'s notifications from ${node.name}: they reach you.`,
        ...footer,
      ].join("\n"),
    };
  if (d.kind === "digest")
    return {
      subject: `[${node.name}] ${d.events.length} ILL notification${d.events.length === 1 ? "" : "s"}`,
      text: [
        `${d.events.length} event${d.events.length === 1 ? "" : "s"} since the last digest:`,
        "",
        ...d.events.flatMap((e) => [...eventLines(e, baseUrl), ""]),
        ...footer,
      ].join("\n"),
    };
  const e = d.events[0]!;
  return {
    subject: `[${node.name}] ${KIND_TITLES[e.kind]}: ${e.title || e.requestId}`,
    text: [...eventLines(e, baseUrl), ...footer].join("\n"),
  };
}

/** The webhook's JSON body of a delivery (documented in docs/notifications.md). */
export function webhookBodyOf(d: Delivery, node: NodeRef, baseUrl: string, sentAt: Date): string {
  return JSON.stringify({
    delivery: d.id,
    kind: d.kind,
    node: { id: node.id, name: node.name },
    user: d.user,
    sentAt: sentAt.toISOString(),
    events: d.events.map((e) => ({ ...e, url: `${baseUrl}/requests/${encodeURIComponent(e.requestId)}` })),
  });
}
