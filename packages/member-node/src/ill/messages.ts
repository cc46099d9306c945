// The ISO 18626 messages a transition sends, built from the request's row as the transition
// leaves it: the Request (new or retry) and RequestingAgencyMessage of a borrower, the
// SupplyingAgencyMessage of a lender, each with its header. Nothing here touches the database;
// the store puts what these return in the outbox.
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { costsOf, ill, illPb, parseMoney } from "@lrs/shared";
import { fromBib, parseRota, type Row } from "./request-row.js";

/** Where ILL messages go: the parent (regional center) forwards them. */
export const ILL_DESTINATION = "parent";

/** Outbox kinds: the payload is the protobuf bytes of one ISO 18626 message, and the kind says which. */
export const ILL_KINDS = ill.ILL_KINDS;

/** Who sends, and the clock and ids its messages get. */
export interface MessageContext {
  /** This member's institution id. */
  readonly agencyId: string;
  /** Scheme of agency ids in headers ("LRS"). */
  readonly agencyIdType: string;
  readonly now: () => Date;
  readonly newId: () => string;
}

/** A message the effects of one transition send. */
export interface Outgoing {
  readonly kind: string;
  readonly messageId: string;
  readonly payload: Uint8Array;
}

/** What a lender's SupplyingAgencyMessage says besides its header. */
export interface SupplyingInfo {
  readonly status: illPb.Status;
  readonly reasonForMessage: illPb.ReasonForMessage;
  readonly answerYesNo?: illPb.YesNo | undefined;
  readonly reasonRetry?: illPb.ReasonRetry | undefined;
  readonly reasonUnfilled?: illPb.ReasonUnfilled | undefined;
  readonly note?: string | undefined;
}

/** The ISO requesting agency request id of a borrower's request at one position of its rota. */
export function isoRequestId(requestId: string, rotaPosition: number): string {
  return `${requestId}/${rotaPosition}`;
}

/** The borrower's request id in an ISO requesting agency request id (see isoRequestId). */
export function requestIdOfIso(isoId: string): string {
  const slash = isoId.lastIndexOf("/");
  return slash < 0 ? isoId : isoId.slice(0, slash);
}

/**
 * This member's own record id for the title, as the borrower's broker found it: the
 * supplierInfo entry naming this member (or naming no one).
 */
export function ownRecordId(msg: illPb.Request, agencyId: string): string | undefined {
  for (const info of msg.supplierInfo) {
    const code = info.supplierCode?.agencyIdValue ?? "";
    const id = info.bibliographicRecordId?.bibliographicRecordIdentifier ?? "";
    if ((code === "" || code === agencyId) && id !== "") return id;
  }
  return undefined;
}

function header(ctx: MessageContext, row: Row, messageId: string): illPb.Header {
  const me = create(illPb.AgencyIdSchema, {
    agencyIdType: ctx.agencyIdType,
    agencyIdValue: ctx.agencyId,
  });
  const partner = create(illPb.AgencyIdSchema, {
    agencyIdType: ctx.agencyIdType,
    agencyIdValue: row.partner ?? "",
  });
  return create(illPb.HeaderSchema, {
    requestingAgencyId: row.role === "borrower" ? me : partner,
    supplyingAgencyId: row.role === "borrower" ? partner : me,
    timestamp: timestampFromDate(ctx.now()),
    requestingAgencyRequestId: row.requesting_agency_request_id ?? "",
    supplyingAgencyRequestId: row.supplying_agency_request_id ?? "",
    messageId,
  });
}

/** The borrower's Request to the current lender of its rota (new, or a retry after conditions). */
export function requestMessage(ctx: MessageContext, row: Row, requestType: illPb.RequestType): Outgoing {
  const messageId = ctx.newId();
  const lender = parseRota(row.rota)[row.rota_position];
  const bib = fromBib(row.bibliographic_info);
  // The lender's cluster may be another catalog's (a national cluster for another region).
  if (lender?.clusterId) bib.supplierUniqueRecordId = lender.clusterId;
  const msg = create(illPb.RequestSchema, {
    header: header(ctx, row, messageId),
    bibliographicInfo: bib,
    // The lender's own record id, so that it finds its item without searching.
    supplierInfo: lender?.recordId
      ? [
          {
            sortOrder: 1,
            supplierCode: { agencyIdType: ctx.agencyIdType, agencyIdValue: lender.agencyId },
            bibliographicRecordId: {
              bibliographicRecordIdentifierCode: ctx.agencyIdType,
              bibliographicRecordIdentifier: lender.recordId,
            },
          },
        ]
      : [],
    serviceInfo: {
      requestType,
      serviceType: row.service_type,
      needBeforeDate: row.need_before ? timestampFromDate(new Date(row.need_before)) : undefined,
      requestingAgencyPreviousRequestId:
        requestType === illPb.RequestType.RETRY ? (row.requesting_agency_request_id ?? "") : "",
      note: row.note,
      serviceLevel: row.service_level ?? "",
      copyrightCompliance: row.copyright_compliance ?? "",
    },
    patronInfo: row.patron_id ? { patronId: row.patron_id } : undefined,
    ...(row.publication_date ? { publicationInfo: { publicationDate: row.publication_date } } : {}),
    // The borrower's maximum, as ISO 18626 carries it: the lender sees what it may charge.
    ...(row.maximum_cost ? { billingInfo: { maximumCosts: costsOf(parseMoney(row.maximum_cost)) } } : {}),
  });
  return { kind: ILL_KINDS.request, messageId, payload: toBinary(illPb.RequestSchema, msg) };
}

/** The borrower's RequestingAgencyMessage (cancel, renew, received, shipped return, …). */
export function requestingMessage(
  ctx: MessageContext,
  row: Row,
  action: illPb.Action,
  note: string | undefined,
): Outgoing {
  const messageId = ctx.newId();
  const msg = create(illPb.RequestingAgencyMessageSchema, {
    header: header(ctx, row, messageId),
    action,
    note: note ?? "",
  });
  return {
    kind: ILL_KINDS.requestingAgencyMessage,
    messageId,
    payload: toBinary(illPb.RequestingAgencyMessageSchema, msg),
  };
}

/** The lender's SupplyingAgencyMessage, with the row's due date and the time of its last change. */
export function supplyingMessage(ctx: MessageContext, row: Row, info: SupplyingInfo): Outgoing {
  const messageId = ctx.newId();
  const msg = create(illPb.SupplyingAgencyMessageSchema, {
    header: header(ctx, row, messageId),
    messageInfo: {
      reasonForMessage: info.reasonForMessage,
      answerYesNo: info.answerYesNo ?? illPb.YesNo.UNSPECIFIED,
      reasonRetry: info.reasonRetry ?? illPb.ReasonRetry.UNSPECIFIED,
      reasonUnfilled: info.reasonUnfilled ?? illPb.ReasonUnfilled.UNSPECIFIED,
      note: info.note ?? "",
    },
    statusInfo: {
      status: info.status,
      dueDate: row.due_date ? timestampFromDate(new Date(row.due_date)) : undefined,
      lastChange: timestampFromDate(new Date(row.last_transition_at)),
    },
  });
  return {
    kind: ILL_KINDS.supplyingAgencyMessage,
    messageId,
    payload: toBinary(illPb.SupplyingAgencyMessageSchema, msg),
  };
}
