// What staff can be told about, and where those events come from: a node that has them (a
// member's ILL requests) gives the notifier a source it reads from a persisted cursor.

/** The events staff subscribe to (the order is the page's). */
export const NOTIFY_KINDS = ["lending_request", "attention", "arrived", "overdue", "copy_ready"] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

export const CHANNELS = ["email", "webhook"] as const;
export type Channel = (typeof CHANNELS)[number];

/** One event, as it goes into a message (e-mail text, webhook JSON). */
export interface NotifyEvent {
  kind: NotifyKind;
  /** The node's request id (its page is /requests/<id>). */
  requestId: string;
  role: "borrower" | "lender";
  /** The request's title, as staff see it. */
  title: string;
  /** The other library (lender or borrower), when known. */
  partner: string;
  /** The request's state after the event. */
  state: string;
  /** What happened, in a sentence (the note on the timeline, the reason to look). */
  text: string;
  /** A lending request's note from the borrower (the message puts it in the recipient's language's sentence). */
  note?: string;
  /** When it happened (ISO 8601). */
  at: string;
}

/**
 * New events in the order they happened. `cursor` is what the last read returned ("" at first);
 * the notifier stores the new one in the transaction that queues the events, so an event is
 * queued once even across a crash.
 */
export interface NotifyEventSource {
  read(cursor: string, limit: number): { events: NotifyEvent[]; cursor: string };
}

export function isNotifyKind(s: string): s is NotifyKind {
  return (NOTIFY_KINDS as readonly string[]).includes(s);
}
