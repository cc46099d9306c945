// The stored shapes of an ILL request (ill_requests, ill_transitions, ill_timers rows) and how
// they read as the request, its timeline and its timers.
import { fromBinary } from "@bufbuild/protobuf";
import { illPb } from "@lrs/shared";
import type {
  IllRequest,
  IllRole,
  IllState,
  IllTimer,
  RotaEntry,
  TimelineEntry,
  TimerKind,
  TransitionDetail,
} from "./request.js";

export interface TimerRow {
  request_id: string;
  kind: TimerKind;
  due_at: string;
  attempts: number;
}

/** The stored row. */
export interface Row {
  id: string;
  role: IllRole;
  state: string;
  service_type: number;
  partner: string | null;
  cluster_id: string | null;
  title_key: string;
  bibliographic_info: Uint8Array;
  patron_id: string | null;
  need_before: string | null;
  note: string;
  rota: string;
  excluded: string;
  attention: string | null;
  rota_position: number;
  requesting_agency_request_id: string | null;
  supplying_agency_request_id: string | null;
  supplier_status: number | null;
  due_date: string | null;
  renewals_used: number;
  max_renewals: number;
  state_before_cancel: string | null;
  duplicate_of: string | null;
  record_id: string | null;
  // Borrowing terms (migration 110); the defaults of the columns where a row does not set them.
  service_level?: string;
  maximum_cost?: string | null;
  copyright_compliance?: string;
  publication_date?: string;
  last_transition_at: string;
  created_at: string;
  updated_at: string;
}

export interface TransitionRow {
  seq: number;
  request_id: string;
  from_state: string | null;
  to_state: string;
  event: string;
  at: string;
  detail: string;
}

export function toRequest(row: Row): IllRequest {
  return {
    id: row.id,
    role: row.role,
    state: row.state as IllState,
    serviceType: row.service_type,
    partner: row.partner ?? undefined,
    clusterId: row.cluster_id ?? undefined,
    bibliographicInfo: fromBib(row.bibliographic_info),
    patronId: row.patron_id ?? undefined,
    needBefore: row.need_before ? new Date(row.need_before) : undefined,
    note: row.note,
    rota: parseRota(row.rota),
    excluded: parseRota(row.excluded),
    attention: row.attention ?? undefined,
    recordId: row.record_id ?? undefined,
    rotaPosition: row.rota_position,
    requestingAgencyRequestId: row.requesting_agency_request_id ?? undefined,
    supplyingAgencyRequestId: row.supplying_agency_request_id ?? undefined,
    supplierStatus: row.supplier_status ?? undefined,
    dueDate: row.due_date ? new Date(row.due_date) : undefined,
    renewalsUsed: row.renewals_used,
    maxRenewals: row.max_renewals,
    duplicateOf: row.duplicate_of ?? undefined,
    serviceLevel: row.service_level ?? "",
    maximumCost: row.maximum_cost ?? undefined,
    copyrightCompliance: row.copyright_compliance ?? "",
    publicationDate: row.publication_date ?? "",
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export function toTimer(row: TimerRow): IllTimer {
  return { requestId: row.request_id, kind: row.kind, dueAt: new Date(row.due_at), attempts: row.attempts };
}

export function toEntry(row: TransitionRow): TimelineEntry {
  return {
    seq: row.seq,
    from: (row.from_state ?? undefined) as IllState | undefined,
    to: row.to_state as IllState,
    event: row.event,
    at: new Date(row.at),
    detail: JSON.parse(row.detail) as TransitionDetail,
  };
}

export function fromBib(bytes: Uint8Array): illPb.BibliographicInfo {
  return fromBinary(illPb.BibliographicInfoSchema, new Uint8Array(bytes));
}

export function parseRota(json: string): RotaEntry[] {
  return JSON.parse(json) as RotaEntry[];
}
