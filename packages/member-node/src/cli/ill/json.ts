import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { type illPb, type illServicePb, searchPb } from "@lrs/shared";
import { type CopyJson, copyJson } from "../delivery.js";

/** One lender of the rota, or one holder left out of it. */
export interface RotaJson {
  /** 1-based place in the rota; null for a holder left out. */
  position: number | null;
  agencyId: string;
  region: string | null;
  recordId: string | null;
  clusterId: string | null;
  /** Why it is there, or why it was left out. */
  reason: string;
  responseTimeSeconds: number | null;
  /** "available", "on_loan", "not_lendable", "unknown", or null when nobody asked. */
  availability: string | null;
  lent: number;
  borrowed: number;
  /** What the lender charges for the request ("8.50 EUR", "0.00 EUR" for a reciprocal partner); null: no fees. */
  charge: string | null;
  /** The lender asked now (borrower side). */
  current: boolean;
}

export interface TimelineJson {
  seq: number;
  /** null on the entry that created the request. */
  from: string | null;
  to: string;
  event: string;
  /** ISO 8601, UTC. */
  at: string;
  note: string;
  effects: string[];
  /** The arriving message that caused it. */
  messageId: string | null;
  /** The messages it sent. */
  sent: string[];
  /** A status that only repeated the known one: recorded, not applied. */
  repeated: boolean;
}

export interface MessageJson {
  messageId: string;
  direction: "in" | "out";
  kind: string;
  at: string | null;
  deliveredAt: string | null;
  confirmedAt: string | null;
  /** "OK" or "ERROR: <type>: <value>"; null while unconfirmed. */
  confirmation: string | null;
}

/** The article (or chapter) of a copy request: ISO bibliographicInfo's component fields. */
export interface ArticleJson {
  title: string | null;
  author: string | null;
  volume: string | null;
  issue: string | null;
  pages: string | null;
}

export interface TimerJson {
  kind: string;
  dueAt: string | null;
}

/**
 * A request as `ill … --json` prints it: `request`, `show` and every action print one object,
 * `list` an array of them. The shape is stable (cross-node tests read it): every key is always
 * present; identifiers and dates that are absent are null (never ""), free text (title, author,
 * note) is a string, possibly empty; dates are ISO 8601 in UTC. `messages` and `timers` are null
 * in `list` (not asked for) and arrays otherwise.
 */
export interface IllRequestJson {
  id: string;
  role: "borrower" | "lender";
  /** The state in this side's machine: "sent_to_supplier", "shipped", ... */
  status: string;
  type: "loan" | "copy" | "copy-or-loan";
  /** The lender asked now (borrower side) or the borrower (lender side). */
  partner: string | null;
  clusterId: string | null;
  title: string;
  author: string;
  patronId: string | null;
  note: string;
  needBefore: string | null;
  dueDate: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  /** 0-based index of the current lender in `rota`; -1 before the request goes out. */
  rotaPosition: number;
  requestingAgencyRequestId: string | null;
  supplyingAgencyRequestId: string | null;
  /** The lender's latest ISO 18626 status ("WillSupply", ...). */
  supplierStatus: string | null;
  renewalsUsed: number;
  maxRenewals: number;
  duplicateOf: string | null;
  /** Something staff must look at. */
  attention: string | null;
  /** The CLI actions the state allows now ("ship", "respond", ...). */
  actions: string[];
  rota: RotaJson[];
  excluded: RotaJson[];
  /** Every transition, oldest first. */
  timeline: TimelineJson[];
  messages: MessageJson[] | null;
  timers: TimerJson[] | null;
  /** Identifiers of what is asked for ({code: "ISSN", value: "0001-5180"}). */
  identifiers: Array<{ code: string; value: string }>;
  /** A copy's article or chapter; null when the request names none. */
  article: ArticleJson | null;
  /** A copy request's file (document delivery); null before there is one. */
  copy: CopyJson | null;
}

const orNull = (s: string): string | null => (s === "" ? null : s);
const iso = (ts: Timestamp | undefined): string | null => (ts ? timestampDate(ts).toISOString() : null);

export const AVAILABILITY_WORD: Readonly<Record<number, string>> = {
  [searchPb.Availability.AVAILABLE]: "available",
  [searchPb.Availability.ON_LOAN]: "on_loan",
  [searchPb.Availability.NOT_LENDABLE]: "not_lendable",
  [searchPb.Availability.UNKNOWN]: "unknown",
};

function rotaJson(c: illServicePb.RotaCandidate, position: number | null, current: boolean): RotaJson {
  return {
    position,
    agencyId: c.agencyId,
    region: orNull(c.region),
    recordId: orNull(c.recordId),
    clusterId: orNull(c.clusterId),
    reason: c.reason,
    responseTimeSeconds: c.responseTimeSeconds === 0 ? null : c.responseTimeSeconds,
    availability: AVAILABILITY_WORD[c.availability] ?? null,
    lent: Number(c.lent),
    borrowed: Number(c.borrowed),
    charge: chargeOf(c),
    current,
  };
}

/** "8.50 EUR": a candidate's charge; null when it publishes no fees. */
function chargeOf(c: illServicePb.RotaCandidate): string | null {
  return c.charge && c.charge.currencyCode !== ""
    ? `${c.charge.monetaryValue} ${c.charge.currencyCode}`
    : null;
}

export function articleJson(b: illPb.BibliographicInfo | undefined): ArticleJson | null {
  if (!b) return null;
  const a: ArticleJson = {
    title: orNull(b.titleOfComponent),
    author: orNull(b.authorOfComponent),
    volume: orNull(b.volume.join(", ")),
    issue: orNull(b.issue),
    pages: orNull(b.pagesRequested),
  };
  return Object.values(a).some((v) => v !== null) ? a : null;
}

/** The JSON form of a StaffRequest; `detail` says whether messages and timers were asked for. */
export function requestJson(r: illServicePb.StaffRequest, detail: boolean): IllRequestJson {
  return {
    id: r.id,
    role: r.role as IllRequestJson["role"],
    status: r.status,
    type: r.type as IllRequestJson["type"],
    partner: orNull(r.partner),
    clusterId: orNull(r.clusterId),
    title: r.title,
    author: r.author,
    patronId: orNull(r.patronId),
    note: r.note,
    needBefore: iso(r.needBefore),
    dueDate: iso(r.dueDate),
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    rotaPosition: r.rotaPosition,
    requestingAgencyRequestId: orNull(r.requestingAgencyRequestId),
    supplyingAgencyRequestId: orNull(r.supplyingAgencyRequestId),
    supplierStatus: orNull(r.supplierStatus),
    renewalsUsed: r.renewalsUsed,
    maxRenewals: r.maxRenewals,
    duplicateOf: orNull(r.duplicateOf),
    attention: orNull(r.attention),
    actions: [...r.actions],
    rota: r.rota.map((c, i) => rotaJson(c, i + 1, r.role === "borrower" && i === r.rotaPosition)),
    excluded: r.excluded.map((c) => rotaJson(c, null, false)),
    timeline: r.timeline.map((t) => ({
      seq: Number(t.seq),
      from: orNull(t.from),
      to: t.to,
      event: t.event,
      at: iso(t.at) ?? "",
      note: t.note,
      effects: [...t.effects],
      messageId: orNull(t.messageId),
      sent: [...t.sent],
      repeated: t.repeated,
    })),
    messages: detail
      ? r.messages.map((m) => ({
          messageId: m.messageId,
          direction: m.direction as MessageJson["direction"],
          kind: m.kind,
          at: iso(m.at),
          deliveredAt: iso(m.deliveredAt),
          confirmedAt: iso(m.confirmedAt),
          confirmation: orNull(m.confirmation),
        }))
      : null,
    timers: detail ? r.timers.map((t) => ({ kind: t.kind, dueAt: iso(t.dueAt) })) : null,
    identifiers: (r.bibliographicInfo?.bibliographicItemId ?? []).map((i) => ({
      code: i.bibliographicItemIdentifierCode,
      value: i.bibliographicItemIdentifier,
    })),
    article: articleJson(r.bibliographicInfo),
    copy: r.copy ? copyJson(r.copy) : null,
  };
}
