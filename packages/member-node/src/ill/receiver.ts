// The end of the line for ILL traffic: an envelope the parent delivers to this member is
// applied to the request it is for and answered with a confirmation, or, when it is itself a
// confirmation of one of our messages, recorded. One transaction holds the inbox row, the
// applied transition and the confirmation in the outbox; a refused message rolls back only its
// own part (a savepoint), so it changes nothing but the inbox and the confirmation.
import { ill, illPb, type illServicePb, type Logger, type Outbox } from "@lrs/shared";
import { IllInputError, IllNotFoundError, IllStateError } from "./errors.js";
import type { IllInbox } from "./inbox.js";
import { ILL_DESTINATION, type IllEvent, type IllRequest, type IllStore, requestIdOfIso } from "./store.js";

const { ErrorType } = illPb;

/**
 * What a borrower says when a lender's message is for a rota position it has left; the lender
 * reads it in the ERROR confirmation as a withdrawal.
 */
export const NO_LONGER_CURRENT = "no longer current";

/** Why a message is refused, as ISO 18626 ErrorData. */
export class IllRefusal extends Error {
  override readonly name = "IllRefusal";
  constructor(
    readonly type: illPb.ErrorType,
    readonly value: string,
    readonly requestId?: string,
  ) {
    super(value);
  }
}

/** A message applied to a request, for what follows it outside the transaction. */
export interface Applied {
  readonly requestId: string;
  /** The machine event, or "created" for a new lender request. */
  readonly event: IllEvent | "created";
  /** Applied before (a replay): nothing new happened. */
  readonly replayed: boolean;
}

export interface DeliverOutcome {
  readonly duplicate: boolean;
  /** For people: "applied", "refused: …", "confirmation recorded", "duplicate". */
  readonly disposition: string;
  readonly applied?: Applied;
}

export interface IllReceiverOptions {
  readonly store: IllStore;
  readonly inbox: IllInbox;
  readonly outbox: Outbox;
  /** This member. */
  readonly agencyId: string;
  readonly log: Logger;
  readonly now?: () => Date;
  /** A last word on a new Request before it is taken (the scenario lender refuses some). */
  readonly screenRequest?: (req: illPb.Request) => IllRefusal | undefined;
  /**
   * A lender's CopyCompleted is taken only with its copy (document delivery): this says why not
   * when the verified file has not arrived for the request's current lender.
   */
  readonly screenCopyCompleted?: (
    request: IllRequest,
    msg: illPb.SupplyingAgencyMessage,
  ) => IllRefusal | undefined;
}

export class IllReceiver {
  readonly #o: IllReceiverOptions;
  readonly #now: () => Date;

  constructor(opts: IllReceiverOptions) {
    this.#o = opts;
    this.#now = opts.now ?? (() => new Date());
  }

  /**
   * Applies one envelope for this member. Throws ill.EnvelopeError (naming the field) for an
   * envelope that is not well formed or not for this member; any other refusal is answered with
   * an ERROR confirmation.
   */
  receive(env: illServicePb.IllEnvelope): DeliverOutcome {
    ill.checkEnvelope(env);
    if (env.destinationAgencyId !== this.#o.agencyId)
      throw new ill.EnvelopeError(
        "envelope.destinationAgencyId",
        `names ${env.destinationAgencyId}, not this member (${this.#o.agencyId})`,
      );
    const { store, inbox, outbox } = this.#o;
    const receivedAt = this.#now();
    const db = store.database;
    return db.transaction((): DeliverOutcome => {
      if (inbox.get(env.messageId)) return { duplicate: true, disposition: "duplicate" };
      const kind = ill.describeEnvelope(env);
      if (ill.confirmedMessageId(env) !== undefined) {
        const requestId = this.#confirmation(env, receivedAt);
        inbox.record({
          messageId: env.messageId,
          kind,
          origin: env.originAgencyId,
          requestId,
          receivedAt,
          outcome: "applied",
          error: undefined,
          confirmationMessageId: undefined,
        });
        return { duplicate: false, disposition: "confirmation recorded" };
      }
      let applied: Applied | undefined;
      let refusal: IllRefusal | undefined;
      try {
        applied = db.transaction(() => this.#apply(env));
      } catch (err) {
        refusal = refusalOf(err, env.message.case);
        if (!refusal) throw err;
      }
      const confirmation = ill.confirmationOf(
        env,
        refusal ? [{ type: refusal.type, value: refusal.value }] : [],
        {
          receivedAt,
          now: this.#now(),
        },
      );
      outbox.enqueue(
        ILL_DESTINATION,
        ill.ILL_KINDS.envelope,
        ill.envelopeBytes(confirmation),
        confirmation.messageId,
      );
      const error = refusal ? `${errorTypeName(refusal.type)}: ${refusal.value}` : undefined;
      inbox.record({
        messageId: env.messageId,
        kind,
        origin: env.originAgencyId,
        requestId: applied?.requestId ?? refusal?.requestId,
        receivedAt,
        outcome: refusal ? "refused" : "applied",
        error,
        confirmationMessageId: confirmation.messageId,
      });
      if (refusal) {
        this.#o.log.info(
          { messageId: env.messageId, kind, origin: env.originAgencyId, requestId: refusal.requestId, error },
          "ILL message refused",
        );
        return { duplicate: false, disposition: `refused: ${error}` };
      }
      return { duplicate: false, disposition: applied?.replayed ? "applied before" : "applied", applied };
    });
  }

  /** Applies an ISO message. Throws what refuses it. Runs in its own savepoint. */
  #apply(env: illServicePb.IllEnvelope): Applied {
    const { store } = this.#o;
    const m = env.message;
    const origin = env.originAgencyId;
    switch (m.case) {
      case "request": {
        const req = m.value;
        const type = req.serviceInfo?.requestType ?? illPb.RequestType.UNSPECIFIED;
        if (type === illPb.RequestType.NEW || type === illPb.RequestType.UNSPECIFIED) {
          const screened = this.#o.screenRequest?.(req);
          if (screened) throw screened;
          const outcome = store.receiveRequest(req, env.messageId);
          return { requestId: outcome.request.id, event: "created", replayed: outcome.replayed };
        }
        const event = ill.supplierEventOfRequest(req);
        if (!event)
          throw new IllRefusal(
            ErrorType.UNRECOGNISED_DATA_VALUE,
            `serviceInfo.requestType ${illPb.RequestType[type] ?? type} is not supported`,
          );
        const isoId =
          req.serviceInfo?.requestingAgencyPreviousRequestId || (req.header?.requestingAgencyRequestId ?? "");
        const lender = this.#lenderRequest(isoId, origin);
        const outcome = store.applyIncoming(lender.id, event, req, env.messageId);
        return { requestId: lender.id, event, replayed: outcome.replayed };
      }
      case "requestingAgencyMessage": {
        const msg = m.value;
        const lender = this.#lenderRequest(msg.header?.requestingAgencyRequestId ?? "", origin);
        const event = ill.supplierEventOf(msg);
        if (!event)
          throw new IllRefusal(
            ErrorType.UNSUPPORTED_ACTION_TYPE,
            `action ${ill.ISO18626_CODES.action.toXml(msg.action) ?? msg.action} is not supported`,
            lender.id,
          );
        const outcome = store.applyIncoming(lender.id, event, msg, env.messageId);
        return { requestId: lender.id, event, replayed: outcome.replayed };
      }
      case "supplyingAgencyMessage": {
        const msg = m.value;
        const isoId = msg.header?.requestingAgencyRequestId ?? "";
        const request = store.get(requestIdOfIso(isoId));
        if (request?.role !== "borrower")
          throw new IllRefusal(
            ErrorType.UNRECOGNISED_DATA_VALUE,
            `no request ${isoId} at ${this.#o.agencyId}`,
          );
        if (request.requestingAgencyRequestId !== isoId)
          throw new IllRefusal(
            ErrorType.UNRECOGNISED_DATA_VALUE,
            `request ${isoId} is ${NO_LONGER_CURRENT}: the borrower has moved on to ${request.requestingAgencyRequestId ?? "no lender"}`,
            request.id,
          );
        if (request.partner !== origin)
          throw new IllRefusal(
            ErrorType.UNRECOGNISED_DATA_VALUE,
            `request ${isoId} was sent to ${request.partner ?? "no lender"}, not to ${origin}`,
            request.id,
          );
        const event = ill.requesterEventOf(msg);
        if (!event)
          throw new IllRefusal(
            ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE,
            `reasonForMessage ${ill.ISO18626_CODES.reasonForMessage.toXml(msg.messageInfo?.reasonForMessage ?? 0) ?? "?"} with status ${ill.ISO18626_CODES.status.toXml(msg.statusInfo?.status ?? 0) ?? "none"} is not supported`,
            request.id,
          );
        if (event === "copy_completed") {
          const screened = this.#o.screenCopyCompleted?.(request, msg);
          if (screened) throw screened;
        }
        const outcome = store.applyIncoming(request.id, event, msg, env.messageId);
        return { requestId: request.id, event, replayed: outcome.replayed };
      }
      default:
        throw new IllRefusal(
          ErrorType.BADLY_FORMED_MESSAGE,
          `a ${m.case ?? "empty envelope"} is not applied`,
        );
    }
  }

  #lenderRequest(isoId: string, borrower: string): IllRequest {
    const found = this.#o.store.findByRequestingAgencyRequestId("lender", isoId, borrower);
    if (!found)
      throw new IllRefusal(
        ErrorType.UNRECOGNISED_DATA_VALUE,
        `no request ${isoId} from ${borrower} at ${this.#o.agencyId}`,
      );
    return found;
  }

  /** Records a partner's confirmation of our message; an ERROR is for staff. Returns our request id. */
  #confirmation(env: illServicePb.IllEnvelope, receivedAt: Date): string | undefined {
    const { store, inbox, log } = this.#o;
    const confirmed = ill.confirmedMessageId(env) ?? "";
    const status = ill.confirmationText(env) ?? "OK";
    const ok = status === "OK";
    const m = env.message;
    const header =
      m.case === "requestConfirmation" ||
      m.case === "supplyingAgencyMessageConfirmation" ||
      m.case === "requestingAgencyMessageConfirmation"
        ? m.value.confirmationHeader
        : undefined;
    const isoId = header?.requestingAgencyRequestId || env.requestingAgencyRequestId;
    // A confirmation of a SupplyingAgencyMessage comes to a lender; the others to the borrower.
    const asLender = m.case === "supplyingAgencyMessageConfirmation";
    const request = asLender
      ? store.findByRequestingAgencyRequestId("lender", isoId, env.originAgencyId)
      : borrowerRequest(store, isoId);
    if (
      !inbox.recordConfirmation({
        confirmedMessageId: confirmed,
        requestId: request?.id,
        ok,
        status,
        receivedAt,
      })
    )
      return request?.id;
    if (ok || !request) {
      if (!ok)
        log.warn(
          { confirmed, origin: env.originAgencyId, status },
          "ILL message refused for an unknown request",
        );
      return request?.id;
    }
    log.warn({ requestId: request.id, confirmed, origin: env.originAgencyId, status }, "ILL message refused");
    if (asLender && status.includes(NO_LONGER_CURRENT)) {
      this.#withdrawn(request, status);
      return request.id;
    }
    // The current lender refused our Request (or, timed out, our Cancel): it will not answer,
    // so its response time is not waited out.
    const hopeless =
      !asLender &&
      isoId === request.requestingAgencyRequestId &&
      ((m.case === "requestConfirmation" && request.state === "sent_to_supplier") ||
        request.state === "timed_out") &&
      store.expediteTimer(request.id, "response");
    store.note(
      request.id,
      "message_refused",
      `${env.originAgencyId} refused message ${confirmed}: ${status}${hopeless ? "; not waiting for its answer" : ""}`,
      { attention: `${env.originAgencyId} refused our message: ${status}` },
    );
    return request.id;
  }

  /**
   * The borrower refused our message because it has moved on to another lender: as far as we
   * can, we treat it as a withdrawal (accept its cancel, or answer no); once the item has left,
   * staff decide (e.g. recall it).
   */
  #withdrawn(request: IllRequest, status: string): void {
    const { store, log } = this.#o;
    if (ill.supplierMachine.states[request.state as ill.SupplierState]?.terminal) return;
    const why = `the borrower no longer waits for this request (it has moved on to another lender): ${status}`;
    store.note(request.id, "withdrawn_by_borrower", why, { attention: why });
    const note = "the borrower no longer waits for this request";
    for (const [event, detail] of [
      ["accept_cancel", { note }],
      ["respond_no", { note, reasonUnfilled: illPb.ReasonUnfilled.NOT_AVAILABLE_FOR_ILL }],
    ] as const) {
      try {
        store.applyAction(request.id, event, detail);
        log.info({ requestId: request.id, event }, "ILL request withdrawn by the borrower");
        return;
      } catch (err) {
        if (!(err instanceof IllStateError)) throw err;
      }
    }
    store.setAttention(
      request.id,
      `${why}; in state ${request.state} it cannot simply be withdrawn: recall the item or close the request`,
    );
  }
}

function borrowerRequest(store: IllStore, isoId: string): IllRequest | undefined {
  const request = store.get(requestIdOfIso(isoId));
  return request?.role === "borrower" ? request : undefined;
}

/** The ISO ErrorData for what refused a message, or undefined for an unexpected failure. */
function refusalOf(err: unknown, kind: illServicePb.IllEnvelope["message"]["case"]): IllRefusal | undefined {
  if (err instanceof IllRefusal) return err;
  if (err instanceof IllInputError) return new IllRefusal(ErrorType.BADLY_FORMED_MESSAGE, err.message);
  if (err instanceof IllNotFoundError)
    return new IllRefusal(ErrorType.UNRECOGNISED_DATA_VALUE, err.message, err.requestId);
  if (err instanceof IllStateError) {
    const type =
      kind === "requestingAgencyMessage"
        ? ErrorType.UNSUPPORTED_ACTION_TYPE
        : kind === "supplyingAgencyMessage"
          ? ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE
          : ErrorType.UNRECOGNISED_DATA_VALUE;
    return new IllRefusal(type, err.message, err.requestId);
  }
  return undefined;
}

function errorTypeName(type: illPb.ErrorType): string {
  return ill.ISO18626_CODES.errorType.toXml(type) ?? "Error";
}
