// What the request store tells staff, in their words: the texts it sets as what to look at
// (`attention`) and the notes it leaves on a request's timeline.

const COPYRIGHT_PREFIX = "copyright: ";

/** What to look at when a copy is over the copyright rule: why, and what staff can do. */
export function copyrightNotice(reason: string): string {
  return `${COPYRIGHT_PREFIX}${reason} (approve to send it all the same, or cancel)`;
}

/** Whether what staff look at is the copyright rule's (approving the request clears it). */
export function isCopyrightNotice(attention: string | null | undefined): boolean {
  return attention?.startsWith(COPYRIGHT_PREFIX) ?? false;
}

/** A borrowed item's due date has passed (`dueAt` as stored: an ISO timestamp). */
export function dueDatePassedNotice(dueAt: string): string {
  return `the due date ${dueAt.slice(0, 10)} has passed: return the item or ask for a renewal`;
}

/** The timeline note of a timer that fired (`dueAt` as stored: an ISO timestamp). */
export function timerFiredNote(kind: string, dueAt: string): string {
  return `the ${kind} timer fired (due ${dueAt})`;
}
