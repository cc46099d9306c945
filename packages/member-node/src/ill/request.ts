// An ILL request as the member's code sees it, either role: the request, its timeline, its
// timers, and what staff and the system hand to its transitions. The stored shapes are in
// request-row.ts; the store (store.ts) keeps them.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ill, illPb } from "@lrs/shared";

export type IllRole = "borrower" | "lender";
export type IllState = ill.RequesterState | ill.SupplierState;
export type IllEvent = ill.RequesterEvent | ill.SupplierEvent;

/** One lender of the rota and why it is there. */
export interface RotaEntry {
  readonly agencyId: string;
  readonly reason: string;
  readonly region?: string;
  /** The lender's own record id for the title, sent to it in the Request. */
  readonly recordId?: string;
  readonly clusterId?: string;
  readonly responseTimeSeconds?: number;
  readonly availability?: string;
  readonly lent?: number;
  readonly borrowed?: number;
  /** What the lender charges for this request, from its fee schedule ("8.50" EUR); absent: no fees. */
  readonly charge?: { readonly currency: string; readonly amount: string };
}

/** An ILL request as one side sees it. */
export interface IllRequest {
  readonly id: string;
  readonly role: IllRole;
  readonly state: IllState;
  readonly serviceType: illPb.ServiceType;
  /** The current lender (borrower side) or the borrower (lender side). */
  readonly partner: string | undefined;
  readonly clusterId: string | undefined;
  readonly bibliographicInfo: illPb.BibliographicInfo;
  /** The borrowing member's opaque patron id (borrower side only). */
  readonly patronId: string | undefined;
  readonly needBefore: Date | undefined;
  readonly note: string;
  readonly rota: readonly RotaEntry[];
  /** Lenders the broker left out of the rota, and why. */
  readonly excluded: readonly RotaEntry[];
  /** Something staff should look at (an ERROR confirmation, a withdrawn request…). */
  readonly attention: string | undefined;
  /** Lender side: this member's own record id for the title, when the Request named it. */
  readonly recordId?: string | undefined;
  /** Index of the current lender in the rota; -1 before the request goes out. */
  readonly rotaPosition: number;
  readonly requestingAgencyRequestId: string | undefined;
  readonly supplyingAgencyRequestId: string | undefined;
  /** The current lender's latest status (borrower side). */
  readonly supplierStatus: illPb.Status | undefined;
  readonly dueDate: Date | undefined;
  readonly renewalsUsed: number;
  readonly maxRenewals: number;
  readonly duplicateOf: string | undefined;
  /** ISO 18626 service level asked for ("Rush"); "" for normal. */
  readonly serviceLevel: string;
  /** The most the borrower pays ("10.00 EUR"); undefined: no limit. */
  readonly maximumCost: string | undefined;
  /** A copy's compliance statement ("US:CCG"); "" for a loan. */
  readonly copyrightCompliance: string;
  /** When the article appeared ("2024", "2024-05-01"); "" when not known. */
  readonly publicationDate: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What a transition leaves on the timeline besides its states. */
export interface TransitionDetail {
  /** The arriving message that caused it. */
  readonly messageId?: string;
  readonly note?: string;
  readonly effects?: readonly string[];
  /** Ids of the messages it put in the outbox. */
  readonly sent?: readonly string[];
  readonly supplierStatus?: illPb.Status;
  /** A status message that only repeated the current status: recorded, not applied. */
  readonly repeated?: boolean;
  /** What staff were asked to look at, set with this entry (staff notifications read it here). */
  readonly attention?: string;
}

export interface TimelineEntry {
  readonly seq: number;
  /** Undefined on the entry that created the request. */
  readonly from: IllState | undefined;
  readonly to: IllState;
  readonly event: string;
  readonly at: Date;
  readonly detail: TransitionDetail;
}

/** The result of an event: the request after it and the entry it made. */
export interface IllOutcome {
  readonly request: IllRequest;
  readonly entry: TimelineEntry;
  /** The message had been applied before: this is the earlier outcome, nothing was applied. */
  readonly replayed: boolean;
}

export interface BorrowingInput {
  readonly patronId: string;
  readonly serviceType: illPb.ServiceType;
  /** The union catalog's cluster id, when the request comes from a search. */
  readonly clusterId?: string;
  readonly bibliographicInfo?: MessageInitShape<typeof illPb.BibliographicInfoSchema>;
  readonly needBefore?: Date;
  readonly note?: string;
  /** ISO 18626 service level ("Rush"); default normal. */
  readonly serviceLevel?: string;
  /** The most it pays ("10.00 EUR"); default no limit. */
  readonly maximumCost?: string;
  /** For a copy: the compliance statement it carries. */
  readonly copyrightCompliance?: string;
  /** For a copy: when the article appeared. */
  readonly publicationDate?: string;
}

/** A transition as written, for what must change in its transaction (IllStoreOptions.onTransition). */
export interface TransitionChange {
  /** The request after the transition. */
  readonly request: IllRequest;
  readonly from: IllState;
  readonly to: IllState;
  readonly event: string;
  readonly entry: TimelineEntry;
}

/** What a staff or system action carries besides its name. */
export interface ActionDetail {
  readonly note?: string;
  /** For `send`: the rota the broker built … */
  readonly rota?: readonly RotaEntry[];
  /** … and the holders it left out. */
  readonly excluded?: readonly RotaEntry[];
  /** For `respond_no`. */
  readonly reasonUnfilled?: illPb.ReasonUnfilled;
  /** For `ship` and `approve_renew`: otherwise the loan period from now. */
  readonly dueDate?: Date;
}

/** The durable timers: what each fires is in IllStore.fireTimer. */
export type TimerKind = "response" | "due" | "answer" | "rota" | "copy_expiry";

export interface IllTimer {
  readonly requestId: string;
  readonly kind: TimerKind;
  readonly dueAt: Date;
  /** Rota retries so far (the `rota` timer's backoff). */
  readonly attempts: number;
}

/** What firing a timer did. */
export interface TimerFiring {
  readonly fired: boolean;
  /** The event it applied or tried to apply. */
  readonly event?: IllEvent;
  readonly entry?: TimelineEntry;
  /** Why nothing was applied (the event's refusal, or the timer was not due). */
  readonly reason?: string;
}
