// Visit notices between members: built from a loan row and queued in the outbox, in the caller's
// transaction, as an IllEnvelope to the parent (the relay stores and forwards it like any ILL
// message; the receiver applies it once by message id).
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ill, illServicePb, type Outbox, visitPb } from "@lrs/shared";
import { ILL_DESTINATION } from "../ill/messages.js";
import { type LoanRow, loanFields } from "./store.js";

/** The notice of a loan row's news. */
export function noticeOf(kind: visitPb.VisitNoticeKind, r: LoanRow, at: Date): visitPb.VisitNotice {
  return create(visitPb.VisitNoticeSchema, {
    ...loanFields(r),
    kind,
    at: timestampFromDate(at),
    feeCurrency: r.fee_currency,
    feeMinor: BigInt(r.fee_minor),
  });
}

/** Queues a notice for another member; call inside the transaction that made the news. */
export function sendNotice(outbox: Outbox, from: string, to: string, notice: visitPb.VisitNotice): string {
  const env = create(illServicePb.IllEnvelopeSchema, {
    messageId: randomUUID(),
    originAgencyId: from,
    destinationAgencyId: to,
    requestingAgencyRequestId: `visit:${notice.loanId}`,
    createdAt: notice.at,
    message: { case: "visitNotice", value: notice },
  });
  ill.checkEnvelope(env);
  outbox.enqueue(ILL_DESTINATION, ill.ILL_KINDS.envelope, ill.envelopeBytes(env), env.messageId);
  return env.messageId;
}
